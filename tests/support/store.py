"""Helpers of the store's tests: a clock they move by hand."""

from __future__ import annotations

from datetime import UTC, datetime

#: Where the store's tests start: the clock's first reading.
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the tests move by hand (``clock.now += timedelta(...)``)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now
