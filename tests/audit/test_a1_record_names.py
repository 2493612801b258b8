"""A1 (issue 15): a rejected or held record shows its name beside its Id, the Id linking to the
record in Salesforce and, where linked, a link to the contact in Brevo, in the audit report, the
dashboard and the held-deletions view.

Real syncs against the sandbox over HTTPS (tests/support/sync.py): 40 generated Contacts plus
two made here whose phone is refused (a field-level rejection: the record is still synced and
linked), one named with HTML and unicode, one whose only "name" is an e-mail address; then the
mass-delete guard holds deletions (B6).
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.support.sync import Env, setup_integration
from toolkit import audit
from toolkit.audit.reports import CSV_COLUMNS, write_run_report
from toolkit.store import Direction, LinkState, Rejection, Store
from toolkit.ui import QuotaDashboard
from toolkit.ui.audit_view import AuditView
from toolkit.ui.held import HeldDeletions

NAME = "contacts"
FIRST, LAST = "Zoë <b>&amp;", "O'Brien <script>alert(1)</script>"
SHOWN = f"{FIRST} {LAST}"  # the name as Salesforce holds it, escaped wherever it is shown
NO_NAME_EMAIL = "nobody@names.example"


@dataclass
class World:
    env: Env
    named: str  # a rejected Contact with a name full of markup and unicode
    unnamed: str  # a rejected Contact whose LastName is an e-mail address: no name to show
    run_id: int  # the run that rejected them
    org: str  # the connection's instance URL

    def sf_url(self, sf_id: str) -> str:
        return f"{self.org}/{sf_id}"

    def brevo_url(self, sf_id: str) -> str:
        link = self.env.tk.store.links_by_sf_ids(self.env.tk.store.get_integration(NAME).id, [sf_id])[sf_id]
        assert link.brevo_id is not None  # learnt by the second run
        return f"https://app.brevo.com/contact/index/{link.brevo_id}"


@pytest.fixture
def world(env_factory: Any) -> World:
    env: Env = env_factory(contacts=40, seed=12)
    made = env.sandbox.salesforce.create_many(
        "Contact",
        [
            {"FirstName": FIRST, "LastName": LAST, "Email": "zoe.obrien@names.example", "MobilePhone": "12"},
            {"LastName": NO_NAME_EMAIL, "Email": NO_NAME_EMAIL, "MobilePhone": "12"},
        ],
    )
    assert all(r["success"] for r in made), made
    setup_integration(env.tk, NAME)
    first = env.tk.run(NAME)
    assert first.ok, first.message
    assert env.tk.run(NAME).ok  # reads the contacts back from Brevo: their ids are learnt
    org = env.tk.store.get_connection("sandbox-org").instance_url
    assert org and org.startswith("https://")
    return World(env, made[0]["id"], made[1]["id"], first.run_id, org)


def _rows(frame: Any, sf_id: str) -> list[dict[str, Any]]:
    return [r for r in frame.to_dict("records") if r["record_id"] == sf_id]


def test_a1_rejected_contact_has_its_name_and_both_links_in_the_audit_frame(world: World) -> None:
    frame = audit.rejections(world.env.tk.store, integration=NAME)
    [named] = _rows(frame, world.named)
    assert named["record_name"] == SHOWN
    assert named["salesforce_url"] == world.sf_url(world.named)
    assert named["brevo_url"] == world.brevo_url(world.named)
    [unnamed] = _rows(frame, world.unnamed)
    assert pd.isna(unnamed["record_name"])  # its LastName is an e-mail: never shown as a name
    assert unnamed["salesforce_url"] == world.sf_url(world.unnamed)
    # The name is the store's, kept with the rejection.
    stored = world.env.tk.store.report_rejections(run_id=world.run_id)
    assert {r["record_id"]: r["record_name"] for r in stored}[world.named] == SHOWN
    assert all(NO_NAME_EMAIL not in str(r["record_name"]) for r in stored)
    # Another Brevo app (the sandbox's, a proxy) changes the Brevo links only.
    other = audit.rejections(world.env.tk.store, integration=NAME, brevo_app_url="https://brevo.internal/")
    assert _rows(other, world.named)[0]["brevo_url"].startswith("https://brevo.internal/contact/index/")


def test_a1_audit_report_shows_name_and_links_escaped(world: World, tmp_path: Path) -> None:
    paths = write_run_report(world.env.tk.store, world.run_id, tmp_path / "reports")
    page = paths.html.read_text(encoding="utf-8")
    sf_url, brevo = world.sf_url(world.named), world.brevo_url(world.named)
    assert (
        f'{html.escape(SHOWN)} (<a href="{sf_url}" target="_blank" rel="noopener" '
        f'title="Open the record in Salesforce">{world.named}</a>) · <a href="{brevo}" target="_blank" '
        'rel="noopener" title="Open the contact in Brevo">Brevo</a>'
    ) in page
    assert "<script>alert" not in page and "<b>&amp;" not in page
    assert f'<a href="{world.sf_url(world.unnamed)}"' in page  # no name: the Id, still linked
    assert f"{NO_NAME_EMAIL} (" not in page
    rows = list(csv.DictReader(io.StringIO(paths.csv.read_bytes().decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == list(CSV_COLUMNS)
    by_id = {r["record_id"]: r for r in rows}
    assert by_id[world.named]["record_name"] == SHOWN  # plain text in the CSV, no HTML
    assert (by_id[world.named]["salesforce_url"], by_id[world.named]["brevo_url"]) == (sf_url, brevo)
    assert by_id[world.unnamed]["record_name"] == ""
    # The notebook's view (audit_report.ipynb) shows the same.
    view = AuditView.load(world.run_id, tk=world.env.tk)
    tables = view.tables().data
    assert f'{html.escape(SHOWN)} (<a href="{sf_url}"' in tables and f'<a href="{brevo}"' in tables
    assert "<script>alert" not in tables


def test_a1_dashboard_rejections_table_shows_name_and_links(world: World) -> None:
    board = QuotaDashboard(world.env.tk)
    table = board.rejections_html.value
    sf_url, brevo = world.sf_url(world.named), world.brevo_url(world.named)
    assert f'{html.escape(SHOWN)} (<a href="{sf_url}" target="_blank" rel="noopener"' in table
    assert f'<a href="{brevo}" target="_blank" rel="noopener"' in table
    assert f'<a href="{world.sf_url(world.unnamed)}"' in table
    assert "<script>alert" not in table and "toolkitcell" not in table  # every placeholder filled
    text = board.csv_text()
    assert "record_name" in text.splitlines()[0] and SHOWN in text and sf_url in text and brevo in text
    assert "<a " not in text  # the CSV has names and URLs, no HTML


def test_a1_brevo_to_salesforce_rejection_is_named_from_the_contact(world: World) -> None:
    tk = world.env.tk
    linked = sorted(link.sf_id for link in tk.links(NAME) if link.sf_id not in (world.named, world.unnamed))
    target = linked[0]
    tk.brevo().update_contact(
        target, identifier_type="ext_id", attributes={"FIRSTNAME": "Jörg <i>", "LASTNAME": ""}
    )
    result = tk.run(NAME)
    assert result.rejected.get("Y5") == 1, result.rejected  # a Contact's LastName cannot be emptied
    [row] = [
        r
        for r in tk.store.report_rejections(direction=Direction.TO_SALESFORCE, run_id=result.run_id)
        if r["record_id"] == target
    ]
    assert row["record_name"] == "Jörg <i>"  # the contact's FIRSTNAME (its LASTNAME is empty)
    page = QuotaDashboard(tk).rejections_html.value
    assert f'Jörg &lt;i&gt; (<a href="{world.sf_url(target)}"' in page


def test_a1_held_deletions_show_names_and_links_in_report_dashboard_and_held_view(
    world: World, tmp_path: Path
) -> None:
    env, tk = world.env, world.env.tk
    tk.store.update_integration(NAME, mass_delete_min=2)
    with_case = {c["ContactId"] for c in env.sandbox.salesforce.records("Case")}  # Y10: those stay
    free = sorted(
        link.sf_id for link in tk.links(NAME) if link.sf_id not in with_case | {world.named, world.unnamed}
    )
    in_sf, in_brevo = free[:3], free[3:6]
    assert all(r["success"] for r in env.sandbox.salesforce.delete_many(in_sf))
    for sf_id in in_brevo:
        assert tk.brevo().delete_contact(sf_id, "ext_id")
    blocked = tk.run(NAME, full=True)
    assert blocked.status == "blocked", blocked
    links = {link.sf_id: link for link in tk.held_deletions(NAME)}
    assert set(links) == set(in_sf + in_brevo)
    held_sf, held_brevo = links[in_sf[0]], links[in_brevo[0]]
    assert held_sf.state == LinkState.HELD_DELETE and held_sf.brevo_id is not None
    synced = held_sf.synced or {}
    name = f"{synced['FIRSTNAME']} {synced['LASTNAME']}"
    sf_link = f'{html.escape(name)} (<a href="{world.sf_url(held_sf.sf_id)}" target="_blank" rel="noopener"'
    brevo_link = f'<a href="https://app.brevo.com/contact/index/{held_sf.brevo_id}" target="_blank"'
    # A contact deleted in Brevo: its record is linked, its gone contact is not.
    gone = held_brevo.synced or {}
    gone_name = f"{gone['FIRSTNAME']} {gone['LASTNAME']}"
    gone_link = f'{html.escape(gone_name)} (<a href="{world.sf_url(held_brevo.sf_id)}"'
    gone_brevo = f"contact/index/{held_brevo.brevo_id}"

    view = HeldDeletions(tk)
    shown = " ".join(
        getattr(w, "value", "") for box in view.children for w in getattr(box, "children", [box])
    )
    assert sf_link in shown and brevo_link in shown and gone_link in shown
    assert held_brevo.brevo_id is None or gone_brevo not in shown  # no link to a contact that is gone

    board = QuotaDashboard(tk)
    on_board = " ".join(
        getattr(w, "value", "") for box in board.held.children for w in getattr(box, "children", [box])
    )
    assert sf_link in on_board and brevo_link in on_board

    paths = write_run_report(tk.store, blocked.run_id, tmp_path / "reports")
    page = paths.html.read_text(encoding="utf-8")
    assert "Deletions waiting for a confirmation (B6)" in page
    assert sf_link in page and brevo_link in page and gone_link in page
    assert "6 deletions wait" in page
    rows = audit.held_records(tk.store, tk.store.get_integration(NAME))
    by_id = {r["record_id"]: r for r in rows}
    assert by_id[held_sf.sf_id]["record_name"] == name and by_id[held_brevo.sf_id]["brevo_url"] is None
    view_tables = AuditView.load(blocked.run_id, tk=tk).tables().data
    assert sf_link in view_tables and brevo_link in view_tables


def test_a1_store_keeps_the_newest_name_and_a_nameless_sighting_keeps_it(state_location: Path | str) -> None:
    store = Store.open(state_location)
    iid = store.create_integration("news", "Contact").id

    def seen(name: str | None) -> None:
        run = store.start_run(iid).id
        store.upsert_rejections(
            [
                Rejection(
                    "003000000000001AAA",
                    "Y6",
                    "Email",
                    None,
                    "No e-mail.",
                    integration_id=iid,
                    direction=Direction.TO_BREVO,
                    record_name=name,
                )
            ],
            run_id=run,
        )

    def stored() -> str | None:
        [row] = store.report_rejections(integration_id=iid)
        return row["record_name"]

    seen("Ann Lee")
    assert stored() == "Ann Lee"
    seen(None)  # e.g. a sighting that did not read the name
    assert stored() == "Ann Lee"
    seen("")
    assert stored() == "Ann Lee"
    seen("Ann Smith")  # renamed at the source
    assert stored() == "Ann Smith"
    [listed] = store.list_rejections(iid)
    assert listed["record_name"] == "Ann Smith" and listed["seen_count"] == 4
    [again] = store.open_rejections(iid, Direction.TO_BREVO, ["003000000000001AAA"])["003000000000001AAA"]
    assert again.record_name == "Ann Smith"
    [row] = store.report_rejections(integration_id=iid)
    assert row["instance_url"] is None and row["brevo_id"] is None  # no connection, no link: no URLs
    store.close()
