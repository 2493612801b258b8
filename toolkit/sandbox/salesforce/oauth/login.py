"""``/services/oauth2/authorize``: the web server flow's login page and its redirect with a code."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode, urlsplit

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from toolkit.sandbox.salesforce.oauth.grants import TokenEndpoint, granted_scope
from toolkit.sandbox.salesforce.oauth.jwt import OAuthError
from toolkit.sandbox.salesforce.oauth.pages import error_page, login_page

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def redirect_allowed(uri: str, own_url: str, registered: tuple[str, ...] = ()) -> bool:
    """Whether the sandbox may send a browser to ``uri``.

    Real connected apps only redirect to their registered callback URLs (an exact match). The
    sandbox does so too once callback URLs are registered (``registered``, see
    :class:`~.policy.AppSettings`); with none registered (the default) it accepts any loopback
    URL (clients listen on random ports) and URLs on the sandbox itself. Never another host,
    either way, so a code can never leak off the machine.
    """
    if registered and uri not in registered:
        return False
    if not uri or any(ch.isspace() or ord(ch) < 32 for ch in uri) or "\\" in uri:
        return False
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    if parts.fragment or parts.username is not None or parts.password is not None:
        return False
    if parts.scheme in ("http", "https") and parts.hostname in LOOPBACK_HOSTS:
        return True
    own = own_url.rstrip("/")
    return bool(own) and (uri == own or uri.startswith((own + "/", own + "?")))


def _with_query(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if urlsplit(uri).query else "?") + urlencode(params, quote_via=quote)


def _redirect(uri: str, params: dict[str, str]) -> Response:
    resp = redirect(_with_query(uri, params), code=302)
    resp.headers["Cache-Control"] = "no-cache, no-store"
    return resp


class AuthorizeEndpoint:
    """Shows the login page (GET) and checks the submitted credentials (POST).

    Checks are made again on the POST, from the hidden inputs, since a form can be forged.
    """

    def __init__(self, tokens: TokenEndpoint) -> None:
        self.tokens = tokens

    def handle(self, request: Request, own_url: str) -> Response:
        """Answer a GET or POST of the authorize endpoint."""
        params: Mapping[str, str] = request.form if request.method == "POST" else request.args
        refusal = self._refusal(params, own_url)
        if refusal is not None:
            return refusal
        if request.method != "POST":
            return login_page(params, username=params.get("login_hint", ""))
        username = params.get("username", "")
        if not self.tokens.user_matches(username, params.get("pw")):
            return login_page(params, username=username, error=True)
        code = self.tokens.store.issue_code(
            params["client_id"],
            params["redirect_uri"],
            granted_scope(params.get("scope"), self.tokens.app),
            params.get("code_challenge") or None,
            params.get("code_challenge_method") or "S256",
        )
        answer = {"code": code.code}
        if params.get("state"):
            answer["state"] = params["state"]
        return _redirect(params["redirect_uri"], answer)

    def _refusal(self, params: Mapping[str, str], own_url: str) -> Response | None:
        """The error page or error redirect for bad OAuth parameters, or ``None`` if they are fine."""
        if params.get("client_id") != self.tokens.credentials.client_id:
            return error_page("invalid_client_id", "client identifier invalid")
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_allowed(redirect_uri, own_url, self.tokens.app.callback_urls):
            return error_page("redirect_uri_mismatch", "redirect_uri must match configuration")
        state = {"state": params["state"]} if params.get("state") else {}
        if params.get("response_type") != "code":
            return _redirect(
                redirect_uri,
                {
                    "error": "unsupported_response_type",
                    "error_description": "response type not supported",
                    **state,
                },
            )
        try:
            granted_scope(params.get("scope"), self.tokens.app)
        except OAuthError as exc:
            return _redirect(
                redirect_uri, {"error": exc.error, "error_description": exc.description, **state}
            )
        if params.get("code_challenge") and (params.get("code_challenge_method") or "S256") not in (
            "S256",
            "plain",
        ):
            return _redirect(
                redirect_uri,
                {"error": "invalid_request", "error_description": "invalid code challenge method", **state},
            )
        return None
