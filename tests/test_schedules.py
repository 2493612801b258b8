"""Schedules of ``toolkit serve`` (issue 14): what a person types, what is kept, when it fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from toolkit.schedules import parse_schedule, trigger


@pytest.mark.parametrize(
    ("typed", "text", "interval"),
    [
        ("every 15 minutes", "every 15 minutes", timedelta(minutes=15)),
        ("15m", "every 15 minutes", timedelta(minutes=15)),
        ("  EVERY   2   hours ", "every 2 hours", timedelta(hours=2)),
        ("30s", "every 30 seconds", timedelta(seconds=30)),
        ("every minute", "every minute", timedelta(minutes=1)),
        ("1d", "every day", timedelta(days=1)),
        ("every 5 sec", "every 5 seconds", timedelta(seconds=5)),
    ],
)
def test_intervals(typed: str, text: str, interval: timedelta) -> None:
    schedule = parse_schedule(typed)
    assert (schedule.text, schedule.interval, schedule.cron) == (text, interval, None)


@pytest.mark.parametrize(
    ("typed", "after", "fires"),
    [
        (
            "0 6 * * mon-fri",
            datetime(2026, 12, 5, 12, tzinfo=UTC),
            datetime(2026, 12, 7, 6, tzinfo=UTC),
        ),  # Sat -> Mon
        ("*/20 * * * *", datetime(2026, 12, 6, 8, 1, tzinfo=UTC), datetime(2026, 12, 6, 8, 20, tzinfo=UTC)),
        ("30 2 1 * *", datetime(2026, 12, 6, tzinfo=UTC), datetime(2027, 1, 1, 2, 30, tzinfo=UTC)),
    ],
)
def test_cron_expressions_fire_in_utc(typed: str, after: datetime, fires: datetime) -> None:
    schedule = parse_schedule(typed)
    assert (schedule.text, schedule.interval, schedule.cron) == (typed, None, typed)
    assert trigger(schedule).get_next_fire_time(None, after) == fires


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("2s", "5 seconds or more"),
        ("0s", "5 seconds or more"),
        ("61 * * * *", "higher than the maximum"),
        ("soon", "every 15 minutes"),
        ("", "cron expression of five fields"),
        ("* * * *", "cron expression of five fields"),
    ],
)
def test_what_is_refused_says_why(typed: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_schedule(typed)


def test_an_interval_trigger_fires_at_its_interval() -> None:
    start = datetime(2026, 12, 6, 8, tzinfo=UTC)
    fired = trigger("every 10 minutes").get_next_fire_time(start, start + timedelta(seconds=1))
    assert fired == start + timedelta(minutes=10)
