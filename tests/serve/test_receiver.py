"""The webhook receiver over real HTTP: authenticated events recorded once, everything else refused."""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from toolkit.credentials import CredentialStore
from toolkit.serve.receiver import MAX_BODY_BYTES, TOKEN_FIELD, TOKEN_KIND, Receiver, hook_url
from toolkit.store import Store

TOKEN = "the-receivers-token-0123456789"
NAME = "EU contacts/B2B"  # a space and a slash: one path segment once quoted

DELETED = {
    "event": "contact_deleted",
    "email": "Ana@Example.com",
    "id": 1,
    "key": "k",
    "list_id": [2],
    "ts": 1764000000,
}
UPDATED = {
    "event": "contact_updated",
    "email": "bo@example.com",
    "id": 1,
    "content": {"FIRSTNAME": "Bo"},
    "ts": 1764000060,
}
ADDED = {"event": "list_addition", "email": "cy@example.com", "id": 1, "list_id": [2, 5], "ts": 1764000120}


class Setup:
    """A state directory with two integrations (one with a token), a started receiver, a session."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.store = Store.open(state_dir)
        self.integration = self.store.create_integration(NAME, "Contact").id
        self.other = self.store.create_integration("leads", "Lead").id
        CredentialStore(state_dir).set(TOKEN_KIND, NAME, TOKEN_FIELD, TOKEN)
        self.notified: list[str] = []
        self.notified_event = threading.Event()
        self.receiver = Receiver(state_dir, on_recorded=self._notified)
        self.http = requests.Session()
        self.http.trust_env = False

    def _notified(self, name: str) -> None:
        self.notified.append(name)
        self.notified_event.set()

    def post(
        self, body: Any, *, token: str | None = TOKEN, name: str = NAME, raw: bytes | None = None
    ) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else json.dumps(body).encode()
        return self.http.post(hook_url(self.receiver.url, name), data=data, headers=headers, timeout=10)

    def pending(self, integration: int | None = None) -> list[tuple[str, str]]:
        events = self.store.pending_events(self.integration if integration is None else integration)
        return [(e.kind, e.email) for e in events]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    made = Setup(tmp_path)
    made.receiver.start()
    yield made
    made.receiver.stop()
    made.http.close()
    made.store.close()


def test_hook_url_quotes_the_integration_name() -> None:
    assert hook_url("https://sync.example.com/", "EU contacts/B2B") == (
        "https://sync.example.com/brevo/webhooks/EU%20contacts%2FB2B"
    )


def test_an_authenticated_event_is_recorded_answered_and_announced(setup: Setup) -> None:
    answer = setup.post(DELETED)
    assert answer.status_code == 200 and answer.json() == {"received": 1, "recorded": 1, "malformed": 0}
    assert setup.pending() == [("contact_deleted", "ana@example.com")]
    assert setup.notified_event.wait(5) and setup.notified == [NAME]
    assert setup.pending(setup.other) == []


def test_a_forged_token_is_refused_and_nothing_is_recorded(setup: Setup) -> None:
    for token in ("wrong-token", "", None, TOKEN + "x", TOKEN.upper()):
        answer = setup.post(DELETED, token=token)
        assert answer.status_code == 401, token
        assert TOKEN not in answer.text and "ana" not in answer.text.lower()
    parts = urlsplit(hook_url(setup.receiver.url, NAME))
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    body = json.dumps(DELETED).encode()
    connection.putrequest("POST", parts.path)
    for value in ("Bearer wrong", f"Bearer {TOKEN}"):  # two Authorization headers
        connection.putheader("Authorization", value)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    twice = connection.getresponse()
    twice.read()
    connection.close()
    assert twice.status == 401
    assert setup.pending() == [] and setup.notified == []


def test_an_integration_without_a_token_authenticates_nothing(setup: Setup) -> None:
    assert setup.post(DELETED, name="leads").status_code == 401
    assert setup.pending(setup.other) == []


def test_a_replayed_event_is_recorded_once_and_announced_once(setup: Setup) -> None:
    assert setup.post(UPDATED).json()["recorded"] == 1
    assert setup.notified_event.wait(5)
    replay = setup.post(UPDATED)
    assert replay.status_code == 200 and replay.json() == {"received": 1, "recorded": 0, "malformed": 0}
    assert setup.post([UPDATED, UPDATED]).json()["recorded"] == 0  # a batch sent again
    assert setup.pending() == [("contact_updated", "bo@example.com")]
    assert setup.notified == [NAME]  # nothing new: no run asked for


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"",
        b"42",
        b"[]",
        json.dumps({"event": "contact_deleted", "ts": 1764000000}).encode(),  # no e-mail
        json.dumps({"event": "opened", "email": "a@example.com", "ts": 1}).encode(),  # not acted on
        json.dumps({"event": "list_addition", "email": "a@example.com"}).encode(),  # no time
        json.dumps([{"event": "contact_updated"}, "x", None]).encode(),
    ],
)
def test_a_malformed_body_is_refused_and_nothing_is_recorded(setup: Setup, raw: bytes) -> None:
    answer = setup.post(None, raw=raw)
    assert answer.status_code == 400
    assert answer.json() == {"message": "no well-formed event in the body"}
    assert setup.pending() == [] and setup.notified == []


def test_a_batch_with_one_malformed_event_keeps_the_others(setup: Setup) -> None:
    broken = {"event": "contact_updated", "email": "secret-person@example.com", "ts": "yesterday"}
    answer = setup.post([DELETED, broken, ADDED])
    assert answer.status_code == 200 and answer.json() == {"received": 2, "recorded": 2, "malformed": 1}
    assert "secret-person" not in answer.text
    assert setup.pending() == [("contact_deleted", "ana@example.com"), ("list_addition", "cy@example.com")]


def test_an_unknown_integration_is_404_and_records_nothing(setup: Setup) -> None:
    assert setup.post(DELETED, name="nobody").status_code == 404
    for path in ("/brevo/webhooks/", "/brevo/webhooks/a/b", "/elsewhere", "/"):
        answer = setup.http.post(setup.receiver.url + path, json=DELETED, timeout=10)
        assert answer.status_code == 404, path
    assert setup.http.get(hook_url(setup.receiver.url, NAME), timeout=10).status_code == 405
    assert setup.pending() == []


def test_an_oversized_body_is_refused_unread(setup: Setup) -> None:
    big = json.dumps([DELETED] * (MAX_BODY_BYTES // len(json.dumps(DELETED)) + 10)).encode()
    assert len(big) > MAX_BODY_BYTES
    answer = setup.post(None, raw=big)
    assert answer.status_code == 413
    assert setup.pending() == []
    assert setup.post(DELETED).status_code == 200  # and the receiver still answers


def test_no_body_or_token_reaches_the_logs(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    setup.post([DELETED, {"event": "contact_updated", "email": "hidden@example.com"}])
    setup.post(DELETED, token="forged-token-value")
    setup.post(None, raw=b'{"email": "also-hidden@example.com"')
    assert setup.notified_event.wait(5)
    text = caplog.text.lower()
    for secret in ("ana@example.com", "hidden@example.com", TOKEN.lower(), "forged-token-value"):
        assert secret not in text


def test_a_failing_callback_does_not_change_the_answer(tmp_path: Path) -> None:
    setup = Setup(tmp_path)

    def fail(name: str) -> None:
        raise RuntimeError("boom")

    setup.receiver.on_recorded = fail
    with setup.receiver:
        assert setup.post(DELETED).status_code == 200
        assert setup.pending() == [("contact_deleted", "ana@example.com")]
    setup.store.close()
    assert not setup.receiver.running


def test_concurrent_deliveries_are_each_recorded(setup: Setup) -> None:
    bodies = [{**UPDATED, "email": f"p{i}@example.com"} for i in range(20)]
    statuses: list[int] = []

    def send(body: dict[str, Any]) -> None:
        with requests.Session() as session:
            session.trust_env = False
            statuses.append(
                session.post(
                    hook_url(setup.receiver.url, NAME),
                    json=body,
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=10,
                ).status_code
            )

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert statuses == [200] * 20
    assert len(setup.pending()) == 20
