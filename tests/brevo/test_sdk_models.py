"""The Brevo answers the toolkit relies on, checked against Brevo's official SDK models (issue 11).

``brevo-python`` 5.1.0 (PyPI, test-only) is Brevo's generated client; its pydantic models say what
each answer holds. Two checks, both over real HTTPS against the sandbox, no HTTP mocking:

1. Every call the toolkit's ``BrevoClient`` makes is driven through that client; each answer (taken
   from its ``hooks``) must validate against the SDK model of the call, laxly with the SDK's own
   ``parse_obj_as`` and in pydantic's strict JSON mode, AND hold no key (at any depth) that the
   model does not declare by its wire name, nor an enum value outside the model's literals. The
   models have ``extra="allow"``, so validation alone would accept any invented field.
2. A real two-way sync runs with the funnel's decoded answers (``BrevoApi._json``) wrapped in
   recording proxies: every key path the toolkit reads (``[]``, ``.get``, ``in``) must be declared
   by the SDK model of the call it came from.

The endpoint -> model table is ``tests.support.brevo_models.ENDPOINTS``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from brevo.contacts.types import GetContactInfoResponse
from brevo.core.pydantic_utilities import parse_obj_as
from brevo.process.types import GetProcessResponse
from brevo.types import GetContacts

from tests.support.brevo_models import (
    BY_KEY,
    ENDPOINTS,
    Endpoint,
    ReadRecorder,
    endpoint_of,
    undeclared_keys,
    undeclared_read,
    validation_errors,
)
from tests.support.sync import setup_integration
from toolkit.brevo import BrevoClient
from toolkit.brevo.base import BrevoApi
from toolkit.config import Settings
from toolkit.credentials import Secret
from toolkit.notify.addresses import resolve_addresses
from toolkit.sandbox.brevo.profile import SenderRecord
from toolkit.sandbox.runner import Sandbox, SandboxConfig

BREVO_PACKAGE = Path(__file__).resolve().parents[2] / "toolkit" / "brevo"


# -- the sandbox, the toolkit's client, and what it received ----------------------------------------


@dataclass
class Calls:
    """A sandbox, the toolkit's Brevo client on it, and every final response that client got."""

    sandbox: Sandbox
    client: BrevoClient
    responses: list[requests.Response] = field(default_factory=list)
    seeded: dict[str, Any] = field(default_factory=dict)

    @property
    def list_id(self) -> int:
        return int(self.seeded["list_id"])

    def endpoint(self, response: requests.Response) -> Endpoint | None:
        path = urlsplit(response.url).path
        base = urlsplit(self.client.base_url).path
        return endpoint_of(
            response.request.method or "", path[len(base) :] if path.startswith(base) else path
        )

    def answers(self, endpoint: Endpoint) -> list[requests.Response]:
        """The successful answers of one endpoint, in order."""
        return [r for r in self.responses if r.status_code < 300 and self.endpoint(r) == endpoint]


@pytest.fixture
def calls() -> Iterator[Calls]:
    sandbox = Sandbox(SandboxConfig(brevo_rate_limit=0))
    sandbox.start()
    brevo = sandbox.info["brevo"]
    found: list[requests.Response] = []
    client = BrevoClient(
        brevo["base_url"],
        Secret(brevo["api_key"]),
        ca_bundle=brevo["ca_bundle"],
        backoff_factor=0.01,
        hooks=[found.append],
    )
    try:
        yield Calls(sandbox, client, found)
    finally:
        client.close()
        sandbox.stop()


def seed(calls: Calls) -> None:
    """Contacts with varied shapes (no e-mail, no ext_id, blocklisted, in a list), two more attributes."""
    client, account = calls.client, calls.sandbox.brevo
    folder_id = client.ensure_folder("Salesforce")
    list_id = client.create_list("Salesforce Contacts", folder_id)
    client.create_attribute(
        "category",
        "TIER",
        "category",
        enumeration=[{"value": 1, "label": "Gold"}, {"value": 2, "label": "Silver"}],
    )
    client.create_attribute("normal", "BIRTHDATE", "date")
    for i in range(6):
        account.create_contact(
            email=f"c{i}@example.com",
            ext_id=f"003C{i:04d}",
            list_ids=[list_id],
            attributes={
                "FIRSTNAME": f"Zoë{i}",
                "LASTNAME": f"Ó Last{i}",
                "TIER": 1 + i % 2,
                "BIRTHDATE": "1990-01-31",
            },
        )
    account.create_contact(email="brevo-only@example.com", list_ids=[list_id])  # no external id
    account.create_contact(attributes={"SMS": "+4915123456789", "EXT_ID": "003SMSONLY"}, list_ids=[list_id])
    client._call(
        "PUT",
        "/contacts/{identifier}",
        path_params={"identifier": "c1@example.com"},
        json={"emailBlacklisted": True, "smsBlacklisted": True},
    )
    calls.seeded.update(folder_id=folder_id, list_id=list_id)
    calls.responses.clear()


# -- half 1: every answer of every call, against its SDK model ----------------------------------------


def _get_contacts_modified_since(calls: Calls) -> None:
    seed(calls)
    cursor = calls.sandbox.clock.now()
    calls.sandbox.clock.advance(timedelta(minutes=5))
    calls.client.update_contact("003C0003", identifier_type="ext_id", attributes={"LASTNAME": "Changed"})
    calls.client.update_contact("003SMSONLY", identifier_type="ext_id", attributes={"FIRSTNAME": "Sam"})
    calls.responses.clear()
    pages = list(calls.client.iter_contacts(modified_since=cursor, page_size=1))
    assert [len(p) for p in pages] == [1, 1]
    assert all("modifiedSince" in parse_qs(urlsplit(r.url).query) for r in calls.responses)
    all_pages = list(calls.client.iter_contacts())  # and without the filter: every shape
    assert sum(map(len, all_pages)) == 8


def _get_list_contacts(calls: Calls) -> None:
    seed(calls)
    assert sum(len(p) for p in calls.client.iter_list_contacts(calls.list_id, page_size=3)) == 8


def _get_contact_by_ext_id(calls: Calls) -> None:
    seed(calls)
    for ext_id in ("003C0001", "003SMSONLY"):
        assert calls.client.get_contact(ext_id, identifier_type="ext_id") is not None
    assert calls.client.get_contact("brevo-only@example.com") is not None


def _create_contact(calls: Calls) -> None:
    seed(calls)
    assert (
        calls.client.create_contact(
            email="new@example.com", ext_id="003NEW", attributes={"FIRSTNAME": "N"}, list_ids=[calls.list_id]
        )
        is not None
    )


def _create_contact_updating_one(calls: Calls) -> None:
    seed(calls)
    calls.client.create_contact(
        email="c2@example.com", attributes={"FIRSTNAME": "Again"}, update_enabled=True
    )
    assert [r.status_code for r in calls.responses] == [204]


def _update_contact(calls: Calls) -> None:
    seed(calls)
    calls.client.update_contact(
        "003C0002", identifier_type="ext_id", attributes={"EMAIL": "moved@example.com"}
    )


def _delete_contact(calls: Calls) -> None:
    seed(calls)
    assert calls.client.delete_contact("c4@example.com") is True


def _import_contacts(calls: Calls) -> None:
    seed(calls)
    rows = [
        {"email": f"i{i}@example.com", "attributes": {"EXT_ID": f"003I{i:04d}", "FIRSTNAME": "Imp"}}
        for i in range(3)
    ]
    [process_id] = calls.client.import_contacts(rows, list_ids=[calls.list_id])
    assert [r.status_code for r in calls.responses] == [202]
    calls.client.wait_process(process_id)


def _process_queued(calls: Calls) -> None:
    seed(calls)
    calls.sandbox.brevo.processes.pause()
    [process_id] = calls.client.import_contacts([{"email": "q@example.com"}], list_ids=[calls.list_id])
    process = calls.client._json("GET", "/processes/{process_id}", path_params={"process_id": process_id})
    assert process is not None and process["status"] == "queued"
    calls.sandbox.brevo.processes.resume()


def _process_in_process(calls: Calls) -> None:
    seed(calls)
    processes = calls.sandbox.brevo.processes
    started, release = threading.Event(), threading.Event()
    real_execute = processes._execute

    def held_execute(process: Any) -> None:  # the sandbox's worker, held mid-import
        started.set()
        release.wait(30)
        real_execute(process)

    processes._execute = held_execute  # type: ignore[method-assign]
    try:
        [process_id] = calls.client.import_contacts([{"email": "p@example.com"}], list_ids=[calls.list_id])
        assert started.wait(10)
        process = calls.client._json("GET", "/processes/{process_id}", path_params={"process_id": process_id})
        assert process is not None and process["status"] == "in_process"
    finally:
        release.set()
        del processes._execute
    assert calls.client.wait_process(process_id)["status"] == "completed"


def _process_completed_with_import_report(calls: Calls) -> None:
    seed(calls)
    rows = [
        {"email": "fine@example.com", "attributes": {"EXT_ID": "003FINE"}},
        {"email": "not-an-email", "attributes": {"EXT_ID": "003BADMAIL"}},
        {"email": "c3@example.com", "attributes": {"EXT_ID": "003OTHER"}},
    ]  # c3 has another ext_id
    [process_id] = calls.client.import_contacts(rows, list_ids=[calls.list_id])
    process = calls.client.wait_process(process_id)
    reports = process["info"]["import"]
    assert reports["invalid_emails"] and reports["duplicate_ext_id"]  # URLs of the skipped rows
    assert len(calls.client.import_problems(process)) == 2


def _get_lists(calls: Calls) -> None:
    seed(calls)
    for i in range(3):
        calls.client.create_list(f"More {i}", calls.seeded["folder_id"])
    calls.responses.clear()
    assert len(calls.client.lists()) == 5


def _create_list(calls: Calls) -> None:
    seed(calls)
    calls.client.create_list("Leads", calls.seeded["folder_id"])


def _get_list(calls: Calls) -> None:  # not called by the toolkit; checked as the sandbox offers it
    seed(calls)
    calls.client._json("GET", "/contacts/lists/{list_id}", path_params={"list_id": calls.list_id})


def _get_folders(calls: Calls) -> None:
    seed(calls)
    assert {f["name"] for f in calls.client.folders()} == {"Your first folder", "Salesforce"}


def _create_folder(calls: Calls) -> None:
    seed(calls)
    calls.client.create_folder("Leads folder")


def _remove_from_list(calls: Calls) -> None:
    seed(calls)
    assert calls.client.remove_from_list(calls.list_id, ["003C0000", "003C0005", "003NOBODY"]) == [
        "003C0000",
        "003C0005",
    ]


def _add_to_list(calls: Calls) -> None:
    seed(calls)
    other = calls.client.create_list("Newsletter 2027", calls.client.ensure_folder("Salesforce"))
    assert calls.client.add_to_list(other, ["003C0000", "003NOBODY"]) == ["003C0000"]


def _get_attributes(calls: Calls) -> None:
    seed(calls)
    names = {a["name"] for a in calls.client.attributes()}
    assert {"EMAIL", "FIRSTNAME", "TIER", "BIRTHDATE"} <= names


def _create_attribute(calls: Calls) -> None:
    seed(calls)
    calls.client.create_attribute("normal", "OPTED_IN", "boolean")


def _send_email(calls: Calls) -> None:
    calls.client.send_email(
        sender={"email": "sync@example.com", "name": "Toolkit"},
        to=[{"email": "owner@example.com", "name": "Owner"}],
        subject="Quota at 80%",
        html="<p>80%</p>",
        text="80%",
        tags=["quota"],
    )


def _get_account(calls: Calls) -> None:
    assert calls.client.account()["email"] == calls.sandbox.brevo.profile.email


def _get_senders(calls: Calls) -> None:
    account = calls.sandbox.brevo
    account.senders += [
        SenderRecord(2, "Newsletter", "news@mycompany.example", active=False),
        SenderRecord(
            3,
            "Marketing",
            "marketing@mycompany.example",
            ips=[{"ip": "123.98.68.7", "domain": "mycompany.example", "weight": 100}],
        ),
    ]
    assert [s["id"] for s in calls.client.senders()] == [1, 2, 3]
    assert [s["id"] for s in calls.client.senders(domain="mycompany.example")] == [2, 3]


def _webhooks(calls: Calls) -> None:
    first = calls.client.create_webhook(
        "https://toolkit.example/brevo/events",
        ["contactUpdated", "contactDeleted", "unsubscribed", "listAddition"],
        token="test-auth-token1234",
        description="toolkit",
    )
    calls.client.create_webhook("https://toolkit.example/other", ["contactDeleted"], description="")
    assert [w.id for w in calls.client.list_webhooks()] == [first, first + 1]
    calls.client.delete_webhook(first)


# (test id, endpoint checked, what drives the calls)
CASES: list[tuple[str, tuple[str, str], Callable[[Calls], None]]] = [
    (
        "get_contacts_with_modified_since_matches_GetContacts",
        ("GET", "/contacts"),
        _get_contacts_modified_since,
    ),
    (
        "get_contacts_of_a_list_matches_GetContacts",
        ("GET", "/contacts/lists/{list_id}/contacts"),
        _get_list_contacts,
    ),
    (
        "get_contact_by_ext_id_matches_GetContactInfoResponse",
        ("GET", "/contacts/{identifier}"),
        _get_contact_by_ext_id,
    ),
    ("create_contact_201_matches_CreateContactResponse", ("POST", "/contacts"), _create_contact),
    (
        "create_contact_with_update_enabled_204_has_no_body",
        ("POST", "/contacts"),
        _create_contact_updating_one,
    ),
    ("update_contact_204_has_no_body", ("PUT", "/contacts/{identifier}"), _update_contact),
    ("delete_contact_204_has_no_body", ("DELETE", "/contacts/{identifier}"), _delete_contact),
    ("import_contacts_202_matches_ImportContactsResponse", ("POST", "/contacts/import"), _import_contacts),
    ("get_process_queued_matches_GetProcessResponse", ("GET", "/processes/{process_id}"), _process_queued),
    (
        "get_process_in_process_matches_GetProcessResponse",
        ("GET", "/processes/{process_id}"),
        _process_in_process,
    ),
    (
        "get_process_completed_with_info_import_matches_GetProcessResponse",
        ("GET", "/processes/{process_id}"),
        _process_completed_with_import_report,
    ),
    ("get_lists_matches_GetListsResponse", ("GET", "/contacts/lists"), _get_lists),
    ("create_list_matches_CreateListResponse", ("POST", "/contacts/lists"), _create_list),
    ("get_one_list_matches_GetListResponse", ("GET", "/contacts/lists/{list_id}"), _get_list),
    ("get_folders_matches_GetFoldersResponse", ("GET", "/contacts/folders"), _get_folders),
    ("create_folder_matches_CreateFolderResponse", ("POST", "/contacts/folders"), _create_folder),
    (
        "add_to_list_matches_PostContactInfo",
        ("POST", "/contacts/lists/{list_id}/contacts/add"),
        _add_to_list,
    ),
    (
        "remove_from_list_matches_PostContactInfo",
        ("POST", "/contacts/lists/{list_id}/contacts/remove"),
        _remove_from_list,
    ),
    ("get_attributes_matches_GetAttributesResponse", ("GET", "/contacts/attributes"), _get_attributes),
    (
        "create_attribute_201_has_no_body",
        ("POST", "/contacts/attributes/{category}/{name}"),
        _create_attribute,
    ),
    ("send_email_matches_SendTransacEmailResponse", ("POST", "/smtp/email"), _send_email),
    ("get_account_matches_GetAccountResponse", ("GET", "/account"), _get_account),
    ("get_senders_matches_GetSendersResponse", ("GET", "/senders"), _get_senders),
    ("create_webhook_matches_CreateWebhookResponse", ("POST", "/webhooks"), _webhooks),
    ("get_webhooks_matches_GetWebhooksResponse", ("GET", "/webhooks"), _webhooks),
    ("delete_webhook_204_has_no_body", ("DELETE", "/webhooks/{webhook_id}"), _webhooks),
]


@pytest.mark.parametrize(("key", "drive"), [pytest.param(k, d, id=name) for name, k, d in CASES])
def test_sandbox_answer_matches_the_official_sdk_model(
    calls: Calls, key: tuple[str, str], drive: Callable[[Calls], None]
) -> None:
    endpoint = BY_KEY[key]
    drive(calls)
    answers = calls.answers(endpoint)
    assert answers, f"{endpoint.label} was not called"
    problems: list[str] = []
    for response in answers:
        where = f"{response.status_code} {urlsplit(response.url).path}"
        problems += [
            f"{where}: invalid for {_model_name(endpoint)}: {p}"
            for p in validation_errors(endpoint.model, response.content, optional=endpoint.optional)
        ]
        if endpoint.model is not None and response.content:
            problems += [
                f"{where}: {p} is not declared by {_model_name(endpoint)}"
                for p in undeclared_keys(endpoint.model, response.json())
            ]
    assert not _unique(problems), "\n".join(_unique(problems))


def _model_name(endpoint: Endpoint) -> str:
    return endpoint.model.__name__ if endpoint.model else "(no body)"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def test_every_call_in_the_client_has_an_sdk_model_in_the_table() -> None:
    """The table covers the client: each literal ``_json``/``_call``/``_paged`` call of toolkit/brevo."""
    found: set[tuple[str, str]] = set()
    for source in BREVO_PACKAGE.glob("*.py"):
        text = source.read_text()
        found |= {(m, p) for m, p in re.findall(r'_(?:json|call)\(\s*"([A-Z]+)",\s*"(/[^"]*)"', text)}
        found |= {("GET", p) for p in re.findall(r'_paged\(\s*"(/[^"]*)"', text)}
    assert len(found) >= 15
    assert sorted(found - set(BY_KEY)) == []
    assert sorted(e.key for e in ENDPOINTS if e.used_by_toolkit and e.key not in found) == []


def test_the_key_check_fails_where_sdk_validation_lets_an_invented_field_through() -> None:
    """Why the test checks keys itself: the SDK models allow extras and accept Python field names."""
    contact = {
        "id": 1,
        "email": "a@example.com",
        "emailBlacklisted": False,
        "smsBlacklisted": False,
        "whatsappBlacklisted": False,
        "createdAt": "2026-01-01T00:00:00.000+00:00",
        "modifiedAt": "2026-01-01T00:00:00.000+00:00",
        "listIds": [3],
        "attributes": {"EXT_ID": "003A", "FIRSTNAME": "Ann"},
        "statistics": {},
    }
    assert undeclared_keys(GetContactInfoResponse, contact) == []
    invented = {**contact, "ext_id": "003A"}
    parse_obj_as(GetContactInfoResponse, invented)  # the SDK takes it ...
    assert undeclared_keys(GetContactInfoResponse, invented) == ["ext_id"]  # ... this check does not
    listing = {"contacts": [{k: v for k, v in invented.items() if k != "statistics"}], "count": 1}
    parse_obj_as(GetContacts, listing)
    assert undeclared_keys(GetContacts, listing) == ["contacts[].ext_id"]
    snake = {k: v for k, v in contact.items() if k != "listIds"} | {"list_ids": [3]}
    parse_obj_as(GetContactInfoResponse, snake)  # a Python field name instead of the wire name
    assert undeclared_keys(GetContactInfoResponse, snake) == ["list_ids"]
    process = {"id": 1, "name": "IMPORTUSER", "status": "done", "info": {"import": {"invalid_sms": None}}}
    assert undeclared_keys(GetProcessResponse, process) == [
        "status = 'done' (not one of ['cancelled', 'completed', 'failed', 'in_process', 'processing', 'queued'])",
        "info.import.invalid_sms",
    ]
    assert undeclared_read(GetContactInfoResponse, ("attributes", "EXT_ID")) is None  # free-form map
    assert undeclared_read(GetContactInfoResponse, ("listUnsubscribedd",)) is not None
    # a top-level ext_id is never sent, though the toolkit may read it as a fallback (TOLERATED_READS)
    assert undeclared_read(GetContactInfoResponse, ("ext_id",)) is None


# -- half 2: what the toolkit reads during a real two-way sync ----------------------------------------

NOTIFY = {"notify_to": ("ops@company.example",), "notify_from": "sync@company.example", "quota_limit": 70}


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> ReadRecorder:
    """Every answer the funnel decodes comes back as recording proxies, tagged with its call."""
    recorder = ReadRecorder()
    decode = BrevoApi._json

    def recording_json(self: BrevoApi, method: str, path: str, **kwargs: Any) -> Any:
        answer = decode(self, method, path, **kwargs)
        return recorder.wrap((method.upper(), path), answer) if recorder.enabled else answer

    monkeypatch.setattr(BrevoApi, "_json", recording_json)
    return recorder


@contextmanager
def not_recorded(recorder: ReadRecorder) -> Iterator[None]:
    """The test's own calls (changing data between runs) are not the toolkit's reads."""
    recorder.enabled = False
    try:
        yield
    finally:
        recorder.enabled = True


def test_a_two_way_sync_reads_only_fields_the_sdk_models_declare(
    env_factory: Any, recorder: ReadRecorder
) -> None:
    env = env_factory(contacts=60, seed=11, rule_share=0.0, **NOTIFY)
    list_id = setup_integration(env.tk)  # folders, a new folder and list, attributes (mapping)
    first = env.tk.run("contacts")  # initial load: import, process polls, then the 80% e-mail
    assert first.status == "succeeded" and first.counts["to_brevo.create"] == 60

    org, brevo = env.sandbox.salesforce, env.tk.brevo()
    a, b, c, d, e = (r["Id"] for r in org.records("Contact")[:5])
    with not_recorded(recorder):
        org.update_many("Contact", [{"Id": a, "FirstName": "Renée"}])  # Salesforce -> Brevo update
        brevo.update_contact(b, identifier_type="ext_id", attributes={"LASTNAME": "Ó Súilleabháin"})  # -> SF
        brevo.delete_contact(c, identifier_type="ext_id")  # gone from Brevo: deleted in Salesforce
        org.delete_many([d])  # gone from Salesforce: taken off the list
        brevo.remove_from_list(list_id, [e])  # off the list but still in Brevo: read, kept
        env.sandbox.brevo.create_contact(email="brevo-only@example.com", list_ids=[list_id])  # Y1, no ext_id
        env.sandbox.brevo.create_contact(email="taken@example.com", ext_id="003OTHER")
        org.create_many("Contact", [{"LastName": "Taken", "Email": "taken@example.com"}])  # import problem
    second = env.tk.run("contacts", full=True)  # every contact, the list's members, the deletion check
    assert second.status == "succeeded", second
    assert second.counts.get("to_salesforce.update") == 1 and second.counts.get("to_brevo.delete") == 1
    with not_recorded(recorder):
        brevo.update_contact(a, identifier_type="ext_id", attributes={"FIRSTNAME": "Zélie"})
    third = env.tk.run("contacts")  # incremental: modifiedSince
    assert third.status == "succeeded" and third.counts.get("to_salesforce.update") == 1
    assert len(env.sandbox.brevo.sent_emails()) == 1  # the quota warning went through POST /smtp/email
    assert (
        env.tk.choose_list("contacts", list_id=list_id) == list_id
    )  # S7, an existing list: GET /contacts/lists

    expected = {
        ("GET", "/contacts/folders"),
        ("POST", "/contacts/folders"),
        ("POST", "/contacts/lists"),
        ("GET", "/contacts/lists"),
        ("GET", "/contacts/attributes"),
        ("POST", "/contacts/import"),
        ("GET", "/processes/{process_id}"),
        ("GET", "/contacts"),  # modifiedSince, and the list's members (listIds)
        ("GET", "/contacts/{identifier}"),
        ("POST", "/contacts/lists/{list_id}/contacts/remove"),
        ("POST", "/smtp/email"),
    }
    assert expected <= set(recorder.answers), sorted(expected - set(recorder.answers))
    undeclared = []
    for key, paths in sorted(recorder.reads.items()):
        endpoint = BY_KEY.get(key)
        for path in sorted(paths):
            if endpoint is None or endpoint.model is None:
                undeclared.append(f"{' '.join(key)}: reads {'.'.join(path)} (no SDK model for this call)")
            elif (why := undeclared_read(endpoint.model, path)) is not None:
                undeclared.append(
                    f"{endpoint.label}: the toolkit reads {'.'.join(path).replace('.[]', '[]')} ({why})"
                )
    assert not undeclared, "\n".join(undeclared)


def test_the_quota_email_defaults_read_only_fields_the_sdk_models_declare(
    calls: Calls, recorder: ReadRecorder, tmp_path: Path
) -> None:
    """Where the quota e-mails go by default (the account's e-mail, an active sender): declared reads only."""
    found = resolve_addresses(Settings(state_dir=tmp_path), calls.client, list_senders=True)
    assert found.to == (calls.sandbox.brevo.profile.email,) and found.senders
    assert {("GET", "/account"), ("GET", "/senders")} <= set(recorder.answers)
    undeclared = [
        f"{' '.join(key)}: {'.'.join(path)} ({why})"
        for key, paths in recorder.reads.items()
        for path in paths
        if (why := undeclared_read(BY_KEY[key].model, path)) is not None
    ]
    assert recorder.reads[("GET", "/account")] and recorder.reads[("GET", "/senders")]
    assert not undeclared, "\n".join(undeclared)
