"""The OAuth 2.0 web server flow with PKCE (S256) and a loopback redirect listener.

A person opens :attr:`AuthorizationCodeFlow.authorize_url` in a browser and signs in; Salesforce
redirects the browser to ``http://127.0.0.1:PORT/callback?code=...&state=...``, where a small
``http.server`` listener (in a thread) checks the ``state``, exchanges the code together with
the PKCE verifier, and answers with a page saying whether it worked. When the browser cannot
reach the listener (a remote notebook), the person pastes the redirect URL and
:meth:`~AuthorizationCodeFlow.complete` does the same.

Real connected apps only redirect to callback URLs registered on them, port included: register
``http://127.0.0.1:<port>/callback`` and pass that ``port``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from toolkit.credentials import Secret
from toolkit.exceptions import AuthError

from .oauth import TokenSet, normalize_login_url, token_request

__all__ = ["AuthorizationCodeFlow"]

log = logging.getLogger(__name__)

CALLBACK_PATH = "/callback"
_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
    '<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{text}</p></body></html>'
)


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

    Raises:
        AuthError: the port is taken (``code="listener_unavailable"``) or the login URL is not HTTPS.

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
        scope: str = "api refresh_token",
    ) -> None:
        self.login_url = normalize_login_url(login_url)
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
                description = params.get("error_description", "")
                raise AuthError(
                    f"Salesforce sign-in was not granted: {params['error']}"
                    + (f" ({description})" if description else ""),
                    code=params["error"],
                )
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
            self._result = token_request(
                self.login_url,
                form,
                session=self._session,
                flow="authorization_code",
                client_secret=self._client_secret,
            )
        except AuthError as exc:
            self._error = exc
        finally:
            self._done.set()
            threading.Thread(target=self._stop_listening, daemon=True).start()
        return True

    def _stop_listening(self) -> None:
        # Runs in its own thread: shutdown() waits for serve_forever, which a handler is inside of.
        self.close()
