"""End to end, one test per SPEC sync rule (Y1-Y11): a change on one side of the sandbox, a run,
then the other side's real state, the run's counts and the audit's rejection rows.

Y8-Y11 are in ``test_rules_leads_deletions.py``, the B extensions and conflicts in
``test_rules_beyond.py``; the helpers are in ``tests/support/sync_rules.py``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import ANY

import pytest
import requests

from tests.support.sync import MAPPING, Env, setup_integration
from tests.support.sync_rules import (
    NAME,
    brevo_attr,
    brevo_edit,
    linked_ids,
    open_rejections,
    sf_record,
    sf_update,
    sf_writes,
    started,
)
from toolkit.exceptions import MappingError
from toolkit.store import Direction, LinkState

# -- Y1 ----------------------------------------------------------------------------------------------


def test_y1_brevo_contacts_are_never_created_in_salesforce(env_factory: Any) -> None:
    env, list_id = started(env_factory)
    before = len(env.sandbox.salesforce.records("Contact"))
    brevo_id = env.tk.brevo().create_contact(
        email="only.in.brevo@example.org",
        list_ids=[list_id],
        attributes={"FIRSTNAME": "Olive", "LASTNAME": "Brevo"},
    )
    assert brevo_id is not None
    writes = sf_writes(env)
    result = env.tk.run(NAME)
    assert result.ok and result.counts.get("brevo_only", 0) >= 1
    assert result.counts.get("to_salesforce.update", 0) == 0
    env.tk.brevo().update_contact("only.in.brevo@example.org", attributes={"LASTNAME": "Edited"})
    again = env.tk.run(NAME, full=True)
    assert again.ok and again.counts.get("to_salesforce.update", 0) == 0
    contacts = env.sandbox.salesforce.records("Contact")
    assert len(contacts) == before
    assert not [
        c
        for c in contacts
        if c["Email"] == "only.in.brevo@example.org" or c["LastName"] in ("Brevo", "Edited")
    ]
    assert sf_writes(env) == writes  # not a single create or update call
    assert all(link.brevo_id != brevo_id for link in env.tk.links(NAME))


def test_y1_brevo_updates_of_synced_contacts_reach_salesforce(env_factory: Any) -> None:
    env, _ = started(env_factory)
    env.tk.brevo().create_attribute("normal", "TITLE", "text")  # exists in Brevo, NOT mapped
    mapped, unmapped = linked_ids(env)[:2]
    stamp = sf_record(env, unmapped)["SystemModstamp"]
    title = sf_record(env, unmapped)["Title"]
    brevo_edit(env, mapped, LASTNAME="Neuname")
    brevo_edit(env, unmapped, TITLE="Chief Brevo Officer")
    result = env.tk.run(NAME)
    assert result.ok
    assert result.counts["to_salesforce.update"] == 1
    assert sf_record(env, mapped)["LastName"] == "Neuname"
    assert sf_record(env, unmapped)["Title"] == title  # unmapped: never reaches Salesforce
    assert sf_record(env, unmapped)["SystemModstamp"] == stamp  # not even touched
    # The toolkit's own write does not come back as a change (no echo), nothing is rejected.
    idle = env.tk.run(NAME)
    assert idle.ok and idle.tasks == 0 and not idle.rejected


# -- Y3 ----------------------------------------------------------------------------------------------


def test_y3_date_not_yyyy_mm_dd_is_rejected_with_reason(env_factory: Any) -> None:
    """Brevo stores only YYYY-MM-DD in a date attribute, and the mapping refuses text -> date, so a
    malformed date reaches the sync when the attribute is re-created as text under the same name
    after the mapping was saved (Brevo cannot change an attribute's type in place)."""
    env: Env = env_factory(contacts=20, seed=5)
    env.tk.brevo().create_attribute("normal", "BIRTHDATE", "date")
    env.tk.brevo().create_attribute("normal", "BIRTHDAY_TEXT", "text")
    with pytest.raises(MappingError, match="Birthdate"):  # text -> date is never offered
        setup_integration(env.tk, mapping={**MAPPING, "BIRTHDAY_TEXT": "Birthdate"})
    env.tk.store.delete_integration(NAME)
    setup_integration(env.tk, mapping={**MAPPING, "BIRTHDATE": "Birthdate"})
    assert env.tk.run(NAME).ok
    sf_id = linked_ids(env, Birthdate=lambda v: bool(v))[0]
    assert brevo_attr(env, sf_id, "BIRTHDATE") == sf_record(env, sf_id)["Birthdate"]
    env.sandbox.clock.advance(timedelta(minutes=1))  # later Brevo reads see only this contact's edits
    brevo_edit(env, sf_id, BIRTHDATE="1990-09-25")
    result = env.tk.run(NAME)
    assert result.ok and result.counts["to_salesforce.update"] == 1 and not result.rejected
    assert sf_record(env, sf_id)["Birthdate"] == "1990-09-25"
    brevo_edit(env, sf_id, BIRTHDATE="25.09.1990")  # Brevo ignores it...
    assert brevo_attr(env, sf_id, "BIRTHDATE") == "1990-09-25"
    assert env.tk.run(NAME).tasks == 0
    # ...unless the attribute became a text attribute of the same name.
    session = requests.Session()
    session.trust_env = False  # trust the sandbox's CA, whatever REQUESTS_CA_BUNDLE says
    session.verify = env.sandbox.info["brevo"]["ca_bundle"]
    session.headers["api-key"] = env.sandbox.info["brevo"]["api_key"]
    answer = session.delete(env.sandbox.info["brevo"]["base_url"] + "/contacts/attributes/normal/BIRTHDATE")
    session.close()
    assert answer.status_code == 204
    env.tk.brevo().create_attribute("normal", "BIRTHDATE", "text")
    brevo_edit(env, sf_id, BIRTHDATE="25.09.1990")
    result = env.tk.run(NAME)
    assert result.ok and result.rejected == {"Y3": 1}
    assert result.counts.get("to_salesforce.update", 0) == 0
    assert sf_record(env, sf_id)["Birthdate"] == "1990-09-25"
    assert result.samples["rule:Y3"] == [{"record_id": sf_id, "field": "Birthdate", "reason": ANY}]
    [row] = open_rejections(env, "Y3")
    assert (row["record_id"], row["direction"], row["field"], row["value"]) == (
        sf_id,
        Direction.TO_SALESFORCE,
        "Birthdate",
        "25.09.1990",
    )
    assert "YYYY-MM-DD" in row["reason"] and "25.09.1990" not in row["reason"]


# -- Y5 ----------------------------------------------------------------------------------------------


def test_y5_empty_last_name_not_pushed_to_salesforce(env_factory: Any) -> None:
    env, _ = started(env_factory)
    sf_id, other = linked_ids(env)[:2]
    last = sf_record(env, sf_id)["LastName"]
    brevo_edit(env, sf_id, LASTNAME="")
    brevo_edit(env, other, FIRSTNAME="Zoë")
    result = env.tk.run(NAME)
    assert result.ok and result.rejected == {"Y5": 1}
    assert result.counts["to_salesforce.update"] == 1  # the other change still went through
    assert sf_record(env, sf_id)["LastName"] == last
    assert sf_record(env, other)["FirstName"] == "Zoë"
    assert result.samples["rule:Y5"][0]["record_id"] == sf_id
    [row] = open_rejections(env, "Y5")
    assert (row["record_id"], row["direction"], row["field"], row["value"]) == (
        sf_id,
        Direction.TO_SALESFORCE,
        "LastName",
        None,
    )
    assert "last name" in row["reason"].lower()
    # A3: once the last name is filled in again in Brevo, it is written and the rejection resolved.
    brevo_edit(env, sf_id, LASTNAME="Wieder-Da")
    fixed = env.tk.run(NAME)
    assert fixed.ok and not fixed.rejected
    assert sf_record(env, sf_id)["LastName"] == "Wieder-Da"
    assert not open_rejections(env, "Y5")


# -- Y6 ----------------------------------------------------------------------------------------------


def test_y6_contact_without_email_is_no_longer_synced_either_way(env_factory: Any) -> None:
    env, list_id = started(env_factory)
    sf_id = next(i for i in linked_ids(env) if sf_record(env, i)["FirstName"])  # one with a first name
    email = sf_record(env, sf_id)["Email"]
    first = sf_record(env, sf_id)["FirstName"]
    sf_update(env, sf_id, Email=None)
    result = env.tk.run(NAME)
    assert result.ok and result.rejected == {"Y6": 1}
    assert [s["Id"] for s in result.samples["suspended"]] == [sf_id]
    contact = env.brevo_contact(sf_id)
    assert contact is not None and contact["email"] == email.lower() and list_id in contact["listIds"]
    [link] = [link for link in env.tk.links(NAME) if link.sf_id == sf_id]
    assert link.state == LinkState.SUSPENDED
    [row] = open_rejections(env, "Y6")
    assert (row["direction"], row["record_id"], row["field"]) == (Direction.TO_BREVO, sf_id, "Email")
    # Brevo edits of the suspended contact are not pushed; each skipped change is reported.
    for n, name in enumerate(("Erste", "Zweite"), start=1):
        brevo_edit(env, sf_id, FIRSTNAME=name)
        skipped = env.tk.run(NAME)
        assert skipped.ok and skipped.rejected == {"Y6": 1}
        assert skipped.counts.get("to_salesforce.update", 0) == 0
        assert sf_record(env, sf_id)["FirstName"] == first
        [back] = [r for r in open_rejections(env, "Y6") if r["direction"] == Direction.TO_SALESFORCE]
        assert back["record_id"] == sf_id and back["seen_count"] == n and back["run_id"] == skipped.run_id
        assert "e-mail" in back["reason"] or "email" in back["reason"]
    # An e-mail back in Salesforce resumes the sync, both ways; Salesforce's values go to Brevo.
    sf_update(env, sf_id, Email="back.again@example.org")
    resumed = env.tk.run(NAME)
    assert resumed.ok and resumed.counts["to_brevo.update"] == 1 and not resumed.rejected
    contact = env.brevo_contact(sf_id)
    assert contact is not None and contact["email"] == "back.again@example.org"
    assert contact["attributes"]["FIRSTNAME"] == first
    [link] = [link for link in env.tk.links(NAME) if link.sf_id == sf_id]
    assert link.state == LinkState.ACTIVE
    assert [r["direction"] for r in open_rejections(env, "Y6")] == [
        Direction.TO_SALESFORCE
    ]  # skipped, never written
    brevo_edit(env, sf_id, FIRSTNAME="Dritte")
    assert env.tk.run(NAME).counts["to_salesforce.update"] == 1
    assert sf_record(env, sf_id)["FirstName"] == "Dritte"
    assert not open_rejections(env, "Y6")


# -- Y7 ----------------------------------------------------------------------------------------------


def test_y7_phone_emptied_in_salesforce_does_not_blank_brevo(env_factory: Any) -> None:
    env, _ = started(env_factory)
    sf_id = linked_ids(env, MobilePhone=lambda v: bool(v))[0]
    sms = brevo_attr(env, sf_id, "SMS")
    assert sms
    sf_update(env, sf_id, MobilePhone=None, Title="Phone removed")
    result = env.tk.run(NAME)
    assert result.ok and not result.rejected
    assert brevo_attr(env, sf_id, "SMS") == sms
    # A later, unrelated Brevo edit does not push the old phone back into Salesforce.
    brevo_edit(env, sf_id, FIRSTNAME="Ohne-Telefon")
    later = env.tk.run(NAME)
    assert later.ok and later.counts["to_salesforce.update"] == 1
    record = sf_record(env, sf_id)
    assert record["FirstName"] == "Ohne-Telefon" and record["MobilePhone"] is None
    assert env.tk.run(NAME, full=True).tasks == 0  # nor does a full comparison
    assert sf_record(env, sf_id)["MobilePhone"] is None and brevo_attr(env, sf_id, "SMS") == sms
