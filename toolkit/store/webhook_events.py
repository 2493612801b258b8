"""The webhook inbox: Brevo's marketing events kept durably until a targeted run processes them.

The receiver records each authenticated event as it arrives (:meth:`record_events`) and answers
at once; a targeted run takes the pending events, oldest event time first
(:meth:`pending_events`), reads the contacts they name from the API, applies the usual rules and
marks the events processed with an outcome (:meth:`mark_processed`); processed rows are purged
after a while (:meth:`purge_processed`). An event is recorded once per integration: its ``key``
is ``UNIQUE`` there, so a retried delivery or a batch sent again changes nothing, and events
recorded out of order are still taken in the order they happened.

The store must not import :mod:`toolkit.brevo` (its events are the service's data, the store
keeps state): :meth:`record_events` takes any object with the fields of :class:`InboxEvent`, a
structural :class:`~typing.Protocol` that :class:`toolkit.brevo.events.BrevoEvent` satisfies
without either module importing the other. The kind is kept as its text (a CHECK lists the
four the schema allows).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from toolkit.store.base import StoreBase, chunks, member
from toolkit.store.records import from_ts, to_ts

__all__ = ["WEBHOOK_OUTCOMES", "InboxEvent", "WebhookEvent", "WebhookEventOutcome", "WebhookEventsMixin"]


class WebhookEventOutcome(StrEnum):
    """How a processed webhook event ended (``outcome``; ``NULL`` while it is pending)."""

    APPLIED = "applied"  # a targeted run read the contact and applied the rules
    IGNORED = "ignored"  # nothing to do: the toolkit's own write, a contact outside the integration
    FAILED = "failed"  # given up: the run could not act on it (kept for the audit, not retried)


WEBHOOK_OUTCOMES = tuple(o.value for o in WebhookEventOutcome)


class InboxEvent(Protocol):
    """What the inbox records of an event (:class:`toolkit.brevo.events.BrevoEvent` has it all)."""

    @property
    def kind(self) -> str:
        """The event's name (``contact_updated``, ``contact_deleted``, ``unsubscribed``, ``list_addition``)."""

    @property
    def email(self) -> str:
        """The contact's e-mail, lower-cased."""

    @property
    def contact_id(self) -> int | None:
        """Brevo's contact id, when the event carries one."""

    @property
    def list_ids(self) -> tuple[int, ...]:
        """The lists the event names."""

    @property
    def event_at(self) -> datetime:
        """When the event happened (aware UTC)."""

    @property
    def api_key_name(self) -> str | None:
        """The API key that made the change (``""``: not through the API; ``None``: not said)."""

    @property
    def key(self) -> str:
        """The event's stable deduplication key."""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One recorded webhook event.

    Attributes:
        id: row id (what :meth:`WebhookEventsMixin.mark_processed` takes).
        integration_id: the integration whose endpoint received it.
        kind, email, contact_id, list_ids, event_at, api_key_name, key: as recorded
            (see :class:`InboxEvent`).
        received_at: when it was recorded.
        processed_at, outcome: when and how a run processed it; ``None`` while pending.
    """

    id: int
    integration_id: int
    kind: str
    email: str
    contact_id: int | None
    list_ids: tuple[int, ...]
    api_key_name: str | None
    event_at: datetime
    key: str
    received_at: datetime
    processed_at: datetime | None
    outcome: WebhookEventOutcome | None

    @property
    def pending(self) -> bool:
        """Whether no run has processed it yet."""
        return self.processed_at is None


_COLUMNS = (
    "id, integration_id, kind, email, contact_id, list_ids, api_key_name, event_at, key, "
    "received_at, processed_at, outcome"
)


def _event(row: tuple[Any, ...]) -> WebhookEvent:
    id_, integration_id, kind, email, contact_id, list_ids, api_key_name, event_at, key = row[:9]
    received_at, processed_at, outcome = row[9:]
    return WebhookEvent(
        id=id_,
        integration_id=integration_id,
        kind=kind,
        email=email,
        contact_id=contact_id,
        list_ids=tuple(json.loads(list_ids)),
        api_key_name=api_key_name,
        event_at=from_ts(event_at),
        key=key,
        received_at=from_ts(received_at),
        processed_at=from_ts(processed_at),
        outcome=WebhookEventOutcome(outcome) if outcome is not None else None,
    )


class WebhookEventsMixin(StoreBase):
    """Methods on ``webhook_events`` (the inbox); each call is one transaction (or joins the caller's)."""

    def record_events(self, integration_id: int, events: Iterable[InboxEvent]) -> int:
        """Record events for an integration, ignoring any whose key is recorded there already.

        Returns:
            How many were new (``0`` for a delivery seen before).
        """
        now = self._now()
        rows = [
            (
                integration_id,
                str(event.kind),
                event.email,
                event.contact_id,
                json.dumps(list(event.list_ids)),
                event.api_key_name,
                to_ts(event.event_at),
                event.key,
                now,
            )
            for event in events
        ]
        if not rows:
            return 0
        return self._write_many(
            "INSERT INTO webhook_events (integration_id, kind, email, contact_id, list_ids, api_key_name, "
            "event_at, key, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (integration_id, key) DO NOTHING",
            rows,
        )

    def pending_events(self, integration_id: int, limit: int = 1000) -> list[WebhookEvent]:
        """The integration's unprocessed events, oldest event time first (then first recorded).

        Args:
            integration_id: whose inbox.
            limit: at most this many (``0`` or less: none; SQLite would read a negative limit as none).
        """
        return [
            _event(r)
            for r in self._rows(
                f"SELECT {_COLUMNS} FROM webhook_events WHERE integration_id = ? AND processed_at IS NULL "
                "ORDER BY event_at, id LIMIT ?",
                (integration_id, max(0, int(limit))),
            )
        ]

    def get_webhook_event(self, event_id: int) -> WebhookEvent | None:
        """One recorded event, or ``None``."""
        rows = self._rows(f"SELECT {_COLUMNS} FROM webhook_events WHERE id = ?", (event_id,))
        return _event(rows[0]) if rows else None

    def mark_processed(self, ids: Iterable[int], outcome: WebhookEventOutcome) -> int:
        """Mark pending events processed now, with ``outcome``; events processed already stay as they are.

        Returns:
            How many were marked.
        """
        outcome = member(WebhookEventOutcome, outcome, "outcome")
        now = self._now()
        marked = 0
        with self.transaction():
            for batch in chunks(dict.fromkeys(ids)):
                marks = ", ".join("?" * len(batch))
                marked += self.db.execute(
                    f"UPDATE webhook_events SET processed_at = ?, outcome = ? "
                    f"WHERE processed_at IS NULL AND id IN ({marks})",
                    (now, outcome, *batch),
                ).rowcount
        return marked

    def purge_processed(self, older_than: datetime) -> int:
        """Delete the events processed before ``older_than`` (pending ones are never purged).

        Returns:
            How many were deleted.
        """
        return self._write(
            "DELETE FROM webhook_events WHERE processed_at IS NOT NULL AND processed_at < ?",
            (to_ts(older_than),),
        ).rowcount
