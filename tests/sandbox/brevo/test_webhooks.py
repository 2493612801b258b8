"""Brevo sandbox: ``/v3/webhooks`` and the marketing events it POSTs to a real local receiver."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.clock import Clock

TOKEN = "receiver-token-1234"
CONTACT_EVENTS = ["contactUpdated", "contactDeleted", "unsubscribed", "listAddition"]


@dataclass
class Receiver:
    """A local HTTP endpoint that records what it is sent and answers scripted statuses."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r["body"] for r in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        with self.lock:
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            with state.lock:
                state.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = state.script.pop(0) if state.script else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/brevo/events"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def _stop_deliveries(account: BrevoAccount) -> Iterator[None]:
    account.webhooks.retry_scale = 2e-5  # Brevo's 10 min ... 8 h become 12 ms ... 0.6 s
    yield
    account.webhooks.stop()


def _register(api: str, http: requests.Session, url: str, **body: Any) -> int:
    answer = http.post(
        f"{api}/webhooks",
        json={
            "url": url,
            "events": CONTACT_EVENTS,
            "type": "marketing",
            "auth": {"type": "bearer", "token": TOKEN},
            "headers": [{"key": "x-receiver", "value": "sandbox"}],
            **body,
        },
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


# --- registration ---------------------------------------------------------------------------------
def test_webhook_lifecycle(api: str, http: requests.Session) -> None:
    created = http.post(
        f"{api}/webhooks",
        json={
            "url": "https://example.com/hook",
            "events": ["contactUpdated", "listAddition"],
            "type": "marketing",
            "description": "toolkit",
            "auth": {"type": "bearer", "token": TOKEN},
            "headers": [{"key": "cf-secret", "value": "v"}],
        },
    )
    assert created.status_code == 201 and created.json() == {"id": 1}
    transactional = http.post(f"{api}/webhooks", json={"url": "https://example.com/t", "events": ["sent"]})
    assert transactional.json() == {"id": 2}

    one = http.get(f"{api}/webhooks/1").json()
    assert {k: one[k] for k in ("url", "id", "description", "events", "type", "batched")} == {
        "url": "https://example.com/hook",
        "id": 1,
        "description": "toolkit",
        "events": ["contactUpdated", "listAddition"],
        "type": "marketing",
        "batched": False,
    }
    assert one["auth"] == {"type": "bearer", "token": TOKEN}
    assert one["headers"] == [{"key": "cf-secret", "value": "v"}]
    assert one["createdAt"].endswith("+00:00") and one["modifiedAt"]

    assert [w["id"] for w in http.get(f"{api}/webhooks").json()["webhooks"]] == [2]  # default transactional
    assert [
        w["id"] for w in http.get(f"{api}/webhooks", params={"type": "marketing"}).json()["webhooks"]
    ] == [1]

    updated = http.put(f"{api}/webhooks/1", json={"events": ["contactDeleted"], "description": "new"})
    assert updated.status_code == 204 and updated.content == b""
    again = http.get(f"{api}/webhooks/1").json()
    assert again["events"] == ["contactDeleted"] and again["description"] == "new"

    assert http.delete(f"{api}/webhooks/1").status_code == 204
    gone = http.get(f"{api}/webhooks/1")
    assert gone.status_code == 404
    assert gone.json() == {"code": "document_not_found", "message": "Webhook ID not found"}
    assert http.delete(f"{api}/webhooks/1").status_code == 404
    assert http.put(f"{api}/webhooks/1", json={"description": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"events": ["contactUpdated"], "type": "marketing"}, "missing_parameter"),
        ({"url": "https://example.com/h", "type": "marketing"}, "missing_parameter"),
        ({"url": "https://example.com/h", "events": [], "type": "marketing"}, "missing_parameter"),
        ({"url": "not a url", "events": ["contactUpdated"], "type": "marketing"}, "invalid_parameter"),
        ({"url": "https://example.com/h", "events": ["contactUpdated"], "type": "sms"}, "invalid_parameter"),
        ({"url": "https://example.com/h", "events": ["nope"], "type": "marketing"}, "invalid_parameter"),
        (
            {"url": "https://example.com/h", "events": ["contactUpdated"]},
            "invalid_parameter",
        ),  # transactional
        (
            {"url": "https://example.com/h", "events": ["inboundEmailProcessed"], "type": "inbound"},
            "missing_parameter",
        ),
        (
            {
                "url": "https://example.com/h",
                "events": ["unsubscribed"],
                "auth": {"type": "basic", "token": "x"},
            },
            "invalid_parameter",
        ),
        (
            {"url": "https://example.com/h", "events": ["unsubscribed"], "headers": [{"key": "a"}]},
            "invalid_parameter",
        ),
        ({"url": "https://example.com/h", "events": ["unsubscribed"], "batched": "yes"}, "invalid_parameter"),
    ],
)
def test_bad_registration_is_refused(
    api: str, http: requests.Session, body: dict[str, Any], code: str
) -> None:
    answer = http.post(f"{api}/webhooks", json=body)
    assert answer.status_code == 400
    assert answer.json()["code"] == code and answer.json()["message"]


def test_bad_ids_and_queries(api: str, http: requests.Session) -> None:
    assert http.get(f"{api}/webhooks/abc").json()["code"] == "invalid_parameter"
    assert http.get(f"{api}/webhooks", params={"type": "sms"}).status_code == 400
    assert http.get(f"{api}/webhooks", params={"sort": "up"}).status_code == 400
    _register(api, http, "https://example.com/h")
    assert http.put(f"{api}/webhooks/1", json={}).json()["code"] == "missing_parameter"
    assert http.put(f"{api}/webhooks/1", json={"events": ["sent"]}).json()["code"] == "invalid_parameter"


def test_webhooks_survive_save_and_restore(api: str, http: requests.Session, account: BrevoAccount) -> None:
    _register(api, http, "https://example.com/h", description="kept")
    restored = BrevoAccount.from_dict(json.loads(json.dumps(account.to_dict())), Clock())
    assert restored.webhooks.get(1).to_json() == account.webhooks.get(1).to_json()
    assert restored.webhooks.key == account.webhooks.key and restored.webhooks.next_id == 2
    assert "receiver-token" not in repr(restored.webhooks.get(1))


# --- delivery ---------------------------------------------------------------------------------------
def test_contact_changes_are_posted_with_the_bearer_token(
    api: str, base: str, http: requests.Session, receiver: Receiver, account: BrevoAccount
) -> None:
    _register(api, http, receiver.url)
    contact_id = http.post(
        f"{api}/contacts", json={"email": "ann@example.com", "listIds": [2], "attributes": {"FIRSTNAME": "A"}}
    ).json()["id"]
    assert (
        http.put(f"{api}/contacts/{contact_id}", json={"attributes": {"FIRSTNAME": "Ann"}}).status_code == 204
    )
    assert http.put(f"{api}/contacts/{contact_id}", json={"emailBlacklisted": True}).status_code == 204
    assert http.delete(f"{api}/contacts/{contact_id}").status_code == 204

    received = receiver.wait_for(4)
    assert [r["body"]["event"] for r in received] == [
        "list_addition",
        "contact_updated",
        "unsubscribed",
        "contact_deleted",
    ]
    for request in received:
        assert request["path"] == "/brevo/events"
        assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
        assert request["headers"]["x-receiver"] == "sandbox"
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["body"]["email"] == "ann@example.com" and request["body"]["id"] == 1
    addition, updated, unsubscribed, deleted = (r["body"] for r in received)
    assert addition["list_id"] == [2] and addition["api_key_name"] == "sandbox"
    assert addition["key"] == account.webhooks.key and isinstance(addition["ts"], int)
    assert len(addition["date"]) == len("2020-10-09 00:00:00")
    assert updated["content"] == {"FIRSTNAME": "Ann"} and updated["api_key_name"] == "sandbox"
    assert unsubscribed["list_id"] == [2] and isinstance(unsubscribed["ts_event"], int)
    assert deleted["list_id"] == [2] and "api_key_name" not in deleted

    deliveries = http.get(f"{base}/_sandbox/brevo/webhook-deliveries").json()
    assert deliveries["count"] == 4
    assert {(d["url"], d["attempt"], d["status"], d["outcome"]) for d in deliveries["deliveries"]} == {
        (receiver.url, 1, 200, "delivered")
    }
    assert TOKEN not in json.dumps(deliveries)


def test_imports_and_list_additions_are_posted(
    api: str, http: requests.Session, receiver: Receiver, account: BrevoAccount
) -> None:
    http.post(f"{api}/contacts", json={"email": "bob@example.com"})
    _register(api, http, receiver.url)
    process = http.post(
        f"{api}/contacts/import",
        json={
            "jsonBody": [{"email": "bob@example.com", "attributes": {"LASTNAME": "Builder"}}],
            "listIds": [2],
        },
    )
    assert process.status_code == 202 and account.wait_for_imports(10)
    received = receiver.wait_for(2)
    by_event = {r["body"]["event"]: r["body"] for r in received}
    assert by_event["contact_updated"]["content"] == {"LASTNAME": "Builder"}
    assert by_event["contact_updated"]["api_key_name"] == "sandbox"  # the import's key
    assert by_event["list_addition"]["list_id"] == [2]

    list_id = http.post(f"{api}/contacts/lists", json={"name": "More", "folderId": 1}).json()["id"]
    http.post(f"{api}/contacts/lists/{list_id}/contacts/add", json={"emails": ["bob@example.com"]})
    assert receiver.wait_for(3)[-1]["body"]["list_id"] == [list_id]


def test_changes_outside_the_api_have_an_empty_api_key_name(
    receiver: Receiver, account: BrevoAccount
) -> None:
    with account.lock:
        account.webhooks.create({"url": receiver.url, "events": ["listAddition"], "type": "marketing"})
    account.create_contact(email="seed@example.com", list_ids=[2])
    (request,) = receiver.wait_for(1)
    assert request["body"]["api_key_name"] == "" and "Authorization" not in request["headers"]


def test_only_subscribed_marketing_webhooks_receive_an_event(
    api: str, http: requests.Session, receiver: Receiver, account: BrevoAccount
) -> None:
    deleted = _register(api, http, receiver.url + "?deleted")
    assert http.delete(f"{api}/webhooks/{deleted}").status_code == 204
    _register(api, http, receiver.url + "?deletions", events=["contactDeleted"])
    http.post(f"{api}/webhooks", json={"url": receiver.url + "?transactional", "events": ["unsubscribed"]})
    contact_id = http.post(f"{api}/contacts", json={"email": "c@example.com", "listIds": [2]}).json()["id"]
    http.put(
        f"{api}/contacts/{contact_id}", json={"emailBlacklisted": True, "attributes": {"FIRSTNAME": "C"}}
    )
    http.delete(f"{api}/contacts/{contact_id}")
    assert account.webhooks.wait_idle(10)
    assert [(r["path"], r["body"]["event"]) for r in receiver.received] == [
        ("/brevo/events?deletions", "contact_deleted")
    ]


def test_batched_webhooks_receive_an_array(
    api: str, http: requests.Session, receiver: Receiver, account: BrevoAccount
) -> None:
    _register(api, http, receiver.url, events=["listAddition"], batched=True)
    http.post(f"{api}/contacts", json={"email": "d@example.com", "listIds": [2]})
    (request,) = receiver.wait_for(1)
    assert isinstance(request["body"], list) and request["body"][0]["event"] == "list_addition"


# --- retries ----------------------------------------------------------------------------------------
def _deliveries(base: str, http: requests.Session) -> list[dict[str, Any]]:
    return list(http.get(f"{base}/_sandbox/brevo/webhook-deliveries").json()["deliveries"])


def test_a_429_is_retried_until_delivered(
    api: str, base: str, http: requests.Session, receiver: Receiver, account: BrevoAccount
) -> None:
    receiver.script = [429, 429]
    _register(api, http, receiver.url, events=["listAddition"])
    http.post(f"{api}/contacts", json={"email": "e@example.com", "listIds": [2]})
    received = receiver.wait_for(3)
    assert len(received) == 3 and received[0]["body"] == received[2]["body"]
    assert account.webhooks.wait_idle(10)
    assert [(d["attempt"], d["status"], d["outcome"]) for d in _deliveries(base, http)] == [
        (1, 429, "retrying"),
        (2, 429, "retrying"),
        (3, 200, "delivered"),
    ]


def test_a_5xx_discards_the_event_as_brevo_documents(
    api: str, base: str, http: requests.Session, receiver: Receiver, account: BrevoAccount
) -> None:
    receiver.script = [500]
    _register(api, http, receiver.url, events=["listAddition"])
    http.post(f"{api}/contacts", json={"email": "f@example.com", "listIds": [2]})
    assert receiver.wait_for(1) and account.webhooks.wait_idle(10)
    time.sleep(0.1)
    assert len(receiver.received) == 1
    assert [(d["attempt"], d["status"], d["outcome"]) for d in _deliveries(base, http)] == [
        (1, 500, "discarded")
    ]


def test_an_unreachable_receiver_gets_four_retries(
    api: str, base: str, http: requests.Session, account: BrevoAccount
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _register(api, http, f"http://127.0.0.1:{port}/hook", events=["listAddition"])
    http.post(f"{api}/contacts", json={"email": "g@example.com", "listIds": [2]})
    assert account.webhooks.wait_idle(15)
    attempts = _deliveries(base, http)
    assert [(d["attempt"], d["status"], d["outcome"]) for d in attempts] == [
        (1, None, "retrying"),
        (2, None, "retrying"),
        (3, None, "retrying"),
        (4, None, "retrying"),
        (5, None, "discarded"),
    ]
    assert all(d["error"] for d in attempts)


def test_retry_scale_is_a_sandbox_setting(base: str, http: requests.Session, account: BrevoAccount) -> None:
    assert http.put(f"{base}/_sandbox/brevo/webhook-retry", json={"scale": 0.5}).json() == {"scale": 0.5}
    assert account.webhooks.retry_scale == 0.5
    assert http.get(f"{base}/_sandbox/brevo/webhook-retry").json() == {"scale": 0.5}


def test_a_contact_without_an_email_gets_no_event(
    api: str, http: requests.Session, receiver: Receiver, account: BrevoAccount
) -> None:
    # Brevo's documented payloads all carry an e-mail (marketing-webhooks page): no "email": null.
    _register(api, http, receiver.url)
    sms_only = http.post(f"{api}/contacts", json={"attributes": {"SMS": "33612345678"}, "listIds": [2]})
    assert sms_only.status_code == 201, sms_only.text
    contact_id = sms_only.json()["id"]
    http.put(f"{api}/contacts/{contact_id}", json={"attributes": {"FIRSTNAME": "Sam"}})
    http.delete(f"{api}/contacts/{contact_id}")
    http.post(f"{api}/contacts", json={"email": "after@example.com"})
    assert account.webhooks.wait_idle(10)
    assert [r["body"]["email"] for r in receiver.received] == []
    http.put(f"{api}/contacts/after@example.com", json={"attributes": {"FIRSTNAME": "Al"}})
    assert [r["body"]["email"] for r in receiver.wait_for(1)] == ["after@example.com"]
