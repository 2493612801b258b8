"""Bulk API 2.0 query jobs, read one results page at a time, values typed like the REST API.

Each request (create, each poll, each results page) goes through the funnel on its own, and the
session's retry (:mod:`.retry`) sends that request only again after a transient failure: a
results page is fetched again with the same locator, never the whole job. The requests use simple-salesforce's public parts only
(``Salesforce.restful`` for the JSON calls, its ``session``, ``base_url`` and ``headers`` for
the CSV pages): its Bulk 2.0 client requires the ``Sforce-NumberOfRecords`` header of every
results page (``KeyError`` without it) although only ``Sforce-Locator`` is needed to go on, and
its all-in-one ``query`` generator can neither resume a page nor report progress per poll.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.util import exception_handler

from toolkit.exceptions import FatalApiError, RetriableApiError
from toolkit.timestamps import canonical_salesforce_datetime

from .funnel import Funnel

__all__ = ["bulk_query_pages", "typed_value"]

log = logging.getLogger(__name__)

_FLOATS = frozenset({"double", "currency", "percent"})
_FAILED = ("Failed", "Aborted")


def typed_value(text: str, field_type: str | None) -> Any:
    """One Bulk CSV value as the REST API's JSON would give it.

    Empty is ``None`` (the CSV cannot tell empty from null; Salesforce stores empty text as
    null); ``boolean`` becomes bool, ``int`` int, ``double``/``currency``/``percent`` float,
    ``datetime`` the REST form ``...T09:37:04.000+0000`` (the CSV's ``...04.000Z`` or, since
    Bulk API 2.0 calls milliseconds optional, ``...04Z``); anything else stays text.
    """
    if text == "":
        return None
    if field_type == "boolean":
        return text.lower() == "true"
    if field_type == "int":
        return int(float(text)) if "." in text else int(text)
    if field_type in _FLOATS:
        return float(text)
    if field_type == "datetime":
        return canonical_salesforce_datetime(text)
    return text


def _records(lines: Iterable[str], types: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    """The records of a results page's CSV lines, typed (parent fields nested), one at a time."""
    reader = csv.reader(line.replace("\x00", "") for line in lines)
    header = next(reader, None)
    if not header:
        return
    kinds = [types.get(name.lower()) for name in header]
    for row in reader:
        record: dict[str, Any] = {}
        for name, kind, value in zip(header, kinds, row):
            if "." not in name:
                record[name] = typed_value(value, kind)
                continue
            # Account.Name -> {"Account": {"Name": ...}}, as the REST API nests parent fields.
            *parents, leaf = name.split(".")
            node = record
            for parent in parents:
                node = node.setdefault(parent, {})
            node[leaf] = typed_value(value, kind)
        for key, value in record.items():
            if isinstance(value, dict) and all(v is None for v in _leaves(value)):
                record[key] = None
        yield record


def _page_lines(content: bytes, encoding: str) -> io.TextIOWrapper:
    """A page's CSV lines, decoded as they are read, as ``requests``' ``Response.text`` decodes
    the whole (undecodable bytes replaced), split at ``\n`` only as ``io.StringIO`` splits it."""
    return io.TextIOWrapper(io.BytesIO(content), encoding=encoding, errors="replace", newline="\n")


def _leaves(node: dict[str, Any]) -> Iterator[Any]:
    for value in node.values():
        if isinstance(value, dict):
            yield from _leaves(value)
        else:
            yield value


def bulk_query_pages(
    funnel: Funnel,
    sobject: str,
    soql: str,
    field_types: Mapping[str, str],
    *,
    include_deleted: bool = False,
    max_records: int = 50_000,
    poll_seconds: float = 0.5,
    timeout_seconds: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
    on_complete: Callable[[dict[str, Any]], None] | None = None,
    chunk_records: int | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Run a Bulk API 2.0 query job and yield its results page by page.

    A page is held as the CSV bytes it came as and turned into records as they are yielded:
    with ``chunk_records``, a page of 50,000 records is yielded in lists of at most that many,
    so that memory never holds the whole page as records (a record's dict takes several times
    its CSV line).

    Args:
        funnel: the call funnel.
        sobject: the queried object (simple-salesforce addresses the job through it).
        soql: the query (no COUNT(), OFFSET or subqueries: Bulk API 2.0 refuses them).
        field_types: lower-cased field name -> describe type, for typing the CSV values.
        include_deleted: run ``queryAll`` (records in the Recycle Bin too).
        max_records: records per results page.
        poll_seconds: first wait before polling; later waits grow by half each time (at most
            ``max(poll_seconds, 10)`` seconds), since every poll is an API call.
        timeout_seconds: give up (and abort the job) if it is not complete by then.
        on_complete: called with the completed job's info (``numberRecordsProcessed``: the
            records the pages will hold) before the first page is read.
        chunk_records: yield each page in lists of at most this many records (in page order);
            ``None``: one list per page.

    Raises:
        FatalApiError: the job failed or was aborted (``code`` ``BULK_JOB_FAILED``/``_ABORTED``).
        RetriableApiError: the job did not complete within ``timeout_seconds``.
    """
    operation = "queryAll" if include_deleted else "query"
    body = {
        "operation": operation,
        "query": soql,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    job_id = funnel.call(
        lambda sf: str(_job(sf.restful("jobs/query", method="POST", json=body))["id"]),
        method="POST",
        path="jobs/query",
        idempotent=True,  # a job created twice leaves an unused query job, never data written twice
    )
    path = f"jobs/query/{job_id}"
    log.info("Bulk API 2.0 %s job %s created for %s", operation, job_id, sobject)
    deadline = time.monotonic() + timeout_seconds
    wait, cap = poll_seconds, max(poll_seconds, 10.0)
    while True:
        sleep(wait)
        info = funnel.call(lambda sf: _job(sf.restful(path)), method="GET", path=path)
        state = info.get("state")
        if state == "JobComplete":
            break
        if state in _FAILED:
            raise FatalApiError(
                str(info.get("errorMessage") or f"the Bulk API job ended {state}"),
                service="salesforce",
                code=f"BULK_JOB_{str(state).upper()}",
                method="GET",
                path=path,
            )
        if time.monotonic() >= deadline:
            funnel.call(
                lambda sf: sf.restful(path, method="PATCH", json={"state": "Aborted"}),
                method="PATCH",
                path=path,
            )
            raise RetriableApiError(
                f"the Bulk API job was still {state} after {timeout_seconds:g} s; it was aborted",
                service="salesforce",
                code="BULK_JOB_TIMEOUT",
                method="GET",
                path=path,
            )
        wait = min(cap, wait * 1.5)
    if on_complete is not None:
        on_complete(info)
    locator = ""
    while True:
        content, encoding, locator = funnel.call(
            partial(_results_page, path=f"{path}/results", locator=locator, max_records=max_records),
            method="GET",
            path=f"{path}/results",
        )
        records = _records(_page_lines(content, encoding), field_types)
        del content  # the reader holds it until the page is read, no longer
        if chunk_records is None:
            yield list(records)
        else:
            while chunk := list(itertools.islice(records, chunk_records)):
                yield chunk
                del chunk  # not kept while the caller works and the next part is parsed
        del records
        if not locator:
            return


def _job(answer: Any) -> dict[str, Any]:
    """A job's JSON checked for its ``id`` (a ``TypeError`` the funnel reports as a protocol error)."""
    if not isinstance(answer, dict) or not answer.get("id"):
        raise TypeError("a Bulk API 2.0 job answer is an object with an id")
    return answer


def _results_page(sf: Salesforce, *, path: str, locator: str, max_records: int) -> tuple[bytes, str, str]:
    """One CSV results page as bytes, their encoding, and the locator of the next (``""`` after the last).

    The encoding is the one ``requests`` decodes ``Response.text`` with (the ``Content-Type``'s
    charset, else a guess from the bytes, else UTF-8); the bytes are decoded as they are parsed
    (:func:`_page_lines`), never held twice as text. ``Sforce-Locator`` is required to go on
    (its absence reads as "no more pages" only when the page says so with the string ``null``);
    ``Sforce-NumberOfRecords``, which the API documents too, is not needed and may be missing.
    """
    params: dict[str, Any] = {"maxRecords": max_records}
    if locator:
        params["locator"] = locator
    response: requests.Response = sf.session.request(
        "GET", sf.base_url + path, params=params, headers={**sf.headers, "Accept": "text/csv"}
    )
    if response.status_code >= 300:
        exception_handler(response, name=path)
    if "Sforce-Locator" not in response.headers:
        raise KeyError("Sforce-Locator")
    following = response.headers["Sforce-Locator"]
    content = response.content
    encoding = (response.encoding or (response.apparent_encoding if content else None)) or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:  # as Response.text does with an unknown charset
        encoding = "utf-8"
    return content, encoding, "" if following in ("", "null") else following
