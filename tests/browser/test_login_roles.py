"""The apps' login and the viewer role, in Debian's Chromium against Voilà served for real (issue 14).

Without the apps token every app is refused (Jupyter Server's login page, no app content); with
it, given once in the login page or through ``server.login_url``, each app works. A second Voilà
on the same state serves the read-only apps (``viewer=True``): the integrations page and the
dashboard show no action button and the wizard answers 404. On the editors' integrations page a
schedule typed and saved is stored. The token is neither on Voilà's command line (nor in its
environment or its kernels') nor in its log.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import expect

from tests.support.browser import Served
from tests.support.sync import setup_integration
from toolkit.apps import VIEWER_APPS, VOILA_APPS
from toolkit.store import RunStatus, RunTrigger

APP_CONTENT = {
    "setup_wizard.ipynb": ".toolkit-wizard",
    "integrations.ipynb": ".toolkit-integrations-page",
    "quota_dashboard.ipynb": ".toolkit-dashboard",
    "connections.ipynb": ".toolkit-connections-page",
}
NAME = "login-roles"  # no real run: the other browser tests count this month's tasks
ACTIONS = re.compile(
    r"Run now|Activate|Deactivate|Confirm|Save schedule|Save and activate|Create integration|Edit|Pause|Resume|"
    r"Delete|Disconnect|Reconnect|Check sign-in"
)
SHOT = Path(tempfile.gettempdir()) / "toolkit-viewer-integrations.png"


def integration(served: Served) -> str:
    """An active integration whose last run is a failed scheduled one (made once per session)."""
    tk = served.tk
    if NAME not in {i.name for i in tk.integrations()}:
        setup_integration(tk, NAME)
        run = tk.store.start_run(tk.store.get_integration(NAME).id, trigger=RunTrigger.SCHEDULE)
        tk.store.finish_run(run.id, RunStatus.FAILED, counts={}, error="Brevo answered 503")
    return NAME


def refused(page: Any) -> None:
    """The page is Jupyter Server's login page, with no app content."""
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.locator("#password_input")).to_be_visible()
    for selector in APP_CONTENT.values():
        expect(page.locator(selector)).to_have_count(0)


def test_an_app_without_the_token_is_refused_and_with_it_works(page: Any, served: Served) -> None:
    for app in VOILA_APPS:
        page.goto(served.bare(app))
        refused(page)
        page.goto(served.bare(app) + "?token=not-the-token")
        refused(page)
    assert requests.get(served.bare("integrations.ipynb"), allow_redirects=False, timeout=30).status_code in (
        302,
        403,
    )

    # The token typed into Jupyter's login page, as a person given it does.
    page.goto(served.bare("quota_dashboard.ipynb"))
    token = served.server.token
    assert token
    page.locator("#password_input").fill(token.reveal())
    page.locator("#login_submit").click()
    expect(page.locator(".toolkit-dashboard")).to_be_visible(timeout=60_000)
    assert "token" not in page.url

    # With the login URL, every app opens; the app's own URL carries no token.
    for app, selector in APP_CONTENT.items():
        page.goto(served.app(app))
        expect(page.locator(selector)).to_be_visible(timeout=60_000)
        assert page.url == served.bare(app)


def test_the_viewer_apps_show_no_action_and_refuse_the_wizard(
    page: Any, served: Served, viewer_served: Served
) -> None:
    name = integration(viewer_served)
    assert viewer_served.server.viewer and viewer_served.server.apps == VIEWER_APPS
    page.goto(viewer_served.bare("integrations.ipynb"))
    refused(page)  # viewers log in too
    team = served.server.token
    assert team is not None and viewer_served.server.token != team  # with a token of their own
    page.goto(viewer_served.bare("integrations.ipynb") + f"?token={team.reveal()}")
    refused(page)  # the team's token opens only the full apps

    wizard = viewer_served.server.login_url("setup_wizard.ipynb")
    answer = page.goto(wizard)
    assert answer is not None and answer.status in (403, 404)
    expect(page.locator(".toolkit-wizard")).to_have_count(0)
    tree = page.goto(viewer_served.url + "/")  # Voilà's list of notebooks names no wizard
    assert tree is not None and tree.ok
    expect(page.locator("body")).not_to_contain_text("setup_wizard")

    page.goto(viewer_served.app("integrations.ipynb"))
    table = page.locator(".toolkit-integrations-table")
    expect(table).to_contain_text(name, timeout=60_000)
    expect(table).to_contain_text("every 15 minutes")
    expect(table).to_contain_text("Brevo answered 503")  # the failed scheduled run shows
    expect(table.locator("td", has_text=re.compile("^schedule$"))).to_have_count(1)
    expect(page.locator(".toolkit-read-only")).to_be_visible()
    expect(page.get_by_role("button", name=ACTIONS)).to_have_count(0)
    expect(page.get_by_role("button")).to_have_count(1)  # Refresh
    expect(page.locator(".toolkit-integrations-page input, .toolkit-integrations-page select")).to_have_count(
        0
    )
    expect(page.get_by_role("link", name=re.compile("wizard", re.I))).to_have_count(0)
    page.screenshot(path=str(SHOT), full_page=True)

    page.goto(viewer_served.app("quota_dashboard.ipynb"))
    expect(page.locator(".toolkit-dashboard")).to_be_visible(timeout=60_000)
    expect(page.locator(".toolkit-quota")).to_contain_text("tasks used")
    expect(page.locator(".toolkit-recent-runs")).to_contain_text(name)
    expect(page.get_by_role("button", name=ACTIONS)).to_have_count(0)
    expect(page.locator(".toolkit-confirm-deletions")).to_have_count(0)


def test_the_schedule_edited_on_the_integrations_page_is_saved(page: Any, served: Served) -> None:
    name = integration(served)
    page.goto(served.app("integrations.ipynb"))
    expect(page.locator(".toolkit-integrations-table")).to_contain_text(name, timeout=60_000)
    page.get_by_label("Integration").select_option(name)
    schedule = page.get_by_label("Schedule")
    expect(schedule).to_have_value("every 15 minutes")
    said = page.locator(".toolkit-schedule-message")

    schedule.fill("every now and then")
    page.get_by_role("button", name=re.compile(r"Save schedule$")).click()
    expect(said).to_contain_text("write an interval")
    assert served.tk.store.get_integration(name).schedule == "every 15 minutes"

    schedule.fill("0 6 * * MON-FRI")
    page.get_by_role("button", name=re.compile(r"Save schedule$")).click()
    expect(said).to_contain_text("runs 0 6 * * mon-fri")
    expect(schedule).to_have_value("0 6 * * mon-fri")
    expect(page.locator(".toolkit-integrations-table")).to_contain_text("0 6 * * mon-fri")
    assert served.tk.store.get_integration(name).schedule == "0 6 * * mon-fri"
    served.tk.store.update_integration(name, schedule="every 15 minutes")  # as the viewer test expects


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (Voilà and its kernels)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def test_the_token_is_neither_on_voilas_command_line_nor_in_its_log(page: Any, served: Served) -> None:
    token = served.server.token
    assert token and served.log is not None
    secret = token.reveal().encode()
    page.goto(served.app("integrations.ipynb"))  # a kernel runs: it is looked at too
    expect(page.locator(".toolkit-integrations-page")).to_be_visible(timeout=60_000)
    # Requests that Voilà logs as warnings, their URLs with the token or a wrong one in them.
    bad = requests.get(f"{served.url}/voila/render/missing.ipynb?token={token.reveal()}", timeout=30)
    assert bad.status_code == 404
    requests.get(f"{served.url}/voila/render/missing.ipynb?token=wrong-{token.reveal()}", timeout=30)

    pids = descendants(served.server.proc.pid)
    assert len(pids) >= 2  # Voilà and at least one kernel
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except (FileNotFoundError, ProcessLookupError):  # a kernel culled meanwhile
            continue
        assert secret not in cmdline, f"the token is on the command line of process {pid}"
        assert secret not in environ, f"the token is in the environment of process {pid}"
    assert b"--Voila.token" not in Path(f"/proc/{served.server.proc.pid}/cmdline").read_bytes()

    deadline = time.monotonic() + 10
    while b"missing.ipynb?token=[secret]" not in served.log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = served.log.read_bytes()
    assert b"missing.ipynb?token=[secret]" in log  # the line is there, the token scrubbed out
    assert secret not in log
    # The config file that carried the token is gone once Voilà listens.
    for leftover in Path(tempfile.gettempdir()).glob("toolkit-voila-*/config/*"):
        assert secret not in leftover.read_bytes(), leftover
