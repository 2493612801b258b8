"""OAuth plumbing shared by every flow: the token set, the token request and revocation.

The toolkit performs Salesforce's OAuth flows itself against a configurable login URL
(``https://login.salesforce.com``, ``https://test.salesforce.com``, a My Domain such as
``https://acme.my.salesforce.com``, or the sandbox's ``login_url``) and hands the resulting
instance URL and access token to simple-salesforce. Token requests and revocations go through the
session's retry like every Salesforce request (:mod:`.retry`). Every refusal becomes
:class:`~toolkit.exceptions.AuthError` carrying Salesforce's ``error`` as ``code`` and its
``error_description`` in the message; secrets never appear in messages, logs or reprs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from toolkit.credentials import Secret
from toolkit.exceptions import AuthError

from .retry import ensure_retry, one_call

__all__ = [
    "TokenSet",
    "normalize_login_url",
    "revoke_token",
    "token_request",
]

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class TokenSet:
    """What a successful sign-in produced.

    Attributes:
        access_token: the session id sent as ``Authorization: Bearer``.
        refresh_token: present after the authorization-code flow with the ``refresh_token``
            scope (and kept across refreshes); ``None`` otherwise.
        instance_url: the org's API host, e.g. ``https://acme.my.salesforce.com``.
        id_url: the identity URL (``.../id/<org_id>/<user_id>``).
        org_id: the 18-character organisation Id, parsed from ``id_url``.
        user_id: the signed-in user's Id, parsed from ``id_url``.
        issued_at: when Salesforce issued the token (UTC; now, when the answer has no ``issued_at``).
        flow: ``client_credentials``, ``jwt_bearer``, ``refresh_token``, ``password`` or
            ``authorization_code``.
        scope: the granted scopes, space-separated (empty when the answer names none).
    """

    access_token: Secret
    refresh_token: Secret | None
    instance_url: str
    id_url: str
    org_id: str
    user_id: str
    issued_at: datetime
    flow: str
    scope: str = ""


def normalize_login_url(login_url: str) -> str:
    """Return ``scheme://host[:port]`` of a login URL, refusing anything but HTTPS (or loopback HTTP).

    Raises:
        AuthError: the URL is not an absolute HTTPS URL (code ``invalid_login_url``).
    """
    parts = urlsplit(login_url.strip())
    loopback = parts.hostname in LOOPBACK_HOSTS
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or (parts.scheme == "http" and not loopback)
    ):
        raise AuthError(
            f"the login URL must be an https:// URL such as https://login.salesforce.com, "
            f"got {_safe_url(login_url)!r}",
            code="invalid_login_url",
        )
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise AuthError(
            "the login URL must not carry user info, a query or a fragment", code="invalid_login_url"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _safe_url(url: str) -> str:
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url.strip()[:60]


def _parse_id_url(id_url: str) -> tuple[str, str]:
    pieces = [p for p in urlsplit(id_url).path.split("/") if p]
    if len(pieces) >= 3 and pieces[-3] == "id":
        return pieces[-2], pieces[-1]
    raise AuthError("Salesforce's token answer has no usable identity URL", code="invalid_token_response")


def _issued_at(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def _check_signature(body: dict[str, Any], client_secret: Secret) -> None:
    """Salesforce signs ``id + issued_at`` with the consumer secret (HMAC-SHA256, base64)."""
    signature, id_url, issued = body.get("signature"), body.get("id"), body.get("issued_at")
    if not (isinstance(signature, str) and isinstance(id_url, str) and isinstance(issued, str)):
        return
    mac = hmac.new(client_secret.reveal().encode(), (id_url + issued).encode(), hashlib.sha256)
    if not hmac.compare_digest(base64.b64encode(mac.digest()).decode(), signature):
        raise AuthError(
            "Salesforce's token answer has a signature that does not match the client "
            "secret: the answer was altered or came from somewhere else",
            code="invalid_signature",
        )


def _refusal(flow: str, response: requests.Response) -> AuthError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        error = body["error"]
        description = str(body.get("error_description") or "").strip()
        text = f"Salesforce refused the {flow} sign-in: {error}" + (
            f" ({description})" if description else ""
        )
        return AuthError(text, code=error)
    return AuthError(
        f"Salesforce's token endpoint answered HTTP {response.status_code} to the {flow} "
        f"sign-in without an OAuth error; is the login URL right?",
        code=f"http_{response.status_code}",
    )


def token_request(
    login_url: str,
    form: dict[str, str],
    *,
    session: requests.Session,
    flow: str,
    client_secret: Secret | None = None,
    refresh_token: Secret | None = None,
) -> TokenSet:
    """POST ``form`` to ``<login_url>/services/oauth2/token`` and build the :class:`TokenSet`.

    Args:
        login_url: the login URL (normalised here).
        form: the grant's form fields (secrets included, revealed by the caller).
        session: the HTTP session (from :func:`~.retry.make_session`; its retry policy applies,
            a plain session is given the default one).
        flow: the flow's name, for messages and ``TokenSet.flow``.
        client_secret: when given, the answer's signature is checked with it.
        refresh_token: the refresh token to keep when the answer carries none (refresh grant).

    Raises:
        AuthError: refused, unreachable, or an answer that is not a token answer.
    """
    url = normalize_login_url(login_url) + "/services/oauth2/token"
    ensure_retry(session)
    try:
        # Sent again after a 5xx or a broken connection like any request (retry.py): one 503 from
        # the token endpoint during a session renewal must not fail a run. Asking twice is
        # harmless: at worst a second token, or an authorization code refused as used already.
        with one_call(replay_safe=True):
            response = session.post(url, data=form, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        # The exception text can quote the request; only its type and the host are reported.
        raise AuthError(
            f"could not reach the Salesforce login URL {normalize_login_url(login_url)} for "
            f"the {flow} sign-in: {type(exc).__name__}",
            code="unreachable",
        ) from None
    if response.status_code != 200:
        error = _refusal(flow, response)
        log.warning("Salesforce %s sign-in refused: %s", flow, error.code)
        raise error
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body.get("access_token") or not body.get("instance_url"):
        raise AuthError(
            f"Salesforce's answer to the {flow} sign-in is not a token answer", code="invalid_token_response"
        )
    if client_secret:
        _check_signature(body, client_secret)
    id_url = str(body.get("id") or "")
    org_id, user_id = _parse_id_url(id_url)
    new_refresh = body.get("refresh_token")
    log.info("signed in to Salesforce org %s with the %s flow", org_id, flow)
    return TokenSet(
        access_token=Secret(str(body["access_token"])),
        refresh_token=Secret(str(new_refresh)) if new_refresh else refresh_token,
        instance_url=str(body["instance_url"]).rstrip("/"),
        id_url=id_url,
        org_id=org_id,
        user_id=user_id,
        issued_at=_issued_at(body.get("issued_at")),
        flow=flow,
        scope=str(body.get("scope") or ""),
    )


def revoke_token(login_url: str, token: Secret, *, session: requests.Session) -> bool:
    """Revoke an access or refresh token: ``POST <login_url>/services/oauth2/revoke`` (``token=...``).

    Salesforce answers 200 when it revoked the token (a refresh token takes every access token
    issued from it along) and 400 with ``invalid_token`` or ``unsupported_token_type`` otherwise,
    e.g. for a token already revoked. The token appears in no message or log line.

    Returns:
        ``True`` when Salesforce confirmed the revocation, ``False`` when it refused or could not
        be reached (the caller has nothing better to do than to say so).
    """
    url = normalize_login_url(login_url) + "/services/oauth2/revoke"
    ensure_retry(session)
    try:
        # Revoking twice leaves the token as revoked as once: sent again like a GET (retry.py).
        with one_call(replay_safe=True):
            response = session.post(
                url, data={"token": token.reveal()}, headers={"Accept": "application/json"}
            )
    except requests.RequestException as exc:
        log.warning("Salesforce token revocation: no answer (%s)", type(exc).__name__)
        return False
    if response.status_code == 200:
        return True
    error = _refusal("revoke", response)
    log.warning("Salesforce refused to revoke a token: %s", error.code)
    return False
