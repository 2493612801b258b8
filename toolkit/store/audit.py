"""Rejections (SPEC A1, A3) and conflicts: what was not written, what was overruled, and why."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from toolkit.store.base import StoreBase, dumps, loads, member
from toolkit.store.records import (
    Conflict,
    Direction,
    Rejection,
    RejectionState,
    Side,
    from_ts,
    to_ts,
)
from toolkit.store.reporting import ReportRow, rejection_query

__all__ = ["AuditMixin"]

_COLUMNS = (
    "integration_id, direction, record_id, rule, reason, field, value, service_code, "
    "service_message, data_hash, permanent, run_id, id, first_run_id, seen_count, "
    "first_seen, last_seen, resolved_at, resolved_run_id, record_name"
)
_UPSERT = (
    "INSERT INTO rejections (integration_id, direction, record_id, rule, reason, field, value, "
    "service_code, service_message, data_hash, permanent, run_id, first_run_id, seen_count, "
    "first_seen, last_seen, record_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) "
    "ON CONFLICT (integration_id, direction, record_id, rule, field) DO UPDATE SET "
    "reason = excluded.reason, value = excluded.value, service_code = excluded.service_code, "
    "service_message = excluded.service_message, data_hash = excluded.data_hash, "
    "permanent = excluded.permanent, last_seen = excluded.last_seen, "
    # The newest name the source gave; a sighting without one keeps the name known before.
    "record_name = COALESCE(NULLIF(excluded.record_name, ''), rejections.record_name), "
    # A replayed run (crash, then rerun) does not count the same sighting twice.
    "seen_count = rejections.seen_count + "
    "CASE WHEN rejections.run_id = excluded.run_id THEN 0 ELSE 1 END, "
    "run_id = excluded.run_id, resolved_at = NULL, resolved_run_id = NULL"
)
_DIRECTIONS = {d.value: d for d in Direction}
#: The columns of a rejection row in the order :data:`_COLUMNS` selects them (``Rejection``'s
#: fields, and the first keys of :meth:`AuditMixin.list_rejections`' dicts).
_FIELDS = tuple(c.strip() for c in _COLUMNS.split(","))


def _rejection(row: tuple[Any, ...]) -> Rejection:
    (
        integration_id,
        direction,
        record_id,
        rule,
        reason,
        field,
        value,
        service_code,
        service_message,
        data_hash,
        permanent,
        run_id,
        id_,
        first_run_id,
        seen_count,
        first_seen,
        last_seen,
        resolved_at,
        resolved_run_id,
        record_name,
    ) = row
    return Rejection(
        record_id,
        rule,
        field,
        value,
        reason,
        permanent=bool(permanent),
        integration_id=integration_id,
        direction=_DIRECTIONS[direction],
        service_code=service_code,
        service_message=service_message,
        data_hash=data_hash,
        run_id=run_id,
        id=id_,
        first_run_id=first_run_id,
        seen_count=seen_count,
        first_seen=from_ts(first_seen),
        last_seen=from_ts(last_seen),
        resolved_at=from_ts(resolved_at),
        resolved_run_id=resolved_run_id,
        record_name=record_name,
    )


class AuditMixin(StoreBase):
    """Methods on ``rejections`` and ``conflicts``."""

    def upsert_rejections(self, rejections: Iterable[Rejection], *, run_id: int | None = None) -> int:
        """Record rejections; one seen before updates ``last_seen`` and keeps ``first_seen``.

        Args:
            rejections: each with its ``integration_id`` and ``direction`` set.
            run_id: the run seeing them (overrides each rejection's ``run_id`` when given).

        Returns:
            How many rejections were written.

        Raises:
            ValueError: a rejection without integration or direction.
        """
        now = self._now()

        def rows() -> Iterator[tuple[Any, ...]]:
            for r in rejections:
                if r.integration_id is None or r.direction is None:
                    raise ValueError(f"rejection {r.rule} of {r.record_id} has no integration or direction")
                member(Direction, r.direction, "direction")
                seen_by = r.run_id if run_id is None else run_id
                yield (
                    r.integration_id,
                    r.direction,
                    r.record_id,
                    r.rule,
                    r.reason,
                    r.field or "",
                    None if r.value is None else str(r.value),
                    r.service_code,
                    r.service_message,
                    r.data_hash,
                    int(r.permanent),
                    seen_by,
                    seen_by,
                    now,
                    now,
                    r.record_name or None,
                )

        return self._write_many(_UPSERT, rows())

    def resolve_rejections(
        self,
        integration_id: int,
        direction: Direction,
        record_ids: Iterable[str],
        *,
        run_id: int | None = None,
        keep_rules: Iterable[str] = (),
        only_rules: Iterable[str] | None = None,
    ) -> int:
        """Mark the open rejections of these records resolved (they were written at last, A3).

        Args:
            keep_rules: rules whose rejections stay open (they are not about the data written).
            only_rules: resolve only the rejections of these rules.

        Returns:
            How many rejections were resolved.
        """
        direction = member(Direction, direction, "direction")
        now = self._now()
        keep, only = list(keep_rules), None if only_rules is None else list(only_rules)
        sql = (
            "UPDATE rejections SET resolved_at = ?, resolved_run_id = ? WHERE integration_id = ? "
            "AND direction = ? AND record_id = ? AND resolved_at IS NULL"
        )
        if keep:
            sql += f" AND rule NOT IN ({', '.join('?' * len(keep))})"
        if only is not None:
            sql += f" AND rule IN ({', '.join('?' * len(only))})" if only else " AND 1 = 0"
        # Most records written have no open rejection (none of an initial load's has): one look-up
        # per chunk finds those that do, and only they are updated (on PostgreSQL, 50,000 single-row
        # UPDATEs took 3 s of a 50,000-record initial load, to change nothing).
        with_open = self._in_chunks(
            "SELECT DISTINCT record_id FROM rejections WHERE integration_id = ? AND direction = ? "
            "AND resolved_at IS NULL AND record_id IN ({marks})",
            (integration_id, direction),
            record_ids,
        )
        return self._write_many(
            sql,
            [(now, run_id, integration_id, direction, rid, *keep, *(only or ())) for (rid,) in with_open],
        )

    def open_rejections_by_rule(
        self, integration_id: int, direction: Direction, rules: Iterable[str]
    ) -> list[Rejection]:
        """The open rejections of these rules (e.g. D1, to look again once the e-mail is free)."""
        wanted = list(rules)
        if not wanted:
            return []
        sql = (
            f"SELECT {_COLUMNS} FROM rejections WHERE integration_id = ? AND direction = ? "
            f"AND resolved_at IS NULL AND rule IN ({', '.join('?' * len(wanted))})"
        )
        return [_rejection(row) for row in self._rows(sql, (integration_id, direction, *wanted))]

    def open_rejections(
        self, integration_id: int, direction: Direction, record_ids: Iterable[str]
    ) -> dict[str, list[Rejection]]:
        """Return the open rejections of these records, by record id (to decide retries, A3)."""
        sql = (
            f"SELECT {_COLUMNS} FROM rejections WHERE integration_id = ? AND direction = ? "
            "AND resolved_at IS NULL AND record_id IN ({marks})"
        )
        found: dict[str, list[Rejection]] = {}
        for row in self._in_chunks(sql, (integration_id, direction), record_ids):
            found.setdefault(row[2], []).append(_rejection(row))
        return found

    def list_rejections(
        self,
        integration_id: int | None = None,
        *,
        state: RejectionState = RejectionState.OPEN,
        run_id: int | None = None,
        direction: Direction | None = None,
        limit: int | None = None,
    ) -> list[ReportRow]:
        """Return rejections as dicts (ready for a DataFrame), newest sighting first.

        Args:
            integration_id: one integration's, or all when ``None``.
            state: open, resolved or all of them.
            run_id: only those last seen in this run (the run's audit report, A2).
            direction: only those of one direction.
            limit: at most this many.

        Returns:
            One dict per rejection with every :class:`Rejection` field plus ``integration``
            (the integration's name).
        """
        state = member(RejectionState, state, "state")
        columns = [*(f"r.{c}" for c in _FIELDS), "i.name"]
        sql, params = rejection_query(
            columns,
            integration_id=integration_id,
            run_id=run_id,
            direction=direction,
            state=state,
            limit=limit,
        )
        found: list[ReportRow] = []
        for row in self._rows(sql, params):
            rejection = _rejection(row[:-1])
            found.append({"integration": row[-1], **{name: getattr(rejection, name) for name in _FIELDS}})
        return found

    # -- conflicts --------------------------------------------------------------------------

    def add_conflicts(self, conflicts: Iterable[Conflict], *, run_id: int | None = None) -> int:
        """Record conflicts (both sides changed; ``winner`` was kept); returns how many."""
        now = self._now()

        def rows() -> Iterator[tuple[Any, ...]]:
            for c in conflicts:
                member(Side, c.winner, "winner")
                yield (
                    c.integration_id,
                    c.run_id if run_id is None else run_id,
                    c.sf_id,
                    c.winner,
                    dumps(c.sf_values),
                    dumps(c.brevo_values),
                    now if c.at is None else to_ts(c.at),
                )

        return self._write_many(
            "INSERT INTO conflicts (integration_id, run_id, sf_id, winner, sf_values, brevo_values, "
            "at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows(),
        )

    def list_conflicts(
        self, integration_id: int, *, run_id: int | None = None, limit: int | None = None
    ) -> list[Conflict]:
        """Return an integration's conflicts (optionally one run's), newest first."""
        sql = (
            "SELECT integration_id, sf_id, winner, sf_values, brevo_values, run_id, id, at "
            "FROM conflicts WHERE integration_id = ?"
        )
        params: list[Any] = [integration_id]
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        sql += " ORDER BY at DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [
            Conflict(i, sf, Side(w), loads(sv), loads(bv), run, id_, from_ts(at))
            for i, sf, w, sv, bv, run, id_, at in self._rows(sql, params)
        ]
