"""When an integration runs under ``toolkit serve``: an interval or a cron expression (issue 14).

A schedule is kept as text on the integration (``Integration.schedule``), as a person types it
in the wizard or on the integrations page:

- an interval, ``every 15 minutes`` (also ``every 2 hours``, ``every 30 seconds``, ``every day``)
  or its short form ``15m``, ``2h``, ``30s``, ``1d``;
- a cron expression of five fields, ``minute hour day month weekday`` (``0 6 * * mon-fri``),
  read by APScheduler's ``CronTrigger.from_crontab`` in UTC. Write weekdays by name
  (``mon-fri``): APScheduler 3 counts numbered weekdays from 0 = Monday, not from Sunday.

:func:`parse_schedule` checks it and gives it one canonical text; :func:`trigger` turns it into
the APScheduler trigger ``toolkit serve`` uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

__all__ = ["DEFAULT_SCHEDULE", "MIN_INTERVAL", "Schedule", "parse_schedule", "trigger"]

DEFAULT_SCHEDULE = "every 15 minutes"
"""A new integration's schedule (Brevo's integration syncs about as often)."""
MIN_INTERVAL = timedelta(seconds=5)
"""The shortest interval accepted (a run of a small integration takes about a second)."""

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_INTERVAL = re.compile(r"^(?:every\s+)?(\d+)?\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)$")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A checked schedule: exactly one of ``interval`` and ``cron`` is set.

    Attributes:
        text: the canonical text (``every 15 minutes``, or the cron fields joined by one space).
    """

    text: str
    interval: timedelta | None = None
    cron: str | None = None

    def __str__(self) -> str:
        return self.text


def parse_schedule(text: str) -> Schedule:
    """Read an interval or a cron expression (see the module's text).

    Raises:
        ValueError: neither form, an interval shorter than :data:`MIN_INTERVAL`, or a cron
            field out of range; the message says what is accepted.
    """
    cleaned = " ".join(str(text or "").lower().split())
    match = _INTERVAL.match(cleaned)
    if match:
        count = int(match.group(1) or 1)
        unit = _UNITS[match.group(2)[0]]
        interval = timedelta(**{unit: count})
        if interval < MIN_INTERVAL:
            raise ValueError(f"schedule {text!r}: an interval must be {MIN_INTERVAL.seconds} seconds or more")
        name = unit if count != 1 else unit[:-1]
        return Schedule(f"every {count} {name}" if count != 1 else f"every {name}", interval=interval)
    fields = cleaned.split(" ")
    if len(fields) == 5:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(cleaned, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"schedule {text!r}: {exc}") from None
        return Schedule(cleaned, cron=cleaned)
    raise ValueError(
        f"schedule {text!r}: write an interval (every 15 minutes, 2h, 30s) "
        "or a cron expression of five fields (minute hour day month weekday, e.g. 0 6 * * mon-fri)"
    )


def trigger(schedule: Schedule | str) -> BaseTrigger:
    """The APScheduler trigger of ``schedule`` (cron fields in UTC)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    checked = parse_schedule(schedule) if isinstance(schedule, str) else schedule
    if checked.cron is not None:
        return CronTrigger.from_crontab(checked.cron, timezone="UTC")
    assert checked.interval is not None
    return IntervalTrigger(seconds=checked.interval.total_seconds(), timezone="UTC")
