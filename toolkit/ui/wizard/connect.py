"""The wizard's "Connect account" step (SPEC S2, S3): Salesforce's own login page through OAuth.

"Connect account" starts an :class:`~toolkit.salesforce.AuthorizationCodeFlow` (PKCE, a
loopback listener on 127.0.0.1) and shows its ``authorize_url`` as a button-like link that
opens Salesforce's login page in a new tab. The step completes by itself when the browser's
redirect reaches the listener; where it cannot (a remote notebook), the person pastes the
redirect URL. The account is then recorded with :func:`toolkit.connections.connect_salesforce`,
which checks that the org's API answers: ``API_DISABLED_FOR_ORG``, a refused sign-in and a 6th
integration using one account (S3) are said plainly on the step, which stays open; a sign-in
refused that way has its tokens revoked. Reusing a stored connection checks S3 before signing
in at all.

The client secret never appears here: when the connected app needs one, it is read from the
credential store (``("salesforce", <connection name>, "client_secret")`` or its environment
variable).
"""

from __future__ import annotations

import html
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import requests
import traitlets

from toolkit.api import Toolkit
from toolkit.connections import connect_salesforce, open_salesforce
from toolkit.exceptions import AuthError, ToolkitError
from toolkit.salesforce import AuthorizationCodeFlow, TokenSet, make_session
from toolkit.store import Connection, Store

from ..common import INIT, READY, friendly_error
from .step import WizardStep

__all__ = ["ConnectStep", "SIGN_IN_TIMEOUT"]

log = logging.getLogger(__name__)

SIGN_IN_TIMEOUT = 900.0
"""Seconds a started sign-in waits for the browser's redirect."""

_WIDE = {"description_width": "10em"}
_LINK_STYLE = (
    "display:inline-block;padding:6px 14px;background:#0176d3;color:white;border-radius:4px;"
    "text-decoration:none;font-weight:bold"
)


def _field() -> widgets.Layout:
    """A layout of its own for each input (a shared one would hide them all with one)."""
    return widgets.Layout(width="40em")


class ConnectStep(WizardStep):
    """S2: connect a Salesforce account (or reuse a connection) for the integration.

    Args:
        tk: the toolkit.
        login_url: the login URL offered in the form.
        client_id: the connected app's consumer key offered in the form.
        callback_port: the redirect listener's port (0 = any free port).

    Attributes:
        connection: the connection's name once the step succeeded.
        authorize_url: the login page's URL of the sign-in in progress (empty when none).
    """

    title = "Connect Salesforce"
    connection = traitlets.Unicode("")
    authorize_url = traitlets.Unicode("")

    def __init__(
        self, tk: Toolkit, *, login_url: str, client_id: str, callback_port: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(tk, **kwargs)
        self.callback_port = callback_port
        self._sign_in: _SignIn | None = None
        self._lock = threading.Lock()
        self.existing = widgets.Dropdown(description="Connection", options=[], style=_WIDE, layout=_field())
        self.use_existing = widgets.Button(
            description="Use this connection", layout=widgets.Layout(width="auto")
        )
        self.use_existing.on_click(lambda _: self.use_connection())
        self.existing_box = widgets.VBox(
            [
                widgets.HTML("<b>Use an account connected before</b>"),
                widgets.HBox([self.existing, self.use_existing]),
            ]
        )
        self.login_url = widgets.Text(value=login_url, description="Login URL", style=_WIDE, layout=_field())
        self.client_id = widgets.Text(
            value=client_id,
            description="Client ID",
            style=_WIDE,
            layout=_field(),
            placeholder="the connected app's consumer key",
        )
        self.connection_name = widgets.Text(description="Connection name", style=_WIDE, layout=_field())
        self.connect = widgets.Button(description="Connect account", button_style="primary", icon="sign-in")
        self.connect.on_click(lambda _: self.start())
        self.login_link = widgets.HTML()
        self.login_link.add_class("toolkit-login-link")
        self.redirect_url = widgets.Text(
            description="Redirect URL",
            style=_WIDE,
            layout=_field(),
            placeholder="only if the page after login did not say “Signed in”",
        )
        self.finish = widgets.Button(description="Finish sign-in")
        self.finish.on_click(lambda _: self.complete(self.redirect_url.value))
        self.paste_box = widgets.HBox([self.redirect_url, self.finish])
        self.paste_box.layout.display = "none"
        self.observe(self._name_default, names="integration")
        self.children = [
            self.existing_box,
            widgets.HTML(
                "<b>Connect a Salesforce account</b><p>You sign in on Salesforce's own "
                "login page; the toolkit never sees your password.</p>"
            ),
            self.login_url,
            self.client_id,
            self.connection_name,
            self.connect,
            self.login_link,
            self.paste_box,
            self.message,
        ]

    def _name_default(self, change: traitlets.Bunch) -> None:
        if not self.connection_name.value:
            self.connection_name.value = f"{change['new']}-salesforce"

    def enter(self) -> None:
        """List the connections made before (hidden when there are none).

        Editing, the integration's own connection is chosen and the step starts done.
        """
        connections = self.tk.store.list_connections()
        if self.editing and self.state == INIT:
            integ = self.tk.store.get_integration(self.integration)
            current = next((c for c in connections if c.id == integ.connection_id), None)
            if current is not None:
                self._offer(connections, selected=current.name)
                self.connection = current.name
                self.succeed(
                    f"Uses the connection “{current.name}” ({current.username}). Choose another one, or sign in "
                    "again, to change it: it is saved with the other changes."
                )
                return
        self._offer(connections)
        super().enter()

    def _offer(self, connections: list[Connection], selected: str | None = None) -> None:
        current = selected or self.existing.value
        self.existing.options = [(f"{c.name} — {c.username}", c.name) for c in connections]
        names = [c.name for c in connections]
        if names:  # a drop-down given options after it was built would otherwise show empty
            self.existing.value = current if current in names else names[0]
        self.existing_box.layout.display = None if connections else "none"

    # -- an existing connection ------------------------------------------------------------------

    def use_connection(self) -> None:
        """Use the chosen connection, after checking that its org's API answers."""
        name = self.existing.value
        if not name:
            self.fail("Choose a connection first.")
            return

        def use() -> Connection:
            # S3 first: a 6th use of the account is refused before any sign-in.
            self.tk.store.check_connection_use(name, self.integration)
            client = open_salesforce(self.tk.store, self.tk.credentials, self.tk.settings, name)
            try:
                client.limits()  # a disabled API or a revoked grant shows here, before anything is kept
            finally:
                client.close()
            if not self.editing:  # an edit stores it with the other changes (the save step)
                self.tk.use_connection(self.integration, name)
            return self.tk.store.get_connection(name)

        conn = self.attempt(use)
        if conn is not None:
            self._connected(conn.name, conn.username, self.tk.store.list_connections())

    # -- a new connection through the login page -------------------------------------------------

    def start(self) -> None:
        """Start a sign-in: show the login page's link and wait for its redirect."""
        login_url, client_id = self.login_url.value.strip(), self.client_id.value.strip()
        name = self.connection_name.value.strip()
        if not (login_url and client_id and name):
            self.fail(
                "Fill in the login URL, the client ID (the connected app's consumer key) and a "
                "connection name."
            )
            return
        if name in {c.name for c in self.tk.store.list_connections()}:
            self.fail(f"A connection named “{name}” exists: choose it above, or give this one another name.")
            return
        self._drop_flow()
        secret = self.tk.credentials.find("salesforce", name, "client_secret")
        session = make_session(
            str(self.tk.settings.ca_bundle) if self.tk.settings.ca_bundle else None,
            timeout=self.tk.settings.http_timeout,
        )
        flow = self.attempt(
            lambda: AuthorizationCodeFlow(
                login_url, client_id, session=session, client_secret=secret, port=self.callback_port
            )
        )
        if flow is None:
            session.close()
            return
        sign_in = _SignIn(flow, session, name, client_id)
        with self._lock:
            self._sign_in = sign_in
        self.authorize_url = flow.authorize_url
        self.login_link.value = (
            f'<p><a href="{html.escape(flow.authorize_url)}" target="_blank" rel="noopener" '
            f'style="{_LINK_STYLE}">Open the Salesforce login page</a></p>'
        )
        self.paste_box.layout.display = None
        self.state = READY
        self.message.say(
            "Sign in on the Salesforce page that opens. This step completes by itself when you "
            "are back; if it does not, paste the address of the page you landed on below.",
            "info",
        )
        threading.Thread(target=self._watch, args=(sign_in,), name="wizard-sign-in", daemon=True).start()

    def complete(self, redirect_url: str) -> None:
        """Finish the sign-in with the redirect URL pasted from the browser's address bar."""
        sign_in = self._sign_in
        if sign_in is None:
            self.fail("Press “Connect account” first.")
            return
        if not redirect_url.strip():
            self.fail("Paste the full address of the page the login redirected you to.")
            return
        try:
            tokens: TokenSet | AuthError = sign_in.flow.complete(redirect_url)
        except AuthError as exc:
            if exc.code == "state_mismatch":  # not this sign-in's URL: keep waiting for the right one
                self.fail(friendly_error(exc))
                return
            tokens = exc
        self._conclude(sign_in, tokens)
        sign_in.done.wait(60)  # the listener's thread may have got there first: let it finish

    def _watch(self, sign_in: _SignIn) -> None:
        """Wait (in a thread) for the redirect reaching the listener, while this sign-in is current."""
        deadline = time.monotonic() + SIGN_IN_TIMEOUT
        while self._sign_in is sign_in and time.monotonic() < deadline:
            try:
                tokens: TokenSet | AuthError = sign_in.flow.wait(timeout=0.5)
            except AuthError as exc:
                if exc.code == "timeout":
                    continue
                tokens = exc
            self._conclude(sign_in, tokens)
            return
        self._conclude(
            sign_in,
            AuthError(
                "no sign-in came back within 15 minutes; press “Connect account” again", code="timeout"
            ),
        )

    def _conclude(self, sign_in: _SignIn, outcome: TokenSet | AuthError) -> None:
        """Record the connection (once per sign-in, whichever path got there first)."""
        with self._lock:
            if self._sign_in is not sign_in:
                return
            self._sign_in = None
        try:
            sign_in.close()
            self.paste_box.layout.display = "none"
            self.login_link.value = ""
            self.authorize_url = ""
            if isinstance(outcome, AuthError):
                self.fail(friendly_error(outcome))
            else:
                self._record(sign_in, outcome)
        finally:
            sign_in.done.set()

    def _record(self, sign_in: _SignIn, tokens: TokenSet) -> None:
        # This may run in the listener's thread: use a database connection of its own.
        try:
            with Store.from_settings(self.tk.settings) as store:
                conn = connect_salesforce(
                    store,
                    self.tk.credentials,
                    self.tk.settings,
                    name=sign_in.name,
                    tokens=tokens,
                    client_id=sign_in.client_id,
                    flow="authorization_code",
                    login_url=sign_in.flow.login_url,
                    integration=None if self.editing else self.integration,
                )
                connections = store.list_connections()
        except Exception as exc:  # shown on the step in words
            if not isinstance(exc, (ToolkitError, ValueError)):
                log.warning("connecting the Salesforce account failed", exc_info=True)
            self.fail(friendly_error(exc))
            return
        self._connected(conn.name, conn.username, connections)

    def _connected(self, name: str, username: str, connections: list[Connection]) -> None:
        self.connection = name
        self._offer(connections, selected=name)
        later = " It is used once you save the changes." if self.editing else ""
        self.succeed(f"Connected to Salesforce as {username} (connection “{name}”).{later}")

    def _drop_flow(self) -> None:
        with self._lock:
            sign_in, self._sign_in = self._sign_in, None
        if sign_in is not None:
            sign_in.close()
            sign_in.done.set()

    def close(self) -> None:
        """Stop a sign-in in progress, then close the widget."""
        self._drop_flow()
        super().close()

    @property
    def waiting(self) -> bool:
        """A sign-in was started and has not come back yet."""
        return self._sign_in is not None


@dataclass
class _SignIn:
    """One sign-in in progress: its flow, its HTTP session and what to record when it succeeds."""

    flow: AuthorizationCodeFlow
    session: requests.Session
    name: str
    client_id: str
    done: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.flow.close()
        self.session.close()
