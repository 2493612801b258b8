"""End to end, the SPEC's extensions B1, B4, B5 (with Y2), B6, and conflicts between both sides."""

from __future__ import annotations

from typing import Any

from tests.support.sync import MAPPING, Env, setup_integration
from tests.support.sync_rules import (
    COMPOSITE,
    NAME,
    brevo_attr,
    brevo_edit,
    brevo_writes,
    linked_ids,
    open_rejections,
    sf_record,
    sf_update,
    sf_writes,
    started,
)
from toolkit.store import IntegrationStatus, LinkState, RunStatus

TIERS = ("Bronze", "Silver", "Gold", "Platinum")


def no_case(env: Env, n: int) -> list[str]:
    """``n`` linked Contacts without a Case (Salesforce lets them be deleted)."""
    with_case = {c["ContactId"] for c in env.sandbox.salesforce.records("Case")}
    return [i for i in linked_ids(env) if i not in with_case][:n]


# -- Y2 / B5 -----------------------------------------------------------------------------------------


def test_y2_and_b5_bulk_email_change_is_passed_on(env_factory: Any) -> None:
    env, list_id = started(env_factory, contacts=30)
    ids = linked_ids(env)[:6]
    old = {i: sf_record(env, i)["Email"].lower() for i in ids}
    new = {i: f"neu.{n}@example.org" for n, i in enumerate(ids)}
    results = env.sandbox.salesforce.update_many("Contact", [{"Id": i, "Email": new[i]} for i in ids])
    assert all(r["success"] for r in results)  # one bulk write: one shared SystemModstamp
    assert len({sf_record(env, i)["SystemModstamp"] for i in ids}) == 1
    count = len(env.sandbox.brevo.contacts())
    result = env.tk.run(NAME)
    assert result.ok and result.counts["to_brevo.update"] == len(ids) and not result.rejected
    for sf_id in ids:
        contact = env.brevo_contact(sf_id)
        assert contact is not None and contact["email"] == new[sf_id] and list_id in contact["listIds"]
        assert env.tk.brevo().get_contact(old[sf_id]) is None
    assert len(env.sandbox.brevo.contacts()) == count  # updated in place: no duplicate
    assert {link.sf_id: link.email for link in env.tk.links(NAME) if link.sf_id in new} == new
    assert env.tk.run(NAME).tasks == 0


def test_b5_email_swap_in_one_bulk_write_is_passed_on(env_factory: Any) -> None:
    env, _ = started(env_factory)
    a, b, c, d, e = linked_ids(env)[:5]
    email = {i: sf_record(env, i)["Email"].lower() for i in (a, b, c, d, e)}
    # a and b exchange addresses (a cycle); c takes d's while d moves to a new one (a chain), in one write.
    env.sandbox.salesforce.update_many(
        "Contact",
        [
            {"Id": a, "Email": email[b]},
            {"Id": b, "Email": email[a]},
            {"Id": c, "Email": email[d]},
            {"Id": d, "Email": "d.new@example.org"},
        ],
    )
    puts = env.brevo_calls("PUT")
    result = env.tk.run(NAME)
    assert result.ok and not result.rejected and result.counts["to_brevo.update"] == 4 and result.tasks == 4
    assert env.brevo_calls("PUT") == puts + 1  # one contact of the cycle lets its address go first
    assert (env.brevo_contact(a) or {}).get("email") == email[b]
    assert (env.brevo_contact(b) or {}).get("email") == email[a]
    assert (env.brevo_contact(c) or {}).get("email") == email[d]
    assert (env.brevo_contact(d) or {}).get("email") == "d.new@example.org"
    assert (env.brevo_contact(e) or {}).get("email") == email[e]
    assert not any(
        "swap.example.com" in str(contact.get("email")) for contact in env.sandbox.brevo.contacts()
    )
    assert env.tk.run(NAME).tasks == 0  # and nothing comes back


# -- B1 ----------------------------------------------------------------------------------------------


def test_b1_dry_run_plans_without_writing(env_factory: Any) -> None:
    env: Env = env_factory(contacts=30, seed=5)
    [no_email] = env.sandbox.salesforce.create_many("Contact", [{"LastName": "Ohnemail", "FirstName": "Ida"}])
    setup_integration(env.tk)
    writes = (sf_writes(env), brevo_writes(env))
    plan = env.tk.plan(NAME)
    assert plan.ok and plan.dry_run
    assert plan.counts["to_brevo.create"] == 30 and plan.tasks == 30
    assert len(plan.samples["to_brevo.create"]) == 5 and all(
        s["EXT_ID"] for s in plan.samples["to_brevo.create"]
    )
    assert plan.rejected == {"Y6": 1} and plan.samples["rule:Y6"][0]["record_id"] == no_email["id"]
    assert (sf_writes(env), brevo_writes(env)) == writes
    assert env.tk.links(NAME) == [] and env.tk.rejections(NAME) == []
    assert env.tk.store.get_run(plan.run_id).dry_run
    list_id = env.tk.store.get_integration(NAME).list_id
    assert not [c for c in env.sandbox.brevo.contacts() if list_id in c["listIds"]]
    real = env.tk.run(NAME)
    assert (real.counts["to_brevo.create"], real.rejected) == (30, {"Y6": 1})
    # Planned changes in both directions, and a Brevo deletion (the check runs with full=True).
    brevo_id, sf_id, gone = linked_ids(env)[:3]
    brevo_edit(env, brevo_id, LASTNAME="Geplant")
    sf_update(env, sf_id, FirstName="Vorgemerkt")
    env.tk.brevo().delete_contact(gone, "ext_id")
    writes = (sf_writes(env), brevo_writes(env))
    links = env.tk.links(NAME)
    plan = env.tk.plan(NAME, full=True)
    assert plan.ok and not plan.rejected
    assert {
        k: plan.counts.get(k) for k in ("to_brevo.update", "to_salesforce.update", "to_salesforce.delete")
    } == {"to_brevo.update": 1, "to_salesforce.update": 1, "to_salesforce.delete": 1}
    assert plan.samples["to_salesforce.update"] == [{"Id": brevo_id, "LastName": "Geplant"}]
    assert plan.samples["to_salesforce.delete"][0]["Id"] == gone
    assert (sf_writes(env), brevo_writes(env)) == writes
    assert env.tk.links(NAME) == links
    assert sf_record(env, brevo_id)["LastName"] != "Geplant" and not sf_record(env, gone)["IsDeleted"]
    assert brevo_attr(env, sf_id, "FIRSTNAME") != "Vorgemerkt"
    done = env.tk.run(NAME, full=True)
    assert {k: done.counts.get(k) for k in plan.counts if k.startswith("to_")} == {
        k: v for k, v in plan.counts.items() if k.startswith("to_")
    }
    assert sf_record(env, brevo_id)["LastName"] == "Geplant" and sf_record(env, gone)["IsDeleted"]
    assert brevo_attr(env, sf_id, "FIRSTNAME") == "Vorgemerkt"


# -- B4 ----------------------------------------------------------------------------------------------


def test_b4_booleans_and_picklists_sync_when_enabled(env_factory: Any) -> None:
    env: Env = env_factory(contacts=30, seed=5)
    env.tk.brevo().create_attribute("normal", "NEWSLETTER", "boolean")
    env.tk.brevo().create_attribute(
        "category", "TIER", "category", enumeration=[{"value": n, "label": t} for n, t in enumerate(TIERS, 1)]
    )
    mapping = {**MAPPING, "NEWSLETTER": "Newsletter_Opt_In__c", "TIER": "Loyalty_Tier__c"}
    setup_integration(env.tk, mapping=mapping, booleans_and_picklists=True)
    first = env.tk.run(NAME)
    assert first.ok and not first.rejected
    ids = linked_ids(env)
    for sf_id in ids:
        record, contact = sf_record(env, sf_id), env.brevo_contact(sf_id)
        assert contact is not None
        assert contact["attributes"]["NEWSLETTER"] is record["Newsletter_Opt_In__c"]
        assert contact["attributes"].get("TIER") == record["Loyalty_Tier__c"]
    assert {sf_record(env, i)["Newsletter_Opt_In__c"] for i in ids} == {True, False}
    assert len({sf_record(env, i)["Loyalty_Tier__c"] for i in ids}) > 2
    # Brevo -> Salesforce: a category value (sent as its number, as Brevo's API takes it) and a boolean.
    sf_id = next(i for i in ids if sf_record(env, i)["Loyalty_Tier__c"] != "Gold")
    flag = sf_record(env, sf_id)["Newsletter_Opt_In__c"]
    brevo_edit(env, sf_id, TIER=3, NEWSLETTER=not flag)
    result = env.tk.run(NAME)
    assert result.ok and result.counts["to_salesforce.update"] == 1
    record = sf_record(env, sf_id)
    assert (record["Loyalty_Tier__c"], record["Newsletter_Opt_In__c"]) == ("Gold", not flag)
    sf_update(env, sf_id, Loyalty_Tier__c="Platinum", Newsletter_Opt_In__c=flag)
    assert env.tk.run(NAME).counts["to_brevo.update"] == 1
    assert (brevo_attr(env, sf_id, "TIER"), brevo_attr(env, sf_id, "NEWSLETTER")) == ("Platinum", flag)
    assert env.tk.run(NAME).tasks == 0


# -- B6 ----------------------------------------------------------------------------------------------


def test_b6_mass_delete_guard_holds_only_the_deletions_until_confirmed(env_factory: Any) -> None:
    env, list_id = started(env_factory, contacts=40)
    env.tk.store.update_integration(NAME, mass_delete_min=2)  # 3 of 40: above 5% and above 2 records
    in_brevo, in_sf = no_case(env, 6)[:3], no_case(env, 6)[3:]
    other = next(i for i in linked_ids(env) if i not in in_brevo + in_sf)
    for sf_id in in_brevo:
        assert env.tk.brevo().delete_contact(sf_id, "ext_id")
    sf_update(env, other, FirstName="Still-Written")
    deletes = env.sf_calls("DELETE", COMPOSITE)
    blocked = env.tk.run(NAME, full=True)
    assert (
        blocked.status == RunStatus.BLOCKED and blocked.tasks == 1 and blocked.counts["to_brevo.update"] == 1
    )
    assert env.brevo_contact(other)["attributes"]["FIRSTNAME"] == "Still-Written"  # type: ignore[index]
    assert blocked.message is not None and "3 of 40" in blocked.message and "Brevo" in blocked.message
    assert "--confirm-deletes" in blocked.message and blocked.counts["blocked_deletes"] == 3
    assert env.sf_calls("DELETE", COMPOSITE) == deletes and len(env.tk.links(NAME)) == 40
    assert not any(sf_record(env, i)["IsDeleted"] for i in in_brevo)
    states = {link.sf_id: link.state for link in env.tk.links(NAME)}
    assert {states[i] for i in in_brevo} == {LinkState.HELD_BREVO_DELETE}
    assert env.tk.store.get_integration(NAME).status == IntegrationStatus.ACTIVE  # blocked, not broken
    again = env.tk.run(NAME)  # still waiting, and said so
    assert (
        again.status == RunStatus.BLOCKED and "3 deletions wait" in (again.message or "") and again.tasks == 0
    )
    confirmed = env.tk.run(NAME, confirm_deletes=True)
    assert confirmed.ok and confirmed.counts["to_salesforce.delete"] == 3
    assert all(sf_record(env, i)["IsDeleted"] for i in in_brevo) and len(env.tk.links(NAME)) == 37
    # Deletions made in Salesforce: held on incremental and on full runs alike.
    assert all(r["success"] for r in env.sandbox.salesforce.delete_many(in_sf))
    for full in (False, True):
        stopped = env.tk.run(NAME, full=full)
        assert stopped.status == RunStatus.BLOCKED, (full, stopped)
        assert (
            stopped.message is not None and "3 of 37" in stopped.message and "Salesforce" in stopped.message
        )
        assert all(list_id in env.brevo_contact(i)["listIds"] for i in in_sf)  # type: ignore[index]
        assert len(env.tk.links(NAME)) == 37
    assert {link.state for link in env.tk.links(NAME) if link.sf_id in in_sf} == {LinkState.HELD_DELETE}
    removed = env.tk.run(NAME, confirm_deletes=True)
    assert removed.ok and removed.counts["to_brevo.delete"] == 3
    assert all(list_id not in env.brevo_contact(i)["listIds"] for i in in_sf)  # type: ignore[index]
    assert len(env.tk.links(NAME)) == 34
    assert not open_rejections(env, "Y10")


def test_b6_one_deletion_on_a_small_list_goes_through(env_factory: Any) -> None:
    env, _ = started(env_factory, contacts=15)
    [gone] = no_case(env, 1)
    assert all(r["success"] for r in env.sandbox.salesforce.delete_many([gone]))
    result = env.tk.run(NAME)  # 1 of 15 is above 5%, but not above 25 records: no confirmation needed
    assert result.ok and result.counts["to_brevo.delete"] == 1 and "blocked_deletes" not in result.counts


# -- conflicts ---------------------------------------------------------------------------------------


def _edit_both_sides(env: Env) -> tuple[str, str]:
    """The same field changed on both sides of one record, different fields of another."""
    same, different = linked_ids(env)[:2]
    sf_update(env, same, FirstName="Sf-Wert")
    brevo_edit(env, same, FIRSTNAME="Brevo-Wert")
    sf_update(env, different, LastName="Sf-Nachname")
    brevo_edit(env, different, FIRSTNAME="Brevo-Vorname")
    return same, different


def _check_settled(env: Env, same: str, different: str, winner: str, value: str) -> None:
    result = env.tk.run(NAME)
    assert result.ok and result.counts["conflicts"] == 1 and not result.rejected
    assert result.samples["conflicts"] == [{"Id": same, "fields": ["FIRSTNAME"], "winner": winner}]
    assert sf_record(env, same)["FirstName"] == value and brevo_attr(env, same, "FIRSTNAME") == value
    # Different fields changed on both sides: both changes survive, on both sides.
    record = sf_record(env, different)
    assert (record["FirstName"], record["LastName"]) == ("Brevo-Vorname", "Sf-Nachname")
    assert (brevo_attr(env, different, "FIRSTNAME"), brevo_attr(env, different, "LASTNAME")) == (
        "Brevo-Vorname",
        "Sf-Nachname",
    )
    [conflict] = env.tk.store.list_conflicts(env.tk.store.get_integration(NAME).id)
    assert (conflict.sf_id, conflict.winner, conflict.run_id) == (same, winner, result.run_id)
    assert (conflict.sf_values, conflict.brevo_values) == (
        {"FIRSTNAME": "Sf-Wert"},
        {"FIRSTNAME": "Brevo-Wert"},
    )
    for _ in range(2):  # settled: nothing flips back and forth afterwards
        assert env.tk.run(NAME).tasks == 0
    assert sf_record(env, same)["FirstName"] == value and brevo_attr(env, same, "FIRSTNAME") == value


def test_conflict_salesforce_wins_by_default_and_is_recorded(env_factory: Any) -> None:
    env, _ = started(env_factory)
    assert env.tk.store.get_integration(NAME).conflict_winner == "salesforce"
    same, different = _edit_both_sides(env)
    _check_settled(env, same, different, "salesforce", "Sf-Wert")


def test_conflict_brevo_wins_when_configured(env_factory: Any) -> None:
    env, _ = started(env_factory)
    env.tk.store.update_integration(NAME, conflict_winner="brevo")
    same, different = _edit_both_sides(env)
    _check_settled(env, same, different, "brevo", "Brevo-Wert")
