"""The connections page (issue 15): each Salesforce connection, and what to do with it.

A table (org, user, the integrations using the connection, its account's uses against the S3
limit "n of 5", the token state, the org's API usage as the newest run through it saw it (B3),
connected or disconnected); then one connection chosen in a drop-down: "Check sign-in" (one
sign-in, only when asked), "Reconnect" (Salesforce's login page again, the same account: the
authorization-code flow with PKCE and a loopback redirect, as the setup wizard signs in) and
"Disconnect" (asked twice: a second button confirms; refused while an integration that runs by
itself uses it, naming it). Underneath, the connection's recent changes: who, when, what.

For a viewer (``TOOLKIT_ROLE=viewer``) the page is read-only: the table and the changes of every
connection, no button that acts and no field to edit.
"""

from __future__ import annotations

import html
import logging
import threading
from typing import Any, TypedDict

import ipywidgets as widgets
import traitlets

from toolkit.api import Toolkit
from toolkit.connections import BrowserSignIn, ConnectionView, TokenState
from toolkit.exceptions import AuthError, ToolkitError
from toolkit.store import Change, Connection

from .common import AppPage, friendly_error, guarded, html_table

__all__ = ["CHANGE_COLUMNS", "COLUMNS", "ConnectionRow", "ConnectionsPage", "change_rows", "connection_row"]

log = logging.getLogger(__name__)

COLUMNS = (
    ("name", "Connection"),
    ("org", "Org"),
    ("user", "User"),
    ("integrations", "Integrations"),
    ("uses", "Account used by (S3)"),
    ("token", "Sign-in"),
    ("api", "Salesforce API usage (B3)"),
    ("state", "State"),
)
"""The table's ``(key, header)`` columns, as :func:`connection_row` returns them."""

CHANGE_COLUMNS = (
    ("at", "When (UTC)"),
    ("actor", "Who"),
    ("via", "Where"),
    ("subject", "Connection"),
    ("what", "What"),
)
"""The change log's ``(key, header)`` columns, as :func:`change_rows` returns them."""

_LINK_STYLE = (
    "display:inline-block;padding:6px 14px;background:#0176d3;color:white;border-radius:4px;"
    "text-decoration:none;font-weight:bold"
)
_CHECKED = {
    TokenState.VALID: ("“{name}” signs in: its token is valid.", "ok"),
    TokenState.REFUSED: (
        "Salesforce refused the sign-in of “{name}” (its token was revoked or expired, or its "
        "secret changed): reconnect it.",
        "error",
    ),
    TokenState.UNREACHABLE: ("Salesforce could not be reached to check “{name}”; check again later.", "warn"),
    TokenState.DISCONNECTED: ("“{name}” is disconnected: reconnect it to use it again.", "warn"),
}


class ConnectionRow(TypedDict):
    """One connection as the page's table shows it (keyed as :data:`COLUMNS`)."""

    name: str
    org: str  # "00D... (https://acme.my.salesforce.com)"
    user: str
    integrations: str  # "newsletter (active), leads (stopped (paused))", or "none"
    uses: str  # "1 of 5"
    token: str  # a TokenState's words
    api: str  # "1,234 of 15,000 (8%), 2026-01-31 09:15 UTC", or "no run yet"
    state: str  # "connected", or "disconnected 2026-01-31 09:15 UTC"


def connection_row(view: ConnectionView) -> ConnectionRow:
    """A connection's row for the table."""
    org = view.org_id or "unknown org"
    if view.instance_url:
        org += f" ({view.instance_url})"
    return {
        "name": view.name,
        "org": org,
        "user": view.username,
        "integrations": ", ".join(f"{name} ({status})" for name, status in view.integrations) or "none",
        "uses": view.uses,
        "token": str(view.token_state),
        "api": str(view.api_usage) if view.api_usage is not None else "no run yet",
        "state": "connected"
        if view.disconnected_at is None
        else f"disconnected {view.disconnected_at:%Y-%m-%d %H:%M} UTC",
    }


def change_rows(changes: list[Change]) -> list[dict[str, str]]:
    """The change log's rows (keyed as :data:`CHANGE_COLUMNS`), newest first as given."""
    rows = []
    for change in changes:
        what = str(change.action)
        if change.old and change.new:
            what += f": {change.old} → {change.new}"
        elif change.old or change.new:
            what += f": {change.new or change.old}"
        rows.append(
            {
                "at": f"{change.at:%Y-%m-%d %H:%M:%S}",
                "actor": change.actor,
                "via": change.via,
                "subject": change.subject,
                "what": what,
            }
        )
    return rows


class ConnectionsPage(AppPage):
    """Every Salesforce connection, with check sign-in / reconnect / disconnect and its change log.

    Args:
        tk: the toolkit (default: ``Toolkit()`` on ``$TOOLKIT_STATE_DIR``).
        viewer: read-only, for stakeholders (default: :func:`~toolkit.ui.common.viewer_mode`).

    Attributes:
        viewer: whether the page is read-only.
        selected: the connection the buttons act on (linked to the drop-down).
        authorize_url: the login page's URL of a reconnection in progress (empty when none).
        message: what the last action did, or why not.
        tk: the toolkit; absent when it could not be opened (``message`` then says why).
    """

    selected = traitlets.Unicode("", allow_none=True)
    authorize_url = traitlets.Unicode("")

    def __init__(self, tk: Toolkit | None = None, *, viewer: bool | None = None, **kwargs: Any) -> None:
        super().__init__(
            tk, viewer=viewer, css_class="toolkit-connections-page", via="connections page", **kwargs
        )
        self._sign_in: BrowserSignIn | None = None
        self._lock = threading.Lock()
        if not self.opened:
            return
        self.table = widgets.HTML()
        self.table.add_class("toolkit-connections-table")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.changes = widgets.HTML()
        self.changes.add_class("toolkit-connection-changes")
        self.changes_title = widgets.HTML("<h3 style='margin:14px 0 4px'>Recent changes</h3>")
        self.choice = widgets.Dropdown(description="Connection", options=[])
        widgets.link((self.choice, "value"), (self, "selected"))
        self.check_button = widgets.Button(description="Check sign-in", icon="check")
        self.reconnect_button = widgets.Button(
            description="Reconnect", icon="sign-in", button_style="primary"
        )
        self.disconnect_button = widgets.Button(
            description="Disconnect", icon="unlink", button_style="warning"
        )
        self.check_button.on_click(lambda _: self.check())
        self.reconnect_button.on_click(lambda _: self.reconnect())
        self.disconnect_button.on_click(lambda _: self.disconnect())
        self.confirm_text = widgets.HTML()
        self.confirm_button = widgets.Button(description="Confirm disconnect", button_style="danger")
        self.cancel_button = widgets.Button(description="Cancel")
        self.confirm_button.on_click(lambda _: self.confirm_disconnect())
        self.cancel_button.on_click(lambda _: self._disarm("Nothing was disconnected."))
        self.confirm_box = widgets.VBox(
            [self.confirm_text, widgets.HBox([self.confirm_button, self.cancel_button])]
        )
        self.confirm_box.add_class("toolkit-confirm-disconnect")
        self.confirm_box.layout.display = "none"
        self._armed: str | None = None
        self.login_link = widgets.HTML()
        self.login_link.add_class("toolkit-login-link")
        self.redirect_url = widgets.Text(
            description="Redirect URL",
            style={"description_width": "8em"},
            layout=widgets.Layout(width="40em"),
            placeholder="only if the page after login did not say “Signed in”",
        )
        self.finish = widgets.Button(description="Finish sign-in")
        self.finish.on_click(lambda _: self.complete(self.redirect_url.value))
        self.paste_box = widgets.HBox([self.redirect_url, self.finish])
        self.paste_box.layout.display = "none"
        self.observe(lambda _: self._on_selection(), names="selected")
        if self.viewer:
            self.children = [
                widgets.HTML(
                    "<p class='toolkit-read-only' style='color:#555;margin:4px 0'>Read-only view: "
                    "the Salesforce connections and their changes.</p>"
                ),
                self.table,
                self.refresh_button,
                self.changes_title,
                self.changes,
                self.message,
            ]
        else:
            self.children = [
                self.table,
                self.refresh_button,
                widgets.HTML("<h3 style='margin:14px 0 4px'>Act on one connection</h3>"),
                self.choice,
                widgets.HBox([self.check_button, self.reconnect_button, self.disconnect_button]),
                self.confirm_box,
                self.login_link,
                self.paste_box,
                self.message,
                self.changes_title,
                self.changes,
            ]
        self.refresh()

    # -- what is shown -----------------------------------------------------------------------------

    def rows(self) -> list[ConnectionRow]:
        """One dict per connection, keyed as :data:`COLUMNS`."""
        return [connection_row(view) for view in self.tk.connections()]

    def refresh(self) -> None:
        """Reload the table, the drop-down and the changes (from any thread: the store gives each its
        own database connection)."""
        rows = guarded(self.message, self.rows)
        if rows is None:
            return
        self.table.value = html_table(
            rows,
            COLUMNS,
            css_class="toolkit-connections",
            empty="No Salesforce connection yet."
            if self.viewer
            else "No Salesforce connection yet: connect one with the setup wizard.",
        )
        current = self.choice.value
        names = [r["name"] for r in rows]
        self.choice.options = names
        if names:  # keep the choice; else the first connection (a drop-down never shows empty)
            self.choice.value = current if current in names else names[0]
        for button in (self.check_button, self.reconnect_button, self.disconnect_button):
            button.disabled = not names or self.viewer
        self._show_changes(names)

    def _show_changes(self, names: list[str]) -> None:
        if self.viewer:  # every connection's
            shown = names
            title = "Recent changes of the connections"
        else:
            shown = [self.selected] if self.selected in names else []
            title = f"Recent changes of “{html.escape(self.selected or '')}”" if shown else "Recent changes"
        changes: list[Change] = []

        def read() -> None:
            for name in shown:
                changes.extend(self.tk.connection_changes(name))

        guarded(self.message, read)
        changes.sort(key=lambda c: (c.at, c.id), reverse=True)
        self.changes_title.value = f"<h3 style='margin:14px 0 4px'>{title}</h3>"
        self.changes.value = html_table(
            change_rows(changes[:50]),
            CHANGE_COLUMNS,
            css_class="toolkit-changes",
            empty="No change recorded.",
        )

    def _on_selection(self) -> None:
        self._disarm("")
        if self.choice.options:
            self._show_changes(list(self.choice.options))

    def _read_only(self) -> bool:
        if self.viewer:
            self.message.say("This page is read-only.", "warn")
        return self.viewer

    def _chosen(self) -> str | None:
        if self._read_only():
            return None
        if not self.selected:
            self.message.say("Choose a connection first.", "warn")
            return None
        return self.selected

    # -- check -------------------------------------------------------------------------------------

    def check(self) -> None:
        """Sign in once through the selected connection and say whether its token is valid."""
        name = self._chosen()
        if name is None:
            return
        self._disarm("")
        state = guarded(self.message, lambda: self.tk.check_connection(name))
        if state is None:
            return
        text, level = _CHECKED.get(state, ("“{name}”: {state}.", "info"))
        self.refresh()
        self.message.say(text.format(name=name, state=state), level)

    # -- disconnect --------------------------------------------------------------------------------

    def disconnect(self) -> None:
        """First click: say what disconnecting does and ask for a confirmation (refused at once
        while an integration that runs by itself uses the connection)."""
        name = self._chosen()
        if name is None:
            return
        self._disarm("")
        conn = guarded(self.message, lambda: self.tk.store.get_connection(name))
        blockers = guarded(self.message, lambda: self.tk.disconnect_blockers(name))
        if conn is None or blockers is None:
            return
        if not conn.connected:
            self.message.say(f"“{name}” is disconnected already: reconnect it to use it again.", "warn")
            return
        if blockers:
            named = ", ".join(f"“{n}” ({status})" for n, status in blockers)
            self.message.say(
                f"“{name}” cannot be disconnected while {'it is' if len(blockers) == 1 else 'they are'} "
                f"used by {named}. Pause or deactivate "
                f"{'that integration' if len(blockers) == 1 else 'those integrations'} first "
                "(the integrations page).",
                "error",
            )
            return
        using = [v for v in self.tk.connections() if v.name == name]
        users = ", ".join(f"“{n}”" for n, _ in using[0].integrations) if using else ""
        self.confirm_text.value = (
            f"<p style='margin:4px 0'><b>Disconnect “{html.escape(name)}”?</b> Its token is revoked at "
            "Salesforce and its secrets are removed from this toolkit"
            + (
                f"; {html.escape(users)} cannot be activated or resumed until it is reconnected"
                if users
                else ""
            )
            + ".</p>"
        )
        self.confirm_box.layout.display = None
        self._armed = name
        self.message.say("Press “Confirm disconnect” to go on, or “Cancel”.", "warn")

    def confirm_disconnect(self) -> None:
        """Second click: disconnect the connection the first click was about."""
        name = self._armed
        if self._read_only():
            return
        if name is None:
            self.message.say("Press “Disconnect” first.", "warn")
            return
        self._disarm("")
        confirmed = guarded(self.message, lambda: self._disconnect(name))
        if confirmed is None:
            self.refresh()
            return
        revoked = confirmed[0]
        if revoked is True:
            text, level = f"Disconnected “{name}”: Salesforce revoked its token.", "ok"
        elif revoked is False:
            text, level = (
                f"Disconnected “{name}”, but Salesforce did not confirm the revocation: its tokens "
                "expire by themselves. Its secrets are removed.",
                "warn",
            )
        else:
            text, level = f"Disconnected “{name}”: its secrets are removed (no token was live).", "ok"
        self.refresh()
        self.message.say(text, level)

    def _disconnect(self, name: str) -> tuple[bool | None]:
        return (self.tk.disconnect(name),)  # a 1-tuple: "None" (nothing to revoke) is not a failure

    def _disarm(self, text: str) -> None:
        self._armed = None
        if hasattr(self, "confirm_box"):
            self.confirm_box.layout.display = "none"
        if text:
            self.message.say(text, "info")

    # -- reconnect ---------------------------------------------------------------------------------

    def reconnect(self) -> None:
        """Start a new sign-in for the selected connection: show the login page's link and wait."""
        name = self._chosen()
        if name is None:
            return
        self._disarm("")
        self._drop_sign_in()
        sign_in = guarded(
            self.message,
            lambda: self.tk.start_reconnect(name, on_done=lambda outcome: self._reconnected(name, outcome)),
        )
        if sign_in is None:
            return
        with self._lock:
            self._sign_in = sign_in
        if not sign_in.waiting:  # concluded already (it cannot, short of a listener failing at once)
            return
        self.authorize_url = sign_in.authorize_url
        self.login_link.value = (
            f'<p><a href="{html.escape(sign_in.authorize_url)}" target="_blank" rel="noopener" '
            f'style="{_LINK_STYLE}">Open the Salesforce login page</a></p>'
        )
        self.paste_box.layout.display = None
        self.message.say(
            f"Sign in as the user of “{name}” on the Salesforce page that opens. This completes by "
            "itself when you are back; if it does not, paste the address of the page you landed on below.",
            "info",
        )

    def complete(self, redirect_url: str) -> None:
        """Finish a reconnection with the redirect URL pasted from the browser's address bar."""
        sign_in = self._sign_in
        if sign_in is None:
            self.message.say("Press “Reconnect” first.", "warn")
            return
        if not redirect_url.strip():
            self.message.say("Paste the full address of the page the login redirected you to.", "warn")
            return
        try:
            sign_in.complete(redirect_url)
        except AuthError as exc:  # not this sign-in's URL: keep waiting for the right one
            self.message.say(friendly_error(exc), "error")

    def _reconnected(self, name: str, outcome: Connection | Exception) -> None:
        """The sign-in came back (maybe in the listener's thread): say how it went, reload."""
        with self._lock:
            self._sign_in = None
        self.paste_box.layout.display = "none"
        self.login_link.value = ""
        self.authorize_url = ""
        if isinstance(outcome, Exception):
            if not isinstance(outcome, (ToolkitError, ValueError)):
                log.warning("reconnecting %r failed", name, exc_info=outcome)
            self.message.say(friendly_error(outcome), "error")
            return
        try:  # this may run in the listener's thread (the store has a connection for it)
            self.refresh()
        except Exception:
            log.warning("could not reload the connections page", exc_info=True)
        self.message.say(
            f"Reconnected “{name}” as {outcome.username}. The integrations using it can be "
            "activated or resumed again.",
            "ok",
        )

    def _drop_sign_in(self) -> None:
        with self._lock:
            sign_in, self._sign_in = self._sign_in, None
        if sign_in is not None:
            sign_in.cancel()
        self.paste_box.layout.display = "none"
        self.login_link.value = ""
        self.authorize_url = ""

    @property
    def waiting(self) -> bool:
        """A reconnection was started and has not come back yet."""
        return self._sign_in is not None

    def close(self) -> None:
        """Stop a sign-in in progress, then close the widget."""
        self._drop_sign_in()
        super().close()
