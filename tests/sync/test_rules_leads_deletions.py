"""End to end, the SPEC's sync rules Y8-Y11: Leads (Y8, Y9), Brevo deletions (Y10), booleans and
picklists without B4 (Y11). Helpers in ``test_sync_rules.py``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.sync import MAPPING, Env, setup_integration
from tests.support.sync_rules import (
    COMPOSITE,
    LEAD_MAPPING,
    NAME,
    brevo_attr,
    brevo_edit,
    linked_ids,
    open_rejections,
    sf_record,
    sf_update,
    started,
)
from toolkit.exceptions import MappingError
from toolkit.rules.base import LEAD_FIRST_NAME_MAX
from toolkit.store import Direction, IntegrationStatus

# -- Y8, Y9 (Leads) ----------------------------------------------------------------------------------


def test_y8_lead_first_name_over_40_chars_not_pushed_and_integration_shows_error(env_factory: Any) -> None:
    env, _ = started(env_factory, contacts=0, leads=20, obj="Lead", name="leads", mapping=LEAD_MAPPING)
    long_id, ok_id = linked_ids(env, "leads")[:2]
    first = sf_record(env, long_id, "Lead")["FirstName"]
    long_name = "Anna-Lena Marie-Luise Charlotte Friederike"  # 42 characters
    assert len(long_name) > LEAD_FIRST_NAME_MAX
    brevo_edit(env, long_id, FIRSTNAME=long_name)
    brevo_edit(env, ok_id, FIRSTNAME="A" * LEAD_FIRST_NAME_MAX)
    result = env.tk.run("leads")
    assert result.ok and result.rejected == {"Y8": 1}
    assert result.counts["to_salesforce.update"] == 1
    assert sf_record(env, long_id, "Lead")["FirstName"] == first
    assert sf_record(env, ok_id, "Lead")["FirstName"] == "A" * LEAD_FIRST_NAME_MAX
    integration = env.tk.store.get_integration("leads")
    assert integration.last_error is not None and long_id in integration.last_error
    assert ok_id not in integration.last_error
    [row] = open_rejections(env, "Y8", "leads")
    assert (row["record_id"], row["field"], row["value"]) == (long_id, "FirstName", long_name)
    assert "40" in row["reason"]
    assert integration.status == IntegrationStatus.ACTIVE  # one Lead does not stop the sync
    # Unchanged, it is not reported again; shortened in Brevo, it is written and the error goes.
    assert env.tk.run("leads").rejected == {}
    assert long_id in (env.tk.store.get_integration("leads").last_error or "")
    brevo_edit(env, long_id, FIRSTNAME="Anna-Lena")
    fixed = env.tk.run("leads")
    assert fixed.ok and fixed.counts["to_salesforce.update"] == 1
    assert sf_record(env, long_id, "Lead")["FirstName"] == "Anna-Lena"
    assert env.tk.store.get_integration("leads").last_error is None and not open_rejections(
        env, "Y8", "leads"
    )


def test_y9_lead_phone_outside_6_to_16_digits_not_pushed_to_brevo(env_factory: Any) -> None:
    env, list_id = started(env_factory, contacts=0, leads=20, obj="Lead", name="leads", mapping=LEAD_MAPPING)
    base = {"Company": "Phone GmbH", "Country": "Germany"}
    created = env.sandbox.salesforce.create_many(
        "Lead",
        [
            {**base, "LastName": "Short", "Email": "short@example.org", "MobilePhone": "12345"},
            {
                **base,
                "LastName": "Long",
                "Email": "long@example.org",
                "MobilePhone": "+49 1512 3456 7890 123",
            },
            {**base, "LastName": "Fine", "Email": "fine@example.org", "MobilePhone": "+49 151 23456789"},
        ],
    )
    short, long_, fine = (r["id"] for r in created)
    updated = linked_ids(env, "leads")[0]
    sms = brevo_attr(env, updated, "SMS")
    sf_update(env, updated, "Lead", MobilePhone="+49 30 1", LastName="Changed")
    result = env.tk.run("leads")
    assert result.ok and result.rejected == {"Y9": 3}
    assert result.counts["to_brevo.create"] == 1
    assert env.brevo_contact(short) is None and env.brevo_contact(long_) is None
    assert env.brevo_contact(fine)["attributes"]["SMS"] == "4915123456789"  # type: ignore[index]
    assert brevo_attr(env, updated, "SMS") == sms and brevo_attr(env, updated, "LASTNAME") != "Changed"
    rows = {r["record_id"]: r for r in open_rejections(env, "Y9", "leads")}
    assert set(rows) == {short, long_, updated}
    assert rows[short]["direction"] == Direction.TO_BREVO and rows[short]["field"] == "MobilePhone"
    assert "5 digits" in rows[short]["reason"] and "6 to 16" in rows[short]["reason"]
    assert "17 digits" in rows[long_]["reason"]
    assert list_id in env.brevo_contact(fine)["listIds"]  # type: ignore[index]


# -- Y10 ---------------------------------------------------------------------------------------------


def test_y10_brevo_deletion_deletes_in_salesforce_except_contact_with_case(env_factory: Any) -> None:
    env, _ = started(env_factory, contacts=60)
    with_case = {c["ContactId"] for c in env.sandbox.salesforce.records("Case")}
    linked = linked_ids(env)
    kept = next(i for i in linked if i in with_case)
    gone = next(i for i in linked if i not in with_case)
    for sf_id in (kept, gone):
        assert env.tk.brevo().delete_contact(sf_id, "ext_id")
    deletes = env.sf_calls("DELETE", COMPOSITE)
    result = env.tk.run(NAME, full=True)
    assert result.ok and result.rejected == {"Y10": 1}
    assert result.counts["to_salesforce.delete"] == 1
    assert sf_record(env, gone)["IsDeleted"] is True
    assert sf_record(env, kept)["IsDeleted"] is False
    [row] = open_rejections(env, "Y10")
    assert (row["record_id"], row["service_code"], row["permanent"]) == (kept, "DELETE_FAILED", True)
    assert "Case" in row["reason"]
    assert env.sf_calls("DELETE", COMPOSITE) == deletes + 1
    again = env.tk.run(NAME, full=True)
    assert again.ok and not again.rejected and again.tasks == 0
    assert env.sf_calls("DELETE", COMPOSITE) == deletes + 1  # not retried
    [row] = open_rejections(env, "Y10")
    assert row["seen_count"] == 1
    assert gone not in {link.sf_id for link in env.tk.links(NAME)}


# -- Y11 ---------------------------------------------------------------------------------------------


def test_y11_boolean_and_picklist_fields_not_synced_without_b4(env_factory: Any) -> None:
    env: Env = env_factory(contacts=20, seed=5)
    brevo = env.tk.brevo()
    brevo.create_attribute("normal", "NEWSLETTER", "boolean")
    brevo.create_attribute(
        "category",
        "TIER",
        "category",
        enumeration=[
            {"value": i, "label": tier} for i, tier in enumerate(("Bronze", "Silver", "Gold", "Platinum"), 1)
        ],
    )
    env.tk.create_integration(NAME, "Contact")
    env.tk.use_connection(NAME, "sandbox-org")
    for attribute, field in (("NEWSLETTER", "Newsletter_Opt_In__c"), ("TIER", "Loyalty_Tier__c")):
        with pytest.raises(MappingError) as refused:
            env.tk.set_mapping(NAME, {**MAPPING, attribute: field})
        assert refused.value.field == field and "Y11" in str(refused.value)
    assert not env.tk.store.get_integration(NAME).mapping  # nothing was saved
    env.tk.store.delete_integration(NAME)
    setup_integration(env.tk)
    assert env.tk.run(NAME).ok
    for contact in env.sandbox.brevo.contacts():
        assert "NEWSLETTER" not in contact["attributes"] and "TIER" not in contact["attributes"]
