"""The one funnel every Salesforce call goes through.

Each call is a small function of a simple-salesforce ``Salesforce`` object (``sf.query``,
``sf.restful``, the Bulk 2.0 client...). The funnel runs it and:

* retries transient failures (429, 5xx, reset connections, timeouts) with exponential backoff
  and full jitter, bounded by :class:`RetryPolicy`, honouring ``Retry-After`` when present;
* on 401 ``INVALID_SESSION_ID`` signs in again once (through the caller's ``reauthenticate``)
  and replays the call;
* translates every failure into the toolkit's exception tree (:mod:`.errors`);
* records ``Sforce-Limit-Info`` from every answer, errors included, as ``api_usage``.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession, SalesforceOperationError

from toolkit.exceptions import RetriableApiError

from .errors import MALFORMED_ANSWER, parse_retry_after, translate
from .oauth import TokenSet

__all__ = ["DEFAULT_API_VERSION", "Funnel", "RetryPolicy"]

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "62.0"
T = TypeVar("T")
_USAGE_RE = re.compile(r"api-usage=(\d+)/(\d+)")
# Statuses at which Salesforce did not run the request: safe to replay even a create.
_NOT_PROCESSED = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried.

    Attributes:
        attempts: tries per call, the first included (1 = never retry).
        base_delay: seconds before the first retry; doubled each time.
        max_delay: cap of one backoff delay.
        max_retry_after: cap of a server's ``Retry-After`` hint.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return rng.uniform(ceiling / 2, ceiling)  # "equal jitter": never zero, never over the cap


class Funnel:
    """Runs calls against one org with retries, one re-authentication and error translation.

    Args:
        tokens: the current tokens.
        reauthenticate: returns fresh tokens (refresh token, client credentials or JWT: the
            caller decides); called at most once per call, on 401.
        session: the HTTP session simple-salesforce uses (a response hook is added to it).
        version: the REST API version, e.g. ``"62.0"``.
        retry: the retry policy.
        sleep: the sleep function (tests may speed it up).
    """

    def __init__(
        self,
        tokens: TokenSet,
        reauthenticate: Callable[[], TokenSet],
        *,
        session: requests.Session,
        version: str = DEFAULT_API_VERSION,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.version = version.lstrip("vV")
        self.retry = retry or RetryPolicy()
        self.session = session
        self._reauthenticate = reauthenticate
        self._sleep = sleep
        self._rng = random.Random()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._usage: tuple[int, int] | None = None
        self.retries = 0
        self.reauthentications = 0
        self._tokens = tokens
        self._sf = self._build(tokens)
        session.hooks.setdefault("response", []).append(self._on_response)

    @property
    def tokens(self) -> TokenSet:
        """The tokens in use (replaced after a re-authentication)."""
        return self._tokens

    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce object for the current session."""
        return self._sf

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """``(used, limit)`` from the last ``Sforce-Limit-Info`` header seen, or None."""
        return self._usage

    def close(self) -> None:
        """Remove the response hook from the session."""
        hooks = self.session.hooks.get("response", [])
        if self._on_response in hooks:
            hooks.remove(self._on_response)

    def _build(self, tokens: TokenSet) -> Salesforce:
        return Salesforce(
            instance_url=tokens.instance_url,
            session_id=tokens.access_token.reveal(),
            session=self.session,
            version=self.version,
        )

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        match = _USAGE_RE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self._usage = (int(match.group(1)), int(match.group(2)))
        self._local.retry_after = parse_retry_after(response.headers.get("Retry-After"))

    def _renew(self, stale: Salesforce) -> None:
        with self._lock:
            if self._sf is not stale:  # another thread already signed in again
                return
            tokens = self._reauthenticate()
            self._tokens = tokens
            self._sf = self._build(tokens)
            self.reauthentications += 1
        log.info("Salesforce session expired; signed in again (%s flow)", tokens.flow)

    def call(self, op: Callable[[Salesforce], T], *, method: str, path: str, idempotent: bool = True) -> T:
        """Run ``op(sf)`` with retries, one re-authentication on 401 and error translation.

        Args:
            op: one API request made through simple-salesforce.
            method, path: what the request is (for messages and exceptions; no host or query).
            idempotent: False for requests that must not run twice (creates): they are
                replayed only when Salesforce said it did not process them (429, 503).

        Raises:
            AuthError: the session was refused again after signing in anew, or signing in failed.
            ApiDisabledError: the org's API is disabled.
            FatalApiError: a request Salesforce refused (its ``code`` is Salesforce's errorCode).
            RetriableApiError: still failing after the policy's attempts.
        """
        attempt, renewed = 0, False
        while True:
            attempt += 1
            sf = self._sf
            self._local.retry_after = None
            try:
                return op(sf)
            except SalesforceExpiredSession as exc:
                if renewed:
                    raise translate(exc, method=method, path=path) from exc
                self._renew(sf)
                renewed, attempt = True, attempt - 1  # the replay is not a retry
                continue
            except (
                SalesforceError,
                SalesforceOperationError,
                requests.RequestException,
                *MALFORMED_ANSWER,
            ) as exc:
                error = translate(exc, method=method, path=path, retry_after=self._local.retry_after)
                if (
                    not isinstance(error, RetriableApiError)
                    or attempt >= self.retry.attempts
                    or not (idempotent or error.status in _NOT_PROCESSED)
                ):
                    if isinstance(error, RetriableApiError) and attempt > 1:
                        error.args = (f"{error.args[0]} (gave up after {attempt} tries)",)
                    raise error from exc
            delay = self.retry.delay(attempt, error.retry_after, self._rng)
            self.retries += 1
            log.warning(
                "Salesforce %s %s failed (%s %s); try %d of %d in %.1f s",
                method,
                path,
                error.status or "-",
                error.code or "",
                attempt + 1,
                self.retry.attempts,
                delay,
            )
            self._sleep(delay)
