"""Versions, describe and single-record CRUD (``sobjects/X/`` and ``sobjects/X/{id}``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from toolkit.sandbox.http import json_response
from toolkit.sandbox.salesforce import ids
from toolkit.sandbox.salesforce.errors import ApiError
from toolkit.sandbox.salesforce.formulas import with_read_time_fields
from toolkit.sandbox.salesforce.rest.query import record_json
from toolkit.sandbox.salesforce.schema import ObjectDef
from toolkit.sandbox.salesforce.validation import INSUFFICIENT_ACCESS

if TYPE_CHECKING:
    from toolkit.sandbox.salesforce.rest import Ctx

_RELEASES = ("Winter", "Spring", "Summer")
# Single-record errors that Salesforce answers with 404 or 403 rather than 400.
_NOT_FOUND_CODES = frozenset({"ENTITY_IS_DELETED", "NOT_FOUND"})
_REFUSED_CODES = frozenset({INSUFFICIENT_ACCESS})


def release_label(version: str) -> str:
    """``59.0`` -> ``Winter '24`` (three releases a year; v50.0 was Winter '21)."""
    n = int(float(version)) - 50
    return f"{_RELEASES[n % 3]} '{21 + n // 3}"


def versions(request: Request, supported: tuple[str, ...]) -> Response:
    """``GET /services/data/``: every API version the instance serves (no session needed)."""
    return json_response(
        [{"label": release_label(v), "url": f"/services/data/v{v}", "version": v} for v in supported]
    )


def object_or_404(ctx: Ctx, sobject: str) -> ObjectDef:
    """The named object, or ApiError 404 NOT_FOUND."""
    obj = ctx.org.schema.get(sobject)
    if obj is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return obj


def global_describe(ctx: Ctx) -> Response:
    """``GET sobjects/``."""
    return json_response(ctx.org.schema.global_describe(ctx.version))


def describe(ctx: Ctx, sobject: str) -> Response:
    """``GET sobjects/X/describe/``."""
    return json_response(object_or_404(ctx, sobject).describe(ctx.version))


def sobject_root(ctx: Ctx, sobject: str) -> Response:
    """``GET sobjects/X/`` (basic info) and ``POST sobjects/X/`` (create one record)."""
    obj = object_or_404(ctx, sobject)
    if ctx.request.method == "GET":
        return json_response({"objectDescribe": obj.basic_info(ctx.version), "recentItems": []})
    body, raw = ctx.body_json()
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {obj.name} from "
            "START_ARRAY value [ or request may be missing a required field at [line:1, column:1]",
        )
    result = ctx.org.save("create", [(obj.name, body)], raw=raw)[0]
    if not result["success"]:
        return errors_response(result)
    return json_response(result, 201)


def errors_response(result: dict[str, Any]) -> Response:
    """A failed SaveResult as a single-record REST error list (``errorCode`` instead of ``statusCode``)."""
    errors = [
        {"message": e["message"], "errorCode": e["statusCode"], "fields": e["fields"]}
        for e in result["errors"]
    ]
    code = errors[0]["errorCode"] if errors else ""
    status = 404 if code in _NOT_FOUND_CODES else 403 if code in _REFUSED_CODES else 400
    return json_response(errors, status)


def resolve_fields(obj: ObjectDef, names: str | None) -> list[str]:
    """Canonical names of a ``fields=`` parameter (all fields when absent).

    Raises:
        ApiError: INVALID_FIELD for an unknown name.
    """
    if not names:
        return obj.field_names
    out = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        fdef = obj.field(name)
        if fdef is None:
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{obj.name}'. If you are "
                "attempting to use a custom field, be sure to append the '__c' after the custom "
                "field name. Please reference your WSDL or the describe call for the appropriate names.",
            )
        out.append(fdef.name)
    return out


def _existing(ctx: Ctx, obj: ObjectDef, record_id: str) -> tuple[str, dict[str, Any]]:
    """Normalise a path Id and find the record (404 NOT_FOUND / ENTITY_IS_DELETED, 400 MALFORMED_ID)."""
    if not ids.is_id(record_id):
        raise ApiError(
            404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {record_id}"
        )
    try:
        normalized = ids.normalize(record_id, obj.key_prefix)
    except ids.MalformedIdError:
        raise ApiError(
            400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {record_id}", ["Id"]
        ) from None
    found = ctx.org.find(normalized)
    if found is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    if found[1].get("IsDeleted"):  # User and Organization have no IsDeleted
        raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
    return normalized, found[1]


def record(ctx: Ctx, sobject: str, record_id: str) -> Response:
    """``GET`` (``?fields=``), ``PATCH`` (204) and ``DELETE`` (204) of ``sobjects/X/{id}``."""
    obj = object_or_404(ctx, sobject)
    normalized, stored = _existing(ctx, obj, record_id)
    method = ctx.request.method
    if method == "GET":
        names = resolve_fields(obj, ctx.request.args.get("fields"))
        view = with_read_time_fields(obj.name, stored, ctx.org.clock.now())
        return json_response(record_json(obj.name, ctx.version, {n: view.get(n) for n in names}, normalized))
    if method == "DELETE":
        result = ctx.org.delete_many([normalized])[0]
    else:
        body, raw = ctx.body_json()
        if not isinstance(body, dict):
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of sobject from START_ARRAY "
                "value [ or request may be missing a required field at [line:1, column:1]",
            )
        body = {k: v for k, v in body.items() if k.lower() != "id"}
        result = ctx.org.save("update", [(obj.name, {**body, "Id": normalized})], raw=raw)[0]
    if not result["success"]:
        return errors_response(result)
    return json_response(None, 204)
