"""sObject Collections: ``composite/sobjects`` create (POST), update (PATCH), delete (DELETE) and retrieve.

At most 200 records per write (2,000 Ids per retrieve); results in request order; ``allOrNone``
rolls every record back when one fails. The whole call is one API request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from toolkit.sandbox.http import json_response
from toolkit.sandbox.salesforce import ids
from toolkit.sandbox.salesforce.errors import ApiError
from toolkit.sandbox.salesforce.formulas import with_read_time_fields
from toolkit.sandbox.salesforce.rest.query import record_json
from toolkit.sandbox.salesforce.rest.sobjects import object_or_404, resolve_fields

if TYPE_CHECKING:
    from toolkit.sandbox.salesforce.rest import Ctx

MAX_RECORDS = 200
MAX_RETRIEVE_IDS = 2000


def _too_many() -> ApiError:
    return ApiError(
        400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
    )


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def collections(ctx: Ctx) -> Response:
    """``POST`` (create), ``PATCH`` (update) and ``DELETE`` (``?ids=&allOrNone=``) of ``composite/sobjects``."""
    if ctx.request.method == "DELETE":
        raw_ids = [i for i in ctx.request.args.get("ids", "").split(",") if i.strip()]
        if not raw_ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required")
        if len(raw_ids) > MAX_RECORDS:
            raise _too_many()
        all_or_none = _flag(ctx.request.args.get("allOrNone", "false"))
        return json_response(ctx.org.delete_many([i.strip() for i in raw_ids], all_or_none=all_or_none))
    body, raw = ctx.body_json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(
            400,
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of SObjectCollectionRequest: 'records' must be an array of sObjects",
        )
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise _too_many()
    items = []
    for rec in records:
        if not isinstance(rec, dict):
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of sObject from {type(rec).__name__} value",
            )
        sobject = (
            (rec.get("attributes") or {}).get("type") if isinstance(rec.get("attributes"), dict) else None
        )
        if not sobject:
            raise ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.")
        obj = ctx.org.schema.get(str(sobject))
        if obj is None:
            raise ApiError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        items.append((obj.name, rec))
    mode = "create" if ctx.request.method == "POST" else "update"
    return json_response(ctx.org.save(mode, items, all_or_none=_flag(body.get("allOrNone", False)), raw=raw))


def retrieve(ctx: Ctx, sobject: str) -> Response:
    """``GET composite/sobjects/X?ids=&fields=`` (or ``POST`` with ``{"ids": [], "fields": []}``).

    Answers one entry per Id, in order: the record, or null when it does not exist.
    """
    obj = object_or_404(ctx, sobject)
    if ctx.request.method == "POST":
        body, _ = ctx.body_json()
        body = body if isinstance(body, dict) else {}
        raw_ids, names = list(body.get("ids") or []), ",".join(body.get("fields") or [])
    else:
        raw_ids = [i for i in ctx.request.args.get("ids", "").split(",") if i.strip()]
        names = ctx.request.args.get("fields", "")
    if not raw_ids or not names:
        raise ApiError(400, "MISSING_ARGUMENT", "ids and fields are required")
    if len(raw_ids) > MAX_RETRIEVE_IDS:
        raise ApiError(
            400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 2000 ids into this call"
        )
    fields = resolve_fields(obj, names)
    now = ctx.org.clock.now()
    out: list[dict[str, Any] | None] = []
    for raw_id in raw_ids:
        found = None
        if ids.is_id(str(raw_id).strip(), obj.key_prefix):
            found = ctx.org.find(ids.normalize(str(raw_id).strip()))
        if found is None or found[1].get("IsDeleted"):  # User and Organization have no IsDeleted
            out.append(None)
            continue
        view = with_read_time_fields(obj.name, found[1], now)
        out.append(record_json(obj.name, ctx.version, {n: view.get(n) for n in fields}, view["Id"]))
    return json_response(out)
