"""A real org's data through the engine and the sandbox over HTTPS (issue 12), one test per point.

Rule ids (README, "Rules"): the SPEC's, D1 (two records, one e-mail), D2 (a Lead and a Contact
of one person), L1 (Lead conversion), B9 (a contact taken off the list in Brevo).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.sync import MAPPING, Env, setup_integration
from toolkit.brevo import contact_ext_id
from toolkit.store import LinkState


def _contact(env: Env, **fields: Any) -> str:
    [result] = env.sandbox.salesforce.create_many("Contact", [{"LastName": "Weber", **fields}])
    assert result["success"], result
    return str(result["id"])


def _lead(env: Env, **fields: Any) -> str:
    [result] = env.sandbox.salesforce.create_many("Lead", [{"LastName": "Lead", "Company": "Acme", **fields}])
    assert result["success"], result
    return str(result["id"])


def _update(env: Env, sf_id: str, obj: str = "Contact", **fields: Any) -> None:
    [result] = env.sandbox.salesforce.update_many(obj, [{"Id": sf_id, **fields}])
    assert result["success"], result


def _by_email(env: Env, email: str) -> list[dict[str, Any]]:
    return [c for c in env.sandbox.brevo.contacts() if c.get("email") == email.lower()]


def _state(env: Env, integration: str, sf_id: str) -> tuple[str, str | None]:
    [link] = [link for link in env.tk.links(integration) if link.sf_id == sf_id]
    return link.state, link.detail


# -- 1. clearing -----------------------------------------------------------------------------------


def test_clearing_a_field_emptied_in_salesforce_empties_brevo_and_never_comes_back(env_factory: Any) -> None:
    env: Env = env_factory()
    env.tk.brevo().create_attribute("normal", "TITLE", "text")
    sf_id = _contact(
        env,
        Email="clear@example.org",
        FirstName="Cleo",
        Title="Head of Sales",
        MobilePhone="+49 151 23456789",
    )
    setup_integration(env.tk, mapping={**MAPPING, "TITLE": "Title"})
    assert env.tk.run("contacts").ok
    assert (env.brevo_contact(sf_id) or {})["attributes"]["TITLE"] == "Head of Sales"
    _update(env, sf_id, Title=None, MobilePhone=None)
    cleared = env.tk.run("contacts")
    assert cleared.ok and cleared.counts["to_brevo.update"] == 1 and cleared.counts["cleared"] == 1
    attributes = (env.brevo_contact(sf_id) or {})["attributes"]
    assert "TITLE" not in attributes  # emptied in Brevo too
    assert attributes["SMS"] == "4915123456789"  # Y7: an emptied phone does not blank Brevo's
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", attributes={"FIRSTNAME": "Cleopatra"})
    back = env.tk.run("contacts")
    assert back.ok and back.counts["to_salesforce.update"] == 1
    record = env.sandbox.salesforce.get("Contact", sf_id) or {}
    assert record["FirstName"] == "Cleopatra" and record["Title"] is None  # the old Title never returns


# -- 2. phones -----------------------------------------------------------------------------------


def test_phones_national_numbers_become_international_and_a_bad_one_leaves_only_itself_out(
    env_factory: Any,
) -> None:
    env: Env = env_factory()
    assert env.sandbox.salesforce.company.country == "Germany"
    german = _contact(env, Email="de@example.org", MobilePhone="0151 23456789")  # no country: the org's
    french = _contact(env, Email="fr@example.org", MobilePhone="06 12 34 56 78", MailingCountry="France")
    bad = _contact(env, Email="bad@example.org", MobilePhone="0000", FirstName="Bea")
    setup_integration(env.tk)
    assert env.tk.store.get_integration("contacts").default_region == "DE"  # from Organization.Country
    result = env.tk.run("contacts")
    assert result.ok and result.counts["to_brevo.create"] == 3 and result.rejected == {"PHONE_INVALID": 1}
    assert (env.brevo_contact(german) or {})["attributes"]["SMS"] == "4915123456789"
    assert (env.brevo_contact(french) or {})["attributes"]["SMS"] == "33612345678"
    contact = env.brevo_contact(bad) or {}
    assert contact["email"] == "bad@example.org" and contact["attributes"]["FIRSTNAME"] == "Bea"
    assert "SMS" not in contact["attributes"]
    [rejection] = env.tk.rejections("contacts")
    assert (rejection["record_id"], rejection["rule"], rejection["field"]) == (
        bad,
        "PHONE_INVALID",
        "MobilePhone",
    )
    _update(env, bad, MobilePhone="0171 2345678")  # fixed: retried and resolved (A3)
    assert env.tk.run("contacts").ok and not env.tk.rejections("contacts")
    assert (env.brevo_contact(bad) or {})["attributes"]["SMS"] == "491712345678"


def test_y9_a_lead_with_a_phone_of_the_wrong_length_is_still_not_passed_on(env_factory: Any) -> None:
    env: Env = env_factory()
    short = _lead(env, Email="short@example.org", MobilePhone="12345")
    setup_integration(env.tk, "leads", "Lead")
    result = env.tk.run("leads")
    assert result.ok and result.rejected == {"Y9": 1} and env.brevo_contact(short) is None


# -- 3. duplicates -------------------------------------------------------------------------------


def test_d1_two_contacts_with_one_email_the_older_keeps_the_brevo_contact(env_factory: Any) -> None:
    env: Env = env_factory()
    first = _contact(env, Email="twice@example.org", FirstName="First")
    env.sandbox.clock.advance(timedelta(minutes=1))  # created later: the younger of the two
    second = _contact(env, Email="Twice@Example.org", FirstName="Second")
    env.sandbox.clock.advance(timedelta(minutes=1))
    _contact(env, Email="later@example.org")  # the cursor's boundary: the second is not read again by it
    setup_integration(env.tk)
    result = env.tk.run("contacts")
    assert result.ok and result.counts["to_brevo.create"] == 2 and result.rejected == {"D1": 1}
    [only] = _by_email(env, "twice@example.org")
    assert contact_ext_id(only) == first and only["attributes"]["FIRSTNAME"] == "First"
    [rejection] = env.tk.rejections("contacts")
    assert rejection["record_id"] == second and rejection["rule"] == "D1" and first in rejection["reason"]
    assert env.tk.run("contacts").tasks == 0  # not reported again while nothing changed
    _update(env, first, Email="first.moved@example.org")  # the holder lets the address go ...
    moved = env.tk.run("contacts")
    assert moved.ok and moved.counts["to_brevo.update"] == 1
    retried = env.tk.run("contacts")  # ... and the next run gives it to the other, in its one import
    assert retried.ok and retried.counts["to_brevo.create"] == 1
    assert contact_ext_id(_by_email(env, "twice@example.org")[0]) == second
    assert not env.tk.rejections("contacts")


@pytest.mark.parametrize("first_run", ["contacts", "leads"])
def test_d2_a_person_who_is_a_lead_and_a_contact_has_one_brevo_contact_owned_by_the_contact(
    env_factory: Any, first_run: str
) -> None:
    env: Env = env_factory()
    lead_id = _lead(env, Email="both@example.org", FirstName="Lena")
    contact_id = _contact(env, Email="both@example.org", FirstName="Lena")
    contacts_list = setup_integration(env.tk, "contacts", "Contact")
    setup_integration(env.tk, "leads", "Lead")
    runs = {
        name: env.tk.run(name) for name in (first_run, {"contacts": "leads", "leads": "contacts"}[first_run])
    }
    assert all(r.ok for r in runs.values())
    [contact] = _by_email(env, "both@example.org")
    assert contact_ext_id(contact) == contact_id and contacts_list in contact["listIds"]
    assert _state(env, "leads", lead_id) == (LinkState.SUPERSEDED, contact_id)
    assert env.tk.run("leads").tasks == 0 and env.tk.run("contacts").tasks == 0


# -- 4. Lead conversion ------------------------------------------------------------------------------


@pytest.mark.parametrize("first_run", ["contacts", "leads"])
def test_l1_a_converted_leads_contact_is_handed_over_to_its_contact(env_factory: Any, first_run: str) -> None:
    env: Env = env_factory()
    lead_id = _lead(env, Email="convert@example.org", FirstName="Conny", MobilePhone="+49 151 11112222")
    contacts_list = setup_integration(env.tk, "contacts", "Contact")
    leads_list = setup_integration(env.tk, "leads", "Lead")
    assert env.tk.run("contacts").ok and env.tk.run("leads").ok
    before = env.brevo_contact(lead_id) or {}
    assert before and leads_list in before["listIds"]
    contact_id = env.sandbox.salesforce.convert_lead(lead_id)
    deletes = env.brevo_calls("DELETE") + env.brevo_calls("POST", "/v3/contacts/lists")
    other = {"contacts": "leads", "leads": "contacts"}[first_run]
    first, second = env.tk.run(first_run), env.tk.run(other)
    assert first.ok and second.ok
    handed = {first_run: first, other: second}["contacts"]
    assert handed.counts["to_brevo.handover"] == 1 and handed.tasks == 1  # one task
    after = env.brevo_contact(contact_id) or {}
    assert after["id"] == before["id"]  # the same Brevo contact, no duplicate, nothing deleted
    assert contact_ext_id(after) == contact_id and env.brevo_contact(lead_id) is None
    assert contacts_list in after["listIds"] and len(_by_email(env, "convert@example.org")) == 1
    assert env.brevo_calls("DELETE") + env.brevo_calls("POST", "/v3/contacts/lists") == deletes
    assert _state(env, "leads", lead_id) == (LinkState.SUPERSEDED, contact_id)
    env.tk.brevo().update_contact(contact_id, identifier_type="ext_id", attributes={"FIRSTNAME": "Constance"})
    assert env.tk.run("contacts").counts["to_salesforce.update"] == 1  # the Contact owns it now
    assert (env.sandbox.salesforce.get("Contact", contact_id) or {})["FirstName"] == "Constance"
    assert env.tk.run("leads").tasks == 0


# -- 7. deletions and removals made in Brevo ------------------------------------------------------------


def test_y10_a_contact_deleted_in_brevo_is_not_recreated_by_a_salesforce_edit(env_factory: Any) -> None:
    env: Env = env_factory()
    ids = [_contact(env, Email=f"keep{i}@example.org") for i in range(20)]
    setup_integration(env.tk)
    assert env.tk.run("contacts").ok
    gone = ids[0]
    assert env.tk.brevo().delete_contact(gone, "ext_id")
    _update(env, gone, FirstName="Edited")  # edited in Salesforce before any deletion check
    result = env.tk.run("contacts")
    assert result.ok and "to_brevo.update" not in result.counts and result.counts["to_salesforce.delete"] == 1
    assert env.brevo_contact(gone) is None and not _by_email(env, "keep0@example.org")
    assert (env.sandbox.salesforce.get("Contact", gone) or {})["IsDeleted"]  # Y10, in this run


def test_y10_an_edit_made_with_the_brevo_deletion_is_settled_by_it_however_often_it_is_read(
    env_factory: Any,
) -> None:
    """Edited in Salesforce and deleted in Brevo between two runs, with a Case (Salesforce refuses the
    delete): the deletion settles the edit. Reading the record again (a crash replay, the cursor's
    same-second group, a full run) does not bring the contact back; the next edit does."""
    env: Env = env_factory(contacts=40, seed=7)
    setup_integration(env.tk)
    assert env.tk.run("contacts").ok
    with_case = {c["ContactId"] for c in env.sandbox.salesforce.records("Case")}
    kept = sorted(with_case & {link.sf_id for link in env.tk.links("contacts")})[0]
    _update(env, kept, Email="moved@example.org")
    assert env.tk.brevo().delete_contact(kept, "ext_id")
    refused = env.tk.run("contacts")
    assert refused.ok and refused.rejected == {"Y10": 1} and "to_brevo.update" not in refused.counts
    for full in (False, True):
        again = env.tk.run("contacts", full=full)
        assert again.ok and again.tasks == 0, again.counts
    assert env.brevo_contact(kept) is None and not _by_email(env, "moved@example.org")
    assert _state(env, "contacts", kept)[0] == LinkState.KEPT
    assert [r["rule"] for r in env.tk.rejections("contacts")] == ["Y10"]
    _update(env, kept, FirstName="Later")
    back = env.tk.run("contacts")
    assert back.ok and back.counts.get("to_brevo.create") == 1 and not env.tk.rejections("contacts")
    assert (env.brevo_contact(kept) or {}).get("email") == "moved@example.org"


def test_b9_a_contact_taken_off_the_list_in_brevo_is_not_put_back_and_still_synced(env_factory: Any) -> None:
    env: Env = env_factory()
    sf_id = _contact(env, Email="off@example.org", FirstName="Otto")
    list_id = setup_integration(env.tk)
    assert env.tk.run("contacts").ok
    env.tk.brevo().remove_from_list(list_id, [sf_id])
    _update(env, sf_id, FirstName="Ottokar")
    result = env.tk.run("contacts")
    assert result.ok and result.counts["to_brevo.update"] == 1 and result.counts["left_list"] == 1
    contact = env.brevo_contact(sf_id) or {}
    assert list_id not in contact["listIds"] and contact["attributes"]["FIRSTNAME"] == "Ottokar"
    assert _state(env, "contacts", sf_id)[0] == LinkState.LEFT_LIST
    [rejection] = env.tk.rejections("contacts")
    assert rejection["rule"] == "B9" and rejection["record_id"] == sf_id
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", attributes={"LASTNAME": "Brevo-Seite"})
    assert env.tk.run("contacts").counts["to_salesforce.update"] == 1  # its Brevo edits still flow
    assert (env.sandbox.salesforce.get("Contact", sf_id) or {})["LastName"] == "Brevo-Seite"
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", list_ids=[list_id])  # put back in Brevo
    assert env.tk.run("contacts").counts["back_on_list"] == 1
    assert _state(env, "contacts", sf_id)[0] == LinkState.ACTIVE and not env.tk.rejections("contacts")
