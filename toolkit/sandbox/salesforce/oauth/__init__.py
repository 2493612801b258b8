"""The Salesforce sandbox's OAuth 2.0 server: ``/services/oauth2/...`` and the identity URL.

Grants of ``POST /services/oauth2/token``: ``password``, ``client_credentials`` (form or HTTP
Basic), ``refresh_token``, ``authorization_code`` (PKCE S256/plain) and
``urn:ietf:params:oauth:grant-type:jwt-bearer``. ``/services/oauth2/authorize`` serves a login
page and redirects to loopback callbacks with a code; ``/services/oauth2/revoke`` and
``/services/oauth2/userinfo`` behave as Salesforce's. ``GET /id/<org>/<user>`` (the ``id`` of a
token answer) is served too. Secrets are never logged nor echoed in answers.

The connected app's Setup (callback URLs, selected scopes, secret requirement) is
:attr:`OAuthServer.app` (:class:`~.policy.AppSettings`), read and changed with ``GET`` / ``PUT
/_sandbox/salesforce/connected-app``.

Example:
    >>> oauth = OAuthServer(Credentials.generate(), Clock(), org_id="00D...", user_id="005...")  # doctest: +SKIP
    >>> oauth.instance_url = "https://127.0.0.1:4431"   # once the server is bound  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.http import json_response
from toolkit.sandbox.salesforce.oauth.credentials import Credentials
from toolkit.sandbox.salesforce.oauth.grants import TokenEndpoint, token_body
from toolkit.sandbox.salesforce.oauth.identity import IdentityUser, identity_body, userinfo_body
from toolkit.sandbox.salesforce.oauth.jwt import OAuthError
from toolkit.sandbox.salesforce.oauth.login import AuthorizeEndpoint
from toolkit.sandbox.salesforce.oauth.policy import AppSettings
from toolkit.sandbox.salesforce.oauth.store import AccessSession, TokenStore

__all__ = ["AppSettings", "Credentials", "INVALID_SESSION_BODY", "OAuthError", "OAuthServer"]

INVALID_SESSION_BODY = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
NOT_FOUND_BODY = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
_TOKEN_CACHE_CONTROL = "no-cache,must-revalidate,max-age=0,no-store,private"

Handler = Callable[[Request], Response]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` or ``Authorization: OAuth <token>`` header."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def _oauth_error(exc: OAuthError) -> Response:
    resp = json_response({"error": exc.error, "error_description": exc.description}, exc.status)
    resp.headers["Cache-Control"] = _TOKEN_CACHE_CONTROL
    return resp


def _text(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")


class OAuthServer:
    """Salesforce's OAuth endpoints for the sandbox org's one connected app and integration user.

    Attributes:
        instance_url: the server's base URL, set by the runner once bound (e.g.
            ``https://127.0.0.1:4431``); the login URL is the same URL in the sandbox. While
            empty, the URL the request came to is used.
        store: the sessions, refresh tokens and codes.
        app: the connected app's settings in Setup (callback URLs, scopes, secret requirement).
    """

    def __init__(
        self,
        credentials: Credentials,
        clock: Clock,
        *,
        org_id: str,
        user_id: str,
        session_seconds: int = 7200,
    ) -> None:
        self.credentials = credentials
        self.clock = clock
        self.org_id = org_id
        self.user_id = user_id
        self.instance_url = ""
        self.store = TokenStore(clock, org_id, session_seconds)
        self.app = AppSettings()
        self.tokens = TokenEndpoint(credentials, self.store, clock, self.app)
        self._authorize = AuthorizeEndpoint(self.tokens)
        self._user = IdentityUser(org_id=org_id, user_id=user_id, username=credentials.username)
        self._created = clock.now()
        self._routes: dict[str, Handler] = {
            "/services/oauth2/token": self._token,
            "/services/oauth2/authorize": self._authorize_page,
            "/services/oauth2/revoke": self._revoke,
            "/services/oauth2/userinfo": self._userinfo,
            f"/id/{org_id}/{user_id}": self._identity,
        }

    # -- WSGI ---------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve ``/services/oauth2/*`` and ``/id/<org_id>/<user_id>``."""
        request = Request(environ)
        handler = self._routes.get(request.path.rstrip("/") or "/")
        if handler is None:
            response = json_response(NOT_FOUND_BODY, 404)
        else:
            response = handler(request)
        return response(environ, start_response)

    def base_url(self, request: Request | None = None) -> str:
        """The instance (and login) URL without a trailing slash."""
        if self.instance_url or request is None:
            return self.instance_url.rstrip("/")
        return request.host_url.rstrip("/")

    def identity_url(self, request: Request | None = None) -> str:
        """The ``id`` of token answers: ``<login URL>/id/<org_id>/<user_id>``."""
        return f"{self.base_url(request)}/id/{self.org_id}/{self.user_id}"

    # -- what the REST API uses ----------------------------------------------------------------

    def session(self, request: Request) -> AccessSession | None:
        """The live session of a request's bearer token (its inactivity timeout renewed), or ``None``."""
        token = bearer_token(request)
        return self.store.use_session(token) if token else None

    def authenticate(self, request: Request) -> Response | None:
        """``None`` for a request with a live access token, else Salesforce's 401 answer."""
        if self.session(request) is not None:
            return None
        return json_response(INVALID_SESSION_BODY, 401)

    def expire_sessions(self) -> None:
        """Invalidate every access token; refresh tokens keep working."""
        self.store.expire_sessions()

    def revoke_refresh_tokens(self) -> None:
        """Revoke every refresh token and the access tokens issued from them."""
        self.store.revoke_refresh_tokens()

    def control_routes(self) -> dict[tuple[str, str], Handler]:
        """Sandbox-only routes (not part of Salesforce's API) for ``Service(control=...)``."""

        def expire(_request: Request) -> Response:
            return json_response({"expired_sessions": self.store.expire_sessions()})

        def revoke_refresh(_request: Request) -> Response:
            return json_response({"revoked_refresh_tokens": self.store.revoke_refresh_tokens()})

        def info(request: Request) -> Response:
            base = self.base_url(request)
            return json_response(
                {
                    **self.credentials.public_summary(),
                    "login_url": base,
                    "authorize_url": f"{base}/services/oauth2/authorize",
                    "token_url": f"{base}/services/oauth2/token",
                    **self.store.counts(),
                }
            )

        def get_app(_request: Request) -> Response:
            return json_response(self.app.as_dict())

        def put_app(request: Request) -> Response:
            data = request.get_json(force=True, silent=True)
            if not isinstance(data, dict):
                return json_response({"error": "send a JSON object of connected-app settings"}, 400)
            try:
                self.app.update(data)
            except ValueError as exc:
                return json_response({"error": str(exc)}, 400)
            return json_response(self.app.as_dict())

        return {
            ("GET", "/_sandbox/salesforce/connected-app"): get_app,
            ("PUT", "/_sandbox/salesforce/connected-app"): put_app,
            ("POST", "/_sandbox/salesforce/expire-sessions"): expire,
            ("POST", "/_sandbox/salesforce/revoke-refresh-tokens"): revoke_refresh,
            ("GET", "/_sandbox/salesforce/oauth"): info,
        }

    # -- endpoints ----------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return _oauth_error(OAuthError("invalid_request", "must use HTTP POST"))
        params = request.args.to_dict()
        params.update(request.form.to_dict())
        try:
            issued = self.tokens.exchange(
                params, request.headers.get("Authorization"), self.base_url(request)
            )
        except OAuthError as exc:
            return _oauth_error(exc)
        body = token_body(
            issued,
            instance_url=self.base_url(request),
            identity_url=self.identity_url(request),
            client_secret=self.credentials.client_secret,
        )
        resp = json_response(body)
        resp.headers["Cache-Control"] = _TOKEN_CACHE_CONTROL
        return resp

    def _authorize_page(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return _text("Method Not Allowed", 405)
        return self._authorize.handle(request, self.base_url(request))

    def _revoke(self, request: Request) -> Response:
        token = request.form.get("token") or request.args.get("token")
        if not token:
            return _oauth_error(OAuthError("invalid_request", "missing token parameter"))
        if not self.store.revoke(token):
            return _oauth_error(OAuthError("unsupported_token_type", "this token type is not supported"))
        return Response(b"", status=200)

    def _identity_request(self, request: Request) -> Response | None:
        token = bearer_token(request)
        if token is None:
            return _text("Missing_OAuth_Token", 403)
        if self.store.use_session(token) is None:
            return _text("Bad_OAuth_Token", 403)
        return None

    def _userinfo(self, request: Request) -> Response:
        refusal = self._identity_request(request)
        if refusal is not None:
            return refusal
        return json_response(
            userinfo_body(
                self._user,
                base=self.base_url(request),
                identity_url=self.identity_url(request),
                updated=self._created,
            )
        )

    def _identity(self, request: Request) -> Response:
        refusal = self._identity_request(request)
        if refusal is not None:
            return refusal
        return json_response(
            identity_body(
                self._user,
                base=self.base_url(request),
                identity_url=self.identity_url(request),
                updated=self._created,
            )
        )
