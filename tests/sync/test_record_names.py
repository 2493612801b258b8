"""Rejections carry the record's name (issue 15, A1): read with every Salesforce record, mapped or not.

The outbound read selects ``FirstName`` and ``LastName`` of Contacts and Leads besides the
mapping, so that a rejection made by the rules (Y9), by planning (D1) or by Brevo's refusal
(``BREVO:<code>``) names its person; a Brevo -> Salesforce rejection is named from the contact's
``FIRSTNAME``/``LASTNAME``; one found by the Brevo deletion check (Y10: Salesforce refused the
delete; B9: the contact left the list) from the link's synced values. Real syncs against the
sandbox over HTTPS.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.sync import Env, setup_integration
from tests.support.sync_rules import NAME, brevo_edit, linked_ids, sf_record, started
from toolkit.rules.rejection import person_name
from toolkit.store import Direction

NO_NAMES = {"EMAIL": "Email", "SMS": "MobilePhone"}  # FirstName and LastName are not mapped


def _names(env: Env, run_id: int, direction: Direction = Direction.TO_BREVO) -> dict[tuple[str, str], Any]:
    return {
        (r["record_id"], r["rule"]): r["record_name"]
        for r in env.tk.store.report_rejections(run_id=run_id, direction=direction)
    }


@pytest.mark.parametrize("obj", ["Contact", "Lead"])
def test_unmapped_names_are_read_and_name_the_rejections(env_factory: Any, obj: str) -> None:
    env: Env = env_factory()
    extra = {"Company": "Names GmbH"} if obj == "Lead" else {}
    made = env.sandbox.salesforce.create_many(
        obj,
        [
            {
                **extra,
                "FirstName": "Ünal",
                "LastName": "<Ça & va>",
                "Email": "unal@names.example",
                "MobilePhone": "12",
            },
            {**extra, "LastName": "mail@names.example", "Email": "mail@names.example", "MobilePhone": "12"},
            # D1: one e-mail, two records: the younger one is rejected naming the older
            {**extra, "FirstName": "Ada", "LastName": "First", "Email": "same@names.example"},
            {**extra, "FirstName": "Ada", "LastName": "Second", "Email": "same@names.example"},
        ],
    )
    assert all(r["success"] for r in made), made
    named, unnamed, _, second = (r["id"] for r in made)
    setup_integration(env.tk, "people", obj, mapping=NO_NAMES)
    result = env.tk.run("people")
    assert result.ok, result.message
    names = _names(env, result.run_id)
    assert {name for (sf_id, _), name in names.items() if sf_id == named} == {"Ünal <Ça & va>"}
    assert {name for (sf_id, _), name in names.items() if sf_id == unnamed} == {None}  # an e-mail is no name
    assert names[(second, "D1")] == "Ada Second"
    # The names are not synced: the Brevo contacts have no name attributes from this mapping.
    contact = env.brevo_contact(made[2]["id"]) or {}
    assert "FIRSTNAME" not in (contact.get("attributes") or {})


def test_brevo_refusal_is_named_from_the_salesforce_record(env_factory: Any) -> None:
    env: Env = env_factory()
    taken = "taken.address@names.example"
    env.tk.brevo().create_contact(email=taken, ext_id="003000000000TAKEN", attributes={"LASTNAME": "Other"})
    made = env.sandbox.salesforce.create_many(
        "Contact", [{"FirstName": "Tomás", "LastName": "Taken", "Email": taken}]
    )
    setup_integration(env.tk, "people", "Contact")
    result = env.tk.run("people")
    rows = [
        r for r in env.tk.store.report_rejections(run_id=result.run_id) if r["record_id"] == made[0]["id"]
    ]
    assert rows and all(r["rule"].startswith("BREVO:") for r in rows), rows
    assert {r["record_name"] for r in rows} == {"Tomás Taken"}


def test_brevo_to_salesforce_rejection_without_a_name_shows_none(env_factory: Any) -> None:
    env: Env = env_factory(contacts=5, seed=3)
    setup_integration(env.tk, "people", "Contact")
    assert env.tk.run("people").ok
    target = sorted(link.sf_id for link in env.tk.links("people"))[0]
    env.tk.brevo().update_contact(
        target, identifier_type="ext_id", attributes={"FIRSTNAME": "", "LASTNAME": ""}
    )
    result = env.tk.run("people")
    names = _names(env, result.run_id, Direction.TO_SALESFORCE)
    assert (target, "Y5") in names and names[
        (target, "Y5")
    ] is None  # no name in Brevo: nothing, not the e-mail


def test_salesforce_refusing_a_brevo_deletion_is_named_from_the_link(env_factory: Any) -> None:
    """Y10: the contact is gone from Brevo, the record (with a Case) stays; named from the last sync."""
    env, _ = started(env_factory, contacts=60)
    with_case = {c["ContactId"] for c in env.sandbox.salesforce.records("Case")}
    kept = next(sf_id for sf_id in linked_ids(env) if sf_id in with_case)
    record = sf_record(env, kept)
    assert env.tk.brevo().delete_contact(kept, "ext_id")
    result = env.tk.run(NAME, full=True)
    assert result.ok and result.rejected == {"Y10": 1}, result.message
    names = _names(env, result.run_id, Direction.TO_SALESFORCE)
    assert names[(kept, "Y10")] == person_name(record.get("FirstName"), record.get("LastName"))
    assert names[(kept, "Y10")]  # the generated Contacts have names


def test_a_contact_found_off_the_list_by_the_deletion_check_is_named_from_the_link(env_factory: Any) -> None:
    """B9 found by the deletion check's diff of the list's members: named from the last sync.

    The check runs every run here; the incremental read must not see the removal: its cursor is
    moved past the contact (another contact edited later), and the removal is made not to move the
    contact's ``modifiedAt`` (Brevo does not document whether a list change does).
    """
    env: Env = env_factory(contacts=5, seed=5, brevo_deletion_check_hours=0)  # checked every run
    list_id = setup_integration(env.tk, NAME)
    assert env.tk.run(NAME).ok
    sf_id, other = linked_ids(env)[:2]
    record = sf_record(env, sf_id)
    env.sandbox.clock.advance(timedelta(seconds=1))
    brevo_edit(env, other, LASTNAME="Later")
    assert env.tk.run(NAME).ok
    account = env.sandbox.brevo
    contact = account.contact_store.by_ext_id(sf_id)
    assert contact is not None
    modified = contact.modified_at
    assert env.tk.brevo().remove_from_list(list_id, [sf_id]) == [sf_id]
    with account.lock:
        contact.modified_at = modified
    result = env.tk.run(NAME)
    assert result.ok and result.counts.get("left_list") == 1, result.counts
    names = _names(env, result.run_id)
    assert names[(sf_id, "B9")] == person_name(record.get("FirstName"), record.get("LastName"))
    assert names[(sf_id, "B9")]
