"""Salesforce error shapes: request-level error lists and per-record errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Response

from toolkit.sandbox.http import json_response

NOT_FOUND_MESSAGE = "The requested resource does not exist"


def error_response(
    status: int,
    error_code: str,
    message: str,
    fields: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A REST error: a JSON list with one ``{message, errorCode[, fields]}`` entry."""
    entry: dict[str, Any] = {"message": message, "errorCode": error_code}
    if fields is not None:
        entry["fields"] = fields
    return json_response([entry], status, headers)


def not_found() -> Response:
    """404 for an unknown resource, object or record."""
    return error_response(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


class ApiError(Exception):
    """A failure of the whole request (nothing is written), e.g. JSON_PARSER_ERROR.

    Attributes:
        status: the HTTP status Salesforce answers with.
        error_code: Salesforce's ``errorCode``.
        message: Salesforce's message text.
        fields: the ``fields`` entry, or None when Salesforce leaves it out.
    """

    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def response(self) -> Response:
        return error_response(self.status, self.error_code, self.message, self.fields)


@dataclass(frozen=True)
class RecordError:
    """One entry of a SaveResult's ``errors`` list."""

    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "message": self.message, "fields": list(self.fields)}


ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)


def save_result(record_id: str | None, errors: list[RecordError] | None = None) -> dict[str, Any]:
    """A SaveResult/DeleteResult dict; a failure without a known Id has no ``id`` key (as Salesforce)."""
    result: dict[str, Any] = {}
    if record_id is not None:
        result["id"] = record_id
    result["success"] = not errors
    result["errors"] = [e.to_dict() for e in errors or []]
    return result
