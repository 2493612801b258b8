"""Brevo client against the sandbox over HTTPS: imports, contacts, list membership, lists, e-mail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from toolkit.brevo import BrevoClient, ImportProblem, contact_ext_id, import_bodies, parse_brevo_datetime
from toolkit.credentials import Secret
from toolkit.exceptions import FatalApiError, RetriableApiError
from toolkit.sandbox.runner import Sandbox, SandboxConfig

IMPORT_PATH = "/v3/contacts/import"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sandbox = Sandbox(SandboxConfig(brevo_rate_limit=0))
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[BrevoClient]:
    brevo = sandbox.info["brevo"]
    with BrevoClient(
        brevo["base_url"], Secret(brevo["api_key"]), ca_bundle=brevo["ca_bundle"], backoff_factor=0.01
    ) as client:
        yield client


def person(i: int) -> dict[str, Any]:
    return {
        "email": f"person{i}@example.com",
        "attributes": {"EXT_ID": f"003{i:012d}", "FIRSTNAME": f"Zoë{i}", "LASTNAME": f"Last{i}"},
    }


def test_import_of_10000_rows_is_split_under_max_bytes_and_reads_back_by_ext_id(
    sandbox: Sandbox, client: BrevoClient
) -> None:
    max_bytes = 100_000
    sent: list[bytes] = []

    def keep_import_bodies(response: requests.Response) -> None:
        if response.request.path_url.endswith(IMPORT_PATH):
            body = response.request.body
            sent.append(body if isinstance(body, bytes) else str(body).encode())

    client.hooks.append(keep_import_bodies)
    list_id = client.create_list("Salesforce Contacts", client.ensure_folder("Salesforce"))
    process_ids = client.import_contacts(
        (person(i) for i in range(10_000)), list_ids=[list_id], max_bytes=max_bytes
    )

    row_bytes = [
        len(json.dumps(person(i), ensure_ascii=False, separators=(",", ":")).encode()) for i in range(10_000)
    ]
    assert len(process_ids) >= 8 and len(set(process_ids)) == len(process_ids)
    assert sandbox.log.count("brevo", "POST", IMPORT_PATH) == len(process_ids) == len(sent)
    assert all(len(body) <= max_bytes for body in sent)
    assert all(len(body) > max_bytes - 2 * max(row_bytes) for body in sent[:-1])  # no half-empty chunks
    bodies = [json.loads(body) for body in sent]
    assert [row for body in bodies for row in body["jsonBody"]] == [person(i) for i in range(10_000)]
    assert all(
        b["listIds"] == [list_id]
        and b["updateExistingContacts"] is True
        and b["emptyContactsAttributes"] is False
        for b in bodies
    )

    processes = [client.wait_process(pid) for pid in process_ids]
    assert all(p["status"] == "completed" for p in processes)
    assert [problem for p in processes for problem in client.import_problems(p)] == []
    for i in (0, 4321, 9999):
        contact = client.get_contact(f"003{i:012d}", identifier_type="ext_id")
        assert contact is not None and contact["email"] == f"person{i}@example.com"
        assert contact["attributes"]["FIRSTNAME"] == f"Zoë{i}" and list_id in contact["listIds"]

    sandbox.log.clear()
    pages = list(client.iter_list_contacts(list_id))
    assert [len(page) for page in pages] == [500] * 20
    assert sandbox.log.count("brevo", "GET", f"/v3/contacts/lists/{list_id}/contacts") == 20  # no empty page
    members = {c["email"] for page in pages for c in page}
    assert members == {f"person{i}@example.com" for i in range(10_000)}
    assert len(sandbox.brevo.contacts()) == 10_000


def test_import_bodies_respect_the_byte_limit_exactly() -> None:
    rows = [{"email": f"ü{i}@example.com"} for i in range(50)]
    for limit in (200, 257, 1000):
        bodies = list(import_bodies(rows, list_ids=[3], max_bytes=limit))
        assert all(len(b) <= limit for b in bodies)
        assert [r for b in bodies for r in json.loads(b)["jsonBody"]] == rows
    with pytest.raises(ValueError, match="row 1"):
        list(import_bodies([{"email": "x" * 500}], list_ids=[3], max_bytes=200))
    with pytest.raises(ValueError, match="10485760"):
        list(import_bodies(rows, list_ids=[3], max_bytes=11_000_000))


def test_import_problems_name_each_skipped_row(sandbox: Sandbox, client: BrevoClient) -> None:
    sandbox.brevo.create_contact(email="taken@example.com", ext_id="003TAKEN")
    rows = [
        {"email": "fine@example.com", "attributes": {"EXT_ID": "003FINE"}},
        {"email": "not-an-email", "attributes": {"EXT_ID": "003BADMAIL"}},
        {"email": "taken@example.com", "attributes": {"EXT_ID": "003OTHER"}},
    ]
    [pid] = client.import_contacts(rows, list_ids=[2])
    problems = client.import_problems(client.wait_process(pid))
    assert sorted(problems) == [
        ImportProblem("003BADMAIL", "Invalid email address", "invalid_emails", "ext_id", 2),
        ImportProblem(
            "003OTHER",
            "The contact matched by email or SMS has another ext_id",
            "duplicate_ext_id",
            "ext_id",
            3,
        ),
    ]
    assert client.get_contact("003FINE", "ext_id") is not None


def test_wait_process_times_out_while_queued_then_returns_the_completed_process(
    sandbox: Sandbox, client: BrevoClient
) -> None:
    sandbox.brevo.processes.pause()
    [pid] = client.import_contacts([person(1)], list_ids=[2])
    with pytest.raises(RetriableApiError, match="still queued"):
        client.wait_process(pid, poll_seconds=0.05, timeout=0.5)
    polls = sandbox.log.count("brevo", "GET", f"/v3/processes/{pid}")
    assert 2 <= polls <= 8  # the interval grows: polls stay few
    sandbox.brevo.processes.resume()
    assert client.wait_process(pid)["status"] == "completed"


def test_iter_contacts_pages_and_modified_since(sandbox: Sandbox, client: BrevoClient) -> None:
    for i in range(23):
        sandbox.brevo.create_contact(email=f"c{i}@example.com", ext_id=f"003C{i}")
    cursor = sandbox.clock.now()
    sandbox.clock.advance(timedelta(minutes=5))
    for i in (3, 17, 8):
        client.update_contact(f"003C{i}", identifier_type="ext_id", attributes={"LASTNAME": "Changed"})

    pages = list(client.iter_contacts(page_size=5))
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [contact_ext_id(c) for p in pages for c in p] == [f"003C{i}" for i in range(23)]  # oldest first

    sandbox.log.clear()
    changed = [c for p in client.iter_contacts(modified_since=cursor, page_size=2) for c in p]
    assert sorted(contact_ext_id(c) or "" for c in changed) == ["003C17", "003C3", "003C8"]
    assert all(parse_brevo_datetime(c["modifiedAt"]) > cursor for c in changed)
    queries = [e.query for e in sandbox.log.entries("brevo") if e.path == "/v3/contacts"]
    assert len(queries) == 2 and all("sort=asc" in q and "modifiedSince=" in q and "Z" in q for q in queries)
    assert list(client.iter_contacts(modified_since=sandbox.clock.now())) == []


def test_single_contact_reads_updates_and_deletes(sandbox: Sandbox, client: BrevoClient) -> None:
    contact_id = client.create_contact(
        email="a+b@example.com", ext_id="003AB", attributes={"FIRSTNAME": "Ann"}
    )
    assert client.get_contact("a+b@example.com")["id"] == contact_id  # type: ignore[index]
    client.update_contact("003AB", identifier_type="ext_id", attributes={"EMAIL": "new@example.com"})
    assert client.get_contact("003AB", "ext_id")["email"] == "new@example.com"  # type: ignore[index]
    assert client.get_contact("a+b@example.com") is None
    with pytest.raises(FatalApiError) as caught:
        client.update_contact("nobody@example.com", attributes={"FIRSTNAME": "X"})
    assert caught.value.status == 404 and "nobody" not in str(caught.value)
    assert client.delete_contact(contact_id) is True  # type: ignore[arg-type]
    assert client.delete_contact(contact_id) is False  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="identifier_type"):
        client.get_contact("x", identifier_type="salesforce_id")


def test_lists_folders_page_by_50_and_ensure_folder_is_idempotent(
    sandbox: Sandbox, client: BrevoClient
) -> None:
    folder_id = client.ensure_folder("Salesforce")
    assert client.ensure_folder("Salesforce") == folder_id
    assert sandbox.log.count("brevo", "POST", "/v3/contacts/folders") == 1
    created = [client.create_list(f"List {i}", folder_id) for i in range(60)]
    sandbox.log.clear()
    lists = client.lists()
    assert {lst["id"] for lst in lists} >= set(created) and len(lists) == 61  # + "Your first list"
    assert all(lst["folderId"] == folder_id for lst in lists if lst["id"] in created)
    assert sandbox.log.count("brevo", "GET", "/v3/contacts/lists") == 2
    assert {f["name"] for f in client.folders()} == {"Your first folder", "Salesforce"}


def test_attributes_are_listed_and_created(client: BrevoClient) -> None:
    names = {a["name"] for a in client.attributes()}
    assert {"EMAIL", "FIRSTNAME", "LASTNAME", "SMS"} <= names
    client.create_attribute("normal", "BIRTHDATE", "date")
    client.create_attribute(
        "category",
        "TIER",
        "category",
        enumeration=[{"value": 1, "label": "Gold"}, {"value": 2, "label": "Silver"}],
    )
    by_name = {a["name"]: a for a in client.attributes()}
    assert by_name["BIRTHDATE"]["type"] == "date"
    assert [e["label"] for e in by_name["TIER"]["enumeration"]] == ["Gold", "Silver"]
    with pytest.raises(FatalApiError) as caught:
        client.create_attribute("normal", "BIRTHDATE", "date")
    assert caught.value.status == 400 and caught.value.code


def test_send_email_is_visible_in_the_sandbox(sandbox: Sandbox, client: BrevoClient) -> None:
    message_id = client.send_email(
        sender={"email": "sync@example.com", "name": "Toolkit"},
        to=[{"email": "owner@example.com", "name": "Owner"}],
        subject="Integration stopped",
        html="<p>Quota reached</p>",
        text="Quota reached",
        tags=["quota"],
    )
    [sent] = requests.get(
        sandbox.info["sandbox"]["brevo_control"] + "brevo/emails",
        verify=sandbox.info["brevo"]["ca_bundle"],
        timeout=10,
    ).json()["emails"]
    assert sent["messageId"] == message_id
    assert (sent["subject"], sent["htmlContent"], sent["textContent"], sent["tags"]) == (
        "Integration stopped",
        "<p>Quota reached</p>",
        "Quota reached",
        ["quota"],
    )
    with pytest.raises(ValueError):
        client.send_email(sender={"email": "sync@example.com"}, to=[{"email": "o@example.com"}], subject="x")
