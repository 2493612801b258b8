"""Brevo sandbox: ``POST /v3/contacts/batch`` (``updateBatchContacts``) as B8 uses it, over HTTPS.

Brevo's definition (openapi-v3.yml ``updateBatchContacts``): each item names its contact by
exactly one of ``email``, ``id`` or ``sms`` and may set ``emailBlacklisted``/``smsBlacklisted``;
204 "All contacts updated" (no body), 400 ``errorModel``. An unsubscribe moves the contact's
``modifiedAt``, so that an incremental read (``modifiedSince``) sees it.
"""

from __future__ import annotations

from datetime import timedelta

import requests
from brevo.contacts.types import UpdateBatchContactsRequestContactsItem
from brevo.core.pydantic_utilities import parse_obj_as

from toolkit.brevo import BrevoClient
from toolkit.brevo.contacts import BATCH_UPDATE_MAX
from toolkit.credentials import Secret
from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.middleware import RequestLog


def _create(api: str, http: requests.Session, email: str) -> int:
    created = http.post(f"{api}/contacts", json={"email": email})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_b8_batch_sets_the_blacklist_flags_answers_204_and_moves_modified_at(
    api: str, http: requests.Session, clock: Clock
) -> None:
    first = _create(api, http, "u1@example.com")
    _create(api, http, "u2@example.com")
    before = http.get(f"{api}/contacts/{first}").json()["modifiedAt"]
    clock.advance(timedelta(minutes=5))
    response = http.post(
        f"{api}/contacts/batch",
        json={
            "contacts": [
                {"id": first, "emailBlacklisted": True},
                {"email": "u2@example.com", "smsBlacklisted": True},
            ]
        },
    )
    assert response.status_code == 204 and response.content == b""
    one = http.get(f"{api}/contacts/{first}").json()
    two = http.get(f"{api}/contacts/u2@example.com").json()
    assert (one["emailBlacklisted"], one["smsBlacklisted"]) == (True, False)
    assert (two["emailBlacklisted"], two["smsBlacklisted"]) == (False, True)
    assert one["modifiedAt"] > before
    since = http.get(f"{api}/contacts", params={"modifiedSince": before}).json()
    assert {c["id"] for c in since["contacts"]} >= {first}  # the unsubscribe is an incremental change

    clock.advance(timedelta(minutes=5))
    again = http.post(f"{api}/contacts/batch", json={"contacts": [{"id": first, "emailBlacklisted": True}]})
    assert again.status_code == 204
    assert http.get(f"{api}/contacts/{first}").json()["modifiedAt"] == one["modifiedAt"]  # nothing changed

    back = http.post(f"{api}/contacts/batch", json={"contacts": [{"id": first, "emailBlacklisted": False}]})
    assert back.status_code == 204
    assert http.get(f"{api}/contacts/{first}").json()["emailBlacklisted"] is False


def test_b8_batch_refuses_a_whole_call_with_an_unknown_contact_or_two_identifiers(
    api: str, http: requests.Session
) -> None:
    first = _create(api, http, "v1@example.com")
    unknown = http.post(
        f"{api}/contacts/batch",
        json={"contacts": [{"id": first, "emailBlacklisted": True}, {"email": "nobody@example.com"}]},
    )
    assert unknown.status_code == 400
    body = unknown.json()
    assert set(body) >= {"code", "message"} and body["code"] == "document_not_found"
    assert http.get(f"{api}/contacts/{first}").json()["emailBlacklisted"] is False  # nothing applied
    both = http.post(
        f"{api}/contacts/batch",
        json={"contacts": [{"id": first, "email": "v1@example.com", "emailBlacklisted": True}]},
    )
    assert both.status_code == 400 and both.json()["code"] == "invalid_parameter"
    empty = http.post(f"{api}/contacts/batch", json={"contacts": []})
    assert empty.status_code == 400


def test_b8_the_client_sends_100_contacts_a_call_in_the_sdk_models_shape(
    api: str, http: requests.Session, account: BrevoAccount, request_log: RequestLog
) -> None:
    ids = [_create(api, http, f"w{i}@example.com") for i in range(BATCH_UPDATE_MAX + 20)]
    items: list[dict[str, object]] = [{"id": i, "emailBlacklisted": True} for i in ids]
    items[0] = {"email": "w0@example.com", "emailBlacklisted": True, "smsBlacklisted": True}
    for item in items:  # the request items are Brevo's own model's (brevo-python 5.1.0)
        model = parse_obj_as(UpdateBatchContactsRequestContactsItem, item)
        assert model.dict(by_alias=True, exclude_none=True) == item
    client = BrevoClient(api, Secret(account.api_key), ca_bundle=str(http.verify))
    calls = request_log.count("brevo", "POST", "/v3/contacts/batch")
    client.update_contacts(items)
    assert request_log.count("brevo", "POST", "/v3/contacts/batch") == calls + 2
    listed = http.get(f"{api}/contacts", params={"limit": 1000}).json()["contacts"]
    assert all(c["emailBlacklisted"] for c in listed)
    assert [c["smsBlacklisted"] for c in listed if c["email"] == "w0@example.com"] == [True]
    client.close()
