"""Salesforce OAuth 2.0 flows against a configurable login URL.

Which flow for what:

* :class:`AuthorizationCodeFlow` (web server flow + PKCE, loopback redirect): a person signs in
  in a browser once; the refresh token it yields lets scheduled runs sign in again.
* :func:`client_credentials`: an integration user set on the connected app; needs the org's My
  Domain login URL (Salesforce refuses this flow on login/test.salesforce.com).
* :func:`jwt_bearer`: a certificate uploaded to the connected app; no secret travels.
* :func:`refresh`: a new access token from a refresh token.
* :func:`password`: discouraged (Salesforce is retiring it); kept for completeness.
* :func:`revoke`: end a token set obtained here (its refresh token, else its access token).

Example:
    >>> session = make_session(ca_bundle=None)                         # doctest: +SKIP
    >>> tokens = client_credentials("https://acme.my.salesforce.com", client_id,
    ...                             client_secret, session=session)    # doctest: +SKIP
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from toolkit.credentials import Secret
from toolkit.exceptions import AuthError

from .auth_code import AuthorizationCodeFlow
from .oauth import TokenSet, normalize_login_url, revoke_token, token_request
from .retry import make_session

__all__ = [
    "AuthorizationCodeFlow",
    "TokenSet",
    "client_credentials",
    "default_audience",
    "jwt_bearer",
    "make_session",
    "password",
    "refresh",
    "revoke",
]

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PRODUCTION_AUDIENCE = "https://login.salesforce.com"
SANDBOX_AUDIENCE = "https://test.salesforce.com"
JWT_LIFETIME_SECONDS = 180  # Salesforce accepts an exp at most 3 minutes ahead


def _secret(value: str | Secret) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


def client_credentials(
    login_url: str, client_id: str, client_secret: str | Secret, *, session: requests.Session
) -> TokenSet:
    """Sign in as the connected app's run-as user (OAuth client credentials flow).

    Args:
        login_url: the org's My Domain URL (or the sandbox's login URL).
        client_id: the connected app's consumer key.
        client_secret: its consumer secret.
        session: the HTTP session (see :func:`make_session`).

    Raises:
        AuthError: refused (``code`` is Salesforce's ``error``) or unreachable.
    """
    secret = _secret(client_secret)
    try:
        return token_request(
            login_url,
            {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret.reveal()},
            session=session,
            flow="client_credentials",
            client_secret=secret,
        )
    except AuthError as exc:
        host = urlsplit(normalize_login_url(login_url)).hostname
        if host in ("login.salesforce.com", "test.salesforce.com") and exc.code != "unreachable":
            raise AuthError(
                f"{exc.args[0]}; the client credentials flow needs the org's My Domain "
                f"login URL (https://<domain>.my.salesforce.com), not {host}",
                code=exc.code,
            ) from None
        raise


def default_audience(login_url: str) -> str:
    """The ``aud`` of a JWT bearer assertion for a login URL.

    ``https://test.salesforce.com`` for test.salesforce.com and sandbox My Domains
    (``*.sandbox.my.salesforce.com``); ``https://login.salesforce.com`` for login.salesforce.com
    and other ``*.salesforce.com`` My Domains; the login URL itself for any other host (an
    Experience Cloud site, the toolkit's sandbox).
    """
    base = normalize_login_url(login_url)
    host = (urlsplit(base).hostname or "").lower()
    if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
        return SANDBOX_AUDIENCE
    if host == "login.salesforce.com" or host.endswith(".salesforce.com"):
        return PRODUCTION_AUDIENCE
    return base


def _load_private_key(private_key_pem: str | bytes | Secret) -> RSAPrivateKey:
    raw = private_key_pem.reveal() if isinstance(private_key_pem, Secret) else private_key_pem
    data = raw.encode() if isinstance(raw, str) else raw
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise AuthError(
            "the JWT private key is not an unencrypted PEM private key", code="invalid_private_key"
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise AuthError(
            "the JWT private key must be an RSA key (Salesforce signs with RS256)", code="invalid_private_key"
        )
    return key


def jwt_bearer(
    login_url: str,
    client_id: str,
    username: str,
    private_key_pem: str | bytes | Secret,
    *,
    session: requests.Session,
    audience: str | None = None,
) -> TokenSet:
    """Sign in as ``username`` with an RS256 assertion (OAuth 2.0 JWT bearer flow).

    Args:
        login_url: where to send the assertion (login, test, My Domain or the sandbox).
        client_id: the connected app's consumer key (the assertion's ``iss``).
        username: the Salesforce username to sign in as (``sub``).
        private_key_pem: the PEM private key matching the certificate on the connected app.
        session: the HTTP session.
        audience: the ``aud`` claim; see :func:`default_audience` when omitted.

    Raises:
        AuthError: a key that cannot be used, a refusal (``code`` is Salesforce's ``error``), or
            an unreachable login URL.
    """
    key = _load_private_key(private_key_pem)
    claims = {
        "iss": client_id,
        "sub": username,
        "aud": audience or default_audience(login_url),
        "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
    }
    assertion = jwt.encode(claims, key, algorithm="RS256")
    try:
        return token_request(
            login_url,
            {"grant_type": JWT_BEARER_GRANT, "assertion": assertion},
            session=session,
            flow="jwt_bearer",
        )
    except AuthError as exc:
        hint = _JWT_HINTS.get(_described(exc)) if exc.code == "invalid_grant" else None
        if hint is None:
            raise
        raise AuthError(f"{exc.args[0]}: {hint}", code=exc.code) from None


# What to change in Salesforce Setup for the JWT bearer refusals Salesforce describes.
_JWT_HINTS = {
    "user hasn't approved this consumer": (
        "the user is not pre-authorized for the app. In Setup, on the external client app's "
        "Policies (a connected app: Manage > Edit Policies), set Permitted Users to “Admin "
        "approved users are pre-authorized” and add the user's profile or a permission set "
        "assigned to the user"
    ),
    "invalid assertion": (
        "most often the certificate on the app is not the one of this private key, or the "
        "consumer key is not the app's: upload this key's certificate to the app (Enable JWT "
        "Bearer Flow / Use digital signatures)"
    ),
    "audience is invalid": (
        "use https://login.salesforce.com (or the org's My Domain) for a production org and "
        "https://test.salesforce.com for a sandbox org as the login URL"
    ),
}


def _described(exc: AuthError) -> str:
    """The ``error_description`` quoted in a refusal of :func:`token_request` (or "")."""
    text = str(exc)
    start, end = text.find("("), text.rfind(")")
    return text[start + 1 : end] if 0 <= start < end else ""


def refresh(
    login_url: str,
    client_id: str,
    refresh_token: str | Secret,
    *,
    session: requests.Session,
    client_secret: str | Secret | None = None,
) -> TokenSet:
    """Get a new access token from a refresh token (OAuth refresh token flow).

    The returned :class:`TokenSet` keeps ``refresh_token`` (Salesforce does not rotate it).

    Raises:
        AuthError: refused (``invalid_grant`` when the token was revoked or expired) or unreachable.
    """
    token = _secret(refresh_token)
    form = {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": token.reveal()}
    secret = _secret(client_secret) if client_secret else None
    if secret:
        form["client_secret"] = secret.reveal()
    return token_request(
        login_url, form, session=session, flow="refresh_token", client_secret=secret, refresh_token=token
    )


def password(
    login_url: str,
    client_id: str,
    client_secret: str | Secret,
    username: str,
    user_password: str | Secret,
    *,
    session: requests.Session,
    security_token: str | Secret | None = None,
) -> TokenSet:
    """Sign in with a username and password (OAuth username-password flow). Discouraged.

    Salesforce blocks this flow by default in new orgs and is retiring password-based API
    logins; prefer :func:`jwt_bearer`, :func:`client_credentials` or
    :class:`AuthorizationCodeFlow`. It is here for old orgs and for tests.

    Args:
        security_token: appended to the password, as Salesforce requires outside trusted IPs.

    Raises:
        AuthError: refused (``invalid_grant`` for a wrong password) or unreachable.
    """
    secret = _secret(client_secret)
    pw = _secret(user_password).reveal() + (_secret(security_token).reveal() if security_token else "")
    return token_request(
        login_url,
        {
            "grant_type": "password",
            "client_id": client_id,
            "client_secret": secret.reveal(),
            "username": username,
            "password": pw,
        },
        session=session,
        flow="password",
        client_secret=secret,
    )


def revoke(login_url: str, tokens: TokenSet, *, session: requests.Session) -> bool:
    """Revoke a sign-in's tokens at ``<login_url>/services/oauth2/revoke`` (e.g. a sign-in then refused).

    The refresh token goes first: Salesforce revokes it with every access token issued from it.
    The access token is revoked on its own when there is no refresh token or that failed.

    Returns:
        ``True`` when Salesforce confirmed it (the access token no longer works: 401
        ``INVALID_SESSION_ID``).
    """
    if tokens.refresh_token is not None and revoke_token(login_url, tokens.refresh_token, session=session):
        return True
    return revoke_token(login_url, tokens.access_token, session=session)
