"""sObject Get Updated / Get Deleted (``sobjects/X/updated/``, ``sobjects/X/deleted/``) and ``limits/``.

Replication windows: seconds are ignored (both ends truncated to the minute, ``[start, end)``),
``end`` is capped at the current minute, ``start`` may go back at most 30 days (updated) or
15 days (deleted, the Recycle Bin's retention); ``latestDateCovered`` is the next ``start``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from toolkit.sandbox.http import json_response
from toolkit.sandbox.salesforce.errors import ApiError
from toolkit.sandbox.salesforce.org import RECYCLE_BIN_DAYS
from toolkit.sandbox.salesforce.rest.sobjects import object_or_404
from toolkit.sandbox.salesforce.values import format_datetime, parse_datetime

if TYPE_CHECKING:
    from toolkit.sandbox.salesforce.rest import Ctx

UPDATED_WINDOW_DAYS = 30
MAX_IDS = 600_000
RECORD_STORAGE_KB = 2  # Salesforce counts most records as 2 KB of data storage


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _window(ctx: Ctx, days: int) -> tuple[str, str]:
    """The ``[start, end)`` window of the request as stored-datetime strings."""
    args = ctx.request.args
    if not args.get("start") or not args.get("end"):
        raise ApiError(400, "MISSING_ARGUMENT", "Both start and end parameters are required")
    try:
        start, end = (_minute(parse_datetime(args[k])) for k in ("start", "end"))
    except ValueError:
        raise ApiError(
            400, "INVALID_REPLICATION_DATE", "start and end must be valid dateTime values"
        ) from None
    now = _minute(ctx.org.clock.now())
    if start >= end:
        raise ApiError(
            400,
            "INVALID_REPLICATION_DATE",
            "startDate must chronologically precede endDate by more than one minute",
        )
    if start < now - timedelta(days=days):
        raise ApiError(400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {days} days ago")
    end = max(start, min(end, now))
    return format_datetime(start), format_datetime(end)


def updated(ctx: Ctx, sobject: str) -> Response:
    """``GET sobjects/X/updated/?start=&end=`` -> ``{ids, latestDateCovered}``."""
    obj = object_or_404(ctx, sobject)
    start, end = _window(ctx, UPDATED_WINDOW_DAYS)
    found = ctx.org.updated_ids(obj.name, start, end)
    if len(found) > MAX_IDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", f"Cannot return more than {MAX_IDS} ids")
    return json_response({"ids": found, "latestDateCovered": end})


def deleted(ctx: Ctx, sobject: str) -> Response:
    """``GET sobjects/X/deleted/?start=&end=`` -> ``{deletedRecords, earliestDateAvailable, latestDateCovered}``."""
    obj = object_or_404(ctx, sobject)
    start, end = _window(ctx, RECYCLE_BIN_DAYS)
    found = ctx.org.deleted_records(obj.name, start, end)
    if len(found) > MAX_IDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", f"Cannot return more than {MAX_IDS} ids")
    # Rounded UP to the minute: a window starting before it may have lost purged deletions.
    purged = parse_datetime(ctx.org.earliest_date_available)
    earliest = format_datetime(
        _minute(purged) + (timedelta(minutes=1) if purged != _minute(purged) else timedelta())
    )
    return json_response(
        {"deletedRecords": found, "earliestDateAvailable": earliest, "latestDateCovered": end}
    )


def _limit(maximum: int, remaining: int) -> dict[str, int]:
    return {"Max": maximum, "Remaining": max(0, remaining)}


def limits(ctx: Ctx) -> Response:
    """``GET limits/``: the org's allocations and what remains of them."""
    used, daily = ctx.org.api_usage
    records = sum(len(ctx.org.snapshot(name, include_deleted=True)) for name in ctx.org.data_objects)
    data_max = 10240
    jobs_used, storage_mb = ctx.api.jobs.usage()
    return json_response(
        {
            "ConcurrentAsyncGetReportInstances": _limit(200, 200),
            "ConcurrentSyncReportRuns": _limit(20, 20),
            "DailyApiRequests": _limit(daily, daily - used),
            "DailyAsyncApexExecutions": _limit(250000, 250000),
            "DailyBulkApiBatches": _limit(15000, 15000),
            "DailyBulkV2QueryFileStorageMB": _limit(976562, 976562 - storage_mb),
            "DailyBulkV2QueryJobs": _limit(10000, 10000 - jobs_used),
            "DailyGenericStreamingApiEvents": _limit(10000, 10000),
            "DailyStreamingApiEvents": _limit(1000000, 1000000),
            "DataStorageMB": _limit(data_max, data_max - records * RECORD_STORAGE_KB // 1024),
            "FileStorageMB": _limit(10240, 10240),
            "HourlyTimeBasedWorkflow": _limit(1000, 1000),
            "MassEmail": _limit(5000, 5000),
            "SingleEmail": _limit(5000, 5000),
        }
    )
