"""Deletions held by the mass-delete guard (B6), headless: the integrations page, the dashboard, the CLI.

A sandbox of 40 Contacts, synced; the guard lowered to 2 records; 3 Contacts deleted in
Salesforce and 3 others deleted in Brevo; a full run holds the 6 deletions (status
``blocked``). Each surface shows them and confirms them for real over HTTPS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.sync import Env, setup_integration
from toolkit.cli import main
from toolkit.ui import IntegrationsPage, QuotaDashboard

NAME = "contacts"


@dataclass
class Held:
    """The environment with 6 held deletions, and which records they are."""

    env: Env
    list_id: int
    in_sf: list[str]  # deleted in Salesforce: waiting to be taken off the Brevo list
    in_brevo: list[str]  # deleted in Brevo: waiting to be deleted in Salesforce
    linked: int  # links before the deletions


@pytest.fixture
def held(env_factory: Any) -> Held:
    env = env_factory(contacts=40, seed=12)
    list_id = setup_integration(env.tk, NAME)
    assert env.tk.run(NAME).status == "succeeded"
    env.tk.store.update_integration(NAME, mass_delete_min=2)  # 3 of 40: above 5% and above 2 records
    with_case = {c["ContactId"] for c in env.sandbox.salesforce.records("Case")}  # Y10: those stay
    free = [link.sf_id for link in env.tk.links(NAME) if link.sf_id not in with_case]
    in_sf, in_brevo = free[:3], free[3:6]
    linked = len(env.tk.links(NAME))
    assert all(r["success"] for r in env.sandbox.salesforce.delete_many(in_sf))
    for sf_id in in_brevo:
        assert env.tk.brevo().delete_contact(sf_id, "ext_id")
    blocked = env.tk.run(NAME, full=True)  # a full run also diffs the list's members (Brevo deletions)
    assert blocked.status == "blocked" and blocked.counts["blocked_deletes"] == 6, blocked
    assert {link.sf_id: link.state for link in env.tk.held_deletions(NAME)} == {
        **dict.fromkeys(in_sf, "held_delete"),
        **dict.fromkeys(in_brevo, "held_brevo_delete"),
    }
    return Held(env, list_id, in_sf, in_brevo, linked)


def assert_carried_out(h: Held) -> None:
    """The 6 deletions were made: links gone, records off the list / deleted in Salesforce."""
    tk = h.env.tk
    assert tk.held_deletions(NAME) == [] and len(tk.links(NAME)) == h.linked - 6
    assert all(h.list_id not in (h.env.brevo_contact(i) or {}).get("listIds", []) for i in h.in_sf)
    assert all((h.env.sandbox.salesforce.get("Contact", i) or {}).get("IsDeleted") for i in h.in_brevo)


def test_b6_integrations_page_shows_held_deletions_and_confirms_them(held: Held) -> None:
    tk = held.env.tk
    tk.create_integration("draft", "Lead")  # nothing held: no row, no button
    page = IntegrationsPage(tk)
    rows = {r["name"]: r for r in page.rows()}
    assert rows["contacts"]["held_deletions"] == "6 (deleted in Salesforce, deleted in Brevo)"
    assert rows["draft"]["held_deletions"] == ""
    assert ">Held deletions<" in page.table.value
    assert ">6 (deleted in Salesforce, deleted in Brevo)<" in page.table.value
    assert page.held.held == {"contacts": {"held_delete": 3, "held_brevo_delete": 3}}
    assert page.held.layout.display is None and page.held_title.layout.display is None
    assert list(page.held.buttons) == ["contacts"]
    button = page.held.buttons["contacts"]
    assert button.description == "Confirm 6 deletions" and button.button_style == "danger"
    shown = " ".join(
        getattr(w, "value", "") for box in page.held.children for w in getattr(box, "children", [box])
    )
    assert "3 deleted in Salesforce (to be taken off the Brevo list)" in shown
    assert "3 deleted in Brevo (to be deleted in Salesforce)" in shown
    assert all(sf_id in shown for sf_id in held.in_sf[:3] + held.in_brevo[:2])  # the first 5, to check
    assert "and 1 more" in shown

    page.choice.value = "contacts"  # a run from the page is blocked again, and says how to confirm
    page.dry_run.value = False
    page.run_button.click()
    assert page.last_result is not None and page.last_result.status == "blocked"
    assert page.message.level == "warn"
    assert "blocked" in page.message.text and "Confirm button" in page.message.text
    assert len(tk.held_deletions(NAME)) == 6

    runs = len(tk.store.list_runs(tk.store.get_integration(NAME).id))
    button.click()  # Confirm: a real run with confirm_deletes, then the page reloads
    result = page.held.last_result
    assert result is not None and result is page.last_result and result.status == "succeeded"
    assert result.counts["to_brevo.delete"] == 3 and result.counts["to_salesforce.delete"] == 3
    assert len(tk.store.list_runs(tk.store.get_integration(NAME).id)) == runs + 1
    assert_carried_out(held)
    assert page.held.message.level == "ok"
    assert "3 record(s) taken off the Brevo list, 3 deleted in Salesforce" in page.held.message.text
    assert "removed from the Brevo list" in page.result.value and "deleted in Salesforce" in page.result.value
    assert page.held.held == {} and page.held.buttons == {}
    assert {r["name"]: r for r in page.rows()}["contacts"]["held_deletions"] == ""
    assert "No deletion is waiting" in page.held.children[0].value  # said once, with what was done


def test_b6_dashboard_lists_integrations_with_held_deletions_and_confirms(held: Held) -> None:
    tk = held.env.tk
    board = QuotaDashboard(tk)
    assert board.held.held == {"contacts": {"held_delete": 3, "held_brevo_delete": 3}}
    assert board.held in board.children and board.held.layout.display is None
    assert board.held.buttons["contacts"].description == "Confirm 6 deletions"
    assert board.status is not None
    used = board.status.used
    board.held.buttons["contacts"].click()
    assert_carried_out(held)
    result = board.held.last_result
    assert result is not None and result.ok and result.tasks == 6
    assert board.status.used == used + 6  # the dashboard reloaded: the confirmation's tasks count
    assert f">{result.run_id}<" in board.runs_html.value
    assert (
        board.held.held == {} and "No deletion is waiting for a confirmation" in board.held.children[0].value
    )
    assert "succeeded" in board.held.message.text and board.held.message in board.held.children


def test_b6_cli_show_and_list_name_the_held_deletions(
    held: Held, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOOLKIT_STATE_DIR", str(held.env.tk.settings.state_dir))
    monkeypatch.setenv(
        "TOOLKIT_STATE_URL", held.env.tk.settings.state_url
    )  # PostgreSQL: TOOLKIT_TEST_BACKEND

    def show() -> dict[str, Any]:
        assert main(["integrations", "show", NAME]) == 0
        return json.loads(capsys.readouterr().out)

    info = show()
    assert info["default_region"] == "DE"  # the sandbox org's country (Organization)
    assert info["mass_delete_min"] == 2 and info["mass_delete_share"] == pytest.approx(0.05)
    assert info["links"] == held.linked
    assert info["links_by_state"] == {"active": held.linked - 6, "held_delete": 3, "held_brevo_delete": 3}
    assert info["held_deletions"] == {
        "total": 6,
        "by_state": {"held_delete": 3, "held_brevo_delete": 3},
        "sf_ids": sorted(held.in_sf) + sorted(held.in_brevo),
        "confirm": "toolkit sync contacts --confirm-deletes",
    }
    assert info["last_run"]["status"] == "blocked"

    assert main(["integrations", "list"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split("  ")[-1].strip() == "HELD DELETIONS" and row.split()[-1] == "6"

    assert held.env.tk.confirm_deletions(NAME).ok
    info = show()
    assert info["held_deletions"] == {"total": 0, "by_state": {}, "sf_ids": [], "confirm": None}
    assert info["links"] == held.linked - 6 and info["links_by_state"] == {"active": held.linked - 6}
    assert main(["integrations", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[-1] == "0"
