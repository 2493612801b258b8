"""Retry policy of the Brevo funnel: urllib3's ``Retry`` reading ``x-sib-ratelimit-reset``.

Brevo answers ``429 Too Many Requests`` with ``x-sib-ratelimit-reset``: the time until the
window resets. Brevo's documentation says "typically seconds"; at least one third-party client
reads it as milliseconds. Both are accepted: a value above 1000 is taken as milliseconds, and
the wait is clamped to [0.05 s, 60 s]. A standard ``Retry-After`` header, when present, wins.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from urllib3.response import BaseHTTPResponse

from toolkit.transport import NetworkRetry

__all__ = ["BrevoRetry", "RateLimitUsage", "reset_seconds"]

RESET_HEADER = "x-sib-ratelimit-reset"
LIMIT_HEADER = "x-sib-ratelimit-limit"
REMAINING_HEADER = "x-sib-ratelimit-remaining"
MIN_WAIT = 0.05
MAX_WAIT = 60.0
MS_THRESHOLD = 1000.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def reset_seconds(raw: str | None) -> float | None:
    """Seconds to wait for an ``x-sib-ratelimit-reset`` value, or ``None`` if it is unusable.

    Example:
        >>> reset_seconds("2"), reset_seconds("1500"), reset_seconds("0"), reset_seconds("x")
        (2.0, 1.5, 0.05, None)
    """
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if value != value or value < 0:  # NaN or negative
        return None
    if value > MS_THRESHOLD:
        value /= 1000.0
    return min(MAX_WAIT, max(MIN_WAIT, value))


class BrevoRetry(NetworkRetry):
    """urllib3 ``Retry`` that honours Brevo's ``x-sib-ratelimit-reset`` on 429 answers.

    Everything else (counting, exponential backoff for 5xx, resets and timeouts) is urllib3's.
    """

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        """The server's hint in seconds: ``Retry-After`` first, then ``x-sib-ratelimit-reset`` on 429."""
        hint = super().get_retry_after(response)
        if hint is not None:
            return min(MAX_WAIT, max(MIN_WAIT, hint))
        if response.status == 429:
            return reset_seconds(response.headers.get(RESET_HEADER))
        return None


def make_retry(
    max_retries: int, *, backoff_factor: float, idempotent: bool, statuses: Collection[int] = RETRY_STATUSES
) -> BrevoRetry:
    """The retry policy of one call.

    Args:
        max_retries: retries after the first attempt (per kind and in total).
        backoff_factor: urllib3's exponential backoff factor (seconds) for 5xx and network errors.
        idempotent: whether repeating the call is harmless. Other calls (creating a list,
            sending an e-mail) are retried only when the server certainly did not act on them:
            a 429, or a connection that could not be opened.
    """
    return BrevoRetry(
        total=max_retries,
        connect=max_retries,
        read=max_retries if idempotent else 0,
        status=max_retries,
        other=0,
        redirect=0,
        allowed_methods=None,  # every method; what is safe is decided by `idempotent`
        status_forcelist=set(statuses) if idempotent else {429},
        backoff_factor=backoff_factor,
        backoff_max=MAX_WAIT,
        backoff_jitter=backoff_factor / 4,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


@dataclass(frozen=True)
class RateLimitUsage:
    """The latest ``x-sib-ratelimit-*`` values Brevo sent, and what the client did.

    Attributes:
        limit: requests allowed in the current window (``None`` until a response carried it).
        remaining: requests left in the window.
        reset: the raw ``x-sib-ratelimit-reset`` value.
        reset_seconds: ``reset`` converted to seconds (see :func:`reset_seconds`).
        observed_at: when those headers were received (UTC).
        calls: API calls made (each counted once, however often it was retried).
        retries: retries made in total (429, 5xx, reset connections, timeouts).
        throttled: 429 answers received in total.
    """

    limit: int | None = None
    remaining: int | None = None
    reset: str | None = None
    reset_seconds: float | None = None
    observed_at: datetime | None = None
    calls: int = 0
    retries: int = 0
    throttled: int = 0

    def observed(self, headers: Mapping[str, str], at: datetime) -> RateLimitUsage:
        """A copy updated with the headers of one response (unchanged when it carries none)."""
        if LIMIT_HEADER not in headers and REMAINING_HEADER not in headers and RESET_HEADER not in headers:
            return self
        raw_reset = headers.get(RESET_HEADER)
        return replace(
            self,
            limit=_int(headers.get(LIMIT_HEADER)),
            remaining=_int(headers.get(REMAINING_HEADER)),
            reset=raw_reset,
            reset_seconds=reset_seconds(raw_reset),
            observed_at=at,
        )

    def counted(self, *, retries: int, throttled: int) -> RateLimitUsage:
        """A copy with one more call and the given retries and 429s added."""
        return replace(
            self, calls=self.calls + 1, retries=self.retries + retries, throttled=self.throttled + throttled
        )


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
