"""Bulk writes: ``POST /contacts/import`` in size-bounded requests, process polling, row reports.

Brevo takes at most 10 MB of ``jsonBody`` per import and recommends staying near 8 MB; rows
are streamed into as few requests as fit under ``max_bytes``. Each import runs as a background
process (``GET /processes/{id}``). A completed import lists, under ``info.import``, one URL per
kind of problem (``invalid_emails``, ``duplicate_ext_id``, ...) to a CSV of the skipped rows;
:meth:`ImportsMixin.import_problems` reads them into :class:`ImportProblem` records.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, NamedTuple, TypeAlias

from toolkit.exceptions import FatalApiError, RetriableApiError

from .base import BrevoApi

__all__ = [
    "BREVO_MAX_IMPORT_BYTES",
    "ImportProblem",
    "ImportRow",
    "ImportsMixin",
    "as_encoded",
    "body_row_counts",
    "encode_row",
    "import_bodies",
    "parse_import_report",
]

log = logging.getLogger(__name__)
BREVO_MAX_IMPORT_BYTES = 10 * 1024 * 1024
IMPORT_BLACKLISTS = {"emailBlacklisted": "emailBlacklist", "smsBlacklisted": "smsBlacklist"}
"""A contact's blacklist flag -> the import's option that sets it on every row (definition
``requestContactImport``: ``emailBlacklist`` "To blacklist all the contacts for email",
``smsBlacklist`` likewise; both default false). An import item itself has no flags."""
DEFAULT_IMPORT_BYTES = 8_000_000
_REASONS = {
    "invalid_emails": "invalid e-mail address",
    "duplicate_contact_id": "the row matches several contacts",
    "duplicate_ext_id": "the ext_id belongs to another contact",
    "duplicate_email_id": "the e-mail address belongs to another contact",
    "duplicate_phone_id": "the SMS number belongs to another contact",
    "duplicate_whatsapp_id": "the WhatsApp number belongs to another contact",
    "duplicate_landline_number_id": "the landline number belongs to another contact",
}
_ROW_KEYS = frozenset({"email", "attributes"})
_ID_COLUMNS = (("ext_id", "ext_id"), ("email", "email_id"), ("sms", "phone_id"))

ImportRow: TypeAlias = Mapping[str, object]
"""One contact of an import (``{"email": ..., "attributes": {"EXT_ID": ..., ...}}``): a dict, or
a TypedDict such as :class:`toolkit.rules.BrevoRow`, of JSON values."""


class ImportProblem(NamedTuple):
    """One row an import skipped.

    Attributes:
        identifier: the row's ext_id, else its e-mail, else its SMS number ("" when it had none).
        reason: why Brevo skipped it, in plain words.
        kind: the report it came from (``invalid_emails``, ``duplicate_ext_id``...).
        identifier_type: ``ext_id``, ``email_id``, ``phone_id`` or ``""``.
        line: the row's position in its import (1-based), when the report gives it.
    """

    identifier: str
    reason: str
    kind: str
    identifier_type: str = ""
    line: int | None = None


def import_bodies(
    rows: Iterable[ImportRow | bytes],
    *,
    list_ids: list[int],
    update_existing: bool = True,
    empty_attributes: bool = False,
    max_bytes: int = DEFAULT_IMPORT_BYTES,
    blacklist: Collection[str] = (),
) -> Iterator[bytes]:
    """Encode rows into ``POST /contacts/import`` JSON bodies of at most ``max_bytes`` each.

    ``blacklist`` names flags (``emailBlacklisted``, ``smsBlacklisted``) the import sets on every
    row (:data:`IMPORT_BLACKLISTS`).

    Raises:
        ValueError: ``max_bytes`` above Brevo's 10 MB, no list, or one row bigger than a request.
    """
    head, tail = _envelope(list_ids, update_existing, empty_attributes, max_bytes, blacklist)
    for chunk in _chunks(rows, max_bytes - len(head) - len(tail)):
        yield head + b",".join(chunk) + tail


def body_row_counts(
    rows: Iterable[ImportRow | bytes],
    *,
    list_ids: list[int],
    update_existing: bool = True,
    empty_attributes: bool = False,
    max_bytes: int = DEFAULT_IMPORT_BYTES,
    blacklist: Collection[str] = (),
) -> list[int]:
    """How many rows each body of :func:`import_bodies` would hold, without building the bodies.

    Lets a caller fill imports across several pages of records: send the rows of the full
    bodies, keep the last body's rows for the next page.
    """
    head, tail = _envelope(list_ids, update_existing, empty_attributes, max_bytes, blacklist)
    return [len(chunk) for chunk in _chunks(rows, max_bytes - len(head) - len(tail))]


def _envelope(
    list_ids: list[int],
    update_existing: bool,
    empty_attributes: bool,
    max_bytes: int,
    blacklist: Collection[str] = (),
) -> tuple[bytes, bytes]:
    if max_bytes > BREVO_MAX_IMPORT_BYTES:
        raise ValueError(f"max_bytes must not exceed Brevo's limit of {BREVO_MAX_IMPORT_BYTES} bytes")
    if not list_ids:
        raise ValueError("list_ids must name at least one list")
    unknown = set(blacklist) - IMPORT_BLACKLISTS.keys()
    if unknown:
        raise ValueError(f"an import sets no flag {sorted(unknown)}")
    options = "".join(f',"{IMPORT_BLACKLISTS[flag]}":true' for flag in sorted(blacklist))
    tail = (
        f'],"listIds":{json.dumps([int(i) for i in list_ids])},'
        f'"updateExistingContacts":{json.dumps(update_existing)},'
        f'"emptyContactsAttributes":{json.dumps(empty_attributes)}{options}}}'
    ).encode()
    return b'{"jsonBody":[', tail


_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""One encoder for every row: ``json.dumps`` with options builds a new one per call."""


def encode_row(row: ImportRow) -> bytes:
    """One import row as it goes into a body: compact UTF-8 JSON.

    Every function here also takes rows encoded this way, so that a caller who needs the sizes
    of its rows (to pack imports) encodes each row once.
    """
    plain = row if isinstance(row, dict) else dict(row)  # json encodes dicts, not other mappings
    if len(plain) > 2 or not plain.keys() <= _ROW_KEYS:
        # An import item has only email and attributes (brevo-python 5.1.0
        # ImportContactsRequestJsonBodyItem; the definition's requestContactImport jsonBody): other
        # keys a row carries (B8's blacklist flags, set by a batch update) stay out of the import.
        plain = {k: v for k, v in plain.items() if k in _ROW_KEYS}
    return _ROW_ENCODER.encode(plain).encode("utf-8")


def as_encoded(row: ImportRow | bytes) -> bytes:
    """``row`` as :func:`encode_row` encodes it (a row already encoded is returned as it is)."""
    return row if isinstance(row, bytes) else encode_row(row)


def _chunks(rows: Iterable[ImportRow | bytes], budget: int) -> Iterator[list[bytes]]:
    """The encoded rows, grouped so that each group joined by commas fits in ``budget`` bytes."""
    chunk: list[bytes] = []
    size = 0
    for position, row in enumerate(rows, start=1):
        encoded = as_encoded(row)
        if len(encoded) > budget:
            raise ValueError(f"row {position} alone takes {len(encoded)} bytes, more than max_bytes allows")
        if chunk and size + 1 + len(encoded) > budget:
            yield chunk
            chunk, size = [], 0
        size += len(encoded) + (1 if chunk else 0)
        chunk.append(encoded)
    if chunk:
        yield chunk


def parse_import_report(kind: str, text: str) -> list[ImportProblem]:
    """Read one ``info.import`` CSV report (``;`` or ``,`` separated, any column case)."""
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    return [_problem_of(kind, raw) for raw in csv.DictReader(io.StringIO(text), delimiter=delimiter)]


class ImportsMixin(BrevoApi):
    """``/contacts/import`` and ``/processes``."""

    def import_contacts(
        self,
        rows: Iterable[ImportRow | bytes],
        *,
        list_ids: list[int],
        update_existing: bool = True,
        empty_attributes: bool = False,
        max_bytes: int = DEFAULT_IMPORT_BYTES,
        blacklist: Collection[str] = (),
    ) -> list[int]:
        """Upsert contacts into lists with as few imports as fit under ``max_bytes`` each.

        Rows are Brevo import rows, e.g. ``{"email": ..., "attributes": {"EXT_ID": ..., ...}}``;
        they are streamed, so memory holds one request at a time. Imports are upserts (matched
        by ext_id, then e-mail, then SMS), so repeating one after a failure changes nothing twice.

        Args:
            rows: the contacts to write (dicts, or already encoded by :func:`encode_row`).
            list_ids: lists the contacts join.
            update_existing: update contacts that exist (Brevo's ``updateExistingContacts``).
            empty_attributes: let empty values erase stored ones (``emptyContactsAttributes``).
            max_bytes: largest JSON body per request (Brevo refuses more than 10 MB).
            blacklist: blacklist flags set on every row (``emailBlacklisted``, ``smsBlacklisted``:
                the import's ``emailBlacklist``/``smsBlacklist``); none by default.

        Returns:
            The process ids, in the order the requests were sent; see :meth:`wait_process`.
        """
        process_ids: list[int] = []
        for body in import_bodies(
            rows,
            list_ids=list_ids,
            update_existing=update_existing,
            empty_attributes=empty_attributes,
            max_bytes=max_bytes,
            blacklist=blacklist,
        ):
            answer = self._json("POST", "/contacts/import", data=body, idempotent=True)
            process_ids.append(self._field(answer, "processId", int, method="POST", path="/contacts/import"))
            log.debug("brevo import of %d bytes -> process %s", len(body), process_ids[-1])
        return process_ids

    def wait_process(
        self,
        process_id: int,
        *,
        poll_seconds: float = 0.2,
        timeout: float = 600,
        max_poll_seconds: float = 5.0,
        first_wait: float = 0.0,
    ) -> dict[str, Any]:
        """Poll ``GET /processes/{id}`` until the process completed, and return it.

        The interval grows from ``poll_seconds`` by half each poll up to ``max_poll_seconds``:
        Brevo allows the processes endpoint far fewer calls per hour than the contacts ones
        (about 100), so a caller that can estimate the processing time passes ``first_wait``
        to sleep before the first poll instead of polling early for nothing.

        Raises:
            FatalApiError: the process failed or was cancelled (code ``process_failed``...).
            RetriableApiError: it did not complete within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        delay = poll_seconds
        if first_wait > 0:
            time.sleep(min(first_wait, timeout))
        while True:
            process: dict[str, Any] = (
                self._json("GET", "/processes/{process_id}", path_params={"process_id": int(process_id)})
                or {}
            )
            status = process.get("status")
            if status == "completed":
                return process
            if status in ("failed", "cancelled"):
                raise FatalApiError(
                    f"process {process_id} {status}: {process.get('error') or 'no detail given'}",
                    service="brevo",
                    code=f"process_{status}",
                    method="GET",
                    path="/processes/{process_id}",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RetriableApiError(
                    f"process {process_id} still {status} after {timeout:g} s",
                    retry_after=delay,
                    service="brevo",
                    method="GET",
                    path="/processes/{process_id}",
                )
            time.sleep(min(delay, remaining))
            delay = min(max_poll_seconds, delay * 1.5)

    def import_problems(self, process: dict[str, Any]) -> list[ImportProblem]:
        """The rows a completed import skipped, read from the reports its ``info.import`` lists.

        Args:
            process: a completed process, as :meth:`wait_process` returns it.
        """
        info = process.get("info")
        reports = info.get("import") if isinstance(info, dict) else None
        if not isinstance(reports, dict):
            return []
        problems: list[ImportProblem] = []
        for kind, value in reports.items():
            if not value:
                continue
            if isinstance(value, str) and value.startswith(("https://", "http://")):
                text = self._call("GET", value, idempotent=True).text
                problems += parse_import_report(kind, text)
            elif isinstance(value, list):
                problems += [_problem_of(kind, item) for item in value]
            else:
                log.warning("brevo process %s reports %s=%r without rows", process.get("id"), kind, value)
        return problems


def _problem_of(kind: str, item: object) -> ImportProblem:
    """One report entry (a CSV row or JSON object, or a bare identifier) as an ImportProblem."""
    if not isinstance(item, dict):
        text = str(item)
        return ImportProblem(text, _REASONS.get(kind, kind), kind, "email_id" if "@" in text else "")
    row = {str(k).strip().lower(): str(v).strip() for k, v in item.items() if k is not None and v is not None}
    identifier, identifier_type = next(((row[c], t) for c, t in _ID_COLUMNS if row.get(c)), ("", ""))
    line = row.get("line", "")
    return ImportProblem(
        identifier,
        row.get("reason") or row.get("error") or _REASONS.get(kind, kind),
        kind,
        identifier_type,
        int(line) if line.isdigit() else None,
    )
