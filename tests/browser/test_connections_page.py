"""The connections page (issue 15) in Debian's Chromium, against Voilà served for real.

A state of its own (the shared one's connection serves the other browser tests): the demo's
shape with a person's connection, ``sandbox``, made through the sandbox's login page (so that it
holds a refresh token), used by the active integration ``demo-contacts``. The page lists it with
"1 of 5"; Disconnect is refused while the integration is active, naming it; once it is paused
(from Python), Disconnect and its confirmation disconnect it, the page says so, and the tokens
read from the credential store beforehand no longer work at the sandbox: the refresh token gets
``invalid_grant``, the access token 401. Then Reconnect, through the sandbox's login page in a
second tab: the sign-in is valid again and the integration resumes and runs. The screenshot
``docs/screenshots/connections.png`` is refreshed with TOOLKIT_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import ROOT, Served, open_login_tab
from tests.support.connections import activate_contacts, connect_person, limits_call
from tests.support.sync import make_env
from toolkit.apps import running_voila
from toolkit.cli.demo import write_state_config
from toolkit.exceptions import AuthError
from toolkit.salesforce import TokenSet, auth, make_session
from toolkit.sandbox.salesforce.oauth import INVALID_SESSION_BODY

SHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("TOOLKIT_UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "toolkit-browser-screenshots"
)
OTHER_SHOTS = Path(tempfile.gettempdir()) / "toolkit-browser-screenshots"
NAME, INTEGRATION = "sandbox", "demo-contacts"


def button(page: Any, name: str) -> Any:
    return page.get_by_role("button", name=re.compile(rf"^\W*{re.escape(name)}$"))  # icons come first


@pytest.fixture(scope="module")
def person_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A sandbox, a state with the person's connection and one active, synced integration, and Voilà on it."""
    voila = shutil.which("voila", path=str(Path(sys.executable).parent))
    if voila is None:
        pytest.skip("voila is not installed (pip install -e '.[test]')")
    tmp = tmp_path_factory.mktemp("connections")
    sandbox, tk = make_env(tmp, contacts=20, seed=15)
    try:
        sf = sandbox.info["salesforce"]
        write_state_config(sandbox.info, tk.settings.state_dir)
        connect_person(tk, sf, NAME)
        tk.store.delete_connection("sandbox-org")  # make_env's: one connection, as in the demo
        activate_contacts(tk, INTEGRATION, NAME)
        assert tk.run(INTEGRATION).status == "succeeded"
        with (
            (tmp / "voila.log").open("wb") as log,
            running_voila(tk.settings.state_dir, voila=voila, cwd=tmp, log=log, timeout=60) as server,
        ):
            yield Served(sandbox, tk, server, tmp / "voila.log")
    finally:
        tk.close()
        sandbox.stop()


def rest_call(served: Served, tokens: TokenSet) -> requests.Response:
    return limits_call(served.sandbox.info["salesforce"], served.tk.settings.salesforce_api_version, tokens)


def test_disconnect_is_refused_while_in_use_then_accepted_and_the_token_is_dead_then_reconnect(
    page: Any, person_served: Served
) -> None:
    served, tk = person_served, person_served.tk
    sf = served.sandbox.info["salesforce"]
    page.goto(served.app("connections.ipynb"))
    table = page.locator(".toolkit-connections-table")
    expect(table).to_contain_text(NAME, timeout=60_000)
    expect(table).to_contain_text("1 of 5")
    expect(table).to_contain_text(f"{INTEGRATION} (active)")
    expect(table).to_contain_text(sf["username"])
    expect(table).to_contain_text("not checked")
    message = page.locator(".toolkit-connections-page .toolkit-message")

    button(page, "Check sign-in").click()
    expect(message).to_contain_text("its token is valid")
    expect(table).to_contain_text("valid")

    # The tokens as they are before: the stored refresh token, and an access token issued from it.
    refresh_token = tk.credentials.get("salesforce", NAME, "refresh_token")
    session = make_session(sf["ca_bundle"])
    access = auth.refresh(sf["login_url"], sf["client_id"], refresh_token, session=session)
    assert rest_call(served, access).status_code == 200

    # Refused while the integration is active: the message names it.
    button(page, "Disconnect").click()
    expect(message).to_contain_text(f"cannot be disconnected while it is used by “{INTEGRATION}” (active)")
    expect(button(page, "Confirm disconnect")).to_be_hidden()
    OTHER_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OTHER_SHOTS / "connections-refused.png"), full_page=True)
    assert tk.store.get_connection(NAME).connected

    # Paused from Python: now the disconnection is asked for a confirmation, then done.
    tk.store.pause(INTEGRATION)
    button(page, "Disconnect").click()
    expect(page.locator(".toolkit-confirm-disconnect")).to_contain_text(f"Disconnect “{NAME}”?")
    button(page, "Confirm disconnect").click()
    expect(message).to_contain_text(f"Disconnected “{NAME}”: Salesforce revoked its token.", timeout=30_000)
    expect(table).to_contain_text("disconnected 20")
    changes = page.locator(".toolkit-connection-changes")
    expect(changes).to_contain_text("disconnected")
    assert not tk.store.get_connection(NAME).connected

    # The old tokens no longer work at the sandbox.
    with pytest.raises(AuthError) as refused:
        auth.refresh(sf["login_url"], sf["client_id"], refresh_token, session=session)
    assert refused.value.code == "invalid_grant"
    session.close()
    gone = rest_call(served, access)
    assert gone.status_code == 401 and gone.json() == INVALID_SESSION_BODY

    # Reconnect through the sandbox's login page in a second tab.
    button(page, "Reconnect").click()
    link = page.get_by_role("link", name="Open the Salesforce login page")
    expect(link).to_be_visible()
    login = open_login_tab(page, link, sf)
    login.locator("#Login").click()
    expect(login.locator("body")).to_contain_text("Signed in", timeout=30_000)
    login.close()
    expect(message).to_contain_text(f"Reconnected “{NAME}” as {sf['username']}", timeout=30_000)
    expect(table).not_to_contain_text("disconnected 20")
    expect(changes).to_contain_text("reconnected")
    button(page, "Check sign-in").click()
    expect(message).to_contain_text("its token is valid")
    conn = tk.store.get_connection(NAME)
    assert conn.connected and tk.credentials.find("salesforce", NAME, "refresh_token") is not None
    assert tk.credentials.get("salesforce", NAME, "refresh_token") != refresh_token

    tk.store.resume(INTEGRATION)
    assert tk.run(INTEGRATION).status == "succeeded"
    button(page, "Refresh").click()
    expect(table).to_contain_text(f"{INTEGRATION} (active)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.screenshot(path=str(SHOTS / "connections.png"), full_page=True)
