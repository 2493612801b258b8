"""B8: unsubscribes synced both ways, through the engine and the sandbox over HTTPS.

Brevo's top-level contact flag ``emailBlacklisted`` <-> Salesforce's ``HasOptedOutOfEmail``, and
``smsBlacklisted`` <-> the checkbox chosen as ``sms_optout_field``, when the integration has
``sync_unsubscribes`` (new integrations do). The flags are synced values like the mapped
attributes: conflicts, echoes, rejections and the quota treat them alike.
"""

from __future__ import annotations

from typing import Any

from tests.support.rules import CONTACT_PAIRS, add_attributes, attributes_of, describe
from tests.support.sync import MAPPING, Env, setup_integration
from toolkit.brevo.imports import encode_row
from toolkit.mapping import Mapping, validate_mapping
from toolkit.rules import to_brevo, to_salesforce
from toolkit.rules.hashing import brevo_values, canonical_hash, canonical_values
from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.clock import Clock
from toolkit.store import Link, LinkState, RunStatus
from toolkit.sync.plan import PlanSettings, WriteKind, plan_page

NAME = "contacts"
T1 = "2026-12-01T09:00:00.000+0000"


def _plain_mapping() -> Mapping:
    account = BrevoAccount(Clock())
    add_attributes(account)
    return validate_mapping(CONTACT_PAIRS, describe("Contact"), attributes_of(account))


PLAIN = _plain_mapping()
B8 = PLAIN.with_unsubscribes("DoNotCall", "Do Not Call")


def _rec(sf_id: str, **fields: Any) -> dict[str, Any]:
    base = dict.fromkeys(B8.soql_fields)
    return {
        **base,
        "Id": sf_id,
        "Email": f"{sf_id.lower()}@example.com",
        "LastName": "Weber",
        "HasOptedOutOfEmail": False,
        "DoNotCall": False,
        "SystemModstamp": T1,
        "IsDeleted": False,
        **fields,
    }


def _synced(record: dict[str, Any], mapping: Mapping = B8) -> dict[str, Any]:
    rows, _ = to_brevo([record], mapping, default_region="DE")
    return canonical_values(brevo_values(rows[0], mapping), mapping)


def _link(record: dict[str, Any], mapping: Mapping = B8) -> Link:
    values = _synced(record, mapping)
    return Link(1, record["Id"], 7, str(values.get("EMAIL")), "h", "h", LinkState.ACTIVE, values)


# -- planning (pure) -------------------------------------------------------------------------------


def test_b8_flags_ride_the_row_top_level_and_stay_out_of_the_import() -> None:
    rows, rejected = to_brevo([_rec("003A", HasOptedOutOfEmail=True)], B8)
    assert not rejected and rows[0]["emailBlacklisted"] is True and rows[0]["smsBlacklisted"] is False
    assert b"Blacklisted" not in encode_row(rows[0])  # an import item has email and attributes only
    values = canonical_values(brevo_values(rows[0], B8), B8)
    assert values["emailBlacklisted"] is True and "smsBlacklisted" not in values  # not set: absent
    # Not opted out: the same values and hash as without B8 (switching it on changes no link).
    plain = _rec("003B")
    assert _synced(plain, B8) == _synced(plain, PLAIN)
    assert canonical_hash(_synced(plain, B8)) == canonical_hash(_synced(plain, PLAIN))
    # Brevo -> Salesforce reads the contact's top-level flags.
    contact = {
        "email": "x@example.com",
        "attributes": {"EXT_ID": "003A", "LASTNAME": "W"},
        "emailBlacklisted": True,
    }
    updates, _ = to_salesforce([contact], B8)
    assert updates[0]["HasOptedOutOfEmail"] is True and updates[0]["DoNotCall"] is False


def test_b8_plan_a_flag_only_change_is_a_batch_update_without_import() -> None:
    before = _rec("003A")
    settings = PlanSettings(B8, "Contact")
    plan = plan_page([_rec("003A", HasOptedOutOfEmail=True)], {"003A": _link(before)}, {}, settings)
    [write] = plan.writes
    assert write.kind == WriteKind.UPDATE and write.flags == {"emailBlacklisted": True}
    assert write.imported is False
    both = plan_page(
        [_rec("003A", HasOptedOutOfEmail=True, FirstName="Anna")], {"003A": _link(before)}, {}, settings
    )
    assert both.writes[0].imported is True and both.writes[0].flags == {"emailBlacklisted": True}
    same = plan_page([before], {"003A": _link(before)}, {}, settings)
    assert same.writes == [] and same.notes["unchanged"] == 1


def test_b8_plan_a_new_contact_is_blacklisted_only_when_opted_out() -> None:
    settings = PlanSettings(B8, "Contact")
    plan = plan_page([_rec("003A", HasOptedOutOfEmail=True, DoNotCall=True), _rec("003B")], {}, {}, settings)
    assert [(w.kind, dict(w.flags)) for w in plan.writes] == [
        (WriteKind.CREATE, {"emailBlacklisted": True, "smsBlacklisted": True}),
        (WriteKind.CREATE, {}),
    ]


def test_b8_off_plans_no_flag() -> None:
    plan = plan_page([_rec("003A", HasOptedOutOfEmail=True)], {}, {}, PlanSettings(PLAIN, "Contact"))
    [write] = plan.writes
    assert write.flags == {} and write.row is not None and "emailBlacklisted" not in write.row
    assert "HasOptedOutOfEmail" not in PLAIN.soql_fields and "HasOptedOutOfEmail" in B8.soql_fields


# -- runs through the sandbox ----------------------------------------------------------------------


def _record(env: Env, obj: str = "Contact", **fields: Any) -> str:
    extra = {"Company": "Acme"} if obj == "Lead" else {}
    [result] = env.sandbox.salesforce.create_many(obj, [{"LastName": "Weber", **extra, **fields}])
    assert result["success"], result
    return str(result["id"])


def _update(env: Env, sf_id: str, obj: str = "Contact", **fields: Any) -> None:
    [result] = env.sandbox.salesforce.update_many(obj, [{"Id": sf_id, **fields}])
    assert result["success"], result


def _sf(env: Env, sf_id: str, obj: str = "Contact") -> dict[str, Any]:
    return env.sandbox.salesforce.get(obj, sf_id) or {}


def _brevo(env: Env, sf_id: str) -> dict[str, Any]:
    contact = env.brevo_contact(sf_id)
    assert contact is not None, sf_id
    return contact


def _unsubscribe_in_brevo(env: Env, sf_id: str, flag: bool = True, **more: Any) -> None:
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", email_blacklisted=flag, **more)


def _quiet(env: Env, name: str = NAME) -> None:
    """A run with nothing new writes nothing either way: the toolkit's own writes are no changes."""
    calls = env.brevo_calls("POST")
    quiet = env.tk.run(name)
    assert quiet.ok and quiet.tasks == 0, quiet.counts
    assert env.brevo_calls("POST") == calls  # no import, no batch update


def test_b8_new_integrations_sync_unsubscribes(env_factory: Any) -> None:
    env: Env = env_factory()
    setup_integration(env.tk)
    assert env.tk.store.get_integration(NAME).sync_unsubscribes is True


def test_b8_unsubscribed_in_brevo_opts_out_in_salesforce_and_back_when_resubscribed(env_factory: Any) -> None:
    env: Env = env_factory()
    sf_id = _record(env, Email="anna@example.org", FirstName="Anna")
    setup_integration(env.tk)
    assert env.tk.run(NAME).ok
    assert _brevo(env, sf_id)["emailBlacklisted"] is False

    _unsubscribe_in_brevo(env, sf_id)
    out = env.tk.run(NAME)
    assert out.ok and out.counts["to_salesforce.update"] == 1 and out.tasks == 1, out.counts
    assert _sf(env, sf_id)["HasOptedOutOfEmail"] is True
    _quiet(env)  # the Salesforce write does not come back to Brevo

    _unsubscribe_in_brevo(env, sf_id, False)  # re-subscribed in Brevo
    back = env.tk.run(NAME)
    assert back.ok and back.counts["to_salesforce.update"] == 1 and back.tasks == 1, back.counts
    assert _sf(env, sf_id)["HasOptedOutOfEmail"] is False
    _quiet(env)


def test_b8_opted_out_in_salesforce_blacklists_the_brevo_contact_with_one_batch_update(
    env_factory: Any,
) -> None:
    env: Env = env_factory()
    sf_id = _record(env, Email="ben@example.org", FirstName="Ben")
    other = _record(env, Email="cleo@example.org", FirstName="Cleo")
    setup_integration(env.tk)
    assert env.tk.run(NAME).ok

    _update(env, sf_id, HasOptedOutOfEmail=True)
    imports, batches = (
        env.brevo_calls("POST", "/v3/contacts/import"),
        env.brevo_calls("POST", "/v3/contacts/batch"),
    )
    out = env.tk.run(NAME)
    assert out.ok and out.counts["to_brevo.update"] == 1 and out.tasks == 1, out.counts
    assert out.counts["unsubscribes_to_brevo"] == 1
    assert _brevo(env, sf_id)["emailBlacklisted"] is True
    assert _brevo(env, other)["emailBlacklisted"] is False
    # Only the flag changed: no import (and no process to poll), one batch update.
    assert env.brevo_calls("POST", "/v3/contacts/import") == imports
    assert env.brevo_calls("POST", "/v3/contacts/batch") == batches + 1
    _quiet(env)  # Brevo's modifiedAt moved: the contact is read again and compares equal

    _update(env, sf_id, HasOptedOutOfEmail=False, FirstName="Benjamin")  # opted in again, and renamed
    again = env.tk.run(NAME)
    assert again.ok and again.counts["to_brevo.update"] == 1 and again.tasks == 1, again.counts
    contact = _brevo(env, sf_id)
    assert contact["emailBlacklisted"] is False and contact["attributes"]["FIRSTNAME"] == "Benjamin"
    _quiet(env)


def test_b8_a_new_contact_from_an_opted_out_record_is_blacklisted(env_factory: Any) -> None:
    env: Env = env_factory()
    out_id = _record(env, Email="dora@example.org", HasOptedOutOfEmail=True)
    in_id = _record(env, Email="emil@example.org")
    setup_integration(env.tk)
    first = env.tk.run(NAME)
    assert first.ok and first.counts["to_brevo.create"] == 2 and first.tasks == 2, first.counts
    assert _brevo(env, out_id)["emailBlacklisted"] is True
    assert _brevo(env, in_id)["emailBlacklisted"] is False
    _quiet(env)
    # Later creates go the same way (an incremental run, not the initial load).
    later = _record(env, Email="fritz@example.org", HasOptedOutOfEmail=True)
    assert env.tk.run(NAME).ok
    assert _brevo(env, later)["emailBlacklisted"] is True
    _quiet(env)


def test_b8_both_sides_unsubscribing_agree_and_a_conflict_beside_it_follows_the_winner(
    env_factory: Any,
) -> None:
    env: Env = env_factory()
    agreed = _record(env, Email="gina@example.org", FirstName="Gina")
    mixed = _record(env, Email="hugo@example.org", FirstName="Hugo")
    setup_integration(env.tk)
    assert env.tk.run(NAME).ok
    env.tk.store.update_integration(NAME, conflict_winner="brevo")

    # A checkbox has two values: both sides changing it agree, like any field changed alike.
    _unsubscribe_in_brevo(env, agreed)
    _update(env, agreed, HasOptedOutOfEmail=True)
    # Beside it, a field changed on both sides: a conflict, settled by the winner (Brevo).
    _unsubscribe_in_brevo(env, mixed, attributes={"FIRSTNAME": "Hugo B"})
    _update(env, mixed, FirstName="Hugo S")
    out = env.tk.run(NAME)
    assert out.ok, out.message
    iid = env.tk.store.get_integration(NAME).id
    conflicts = env.tk.store.list_conflicts(iid, run_id=None)
    assert [(c.sf_id, c.winner, c.sf_values, c.brevo_values) for c in conflicts] == [
        (mixed, "brevo", {"FIRSTNAME": "Hugo S"}, {"FIRSTNAME": "Hugo B"})
    ]
    assert _sf(env, agreed)["HasOptedOutOfEmail"] is True and _brevo(env, agreed)["emailBlacklisted"] is True
    mixed_sf = _sf(env, mixed)
    assert mixed_sf["HasOptedOutOfEmail"] is True and mixed_sf["FirstName"] == "Hugo B"
    assert _brevo(env, mixed)["attributes"]["FIRSTNAME"] == "Hugo B"
    # As for any field changed alike on both sides, the outbound write settles the agreed record
    # (one task); the mixed record is written to Salesforce once, its flag and name together.
    assert out.tasks == 2 and out.counts["to_salesforce.update"] == 1, out.counts
    _quiet(env)


def test_b8_conflicting_flags_follow_the_winner_when_the_sides_disagree(env_factory: Any) -> None:
    """The sides disagree only when one of them changed: the change wins, whatever the winner."""
    env: Env = env_factory()
    sf_id = _record(env, Email="ida@example.org", HasOptedOutOfEmail=True)
    setup_integration(env.tk)
    assert env.tk.run(NAME).ok
    assert _brevo(env, sf_id)["emailBlacklisted"] is True
    env.tk.store.update_integration(NAME, conflict_winner="salesforce")
    _unsubscribe_in_brevo(env, sf_id, False)  # re-subscribed in Brevo, Salesforce unchanged
    _update(env, sf_id, FirstName="Ida")  # the record changed, not its opt-out
    out = env.tk.run(NAME)
    assert out.ok and out.tasks == 2, out.counts  # the name to Brevo, the opt-in to Salesforce
    assert _sf(env, sf_id)["HasOptedOutOfEmail"] is False
    assert _brevo(env, sf_id)["emailBlacklisted"] is False
    assert env.tk.store.list_conflicts(env.tk.store.get_integration(NAME).id) == []
    _quiet(env)


def test_b8_each_write_is_one_task_of_the_quota(env_factory: Any) -> None:
    env: Env = env_factory()
    ids = [_record(env, Email=f"q{i}@example.org", FirstName=f"Q{i}") for i in range(4)]
    setup_integration(env.tk)
    assert env.tk.run(NAME).ok
    used = env.tk.quota.status().used
    _update(env, ids[0], HasOptedOutOfEmail=True)  # the flag alone
    _update(env, ids[1], HasOptedOutOfEmail=True, FirstName="Quinn")  # the flag and a name: one write
    _unsubscribe_in_brevo(env, ids[2])  # Brevo -> Salesforce
    out = env.tk.run(NAME)
    assert out.ok and out.tasks == 3, out.counts
    assert out.counts["to_brevo.update"] == 2 and out.counts["to_salesforce.update"] == 1
    assert env.tk.quota.status().used == used + 3
    _quiet(env)


def test_b8_off_syncs_no_unsubscribe(env_factory: Any) -> None:
    env: Env = env_factory()
    sf_id = _record(env, Email="jan@example.org")
    brevo_side = _record(env, Email="kim@example.org")
    setup_integration(env.tk)
    env.tk.store.update_integration(NAME, sync_unsubscribes=False)
    assert env.tk.run(NAME).ok
    _update(env, sf_id, HasOptedOutOfEmail=True)
    _unsubscribe_in_brevo(env, brevo_side)
    batches = env.brevo_calls("POST", "/v3/contacts/batch")
    out = env.tk.run(NAME)
    assert out.ok and out.tasks == 0, out.counts
    assert _brevo(env, sf_id)["emailBlacklisted"] is False
    assert _sf(env, brevo_side)["HasOptedOutOfEmail"] is False
    assert env.brevo_calls("POST", "/v3/contacts/batch") == batches
    # The opt-out field is not even read: the query names the mapped fields only.
    queries = [e for e in env.sandbox.log.entries("salesforce") if "hasoptedoutofemail" in e.query.lower()]
    assert queries == []


def test_b8_sms_blacklisted_syncs_with_the_chosen_checkbox(env_factory: Any) -> None:
    env: Env = env_factory()
    sf_id = _record(env, Email="lena@example.org", MobilePhone="+49 151 23456789", DoNotCall=True)
    plain = _record(env, Email="mia@example.org", MobilePhone="+49 151 23456780")
    setup_integration(env.tk)
    env.tk.store.update_integration(NAME, sms_optout_field="DoNotCall")
    first = env.tk.run(NAME)
    assert first.ok and first.tasks == 2, first.counts
    contact = _brevo(env, sf_id)
    assert contact["smsBlacklisted"] is True and contact["emailBlacklisted"] is False
    assert _brevo(env, plain)["smsBlacklisted"] is False
    _quiet(env)
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", sms_blacklisted=False)
    env.tk.brevo().update_contact(plain, identifier_type="ext_id", sms_blacklisted=True)
    back = env.tk.run(NAME)
    assert back.ok and back.counts["to_salesforce.update"] == 2, back.counts
    assert _sf(env, sf_id)["DoNotCall"] is False and _sf(env, plain)["DoNotCall"] is True
    assert _sf(env, plain)["HasOptedOutOfEmail"] is False
    _quiet(env)


def test_b8_a_field_that_is_no_checkbox_fails_the_run_naming_it_and_b8(env_factory: Any) -> None:
    env: Env = env_factory()
    _record(env, Email="nina@example.org")
    setup_integration(env.tk)
    env.tk.store.update_integration(NAME, sms_optout_field="Title")
    out = env.tk.run(NAME)
    assert out.status == RunStatus.FAILED
    assert out.message is not None and "Title" in out.message and "B8" in out.message
    assert env.brevo_calls("POST", "/v3/contacts/import") == 0  # nothing was written


def test_b8_a_checkbox_mapped_to_an_attribute_too_fails_the_run_naming_it_and_b8(env_factory: Any) -> None:
    env: Env = env_factory()
    env.tk.brevo().create_attribute("normal", "OPTED_OUT", "boolean")
    _record(env, Email="otto@example.org")
    setup_integration(
        env.tk, mapping={**MAPPING, "OPTED_OUT": "HasOptedOutOfEmail"}, booleans_and_picklists=True
    )
    out = env.tk.run(NAME)
    assert out.status == RunStatus.FAILED
    assert out.message is not None and "HasOptedOutOfEmail" in out.message and "B8" in out.message


def test_b8_leads_sync_unsubscribes_both_ways(env_factory: Any) -> None:
    env: Env = env_factory()
    opted = _record(env, "Lead", Email="paul@example.org", HasOptedOutOfEmail=True)
    lead = _record(env, "Lead", Email="rita@example.org")
    setup_integration(env.tk, "leads", "Lead")
    assert env.tk.run("leads").ok
    assert _brevo(env, opted)["emailBlacklisted"] is True
    assert _brevo(env, lead)["emailBlacklisted"] is False
    _unsubscribe_in_brevo(env, lead)
    _update(env, opted, "Lead", HasOptedOutOfEmail=False)
    out = env.tk.run("leads")
    assert out.ok and out.tasks == 2, out.counts
    assert _sf(env, lead, "Lead")["HasOptedOutOfEmail"] is True
    assert _brevo(env, opted)["emailBlacklisted"] is False
    _quiet(env, "leads")


def test_b8_an_opted_out_record_whose_email_changes_stays_blacklisted(env_factory: Any) -> None:
    """Brevo re-subscribes a blacklisted contact whose e-mail changes; the toolkit blacklists it again."""
    env: Env = env_factory()
    sf_id = _record(env, Email="sara@example.org", HasOptedOutOfEmail=True)
    setup_integration(env.tk)
    assert env.tk.run(NAME).ok
    _update(env, sf_id, Email="sara.new@example.org")
    out = env.tk.run(NAME)
    assert out.ok and out.tasks == 1, out.counts
    contact = _brevo(env, sf_id)
    assert contact["email"] == "sara.new@example.org" and contact["emailBlacklisted"] is True
    _quiet(env)
    assert _sf(env, sf_id)["HasOptedOutOfEmail"] is True


def test_b8_an_address_changed_in_brevo_is_no_opt_in(env_factory: Any) -> None:
    """Brevo re-subscribes a blacklisted contact whose e-mail is edited; Salesforce's opt-out stays."""
    env: Env = env_factory()
    sf_id = _record(env, Email="tina@example.org", HasOptedOutOfEmail=True)
    setup_integration(env.tk)
    assert env.tk.run(NAME).ok
    env.tk.brevo().update_contact(
        sf_id, identifier_type="ext_id", attributes={"EMAIL": "tina.new@example.org"}
    )
    assert _brevo(env, sf_id)["emailBlacklisted"] is False  # Brevo's own rule
    out = env.tk.run(NAME)
    assert out.ok and out.counts["to_salesforce.update"] == 1, out.counts
    record = _sf(env, sf_id)
    assert record["Email"] == "tina.new@example.org" and record["HasOptedOutOfEmail"] is True
    again = env.tk.run(NAME)  # the record, read again, is opted out: the new address is blacklisted
    assert again.ok and again.counts["to_brevo.update"] == 1 and again.tasks == 1, again.counts
    assert _brevo(env, sf_id)["emailBlacklisted"] is True
    _quiet(env)
