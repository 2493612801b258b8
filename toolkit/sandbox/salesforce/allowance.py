"""The org's daily API request allowance: a rolling 24-hour count, by the sandbox clock."""

from __future__ import annotations

import threading
from typing import Any

from toolkit.sandbox.clock import Clock

WINDOW_MINUTES = 24 * 60


class ApiAllowance:
    """Counts API calls per minute over a rolling 24 hours.

    Attributes:
        limit: the daily maximum (``DailyApiRequests.Max``).
    """

    def __init__(self, clock: Clock, limit: int) -> None:
        self.clock = clock
        self.limit = limit
        self._buckets: dict[int, int] = {}
        self._lock = threading.Lock()

    def _minute(self) -> int:
        return int(self.clock.now().timestamp() // 60)

    def _prune(self, minute: int) -> None:
        oldest = minute - WINDOW_MINUTES + 1
        for key in [k for k in self._buckets if k < oldest]:
            del self._buckets[key]

    def used(self) -> int:
        """Calls counted in the last 24 hours."""
        with self._lock:
            self._prune(self._minute())
            return sum(self._buckets.values())

    def try_spend(self) -> bool:
        """Count one call; False (nothing counted) if the allowance is already spent."""
        with self._lock:
            minute = self._minute()
            self._prune(minute)
            if sum(self._buckets.values()) >= self.limit:
                return False
            self._buckets[minute] = self._buckets.get(minute, 0) + 1
            return True

    def set(self, used: int | None = None, limit: int | None = None) -> None:
        """Set the count (as if ``used`` calls happened now) and/or the limit."""
        with self._lock:
            if limit is not None:
                self.limit = int(limit)
            if used is not None:
                self._buckets = {self._minute(): int(used)} if used else {}

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"limit": self.limit, "buckets": {str(k): v for k, v in self._buckets.items()}}

    def load(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.limit = int(data.get("limit", self.limit))
            self._buckets = {int(k): int(v) for k, v in data.get("buckets", {}).items()}
