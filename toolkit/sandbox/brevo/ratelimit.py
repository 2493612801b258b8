"""Brevo's per-second limit on the contacts endpoints: a fixed one-second window.

The window runs on the real (monotonic) clock, not the sandbox clock: advancing sandbox time
to test month roll-overs must not refill or drain the request budget.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

RATE_LIMITED_PREFIX = "/v3/contacts"


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may pass, and the ``x-sib-ratelimit-*`` headers to send with it."""

    allowed: bool
    headers: dict[str, str]


class FixedWindowRateLimiter:
    """``per_second`` requests per one-second window; ``0`` or ``None`` means unlimited."""

    def __init__(self, per_second: float | None = 10.0, *, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._window = -1
        self._used = 0
        self._limit = 0
        self.configure(per_second)

    @property
    def per_second(self) -> int:
        """Requests allowed per window (0 = unlimited)."""
        with self._lock:
            return self._limit

    def configure(self, per_second: float | None) -> None:
        """Change the rate at run time; a positive rate below 1 still allows one request."""
        if per_second is not None and (not isinstance(per_second, (int, float)) or per_second < 0):
            raise ValueError("per_second must be a number >= 0, or None for unlimited")
        with self._lock:
            self._limit = max(1, int(per_second)) if per_second else 0

    def hit(self) -> RateDecision:
        """Count one request and decide on it."""
        now = self._now()
        with self._lock:
            if not self._limit:
                return RateDecision(True, {})
            window = math.floor(now)
            if window != self._window:
                self._window, self._used = window, 0
            allowed = self._used < self._limit
            if allowed:
                self._used += 1
            reset = max(1, math.ceil(window + 1 - now))
            headers = {
                "x-sib-ratelimit-limit": str(self._limit),
                "x-sib-ratelimit-remaining": str(self._limit - self._used),
                "x-sib-ratelimit-reset": str(reset),
            }
            return RateDecision(allowed, headers)
