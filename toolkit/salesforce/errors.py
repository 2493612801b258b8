"""Translating what simple-salesforce and requests raise into the toolkit's exception tree.

==========================================================  ==========================================
What came back                                              Raised
==========================================================  ==========================================
401 (after one re-authentication)                           ``AuthError(code="INVALID_SESSION_ID")``
403 ``API_DISABLED_FOR_ORG``                                ``ApiDisabledError``
403 ``REQUEST_LIMIT_EXCEEDED`` (the daily allowance)        ``FatalApiError(code=...)``
429, 500, 502, 503, 504; reset connections; timeouts        ``RetriableApiError`` (after the retries)
TLS certificate not trusted                                 ``FatalApiError(code="TLS_VERIFY_FAILED")``
any other status (400, 404, 409...)                         ``FatalApiError`` with ``errorCode``
an answer the library cannot read (no JSON, a missing       ``ProtocolError`` naming the call
header or key: ValueError, KeyError, TypeError...)
==========================================================  ==========================================
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Any

import requests
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError
from urllib3.exceptions import MaxRetryError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from toolkit.exceptions import (
    ApiDisabledError,
    AuthError,
    FatalApiError,
    ProtocolError,
    RetriableApiError,
    ToolkitError,
)

__all__ = ["MALFORMED_ANSWER", "RETRIABLE_STATUSES", "error_detail", "parse_retry_after", "translate"]

#: Answers worth sending a request again for (the retry in retry.py; the sources are there):
#: Salesforce's 500 and 503, the 502 and 504 of proxies and load balancers, and 429.
RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
#: What simple-salesforce (or the toolkit's own reading) raises on an answer of an unexpected
#: shape: no JSON, a header it requires missing (``Sforce-NumberOfRecords``: ``KeyError``),
#: a list where an object was due...
MALFORMED_ANSWER = (ValueError, KeyError, IndexError, TypeError, AttributeError)
SERVICE = "salesforce"
_MAX_MESSAGE = 400


def error_detail(content: Any) -> tuple[str | None, str]:
    """Salesforce's ``errorCode`` and ``message`` from an error body (a JSON list, a dict or text)."""
    entry = content[0] if isinstance(content, list) and content else content
    if isinstance(entry, dict):
        code = entry.get("errorCode") or entry.get("statusCode") or entry.get("error")
        message = entry.get("message") or entry.get("error_description") or ""
        return (str(code) if code else None), str(message)[:_MAX_MESSAGE]
    if isinstance(entry, bytes):
        entry = entry.decode("utf-8", "replace")
    return None, (str(entry).strip()[:_MAX_MESSAGE] if entry else "")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _from_status(
    status: int, content: Any, *, method: str, path: str, retry_after: float | None
) -> ToolkitError:
    code, message = error_detail(content)
    message = message or f"HTTP {status}"
    where: dict[str, Any] = {
        "service": SERVICE,
        "status": status,
        "code": code,
        "method": method,
        "path": path,
    }
    if status == 401:
        return AuthError(f"Salesforce refused the session: {message}", code=code or "INVALID_SESSION_ID")
    if code == "API_DISABLED_FOR_ORG":
        return ApiDisabledError(
            f"the org does not allow API access: {message} (API access needs an "
            f"edition with API, and the 'API Enabled' permission)",
            code=code,
        )
    if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        return FatalApiError(f"the org's daily API request allowance is spent: {message}", **where)
    if status in RETRIABLE_STATUSES:
        return RetriableApiError(message, retry_after=retry_after, **where)
    return FatalApiError(message, **where)


def _timed_out(exc: BaseException) -> bool:
    """Whether a ``ConnectionError`` wraps the retries' last failure, a timeout (requests says
    ``ConnectionError`` for every exhausted retry, whatever the cause)."""
    wrapped = exc.args[0] if exc.args else None
    return isinstance(wrapped, MaxRetryError) and isinstance(wrapped.reason, Urllib3Timeout)


def translate(
    exc: BaseException, *, method: str, path: str, retry_after: float | None = None
) -> ToolkitError:
    """Return the toolkit exception for an exception raised during one call.

    Args:
        exc: what simple-salesforce or requests raised.
        method, path: the call, for the exception's context (no host, no query string).
        retry_after: the answer's ``Retry-After`` hint in seconds, if it had one.
    """
    if isinstance(exc, SalesforceError):
        return _from_status(int(exc.status), exc.content, method=method, path=path, retry_after=retry_after)
    where: dict[str, Any] = {"service": SERVICE, "method": method, "path": path}
    if isinstance(exc, SalesforceOperationError):
        return FatalApiError(str(exc)[:_MAX_MESSAGE], code="OPERATION_FAILED", **where)
    if isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE" in str(exc).upper():
        return FatalApiError(
            "the server's TLS certificate is not trusted (wrong CA bundle, or an intercepting proxy)",
            code="TLS_VERIFY_FAILED",
            **where,
        )
    if isinstance(exc, requests.Timeout) or _timed_out(exc):
        return RetriableApiError(f"no answer in time ({type(exc).__name__})", code="TIMEOUT", **where)
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return RetriableApiError(
            f"the connection failed ({type(exc).__name__})", code="CONNECTION_ERROR", **where
        )
    if isinstance(exc, requests.RequestException):
        return FatalApiError(
            f"the request could not be made ({type(exc).__name__})", code="REQUEST_ERROR", **where
        )
    if isinstance(exc, MALFORMED_ANSWER):
        # Only the kind of failure is kept: the library's text may quote the answer (personal data).
        what = (
            "is not the JSON Salesforce sends"
            if isinstance(exc, ValueError)
            else f"is not of the shape Salesforce documents ({type(exc).__name__})"
        )
        return ProtocolError(f"the answer {what}", code="INVALID_RESPONSE", **where)
    raise TypeError(f"cannot translate {type(exc).__name__}") from exc
