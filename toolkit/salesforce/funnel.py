"""The one funnel every Salesforce API call goes through.

Each call is a small function of a simple-salesforce ``Salesforce`` object (``sf.query``,
``sf.restful``, a Bulk 2.0 results page...). The funnel runs it and:

* on 401 ``INVALID_SESSION_ID`` signs in again once (through the caller's ``reauthenticate``)
  and repeats the call;
* translates every failure into the toolkit's exception tree (:mod:`.errors`);
* records ``Sforce-Limit-Info`` from every answer, errors included, as ``api_usage``.

Transient failures (429, 5xx, reset connections, timeouts) are not the funnel's business: the
session's urllib3 retry (:mod:`.retry`) sends each request again where it failed, honouring
``Retry-After``. The funnel only tells it whether the call may be sent again once Salesforce may
have acted on it (``idempotent``), and counts what it did.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession, SalesforceOperationError

from toolkit.exceptions import RetriableApiError

from .errors import MALFORMED_ANSWER, parse_retry_after, translate
from .oauth import TokenSet
from .retry import NOT_PROCESSED_STATUSES, REPLAYABLE_METHODS, RetryPolicy, mount_retry, one_call

__all__ = ["DEFAULT_API_VERSION", "Funnel"]

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "62.0"
T = TypeVar("T")
_USAGE_RE = re.compile(r"api-usage=(\d+)/(\d+)")
_FAILURES = (SalesforceError, SalesforceOperationError, requests.RequestException, *MALFORMED_ANSWER)


class Funnel:
    """Runs calls against one org: one re-authentication, error translation, usage.

    Args:
        tokens: the current tokens.
        reauthenticate: returns fresh tokens (refresh token, client credentials or JWT: the
            caller decides); called at most once per call, on 401.
        session: the HTTP session simple-salesforce uses (a response hook is added to it, and
            a :class:`~.retry.SalesforceRetry` if it has none).
        version: the REST API version, e.g. ``"62.0"``.
        retry: replaces the session's retry policy (tries and waits) when given.
        sleep: replaces how the session's retry waits when given (tests watch the waits).

    Attributes:
        retry: the session's :class:`~.retry.SalesforceRetry` (its ``policy``).
        retries: requests the session's retry sent again for this funnel's calls.
        reauthentications: sign-ins made anew after a 401.
    """

    def __init__(
        self,
        tokens: TokenSet,
        reauthenticate: Callable[[], TokenSet],
        *,
        session: requests.Session,
        version: str = DEFAULT_API_VERSION,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.version = version.lstrip("vV")
        self.session = session
        self.retry = mount_retry(session, retry, sleep=sleep)
        self._reauthenticate = reauthenticate
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

    def call(
        self, op: Callable[[Salesforce], T], *, method: str, path: str, idempotent: bool | None = None
    ) -> T:
        """Run ``op(sf)``; on 401 sign in again once and repeat it; translate failures.

        Args:
            op: one API request made through simple-salesforce.
            method, path: what the request is (for messages and exceptions; no host or query).
            idempotent: whether the session's retry may send the request again after
                Salesforce may have acted on it (a 5xx, a reset or a timeout after sending).
                ``False`` for creates: they are sent again only after a 429 or 503 (refused
                without being run) or a connection that never opened. ``None`` decides by
                method: every method but POST may.

        Raises:
            AuthError: the session was refused again after signing in anew, or signing in failed.
            ApiDisabledError: the org's API is disabled.
            FatalApiError: a request Salesforce refused (its ``code`` is Salesforce's errorCode).
            RetriableApiError: still failing after the retry policy's tries, or a failure after
                which a create could not safely be sent again.
        """
        stale = self._sf
        try:
            return self._run(op, stale, method=method, path=path, idempotent=idempotent)
        except SalesforceExpiredSession:
            self._renew(stale)
        try:
            return self._run(op, self._sf, method=method, path=path, idempotent=idempotent)
        except SalesforceExpiredSession as exc:
            raise translate(exc, method=method, path=path) from exc

    def _run(
        self,
        op: Callable[[Salesforce], T],
        sf: Salesforce,
        *,
        method: str,
        path: str,
        idempotent: bool | None,
    ) -> T:
        """One run of ``op``: the session's retry inside, a :class:`SalesforceExpiredSession` let through."""
        self._local.retry_after = None
        with one_call(replay_safe=idempotent) as tries:
            try:
                return op(sf)
            except SalesforceExpiredSession:
                raise
            except _FAILURES as exc:
                error = translate(exc, method=method, path=path, retry_after=self._local.retry_after)
                if isinstance(error, RetriableApiError):
                    error.args = (f"{error.args[0]}{_outcome(tries.retries, idempotent, method, error)}",)
                raise error from exc
            finally:
                with self._lock:
                    self.retries += tries.retries


def _outcome(retries: int, idempotent: bool | None, method: str, error: RetriableApiError) -> str:
    """What the message adds about the tries: given up after N, or deliberately not sent again."""
    if retries:
        return f" (gave up after {retries + 1} tries)"
    replay_safe = idempotent if idempotent is not None else method.upper() in REPLAYABLE_METHODS
    if not replay_safe and error.status not in NOT_PROCESSED_STATUSES:
        return " (not sent again: Salesforce may have carried it out)"
    return ""
