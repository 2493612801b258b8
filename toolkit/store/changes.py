"""Who changed what, and when: every change made to an integration or a connection (issue 15).

The integrations store records its own changes (created, a setting edited, a status changed,
deleted) in the transaction that makes them, so that no change goes unrecorded; connections
record theirs through :meth:`ChangesMixin.record_change`. Who made a change is the store's
``actor`` and ``via`` (set by :class:`toolkit.api.Toolkit` and the pages), or given per call.
"""

from __future__ import annotations

from typing import Any

from toolkit.store.base import StoreBase, member
from toolkit.store.records import Change, ChangeAction, from_ts

__all__ = ["SYSTEM_ACTOR", "ChangesMixin"]

SYSTEM_ACTOR = "toolkit"
"""The actor of the toolkit's own changes (a quota stop, a failed run's error status)."""

_COLUMNS = "id, at, actor, via, integration_id, connection_id, subject, action, field, old, new"


def _change(row: tuple[Any, ...]) -> Change:
    id_, at, actor, via, integration_id, connection_id, subject, action, field, old, new = row
    return Change(
        id_,
        from_ts(at),
        actor,
        via,
        integration_id,
        connection_id,
        subject,
        ChangeAction(action),
        field,
        old,
        new,
    )


class ChangesMixin(StoreBase):
    """Methods on ``changes``.

    Attributes:
        actor: who the changes made through this store are recorded as (default ``"toolkit"``).
        via: where they are made (``"python"``, ``"integrations page"``...; default ``""``).
    """

    actor: str = SYSTEM_ACTOR
    via: str = ""

    def record_change(
        self,
        action: ChangeAction,
        subject: str,
        *,
        integration_id: int | None = None,
        connection_id: int | None = None,
        field: str = "",
        old: str | None = None,
        new: str | None = None,
        actor: str | None = None,
        via: str | None = None,
    ) -> None:
        """Record one change (in the caller's transaction, if one is open)."""
        self._write(
            "INSERT INTO changes (at, actor, via, integration_id, connection_id, subject, action, field, old, new) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self._now(),
                actor or self.actor,
                self.via if via is None else via,
                integration_id,
                connection_id,
                subject,
                member(ChangeAction, action, "action").value,
                field,
                old,
                new,
            ),
        )

    def list_changes(
        self, *, integration_id: int | None = None, connection_id: int | None = None, limit: int = 200
    ) -> list[Change]:
        """The newest changes first, of one integration, one connection, or (neither given) all."""
        where, params = "", ()  # type: tuple[str, tuple[Any, ...]]
        if integration_id is not None:
            where, params = "WHERE integration_id = ?", (integration_id,)
        elif connection_id is not None:
            where, params = "WHERE connection_id = ?", (connection_id,)
        rows = self._rows(
            f"SELECT {_COLUMNS} FROM changes {where} ORDER BY at DESC, id DESC LIMIT ?", (*params, limit)
        )
        return [_change(r) for r in rows]
