"""Notifications through an outbox: each one is sent at most once, and exactly once when it can be.

A notification is enqueued (:func:`enqueue`) in the same transaction as the change that called
for it, with a unique ``(kind, month)`` key. :func:`deliver` then, for each pending message:

1. claims it in one committed transaction (status ``sending`` with a fresh ``attempt_key``);
2. hands it to a :class:`Sender` (Brevo's ``POST /v3/smtp/email``, or SMTP), whose tags or
   headers carry ``outbox:<id>`` and ``attempt:<key>``; Brevo's client does not repeat the call
   after an ambiguous failure, so the send itself never duplicates;
3. marks it ``sent`` with the provider's message id.

If the process dies between 2 and 3, the row stays ``sending``. Once it is older than
``stale_after`` (so that a sender still busy is never overtaken), :func:`deliver` asks the
``sent_log`` (a callable answering "did the attempt with this tag go out?") when one is given:
``True`` marks it sent, ``False`` sends it again. Without an answer the choice is AT MOST ONCE:
the message becomes ``unconfirmed`` and is not sent again, because Q2 promises one e-mail a
month and a quota alarm that arrives twice erodes trust in every later one; the unconfirmed
message stays visible in ``toolkit quota show`` and :meth:`toolkit.quota.Quota.notifications`.
Brevo's own log (``GET /smtp/statistics/events?tags=``) lags behind the send and is not in the
sandbox, so it is not used as a ``sent_log`` by default.

Where the messages go needs no setup: without ``notify_to``/``notify_from`` they go to the Brevo
account's e-mail from one of its active senders (:mod:`toolkit.notify.addresses`).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr
from html import escape
from typing import Any, Protocol

from toolkit.brevo import BrevoClient
from toolkit.config import Settings
from toolkit.connections import open_brevo
from toolkit.credentials import CredentialStore, Secret
from toolkit.exceptions import (
    AuthError,
    ConfigError,
    CredentialsError,
    FatalApiError,
    RetriableApiError,
    ToolkitError,
)
from toolkit.notify.addresses import NO_ADDRESSES, resolve_addresses
from toolkit.store import Store
from toolkit.store.outbox import OutboxMessage, OutboxStatus

__all__ = [
    "BrevoSender",
    "DeliveryReport",
    "Email",
    "NotSent",
    "Sender",
    "SentLog",
    "SmtpSender",
    "deliver",
    "enqueue",
    "notify_pending",
    "sender_from_settings",
    "sent_log_from",
]

log = logging.getLogger(__name__)

SentLog = Callable[[str], "bool | None"]
"""Given an attempt tag (``attempt:<key>``): ``True`` sent, ``False`` not sent, ``None`` unknown."""

STALE_AFTER = timedelta(minutes=15)
MAX_ATTEMPTS = 5
APP_TAG = "sf-brevo-toolkit"
_UNKNOWN = (
    "the outcome of the send is unknown (the process stopped or the service did not "
    "answer): not sent again, so that it cannot arrive twice"
)


class NotSent(ToolkitError):
    """A :class:`Sender` is sure that nothing went out (refused, throttled, not connected)."""


@dataclass(frozen=True, slots=True)
class Email:
    """A message's subject and bodies; build it with :meth:`from_paragraphs`."""

    subject: str
    text: str
    html: str

    @classmethod
    def from_paragraphs(cls, subject: str, paragraphs: Iterable[str]) -> Email:
        """Plain text joined by blank lines; HTML with every paragraph escaped."""
        paras = [p for p in paragraphs if p]
        body = "".join(f"<p>{escape(p)}</p>\n" for p in paras)
        html = (
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escape(subject)}'
            f"</title></head>\n<body>\n{body}</body></html>\n"
        )
        return cls(subject, "\n\n".join(paras) + "\n", html)


def enqueue(store: Store, kind: str, month: str, email: Email) -> bool:
    """Add a notification unless one of this kind and month exists (joins the caller's transaction).

    Returns:
        ``True`` if it was added, ``False`` if it existed already.
    """
    return store.enqueue_notification(kind, month, subject=email.subject, text=email.text, html=email.html)


class Sender(Protocol):
    """Sends one outbox message; raises :class:`NotSent` when certainly nothing went out."""

    def send(self, message: OutboxMessage) -> str:
        """Send and return the provider's message id (any other exception: outcome unknown)."""
        ...


class BrevoSender:
    """Brevo's transactional API (``POST /v3/smtp/email``), tagged ``outbox:<id>``, ``attempt:<key>``."""

    def __init__(self, client: BrevoClient, *, sender: Mapping[str, str], to: Iterable[str]) -> None:
        self.client = client
        self.sender = dict(sender)
        self.to = [{"email": address} for address in to]

    def send(self, message: OutboxMessage) -> str:
        try:
            return self.client.send_email(
                sender=self.sender,
                to=self.to,
                subject=message.subject,
                html=message.html_body,
                text=message.text_body,
                tags=[APP_TAG, message.kind, message.tag, message.attempt_tag],
            )
        except (AuthError, FatalApiError) as exc:
            raise NotSent(f"Brevo refused the e-mail: {exc}") from None
        except RetriableApiError as exc:
            if exc.status == 429:
                raise NotSent(f"Brevo throttled the e-mail: {exc}") from None
            raise  # 5xx or a lost connection: Brevo may have accepted it


class SmtpSender:
    """An SMTP relay; the attempt key is the ``Message-ID``, the outbox id a header."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        to: Iterable[str],
        security: str = "starttls",
        username: str = "",
        password: Secret | None = None,
        timeout: float = 60,
    ) -> None:
        self.host, self.port, self.security, self.timeout = host, port, security, timeout
        self.sender, self.to = sender, list(to)
        self.username, self._password = username, password

    def build(self, message: OutboxMessage) -> EmailMessage:
        """The MIME message (plain text with an HTML alternative)."""
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail["Message-ID"] = f"<{message.attempt_key}@{APP_TAG}>"
        mail["X-Toolkit-Outbox"] = message.tag
        mail.set_content(message.text_body)
        mail.add_alternative(message.html_body, subtype="html")
        return mail

    def send(self, message: OutboxMessage) -> str:
        mail = self.build(message)
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise NotSent(f"cannot reach the SMTP relay ({type(exc).__name__})") from None
        with smtp:
            try:
                smtp.send_message(mail)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                raise NotSent(f"the SMTP relay refused the e-mail ({type(exc).__name__})") from None
        return str(mail["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                smtp.starttls(context=context)
        if self.username:
            smtp.login(self.username, self._password.reveal() if self._password else "")
        return smtp


def sender_from_settings(
    settings: Settings, credentials: CredentialStore, brevo: BrevoClient | None = None
) -> Sender:
    """The configured sender (``notify_transport``), from ``notify_from`` to ``notify_to``.

    With Brevo's transactional API, what the settings leave open comes from the Brevo account
    (see :mod:`toolkit.notify.addresses`): its e-mail as the recipient, one of its active
    senders as the sender. SMTP needs both settings.

    Raises:
        ConfigError: no sender or recipient can be found (nor a Brevo key to ask), or no SMTP host.
        ApiError, AuthError: the Brevo account could not be asked.
    """
    if settings.notify_transport == "smtp":
        if not settings.notify_from or not settings.notify_to:
            raise ConfigError(
                "quota notifications over SMTP need the settings notify_from (the sender) and "
                "notify_to (the recipients)"
            )
        if not settings.smtp_host:
            raise ConfigError("notify_transport is smtp but smtp_host is not set")
        return SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            security=settings.smtp_security,
            sender=formataddr((settings.notify_from_name, settings.notify_from)),
            to=settings.notify_to,
            username=settings.smtp_username,
            password=credentials.find("smtp", "default", "password"),
            timeout=settings.http_timeout,
        )
    if brevo is None:
        try:
            brevo = open_brevo(credentials, settings)
        except CredentialsError:
            if not settings.notify_from or not settings.notify_to:
                raise ConfigError(NO_ADDRESSES) from None
            raise
    addresses = resolve_addresses(settings, brevo)
    return BrevoSender(
        brevo, sender={"email": addresses.sender, "name": settings.notify_from_name}, to=addresses.to
    )


def sent_log_from(emails: Callable[[], Iterable[Mapping[str, Any]]]) -> SentLog:
    """A :data:`SentLog` over a list of accepted messages with their ``tags`` (a sandbox's log)."""

    def sent(tag: str) -> bool:
        return any(tag in (mail.get("tags") or ()) for mail in emails())

    return sent


@dataclass
class DeliveryReport:
    """What one :func:`deliver` did, by outbox id."""

    sent: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    unconfirmed: list[int] = field(default_factory=list)
    skipped: str | None = None


def deliver(
    store: Store,
    sender: Sender,
    *,
    sent_log: SentLog | None = None,
    stale_after: timedelta = STALE_AFTER,
    max_attempts: int = MAX_ATTEMPTS,
) -> DeliveryReport:
    """Resolve messages a dead sender left ``sending``, then send the pending ones.

    Args:
        store: the state database (call outside any open transaction).
        sender: where the messages go.
        sent_log: tells whether an attempt went out; without it an unresolved attempt becomes
            ``unconfirmed`` (at most once, see the module's docstring).
        stale_after: how old a ``sending`` claim must be before it is taken for dead.
        max_attempts: refusals after which a message is ``failed``.

    Returns:
        The ids sent, to retry, failed and unconfirmed.
    """
    report = DeliveryReport()
    for stale in store.stale_notifications(store.quota_now() - stale_after):
        _resolve(store, stale, sent_log, report, max_attempts)
    for pending in store.list_notifications(status=OutboxStatus.PENDING):
        message = store.claim_notification(pending.id)
        if message is None or message.attempt_key is None:
            continue  # another process claimed it
        key = message.attempt_key
        try:
            provider_id = sender.send(message)
        except NotSent as exc:
            _settle_refused(store, message, str(exc), report, max_attempts)
            continue
        except Exception as exc:
            log.warning("notification %s: %s", message.id, type(exc).__name__)
            _resolve(store, message, sent_log, report, max_attempts)
            continue
        store.settle_notification(message.id, key, OutboxStatus.SENT, message_id_sent=provider_id)
        report.sent.append(message.id)
        log.info("notification %s (%s %s) sent", message.id, message.kind, message.month)
    return report


def notify_pending(
    store: Store,
    settings: Settings,
    credentials: CredentialStore,
    *,
    brevo: BrevoClient | None = None,
    sent_log: SentLog | None = None,
) -> DeliveryReport:
    """:func:`deliver` with the configured sender (see :func:`sender_from_settings`).

    Never raises for a missing configuration nor for a Brevo account that cannot be asked for
    the default addresses: the messages then wait in the outbox (``skipped`` says why).
    """
    if not store.list_notifications(status=OutboxStatus.PENDING) and not store.list_notifications(
        status=OutboxStatus.SENDING
    ):
        return DeliveryReport()
    try:
        sender = sender_from_settings(settings, credentials, brevo)
    except ToolkitError as exc:  # not configured, or Brevo could not say where to: the outbox waits
        log.warning("quota notifications wait: %s", exc)
        return DeliveryReport(skipped=str(exc))
    return deliver(store, sender, sent_log=sent_log)


def _settle_refused(
    store: Store, message: OutboxMessage, error: str, report: DeliveryReport, max_attempts: int
) -> None:
    status = OutboxStatus.FAILED if message.attempts >= max_attempts else OutboxStatus.PENDING
    assert message.attempt_key is not None
    store.settle_notification(message.id, message.attempt_key, status, error=error)
    (report.failed if status == OutboxStatus.FAILED else report.retry).append(message.id)
    log.warning("notification %s not sent (%s): %s", message.id, status, error)


def _resolve(
    store: Store, message: OutboxMessage, sent_log: SentLog | None, report: DeliveryReport, max_attempts: int
) -> None:
    """Settle an attempt whose outcome is unknown, asking the sent log when there is one."""
    assert message.attempt_key is not None
    answer = sent_log(message.attempt_tag) if sent_log is not None else None
    if answer is True:
        store.settle_notification(message.id, message.attempt_key, OutboxStatus.SENT)
        report.sent.append(message.id)
    elif answer is False:
        _settle_refused(
            store, message, "the provider has no record of the last attempt", report, max_attempts
        )
    else:
        store.settle_notification(message.id, message.attempt_key, OutboxStatus.UNCONFIRMED, error=_UNKNOWN)
        report.unconfirmed.append(message.id)
        log.warning("notification %s (%s %s): %s", message.id, message.kind, message.month, _UNKNOWN)
