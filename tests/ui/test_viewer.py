"""The pages for stakeholders (``TOOLKIT_ROLE=viewer``), headless: everything shown, nothing to act on.

A sandbox of 40 Contacts, synced, with 3 deletions held by the mass-delete guard (B6): the
integrations page and the dashboard show them to a viewer without a Confirm button, show no
Run / Activate / Deactivate button and no editable schedule, and refuse an action that reaches
the kernel anyway.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.sync import Env, setup_integration
from tests.support.ui import editable, held_deletions, shown_buttons
from toolkit.store import RunStatus, RunTrigger
from toolkit.ui import IntegrationsPage, QuotaDashboard
from toolkit.ui.common import ROLE_ENV, viewer_mode
from toolkit.ui.held import HeldDeletions

NAME = "contacts"
ACTIONS = {"Run now", "Activate", "Deactivate", "Save schedule", "Confirm 3 deletions"}


@pytest.fixture
def held(env_factory: Any) -> Env:
    env = env_factory(contacts=40, seed=12)
    assert held_deletions(env, NAME) == 3
    return env


@pytest.mark.parametrize(
    ("environ", "viewer"),
    [
        ({}, False),
        ({ROLE_ENV: "viewer"}, True),
        ({ROLE_ENV: " Viewer\n"}, True),
        ({ROLE_ENV: "editor"}, False),
        ({ROLE_ENV: ""}, False),
    ],
)
def test_viewer_mode_reads_toolkit_role(environ: dict[str, str], viewer: bool) -> None:
    assert viewer_mode(environ) is viewer


def test_an_editor_sees_every_action(held: Env) -> None:
    page = IntegrationsPage(held.tk, viewer=False)
    assert not page.viewer and shown_buttons(page) >= ACTIONS
    assert page.schedule in editable(page) and page.dry_run in editable(page)
    assert set(QuotaDashboard(held.tk, viewer=False).held.buttons) == {NAME}


def test_the_integrations_page_for_a_viewer_shows_everything_and_offers_no_action(
    held: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    tk = held.tk
    monkeypatch.setenv(ROLE_ENV, "viewer")  # as a Voilà kernel of running_voila(viewer=True) has it
    page = IntegrationsPage(tk)
    assert page.viewer and "toolkit-viewer" in page._dom_classes
    row = {r["name"]: r for r in page.rows()}[NAME]
    assert row["status"].startswith("active") and row["schedule"] == "every 15 minutes"
    assert row["last_run"].startswith("blocked, ") and row["trigger"] == "manual"
    assert NAME in page.table.value and "every 15 minutes" in page.table.value
    assert "3 (deleted in Salesforce)" in page.table.value
    assert "3 deleted in Salesforce" in page.held.children[1].value  # listed, with examples
    assert shown_buttons(page) == {"Refresh"}  # no Run, Activate, Deactivate, Confirm, Save schedule
    assert editable(page) == [] and page.held.buttons == {}
    assert "setup wizard" not in page.table.value and "setup_wizard" not in repr(page.children)

    page.run_now()  # a click that reached the kernel anyway changes nothing
    page.set_active(False)
    page.schedule.value = "every 2 hours"
    page.save_schedule()
    assert page.held.confirm(NAME) is None
    integ = tk.store.get_integration(NAME)
    assert (integ.status, integ.schedule) == ("active", "every 15 minutes")
    assert [r.status for r in tk.store.list_runs(integ.id)] == ["blocked", "succeeded"]
    assert len(tk.held_deletions(NAME)) == 3
    assert page.message.text == "This page is read-only."
    page.refresh_button.click()  # reading stays possible
    assert NAME in page.table.value


def test_the_dashboard_for_a_viewer_has_no_confirm_button(held: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ROLE_ENV, "viewer")
    board = QuotaDashboard(held.tk)
    assert board.viewer and board.held.viewer and board.held.buttons == {}
    assert "3 deleted in Salesforce" in board.held.children[1].value
    assert not any(label.startswith("Confirm") for label in shown_buttons(board))
    assert shown_buttons(board) <= {"Refresh", "Prepare the CSV download", "Open", "Resolved", "All"}
    assert editable(board) == []
    assert board.status is not None and board.status.used > 0  # the figures are all there
    assert NAME in board.runs_html.value and "Download these" in board.download.value


def test_held_deletions_follow_the_role_of_the_environment(
    held: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert set(HeldDeletions(held.tk).buttons) == {NAME}
    monkeypatch.setenv(ROLE_ENV, "viewer")
    box = HeldDeletions(held.tk)
    assert box.viewer and box.buttons == {} and box.confirm(NAME) is None
    assert "read-only" in box.message.text and len(held.tk.held_deletions(NAME)) == 3


def test_a_failed_scheduled_run_shows_with_what_started_it(env_factory: Any) -> None:
    env = env_factory(contacts=10, seed=3)
    setup_integration(env.tk, NAME)
    store = env.tk.store
    run = store.start_run(store.get_integration(NAME).id, trigger=RunTrigger.SCHEDULE)
    store.finish_run(run.id, RunStatus.FAILED, counts={}, error="Brevo answered 503")
    for viewer in (True, False):
        row = {r["name"]: r for r in IntegrationsPage(env.tk, viewer=viewer).rows()}[NAME]
        assert row["last_run"].startswith("failed, ") and row["trigger"] == "schedule"
        assert row["last_run"].endswith(" UTC: Brevo answered 503")
    page = IntegrationsPage(env.tk, viewer=True)
    assert ">failed, " in page.table.value and ">schedule<" in page.table.value
