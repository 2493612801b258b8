"""The monthly task ledger, task reservations and the stored quota limit (SPEC Q1-Q3).

- ``quota_ledger``: tasks written, one row per UTC day, integration and run, summed per month.
  It has no foreign keys on purpose: a deleted integration's tasks still count for its month.
- ``quota_reservations``: tasks a running run may write now, one row per run. Reservations are
  taken under ``BEGIN IMMEDIATE`` so that two runs (two processes) never reserve the same
  task, and they count only while their run is ``running``, has not expired and (on this host)
  its process is alive, so a crashed run's reservation does not leak.
- ``quota_settings``: the limit set with ``toolkit quota set-limit`` (overrides the setting).

The policy (thresholds, notifications, stopping and resuming integrations) is in
:mod:`toolkit.quota`; this mixin only reads and writes the tables.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from toolkit.store.outbox import OutboxMixin
from toolkit.store.records import RunStatus, to_ts

__all__ = ["IntegrationTasks", "QuotaStoreMixin", "day_of", "month_of"]

_HOST = socket.gethostname()


@dataclass(frozen=True, slots=True)
class IntegrationTasks:
    """The tasks one integration wrote in a month.

    Attributes:
        integration_id: its id. name: its name, ``None`` once it was deleted (its tasks still
            count for the month). tasks: records written.
    """

    integration_id: int
    name: str | None
    tasks: int


def month_of(moment: datetime) -> str:
    """The UTC calendar month of a moment, as ``"YYYY-MM"``."""
    return to_ts(moment)[:7]


def day_of(moment: datetime) -> str:
    """The UTC day of a moment, as ``"YYYY-MM-DD"``."""
    return to_ts(moment)[:10]


def _alive(pid: int) -> bool:
    """Whether a process of this host is alive (always ``True`` where that cannot be told)."""
    if os.name != "posix" or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class QuotaStoreMixin(OutboxMixin):
    """Methods on ``quota_ledger``, ``quota_reservations``, ``quota_settings`` (and the outbox)."""

    def quota_now(self) -> datetime:
        """The store's clock (UTC-aware): the moment that decides the month and the day."""
        return self._clock()

    # -- the limit ----------------------------------------------------------------------------

    def get_quota_limit(self) -> int | None:
        """The limit stored by ``set-limit``, or ``None`` when the setting applies."""
        rows = self._rows("SELECT value FROM quota_settings WHERE name = 'limit'")
        return int(rows[0][0]) if rows else None

    def set_quota_limit(self, limit: int | None) -> None:
        """Store the monthly limit (``None`` removes it: the setting applies again).

        Raises:
            ValueError: ``limit`` is not a positive number of tasks.
        """
        if limit is None:
            self._write("DELETE FROM quota_settings WHERE name = 'limit'")
            return
        if isinstance(limit, bool) or int(limit) != limit or limit <= 0:
            raise ValueError(f"the quota limit must be a positive number of tasks, got {limit!r}")
        self._write(
            "INSERT INTO quota_settings (name, value, updated_at) VALUES ('limit', ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (str(int(limit)), self._now()),
        )

    # -- the ledger ---------------------------------------------------------------------------

    def add_tasks(self, integration_id: int, run_id: int | None, n: int) -> str:
        """Count ``n`` tasks written now; joins the caller's transaction.

        Returns:
            The month (``"YYYY-MM"``) they were counted in.
        """
        if n < 0:
            raise ValueError("a number of tasks cannot be negative")
        now = self._clock()
        month = month_of(now)
        if n:
            self._write(
                "INSERT INTO quota_ledger (month, day, integration_id, run_id, tasks, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (day, integration_id, run_id) DO UPDATE SET "
                "tasks = quota_ledger.tasks + excluded.tasks, updated_at = excluded.updated_at",
                (month, day_of(now), integration_id, run_id or 0, n, to_ts(now)),
            )
        return month

    def tasks_used(self, month: str) -> int:
        """Tasks written in a month (``"YYYY-MM"``)."""
        return int(
            self._rows("SELECT COALESCE(SUM(tasks), 0) FROM quota_ledger WHERE month = ?", (month,))[0][0]
        )

    def tasks_by_day(self, month: str) -> dict[str, int]:
        """Tasks per UTC day (``"YYYY-MM-DD"``) of a month; days without tasks are absent."""
        return {
            day: int(n)
            for day, n in self._rows(
                "SELECT day, SUM(tasks) FROM quota_ledger WHERE month = ? GROUP BY day ORDER BY day", (month,)
            )
        }

    def tasks_by_integration(self, month: str) -> list[IntegrationTasks]:
        """The tasks of each integration in a month (deleted ones too), most tasks first."""
        return [
            IntegrationTasks(int(i), name, int(n))
            for i, name, n in self._rows(
                "SELECT q.integration_id, i.name, SUM(q.tasks) AS n FROM quota_ledger q "
                "LEFT JOIN integrations i ON i.id = q.integration_id WHERE q.month = ? "
                "GROUP BY q.integration_id, i.name ORDER BY n DESC, q.integration_id",
                (month,),
            )
        ]

    def tasks_of_run(self, run_id: int) -> int:
        """Tasks counted for one run (all days)."""
        return int(
            self._rows("SELECT COALESCE(SUM(tasks), 0) FROM quota_ledger WHERE run_id = ?", (run_id,))[0][0]
        )

    # -- reservations -------------------------------------------------------------------------

    def reserve_tasks(
        self, integration_id: int, run_id: int, n: int, *, default_limit: int, ttl: timedelta
    ) -> int:
        """Reserve up to ``n`` tasks of the current month for a running run, and commit.

        Under the write lock: forget dead reservations, then grant
        ``min(n, limit - used - reserved)`` (never below 0) and add it to the run's reservation,
        whose expiry moves to ``now + ttl``.

        Args:
            integration_id: the run's integration.
            run_id: a run with status ``running``.
            n: tasks wanted.
            default_limit: the limit when none is stored (:meth:`get_quota_limit` wins).
            ttl: how long a reservation counts without a new reservation or a settlement.

        Returns:
            The tasks granted, between 0 and ``n``.
        """
        with self.transaction():
            now = self._clock()
            stored = self.get_quota_limit()
            limit = stored if stored is not None else default_limit
            self.forget_dead_reservations()
            used = self.tasks_used(month_of(now))
            held = self.reserved_tasks()
            granted = max(0, min(n, limit - used - held))
            self.db.execute(
                "INSERT INTO quota_reservations (run_id, integration_id, tasks, host, pid, "
                "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE "
                "SET tasks = quota_reservations.tasks + excluded.tasks, host = excluded.host, "
                "pid = excluded.pid, expires_at = excluded.expires_at",
                (run_id, integration_id, granted, _HOST, os.getpid(), to_ts(now), to_ts(now + ttl)),
            )
            return granted

    def settle_reservation(self, run_id: int, n: int | None = None) -> None:
        """Take ``n`` tasks (all when ``None``) off a run's reservation; joins the transaction."""
        if n is None:
            self._write("DELETE FROM quota_reservations WHERE run_id = ?", (run_id,))
            return
        self._write(
            "UPDATE quota_reservations SET tasks = CASE WHEN tasks > ? THEN tasks - ? "
            "ELSE 0 END WHERE run_id = ?",
            (n, n, run_id),
        )

    def reserved_tasks(self) -> int:
        """Tasks reserved by live reservations (see :meth:`forget_dead_reservations`)."""
        rows = self._rows(
            "SELECT r.tasks, r.host, r.pid FROM quota_reservations r JOIN runs u ON u.id = r.run_id "
            "WHERE u.status = ? AND r.expires_at >= ?",
            (RunStatus.RUNNING, self._now()),
        )
        return sum(int(tasks) for tasks, host, pid in rows if host != _HOST or _alive(int(pid)))

    def forget_dead_reservations(self) -> int:
        """Delete reservations whose run finished, that expired, or whose process died here.

        Returns:
            How many were deleted.
        """
        with self.transaction():
            gone = self.db.execute(
                "DELETE FROM quota_reservations WHERE expires_at < ? OR run_id NOT IN "
                "(SELECT id FROM runs WHERE status = ?)",
                (self._now(), RunStatus.RUNNING),
            ).rowcount
            dead = [
                (run_id,)
                for run_id, pid in self._rows(
                    "SELECT run_id, pid FROM quota_reservations WHERE host = ?", (_HOST,)
                )
                if not _alive(int(pid))
            ]
            if dead:
                self.db.executemany("DELETE FROM quota_reservations WHERE run_id = ?", dead)
            return gone + len(dead)
