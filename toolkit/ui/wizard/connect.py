"""The wizard's "Connect account" step (SPEC S2, S3): Salesforce's own login page through OAuth.

"Connect account" starts a :class:`~toolkit.connections.BrowserSignIn` (the authorization-code
flow with PKCE and a loopback listener on 127.0.0.1, as the connections page's Reconnect) and
shows its ``authorize_url`` as a button-like link that opens Salesforce's login page in a new
tab. The step completes by itself when the browser's redirect reaches the listener; where it
cannot (a remote notebook), the person pastes the redirect URL. An app in Salesforce Setup that
refuses the callback URL or the client ID is said at once, on the click. The account is then
recorded with :func:`toolkit.connections.connect_salesforce`, which checks that the org's API
answers: ``API_DISABLED_FOR_ORG``, a refused sign-in and a 6th integration using one account (S3)
are said plainly on the step, which stays open; a sign-in refused that way has its tokens
revoked. Reusing a stored connection checks S3 before signing in at all; a disconnected one is
refused before that (it is reconnected on the connections page).

The client secret never appears here: when the connected app needs one, it is read from the
credential store (``("salesforce", <connection name>, "client_secret")`` or its environment
variable).
"""

from __future__ import annotations

import html
import logging
import re
import threading
from dataclasses import dataclass
from functools import partial
from typing import Any

import ipywidgets as widgets
import traitlets

from toolkit.api import Toolkit
from toolkit.connections import SIGN_IN_TIMEOUT, BrowserSignIn, connect_salesforce, open_salesforce
from toolkit.exceptions import AuthError, ToolkitError
from toolkit.salesforce import TokenSet
from toolkit.salesforce.oauth import normalize_login_url
from toolkit.store import Connection, Store

from ..common import INIT, READY, friendly_error
from .step import WizardStep

__all__ = ["ConnectStep", "DISCONNECTED_MARK", "SIGN_IN_TIMEOUT", "callback_hint"]

log = logging.getLogger(__name__)

DISCONNECTED_MARK = "disconnected: reconnect it on the connections page"
"""How the drop-down marks a disconnected connection, and why it is refused."""

_WIDE = {"description_width": "10em"}
_LINK_STYLE = (
    "display:inline-block;padding:6px 14px;background:#0176d3;color:white;border-radius:4px;"
    "text-decoration:none;font-weight:bold"
)
_HINT_STYLE = "margin:0 0 6px 10.5em;font-size:90%;color:#555;max-width:40em"
_SETUP_APP = "the external client app or connected app"


def _field() -> widgets.Layout:
    """A layout of its own for each input (a shared one would hide them all with one)."""
    return widgets.Layout(width="40em")


def callback_hint(port: int) -> str:
    """What the app in Salesforce Setup must have as its Callback URL for a sign-in on ``port``.

    Port 0 (a port picked at random for each sign-in) suits the sandbox only: a real org's app
    redirects to its registered callback URLs only, so the text says that a fixed
    ``salesforce_callback_port`` is needed (the README's "Going live", step 2).
    """
    if port:
        return (
            f"In Salesforce Setup, the app's Callback URL must be exactly "
            f"http://127.0.0.1:{port}/callback ({_SETUP_APP} whose Consumer Key is the Client ID)."
        )
    return (
        "salesforce_callback_port is 0: the sign-in listens on a port picked at random, which only "
        "the sandbox accepts. For a real org, set salesforce_callback_port to a fixed free port in "
        "toolkit.toml; in Salesforce Setup, the app's Callback URL must then be exactly "
        "http://127.0.0.1:<that port>/callback."
    )


@dataclass(eq=False)
class _Pending:
    """One press of “Connect account”: what to record when its sign-in comes back."""

    name: str
    client_id: str
    login_url: str
    sign_in: BrowserSignIn | None = None  # set once started


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
        self._pending: _Pending | None = None
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
        hint = re.sub(
            r"http://127\.0\.0\.1:\S+?/callback",
            r"<code>\g<0></code>",
            html.escape(callback_hint(callback_port)),
        )
        self.callback_hint = widgets.HTML(f'<div style="{_HINT_STYLE}">{hint}</div>')
        self.callback_hint.add_class("toolkit-callback-hint")
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
            self.callback_hint,
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
                    + (
                        ""
                        if current.connected
                        else f" It is {DISCONNECTED_MARK} before the integration runs."
                    )
                )
                return
        self._offer(connections)
        super().enter()

    def _offer(self, connections: list[Connection], selected: str | None = None) -> None:
        current = selected or self.existing.value
        self.existing.options = [(_label(c), c.name) for c in connections]
        names = [c.name for c in connections]
        if names:  # a drop-down given options after it was built would otherwise show empty
            usable = [c.name for c in connections if c.connected] or names
            self.existing.value = current if current in names else usable[0]
        self.existing_box.layout.display = None if connections else "none"

    # -- an existing connection ------------------------------------------------------------------

    def use_connection(self) -> None:
        """Use the chosen connection, after checking that its org's API answers.

        A disconnected connection is refused before anything else (no sign-in, no S3 check).
        """
        name = self.existing.value
        if not name:
            self.fail("Choose a connection first.")
            return
        chosen = self.attempt(lambda: self.tk.store.get_connection(name))
        if chosen is None:
            return
        if not chosen.connected:
            self.fail(f"The connection “{name}” is {DISCONNECTED_MARK}, or connect an account below.")
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
        self._drop_sign_in()
        pending = _Pending(name, client_id, login_url)
        with self._lock:
            self._pending = pending
        sign_in = self.attempt(  # a refused callback URL or client ID is said here, at once
            lambda: BrowserSignIn(
                self.tk.settings,
                self.tk.credentials,
                login_url=login_url,
                client_id=client_id,
                name=name,
                on_done=partial(self._concluded, pending),
                port=self.callback_port,
                timeout=SIGN_IN_TIMEOUT,
            )
        )
        with self._lock:  # held while the link is shown: a sign-in coming back waits for it
            current = self._pending is pending
            if current and sign_in is not None:
                pending.sign_in = sign_in
                self._show_link(sign_in)
                return
            if current:  # it could not start (said by self.attempt)
                self._pending = None
        if sign_in is not None:  # dropped meanwhile (or concluded already: then a no-op)
            sign_in.cancel()

    def _show_link(self, sign_in: BrowserSignIn) -> None:
        """Show the login page's link of the sign-in in progress, and the pasting box."""
        self.authorize_url = sign_in.authorize_url
        self.login_link.value = (
            f'<p><a href="{html.escape(self.authorize_url)}" target="_blank" rel="noopener" '
            f'style="{_LINK_STYLE}">Open the Salesforce login page</a></p>'
        )
        self.paste_box.layout.display = None
        self.state = READY
        self.message.say(
            "Sign in on the Salesforce page that opens. This step completes by itself when you "
            "are back; if it does not, paste the address of the page you landed on below.",
            "info",
        )

    def complete(self, redirect_url: str) -> None:
        """Finish the sign-in with the redirect URL pasted from the browser's address bar."""
        pending = self._pending
        sign_in = pending.sign_in if pending is not None else None
        if sign_in is None:
            self.fail("Press “Connect account” first.")
            return
        if not redirect_url.strip():
            self.fail("Paste the full address of the page the login redirected you to.")
            return
        try:
            sign_in.complete(redirect_url)
        except AuthError as exc:  # not this sign-in's URL: keep waiting for the right one
            self.fail(friendly_error(exc))

    def _concluded(self, pending: _Pending, outcome: TokenSet | AuthError) -> None:
        """The sign-in came back (maybe in the listener's thread): record the connection, or say why not."""
        with self._lock:
            if self._pending is not pending:  # replaced or dropped meanwhile
                return
            self._pending = None
        self.paste_box.layout.display = "none"
        self.login_link.value = ""
        self.authorize_url = ""
        if isinstance(outcome, AuthError):
            if outcome.code == "timeout":
                minutes = f"{SIGN_IN_TIMEOUT / 60:g} minutes"
                outcome = AuthError(
                    f"no sign-in came back within {minutes}; press “Connect account” again", code="timeout"
                )
            self.fail(friendly_error(outcome))
        else:
            self._record(pending, outcome)

    def _record(self, pending: _Pending, tokens: TokenSet) -> None:
        # This may run in the listener's thread: a database connection of its own, as the same actor.
        actor, via = self.tk.store.actor, self.tk.store.via
        try:
            with Store.from_settings(self.tk.settings) as store:
                store.actor, store.via = actor, via
                conn = connect_salesforce(
                    store,
                    self.tk.credentials,
                    self.tk.settings,
                    name=pending.name,
                    tokens=tokens,
                    client_id=pending.client_id,
                    flow="authorization_code",
                    login_url=normalize_login_url(pending.login_url),  # as the sign-in used it
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

    def _drop_sign_in(self) -> None:
        """Stop the sign-in in progress, if any (its listener closes; nothing is recorded)."""
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is None:
            return
        if pending.sign_in is not None:
            pending.sign_in.cancel()
        self.paste_box.layout.display = "none"
        self.login_link.value = ""
        self.authorize_url = ""

    def close(self) -> None:
        """Stop a sign-in in progress, then close the widget."""
        self._drop_sign_in()
        super().close()

    @property
    def waiting(self) -> bool:
        """A sign-in was started and has not come back yet."""
        return self._pending is not None


def _label(connection: Connection) -> str:
    """The drop-down's text for a connection: name, user, and whether it is disconnected."""
    text = f"{connection.name} — {connection.username}"
    return text if connection.connected else f"{text} ({DISCONNECTED_MARK})"
