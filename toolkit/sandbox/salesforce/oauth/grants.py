"""The grants of ``POST /services/oauth2/token``, with Salesforce's checks and error texts."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.salesforce.oauth.credentials import Credentials
from toolkit.sandbox.salesforce.oauth.jwt import OAuthError, verify_assertion
from toolkit.sandbox.salesforce.oauth.policy import DEFAULT_SCOPES, AppSettings, canonical_scope
from toolkit.sandbox.salesforce.oauth.store import AccessSession, AuthorizationCode, RefreshGrant, TokenStore

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_TYPES = ("password", "client_credentials", "refresh_token", "authorization_code", JWT_BEARER)

# The connected app's default selected OAuth scopes (see policy.AppSettings for the others).
APP_SCOPES = DEFAULT_SCOPES


def granted_scope(requested: str | None, app: AppSettings | None = None) -> str:
    """The scopes granted for a request, in the app's order; all of the app's when none are asked.

    Args:
        requested: the request's ``scope`` parameter.
        app: the connected app's settings (the defaults when omitted).

    Raises:
        OAuthError: ``invalid_scope`` if a scope is not selected on the connected app and the
            app refuses such requests (``unselected_scopes="refuse"``, the default).
    """
    settings = app or AppSettings()
    scopes, policy = settings.scopes, settings.unselected_scopes
    if not requested or not requested.strip():
        return " ".join(scopes)
    wanted = {canonical_scope(s) for s in requested.split()}
    if not wanted <= set(scopes) and policy == "refuse":
        raise OAuthError("invalid_scope", "the requested scope is not allowed")
    return " ".join(s for s in scopes if s in wanted)


def pkce_matches(code: AuthorizationCode, verifier: str) -> bool:
    """Whether ``verifier`` answers the code's challenge (RFC 7636, S256 or plain)."""
    if code.code_challenge is None:
        return False
    if code.code_challenge_method == "plain":
        expected = verifier
    else:
        expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return hmac.compare_digest(expected, code.code_challenge)


@dataclass
class IssuedGrant:
    """What a successful token request produced.

    Attributes:
        session: the new access token.
        refresh: a new refresh token (authorization-code grant with the refresh_token scope only).
        signed: whether the answer carries ``issued_at`` and ``signature`` (all grants but JWT bearer).
    """

    session: AccessSession
    refresh: RefreshGrant | None = None
    signed: bool = True


def _millis(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


def token_body(
    issued: IssuedGrant, *, instance_url: str, identity_url: str, client_secret: str
) -> dict[str, str]:
    """The JSON body Salesforce answers a successful token request with, in its key order."""
    session = issued.session
    body: dict[str, str] = {"access_token": session.token}
    if issued.refresh is not None:
        body["refresh_token"] = issued.refresh.token
    issued_at = _millis(session.issued_at)
    if issued.signed:
        mac = hmac.new(client_secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256)
        body["signature"] = base64.b64encode(mac.digest()).decode()
    body.update(
        {"scope": session.scope, "instance_url": instance_url, "id": identity_url, "token_type": "Bearer"}
    )
    if issued.signed:
        body["issued_at"] = issued_at
    return body


class TokenEndpoint:
    """Runs one token request's grant against the connected app and the token store."""

    def __init__(
        self, credentials: Credentials, store: TokenStore, clock: Clock, app: AppSettings | None = None
    ) -> None:
        self.credentials = credentials
        self.store = store
        self.clock = clock
        self.app = app or AppSettings()

    def exchange(self, form: Mapping[str, str], authorization: str | None, own_url: str) -> IssuedGrant:
        """Run the grant named by ``form["grant_type"]``.

        Args:
            form: the request's parameters (form body, then query string).
            authorization: the ``Authorization`` header, for HTTP Basic client authentication.
            own_url: the sandbox's login URL (a valid JWT audience).

        Raises:
            OAuthError: the error Salesforce answers with.
        """
        grant_type = form.get("grant_type", "")
        if grant_type not in GRANT_TYPES:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        if grant_type == JWT_BEARER:
            return self._jwt_bearer(form, own_url)
        client_id, secret = self._client_auth(form, authorization)
        if grant_type == "password":
            return self._password(form, client_id, secret)
        if grant_type == "client_credentials":
            self._check_client(client_id, secret, secret_required=True)
            return IssuedGrant(self.store.issue_session(client_id or "", granted_scope(None, self.app)))
        if grant_type == "refresh_token":
            return self._refresh(form, client_id, secret)
        return self._authorization_code(form, client_id, secret)

    @staticmethod
    def _client_auth(form: Mapping[str, str], authorization: str | None) -> tuple[str | None, str | None]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OAuthError("invalid_client", "invalid client credentials") from exc
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, secret = client_id or basic_id, secret or basic_secret
        return client_id, secret

    def _check_client(self, client_id: str | None, secret: str | None, *, secret_required: bool) -> None:
        if not client_id or not hmac.compare_digest(client_id, self.credentials.client_id):
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if secret:
            if not hmac.compare_digest(secret, self.credentials.client_secret):
                raise OAuthError("invalid_client", "invalid client credentials")
        elif secret_required:
            raise OAuthError("invalid_client", "invalid client credentials")

    def user_matches(self, username: str | None, password: str | None) -> bool:
        """Whether a username (case-insensitive, as Salesforce's) and password are the integration user's."""
        if not username or not password:
            return False
        return username.strip().lower() == self.credentials.username.lower() and hmac.compare_digest(
            password, self.credentials.password
        )

    def _password(self, form: Mapping[str, str], client_id: str | None, secret: str | None) -> IssuedGrant:
        self._check_client(client_id, secret, secret_required=True)
        if not self.user_matches(form.get("username"), form.get("password")):
            raise OAuthError("invalid_grant", "authentication failure")
        return IssuedGrant(self.store.issue_session(client_id or "", granted_scope(None, self.app)))

    def _refresh(self, form: Mapping[str, str], client_id: str | None, secret: str | None) -> IssuedGrant:
        self._check_client(client_id, secret, secret_required=self.app.require_secret)
        token = form.get("refresh_token")
        if not token:
            raise OAuthError("invalid_request", "missing refresh token")
        grant = self.store.refresh_grant(token)
        if grant is None or grant.client_id != client_id:
            raise OAuthError("invalid_grant", "expired access/refresh token")
        return IssuedGrant(self.store.issue_session(grant.client_id, grant.scope, refresh_token=grant.token))

    def _authorization_code(
        self, form: Mapping[str, str], client_id: str | None, secret: str | None
    ) -> IssuedGrant:
        verifier = form.get("code_verifier")
        self._check_client(client_id, secret, secret_required=self.app.require_secret)
        value = form.get("code")
        if not value:
            raise OAuthError("invalid_request", "missing required code parameter")
        code, valid = self.store.take_code(value)
        if code is None or code.client_id != client_id:
            raise OAuthError("invalid_grant", "invalid authorization code")
        if not valid:
            raise OAuthError("invalid_grant", "expired authorization code")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
        if code.code_challenge is not None or verifier:
            if not verifier or not pkce_matches(code, verifier):
                raise OAuthError("invalid_grant", "invalid code verifier")
        elif not secret:
            # Without PKCE the web server flow needs the consumer secret.
            raise OAuthError("invalid_client", "invalid client credentials")
        session_refresh = (
            self.store.issue_refresh(code.client_id, code.scope)
            if "refresh_token" in code.scope.split()
            else None
        )
        session = self.store.issue_session(
            code.client_id, code.scope, refresh_token=session_refresh.token if session_refresh else None
        )
        return IssuedGrant(session, session_refresh)

    def _jwt_bearer(self, form: Mapping[str, str], own_url: str) -> IssuedGrant:
        assertion = form.get("assertion")
        if not assertion:
            raise OAuthError("invalid_request", "missing required assertion parameter")
        server_now = self.clock.now()
        verify_assertion(
            assertion,
            self.credentials,
            own_url=own_url,
            client_now=server_now - self.clock.offset,
            server_now=server_now,
        )
        if not self.app.jwt_preauthorized:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return IssuedGrant(
            self.store.issue_session(self.credentials.client_id, granted_scope(None, self.app)), signed=False
        )
