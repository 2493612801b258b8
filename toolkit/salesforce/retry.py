"""The one retry mechanism of every Salesforce request: urllib3's ``Retry`` on the requests session.

:func:`make_session` builds the session that the toolkit hands to simple-salesforce (and uses for
token requests, identity reads and revocations); its adapter carries a :class:`SalesforceRetry`,
so a transient failure is retried where it happens, request by request, whoever made it.

What is retried, and why (sources in ``reference/salesforce-api.md`` §2.5 and §7):

* answers 429, 500, 502, 503 and 504 (:data:`~.errors.RETRIABLE_STATUSES`): 500 and 503 are on
  Salesforce's REST "Status Codes and Error Responses" page, and a Salesforce knowledge article
  (002956407) asks clients to retry temporary 5xx answers; 502 and 504 come from the proxies and
  gateways in front of it (RFC 9110 §15.6.3, §15.6.5); 429 is RFC 6585 §4's "too many requests";
* connections that could not be opened, were reset, or broke mid-answer, and read timeouts;
* the waits are exponential with jitter (:meth:`RetryPolicy.delay`), or what the answer's
  ``Retry-After`` says when it has one (RFC 9110 §10.2.3; capped by the policy).

Not retried: 401 (the funnel signs in again once), 403 (``REQUEST_LIMIT_EXCEEDED`` is mostly the
org's daily allowance, which waiting minutes does not bring back; urllib3 decides on the status
only, so the rarer concurrent-requests limit under the same code is not retried either), any
other 4xx, and a certificate that fails verification.

Whether a request may be sent again once Salesforce may have acted on it (a 500, 502, 504, a reset
or a timeout after sending) depends on the call: GET, HEAD, OPTIONS, PUT, PATCH and DELETE may
(RFC 9110 §9.2.2; Salesforce's PATCH sets field values, so repeating it leaves the same record);
a POST only when the caller says so with :func:`one_call` (``replay_safe=True``: a token request,
a revocation, a Bulk query job). A composite create is never sent again after that point; it is
after a 429 or a 503 (Salesforce refused it without running it) or a connection that was never
opened (nothing was sent).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.response import BaseHTTPResponse

from toolkit._version import __version__
from toolkit.transport import NetworkRetry

from .errors import RETRIABLE_STATUSES, parse_retry_after

__all__ = [
    "DEFAULT_TIMEOUT",
    "NOT_PROCESSED_STATUSES",
    "REPLAYABLE_METHODS",
    "RetryPolicy",
    "SalesforceRetry",
    "Tries",
    "ensure_retry",
    "make_retry",
    "make_session",
    "mount_retry",
    "one_call",
]

log = logging.getLogger(__name__)

USER_AGENT = f"sf-brevo-toolkit/{__version__} python-requests/{requests.__version__}"
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 120.0)
#: Methods whose repetition leaves the server as one request would (RFC 9110 §9.2.2), PATCH
#: included: Salesforce's PATCH (one record, or composite/sobjects) sets field values.
REPLAYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
#: Answers by which the server refused a request without running it: 429 (RFC 6585 §4) and 503
#: (RFC 9110 §15.6.4: the server is unable to handle it now). Even a create is sent again after them.
NOT_PROCESSED_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long transient failures are retried.

    Attributes:
        attempts: tries per request, the first included (1 = never retry).
        base_delay: seconds before the first retry; doubled for each further one.
        max_delay: cap of one backoff delay.
        max_retry_after: cap of a server's ``Retry-After`` hint.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based).

        The server's hint wins (capped); otherwise exponential backoff with "equal jitter":
        between half the ceiling and the ceiling, so never zero and never over ``max_delay``.
        """
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return rng.uniform(ceiling / 2, ceiling)


@dataclass
class Tries:
    """What the transport did for one call (see :func:`one_call`).

    Attributes:
        replay_safe: whether the call may be sent again after Salesforce may have acted on it;
            ``None`` decides by method (:data:`REPLAYABLE_METHODS`).
        retries: requests sent again.
        waited: seconds waited before them in total.
    """

    replay_safe: bool | None = None
    retries: int = 0
    waited: float = 0.0


_CALL: ContextVar[Tries | None] = ContextVar("toolkit_salesforce_call", default=None)


@contextmanager
def one_call(*, replay_safe: bool | None = None) -> Iterator[Tries]:
    """Mark the requests made inside the block as one call and record what the retry did.

    Args:
        replay_safe: ``True`` for a call that may be sent again even after Salesforce may have
            acted on it (a POST that creates nothing twice), ``False`` for one that must not be
            (a create), ``None`` to decide by method.

    Example:
        >>> with one_call(replay_safe=True) as tries:                       # doctest: +SKIP
        ...     session.post(token_url, data=form)
        >>> tries.retries                                                   # doctest: +SKIP
        1
    """
    tries = Tries(replay_safe)
    token = _CALL.set(tries)
    try:
        yield tries
    finally:
        _CALL.reset(token)


def _replay_safe(method: str) -> bool:
    tries = _CALL.get()
    if tries is not None and tries.replay_safe is not None:
        return tries.replay_safe
    return method.upper() in REPLAYABLE_METHODS


class SalesforceRetry(NetworkRetry):
    """urllib3 ``Retry`` with Salesforce's rules (see the module's docstring).

    Counting, the kinds of failure and ``Retry-After`` parsing are urllib3's; this class adds
    the per-call replay decision, waits from :class:`RetryPolicy` (made through ``sleep``, so
    that tests can watch them without waiting) and a log line per retry.
    """

    def __init__(
        self,
        *args: Any,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy or RetryPolicy()
        self.sleeper = sleep
        self.rng = rng or random.Random()

    def new(self, **kw: Any) -> Self:
        kw.setdefault("policy", self.policy)
        kw.setdefault("sleep", self.sleeper)
        kw.setdefault("rng", self.rng)
        return super().new(**kw)

    def _is_method_retryable(self, method: str) -> bool:
        # urllib3 asks this before sending again after a read error or a status in the forcelist:
        # both mean that Salesforce may have acted on the request.
        return _replay_safe(method)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in NOT_PROCESSED_STATUSES and status_code in self.status_forcelist:
            return True  # refused without being run: safe to send again, even a create
        return bool(super().is_retry(method, status_code, has_retry_after))

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        """``Retry-After`` in seconds (delta-seconds or an HTTP date); ``None`` if absent or unreadable."""
        return parse_retry_after(response.headers.get("Retry-After"))

    def get_backoff_time(self) -> float:
        return self.policy.delay(max(1, len(self.history)), None, self.rng)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        """Wait before the next try: the answer's ``Retry-After`` (capped), else the backoff."""
        hint = self.get_retry_after(response) if response is not None else None
        wait = self.policy.delay(max(1, len(self.history)), hint, self.rng)
        tries = _CALL.get()
        if tries is not None:
            tries.retries += 1
            tries.waited += wait
        if self.history:
            last = self.history[-1]
            cause = str(last.status) if last.status else type(last.error).__name__
            log.warning(
                "Salesforce %s %s: %s; try %d of %d in %.2f s%s",
                last.method,
                urlsplit(last.url or "").path,  # no query string: SOQL may quote personal data
                cause,
                len(self.history) + 1,
                self.policy.attempts,
                wait,
                " (Retry-After)" if hint is not None else "",
            )
        self.sleeper(wait)


def make_retry(
    policy: RetryPolicy | None = None, *, sleep: Callable[[float], None] = time.sleep
) -> SalesforceRetry:
    """The retry of one session.

    Args:
        policy: tries and waits (:class:`RetryPolicy` defaults when omitted).
        sleep: how to wait (tests pass a function that records the waits).
    """
    policy = policy or RetryPolicy()
    retries = max(0, policy.attempts - 1)
    return SalesforceRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        redirect=0,  # requests follows redirects itself
        raise_on_redirect=False,
        raise_on_status=False,  # the last answer goes back to simple-salesforce, which raises
        allowed_methods=None,  # decided per call: SalesforceRetry._is_method_retryable
        status_forcelist=RETRIABLE_STATUSES,
        respect_retry_after_header=True,
        backoff_factor=policy.base_delay,
        backoff_max=policy.max_delay,
        policy=policy,
        sleep=sleep,
    )


def _adapters(session: requests.Session) -> list[HTTPAdapter]:
    found: list[HTTPAdapter] = []
    for prefix in ("https://", "http://"):
        adapter = session.adapters.get(prefix)
        if isinstance(adapter, HTTPAdapter) and adapter not in found:
            found.append(adapter)
    return found


def mount_retry(
    session: requests.Session,
    policy: RetryPolicy | None = None,
    *,
    sleep: Callable[[float], None] | None = None,
) -> SalesforceRetry:
    """Give ``session``'s adapters a :class:`SalesforceRetry`; what is not given is kept.

    The session's connection pools stay as they are: only the adapters' ``max_retries`` change.
    """
    current = ensure_retry(session)
    if policy is None and sleep is None:
        return current
    retry = make_retry(policy or current.policy, sleep=sleep or current.sleeper)
    for adapter in _adapters(session):
        adapter.max_retries = retry
    return retry


def ensure_retry(session: requests.Session) -> SalesforceRetry:
    """The session's :class:`SalesforceRetry`, mounted with the default policy if it has none.

    A session from :func:`make_session` has one already; this covers a plain ``requests.Session``
    handed to the toolkit, so that no Salesforce request goes out without the retry.
    """
    adapters = _adapters(session)
    for adapter in adapters:
        if isinstance(adapter.max_retries, SalesforceRetry):
            retry = adapter.max_retries
            break
    else:
        retry = make_retry()
    for adapter in adapters:
        adapter.max_retries = retry
    return retry


class _TimeoutSession(requests.Session):
    """A session that applies a default timeout to every request that names none.

    simple-salesforce's Bulk 2.0 helpers pass no timeout; without one a dead connection would
    hang a run forever.
    """

    def __init__(self, timeout: float | tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


def make_session(
    ca_bundle: str | None = None,
    *,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> requests.Session:
    """Return the ``requests.Session`` for one Salesforce connection.

    Every request through it (simple-salesforce's, token requests, identity reads, revocations)
    is retried by one :class:`SalesforceRetry`.

    Args:
        ca_bundle: a PEM file of CAs to trust instead of the system's (the sandbox's CA). When
            given, environment settings (``REQUESTS_CA_BUNDLE``, proxies) are ignored so that
            they cannot override it.
        timeout: the (connect, read) timeout applied to requests that set none.
        retry: tries and waits (:class:`RetryPolicy` defaults when omitted).
        sleep: how to wait between tries.

    Returns:
        A session with a User-Agent naming the toolkit.
    """
    session = _TimeoutSession(timeout)
    session.headers["User-Agent"] = USER_AGENT
    if ca_bundle:
        session.trust_env = False
        session.verify = str(ca_bundle)
    adapter = HTTPAdapter(max_retries=make_retry(retry, sleep=sleep))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
