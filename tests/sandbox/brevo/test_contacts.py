"""Brevo sandbox: contact endpoints over HTTPS, as a real client sees them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.clock import Clock


def test_create_then_read_back_by_email_id_and_ext_id(api: str, http: requests.Session) -> None:
    created = http.post(
        f"{api}/contacts",
        json={
            "email": "Ann.Lee@Example.com",
            "ext_id": "0031x00000AbCdE",
            "attributes": {"firstname": "Ann", "LASTNAME": "Lee"},
            "listIds": [2],
        },
    )
    assert created.status_code == 201
    contact_id = created.json()["id"]
    by_email = http.get(f"{api}/contacts/ann.lee%40example.com")
    by_id = http.get(f"{api}/contacts/{contact_id}")
    by_ext = http.get(f"{api}/contacts/0031x00000AbCdE", params={"identifierType": "ext_id"})
    assert by_email.status_code == by_id.status_code == by_ext.status_code == 200
    body = by_ext.json()
    assert body["id"] == contact_id and body["email"] == "ann.lee@example.com"
    assert body["attributes"]["EXT_ID"] == "0031x00000AbCdE" and body["listIds"] == [2]
    assert "ext_id" not in body  # returned only as the attribute EXT_ID (brevo-python GetContactInfoResponse)
    assert body["attributes"] == {"FIRSTNAME": "Ann", "LASTNAME": "Lee", "EXT_ID": "0031x00000AbCdE"}
    assert body["createdAt"].endswith("+00:00") and len(body["createdAt"]) == len(
        "2026-11-27T09:37:04.123+00:00"
    )
    assert by_email.headers["sib-request-id"] != by_id.headers["sib-request-id"]


def test_ext_id_needs_identifier_type(api: str, http: requests.Session) -> None:
    http.post(f"{api}/contacts", json={"ext_id": "SF-1", "attributes": {"SMS": "+33612345678"}})
    missing = http.get(f"{api}/contacts/SF-1")
    assert missing.status_code == 404
    assert missing.json() == {"code": "document_not_found", "message": "Contact does not exist"}
    assert (
        http.get(f"{api}/contacts/33612345678").json()["attributes"]["EXT_ID"] == "SF-1"
    )  # GET accepts the SMS


def test_create_without_identifier_is_missing_parameter(api: str, http: requests.Session) -> None:
    response = http.post(f"{api}/contacts", json={"attributes": {"FIRSTNAME": "Nobody"}})
    assert response.status_code == 400
    assert response.json()["code"] == "missing_parameter"


@pytest.mark.parametrize(
    ("second", "duplicates"),
    [
        ({"email": "taken@example.com"}, ["email"]),
        ({"email": "new@example.com", "ext_id": "SF-TAKEN"}, ["ext_id"]),
        ({"email": "new@example.com", "attributes": {"SMS": "0033612345678"}}, ["SMS"]),
        ({"email": "taken@example.com", "attributes": {"SMS": "33612345678"}}, ["email", "SMS"]),
    ],
)
def test_identifier_already_used_is_duplicate_parameter(
    api: str, http: requests.Session, second: dict, duplicates: list[str]
) -> None:
    first = {"email": "taken@example.com", "ext_id": "SF-TAKEN", "attributes": {"SMS": "+33612345678"}}
    assert http.post(f"{api}/contacts", json=first).status_code == 201
    response = http.post(f"{api}/contacts", json=second)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "duplicate_parameter"
    assert body["metadata"] == {"duplicate_identifiers": duplicates}
    assert body["message"].startswith("Unable to create contact")


def test_update_enabled_updates_existing_contact_with_204(api: str, http: requests.Session) -> None:
    http.post(f"{api}/contacts", json={"email": "a@example.com", "attributes": {"FIRSTNAME": "A"}})
    response = http.post(
        f"{api}/contacts",
        json={"email": "a@example.com", "updateEnabled": True, "attributes": {"FIRSTNAME": "B"}},
    )
    assert response.status_code == 204 and response.content == b""
    assert http.get(f"{api}/contacts/a@example.com").json()["attributes"]["FIRSTNAME"] == "B"


def test_update_changes_email_via_attributes_and_refuses_a_taken_one(
    api: str, http: requests.Session
) -> None:
    http.post(f"{api}/contacts", json={"email": "old@example.com", "ext_id": "SF-1"})
    http.post(f"{api}/contacts", json={"email": "other@example.com"})
    moved = http.put(
        f"{api}/contacts/SF-1",
        params={"identifierType": "ext_id"},
        json={"attributes": {"EMAIL": "new@example.com"}},
    )
    assert moved.status_code == 204
    assert http.get(f"{api}/contacts/new@example.com").json()["attributes"]["EXT_ID"] == "SF-1"
    assert http.get(f"{api}/contacts/old@example.com").status_code == 404
    clash = http.put(f"{api}/contacts/new@example.com", json={"attributes": {"EMAIL": "other@example.com"}})
    assert clash.status_code == 400
    assert clash.json()["code"] == "duplicate_parameter"
    assert clash.json()["metadata"] == {"duplicate_identifiers": ["email"]}


def test_update_and_delete_unknown_contact_are_404(api: str, http: requests.Session) -> None:
    for response in (
        http.put(f"{api}/contacts/ghost@example.com", json={"attributes": {"FIRSTNAME": "X"}}),
        http.delete(f"{api}/contacts/404404"),
    ):
        assert response.status_code == 404
        assert response.json() == {"code": "document_not_found", "message": "Contact does not exist"}


def test_delete_contact(api: str, http: requests.Session) -> None:
    contact_id = http.post(f"{api}/contacts", json={"email": "bye@example.com"}).json()["id"]
    assert http.delete(f"{api}/contacts/{contact_id}").status_code == 204
    assert http.get(f"{api}/contacts/bye@example.com").status_code == 404


def test_values_of_the_wrong_type_and_unknown_attributes_are_ignored(
    api: str, http: requests.Session
) -> None:
    for category, name, body in (
        ("normal", "BIRTHDAY", {"type": "date"}),
        ("normal", "SCORE", {"type": "float"}),
        ("normal", "VIP", {"type": "boolean"}),
        (
            "category",
            "TIER",
            {
                "type": "category",
                "enumeration": [{"value": 1, "label": "Gold"}, {"value": 2, "label": "Silver"}],
            },
        ),
    ):
        assert http.post(f"{api}/contacts/attributes/{category}/{name}", json=body).status_code == 201
    good = {"BIRTHDAY": "1990-09-25", "SCORE": 4.5, "VIP": True, "TIER": 2}
    bad = {
        "BIRTHDAY": "25/09/1990",
        "SCORE": "4.5",
        "VIP": "yes",
        "TIER": "Platinum",
        "NOT_AN_ATTRIBUTE": "x",
    }
    http.post(f"{api}/contacts", json={"email": "good@example.com", "attributes": good})
    response = http.post(f"{api}/contacts", json={"email": "bad@example.com", "attributes": bad})
    assert response.status_code == 201
    assert http.get(f"{api}/contacts/good@example.com").json()["attributes"] == {
        "BIRTHDAY": "1990-09-25",
        "SCORE": 4.5,
        "VIP": True,
        "TIER": "Silver",
    }
    assert http.get(f"{api}/contacts/bad@example.com").json()["attributes"] == {}
    http.put(
        f"{api}/contacts/good@example.com", json={"attributes": {"SCORE": "high", "BIRTHDAY": "1990-13-01"}}
    )
    assert http.get(f"{api}/contacts/good@example.com").json()["attributes"]["SCORE"] == 4.5


@pytest.mark.parametrize("sms", ["+4915123456789", "004915123456789", "4915123456789", "+49 151 2345 6789"])
def test_sms_with_country_code_is_accepted_and_stored_as_digits(
    api: str, http: requests.Session, sms: str
) -> None:
    assert http.post(f"{api}/contacts", json={"attributes": {"SMS": sms}}).status_code == 201
    assert http.get(f"{api}/contacts").json()["contacts"][0]["attributes"]["SMS"] == "4915123456789"


@pytest.mark.parametrize("sms", ["015123456789", "0612345678", "12345", "+49 abc"])
def test_sms_without_country_code_is_invalid_parameter(api: str, http: requests.Session, sms: str) -> None:
    created = http.post(f"{api}/contacts", json={"email": "p@example.com", "attributes": {"SMS": sms}})
    assert created.status_code == 400
    assert created.json()["code"] == "invalid_parameter"
    assert created.json()["message"].startswith("Invalid phone number")
    http.post(f"{api}/contacts", json={"email": "p@example.com"})
    updated = http.put(f"{api}/contacts/p@example.com", json={"attributes": {"SMS": sms}})
    assert updated.status_code == 400 and updated.json()["message"].startswith("Invalid phone number")


def test_modified_at_moves_only_when_something_changes(
    api: str, http: requests.Session, clock: Clock
) -> None:
    http.post(f"{api}/contacts", json={"email": "m@example.com", "attributes": {"FIRSTNAME": "M"}})
    before = http.get(f"{api}/contacts/m@example.com").json()["modifiedAt"]
    clock.advance(timedelta(minutes=5))
    http.put(f"{api}/contacts/m@example.com", json={"attributes": {"FIRSTNAME": "M"}})
    assert http.get(f"{api}/contacts/m@example.com").json()["modifiedAt"] == before
    http.put(f"{api}/contacts/m@example.com", json={"attributes": {"FIRSTNAME": "N"}})
    after = http.get(f"{api}/contacts/m@example.com").json()
    assert after["modifiedAt"] > before and after["createdAt"] == before


def test_modified_since_pages_and_counts_only_changed_contacts(
    api: str, http: requests.Session, clock: Clock
) -> None:
    for i in range(7):
        http.post(f"{api}/contacts", json={"email": f"c{i}@example.com"})
    clock.advance(timedelta(hours=1))
    cursor = clock.now()
    clock.advance(timedelta(seconds=1))
    changed = [1, 3, 4, 6]
    for i in changed:
        http.put(f"{api}/contacts/c{i}@example.com", json={"attributes": {"FIRSTNAME": f"F{i}"}})
    since = cursor.strftime("%Y-%m-%dT%H:%M:%S.") + f"{cursor.microsecond // 1000:03d}Z"
    seen: list[str] = []
    for offset in (0, 2, 4):
        page = http.get(
            f"{api}/contacts", params={"modifiedSince": since, "limit": 2, "offset": offset, "sort": "asc"}
        ).json()
        assert page["count"] == 4
        seen += [c["email"] for c in page["contacts"]]
    assert seen == [f"c{i}@example.com" for i in changed]
    everything = http.get(f"{api}/contacts").json()
    assert everything["count"] == 7 and everything["contacts"][0]["email"] == "c6@example.com"  # newest first


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 1001},
        {"limit": "ten"},
        {"modifiedSince": "2026-11-27"},
        {"sort": "up"},
        {"modifiedSince": "2026-11-27T10:00:00.000 01:00"},
    ],
)
def test_bad_list_parameters_are_400(api: str, http: requests.Session, params: dict) -> None:
    response = http.get(f"{api}/contacts", params=params)
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_parameter", "out_of_range")


def test_batch_updates_each_contact_by_its_own_identifier(api: str, http: requests.Session) -> None:
    first = http.post(f"{api}/contacts", json={"email": "b1@example.com"}).json()["id"]
    http.post(f"{api}/contacts", json={"email": "b2@example.com", "attributes": {"SMS": "+33612345678"}})
    response = http.post(
        f"{api}/contacts/batch",
        json={
            "contacts": [
                {"id": first, "attributes": {"FIRSTNAME": "One"}},
                {"sms": "33612345678", "attributes": {"FIRSTNAME": "Two"}, "listIds": [2]},
            ]
        },
    )
    assert response.status_code == 204
    assert http.get(f"{api}/contacts/{first}").json()["attributes"] == {"FIRSTNAME": "One"}
    assert http.get(f"{api}/contacts/b2@example.com").json()["listIds"] == [2]
    unknown = http.post(f"{api}/contacts/batch", json={"contacts": [{"email": "nobody@example.com"}]})
    assert unknown.status_code == 400


def test_filter_equals_on_an_attribute(api: str, http: requests.Session) -> None:
    http.post(f"{api}/contacts", json={"email": "f1@example.com", "attributes": {"FIRSTNAME": "Antoine"}})
    http.post(f"{api}/contacts", json={"email": "f2@example.com", "attributes": {"FIRSTNAME": "Berta"}})
    found = http.get(f"{api}/contacts", params={"filter": 'equals(FIRSTNAME,"Antoine")'}).json()
    assert found["count"] == 1 and found["contacts"][0]["email"] == "f1@example.com"


def test_concurrent_creates_of_one_email_make_one_contact(
    api: str, http: requests.Session, account: BrevoAccount
) -> None:
    def create(_: int) -> int:
        with requests.Session() as session:
            session.trust_env, session.verify = False, http.verify
            return session.post(
                f"{api}/contacts", json={"email": "race@example.com"}, headers={"api-key": account.api_key}
            ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(16)))
    assert sorted(statuses) == [201] + [400] * 15
    assert http.get(f"{api}/contacts").json()["count"] == 1
