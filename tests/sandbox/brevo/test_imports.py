"""Brevo sandbox: asynchronous contact imports and their processes."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from toolkit.sandbox.brevo import BrevoAccount


def run_import(
    http: requests.Session, base: str, body: dict[str, Any], timeout: float = 10.0
) -> dict[str, Any]:
    """Start an import, poll its process until completed and return the process."""
    response = http.post(f"{base}/v3/contacts/import", json=body)
    assert response.status_code == 202, response.text
    process_id = response.json()["processId"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process = http.get(f"{base}/v3/processes/{process_id}").json()
        assert process["status"] in ("queued", "in_process", "completed")
        if process["status"] == "completed":
            return process
        time.sleep(0.05)
    raise AssertionError("import did not complete in time")


def test_import_of_10000_contacts_completes_quickly_and_reads_back_by_ext_id(
    base: str, http: requests.Session
) -> None:
    rows = [
        {
            "email": f"person{i}@example.com",
            "attributes": {"EXT_ID": f"003{i:012d}", "FIRSTNAME": f"First{i}", "LASTNAME": f"Last{i}"},
        }
        for i in range(10_000)
    ]
    started = time.monotonic()
    process = run_import(http, base, {"jsonBody": rows, "listIds": [2]})
    assert time.monotonic() - started < 5
    assert process["name"] == "IMPORTUSER" and "completed_at" in process
    assert all(url is None for url in process["info"]["import"].values())
    contact = http.get(f"{base}/v3/contacts/003000000009876", params={"identifierType": "ext_id"}).json()
    assert contact["email"] == "person9876@example.com"
    assert contact["attributes"] == {
        "FIRSTNAME": "First9876",
        "LASTNAME": "Last9876",
        "EXT_ID": "003000000009876",
    }
    assert "ext_id" not in contact  # Brevo returns the external id only as the attribute EXT_ID
    assert contact["listIds"] == [2]
    assert http.get(f"{base}/v3/contacts", params={"limit": 1}).json()["count"] == 10_000


def test_csv_file_body_with_semicolons(base: str, http: requests.Session) -> None:
    csv = "EMAIL;FIRSTNAME;EXT_ID;SMS\nann@example.com;Ann;SF-1;+4915123456789\nbob@example.com;Bob;SF-2;\n"
    run_import(http, base, {"fileBody": csv, "listIds": [2]})
    ann = http.get(f"{base}/v3/contacts/SF-1", params={"identifierType": "ext_id"}).json()
    assert ann["email"] == "ann@example.com"
    assert ann["attributes"] == {"FIRSTNAME": "Ann", "SMS": "4915123456789", "EXT_ID": "SF-1"}


def test_import_matches_by_ext_id_first_so_an_email_change_is_applied(
    base: str, http: requests.Session
) -> None:
    run_import(
        http,
        base,
        {"jsonBody": [{"email": "old@example.com", "attributes": {"EXT_ID": "SF-1"}}], "listIds": [2]},
    )
    run_import(
        http,
        base,
        {"jsonBody": [{"email": "new@example.com", "attributes": {"EXT_ID": "SF-1"}}], "listIds": [2]},
    )
    contacts = http.get(f"{base}/v3/contacts").json()
    assert contacts["count"] == 1 and contacts["contacts"][0]["email"] == "new@example.com"


def test_a_top_level_ext_id_in_an_import_item_is_ignored(base: str, http: requests.Session) -> None:
    """An import item has only ``email`` and ``attributes`` (brevo-python ImportContactsRequestJsonBodyItem)."""
    run_import(http, base, {"jsonBody": [{"email": "top@example.com", "ext_id": "SF-TOP"}], "listIds": [2]})
    contact = http.get(f"{base}/v3/contacts/top@example.com").json()
    assert "EXT_ID" not in contact["attributes"] and "ext_id" not in contact
    assert http.get(f"{base}/v3/contacts/SF-TOP", params={"identifierType": "ext_id"}).status_code == 404


def test_ext_id_and_email_of_two_different_contacts_are_reported_not_merged(
    base: str, http: requests.Session
) -> None:
    http.post(f"{base}/v3/contacts", json={"email": "a@example.com", "ext_id": "SF-A"})
    http.post(f"{base}/v3/contacts", json={"email": "b@example.com", "ext_id": "SF-B"})
    process = run_import(
        http,
        base,
        {
            "jsonBody": [
                {"email": "b@example.com", "attributes": {"EXT_ID": "SF-A", "FIRSTNAME": "Clash"}},
                {"email": "a@example.com", "attributes": {"EXT_ID": "SF-NEW"}},
            ],
            "listIds": [2],
        },
    )
    report = process["info"]["import"]
    assert report["duplicate_email_id"] and report["duplicate_ext_id"]
    csv_report = http.get(report["duplicate_email_id"])
    assert csv_report.status_code == 200 and "b@example.com" in csv_report.text and "SF-A" in csv_report.text
    contacts = {c["attributes"]["EXT_ID"]: c for c in http.get(f"{base}/v3/contacts").json()["contacts"]}
    assert set(contacts) == {"SF-A", "SF-B"}
    assert contacts["SF-A"]["email"] == "a@example.com" and contacts["SF-A"]["attributes"] == {
        "EXT_ID": "SF-A"
    }


def test_invalid_rows_are_skipped_and_reported(base: str, http: requests.Session) -> None:
    process = run_import(
        http,
        base,
        {
            "jsonBody": [
                {"email": "not-an-email", "attributes": {"FIRSTNAME": "X"}},
                {"email": "local@example.com", "attributes": {"SMS": "0612345678"}},
                {"attributes": {"FIRSTNAME": "No identifier"}},
                {"email": "fine@example.com"},
            ],
            "listIds": [2],
        },
    )
    report = process["info"]["import"]
    assert set(report) == {
        "invalid_emails",
        "duplicate_contact_id",
        "duplicate_ext_id",
        "duplicate_email_id",
        "duplicate_phone_id",
        "duplicate_whatsapp_id",
        "duplicate_landline_number_id",
    }
    assert report["invalid_emails"] and report["duplicate_email_id"] is None
    lines = http.get(report["invalid_emails"]).text.strip().splitlines()
    assert lines[0] == "line;email;ext_id;SMS;reason" and len(lines) == 3
    contacts = http.get(f"{base}/v3/contacts", params={"sort": "asc"}).json()["contacts"]
    # An SMS without a country code does not fit the attribute: ignored, the contact imported without it.
    assert [(c["email"], c["attributes"]) for c in contacts] == [
        ("local@example.com", {}),
        ("fine@example.com", {}),
    ]


def test_empty_values_keep_existing_attributes_unless_asked(base: str, http: requests.Session) -> None:
    http.post(
        f"{base}/v3/contacts",
        json={"email": "e@example.com", "attributes": {"FIRSTNAME": "Eve", "LASTNAME": "Doe"}},
    )
    run_import(
        http,
        base,
        {
            "jsonBody": [{"email": "e@example.com", "attributes": {"FIRSTNAME": "", "LASTNAME": None}}],
            "listIds": [2],
        },
    )
    assert http.get(f"{base}/v3/contacts/e@example.com").json()["attributes"] == {
        "FIRSTNAME": "Eve",
        "LASTNAME": "Doe",
    }
    run_import(
        http,
        base,
        {
            "jsonBody": [{"email": "e@example.com", "attributes": {"FIRSTNAME": ""}}],
            "listIds": [2],
            "emptyContactsAttributes": True,
        },
    )
    assert http.get(f"{base}/v3/contacts/e@example.com").json()["attributes"] == {"LASTNAME": "Doe"}


def test_update_existing_contacts_false_leaves_attributes_alone(base: str, http: requests.Session) -> None:
    http.post(f"{base}/v3/contacts", json={"email": "k@example.com", "attributes": {"FIRSTNAME": "Kept"}})
    run_import(
        http,
        base,
        {
            "jsonBody": [
                {"email": "k@example.com", "attributes": {"FIRSTNAME": "Changed"}},
                {"email": "n@example.com", "attributes": {"FIRSTNAME": "New"}},
            ],
            "listIds": [2],
            "updateExistingContacts": False,
        },
    )
    assert http.get(f"{base}/v3/contacts/k@example.com").json()["attributes"] == {"FIRSTNAME": "Kept"}
    assert http.get(f"{base}/v3/contacts/n@example.com").json()["attributes"] == {"FIRSTNAME": "New"}


def test_type_mismatched_and_unknown_attributes_are_ignored_on_import(
    base: str, http: requests.Session
) -> None:
    http.post(f"{base}/v3/contacts/attributes/normal/BIRTHDAY", json={"type": "date"})
    run_import(
        http,
        base,
        {
            "jsonBody": [
                {
                    "email": "t@example.com",
                    "attributes": {"BIRTHDAY": "11/02/1989", "COLOR": "black", "firstname": "Tia"},
                }
            ],
            "listIds": [2],
        },
    )
    assert http.get(f"{base}/v3/contacts/t@example.com").json()["attributes"] == {"FIRSTNAME": "Tia"}


def test_new_list_is_created_for_the_import(base: str, http: requests.Session) -> None:
    run_import(
        http,
        base,
        {
            "jsonBody": [{"email": "l@example.com"}],
            "newList": {"listName": "Salesforce Contacts", "folderId": 1},
        },
    )
    lists = http.get(f"{base}/v3/contacts/lists").json()["lists"]
    created = next(lst for lst in lists if lst["name"] == "Salesforce Contacts")
    assert http.get(f"{base}/v3/contacts/l@example.com").json()["listIds"] == [created["id"]]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"jsonBody": [{"email": "x@example.com"}]}, "missing_parameter"),
        ({"listIds": [2]}, "missing_parameter"),
        (
            {"jsonBody": [{"email": "x@example.com"}], "fileBody": "EMAIL\nx@example.com", "listIds": [2]},
            "invalid_parameter",
        ),
        ({"jsonBody": [{"email": "x@example.com"}], "listIds": [999]}, "invalid_parameter"),
    ],
)
def test_bad_import_requests_are_400(base: str, http: requests.Session, body: dict, code: str) -> None:
    response = http.post(f"{base}/v3/contacts/import", json=body)
    assert response.status_code == 400 and response.json()["code"] == code


def test_body_over_10_mb_is_refused(base: str, http: requests.Session) -> None:
    big = "EMAIL;FIRSTNAME\n" + "".join(f"user{i}@example.com;{'x' * 80}\n" for i in range(110_000))
    assert len(big) > 10 * 1024 * 1024
    response = http.post(f"{base}/v3/contacts/import", json={"fileBody": big, "listIds": [2]})
    assert response.status_code == 400
    assert "10MB" in response.json()["message"]


def test_process_goes_through_queued_while_imports_are_paused(
    base: str, http: requests.Session, account: BrevoAccount
) -> None:
    assert http.put(f"{base}/_sandbox/brevo/imports", json={"paused": True}).json() == {"paused": True}
    process_id = http.post(
        f"{base}/v3/contacts/import", json={"jsonBody": [{"email": "q@example.com"}], "listIds": [2]}
    ).json()["processId"]
    queued = http.get(f"{base}/v3/processes/{process_id}").json()
    assert queued["status"] == "queued" and "info" not in queued and "completed_at" not in queued
    http.put(f"{base}/_sandbox/brevo/imports", json={"paused": False})
    assert account.wait_for_imports(5)
    assert http.get(f"{base}/v3/processes/{process_id}").json()["status"] == "completed"
    listing = http.get(f"{base}/v3/processes").json()
    assert listing["count"] == 1 and listing["processes"][0]["id"] == process_id


def test_unknown_process_is_404(base: str, http: requests.Session) -> None:
    response = http.get(f"{base}/v3/processes/999")
    assert response.status_code == 404
    assert response.json() == {"code": "document_not_found", "message": "Process ID not found"}
