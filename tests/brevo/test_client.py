"""Brevo client funnel against the sandbox over HTTPS: retries, rate limits, error mapping, secrets."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from toolkit.brevo import BrevoClient, reset_seconds
from toolkit.credentials import Secret
from toolkit.exceptions import AuthError, FatalApiError, RetriableApiError
from toolkit.sandbox.middleware import FaultPlan
from toolkit.sandbox.runner import Sandbox, SandboxConfig

MakeSandbox = Callable[..., tuple[Sandbox, dict[str, Any]]]


@pytest.fixture
def make_sandbox() -> Iterator[MakeSandbox]:
    """Start sandboxes (Brevo unlimited unless told otherwise) and stop them after the test."""
    started: list[Sandbox] = []

    def _make(**config: Any) -> tuple[Sandbox, dict[str, Any]]:
        sandbox = Sandbox(SandboxConfig(**{"brevo_rate_limit": 0, **config}))
        info = sandbox.start()
        started.append(sandbox)
        return sandbox, info["brevo"]

    yield _make
    for sandbox in started:
        sandbox.stop()


def client_for(brevo: dict[str, Any], **kwargs: Any) -> BrevoClient:
    options: dict[str, Any] = {"ca_bundle": brevo["ca_bundle"], "backoff_factor": 0.01, **kwargs}
    return BrevoClient(brevo["base_url"], Secret(brevo["api_key"]), **options)


def test_429_burst_all_succeed_by_waiting_for_the_rate_limit_reset(make_sandbox: MakeSandbox) -> None:
    sandbox, brevo = make_sandbox(brevo_rate_limit=10)
    for i in range(30):
        sandbox.brevo.create_contact(email=f"burst{i}@example.com")
    # A tiny backoff factor: only honouring x-sib-ratelimit-reset (1 s) gets 30 calls through
    # 6 retries each; retrying after the 10 ms backoff would exhaust them inside one window.
    client = client_for(brevo, backoff_factor=0.001)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=30) as pool:
        found = list(pool.map(lambda i: client.get_contact(f"burst{i}@example.com"), range(30)))
    elapsed = time.monotonic() - started

    assert [c["email"] for c in found if c] == [f"burst{i}@example.com" for i in range(30)]
    entries = [e for e in sandbox.log.entries("brevo") if e.path.startswith("/v3/contacts/")]
    throttled = sum(1 for e in entries if e.status == 429)
    assert throttled >= 10  # at most 10 of 30 fit in one window, whatever its alignment
    assert throttled <= 40  # each retry waited for the next window instead of hammering
    assert len(entries) == 30 + throttled  # every 429 was retried, visible in the request log
    assert elapsed >= 0.9
    usage = client.usage
    assert (usage.calls, usage.retries, usage.throttled) == (30, throttled, throttled)
    assert usage.limit == 10 and usage.remaining is not None and 0 <= usage.remaining < 10
    assert usage.reset_seconds == 1.0 and usage.observed_at is not None


def test_reset_header_is_read_as_seconds_or_milliseconds_and_clamped() -> None:
    assert reset_seconds("1") == 1.0
    assert reset_seconds("30") == 30.0
    assert reset_seconds("1000") == 60.0  # 1000 is still seconds, clamped to one minute
    assert reset_seconds("2500") == 2.5  # above 1000: milliseconds
    assert reset_seconds("999999") == 60.0
    assert reset_seconds("0") == 0.05
    assert reset_seconds("soon") is None and reset_seconds(None) is None and reset_seconds("-1") is None


def test_injected_500_503_and_reset_are_retried(make_sandbox: MakeSandbox) -> None:
    sandbox, brevo = make_sandbox()
    client = client_for(brevo)
    sandbox.faults["brevo"].set_plan(FaultPlan(script=["500", "503", "reset", None]))
    assert client.attributes()  # the default attributes, after three failed attempts
    entries = sandbox.log.entries("brevo")
    assert [(e.fault, e.status) for e in entries] == [("500", 500), ("503", 503), ("reset", 0), (None, 200)]
    assert client.usage.retries == 3 and client.usage.calls == 1


def test_import_survives_reset_and_503_without_importing_twice(make_sandbox: MakeSandbox) -> None:
    sandbox, brevo = make_sandbox()
    client = client_for(brevo)
    sandbox.faults["brevo"].set_plan(FaultPlan(script=["reset", "503"]))
    rows = [{"email": f"r{i}@example.com", "attributes": {"EXT_ID": f"003R{i}"}} for i in range(20)]
    [pid] = client.import_contacts(rows, list_ids=[2])
    client.wait_process(pid)
    assert sandbox.log.count("brevo", "POST", "/v3/contacts/import") == 3
    assert len(sandbox.brevo.processes.all()) == 1
    assert len(sandbox.brevo.contacts()) == 20


def test_exhausted_retries_raise_retriable_error_with_context(make_sandbox: MakeSandbox) -> None:
    sandbox, brevo = make_sandbox()
    client = client_for(brevo, max_retries=2)
    sandbox.faults["brevo"].set_plan(FaultPlan(script=["503"] * 5))
    with pytest.raises(RetriableApiError) as caught:
        client.get_contact("someone@example.com")
    error = caught.value
    assert (error.service, error.status, error.code, error.method) == (
        "brevo",
        503,
        "service_unavailable",
        "GET",
    )
    assert error.path == "/v3/contacts/{identifier}"  # the template: no e-mail in errors or logs
    assert "someone@example.com" not in str(error)
    assert sandbox.log.count("brevo", "GET", "/v3/contacts/") == 3  # first attempt + 2 retries

    sandbox.faults["brevo"].set_plan(FaultPlan(script=["429"] * 3))
    with pytest.raises(RetriableApiError) as throttled:
        client.attributes()
    assert throttled.value.status == 429 and throttled.value.retry_after == 1.0


def test_exhausted_connection_resets_raise_retriable_error(make_sandbox: MakeSandbox) -> None:
    sandbox, brevo = make_sandbox()
    client = client_for(brevo, max_retries=1)
    sandbox.faults["brevo"].set_plan(FaultPlan(script=["reset", "reset"]))
    with pytest.raises(RetriableApiError) as caught:
        client.lists()
    assert caught.value.status == 0 and caught.value.path == "/v3/contacts/lists"
    assert sandbox.log.count("brevo", "GET", "/v3/contacts/lists") == 2


def test_send_email_is_not_repeated_after_a_503_but_is_after_a_429(make_sandbox: MakeSandbox) -> None:
    sandbox, brevo = make_sandbox()
    client = client_for(brevo)
    message: dict[str, Any] = {
        "sender": {"email": "sync@example.com", "name": "Sync"},
        "to": [{"email": "ops@example.com"}],
        "subject": "Quota at 80%",
        "text": "80% of this month's tasks are used.",
    }
    sandbox.faults["brevo"].set_plan(FaultPlan(script=["503"]))
    with pytest.raises(RetriableApiError):
        client.send_email(**message)
    assert sandbox.log.count("brevo", "POST", "/v3/smtp/email") == 1 and sandbox.brevo.sent_emails() == []

    sandbox.faults["brevo"].set_plan(FaultPlan(script=["429"]))
    message_id = client.send_email(**message)
    sent = sandbox.brevo.sent_emails()
    assert [m["messageId"] for m in sent] == [message_id]
    assert sent[0]["subject"] == "Quota at 80%" and sent[0]["to"] == [{"email": "ops@example.com"}]


def test_duplicate_contact_is_a_fatal_error_with_brevo_code(make_sandbox: MakeSandbox) -> None:
    sandbox, brevo = make_sandbox()
    client = client_for(brevo)
    assert isinstance(client.create_contact(email="dup@example.com", ext_id="003DUP"), int)
    with pytest.raises(FatalApiError) as caught:
        client.create_contact(email="dup@example.com")
    error = caught.value
    assert (error.status, error.code, error.method, error.path) == (
        400,
        "duplicate_parameter",
        "POST",
        "/v3/contacts",
    )
    assert "already associated" in str(error)
    assert sandbox.log.count("brevo", "POST", "/v3/contacts") == 2  # a 400 is not retried


def test_wrong_key_raises_auth_error_that_never_shows_the_key(
    make_sandbox: MakeSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox, brevo = make_sandbox()
    wrong = "xkeysib-" + "f" * 64 + "-WRONGWRONGWRONG1"
    client = BrevoClient(brevo["base_url"], Secret(wrong), ca_bundle=brevo["ca_bundle"])
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthError) as caught:
        client.lists()
    error = caught.value
    assert error.service == "brevo" and error.code == "unauthorized"
    shown = " ".join([str(error), repr(error), repr(client), str(client.usage), caplog.text])
    assert wrong not in shown and brevo["api_key"] not in shown
    assert sandbox.log.count("brevo", "GET", "/v3/contacts/lists") == 1  # a 401 is not retried

    good = client_for(brevo)
    assert brevo["api_key"] not in repr(good) and good.lists()


def test_api_key_is_not_sent_to_another_host(make_sandbox: MakeSandbox) -> None:
    sandbox, brevo = make_sandbox()
    client = client_for(brevo)
    sent: list[str | None] = []
    client.hooks.append(lambda response: sent.append(response.request.headers.get("api-key")))
    # Same server under another name: another origin as far as the client can tell.
    other_host = brevo["base_url"].replace("127.0.0.1", "localhost") + "/contacts/attributes"
    with pytest.raises(AuthError):  # the server asks for the key that was not sent
        client._call("GET", other_host)
    client.attributes()
    assert sent == [None, brevo["api_key"]]
    assert sandbox.log.count("brevo", "GET", "/v3/contacts/attributes") == 2


def test_certificate_failure_is_fatal_and_not_retried(make_sandbox: MakeSandbox) -> None:
    sandbox, brevo = make_sandbox()
    _, other = make_sandbox()
    client = BrevoClient(brevo["base_url"], Secret(brevo["api_key"]), ca_bundle=other["ca_bundle"])
    started = time.monotonic()
    with pytest.raises(FatalApiError) as caught:
        client.lists()
    assert caught.value.code == "ssl_error" and time.monotonic() - started < 2
    assert sandbox.log.count("brevo") == 0
