"""The toolkit's exceptions: one tree, context kept as attributes, retriable split from fatal.

::

    ToolkitError
    ├── ConfigError                 bad or missing settings
    │   └── CredentialsError        a secret is missing (names the variable, never the value)
    ├── AuthError                   a login or token refresh failed
    │   └── ApiDisabledError        the Salesforce org's API is not enabled (API_DISABLED_FOR_ORG)
    ├── ApiError                    an API answered with an error
    │   ├── RetriableApiError       429, 5xx, reset connections, timeouts: worth retrying
    │   └── FatalApiError           anything else: retrying will not help
    │       └── ProtocolError       an answer of a shape the service's references do not allow
    ├── MappingError                a field mapping that cannot be synced (names field and reason)
    ├── ConnectionLimitError        a 6th connection of one Salesforce account (SPEC S3)
    ├── QuotaExhausted              the monthly task quota is spent (SPEC Q3)
    ├── RunLockedError              another run of the same integration holds the lock
    └── MassDeleteBlocked           a run would delete more than the allowed share (SPEC B6)

Messages never contain secrets or personal data beyond a record id.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiDisabledError",
    "ApiError",
    "AuthError",
    "ConfigError",
    "ConnectionLimitError",
    "CredentialsError",
    "FatalApiError",
    "MappingError",
    "MassDeleteBlocked",
    "ProtocolError",
    "QuotaExhausted",
    "RetriableApiError",
    "RunLockedError",
    "ToolkitError",
]


class ToolkitError(Exception):
    """Root of every error the toolkit raises on purpose."""


class ConfigError(ToolkitError):
    """Settings are missing or invalid."""


class CredentialsError(ConfigError):
    """A credential is missing; the message names where it was looked for, never its value."""


class AuthError(ToolkitError):
    """Signing in to a service failed (bad credentials, revoked or expired refresh token)."""

    def __init__(self, message: str, *, service: str = "salesforce", code: str | None = None) -> None:
        super().__init__(message)
        self.service = service
        self.code = code


class ApiDisabledError(AuthError):
    """The Salesforce org does not allow API access (``API_DISABLED_FOR_ORG``)."""


class ApiError(ToolkitError):
    """An API call failed.

    Attributes:
        service: ``"salesforce"`` or ``"brevo"``.
        status: HTTP status (0 when no answer came, e.g. a reset connection).
        code: the service's own error code (``REQUEST_LIMIT_EXCEEDED``, ``duplicate_parameter``...).
        method, path: the request, without query string or host.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        status: int = 0,
        code: str | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.code = code
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = f" ({self.method} {self.path})" if self.path else ""
        status = f" {self.status}" if self.status else ""
        code = f" {self.code}:" if self.code else ""
        return f"{self.service}{status}{code} {self.args[0]}{where}"


class RetriableApiError(ApiError):
    """A transient failure; ``retry_after`` carries the server's hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class FatalApiError(ApiError):
    """A failure that retrying will not fix; the run stops and the integration shows it."""


class ProtocolError(FatalApiError):
    """An answer the toolkit cannot read: a missing field, a wrong type, text where JSON was due.

    The message names the call and what was wrong with the answer, never the data in it (it may
    hold personal data). ``code`` is ``PROTOCOL_ERROR`` unless a more precise one is given.
    """

    def __init__(self, message: str, *, service: str, code: str = "PROTOCOL_ERROR", **kwargs: Any) -> None:
        super().__init__(message, service=service, code=code, **kwargs)


class MappingError(ToolkitError):
    """A mapping names a field that cannot be synced."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"field {field!r} cannot be mapped: {reason}")
        self.field = field
        self.reason = reason


class ConnectionLimitError(ToolkitError):
    """One Salesforce account may be connected at most 5 times (SPEC S3)."""


class QuotaExhausted(ToolkitError):
    """The month's task quota is spent; integrations stop until it resets or is raised (SPEC Q3)."""


class RunLockedError(ToolkitError):
    """Another run of this integration is in progress."""


class MassDeleteBlocked(ToolkitError):
    """A run would delete more than the allowed share of linked contacts (SPEC B6)."""

    def __init__(self, message: str, *, planned: int, linked: int, threshold: float) -> None:
        super().__init__(message)
        self.planned = planned
        self.linked = linked
        self.threshold = threshold
