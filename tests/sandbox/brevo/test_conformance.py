"""Brevo sandbox conformance: every request and response checked against Brevo's OpenAPI definition.

Each case drives the sandbox over HTTPS. Every request is validated before it is sent (a case
that sends a deliberately invalid request asserts that the definition rejects it) and every
response is validated against the response the definition declares for its status (a status the
definition does not declare, such as 401, must at least be an ``errorModel``).

The published definition (OpenAPI 3.0.1, 2024) has a few defects that make some valid traffic
impossible to validate; ``_errata`` patches exactly those, each with its reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import (
    RequestsOpenAPIRequest,
    RequestsOpenAPIResponse,
)
from openapi_core.exceptions import OpenAPIError
from openapi_schema_validator import OAS30Validator

from toolkit.sandbox.brevo import BrevoAccount, make_service, url_map
from toolkit.sandbox.brevo.profile import SenderRecord
from toolkit.sandbox.brevo.ratelimit import FixedWindowRateLimiter
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.http import ServerThread
from toolkit.sandbox.middleware import RequestLog, Service
from toolkit.sandbox.tls import SandboxTLS

SPEC_PATH = Path(os.environ.get("BREVO_OPENAPI") or Path(__file__).parents[2] / "data/brevo-openapi-v3.yml")
SPEC_SERVER = "https://api.brevo.com"
UNREACHABLE = {
    ("createContact", "425"): "'Too Early' is not modelled by the sandbox",
    ("updateContact", "425"): "'Too Early' is not modelled by the sandbox",
    ("deleteContact", "405"): "the sandbox has no registered-email contacts",
    (
        "getSenders",
        "400",
    ): "the definition does not say which request Brevo refuses (both filters are free text)",
}


class _NoTimestampLoader(yaml.SafeLoader):
    """Safe loader that keeps timestamps as text (one example in the definition is no valid date)."""


_NoTimestampLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _normalise(node: Any) -> Any:
    """YAML gives status codes as ints and ``content: {}`` for "no body"; openapi-core wants
    string codes and no ``content`` key for an empty response."""
    if isinstance(node, dict):
        return {
            str(k) if isinstance(k, int) else k: _normalise(v)
            for k, v in node.items()
            if not (k == "content" and v == {})
        }
    if isinstance(node, list):
        return [_normalise(v) for v in node]
    return node


def _errata(spec: dict[str, Any]) -> None:
    """Patch the definition's known defects (each one makes valid traffic unvalidatable)."""
    paths, schemas = spec["paths"], spec["components"]["schemas"]
    for path in ("/contacts/lists/{listId}/contacts/add", "/contacts/lists/{listId}/contacts/remove"):
        # oneOf over schemas without required properties: every body matches all alternatives.
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        body["anyOf"] = body.pop("oneOf")
    contacts = schemas["postContactInfo"]["properties"]["contacts"]["properties"]
    for key in ("success", "failure"):
        # An empty array matches both the e-mail and the id alternative; extIds fit neither.
        contacts[key] = {"anyOf": [*contacts[key]["oneOf"], {"type": "array", "items": {"type": "string"}}]}
    # The 429 of getContacts uses errorModel, whose code enum has no rate-limit code.
    too_many = {
        **schemas["errorModel"],
        "properties": {
            **schemas["errorModel"]["properties"],
            "code": {
                "type": "string",
                "enum": [*schemas["errorModel"]["properties"]["code"]["enum"], "too_many_requests"],
            },
        },
    }
    paths["/contacts"]["get"]["responses"]["429"]["content"]["application/json"]["schema"] = too_many


@pytest.fixture(scope="session")
def definition() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec = _normalise(yaml.load(handle, Loader=_NoTimestampLoader))
    _errata(spec)
    return spec


@pytest.fixture(scope="session")
def openapi(definition: dict[str, Any]) -> OpenAPI:
    # The definition fails OpenAPI meta-validation in unrelated parts (e.g. a string "maximum").
    return OpenAPI.from_dict(definition, config=Config(spec_validator_cls=None))


def _operations(definition: dict[str, Any]) -> dict[str, tuple[str, str, list[str]]]:
    """operationId -> (METHOD, path, declared statuses)."""
    return {
        op["operationId"]: (method.upper(), path, list(op["responses"]))
        for path, item in definition["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


@dataclass
class Ctx:
    """What a case uses: validated calls to a fresh sandbox account."""

    http: requests.Session
    base: str
    openapi: OpenAPI
    definition: dict[str, Any]
    account: BrevoAccount
    clock: Clock
    calls: list[tuple[str, str]] = field(default_factory=list)

    def call(
        self,
        method: str,
        path: str,
        status: int,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str | None] | None = None,
        valid_request: bool = True,
    ) -> requests.Response:
        """Send ``method path`` (``path`` starts with ``/v3``), validating request and response.

        A header set to ``None`` is left out (``{"api-key": None}`` sends no key).
        """
        prepared = self.http.prepare_request(
            requests.Request(method, self.base + path, json=json, params=params, headers=headers)
        )
        as_sent_to_brevo = prepared.copy()
        assert prepared.url is not None  # prepare_request always sets it
        as_sent_to_brevo.url = SPEC_SERVER + prepared.url[len(self.base) :]
        spec_request = RequestsOpenAPIRequest(as_sent_to_brevo)
        if valid_request:
            self.openapi.validate_request(spec_request)
        else:
            with pytest.raises(OpenAPIError):
                self.openapi.validate_request(spec_request)
        response = self.http.send(prepared)
        assert response.status_code == status, response.text
        operation = url_map().bind("127.0.0.1").match(path.split("?")[0], method=method)[0]
        declared = _operations(self.definition)[operation][2]
        if str(status) in declared:
            self.openapi.validate_response(spec_request, RequestsOpenAPIResponse(response))
        else:
            assert status >= 400, f"{operation} answered {status}, which the definition does not declare"
            OAS30Validator(self.definition["components"]["schemas"]["errorModel"]).validate(response.json())
        self.calls.append((operation, str(status)))
        return response

    def contact(self, email: str, **body: Any) -> int:
        """Create a contact (a validated createContact call) and return its id."""
        return self.call("POST", "/v3/contacts", 201, json={"email": email, **body}).json()["id"]

    def imported(self, rows: list[dict[str, Any]]) -> int:
        """Import ``rows`` into list 2, wait for the process and return its id."""
        process_id = self.call(
            "POST", "/v3/contacts/import", 202, json={"jsonBody": rows, "listIds": [2]}
        ).json()["processId"]
        assert self.account.wait_for_imports(10)
        return process_id


def _single(method: str, path: str, status: int, **kwargs: Any) -> Callable[[Ctx], None]:
    def run(c: Ctx) -> None:
        c.call(method, path, status, **kwargs)

    return run


# Cases of one call on a fresh account: (operationId, status, method, path, call arguments).
# ``valid_request=False`` marks requests the definition itself forbids (ids that are no integers,
# limits over the maximum, a missing api-key): the validator must reject them.
SINGLE_CALLS: list[tuple[str, int, str, str, dict[str, Any]]] = [
    ("getContacts", 400, "GET", "/v3/contacts", {"params": {"modifiedSince": "2026-11-27"}}),
    ("getContacts", 401, "GET", "/v3/contacts", {"headers": {"api-key": None}, "valid_request": False}),
    ("getContactInfo", 400, "GET", "/v3/contacts/abc", {"params": {"identifierType": "contact_id"}}),
    ("getContactInfo", 404, "GET", "/v3/contacts/nobody%40example.com", {}),
    ("updateContact", 404, "PUT", "/v3/contacts/404", {"json": {"attributes": {"FIRSTNAME": "X"}}}),
    ("deleteContact", 400, "DELETE", "/v3/contacts/abc", {"params": {"identifierType": "contact_id"}}),
    ("deleteContact", 404, "DELETE", "/v3/contacts/nobody%40example.com", {}),
    (
        "updateBatchContacts",
        400,
        "POST",
        "/v3/contacts/batch",
        {"json": {"contacts": [{"email": "no@example.com"}]}},
    ),
    (
        "importContacts",
        400,
        "POST",
        "/v3/contacts/import",
        {"json": {"jsonBody": [{"email": "i@example.com"}]}},
    ),
    ("getProcess", 400, "GET", "/v3/processes/abc", {"valid_request": False}),
    ("getProcess", 404, "GET", "/v3/processes/999", {}),
    ("getProcesses", 400, "GET", "/v3/processes", {"params": {"limit": 51}, "valid_request": False}),
    ("getAttributes", 200, "GET", "/v3/contacts/attributes", {}),
    ("createAttribute", 400, "POST", "/v3/contacts/attributes/category/FLAG", {"json": {"type": "boolean"}}),
    ("updateAttribute", 400, "PUT", "/v3/contacts/attributes/normal/FIRSTNAME", {"json": {"value": "x"}}),
    (
        "updateAttribute",
        404,
        "PUT",
        "/v3/contacts/attributes/category/NOPE",
        {"json": {"enumeration": [{"value": 1, "label": "A"}]}},
    ),
    ("deleteAttribute", 204, "DELETE", "/v3/contacts/attributes/normal/FIRSTNAME", {}),
    ("deleteAttribute", 400, "DELETE", "/v3/contacts/attributes/normal/EMAIL", {}),
    ("deleteAttribute", 404, "DELETE", "/v3/contacts/attributes/normal/NOPE", {}),
    ("getFolders", 400, "GET", "/v3/contacts/folders", {"params": {"limit": 51}, "valid_request": False}),
    ("createFolder", 201, "POST", "/v3/contacts/folders", {"json": {"name": "Salesforce"}}),
    ("createFolder", 400, "POST", "/v3/contacts/folders", {"json": {}}),
    ("getFolder", 200, "GET", "/v3/contacts/folders/1", {}),
    ("getFolder", 400, "GET", "/v3/contacts/folders/abc", {"valid_request": False}),
    ("getFolder", 404, "GET", "/v3/contacts/folders/99", {}),
    ("updateFolder", 204, "PUT", "/v3/contacts/folders/1", {"json": {"name": "Renamed"}}),
    ("updateFolder", 400, "PUT", "/v3/contacts/folders/1", {"json": {}}),
    ("updateFolder", 404, "PUT", "/v3/contacts/folders/99", {"json": {"name": "X"}}),
    ("deleteFolder", 204, "DELETE", "/v3/contacts/folders/1", {}),
    ("deleteFolder", 400, "DELETE", "/v3/contacts/folders/abc", {"valid_request": False}),
    ("deleteFolder", 404, "DELETE", "/v3/contacts/folders/99", {}),
    ("getFolderLists", 200, "GET", "/v3/contacts/folders/1/lists", {"params": {"limit": 10}}),
    ("getFolderLists", 400, "GET", "/v3/contacts/folders/abc/lists", {"valid_request": False}),
    ("getFolderLists", 404, "GET", "/v3/contacts/folders/99/lists", {}),
    ("getLists", 400, "GET", "/v3/contacts/lists", {"params": {"limit": 51}, "valid_request": False}),
    ("createList", 201, "POST", "/v3/contacts/lists", {"json": {"name": "SF Leads", "folderId": 1}}),
    ("createList", 400, "POST", "/v3/contacts/lists", {"json": {"name": "SF Leads", "folderId": 99}}),
    ("getList", 200, "GET", "/v3/contacts/lists/2", {}),
    ("getList", 400, "GET", "/v3/contacts/lists/abc", {"valid_request": False}),
    ("getList", 404, "GET", "/v3/contacts/lists/99", {}),
    ("updateList", 204, "PUT", "/v3/contacts/lists/2", {"json": {"name": "Renamed"}}),
    ("updateList", 400, "PUT", "/v3/contacts/lists/2", {"json": {"name": "Renamed", "folderId": 1}}),
    ("updateList", 404, "PUT", "/v3/contacts/lists/99", {"json": {"name": "X"}}),
    ("deleteList", 400, "DELETE", "/v3/contacts/lists/abc", {"valid_request": False}),
    ("deleteList", 404, "DELETE", "/v3/contacts/lists/99", {}),
    (
        "getContactsFromList",
        400,
        "GET",
        "/v3/contacts/lists/2/contacts",
        {"params": {"modifiedSince": "yesterday"}},
    ),
    ("getContactsFromList", 404, "GET", "/v3/contacts/lists/99/contacts", {}),
    ("addContactToList", 404, "POST", "/v3/contacts/lists/99/contacts/add", {"json": {"ids": [1]}}),
    (
        "removeContactFromList",
        400,
        "POST",
        "/v3/contacts/lists/2/contacts/remove",
        {"json": {"emails": ["nobody@example.com"]}},
    ),
    ("removeContactFromList", 404, "POST", "/v3/contacts/lists/99/contacts/remove", {"json": {"ids": [1]}}),
]
EMAIL = {
    "sender": {"name": "Toolkit", "email": "noreply@example.com"},
    "to": [{"email": "ops@example.com"}],
    "subject": "Quota",
    "htmlContent": "<p>80%</p>",
}
SINGLE_CALLS += [
    ("sendTransacEmail", 201, "POST", "/v3/smtp/email", {"json": EMAIL}),
    (
        "sendTransacEmail",
        202,
        "POST",
        "/v3/smtp/email",
        {"json": {**EMAIL, "scheduledAt": "2026-12-01T08:00:00Z"}},
    ),
    (
        "sendTransacEmail",
        400,
        "POST",
        "/v3/smtp/email",
        {"json": {k: v for k, v in EMAIL.items() if k != "subject"}},
    ),
]
SINGLE_CALLS += [
    ("getAccount", 200, "GET", "/v3/account", {}),
    ("getSenders", 200, "GET", "/v3/senders", {}),
]
WEBHOOK = {
    "url": "https://example.com/brevo/events",
    "events": ["contactUpdated", "contactDeleted", "unsubscribed", "listAddition"],
    "type": "marketing",
    "description": "toolkit",
    "auth": {"type": "bearer", "token": "test-auth-token1234"},
    "headers": [{"key": "cf-secret", "value": "test-header-value"}],
}
SINGLE_CALLS += [
    ("createWebhook", 201, "POST", "/v3/webhooks", {"json": WEBHOOK}),
    ("createWebhook", 400, "POST", "/v3/webhooks", {"json": {**WEBHOOK, "events": ["sent"]}}),
    ("getWebhooks", 200, "GET", "/v3/webhooks", {"params": {"type": "marketing", "sort": "asc"}}),
    ("getWebhooks", 400, "GET", "/v3/webhooks", {"params": {"type": "sms"}, "valid_request": False}),
    ("getWebhook", 400, "GET", "/v3/webhooks/abc", {"valid_request": False}),
    ("getWebhook", 404, "GET", "/v3/webhooks/99", {}),
    ("updateWebhook", 400, "PUT", "/v3/webhooks/abc", {"json": {"description": "x"}, "valid_request": False}),
    ("updateWebhook", 404, "PUT", "/v3/webhooks/99", {"json": {"description": "x"}}),
    ("deleteWebhook", 400, "DELETE", "/v3/webhooks/abc", {"valid_request": False}),
    ("deleteWebhook", 404, "DELETE", "/v3/webhooks/99", {}),
]
CASES: list[tuple[str, int, str, Callable[[Ctx], None]]] = [
    (op, status, "single", _single(method, path, status, **kwargs))
    for op, status, method, path, kwargs in SINGLE_CALLS
]


def case(operation: str, status: int) -> Callable[[Callable[[Ctx], None]], Callable[[Ctx], None]]:
    """Register a case of several calls that ends with ``operation`` answering ``status``."""

    def register(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        CASES.append((operation, status, fn.__name__, fn))
        return fn

    return register


@case("getContacts", 200)
def list_contacts(c: Ctx) -> None:
    c.contact(
        "a@example.com", ext_id="SF-1", listIds=[2], attributes={"FIRSTNAME": "A", "SMS": "+33612345678"}
    )
    since = (c.clock.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    c.call(
        "GET",
        "/v3/contacts",
        200,
        params={"limit": 10, "offset": 0, "sort": "asc", "modifiedSince": since, "listIds": [2]},
    )


@case("getContacts", 429)
def list_contacts_rate_limited(c: Ctx) -> None:
    c.account.rate_limiter = FixedWindowRateLimiter(1, now=lambda: 1000.5)  # time stands still
    c.call("GET", "/v3/contacts", 200)
    c.call("GET", "/v3/contacts", 429)


@case("createContact", 201)
def create_contact(c: Ctx) -> None:
    c.call(
        "POST",
        "/v3/contacts",
        201,
        json={
            "email": "n@example.com",
            "ext_id": "SF-9",
            "listIds": [2],
            "attributes": {"FIRSTNAME": "N", "SMS": "+4915123456789"},
        },
    )


@case("createContact", 204)
def create_contact_update_enabled(c: Ctx) -> None:
    c.contact("u@example.com")
    c.call(
        "POST",
        "/v3/contacts",
        204,
        json={"email": "u@example.com", "updateEnabled": True, "attributes": {"LASTNAME": "U"}},
    )


@case("createContact", 400)
def create_contact_duplicate(c: Ctx) -> None:
    c.contact("d@example.com")
    c.call("POST", "/v3/contacts", 400, json={"email": "d@example.com"})


@case("getContactInfo", 200)
def get_contact(c: Ctx) -> None:
    c.contact("g@example.com", ext_id="SF-G")
    c.call("GET", "/v3/contacts/g%40example.com", 200)
    c.call("GET", "/v3/contacts/SF-G", 200, params={"identifierType": "ext_id"})


@case("updateContact", 204)
def update_contact(c: Ctx) -> None:
    c.contact("p@example.com", ext_id="SF-P")
    c.call(
        "PUT",
        "/v3/contacts/SF-P",
        204,
        params={"identifierType": "ext_id"},
        json={
            "attributes": {"EMAIL": "q@example.com", "FIRSTNAME": "Q"},
            "listIds": [2],
            "unlinkListIds": [],
        },
    )


@case("updateContact", 400)
def update_contact_duplicate(c: Ctx) -> None:
    c.contact("p1@example.com")
    c.contact("p2@example.com")
    c.call("PUT", "/v3/contacts/p1%40example.com", 400, json={"attributes": {"EMAIL": "p2@example.com"}})


@case("deleteContact", 204)
def delete_contact(c: Ctx) -> None:
    c.call("DELETE", f"/v3/contacts/{c.contact('x@example.com')}", 204)


@case("updateBatchContacts", 204)
def batch(c: Ctx) -> None:
    contact_id = c.contact("b@example.com")
    c.call(
        "POST",
        "/v3/contacts/batch",
        204,
        json={
            "contacts": [
                {"id": contact_id, "attributes": {"FIRSTNAME": "B"}},
                {"email": "b@example.com", "listIds": [2]},
            ]
        },
    )


@case("importContacts", 202)
def import_contacts(c: Ctx) -> None:
    c.imported([{"email": "i@example.com", "attributes": {"FIRSTNAME": "I"}}])
    c.call(
        "POST",
        "/v3/contacts/import",
        202,
        json={
            "fileBody": "EMAIL;FIRSTNAME\nj@example.com;J",
            "newList": {"listName": "Imported", "folderId": 1},
        },
    )


@case("getProcess", 200)
def get_process(c: Ctx) -> None:
    process_id = c.imported([{"email": "bad-address"}, {"email": "ok@example.com"}])
    assert c.call("GET", f"/v3/processes/{process_id}", 200).json()["info"]["import"]["invalid_emails"]


@case("getProcesses", 200)
def get_processes(c: Ctx) -> None:
    c.imported([{"email": "i@example.com"}])
    c.call("GET", "/v3/processes", 200, params={"limit": 5, "offset": 0, "sort": "desc"})


@case("createAttribute", 201)
def create_attributes(c: Ctx) -> None:
    c.call("POST", "/v3/contacts/attributes/normal/BIRTHDAY", 201, json={"type": "date"})
    c.call(
        "POST",
        "/v3/contacts/attributes/category/TIER",
        201,
        json={"type": "category", "enumeration": [{"value": 1, "label": "Gold"}]},
    )
    c.call("POST", "/v3/contacts/attributes/global/VAT", 201, json={"value": "0.19"})
    c.call("GET", "/v3/contacts/attributes", 200)


@case("updateAttribute", 204)
def update_attribute(c: Ctx) -> None:
    c.call(
        "POST",
        "/v3/contacts/attributes/category/TIER",
        201,
        json={"type": "category", "enumeration": [{"value": 1, "label": "Gold"}]},
    )
    c.call(
        "PUT",
        "/v3/contacts/attributes/category/TIER",
        204,
        json={"enumeration": [{"value": 1, "label": "Gold"}, {"value": 2, "label": "Silver"}]},
    )


@case("getFolders", 200)
def get_folders(c: Ctx) -> None:
    c.contact("f@example.com", listIds=[2])
    c.call("GET", "/v3/contacts/folders", 200, params={"limit": 10, "offset": 0, "sort": "asc"})


@case("getLists", 200)
def get_lists(c: Ctx) -> None:
    c.contact("l@example.com", listIds=[2], emailBlacklisted=True)
    c.call("GET", "/v3/contacts/lists", 200, params={"limit": 50, "offset": 0, "sort": "desc"})


@case("deleteList", 204)
def delete_list(c: Ctx) -> None:
    c.contact("dl@example.com", listIds=[2])
    c.call("DELETE", "/v3/contacts/lists/2", 204)


@case("getContactsFromList", 200)
def list_members(c: Ctx) -> None:
    c.contact("m@example.com", listIds=[2])
    c.call("GET", "/v3/contacts/lists/2/contacts", 200, params={"limit": 500, "offset": 0, "sort": "asc"})


@case("addContactToList", 201)
def add_members(c: Ctx) -> None:
    c.contact("a1@example.com", ext_id="E1")
    second = c.contact("a2@example.com", ext_id="E2")
    c.contact("a3@example.com", ext_id="E3")
    c.call(
        "POST", "/v3/contacts/lists/2/contacts/add", 201, json={"emails": ["a1@example.com", "x@example.com"]}
    )
    c.call("POST", "/v3/contacts/lists/2/contacts/add", 201, json={"ids": [second]})
    c.call("POST", "/v3/contacts/lists/2/contacts/add", 201, json={"extIds": ["E3", "E404"]})


@case("addContactToList", 400)
def add_members_already_there(c: Ctx) -> None:
    contact_id = c.contact("a@example.com", listIds=[2])
    c.call("POST", "/v3/contacts/lists/2/contacts/add", 400, json={"ids": [contact_id]})


@case("removeContactFromList", 201)
def remove_members(c: Ctx) -> None:
    contact_id = c.contact("r1@example.com", listIds=[2])
    c.contact("r2@example.com", listIds=[2])
    c.call("POST", "/v3/contacts/lists/2/contacts/remove", 201, json={"ids": [contact_id]})
    c.call("POST", "/v3/contacts/lists/2/contacts/remove", 201, json={"all": True})


@case("getSenders", 200)
def senders_filtered(c: Ctx) -> None:
    c.account.senders += [
        SenderRecord(2, "Newsletter", "news@mycompany.example", active=False),
        SenderRecord(
            3,
            "Marketing",
            "marketing@mycompany.example",
            ips=[{"ip": "123.98.68.7", "domain": "mycompany.example", "weight": 100}],
        ),
    ]
    found = c.call("GET", "/v3/senders", 200, params={"domain": "mycompany.example"}).json()["senders"]
    assert [s["id"] for s in found] == [2, 3]
    found = c.call("GET", "/v3/senders", 200, params={"ip": "123.98.68.7"}).json()["senders"]
    assert [s["id"] for s in found] == [3]


@case("getWebhook", 200)
def get_webhook(c: Ctx) -> None:
    webhook_id = c.call("POST", "/v3/webhooks", 201, json=WEBHOOK).json()["id"]
    c.call("GET", "/v3/webhooks", 200, params={"type": "marketing"})
    c.call("GET", f"/v3/webhooks/{webhook_id}", 200)


@case("updateWebhook", 204)
def update_webhook(c: Ctx) -> None:
    webhook_id = c.call("POST", "/v3/webhooks", 201, json=WEBHOOK).json()["id"]
    c.call("PUT", f"/v3/webhooks/{webhook_id}", 204, json={"events": ["contactDeleted"], "batched": True})
    c.call("PUT", f"/v3/webhooks/{webhook_id}", 400, json={"events": ["inboundEmailProcessed"]})


@case("deleteWebhook", 204)
def delete_webhook(c: Ctx) -> None:
    webhook_id = c.call(
        "POST", "/v3/webhooks", 201, json={"url": "https://example.com/t", "events": ["sent"]}
    ).json()["id"]
    c.call("GET", "/v3/webhooks", 200)
    c.call("DELETE", f"/v3/webhooks/{webhook_id}", 204)


# --- the tests --------------------------------------------------------------------------------------
class _Switch:
    """The module's one HTTPS server answers with the service of the running case."""

    def __init__(self) -> None:
        self.service: Service | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.service is not None
        return self.service(environ, start_response)


@pytest.fixture(scope="module")
def server(tls: SandboxTLS) -> Iterator[tuple[_Switch, str]]:
    """One server for all cases (stopping a server per case would cost most of the run time)."""
    switch = _Switch()
    thread = ServerThread(switch, ssl_context=tls.ssl_context).start()
    yield switch, f"https://127.0.0.1:{thread.port}"
    thread.stop()


@pytest.fixture
def ctx(
    openapi: OpenAPI,
    definition: dict[str, Any],
    clock: Clock,
    request_log: RequestLog,
    server: tuple[_Switch, str],
    http: requests.Session,
) -> Iterator[Ctx]:
    """A fresh account behind the module's server, and a session carrying its api-key."""
    switch, base = server
    account = BrevoAccount(clock)
    switch.service = make_service(account, log=request_log, rate_limit_per_second=0)
    http.headers["api-key"] = account.api_key
    yield Ctx(http, base, openapi, definition, account, clock)
    account.wait_for_imports(10)


@pytest.mark.parametrize(
    ("operation", "status", "fn"),
    [pytest.param(op, st, fn, id=f"{op}-{st}-{name}") for op, st, name, fn in CASES],
)
def test_conformance(ctx: Ctx, operation: str, status: int, fn: Callable[[Ctx], None]) -> None:
    fn(ctx)
    assert (operation, str(status)) in ctx.calls, f"the case never answered {operation} with {status}"


def test_every_route_is_an_operation_of_the_definition(definition: dict[str, Any]) -> None:
    operations = _operations(definition)
    for rule in url_map().iter_rules():
        method = next(m for m in rule.methods or () if m not in ("HEAD", "OPTIONS"))
        spec_method, spec_path, _ = operations[rule.endpoint]
        assert (method, re.sub(r"<[^>]+>", "{}", rule.rule)) == (
            spec_method,
            "/v3" + re.sub(r"{[^}]+}", "{}", spec_path),
        )


def test_every_declared_response_of_every_route_has_a_case(definition: dict[str, Any]) -> None:
    operations = _operations(definition)
    covered = {(op, str(status)) for op, status, _, _ in CASES}
    for operation in {rule.endpoint for rule in url_map().iter_rules()}:
        for status in operations[operation][2]:
            assert (operation, status) in covered or (operation, status) in UNREACHABLE, (
                f"no conformance case for {operation} -> {status}"
            )
