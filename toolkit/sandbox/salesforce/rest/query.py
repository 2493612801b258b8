"""``query`` and ``queryAll``: SOQL over REST, paged through query cursors.

Results are snapshotted at the first call. A result larger than one batch (2,000 records, or the
``Sforce-Query-Options: batchSize=N`` header, 200..2000) opens a cursor whose pages are
``nextRecordsUrl = /services/data/vNN.N/query/<locator>-<offset>`` (``/query/`` also for
queryAll, as Salesforce). Cursors close after 15 minutes unused; at most 10 stay open per
user, the oldest being dropped first, as in Salesforce.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.http import json_response
from toolkit.sandbox.salesforce import ids
from toolkit.sandbox.salesforce.errors import ApiError
from toolkit.sandbox.salesforce.rest.query_columns import column_metadata
from toolkit.sandbox.salesforce.soql import (
    CompiledQuery,
    SoqlError,
    compile_query,
    parse,
    unknown_sobject_error,
)
from toolkit.sandbox.salesforce.soql.nodes import FieldRef

if TYPE_CHECKING:
    from toolkit.sandbox.salesforce.org import SalesforceOrg
    from toolkit.sandbox.salesforce.rest import Ctx

DEFAULT_BATCH = 2000
MIN_BATCH = 200
CURSOR_IDLE = timedelta(minutes=15)
MAX_OPEN_CURSORS = 10
_BATCH_RE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


@dataclass
class Cursor:
    """The snapshot of one query's result rows."""

    rows: list[dict[str, Any]]
    last_used: datetime


class CursorStore:
    """Open query cursors, by locator Id (``01g...``)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._cursors: dict[str, Cursor] = {}
        self._sequence = ids.IdSequence("01g")
        self._lock = threading.Lock()

    def open(self, rows: list[dict[str, Any]]) -> str:
        """Keep ``rows`` for later pages; returns the locator Id."""
        locator = self._sequence.next()
        now = self.clock.now()
        with self._lock:
            self._expire(now)
            while len(self._cursors) >= MAX_OPEN_CURSORS:
                oldest = min(self._cursors, key=lambda k: self._cursors[k].last_used)
                del self._cursors[oldest]
            self._cursors[locator] = Cursor(rows, now)
        return locator

    def get(self, locator: str) -> list[dict[str, Any]] | None:
        """The rows of an open cursor (renewing its idle timeout), or None."""
        now = self.clock.now()
        with self._lock:
            self._expire(now)
            cursor = self._cursors.get(locator)
            if cursor is None:
                return None
            cursor.last_used = now
            return cursor.rows

    def _expire(self, now: datetime) -> None:
        for key in [k for k, c in self._cursors.items() if now - c.last_used > CURSOR_IDLE]:
            del self._cursors[key]


def batch_size(ctx: Ctx) -> int:
    """The page size asked for with ``Sforce-Query-Options: batchSize=N`` (clamped to 200..2000)."""
    match = _BATCH_RE.search(ctx.request.headers.get("Sforce-Query-Options", ""))
    if not match:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(DEFAULT_BATCH, int(match.group(1))))


def compile_soql(org: SalesforceOrg, soql: str, *, with_id: bool = False) -> tuple[CompiledQuery, bool]:
    """Parse and compile ``soql`` against the org's schema.

    Args:
        with_id: also select ``Id`` when the query does not (for record URLs).

    Returns:
        The compiled query and whether ``Id`` was added (to drop it from the output).

    Raises:
        ApiError: 400 with the SOQL error code (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE...).
    """
    try:
        query = parse(soql)
        obj = org.schema.get(query.sobject)
        if obj is None:
            raise unknown_sobject_error(query)
        compiled = compile_query(query, obj.field_types, now=org.clock.now(), sobject=obj.name)
        if with_id and not compiled.is_count and "Id" not in compiled.fields:
            augmented = dataclasses.replace(query, fields=(*query.fields, FieldRef("Id", 0)))
            return compile_query(augmented, obj.field_types, now=org.clock.now(), sobject=obj.name), True
        return compiled, False
    except SoqlError as exc:
        raise ApiError(400, exc.error_code, exc.message) from None


def record_json(sobject: str, version: str, row: dict[str, Any], record_id: str | None) -> dict[str, Any]:
    """A record as the REST API prints it: ``attributes`` first, then the fields."""
    attributes = {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}
    return {"attributes": attributes, **row}


def run_query(
    org: SalesforceOrg, soql: str, version: str, include_deleted: bool
) -> tuple[CompiledQuery, Any]:
    """Run ``soql``; returns the query and either the COUNT() total or the JSON records."""
    compiled, added_id = compile_soql(org, soql, with_id=True)
    records = org.snapshot(compiled.sobject, include_deleted=include_deleted)
    rows = compiled.run(records)
    if compiled.is_count:
        return compiled, len(rows)
    out = []
    for row in rows:
        record_id = row.pop("Id") if added_id else row.get("Id")
        out.append(record_json(compiled.sobject, version, row, record_id))
    return compiled, out


def _page(ctx: Ctx, rows: list[dict[str, Any]], locator: str | None, offset: int) -> Response:
    size = batch_size(ctx)
    end = offset + size
    body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows)}
    if end < len(rows):
        if locator is None:
            locator = ctx.api.cursors.open(rows)
        body["nextRecordsUrl"] = f"/services/data/v{ctx.version}/query/{locator}-{end}"
    body["records"] = rows[offset:end]
    return json_response(body)


def _query(ctx: Ctx, include_deleted: bool) -> Response:
    soql = ctx.request.args.get("q")
    if not soql:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    if ctx.request.args.get("columns", "").lower() == "true":  # `sf data query`'s column labels
        compiled, _ = compile_soql(ctx.org, soql)
        return json_response(column_metadata(ctx.org.object(compiled.sobject), compiled))
    compiled, result = run_query(ctx.org, soql, ctx.version, include_deleted)
    if compiled.is_count:
        return json_response({"totalSize": result, "done": True, "records": []})
    return _page(ctx, result, None, 0)


def query(ctx: Ctx) -> Response:
    """``GET query/?q=`` (records in the Recycle Bin are left out); ``&columns=true`` answers the
    query's column metadata instead (see :mod:`rest.query_columns`)."""
    return _query(ctx, include_deleted=False)


def query_all(ctx: Ctx) -> Response:
    """``GET queryAll/?q=`` (records in the Recycle Bin included, ``IsDeleted = true``)."""
    return _query(ctx, include_deleted=True)


def query_more(ctx: Ctx, locator: str) -> Response:
    """``GET query/<locator>-<offset>``: the next page of an open cursor."""
    cursor_id, _, offset_text = locator.partition("-")
    rows = ctx.api.cursors.get(cursor_id) if offset_text.isdigit() else None
    if rows is None or int(offset_text) > len(rows):
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(ctx, rows, cursor_id, int(offset_text))
