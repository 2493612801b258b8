"""Salesforce sandbox org Python API and Ids: seeding speed, shared timestamps, save/load, Id rules."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pytest

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.salesforce import ids
from toolkit.sandbox.salesforce.org import SalesforceOrg


@pytest.mark.parametrize(
    "id15,suffix",
    [
        ("003RO0000035WQg", "YAM"),  # examples from Salesforce's REST API guide
        ("005R0000000UyrW", "IAS"),
        ("750R0000000zxr8", "IAA"),
    ],
)
def test_checksum_matches_salesforce_ids(id15: str, suffix: str) -> None:
    assert ids.checksum(id15) == suffix
    assert ids.normalize(id15) == id15 + suffix


def test_18_char_ids_are_repaired_from_their_suffix_and_checked() -> None:
    assert ids.normalize("003ro0000035wqgYAM") == "003RO0000035WQgYAM"
    assert ids.normalize("003RO0000035WQgYAM", "003") == "003RO0000035WQgYAM"
    for bad in ("003RO0000035WQ", "003RO0000035WQg!AM", "003RO0000035WQgYA", 123, None):
        assert not ids.is_id(bad)
    with pytest.raises(ids.MalformedIdError):
        ids.normalize("003RO0000035WQgYAM", "00Q")
    with pytest.raises(ids.MalformedIdError):
        ids.normalize("0031O0000035WQgYAM")  # a digit where the suffix says upper-case letter


def test_ids_sort_in_creation_order() -> None:
    made = [ids.make_id("003", n) for n in (1, 9, 10, 35, 36, 61, 62, 3843, 3844, 62**5)]
    assert made == sorted(made)
    assert all(len(i) == 18 and ids.normalize(i) == i for i in made)


def test_seeding_50000_contacts_takes_seconds() -> None:
    org = SalesforceOrg(Clock(), seed=1)
    started = time.perf_counter()
    for chunk in range(5):
        results = org.create_many(
            "Contact",
            [
                {
                    "FirstName": f"F{chunk}-{i}",
                    "LastName": "L",
                    "Email": f"c{chunk}.{i}@example.com",
                    "Phone": "+49 30 123456",
                    "Birthdate": date(1990, 9, 25),
                    "Customer_Score__c": 1.5,
                }
                for i in range(10_000)
            ],
        )
        assert all(r["success"] for r in results)
    assert time.perf_counter() - started < 5
    records = org.records("Contact")
    assert len(records) == 50_000 and records[0]["Birthdate"] == "1990-09-25"


def test_one_call_shares_one_timestamp_and_later_calls_do_not() -> None:
    clock = Clock()
    org = SalesforceOrg(clock)
    first = org.create_many("Contact", [{"LastName": f"L{i}"} for i in range(300)])
    clock.advance(timedelta(seconds=1))
    second = org.create_many("Contact", [{"LastName": "Later"}])
    stamps = {org.record("Contact", r["id"])["SystemModstamp"] for r in first}
    assert len(stamps) == 1
    assert org.record("Contact", second[0]["id"])["CreatedDate"] > stamps.pop()


def test_update_and_delete_through_the_python_api() -> None:
    org = SalesforceOrg(Clock())
    [a, b] = [r["id"] for r in org.create_many("Contact", [{"LastName": "A"}, {"LastName": "B"}])]
    updated = org.update_many("Contact", [{"Id": a, "FirstName": "Ann"}, {"Id": "003x", "FirstName": "X"}])
    assert updated[0] == {"id": a, "success": True, "errors": []}
    assert updated[1]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert org.record("Contact", a)["Name"] == "Ann A"
    assert org.delete_many([b]) == [{"id": b, "success": True, "errors": []}]
    assert [r["Id"] for r in org.records("Contact")] == [a]
    assert [r["Id"] for r in org.records("Contact", include_deleted=True)] == [a, b]
    org.records("Contact")[0]["LastName"] = "mutated"
    assert org.record("Contact", a)["LastName"] == "A"


def test_save_and_load_round_trips_through_json() -> None:
    clock = Clock()
    org = SalesforceOrg(clock, api_daily_limit=500)
    [contact] = org.create_many("Contact", [{"LastName": "Kept", "Interests__c": "Yoga"}])
    [gone] = org.create_many("Contact", [{"LastName": "Gone"}])
    org.create_many("Case", [{"ContactId": contact["id"], "Subject": "S"}])
    org.delete_many([gone["id"]])
    org.allowance.set(used=7)
    loaded = SalesforceOrg.from_dict(json.loads(json.dumps(org.to_dict())), clock)
    assert (loaded.org_id, loaded.user_id, loaded.api_usage) == (org.org_id, org.user_id, (7, 500))
    assert loaded.records("Contact", include_deleted=True) == org.records("Contact", include_deleted=True)
    assert loaded.delete_many([contact["id"]])[0]["errors"][0]["statusCode"] == "DELETE_FAILED"
    [new] = loaded.create_many("Case", [{"Subject": "Next"}])
    assert loaded.record("Case", new["id"])["CaseNumber"] == "00001002" and new["id"] > contact["id"]
    assert (
        loaded.deleted_records("Contact", "2000-01-01T00:00:00.000+0000", "2100-01-01T00:00:00.000+0000")[0][
            "id"
        ]
        == gone["id"]
    )
