"""Quota e-mails through the outbox, sent to the Brevo sandbox: once per month (Q2, Q3), exactly once."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.quota import MovingClock, active_integration, pending_ids, write
from toolkit.brevo import BrevoClient
from toolkit.config import Settings
from toolkit.credentials import CredentialStore
from toolkit.exceptions import ConfigError
from toolkit.notify import (
    BrevoSender,
    DeliveryReport,
    Email,
    SmtpSender,
    deliver,
    enqueue,
    notify_pending,
    sender_from_settings,
    sent_log_from,
)
from toolkit.quota import WARNING, Quota
from toolkit.sandbox import Sandbox
from toolkit.sandbox.middleware import FaultPlan
from toolkit.store import OutboxStatus, Store
from toolkit.store.outbox import OutboxMessage


class CrashAfterSend:
    """A real send to the sandbox, then the process is killed before the outbox is marked."""

    def __init__(self, inner: BrevoSender) -> None:
        self.inner = inner

    def send(self, message: OutboxMessage) -> str:
        self.inner.send(message)
        raise KeyboardInterrupt("killed between the send and the commit")


def _message(store: Store, message_id: int) -> OutboxMessage:
    """The outbox message ``message_id`` (it must exist)."""
    message = store.get_notification(message_id)
    assert message is not None
    return message


def _warn(store: Store, quota: Quota) -> None:
    iid = active_integration(store, "contacts")
    write(quota, iid, store.start_run(iid).id, 80)


def test_q2_one_email_at_80_percent_once_per_month(
    store: Store, settings: Settings, sandbox: Sandbox, sender: BrevoSender, moving_clock: MovingClock
) -> None:
    quota = Quota(store, settings.replace(quota_limit=100_000))
    iid = active_integration(store, "contacts")
    run = store.start_run(iid)
    write(quota, iid, run.id, 79_999)
    assert store.list_notifications() == [] and deliver(store, sender) == DeliveryReport()
    write(quota, iid, run.id, 1)  # 80,000: the threshold
    write(quota, iid, run.id, 5_000)  # later batches of the month change nothing
    assert deliver(store, sender).sent == [1]
    assert deliver(store, sender) == DeliveryReport()
    mails = sandbox.brevo.sent_emails()
    assert len(mails) == 1
    mail = mails[0]
    assert mail["subject"] == "Salesforce-Brevo sync: 80% of this month's tasks used"
    assert (
        "Your integrations used 80% (80,000 of 100,000) of this month's tasks (May 2024)."
        in mail["textContent"]
    )
    assert "Most tasks so far: contacts (80,000)." in mail["textContent"]
    assert mail["sender"] == {"email": "quota@toolkit.example", "name": "Toolkit"}
    assert {"outbox:1", WARNING, "sf-brevo-toolkit"} <= set(mail["tags"])
    assert _message(store, 1).status == "sent"
    assert _message(store, 1).message_id == mail["messageId"]

    moving_clock.now = datetime(2024, 6, 3, tzinfo=UTC)  # a new month: a new warning at 80%
    write(quota, iid, store.start_run(iid).id, 80_000)
    june = pending_ids(store)
    assert len(june) == 1 and deliver(store, sender).sent == june
    assert [m["subject"] for m in sandbox.brevo.sent_emails()].count(mail["subject"]) == 2


def test_q3_crash_between_send_and_commit_sends_no_second_email(
    store: Store, quota: Quota, sandbox: Sandbox, sender: BrevoSender, moving_clock: MovingClock
) -> None:
    _warn(store, quota)
    with pytest.raises(KeyboardInterrupt):
        deliver(store, CrashAfterSend(sender))
    assert len(sandbox.brevo.sent_emails()) == 1
    assert _message(store, 1).status == "sending"
    assert deliver(store, sender) == DeliveryReport()  # a claim that recent may still be sending
    moving_clock.advance(minutes=20)
    report = deliver(store, sender)  # without a sent log: at most once
    assert report.unconfirmed == [1] and report.sent == []
    assert len(sandbox.brevo.sent_emails()) == 1
    message = store.get_notification(1)
    assert message is not None and message.status == "unconfirmed" and "not sent again" in str(message.error)
    assert deliver(store, sender) == DeliveryReport() and len(sandbox.brevo.sent_emails()) == 1


def test_a_crashed_send_is_confirmed_from_the_sent_log(
    store: Store, quota: Quota, sandbox: Sandbox, sender: BrevoSender, moving_clock: MovingClock
) -> None:
    _warn(store, quota)
    with pytest.raises(KeyboardInterrupt):
        deliver(store, CrashAfterSend(sender))
    moving_clock.advance(minutes=20)
    log = sent_log_from(sandbox.brevo.sent_emails)
    assert deliver(store, sender, sent_log=log).sent == [1]
    assert _message(store, 1).status == "sent"
    assert len(sandbox.brevo.sent_emails()) == 1


@pytest.mark.parametrize("fault", ["503", "reset"])
def test_an_ambiguous_failure_is_resent_only_when_the_sent_log_says_it_did_not_go_out(
    store: Store, quota: Quota, sandbox: Sandbox, sender: BrevoSender, fault: str
) -> None:
    _warn(store, quota)
    sandbox.faults["brevo"].set_plan(FaultPlan(script=[fault], path_prefix="/v3/smtp"))
    log = sent_log_from(sandbox.brevo.sent_emails)
    assert deliver(store, sender, sent_log=log).retry == [1]  # Brevo never saw it: send again
    assert deliver(store, sender, sent_log=log).sent == [1]
    assert len(sandbox.brevo.sent_emails()) == 1
    assert _message(store, 1).attempts == 2


def test_an_ambiguous_failure_without_a_sent_log_is_not_repeated(
    store: Store, quota: Quota, sandbox: Sandbox, sender: BrevoSender
) -> None:
    _warn(store, quota)
    sandbox.faults["brevo"].set_plan(FaultPlan(script=["503"], path_prefix="/v3/smtp"))
    assert deliver(store, sender).unconfirmed == [1]
    assert deliver(store, sender) == DeliveryReport() and sandbox.brevo.sent_emails() == []


def test_throttled_email_is_retried_and_refused_email_fails_after_max_attempts(
    store: Store, quota: Quota, sandbox: Sandbox, brevo: BrevoClient, sender: BrevoSender
) -> None:
    _warn(store, quota)
    sandbox.faults["brevo"].set_plan(FaultPlan(script=["429", "429"], path_prefix="/v3/smtp"))
    assert deliver(store, sender).retry == [1]  # 429 twice (one retry): certainly not sent
    refusing = BrevoSender(brevo, sender={"email": "not-an-address"}, to=["ops@example.com"])
    for _ in range(2):  # attempts 2 and 3 (the throttled one counts too)
        assert deliver(store, refusing, max_attempts=4).retry == [1]
    assert deliver(store, refusing, max_attempts=4).failed == [1]
    message = store.get_notification(1)
    assert message is not None and message.status == "failed" and "sender.email" in str(message.error)
    assert deliver(store, sender) == DeliveryReport() and sandbox.brevo.sent_emails() == []


def test_enqueue_joins_the_transaction_and_is_idempotent_per_kind_and_month(store: Store) -> None:
    email = Email.from_paragraphs("Quota <80%>", ["Hello & welcome", "<script>alert(1)</script>"])
    with pytest.raises(RuntimeError), store.transaction():
        assert enqueue(store, WARNING, "2024-05", email)
        raise RuntimeError("the ledger change is rolled back: so is its notification")
    assert store.list_notifications() == []
    assert enqueue(store, WARNING, "2024-05", email) is True
    assert enqueue(store, WARNING, "2024-05", email) is False
    assert enqueue(store, WARNING, "2024-06", email) is True
    oldest = store.list_notifications()[0].id  # not 1 on PostgreSQL: the rolled-back insert used it
    first = store.claim_notification(oldest)
    assert first is not None and first.status == "sending" and store.claim_notification(oldest) is None
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html and "<script>" not in email.html
    assert "<title>Quota &lt;80%&gt;</title>" in email.html
    assert email.text == "Hello & welcome\n\n<script>alert(1)</script>\n"


def test_smtp_carries_the_attempt_key_and_a_closed_relay_sends_nothing(store: Store, quota: Quota) -> None:
    _warn(store, quota)
    smtp = SmtpSender(
        "127.0.0.1",
        1,
        sender="Toolkit <quota@toolkit.example>",
        to=["ops@example.com"],
        security="none",
        timeout=2,
    )
    message = store.claim_notification(1)
    assert message is not None
    mail = smtp.build(message)
    assert mail["Message-ID"] == f"<{message.attempt_key}@sf-brevo-toolkit>"
    assert mail["X-Toolkit-Outbox"] == "outbox:1"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    store.settle_notification(1, str(message.attempt_key), OutboxStatus.PENDING)
    assert deliver(store, smtp).retry == [1]  # nothing listens on port 1: certainly not sent
    assert "cannot reach the SMTP relay" in str(_message(store, 1).error)


def test_the_configured_sender_needs_an_address_and_recipients(
    store: Store, quota: Quota, settings: Settings
) -> None:
    credentials = CredentialStore(settings.state_dir, environ={})
    with pytest.raises(ConfigError, match="notify_from"):
        sender_from_settings(settings.replace(notify_to=()), credentials)
    smtp = sender_from_settings(
        settings.replace(notify_transport="smtp", smtp_host="mail.example"), credentials
    )
    assert isinstance(smtp, SmtpSender) and smtp.to == ["ops@example.com", "cfo@example.com"]
    with pytest.raises(ConfigError, match="smtp_host"):
        sender_from_settings(settings.replace(notify_transport="smtp"), credentials)
    _warn(store, quota)
    report = notify_pending(store, settings.replace(notify_from=""), credentials)
    assert report.skipped and store.list_notifications(
        status=OutboxStatus.PENDING
    )  # waits for a configuration


def test_smtp_relay_receives_the_quota_email_once(store: Store, quota: Quota) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list[Any] = []

    class Keep(Message):
        def handle_message(self, message: Any) -> None:
            received.append(message)

    with socket.socket() as probe:  # a free port on the loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    relay = Controller(Keep(), hostname="127.0.0.1", port=port)
    relay.start()
    try:
        _warn(store, quota)
        smtp = SmtpSender(
            "127.0.0.1",
            port,
            sender="Toolkit <quota@toolkit.example>",
            to=["ops@example.com"],
            security="none",
            timeout=5,
        )
        assert deliver(store, smtp).sent == [1]
        assert deliver(store, smtp).sent == []  # already sent: never twice
    finally:
        relay.stop()
    [mail] = received
    assert mail["To"] == "ops@example.com" and mail["X-Toolkit-Outbox"] == "outbox:1"
    assert "80%" in mail["Subject"]
