"""Rejections carry the record's name (issue 15, A1): read with every Salesforce record, mapped or not.

The outbound read selects ``FirstName`` and ``LastName`` of Contacts and Leads besides the
mapping, so that a rejection made by the rules (Y9), by planning (D1) or by Brevo's refusal
(``BREVO:<code>``) names its person; a Brevo -> Salesforce rejection is named from the contact's
``FIRSTNAME``/``LASTNAME``. Real syncs against the sandbox over HTTPS.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.sync import Env, setup_integration
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
