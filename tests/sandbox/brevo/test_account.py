"""Brevo sandbox: the Python seeding API and saving/restoring an account."""

from __future__ import annotations

import json

import pytest

from toolkit.sandbox.brevo import BrevoAccount, BrevoError
from toolkit.sandbox.brevo.imports import ImportJob
from toolkit.sandbox.clock import Clock


def test_seeding_api_follows_the_http_rules(clock: Clock) -> None:
    account = BrevoAccount(clock)
    folder = account.create_folder("Salesforce")
    list_id = account.create_list("SF Contacts", folder)
    contact_id = account.create_contact(
        email="Sam@Example.com",
        ext_id="003A",
        list_ids=[list_id],
        attributes={"firstname": "Sam", "SMS": "+4915123456789", "UNKNOWN": 1},
    )
    [contact] = account.contacts()
    assert (
        contact["id"] == contact_id
        and contact["email"] == "sam@example.com"
        and contact["attributes"]["EXT_ID"] == "003A"
    )
    assert contact["attributes"] == {"FIRSTNAME": "Sam", "SMS": "4915123456789", "EXT_ID": "003A"}
    assert contact["listIds"] == [list_id]
    with pytest.raises(BrevoError) as duplicate:
        account.create_contact(email="other@example.com", ext_id="003A")
    assert duplicate.value.code == "duplicate_parameter"
    with pytest.raises(ValueError, match="Invalid phone number"):
        account.create_contact(email="p@example.com", attributes={"SMS": "0151 2345678"})
    with pytest.raises(ValueError):
        account.create_list("Nowhere", 999)


def test_to_dict_and_from_dict_round_trip(clock: Clock) -> None:
    account = BrevoAccount(clock, api_key="xkeysib-" + "a" * 64 + "-BBBBBBBBBBBBBBBB")
    list_id = account.create_list("Leads", account.create_folder("SF"))
    account.create_contact(email="a@example.com", ext_id="1", list_ids=[list_id, 2])
    account.create_contact(attributes={"SMS": "+33612345678"})
    data = json.loads(json.dumps(account.to_dict()))
    restored = BrevoAccount.from_dict(data, clock)
    assert restored.api_key == account.api_key
    assert restored.contacts() == account.contacts()
    assert restored.contact_store.by_ext_id("1") is not None
    assert [c.id for c in restored.contact_store.members(list_id)] == [1]
    assert restored.create_contact(email="b@example.com") == 3
    assert restored.create_list("Next", 1) == list_id + 1
    with pytest.raises(BrevoError):
        restored.create_contact(attributes={"SMS": "0033612345678"})


def test_an_unfinished_import_runs_again_after_restore(clock: Clock) -> None:
    account = BrevoAccount(clock)
    account.processes.pause()
    process = account.processes.submit(ImportJob(list_ids=[2], json_body=[{"email": "later@example.com"}]))
    data = json.loads(json.dumps(account.to_dict()))
    assert account.contacts() == []
    restored = BrevoAccount.from_dict(data, clock)
    assert restored.wait_for_imports(5)
    assert restored.processes.get(process.id).status == "completed"  # type: ignore[union-attr]
    assert [c["email"] for c in restored.contacts()] == ["later@example.com"]
