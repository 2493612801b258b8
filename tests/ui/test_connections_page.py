"""The connections page (issue 15), headless: built against a sandbox-backed Toolkit, clicked, asserted.

A person's connection (authorization code + PKCE through the sandbox's real login page, a plain
HTTP client playing the browser) used by one active integration: the table shows it with "1 of 5";
"Disconnect" is refused naming the integration, then, once it is paused, asks for a confirmation
and disconnects; "Reconnect" shows the login page's link and completes through the loopback
redirect; every change shows in the page's change log. A viewer sees the table and the changes,
no button that acts.
"""

from __future__ import annotations

import time
from typing import Any

from tests.support.connections import activate_contacts, connect_person, log_in
from tests.support.sync import Env
from tests.support.ui import editable, shown_buttons
from toolkit.connections import TokenState
from toolkit.ui import ConnectionsPage
from toolkit.ui.connections import COLUMNS

NAME, INTEGRATION = "sandbox", "demo-contacts"
ACTIONS = {"Check sign-in", "Reconnect", "Disconnect"}


def person(env: Env) -> Env:
    """The demo's shape with a person's connection: ``sandbox`` (with a refresh token), one active integration."""
    tk = env.tk
    connect_person(tk, env.sandbox.info["salesforce"], NAME)
    tk.store.delete_connection("sandbox-org")  # make_env's own: one connection, as in the demo
    activate_contacts(tk, INTEGRATION, NAME)
    assert tk.run(INTEGRATION).status == "succeeded"
    return env


def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_page_disconnects_only_when_no_integration_runs_and_reconnects_through_the_login_page(
    env_factory: Any,
) -> None:
    env = person(env_factory(contacts=10, seed=31))
    tk = env.tk
    page = ConnectionsPage(tk, viewer=False)
    assert shown_buttons(page) >= ACTIONS and page.selected == NAME
    [row] = page.rows()
    assert set(row) == {key for key, _ in COLUMNS}
    assert row["uses"] == "1 of 5" and row["integrations"] == f"{INTEGRATION} (active)"
    assert row["user"] == env.sandbox.info["salesforce"]["username"] and row["state"] == "connected"
    assert row["token"] == "not checked" and " of " in row["api"]  # B3, from the run
    assert "1 of 5" in page.table.value and "connected" in page.changes.value

    page.check_button.click()
    assert page.message.level == "ok" and "its token is valid" in page.message.text
    assert page.rows()[0]["token"] == TokenState.VALID

    page.disconnect_button.click()  # refused at once, naming the integration
    assert page.message.level == "error" and f"“{INTEGRATION}” (active)" in page.message.text
    assert page.confirm_box.layout.display == "none"
    assert tk.store.get_connection(NAME).connected

    tk.pause(INTEGRATION)
    assert page.rows()[0]["integrations"] == f"{INTEGRATION} (paused)"
    page.disconnect_button.click()  # first click: what it does, and a confirmation to give
    assert page.confirm_box.layout.display is None and "Confirm disconnect" in shown_buttons(page)
    assert f"“{INTEGRATION}” cannot be activated or resumed" in page.confirm_text.value.replace("&quot;", '"')
    assert tk.store.get_connection(NAME).connected
    page.cancel_button.click()
    assert page.confirm_box.layout.display == "none" and tk.store.get_connection(NAME).connected
    page.disconnect_button.click()
    page.confirm_button.click()
    assert page.message.level == "ok", page.message.text
    assert "Salesforce revoked its token" in page.message.text
    row = page.rows()[0]
    assert row["state"].startswith("disconnected") and row["token"] == TokenState.DISCONNECTED
    assert "disconnected" in page.changes.value

    page.reconnect_button.click()
    assert page.waiting and "Open the Salesforce login page" in page.login_link.value
    log_in(env.sandbox.info["salesforce"], page.authorize_url)
    wait_for(lambda: not page.waiting)
    assert page.message.level == "ok", page.message.text
    assert f"Reconnected “{NAME}”" in page.message.text
    row = page.rows()[0]
    assert row["state"] == "connected" and row["token"] == TokenState.VALID
    assert "reconnected" in page.changes.value and tk.store.actor in page.changes.value
    tk.resume(INTEGRATION)
    assert tk.run(INTEGRATION).status == "succeeded"


def test_a_pasted_redirect_url_that_is_not_the_sign_in_s_is_said_and_the_sign_in_waits(
    env_factory: Any,
) -> None:
    env = person(env_factory(seed=32))
    page = ConnectionsPage(env.tk, viewer=False)
    page.reconnect_button.click()
    page.redirect_url.value = "http://127.0.0.1:1/callback?code=x&state=not-this-one"
    page.finish.click()
    assert page.message.level == "error" and "state mismatch" in page.message.text
    assert page.waiting
    page.close()
    assert not page.waiting


def test_a_viewer_sees_the_connections_and_their_changes_and_no_action(env_factory: Any) -> None:
    env = person(env_factory(seed=33))
    page = ConnectionsPage(env.tk, viewer=True)
    assert page.viewer and "toolkit-viewer" in page._dom_classes
    assert not shown_buttons(page) & (ACTIONS | {"Confirm disconnect"})
    assert shown_buttons(page) == {"Refresh"} and editable(page) == []
    assert NAME in page.table.value and "1 of 5" in page.table.value
    assert "connected" in page.changes.value
    page.disconnect()
    page.confirm_disconnect()
    assert page.message.text == "This page is read-only." and env.tk.store.get_connection(NAME).connected
