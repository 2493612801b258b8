"""The sandbox's notion of "now": real UTC time plus an offset that tests can move forward."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Thread-safe UTC clock whose offset can be advanced (never moved backwards).

    Both sandbox services share one clock, so that retention windows (15 days of Recycle Bin),
    replication windows (30 days) and month roll-overs can be tested without waiting.
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Current sandbox time, timezone-aware UTC, truncated to milliseconds as Salesforce does."""
        with self._lock:
            offset = self._offset
        t = datetime.now(UTC) + offset
        return t.replace(microsecond=t.microsecond // 1000 * 1000)

    @property
    def offset(self) -> timedelta:
        """How far the sandbox clock runs ahead of real time."""
        with self._lock:
            return self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        if delta < timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()
