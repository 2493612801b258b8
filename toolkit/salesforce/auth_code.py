"""The OAuth 2.0 web server flow with PKCE (S256) and a loopback redirect listener.

A person opens :attr:`AuthorizationCodeFlow.authorize_url` in a browser and signs in; Salesforce
redirects the browser to ``http://127.0.0.1:PORT/callback?code=...&state=...``, where a small
``http.server`` listener (in a thread) checks the ``state``, exchanges the code together with
the PKCE verifier, and answers with a page saying whether it worked. When the browser cannot
reach the listener (a remote notebook), the person pastes the redirect URL and
:meth:`~AuthorizationCodeFlow.complete` does the same.

Real connected apps only redirect to callback URLs registered on them, port included: register
``http://127.0.0.1:<port>/callback`` and pass that ``port``.

What a person meets when the app in Salesforce Setup is not set up as the toolkit needs is said
in words naming the setting to change (:func:`explain_refusal`; the README's "Going live"
quotes these texts):

* a callback URL that is not registered: Salesforce shows its OAuth error page
  (``error=redirect_uri_mismatch``) instead of the login page and never redirects. The flow
  opens the authorize URL once when it starts (no cookie, nothing signed in) and raises at once
  when the answer is that page or a redirect carrying an ``error``; a pasted address of that page
  (no ``state``) is read the same way;
* scopes the app does not have: ``error=invalid_scope`` on the redirect, or (as real orgs are
  reported to do) a token answer without the refresh token or without ``api``: the flow raises
  instead of returning tokens scheduled runs could not use, after revoking them;
* an app that requires the consumer secret for the web server flow (``invalid_client``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import requests

from toolkit.credentials import Secret
from toolkit.exceptions import AuthError

from .oauth import TokenSet, normalize_login_url, revoke_token, token_request

__all__ = ["AuthorizationCodeFlow", "REQUIRED_SCOPES", "explain_refusal"]

log = logging.getLogger(__name__)

CALLBACK_PATH = "/callback"
REQUIRED_SCOPES = "api refresh_token"
"""The scopes the toolkit asks for: the REST and Bulk APIs, and a refresh token for later runs."""

SCOPE_API = "“Manage user data via APIs (api)”"
SCOPE_REFRESH = "“Perform requests at any time (refresh_token, offline_access)”"
_SETUP_APP = "the external client app (or connected app) in Salesforce Setup"
# Salesforce's OAuth error page quotes the error as `error=<code>&error_description=<text>`.
_ERROR_ON_PAGE = re.compile(r"error=([A-Za-z_]+)(?:&(?:amp;)?error_description=([^<&\s\"']*))?")
# Errors Salesforce shows on its own error page instead of redirecting (untrusted client or URI).
_PAGE_ERRORS = ("redirect_uri_mismatch", "invalid_client_id")
_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
    '<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{text}</p></body></html>'
)


def explain_refusal(
    error: str,
    description: str = "",
    *,
    redirect_uri: str = "",
    fixed_port: bool = True,
    secret_given: bool = False,
) -> str:
    """One sentence for an OAuth refusal of the sign-in, naming what to change in Salesforce Setup.

    Args:
        error: Salesforce's ``error`` code.
        description: its ``error_description``.
        redirect_uri: the callback URL the sign-in used.
        fixed_port: whether that URL's port was asked for (``salesforce_callback_port``), not
            picked at random (port 0).
        secret_given: whether the consumer secret was sent (for ``invalid_client``).
    """
    said = f"{error} ({description})" if description else error
    if error == "redirect_uri_mismatch":
        if fixed_port:
            return (
                f"Salesforce refused the sign-in with {said}: the app's Callback URL must be "
                f"exactly {redirect_uri}. Add it to the Callback URL of {_SETUP_APP}, save, and "
                f"connect again (a change can take a few minutes to apply)"
            )
        return (
            f"Salesforce refused the sign-in with {said}: the toolkit listened on {redirect_uri}, "
            f"a port picked at random because the setting salesforce_callback_port is 0. Set "
            f"salesforce_callback_port to a fixed free port in toolkit.toml, add "
            f"http://127.0.0.1:<that port>/callback to the Callback URL of {_SETUP_APP}, and "
            f"connect again"
        )
    if error == "invalid_client_id":
        return (
            f"Salesforce does not know this client ID ({said}): copy the Consumer Key of "
            f"{_SETUP_APP} into salesforce_client_id (or the Client ID field); a new app can take "
            f"a few minutes before it works"
        )
    if error == "invalid_scope":
        return (
            f"Salesforce refused the scopes the toolkit asks for ({REQUIRED_SCOPES}) with {said}: "
            f"the app's Selected OAuth Scopes must include {SCOPE_API} and {SCOPE_REFRESH}. Add "
            f"them to {_SETUP_APP}, save, and connect again"
        )
    if error == "invalid_client" and not secret_given:
        return (
            f"Salesforce wants the consumer secret for this sign-in ({said}): untick “Require "
            f"secret for Web Server Flow” and “Require secret for Refresh Token Flow” on "
            f"{_SETUP_APP} (PKCE protects the sign-in), or keep the consumer secret in the "
            f"credential store for this connection (TOOLKIT_SALESFORCE_<CONNECTION>_CLIENT_SECRET), "
            f"and connect again"
        )
    if error == "invalid_client":
        return (
            f"Salesforce refused the consumer secret ({said}): the secret in the credential store "
            f"for this connection is not the Consumer Secret of {_SETUP_APP}"
        )
    return f"Salesforce sign-in was not granted: {said}"


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self._answer(404, "Not found", "This address only receives Salesforce's sign-in redirect.")
            return
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        status, title, text = self.server.flow._on_callback(params)
        self._answer(status, title, text)

    def _answer(self, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=escape(title), text=escape(text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # The request line carries the authorization code: log the status only.
        log.debug("OAuth callback listener answered a request (%s)", args[1] if len(args) > 1 else "")


class _CallbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, flow: AuthorizationCodeFlow, host: str, port: int) -> None:
        self.flow = flow
        super().__init__((host, port), _CallbackHandler)


class AuthorizationCodeFlow:
    """One sign-in through a browser: PKCE S256, ``state``, a loopback redirect listener.

    The listener starts when the flow is created and stops when a code was exchanged, on
    :meth:`close`, or when the ``with`` block ends.

    Args:
        login_url: the login URL (login, test, My Domain or the sandbox's).
        client_id: the connected app's consumer key.
        session: the HTTP session for the code exchange.
        client_secret: the consumer secret, if the connected app requires it with PKCE.
        port: the listener's port on 127.0.0.1; 0 picks a free one (fine for the sandbox, but a
            real connected app needs the exact callback URL registered).
        scope: the scopes to ask for (``refresh_token`` yields a refresh token).
        check: open the authorize URL once, now, so that an app that refuses the callback URL
            or the client ID (Salesforce's error page) is said at once rather than in the browser.

    Raises:
        AuthError: the port is taken (``code="listener_unavailable"``), the login URL is not
            HTTPS, or Salesforce refuses the callback URL or client ID (``code`` is its error).

    Example:
        >>> with AuthorizationCodeFlow(login_url, client_id, session=session) as flow:  # doctest: +SKIP
        ...     webbrowser.open(flow.authorize_url)
        ...     tokens = flow.wait(timeout=300)
    """

    def __init__(
        self,
        login_url: str,
        client_id: str,
        *,
        session: requests.Session,
        client_secret: str | Secret | None = None,
        port: int = 0,
        scope: str = REQUIRED_SCOPES,
        check: bool = True,
    ) -> None:
        self.login_url = normalize_login_url(login_url)
        self._fixed_port = port != 0
        self.client_id = client_id
        self.scope = scope
        self._session = session
        self._client_secret = (
            (client_secret if isinstance(client_secret, Secret) else Secret(client_secret))
            if client_secret
            else None
        )
        self._verifier = Secret(secrets.token_urlsafe(64))
        self._state = secrets.token_urlsafe(32)
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._claimed = False
        self._result: TokenSet | None = None
        self._error: AuthError | None = None
        try:
            self._server = _CallbackServer(self, "127.0.0.1", port)
        except OSError as exc:
            raise AuthError(
                f"cannot listen on 127.0.0.1:{port} for the sign-in redirect ({exc.strerror}); "
                f"free the port or choose another",
                code="listener_unavailable",
            ) from None
        self.port: int = self._server.server_address[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="salesforce-oauth-callback", daemon=True
        )
        self._thread.start()
        if check:
            try:
                self._check_authorize_url()
            except AuthError:
                self.close()
                raise

    def _check_authorize_url(self) -> None:
        """Open the authorize URL once (no cookie, no redirect followed) and raise on an OAuth error page.

        Salesforce checks the client ID and the callback URL before it shows its login page, and
        answers a mismatch with its error page (``error=redirect_uri_mismatch``) instead of a
        redirect. Anything else (the login page, a redirect to it, no answer) passes: the
        browser will tell.
        """
        try:
            response = self._session.get(
                self.authorize_url, allow_redirects=False, headers={"Accept": "text/html"}
            )
        except requests.RequestException as exc:
            log.info("could not open the authorize URL before the sign-in (%s)", type(exc).__name__)
            return
        found: tuple[str, str] | None = None
        location = response.headers.get("Location", "")
        if response.is_redirect and location:
            query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
            if query.get("error") and not query.get("code"):
                found = (query["error"], query.get("error_description", ""))
        else:  # the login page, or the error page (400 on the sandbox; its status is not documented)
            match = _ERROR_ON_PAGE.search(response.text[:65536])
            if match and match.group(1) in _PAGE_ERRORS:
                found = (match.group(1), unquote(match.group(2) or ""))
        response.close()
        if found is not None:
            raise self._refused(*found)

    def _refused(self, error: str, description: str) -> AuthError:
        return AuthError(
            explain_refusal(
                error,
                description,
                redirect_uri=self.redirect_uri,
                fixed_port=self._fixed_port,
                secret_given=self._client_secret is not None,
            ),
            code=error,
        )

    @property
    def authorize_url(self) -> str:
        """The URL to open in a browser (or show as a link)."""
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(self._verifier.reveal().encode()).digest())
            .decode()
            .rstrip("=")
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.scope,
                "state": self._state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.login_url}/services/oauth2/authorize?{query}"

    def wait(self, timeout: float | None = 300.0) -> TokenSet:
        """Wait for the browser's redirect and return the tokens.

        Raises:
            AuthError: the person refused (``access_denied``), the exchange failed, or nothing
                came within ``timeout`` seconds (``code="timeout"``).
        """
        if not self._done.wait(timeout):
            raise AuthError(
                f"no sign-in redirect reached {self.redirect_uri} within {timeout:g} s", code="timeout"
            )
        return self._outcome()

    def complete(self, redirect_url: str) -> TokenSet:
        """Finish the flow with the redirect URL pasted from the browser's address bar.

        Raises:
            AuthError: the URL's ``state`` is not this flow's (``code="state_mismatch"``), it
                carries an OAuth error, or the exchange failed.
        """
        params = {k: v[0] for k, v in parse_qs(urlsplit(redirect_url.strip()).query).items()}
        if params.get("error") in _PAGE_ERRORS and "state" not in params and "code" not in params:
            # The address of Salesforce's OAuth error page, which carries no state: it ends nothing
            # by itself (nothing was granted), it only says why the login page never came.
            raise self._refused(params["error"], params.get("error_description", ""))
        if not secrets.compare_digest(params.get("state", ""), self._state):
            raise AuthError(
                "the redirect URL does not belong to this sign-in (state mismatch); start the sign-in again",
                code="state_mismatch",
            )
        self._settle(params)
        return self._outcome()

    def close(self) -> None:
        """Stop the listener (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> AuthorizationCodeFlow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "done" if self._done.is_set() else "waiting"
        return f"AuthorizationCodeFlow(login_url={self.login_url!r}, redirect_uri={self.redirect_uri!r}, {state})"

    # -- internals ------------------------------------------------------------------------------

    def _outcome(self) -> TokenSet:
        if self._error is not None:
            raise self._error
        assert self._result is not None  # _done is only set with one of the two
        return self._result

    def _on_callback(self, params: dict[str, str]) -> tuple[int, str, str]:
        """Handle a redirect reaching the listener; returns the page to answer with."""
        if not secrets.compare_digest(params.get("state", ""), self._state):
            log.warning("OAuth callback with a wrong state was refused")
            return 400, "Sign-in refused", "This redirect does not belong to the sign-in in progress."
        if not self._settle(params):
            return 409, "Already handled", "This sign-in was already completed. You can close this window."
        if self._error is not None:
            return 400, "Sign-in failed", f"{self._error.args[0]}. You can close this window."
        return 200, "Signed in to Salesforce", "You can close this window and return to the toolkit."

    def _settle(self, params: dict[str, str]) -> bool:
        """Exchange the code (or record the OAuth error) once; False if already done."""
        with self._lock:
            if self._claimed:
                return False
            self._claimed = True
        try:
            if params.get("error"):
                raise self._refused(params["error"], params.get("error_description", ""))
            if not params.get("code"):
                raise AuthError("the sign-in redirect carries no authorization code", code="invalid_request")
            form = {
                "grant_type": "authorization_code",
                "code": params["code"],
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "code_verifier": self._verifier.reveal(),
            }
            if self._client_secret:
                form["client_secret"] = self._client_secret.reveal()
            try:
                tokens = token_request(
                    self.login_url,
                    form,
                    session=self._session,
                    flow="authorization_code",
                    client_secret=self._client_secret,
                )
            except AuthError as exc:
                if exc.code in ("invalid_client", "redirect_uri_mismatch"):
                    raise self._refused(exc.code, _description(exc)) from None
                raise
            self._result = self._usable(tokens)
        except AuthError as exc:
            self._error = exc
        finally:
            self._done.set()
            threading.Thread(target=self._stop_listening, daemon=True).start()
        return True

    def _usable(self, tokens: TokenSet) -> TokenSet:
        """``tokens`` if they carry what the toolkit asked for; else revoked, and an AuthError.

        Salesforce grants only the scopes selected on the app: without ``refresh_token`` the
        answer has no refresh token (scheduled runs could not sign in again), without ``api`` the
        REST API refuses the token.
        """
        asked = set(self.scope.split())
        granted = set(tokens.scope.split())
        problem = ""
        if "refresh_token" in asked and tokens.refresh_token is None:
            problem = (
                f"Salesforce signed you in but gave no refresh token, so scheduled runs could not "
                f"sign in again: the app's Selected OAuth Scopes must include {SCOPE_REFRESH}"
            )
        elif "api" in asked and granted and not granted & {"api", "full"}:
            problem = (
                f"Salesforce signed you in without API access (granted scopes: {tokens.scope}): "
                f"the app's Selected OAuth Scopes must include {SCOPE_API}"
            )
        if not problem:
            return tokens
        # The refresh token first: Salesforce revokes the access tokens issued from it along.
        if tokens.refresh_token is None or not revoke_token(
            self.login_url, tokens.refresh_token, session=self._session
        ):
            revoke_token(self.login_url, tokens.access_token, session=self._session)
        raise AuthError(
            f"{problem}. Add it to {_SETUP_APP}, save, and connect again", code="insufficient_scope"
        )

    def _stop_listening(self) -> None:
        # Runs in its own thread: shutdown() waits for serve_forever, which a handler is inside of.
        self.close()


def _description(exc: AuthError) -> str:
    """The ``error_description`` quoted in an AuthError of :func:`~.oauth.token_request` (or "")."""
    text = str(exc)
    start, end = text.find("("), text.rfind(")")
    return text[start + 1 : end] if 0 <= start < end else ""
