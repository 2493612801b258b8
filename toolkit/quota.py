"""The monthly task quota (SPEC Q1-Q3) and its forecast (B2).

Every record written, in either direction, is one task (Q1). Before each batch the engine
reserves tasks (:meth:`Quota.reserve`, or the closure :meth:`Quota.reserver`); the grant is
never more than ``limit - used - reserved by live runs``, so the limit is not crossed even by
runs of several integrations at once. In the transaction that commits the batch it counts what
was written (:meth:`Quota.record`), which also settles the reservation and, when the count
crosses a threshold, enqueues the e-mail in that same transaction: at 80% one warning a month
(Q2); at 100% every active integration is stopped (``stop_reason = "quota"``) and a second
e-mail goes out (Q3). :meth:`Quota.resume` makes them active again once the month rolled over
or the limit was raised (:meth:`Quota.set_limit` does it itself).

Example:
    >>> quota = Quota(store, settings)                                  # doctest: +SKIP
    >>> quota.resume()                                                  # before a run
    >>> granted = quota.reserve(integration.id, run.id, 25)             # before a batch
    >>> with store.transaction():                                       # the batch's commit
    ...     store.upsert_links(links)
    ...     quota.record(integration.id, run.id, written)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple, TypedDict

from toolkit.notify import Email, enqueue

from .config import Settings
from .exceptions import ConfigError, QuotaExhausted
from .store import SYSTEM_ACTOR, IntegrationStatus, StopReason, Store
from .store.outbox import OutboxStatus
from .store.quota import day_of, month_of

__all__ = [
    "DayUsage",
    "EXHAUSTED",
    "IntegrationUsage",
    "MonthBounds",
    "NotificationRow",
    "Quota",
    "QuotaNotice",
    "QuotaState",
    "QuotaStatus",
    "RESERVATION_TTL",
    "STOP_REASON",
    "WARNING",
    "check_not_stopped",
    "month_bounds",
    "quota_email",
    "stopped_message",
]

log = logging.getLogger(__name__)


class QuotaState(StrEnum):
    """Where the month's task quota stands (:attr:`QuotaStatus.state`)."""

    OK = "ok"
    WARNING = "warning"  # 80% used, or forecast to be by the month's end (Q2, B2)
    EXHAUSTED = "exhausted"  # used up: integrations are stopped until it resets or is raised (Q3)


class QuotaNotice(StrEnum):
    """The quota's e-mails, by the outbox ``kind`` they are queued under (one each a month)."""

    WARNING = "quota_warning"  # Q2: 80% of the month's tasks used
    EXHAUSTED = "quota_exhausted"  # Q3: all used, integrations stopped


WARNING, EXHAUSTED = QuotaNotice.WARNING, QuotaNotice.EXHAUSTED
STOP_REASON = StopReason.QUOTA
"""The ``stop_reason`` of an integration the quota stopped (it resumes by itself, Q3)."""
RESERVATION_TTL = timedelta(hours=2)
_RECENT_DAYS = 7
_DAY = timedelta(days=1)


class MonthBounds(NamedTuple):
    """A calendar month (UTC): its first moment and the next month's (``end``, excluded).

    A named pair (callers unpack it: ``start, end = month_bounds(month)``).
    """

    start: datetime
    end: datetime


def month_bounds(month: str) -> MonthBounds:
    """The first moment of a month (``"YYYY-MM"``, UTC) and of the next one."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    return MonthBounds(start, (start + timedelta(days=32)).replace(day=1))


class DayUsage(TypedDict):
    """One day of :meth:`Quota.usage_by_day`."""

    day: date
    tasks: int
    cumulative: int


class IntegrationUsage(TypedDict):
    """One integration of :meth:`Quota.usage_by_integration`."""

    integration_id: int
    integration: str
    tasks: int
    share: float


class NotificationRow(TypedDict):
    """One quota e-mail of :meth:`Quota.notifications`, with its delivery state."""

    id: int
    kind: str
    month: str
    status: OutboxStatus
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    error: str | None


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    """The month's task quota at one moment.

    Attributes:
        month: ``"YYYY-MM"`` (UTC). used: tasks written this month. limit: tasks allowed.
        share: ``used / limit``. reserved: tasks held by running runs, not yet written.
        state: see :class:`QuotaState`.
        forecast: projected tasks at the month's end (B2); forecast_share: ``forecast / limit``.
        remaining: tasks left (never negative). resets_at: when the next month starts.
        exhausted_on: the day the forecast reaches the limit, if it does this month.
    """

    month: str
    used: int
    limit: int
    share: float
    reserved: int
    state: QuotaState
    forecast: int
    forecast_share: float
    remaining: int
    resets_at: datetime
    exhausted_on: date | None


class Quota:
    """The quota policy over the store's ledger, reservations and outbox.

    Args:
        store: the state database; its clock decides the month.
        settings: ``quota_limit`` (unless ``toolkit quota set-limit`` stored one) and
            ``quota_warning_share``.
        reservation_ttl: how long a reservation counts without being renewed or settled.
    """

    def __init__(
        self, store: Store, settings: Settings, *, reservation_ttl: timedelta = RESERVATION_TTL
    ) -> None:
        self.store = store
        self.settings = settings
        self.reservation_ttl = reservation_ttl

    @property
    def limit(self) -> int:
        """The monthly limit in force: the stored one, else ``settings.quota_limit``."""
        stored = self.store.get_quota_limit()
        return stored if stored is not None else self.settings.quota_limit

    # -- the engine's calls ---------------------------------------------------------------------

    def reserve(self, integration_id: int, run_id: int, n: int) -> int:
        """Reserve up to ``n`` tasks for a running run (commits on its own; call outside a transaction).

        Returns:
            How many may be written now; fewer than ``n`` means the run stops after this batch.
        """
        if n <= 0:
            return 0
        granted = self.store.reserve_tasks(
            integration_id, run_id, n, default_limit=self.settings.quota_limit, ttl=self.reservation_ttl
        )
        if granted < n:
            log.info("quota: run %s asked for %d tasks, granted %d", run_id, n, granted)
        return granted

    def reserver(self, integration_id: int, run_id: int) -> Callable[[int], int]:
        """The engine's ``Reserve`` hook for one run: ``n -> granted``."""
        return lambda n: self.reserve(integration_id, run_id, n)

    def record(self, integration_id: int, run_id: int | None, n: int, *, settle: int | None = None) -> None:
        """Count ``n`` written tasks; call INSIDE the ``store.transaction()`` that commits the batch.

        Only executes SQL (a savepoint when inside a transaction, so nothing is committed here):
        adds to the ledger, takes ``settle`` tasks (default: all) off the run's reservation and,
        if a threshold is crossed, enqueues its e-mail and (at 100%) stops every active
        integration, all in the caller's transaction.
        """
        with self.store.transaction():
            month = self.store.add_tasks(integration_id, run_id, n)
            if run_id is not None:
                self.store.settle_reservation(run_id, settle)
            if n:
                self._thresholds(month)

    def release(self, run_id: int) -> None:
        """Drop a run's reservation (at the end of a run, whatever its outcome)."""
        self.store.settle_reservation(run_id)

    def resume(self) -> list[str]:
        """Make integrations stopped for the quota active again when tasks are left (new month, raise).

        Returns:
            The names of the integrations resumed.
        """
        resumed: list[str] = []
        with self.store.transaction():
            # Checked under the write lock: a run of another process may cross 100% (and stop
            # everything) between a check made before it and the writes below, which would then
            # make the integrations active again on an exhausted quota.
            if self.status().state == QuotaState.EXHAUSTED:
                return []
            for integ in self.store.list_integrations(status=IntegrationStatus.STOPPED):
                if integ.stop_reason != STOP_REASON:
                    continue
                try:
                    self.store.set_status(
                        integ.id,
                        IntegrationStatus.ACTIVE,
                        last_error=integ.last_error,
                        last_error_rule=integ.last_error_rule,
                        actor=SYSTEM_ACTOR,
                    )
                except ConfigError as exc:
                    log.warning("quota: %s stays stopped: %s", integ.name, exc)
                    continue
                resumed.append(integ.name)
        if resumed:
            log.info("quota: resumed %s", ", ".join(resumed))
        return resumed

    def set_limit(self, limit: int | None) -> QuotaStatus:
        """Store a new monthly limit (``None``: back to the setting), then stop or resume.

        Raising the limit resumes integrations stopped for the quota; lowering it below the
        month's usage stops them (and enqueues the e-mails a crossing calls for).
        """
        with self.store.transaction():
            self.store.set_quota_limit(limit)
            self._thresholds(month_of(self.store.quota_now()))
        self.resume()
        return self.status()

    # -- reading --------------------------------------------------------------------------------

    def status(self) -> QuotaStatus:
        """The current month's usage, limit, reservations, state and forecast (B2)."""
        now = self.store.quota_now()
        month = month_of(now)
        start, end = month_bounds(month)
        used, limit = self.store.tasks_used(month), self.limit
        rate = _rate(used, self.store.tasks_by_day(month), now, start)
        forecast = used + round(rate * (end - now) / _DAY)
        exhausted_on = None
        if used < limit and rate > 0 and forecast >= limit:
            exhausted_on = (now + (limit - used) / rate * _DAY).date()
        share, forecast_share = used / limit, forecast / limit
        warn = self.settings.quota_warning_share
        state = (
            QuotaState.EXHAUSTED
            if used >= limit
            else QuotaState.WARNING
            if share >= warn or forecast_share >= warn
            else QuotaState.OK
        )
        return QuotaStatus(
            month,
            used,
            limit,
            share,
            self.store.reserved_tasks(),
            state,
            forecast,
            forecast_share,
            max(0, limit - used),
            end,
            exhausted_on,
        )

    def usage_by_day(self, month: str | None = None) -> list[DayUsage]:
        """Tasks per UTC day, every day up to today (or the month's end), with a running total."""
        now = self.store.quota_now()
        month = month or month_of(now)
        start, end = month_bounds(month)
        counts = self.store.tasks_by_day(month)
        rows: list[DayUsage] = []
        total, day = 0, start
        last = min(end - _DAY, datetime.combine(now.date(), datetime.min.time(), UTC))
        while day <= last:
            tasks = counts.get(day_of(day), 0)
            total += tasks
            rows.append({"day": day.date(), "tasks": tasks, "cumulative": total})
            day += _DAY
        return rows

    def usage_by_integration(self, month: str | None = None) -> list[IntegrationUsage]:
        """Tasks per integration in a month (deleted integrations too), most first."""
        month = month or month_of(self.store.quota_now())
        rows = self.store.tasks_by_integration(month)
        total = sum(row.tasks for row in rows) or 1
        return [
            {
                "integration_id": row.integration_id,
                "integration": row.name or f"(deleted #{row.integration_id})",
                "tasks": row.tasks,
                "share": row.tasks / total,
            }
            for row in rows
        ]

    def notifications(self, month: str | None = None) -> list[NotificationRow]:
        """The quota e-mails (all months, or one) with their delivery state."""
        return [
            {
                "id": m.id,
                "kind": m.kind,
                "month": m.month,
                "status": m.status,
                "attempts": m.attempts,
                "created_at": m.created_at,
                "sent_at": m.sent_at,
                "error": m.error,
            }
            for m in self.store.list_notifications(month=month)
        ]

    # -- thresholds -----------------------------------------------------------------------------

    def _thresholds(self, month: str) -> None:
        """Enqueue the e-mails and stop the integrations a month's usage calls for (in a transaction)."""
        if month != month_of(self.store.quota_now()):
            return
        status = self.status()
        if status.share >= self.settings.quota_warning_share:
            enqueue(self.store, WARNING, month, quota_email(WARNING, status, self._top(month)))
        if status.used >= status.limit:
            stopped = self._stop_all()
            enqueue(self.store, EXHAUSTED, month, quota_email(EXHAUSTED, status, stopped))

    def _stop_all(self) -> list[str]:
        stopped: list[str] = []
        for integ in self.store.list_integrations(status=IntegrationStatus.ACTIVE):
            self.store.set_status(
                integ.id,
                IntegrationStatus.STOPPED,
                last_error=integ.last_error,
                last_error_rule=integ.last_error_rule,
                stop_reason=STOP_REASON,
                actor=SYSTEM_ACTOR,
            )
            stopped.append(integ.name)
        if stopped:
            log.warning("quota: the month's tasks are used up; stopped %s", ", ".join(stopped))
        return stopped

    def _top(self, month: str) -> list[str]:
        return [f"{row['integration']} ({row['tasks']:,})" for row in self.usage_by_integration(month)[:5]]


def _rate(used: int, by_day: dict[str, int], now: datetime, start: datetime) -> float:
    """Tasks per day: the month's average or the last 7 days' pace, whichever is higher (B2)."""
    if used == 0:
        return 0.0
    elapsed = max(1.0, (now - start) / _DAY)
    first_recent = now - timedelta(days=_RECENT_DAYS - 1)
    recent = sum(n for day, n in by_day.items() if day >= day_of(first_recent))
    today = datetime.combine(now.date(), datetime.min.time(), UTC)
    window = max(1.0, min(elapsed, _RECENT_DAYS - 1 + (now - today) / _DAY))
    return max(used / elapsed, recent / window)


def _raise_hint(used: int, limit: int) -> str:
    """A ``set-limit`` command that leaves room: half as much again, and more than this month's use."""
    return f"toolkit quota set-limit {max(limit * 3 // 2, used + 1)}"


def stopped_message(store: Store, name: str, *, default_limit: int | None = None) -> str:
    """Why an integration the quota stopped does not run, and when it resumes by itself (Q3).

    Args:
        store: the state database (its clock decides the month).
        name: the integration.
        default_limit: the ``quota_limit`` setting, when no limit is stored (for the hint's figure).
    """
    now = store.quota_now()
    month = month_of(now)
    resets_at = month_bounds(month).end
    used = store.tasks_used(month)
    stored = store.get_quota_limit()
    limit = stored if stored is not None else default_limit if default_limit is not None else used
    return (
        f"integration {name!r} is stopped: this month's task quota is used up ({used:,} of {limit:,} tasks). "
        f"It resumes by itself when the quota resets at the start of next month, "
        f"{resets_at:%Y-%m-%d %H:%M} UTC, or as soon as the limit is raised ({_raise_hint(used, limit)}); "
        "nothing is lost in the meantime"
    )


def check_not_stopped(store: Store, name: str, *, default_limit: int | None = None) -> None:
    """Raise :class:`~toolkit.exceptions.QuotaExhausted` for an integration the quota stopped (Q3).

    Call it after :meth:`Quota.resume`, which makes such integrations active again as soon as
    tasks are left.

    Raises:
        QuotaExhausted: the integration's status is ``stopped`` for the reason ``quota``; the
            message says when it resumes (see :func:`stopped_message`).
    """
    integration = store.get_integration(name)
    if integration.status == IntegrationStatus.STOPPED and integration.stop_reason == STOP_REASON:
        raise QuotaExhausted(stopped_message(store, integration.name, default_limit=default_limit))


def quota_email(kind: QuotaNotice, status: QuotaStatus, integrations: list[str]) -> Email:
    """The Q2 warning or the Q3 stop notice: plain words, figures with separators, HTML escaped.

    Args:
        kind: :data:`WARNING` or :data:`EXHAUSTED`.
        status: the quota when the threshold was crossed.
        integrations: for the warning, the biggest users ("name (tasks)"); for the stop notice,
            the integrations stopped.
    """
    month = datetime.strptime(status.month, "%Y-%m").strftime("%B %Y")
    resets = f"{status.resets_at.day} {status.resets_at:%B %Y}"
    raise_hint = _raise_hint(status.used, status.limit)
    keep = (
        f"Nothing is lost: records not yet written stay pending and are written automatically "
        f"when the quota resets on {resets} (UTC), or as soon as the limit is raised "
        f"(for example: {raise_hint})."
    )
    sign = "-- the Salesforce-Brevo toolkit"
    if kind == WARNING:
        percent = int(status.share * 100)
        pace = (
            f"At the current pace they will use about {status.forecast:,} tasks "
            f"({int(status.forecast_share * 100)}%) by the end of the month."
        )
        return Email.from_paragraphs(
            f"Salesforce-Brevo sync: {percent}% of this month's tasks used",
            [
                "Hello,",
                (
                    f"Your integrations used {percent}% ({status.used:,} of {status.limit:,}) of this month's "
                    f"tasks ({month}). Each record created, updated or deleted, in either direction, is one task."
                ),
                pace if status.forecast else "",
                f"Most tasks so far: {', '.join(integrations)}." if integrations else "",
                (
                    f"When all {status.limit:,} tasks are used, every integration stops before writing a task "
                    f"over the limit. {keep}"
                ),
                sign,
            ],
        )
    subject = f"Salesforce-Brevo sync stopped: all {status.limit:,} tasks of {month} are used"
    return Email.from_paragraphs(
        subject,
        [
            "Hello,",
            (
                f"Your integrations used all {status.limit:,} tasks of this month's quota ({month}), so the sync "
                "has stopped before writing a task over the limit."
            ),
            f"Stopped: {', '.join(integrations)}." if integrations else "",
            keep,
            sign,
        ],
    )
