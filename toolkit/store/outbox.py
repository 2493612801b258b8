"""The notification outbox: one row per (kind, month), claimed, sent and marked exactly once.

A message is enqueued in the same transaction as the ledger change that called for it, so a
notification exists if and only if the change was committed; the ``UNIQUE (kind, month)`` key
makes a second enqueue (a replayed batch, another process) a no-op. Delivery states:

- ``pending``: waiting to be sent (also after a failure that certainly sent nothing);
- ``sending``: claimed with an ``attempt_key`` and handed to the transport; a row left here by
  a crash is resolved by :func:`toolkit.notify.deliver`;
- ``sent``: the transport accepted it (``message_id`` kept);
- ``unconfirmed``: a send whose outcome is unknown (crash, 5xx); never re-sent (at most once);
- ``failed``: refused too often to keep trying.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from toolkit.store.base import StoreBase, member
from toolkit.store.records import from_ts, to_ts

__all__ = ["OUTBOX_STATES", "OutboxMessage", "OutboxMixin", "OutboxStatus"]


class OutboxStatus(StrEnum):
    """Where a notification's delivery stands (see the module docstring)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    UNCONFIRMED = "unconfirmed"
    FAILED = "failed"


OUTBOX_STATES = tuple(s.value for s in OutboxStatus)
_COLUMNS = (
    "id, kind, month, subject, text_body, html_body, status, attempts, attempt_key, "
    "message_id, error, created_at, sending_at, sent_at"
)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One notification in the outbox.

    Attributes:
        kind: what happened, e.g. ``"quota_warning"`` (Q2) or ``"quota_exhausted"`` (Q3).
        month: the calendar month (``"2024-05"``, UTC) it is about; one message per kind and month.
        subject, text_body, html_body: the message, built when it was enqueued (HTML escaped).
        status: see :class:`OutboxStatus`.
        attempts: how many times it was handed to a transport.
        attempt_key: the key of the latest attempt, carried in the e-mail's tags so that the
            provider's sent log can tell whether that attempt went out.
        message_id: the provider's id once sent. error: the last failure, if any.
    """

    id: int
    kind: str
    month: str
    subject: str
    text_body: str
    html_body: str
    status: OutboxStatus
    attempts: int
    attempt_key: str | None
    message_id: str | None
    error: str | None
    created_at: datetime
    sending_at: datetime | None
    sent_at: datetime | None

    @property
    def tag(self) -> str:
        """The stable marker of this message in the provider's logs (``outbox:<id>``)."""
        return f"outbox:{self.id}"

    @property
    def attempt_tag(self) -> str:
        """The marker of the latest attempt (``attempt:<key>``), unique across installations."""
        return f"attempt:{self.attempt_key}"


def _message(row: tuple[Any, ...]) -> OutboxMessage:
    values = list(row)
    values[6] = OutboxStatus(values[6])
    for index in (11, 12, 13):
        values[index] = from_ts(values[index])
    return OutboxMessage(*values)


class OutboxMixin(StoreBase):
    """Methods on ``outbox``."""

    def enqueue_notification(self, kind: str, month: str, *, subject: str, text: str, html: str) -> bool:
        """Add a message unless one of this kind and month exists; joins the caller's transaction.

        Returns:
            ``True`` if it was added, ``False`` if it was there already.
        """
        cursor = self._write(
            "INSERT INTO outbox (kind, month, subject, text_body, html_body, status, attempts, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?) "
            "ON CONFLICT (kind, month) DO NOTHING",
            (kind, month, subject, text, html, OutboxStatus.PENDING, self._now()),
        )
        return cursor.rowcount == 1

    def get_notification(self, message_id: int) -> OutboxMessage | None:
        """Return one outbox message, or ``None``."""
        rows = self._rows(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (message_id,))
        return _message(rows[0]) if rows else None

    def list_notifications(
        self, *, status: OutboxStatus | None = None, month: str | None = None, limit: int | None = None
    ) -> list[OutboxMessage]:
        """Return outbox messages, oldest first, optionally of one status and/or month."""
        where: list[str] = []
        params: list[Any] = []
        if status is not None:
            where.append("status = ?")
            params.append(member(OutboxStatus, status, "status"))
        if month is not None:
            where.append("month = ?")
            params.append(month)
        sql = f"SELECT {_COLUMNS} FROM outbox"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_message(r) for r in self._rows(sql, params)]

    def claim_notification(self, message_id: int) -> OutboxMessage | None:
        """Move a ``pending`` message to ``sending`` with a new attempt key, and commit.

        Returns:
            The claimed message, or ``None`` when it is no longer pending (another process
            claimed it first).

        Raises:
            RuntimeError: called inside an open transaction: the claim must be committed
                before the message is handed to a transport.
        """
        if self._depth:
            raise RuntimeError("claim_notification commits on its own: call it outside transaction()")
        with self.transaction():
            changed = self.db.execute(
                "UPDATE outbox SET status = ?, attempt_key = ?, attempts = attempts + 1, "
                "sending_at = ? WHERE id = ? AND status = ?",
                (OutboxStatus.SENDING, uuid.uuid4().hex, self._now(), message_id, OutboxStatus.PENDING),
            ).rowcount
        return self.get_notification(message_id) if changed else None

    def settle_notification(
        self,
        message_id: int,
        attempt_key: str,
        status: OutboxStatus,
        *,
        message_id_sent: str | None = None,
        error: str | None = None,
    ) -> bool:
        """Record how an attempt ended; only the attempt that holds ``attempt_key`` may settle it.

        Args:
            message_id: the outbox row.
            attempt_key: the key the attempt was claimed with.
            status: ``SENT``, ``PENDING`` (nothing went out: try again), ``UNCONFIRMED`` or
                ``FAILED``.
            message_id_sent: the provider's message id, for ``sent``.
            error: what went wrong (kept for the status display; never a secret).

        Returns:
            ``True`` if the row was updated.
        """
        status = member(OutboxStatus, status, "status")
        sent_at = self._now() if status == OutboxStatus.SENT else None
        return (
            self._write(
                "UPDATE outbox SET status = ?, message_id = COALESCE(?, message_id), error = ?, "
                "sent_at = COALESCE(?, sent_at) WHERE id = ? AND attempt_key = ? AND status IN (?, ?)",
                (
                    status,
                    message_id_sent,
                    error,
                    sent_at,
                    message_id,
                    attempt_key,
                    OutboxStatus.SENDING,
                    OutboxStatus.UNCONFIRMED,
                ),
            ).rowcount
            == 1
        )

    def stale_notifications(self, before: datetime) -> list[OutboxMessage]:
        """Messages still ``sending`` that were claimed before ``before`` (their sender died)."""
        return [
            _message(r)
            for r in self._rows(
                f"SELECT {_COLUMNS} FROM outbox WHERE status = ? AND sending_at < ? ORDER BY id",
                (OutboxStatus.SENDING, to_ts(before)),
            )
        ]
