"""Salesforce sandbox record validation: each error code and message, over REST and the Python API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.salesforce import API, UNKNOWN_CONTACT_ID, SfEnv


def _create(env: SfEnv, sobject: str, body: dict[str, Any]) -> tuple[int, Any]:
    resp = env.call("POST", f"{API}/sobjects/{sobject}/", json=body)
    return resp.status_code, resp.json()


def _collection(env: SfEnv, method: str, records: list[dict[str, Any]], all_or_none: bool = False) -> Any:
    resp = env.call(method, f"{API}/composite/sobjects", json={"allOrNone": all_or_none, "records": records})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_required_field_missing_names_every_missing_field(sf_env: SfEnv) -> None:
    assert _create(sf_env, "Contact", {"FirstName": "No"}) == (
        400,
        [
            {
                "message": "Required fields are missing: [LastName]",
                "errorCode": "REQUIRED_FIELD_MISSING",
                "fields": ["LastName"],
            }
        ],
    )
    status, body = _create(sf_env, "Lead", {"FirstName": "No"})
    assert status == 400 and body[0]["fields"] == ["LastName", "Company"]
    assert body[0]["message"] == "Required fields are missing: [LastName, Company]"


def test_blanking_last_name_on_update_is_required_field_missing(sf_env: SfEnv) -> None:
    [cid] = sf_env.contacts(1)
    resp = sf_env.call("PATCH", f"{API}/sobjects/Contact/{cid}", json={"LastName": ""})
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert sf_env.org.record("Contact", cid)["LastName"] == "Last0"


def test_string_too_long_quotes_label_value_and_length(sf_env: SfEnv) -> None:
    status, body = _create(sf_env, "Lead", {"LastName": "X", "Company": "C", "FirstName": "A" * 41})
    assert status == 400
    assert body == [
        {
            "message": f"First Name: data value too large: {'A' * 41} (max length=40)",
            "errorCode": "STRING_TOO_LONG",
            "fields": ["FirstName"],
        }
    ]
    status, body = _create(sf_env, "Contact", {"LastName": "X", "MailingPostalCode": "1" * 21})
    assert body[0]["message"].startswith("Mailing Zip/Postal Code: data value too large")


def test_invalid_email_address(sf_env: SfEnv) -> None:
    assert _create(sf_env, "Contact", {"LastName": "X", "Email": "not-an-email"}) == (
        400,
        [
            {
                "message": "Email: invalid email address: not-an-email",
                "errorCode": "INVALID_EMAIL_ADDRESS",
                "fields": ["Email"],
            }
        ],
    )


def test_restricted_picklist_refuses_unknown_values(sf_env: SfEnv) -> None:
    status, body = _create(sf_env, "Contact", {"LastName": "X", "Loyalty_Tier__c": "Diamond"})
    assert status == 400 and body == [
        {
            "message": "Loyalty Tier: bad value for restricted picklist field: Diamond",
            "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "fields": ["Loyalty_Tier__c"],
        }
    ]
    assert _create(sf_env, "Contact", {"LastName": "X", "Loyalty_Tier__c": "Gold"})[0] == 201


def test_unknown_field_fails_the_request_with_invalid_field(sf_env: SfEnv) -> None:
    assert _create(sf_env, "Contact", {"LastName": "X", "Foo": 1}) == (
        400,
        [{"message": "No such column 'Foo' on sobject of type Contact", "errorCode": "INVALID_FIELD"}],
    )


def test_formula_and_read_only_fields_cannot_be_written(sf_env: SfEnv) -> None:
    status, body = _create(sf_env, "Contact", {"LastName": "X", "Full_Name__c": "Y"})
    assert status == 400 and body == [
        {
            "message": "Unable to create/update fields: Full_Name__c. Please check the security settings of this "
            "field and verify that it is read/write for your profile or permission set.",
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": ["Full_Name__c"],
        }
    ]
    [lead] = sf_env.org.create_many("Lead", [{"LastName": "L", "Company": "C"}])
    resp = sf_env.call("PATCH", f"{API}/sobjects/Lead/{lead['id']}", json={"IsConverted": True})
    assert resp.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_malformed_ids_in_collections_and_paths(sf_env: SfEnv) -> None:
    [lead] = sf_env.org.create_many("Lead", [{"LastName": "L", "Company": "C"}])
    results = _collection(
        sf_env,
        "PATCH",
        [
            {"attributes": {"type": "Contact"}, "id": "003abc", "LastName": "X"},
            {"attributes": {"type": "Contact"}, "id": lead["id"], "LastName": "X"},
        ],
    )
    assert [r["errors"][0]["statusCode"] for r in results] == ["MALFORMED_ID", "MALFORMED_ID"]
    assert results[1]["errors"][0]["message"] == f"Contact ID: id value of incorrect type: {lead['id']}"
    resp = sf_env.get(f"{API}/sobjects/Contact/{lead['id']}")
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "MALFORMED_ID"
    bad_ref = _create(sf_env, "Case", {"ContactId": "zzz"})
    assert bad_ref[1][0]["errorCode"] == "MALFORMED_ID" and bad_ref[1][0]["fields"] == ["ContactId"]


def test_writes_to_deleted_records_are_entity_is_deleted(sf_env: SfEnv) -> None:
    [cid] = sf_env.contacts(1)
    sf_env.org.delete_many([cid])
    resp = sf_env.call("PATCH", f"{API}/sobjects/Contact/{cid}", json={"FirstName": "Z"})
    assert resp.status_code == 404
    assert resp.json() == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]
    again = sf_env.call(
        "DELETE", f"{API}/composite/sobjects", params={"ids": cid, "allOrNone": "false"}
    ).json()
    assert again == [
        {
            "id": cid,
            "success": False,
            "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}],
        }
    ]


def test_contact_with_an_open_case_cannot_be_deleted(sf_env: SfEnv) -> None:
    [contact] = sf_env.org.create_many(
        "Contact", [{"Salutation": "Mr.", "FirstName": "Josh", "LastName": "Davis"}]
    )
    cases = sf_env.org.create_many(
        "Case", [{"ContactId": contact["id"], "Subject": f"S{i}"} for i in range(5)]
    )
    sf_env.org.delete_many([c["id"] for c in cases[:4]])
    resp = sf_env.call("DELETE", f"{API}/sobjects/Contact/{contact['id']}")
    assert resp.status_code == 400
    assert resp.json() == [
        {
            "message": "Your attempt to delete Mr. Josh Davis could not be completed because it is associated with "
            "the following cases.: 00001005\n",
            "errorCode": "DELETE_FAILED",
            "fields": [],
        }
    ]
    sf_env.org.delete_many([cases[4]["id"]])
    assert sf_env.call("DELETE", f"{API}/sobjects/Contact/{contact['id']}").status_code == 204


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_unknown_record_id_is_404_not_found(sf_env: SfEnv, method: str) -> None:
    resp = sf_env.call(method, f"{API}/sobjects/Contact/{UNKNOWN_CONTACT_ID}", json={"LastName": "X"})
    assert resp.status_code == 404
    assert resp.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


@pytest.mark.parametrize(
    "field,value,type_name",
    [
        ("Birthdate", "25.09.1990", "date"),
        ("Birthdate", 19900925, "date"),
        ("HasOptedOutOfEmail", "yes", "boolean"),
        ("Customer_Score__c", "high", "double"),
    ],
)
def test_undeserializable_values_fail_the_whole_request(
    sf_env: SfEnv, field: str, value: Any, type_name: str
) -> None:
    [cid] = sf_env.contacts(1)
    resp = sf_env.call(
        "PATCH",
        f"{API}/composite/sobjects",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Contact"}, "id": cid, "LastName": "Changed"},
                {"attributes": {"type": "Contact"}, "id": cid, field: value},
            ],
        },
    )
    assert resp.status_code == 400
    [error] = resp.json()
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    assert error["message"].startswith(f"Cannot deserialize instance of {type_name} from ")
    assert sf_env.org.record("Contact", cid)["LastName"] == "Last0"


def test_dates_numbers_and_multipicklists_are_stored_in_salesforce_form(sf_env: SfEnv) -> None:
    status, body = _create(
        sf_env,
        "Contact",
        {
            "LastName": "X",
            "Birthdate": "1990-09-25",
            "Customer_Score__c": 12.345,
            "Interests__c": "Yoga; Running",
            "Email": "",
            "Newsletter_Opt_In__c": True,
        },
    )
    assert status == 201
    record = sf_env.sf.Contact.get(body["id"])
    assert record["Birthdate"] == "1990-09-25" and record["Customer_Score__c"] == 12.35
    assert record["Interests__c"] == "Yoga;Running" and record["Email"] is None
    assert record["Newsletter_Opt_In__c"] is True


def test_python_api_applies_the_same_validation(sf_env: SfEnv) -> None:
    results = sf_env.org.create_many(
        "Contact", [{"LastName": "Ok"}, {"FirstName": "x" * 41, "LastName": "Y"}, {"FirstName": "NoLast"}]
    )
    assert results[0]["success"] is True
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "STRING_TOO_LONG",
                "message": f"First Name: data value too large: {'x' * 41} (max length=40)",
                "fields": ["FirstName"],
            }
        ],
    }
    assert results[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
