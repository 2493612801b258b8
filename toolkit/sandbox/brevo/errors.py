"""Brevo's error bodies: ``{"code", "message"}`` (contacts add an optional ``metadata``)."""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.wrappers import Response

from toolkit.sandbox.http import json_response

REQUEST_ID_HEADER = "sib-request-id"


class BrevoError(ValueError):
    """An API error with Brevo's status, code and message.

    It subclasses ``ValueError`` so that the Python seeding API (``BrevoAccount.create_contact``
    and friends) refuses bad data the same way the HTTP API does.

    Attributes:
        status: HTTP status code.
        code: Brevo's error code (``invalid_parameter``, ``duplicate_parameter`` ...).
        message: Brevo's human-readable message.
        metadata: extra details (contacts endpoints only), e.g. ``duplicate_identifiers``.
    """

    def __init__(self, status: int, code: str, message: str, metadata: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.metadata = metadata

    def body(self) -> dict[str, Any]:
        """The JSON body Brevo sends for this error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.metadata is not None:
            body["metadata"] = self.metadata
        return body

    def response(self) -> Response:
        """The error as a JSON response."""
        return json_response(self.body(), self.status)


def invalid(message: str) -> BrevoError:
    """400 ``invalid_parameter``."""
    return BrevoError(400, "invalid_parameter", message)


def missing(message: str) -> BrevoError:
    """400 ``missing_parameter``."""
    return BrevoError(400, "missing_parameter", message)


def not_found(message: str) -> BrevoError:
    """404 ``document_not_found``."""
    return BrevoError(404, "document_not_found", message)


def new_request_id() -> str:
    """A fresh value for the ``sib-request-id`` header every Brevo response carries."""
    return str(uuid.uuid4())


# Bodies for faults injected by the sandbox middleware. The 429 text is the sandbox's own: no
# public source shows Brevo's exact 429 body, only its status and the x-sib-ratelimit-* headers.
_FAULTS: dict[int, tuple[str, str]] = {
    429: ("too_many_requests", "The expected rate limit is exceeded."),
    500: ("internal_error", "Internal Server Error"),
    503: ("service_unavailable", "Service Unavailable"),
}


def fault_body(status: int) -> Response:
    """Brevo-style error response for an injected 429, 500 or 503."""
    code, message = _FAULTS.get(status, ("internal_error", "Internal Server Error"))
    headers = {REQUEST_ID_HEADER: new_request_id()}
    if status == 429:
        # An injected 429 does not know the configured rate; the general-tier contacts limit is 10.
        headers.update(
            {"x-sib-ratelimit-limit": "10", "x-sib-ratelimit-remaining": "0", "x-sib-ratelimit-reset": "1"}
        )
    return json_response({"code": code, "message": message}, status, headers)
