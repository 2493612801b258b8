"""The Salesforce client the engine uses: describe, paged queries, Bulk API 2.0, collections writes.

Every request goes through simple-salesforce inside one funnel (:class:`~.funnel.Funnel`): one
re-authentication on an expired session, errors mapped to the toolkit's tree, ``Sforce-Limit-Info``
recorded; transient failures are retried by the session's urllib3 retry (:mod:`.retry`).

Example:
    >>> session = make_session(ca_bundle)                                       # doctest: +SKIP
    >>> renew = lambda: client_credentials(login_url, cid, secret, session=session)  # doctest: +SKIP
    >>> sf = SalesforceClient(renew(), renew, session=session)                  # doctest: +SKIP
    >>> for page in sf.query_pages("SELECT Id, Email FROM Contact"):            # doctest: +SKIP
    ...     handle(page)
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import requests
from simple_salesforce.api import Salesforce

from toolkit.exceptions import ProtocolError

from .bulk import bulk_query_pages
from .funnel import DEFAULT_API_VERSION, Funnel
from .oauth import TokenSet
from .retry import RetryPolicy
from .soql import soql_name

__all__ = ["BATCH_SIZE", "RecordError", "SalesforceClient", "SaveResult"]

log = logging.getLogger(__name__)

BATCH_SIZE = 200  # sObject Collections take at most 200 records per call
_FROM_RE = re.compile(r"\bFROM\s+([A-Za-z][A-Za-z0-9_]*)", re.IGNORECASE)


class RecordError(NamedTuple):
    """One error of one record, as Salesforce reports it."""

    status_code: str
    message: str
    fields: list[str]


@dataclass(frozen=True)
class SaveResult:
    """The outcome of one record of a collections write, in input order.

    Attributes:
        id: the record's Id (``None`` for a failed create).
        success: whether Salesforce wrote it.
        errors: ``(status_code, message, fields)`` entries when it did not.
    """

    id: str | None
    success: bool
    errors: list[RecordError] = field(default_factory=list)

    @classmethod
    def from_json(cls, item: Any, fallback_id: str | None = None) -> SaveResult:
        """Build from Salesforce's ``{"id", "success", "errors": [...]}``, whatever shape it came in.

        Salesforce documents each error as ``{"statusCode", "message", "fields"}`` (``errorCode``
        in some answers); an error given as plain text, a result that is not an object, or a
        failure without any error still becomes a failed result carrying the service's text,
        so that it is recorded as a rejection of that record, never a crash.
        """
        if not isinstance(item, dict):
            return cls(id=fallback_id, success=False, errors=[_record_error(item)])
        raw_errors = item.get("errors")
        entries = raw_errors if isinstance(raw_errors, list) else ([raw_errors] if raw_errors else [])
        errors = [_record_error(e) for e in entries]
        success = item.get("success") is True
        if not success and not errors:
            errors = [RecordError("UNKNOWN_ERROR", "Salesforce reported a failure without a reason", [])]
        rid = item.get("id")
        return cls(
            id=str(rid) if isinstance(rid, str) and rid else fallback_id, success=success, errors=errors
        )


def _record_error(entry: Any) -> RecordError:
    """One error entry of a collections result: an object as documented, or any other shape as text."""
    if isinstance(entry, dict):
        fields = entry.get("fields")
        return RecordError(
            str(entry.get("statusCode") or entry.get("errorCode") or "UNKNOWN_ERROR"),
            str(entry.get("message") or ""),
            [str(f) for f in fields] if isinstance(fields, list) else ([str(fields)] if fields else []),
        )
    return RecordError("UNKNOWN_ERROR", str(entry)[:400], [])


def _query_page(answer: Any) -> dict[str, Any]:
    """A query answer checked for the shape the REST API documents (a ``TypeError`` if not).

    Raised inside the funnel, it becomes a :class:`~toolkit.exceptions.ProtocolError` naming the call.
    """
    if (
        not isinstance(answer, dict)
        or not isinstance(answer.get("records", []), list)
        or not all(isinstance(r, dict) for r in answer.get("records", []))
    ):
        raise TypeError("a query page is an object whose records are objects")
    return answer


def _describe(answer: Any) -> dict[str, Any]:
    """A describe answer checked for its ``fields`` list of named objects (a ``TypeError`` if not)."""
    fields = answer.get("fields") if isinstance(answer, dict) else None
    if not isinstance(fields, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields
    ):
        raise TypeError("a describe answer has a list of named fields")
    described: dict[str, Any] = answer
    return described


def _next_page(sf: Salesforce, *, url: str) -> dict[str, Any]:
    """The query page at ``nextRecordsUrl``."""
    return _query_page(sf.query_more(url, identifier_is_url=True))


def _restful(sf: Salesforce, *, path: str, **kwargs: Any) -> Any:
    """``sf.restful(path, ...)``: a call of the REST API that simple-salesforce does not wrap."""
    return sf.restful(path, **kwargs)


def _strip_attributes(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        out[key] = _strip_attributes(value) if isinstance(value, dict) else value
    return out


class SalesforceClient:
    """One connection to one org.

    Args:
        tokens: tokens from one of the flows in :mod:`toolkit.salesforce.auth`.
        reauthenticate: signs in again and returns fresh tokens; called on an expired session.
        session: the HTTP session (from :func:`~toolkit.salesforce.retry.make_session`): its
            retry policy applies unless ``retry`` or ``sleep`` replace it.
        version: the REST API version.
        retry: replaces the session's retry policy (tries and waits) when given.
        sleep: how to wait, between tries and between Bulk polls (tests watch or skip the waits).
    """

    def __init__(
        self,
        tokens: TokenSet,
        reauthenticate: Callable[[], TokenSet],
        *,
        session: requests.Session,
        version: str = DEFAULT_API_VERSION,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._funnel = Funnel(
            tokens, reauthenticate, session=session, version=version, retry=retry, sleep=sleep
        )
        self._sleep = sleep or time.sleep
        self._describes: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        tokens = self._funnel.tokens
        return (
            f"SalesforceClient(instance_url={tokens.instance_url!r}, org_id={tokens.org_id!r}, "
            f"version={self._funnel.version!r})"
        )

    @property
    def tokens(self) -> TokenSet:
        """The tokens in use (new ones after a re-authentication)."""
        return self._funnel.tokens

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """``(used, limit)`` of the org's daily API requests, from the last answer's ``Sforce-Limit-Info``."""
        return self._funnel.api_usage

    @property
    def funnel(self) -> Funnel:
        """The call funnel (retries and re-authentications counted, the simple-salesforce object)."""
        return self._funnel

    def close(self) -> None:
        """Detach from the session (the session itself stays open: it is the caller's)."""
        self._funnel.close()

    def __enter__(self) -> SalesforceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ------------------------------------------------------------------------------------

    def describe(self, sobject: str) -> dict[str, Any]:
        """Return ``sobjects/<sobject>/describe`` (fetched once per client)."""
        name = soql_name(sobject)
        if name not in self._describes:
            self._describes[name] = self._funnel.call(
                lambda sf: _describe(getattr(sf, name).describe()),
                method="GET",
                path=f"sobjects/{name}/describe",
            )
        return self._describes[name]

    def field_types(self, sobject: str) -> dict[str, str]:
        """Lower-cased field name -> describe ``type`` of an object's fields."""
        return {f["name"].lower(): f["type"] for f in self.describe(sobject)["fields"]}

    def query_pages(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        on_total: Callable[[int], None] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield a query's records one page (at most 2,000) per API call, ``attributes`` removed.

        Args:
            soql: the query; build literals with :func:`~toolkit.salesforce.soql.soql_quote` and
                friends.
            include_deleted: use ``queryAll`` (records in the Recycle Bin, ``IsDeleted = true``).
            on_total: told the query's ``totalSize`` (all its records, over every page) once
                the first page came.
        """
        endpoint = "queryAll" if include_deleted else "query"
        page = self._funnel.call(
            lambda sf: _query_page(sf.query(soql, include_deleted=include_deleted)),
            method="GET",
            path=endpoint,
        )
        if on_total is not None and isinstance(page.get("totalSize"), int):
            on_total(page["totalSize"])
        while True:
            yield [_strip_attributes(r) for r in page.get("records", [])]
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._funnel.call(
                partial(_next_page, url=next_url),
                method="GET",
                path=endpoint,
            )

    def bulk_query_pages(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        max_records: int = 50_000,
        poll_seconds: float = 0.5,
        field_types: dict[str, str] | None = None,
        on_complete: Callable[[dict[str, Any]], None] | None = None,
        chunk_records: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield a Bulk API 2.0 query's results page by page, typed like the REST API's records.

        Args:
            field_types: lower-cased field name -> describe type of the queried fields, when the
                caller knows them (a stored mapping does): saves the describe call.
            on_complete: called with the completed job's info (its ``numberRecordsProcessed``)
                before the first page is read.
            chunk_records: yield each page in lists of at most this many records, turned into
                records only as they are yielded (a page of 50,000 is never held as records).

        Raises:
            FatalApiError: the job failed or was aborted.
        """
        match = _FROM_RE.search(soql)
        if match is None:
            raise ValueError("the query has no FROM <object>")
        sobject = match.group(1)
        types = self.field_types(sobject) if field_types is None else field_types
        return bulk_query_pages(
            self._funnel,
            sobject,
            soql,
            types,
            include_deleted=include_deleted,
            max_records=max_records,
            poll_seconds=poll_seconds,
            sleep=self._sleep,
            on_complete=on_complete,
            chunk_records=chunk_records,
        )

    def count(self, sobject: str, where: str | None = None, *, include_deleted: bool = False) -> int:
        """Return ``SELECT COUNT() FROM <sobject> [WHERE <where>]``.

        Args:
            where: the condition, built with the :mod:`~toolkit.salesforce.soql` helpers.
        """
        soql = f"SELECT COUNT() FROM {soql_name(sobject)}" + (f" WHERE {where}" if where else "")
        return self._funnel.call(
            lambda sf: int(sf.query(soql, include_deleted=include_deleted)["totalSize"]),
            method="GET",
            path="queryAll" if include_deleted else "query",
        )

    def limits(self) -> dict[str, Any]:
        """Return the org's limits (``DailyApiRequests``, ``DailyBulkV2QueryJobs``...)."""
        result: dict[str, Any] = self._funnel.call(lambda sf: sf.limits(), method="GET", path="limits")
        return result

    # -- writes (sObject Collections, allOrNone false) ------------------------------------------

    def update_records(self, sobject: str, records: Sequence[dict[str, Any]]) -> list[SaveResult]:
        """Update records (each with its ``Id``) 200 per call; one result per record, in order."""
        bodies, ids = [], []
        for record in records:
            rid = record.get("Id") or record.get("id")
            if not rid:
                raise ValueError("every record to update needs its Id")
            bodies.append({k: v for k, v in record.items() if k not in ("Id", "id", "attributes")})
            ids.append(str(rid))
        return self._collections(sobject, "PATCH", bodies, ids)

    def create_records(self, sobject: str, records: Sequence[dict[str, Any]]) -> list[SaveResult]:
        """Create records 200 per call (tests and demos; the engine never creates in Salesforce).

        A create is only replayed when Salesforce answered that it did not process it.
        """
        bodies = [{k: v for k, v in r.items() if k != "attributes"} for r in records]
        return self._collections(sobject, "POST", bodies, [None] * len(bodies))

    def delete_records(self, ids: Sequence[str]) -> list[SaveResult]:
        """Delete records (to the Recycle Bin) 200 per call; one result per Id, in order."""
        results: list[SaveResult] = []
        for start in range(0, len(ids), BATCH_SIZE):
            batch = [str(i) for i in ids[start : start + BATCH_SIZE]]
            params = {"ids": ",".join(batch), "allOrNone": "false"}
            answer = self._funnel.call(
                partial(_restful, path="composite/sobjects", method="DELETE", params=params),
                method="DELETE",
                path="composite/sobjects",
            )
            results += self._results(answer, batch)
        return results

    def _collections(
        self, sobject: str, method: str, bodies: list[dict[str, Any]], ids: Sequence[str | None]
    ) -> list[SaveResult]:
        name = soql_name(sobject)
        results: list[SaveResult] = []
        for start in range(0, len(bodies), BATCH_SIZE):
            batch_ids = ids[start : start + BATCH_SIZE]
            records = [
                {"attributes": {"type": name}, **({"id": rid} if rid else {}), **body}
                for rid, body in zip(batch_ids, bodies[start : start + BATCH_SIZE])
            ]
            payload = {"allOrNone": False, "records": records}
            answer = self._funnel.call(
                partial(_restful, path="composite/sobjects", method=method, json=payload),
                method=method,
                path="composite/sobjects",
                idempotent=method != "POST",  # a create sent twice creates twice
            )
            results += self._results(answer, batch_ids)
        failed = sum(1 for r in results if not r.success)
        log.info("Salesforce %s of %d %s records: %d failed", method, len(results), name, failed)
        return results

    @staticmethod
    def _results(answer: Any, ids: Sequence[str | None]) -> list[SaveResult]:
        if not isinstance(answer, list) or len(answer) != len(ids):
            raise ProtocolError(
                f"expected {len(ids)} results from composite/sobjects, got "
                f"{len(answer) if isinstance(answer, list) else type(answer).__name__}",
                service="salesforce",
                code="INVALID_RESPONSE",
                path="composite/sobjects",
            )
        return [SaveResult.from_json(item, rid) for item, rid in zip(answer, ids)]
