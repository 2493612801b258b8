"""Salesforce sandbox sObject Collections (``composite/sobjects``): order, allOrNone, limits, retrieve."""

from __future__ import annotations

from typing import Any

from tests.support.salesforce import API, UNKNOWN_CONTACT_ID, SfEnv

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    "fields": [],
}


def _contact(record_id: str | None = None, **fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"attributes": {"type": "Contact"}, **fields}
    if record_id:
        rec["id"] = record_id
    return rec


def test_patch_with_one_too_long_value_reports_results_in_request_order(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(4)
    results = sf_env.sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                _contact(ids[0], FirstName="A"),
                _contact(ids[1], FirstName="B" * 41),
                _contact(ids[2], FirstName="C"),
                _contact(ids[3], FirstName="D"),
            ],
        },
    )
    assert [r["id"] for r in results] == ids
    assert [r["success"] for r in results] == [True, False, True, True]
    assert results[1]["errors"] == [
        {
            "statusCode": "STRING_TOO_LONG",
            "fields": ["FirstName"],
            "message": f"First Name: data value too large: {'B' * 41} (max length=40)",
        }
    ]
    stored = [sf_env.org.record("Contact", i) for i in ids]
    assert [s["FirstName"] for s in stored] == ["A", "First1", "C", "D"]
    stamps = {stored[i]["SystemModstamp"] for i in (0, 2, 3)}
    assert len(stamps) == 1 and stored[1]["SystemModstamp"] < stamps.pop()


def test_all_or_none_rolls_every_record_back(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(3)
    results = sf_env.sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": True,
            "records": [
                _contact(ids[0], FirstName="A"),
                _contact(ids[1], Email="bad"),
                _contact(ids[2], FirstName="C"),
            ],
        },
    )
    assert results[0] == {"id": ids[0], "success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert results[2]["errors"] == [ROLLED_BACK]
    assert [sf_env.org.record("Contact", i)["FirstName"] for i in ids] == ["First0", "First1", "First2"]


def test_create_collection_of_mixed_objects(sf_env: SfEnv) -> None:
    results = sf_env.sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                _contact(LastName="One"),
                {"attributes": {"type": "Lead"}, "LastName": "Two"},
                {"attributes": {"type": "Lead"}, "LastName": "Three", "Company": "Acme"},
            ],
        },
    )
    assert results[0]["success"] and results[0]["id"].startswith("003")
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Company]",
                "fields": ["Company"],
            }
        ],
    }
    assert results[2]["success"] and results[2]["id"].startswith("00Q")
    a, c = sf_env.org.record("Contact", results[0]["id"]), sf_env.org.record("Lead", results[2]["id"])
    assert a["SystemModstamp"] == c["SystemModstamp"]


def test_more_than_200_records_is_refused(sf_env: SfEnv) -> None:
    resp = sf_env.call(
        "POST",
        f"{API}/composite/sobjects",
        json={"records": [_contact(LastName=f"L{i}") for i in range(201)]},
    )
    assert resp.status_code == 400
    assert resp.json() == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
        }
    ]
    assert sf_env.org.records("Contact") == []


def test_records_need_a_type(sf_env: SfEnv) -> None:
    resp = sf_env.call("POST", f"{API}/composite/sobjects", json={"records": [{"LastName": "X"}]})
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "INVALID_TYPE"


def test_update_without_id_is_missing_argument(sf_env: SfEnv) -> None:
    [result] = sf_env.sf.restful(
        "composite/sobjects", method="PATCH", json={"records": [_contact(LastName="X")]}
    )
    assert result["errors"][0]["statusCode"] == "MISSING_ARGUMENT"


def test_delete_collection_in_order_with_per_record_errors(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(2)
    resp = sf_env.call(
        "DELETE",
        f"{API}/composite/sobjects",
        params={"ids": f"{ids[0]},{UNKNOWN_CONTACT_ID},{ids[1]}", "allOrNone": "false"},
    )
    results = resp.json()
    assert resp.status_code == 200 and [r.get("id") for r in results] == [ids[0], UNKNOWN_CONTACT_ID, ids[1]]
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert sf_env.org.record("Contact", ids[0])["IsDeleted"] is True


def test_delete_all_or_none_keeps_every_record(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(2)
    results = sf_env.call(
        "DELETE", f"{API}/composite/sobjects", params={"ids": f"{ids[0]},nonsense", "allOrNone": "true"}
    ).json()
    assert results[0]["errors"] == [ROLLED_BACK] and results[1]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert sf_env.org.record("Contact", ids[0])["IsDeleted"] is False


def test_retrieve_returns_records_in_order_and_null_for_unknown_ids(sf_env: SfEnv) -> None:
    ids = sf_env.contacts(2)
    resp = sf_env.get(
        f"{API}/composite/sobjects/Contact",
        params={"ids": f"{ids[1]},{UNKNOWN_CONTACT_ID},{ids[0]}", "fields": "Id,Email"},
    )
    body = resp.json()
    assert resp.status_code == 200 and body[1] is None
    assert [b["Email"] for b in (body[0], body[2])] == ["person1@example.com", "person0@example.com"]
    assert body[0]["attributes"]["url"] == f"{API}/sobjects/Contact/{ids[1]}"
