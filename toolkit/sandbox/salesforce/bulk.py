"""Bulk API 2.0 query jobs (``jobs/query``): create, poll, list, abort, delete and CSV results.

The query runs (and its result is snapshotted) when the job is created; the job then reports
``UploadComplete``, ``InProgress`` on the first poll and ``JobComplete`` on the next one (or on
any poll a second after creation), so clients exercise their polling loop. Results are CSV as
Salesforce writes them: a header row, every value double-quoted, null as an empty value,
booleans ``true``/``false``, datetimes ``2026-11-27T09:37:04.000Z``; pages are cut by
``maxRecords`` and chained with the ``Sforce-Locator`` header (``null`` on the last page).
"""

from __future__ import annotations

import base64
import csv
import io
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from toolkit.sandbox.http import json_response
from toolkit.sandbox.salesforce import ids
from toolkit.sandbox.salesforce.errors import ApiError
from toolkit.sandbox.salesforce.rest.query import compile_soql
from toolkit.sandbox.salesforce.values import format_datetime, to_bulk_datetime

if TYPE_CHECKING:
    from toolkit.sandbox.salesforce.org import SalesforceOrg
    from toolkit.sandbox.salesforce.rest import Ctx

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
TERMINAL = ("JobComplete", "Aborted", "Failed")
COMPLETE_AFTER_SECONDS = 1.0
DAY_SECONDS = 24 * 3600


def _csv_value(value: Any, kind: str, milliseconds: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "datetime":
        return to_bulk_datetime(value, milliseconds=milliseconds)
    return str(value)


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str) -> int:
    try:
        return int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode())
    except ValueError:
        raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from None


@dataclass
class BulkJob:
    """One query job and its snapshotted result rows (already CSV-formatted values)."""

    id: str
    operation: str
    sobject: str
    version: str
    created_date: str
    column_delimiter: str
    line_ending: str
    header: list[str]
    rows: list[list[str]]
    state: str = "UploadComplete"
    system_modstamp: str = ""
    created_at: float = field(default_factory=time.monotonic)
    polls: int = 0

    def info(self, user_id: str, *, detail: bool) -> dict[str, Any]:
        """The job's JSON (create answer; ``detail`` adds the fields of ``GET jobs/query/{id}``)."""
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": user_id,
            "createdDate": self.created_date,
            "systemModstamp": self.system_modstamp or self.created_date,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if detail:
            done = self.state == "JobComplete"
            body.update(
                {
                    "jobType": "V2Query",
                    "numberRecordsProcessed": len(self.rows) if done else 0,
                    "retries": 0,
                    "totalProcessingTime": 0 if not done else 12,
                    "isPkChunkingSupported": True,
                }
            )
        return body

    def csv_page(self, offset: int, count: int) -> str:
        out = io.StringIO()
        writer = csv.writer(
            out,
            delimiter=DELIMITERS[self.column_delimiter],
            quoting=csv.QUOTE_ALL,
            lineterminator=LINE_ENDINGS[self.line_ending],
        )
        writer.writerow(self.header)
        writer.writerows(self.rows[offset : offset + count])
        return out.getvalue()


class BulkJobs:
    """The org's Bulk API 2.0 query jobs (thread-safe)."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org
        self._jobs: dict[str, BulkJob] = {}
        self._created: list[float] = []  # sandbox-clock timestamps, for DailyBulkV2QueryJobs
        self._sequence = ids.IdSequence("750")
        self._lock = threading.Lock()

    def create(self, ctx: Ctx, body: dict[str, Any]) -> BulkJob:
        """Validate the job request, run its query and keep the result."""
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            raise ApiError(400, "INVALIDJOB", f"Invalid operation: {operation}")
        delimiter = body.get("columnDelimiter") or "COMMA"
        line_ending = body.get("lineEnding") or "LF"
        if delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
            raise ApiError(400, "INVALIDJOB", "Invalid columnDelimiter or lineEnding")
        if body.get("contentType", "CSV") != "CSV":
            raise ApiError(400, "INVALIDJOB", "Invalid contentType: only CSV is supported")
        soql = body.get("query")
        if not isinstance(soql, str) or not soql.strip():
            raise ApiError(400, "INVALIDJOB", "The query is missing")
        compiled, _ = compile_soql(self.org, soql)
        if compiled.is_count or compiled.offset is not None:
            raise ApiError(400, "INVALIDJOB", "Bulk API 2.0 query does not support COUNT() or OFFSET")
        obj = self.org.object(compiled.sobject)
        kinds = [obj.field(name).type for name in compiled.fields]  # type: ignore[union-attr]
        rows = compiled.run(self.org.snapshot(obj.name, include_deleted=operation == "queryAll"))
        now = self.org.clock.now()
        variants = self.org.variants
        job = BulkJob(
            id=self._sequence.next(),
            operation=operation,
            sobject=obj.name,
            version=ctx.version,
            created_date=format_datetime(now),
            column_delimiter=delimiter,
            line_ending=line_ending,
            header=list(compiled.fields),
            rows=[
                [
                    _csv_value(
                        row[f], k, variants.pick("salesforce.bulk.datetime", row.get("Id"), (True, False))
                    )
                    for f, k in zip(compiled.fields, kinds)
                ]
                for row in rows
            ],
        )
        with self._lock:
            self._jobs[job.id] = job
            self._created.append(now.timestamp())
        return job

    def get(self, job_id: str) -> BulkJob:
        """The job, or ApiError 404."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def poll(self, job: BulkJob) -> None:
        """Move a running job on by one poll (see the module docstring)."""
        with self._lock:
            if job.state in TERMINAL:
                return
            job.polls += 1
            if job.polls >= 2 or time.monotonic() - job.created_at >= COMPLETE_AFTER_SECONDS:
                job.state = "JobComplete"
            else:
                job.state = "InProgress"
            job.system_modstamp = format_datetime(self.org.clock.now())

    def all(self) -> list[BulkJob]:
        with self._lock:
            return list(self._jobs.values())

    def set_state(self, job: BulkJob, state: Any) -> None:
        """Abort a job (the only state change a client may ask for on a query job)."""
        with self._lock:
            if state != "Aborted":
                raise ApiError(400, "INVALIDJOBSTATE", f"Invalid state: {state}")
            if job.state in TERMINAL:
                raise ApiError(400, "INVALIDJOBSTATE", f"Job is already in a final state: {job.state}")
            job.state = "Aborted"
            job.system_modstamp = format_datetime(self.org.clock.now())

    def delete(self, job: BulkJob) -> None:
        with self._lock:
            if job.state not in TERMINAL:
                raise ApiError(400, "INVALIDJOBSTATE", "Only a completed or aborted job can be deleted")
            self._jobs.pop(job.id, None)

    def usage(self) -> tuple[int, int]:
        """Query jobs created in the last 24 hours, and their result storage in MB."""
        cutoff = self.org.clock.now().timestamp() - DAY_SECONDS
        with self._lock:
            self._created = [t for t in self._created if t > cutoff]
            # A rough size: 40 bytes per CSV value.
            size = sum(len(j.rows) * len(j.header) * 40 for j in self._jobs.values())
            return len(self._created), size // (1024 * 1024)


def jobs_root(ctx: Ctx) -> Response:
    """``POST jobs/query`` (create) and ``GET jobs/query`` (list)."""
    jobs = ctx.api.jobs
    if ctx.request.method == "GET":
        records = [j.info(ctx.org.user_id, detail=True) for j in jobs.all()]
        return json_response({"done": True, "records": records, "nextRecordsUrl": None})
    body, _ = ctx.body_json()
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    job = jobs.create(ctx, body)
    return json_response(job.info(ctx.org.user_id, detail=False))


def job(ctx: Ctx, job_id: str) -> Response:
    """``GET`` (poll), ``PATCH`` (abort) and ``DELETE`` of ``jobs/query/{id}``."""
    jobs = ctx.api.jobs
    found = jobs.get(job_id)
    if ctx.request.method == "GET":
        jobs.poll(found)
    elif ctx.request.method == "PATCH":
        body, _ = ctx.body_json()
        jobs.set_state(found, body.get("state") if isinstance(body, dict) else None)
    else:
        jobs.delete(found)
        return json_response(None, 204)
    return json_response(found.info(ctx.org.user_id, detail=True))


def job_results(ctx: Ctx, job_id: str) -> Response:
    """``GET jobs/query/{id}/results?maxRecords=&locator=``: one CSV page."""
    found = ctx.api.jobs.get(job_id)
    if found.state != "JobComplete":
        raise ApiError(412, "JOB_NOT_COMPLETE", f"The job is not complete: its state is {found.state}")
    args = ctx.request.args
    offset = _offset(args["locator"]) if args.get("locator") else 0
    max_text = args.get("maxRecords")
    if max_text is not None and (not max_text.isdigit() or int(max_text) < 1):
        raise ApiError(400, "INVALIDJOB", f"Invalid maxRecords: {max_text}")
    count = int(max_text) if max_text else len(found.rows) or 1
    if offset > len(found.rows):
        raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {args.get('locator')}")
    page = found.rows[offset : offset + count]
    next_offset = offset + len(page)
    # werkzeug adds "; charset=utf-8" to a text/* mimetype
    response = Response(found.csv_page(offset, count), status=200, mimetype="text/csv")
    if not ctx.org.variants.chance("salesforce.bulk.records-header", f"{found.id}:{offset}", 0.3):
        response.headers["Sforce-NumberOfRecords"] = str(
            len(page)
        )  # documented, yet only the locator is needed
    response.headers["Sforce-Locator"] = _locator(next_offset) if next_offset < len(found.rows) else "null"
    return response
