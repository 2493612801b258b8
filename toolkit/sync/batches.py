"""Salesforce -> Brevo writes as a pipeline: the next page is planned while Brevo imports the last.

The outbound phase plans a page (rules, diff against the links: CPU work), sends its writes
(``POST /contacts/import``), then must wait for Brevo to process the import before it commits
the batch. :class:`Pipeline` overlaps the two: a batch's import is sent, the next page is read
and planned while Brevo processes it, and only then is the batch awaited and committed. At most
one batch is ever in flight (sent, not committed), so a crash still replays at most one batch.

With ``pack`` (the initial load through Bulk API 2.0, whose cursor is committed only at the
end), planned pages are packed into imports of up to ``max_bytes`` across page boundaries: the
rows of the full import bodies are sent, the last, partly filled body's rows wait for the next
page. An initial load then takes ``ceil(bytes / max_bytes)`` imports, the fewest possible,
instead of rounding up page by page; knowing how many records the load holds (``expect``), it
cuts them evenly (three imports of 5.4 MB rather than 8, 8 and 0.3), so that Brevo starts on
the first sooner and the last takes less long. Without it (REST pages, each with the cursor that follows
it), whole pages gather into a batch as long as their rows fit in one import: a batch is never
cut inside a page, so the cursor committed with it is exact, and an incremental run with a few
thousand changes makes one import instead of one per page.

Each import's process is polled once it should be done (:class:`ImportPace`): the wait comes
from an estimate of Brevo's speed, lowered during the run whenever a poll came too early, and
set from Brevo's own times of the imports where its processes give them.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from toolkit.rules.base import BrevoRow, row_id

from ..brevo.imports import ImportRow, as_encoded, body_row_counts
from ..store import Conflict, Link, LinkState, Rejection
from ..timestamps import TimestampError, parse_brevo_datetime
from .plan import Write, WriteKind
from .prepare import SyncedLink

if TYPE_CHECKING:
    from ..brevo import BrevoClient

__all__ = [
    "ImportPace",
    "Pipeline",
    "Planned",
    "Sent",
    "await_imports",
    "by_blacklist",
    "import_blacklist",
    "process_seconds",
]

log = logging.getLogger(__name__)

PACE_LATENCY = 0.2
"""Seconds an import takes besides its rows (the wait is this plus the rows at the estimated speed)."""
PACE_MARGIN = 1.15
"""The wait, as a multiple of what Brevo's times showed: its speed varies from one import to the
next (on the sandbox with the load of the machine), and a poll that comes too soon is a call."""
PACE_MEMORY = 3
"""Timed imports the estimate remembers: it follows the slowest of them."""
PACE_MIN_SECONDS = 1.0
"""Brevo's times of a shorter import are not learnt from: its latency, not its rows, took the time."""
_FRACTION = re.compile(r"\d:\d{2}[.,]\d")

H = TypeVar("H")
"""What sending a batch returns and committing it takes (:class:`Sent` in the engine)."""


@dataclass(slots=True)
class Planned:
    """A batch's planned writes and what its commit records besides them.

    Attributes:
        work: the writes, in page order.
        conflicts, rejected, suspend, states: recorded in the batch's commit (states: link state ->
            {Salesforce Id: detail}); records: links of records never written (a superseded Lead).
        cursor: the Salesforce cursor to commit with the batch (REST pages), if any.
        encoded: import rows already encoded (:func:`~toolkit.brevo.imports.encode_row`), by
            Salesforce Id; worked out while planning, so that packing and sending reuse them,
            and dropped once the batch is sent.
        links: what each written row's link will hold (synced values, hash), by Salesforce Id;
            worked out once the batch is sent, while Brevo imports it, so that the commit after
            Brevo's confirmation is quick (and a batch still filling does not hold them).
    """

    work: list[Write] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    suspend: list[str] = field(default_factory=list)
    states: dict[LinkState, dict[str, str | None]] = field(default_factory=dict)
    records: list[Link] = field(default_factory=list)
    cursor: str | None = None
    encoded: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, SyncedLink] = field(default_factory=dict)

    def extend(self, other: Planned) -> None:
        self.work += other.work
        self.conflicts += other.conflicts
        self.rejected += other.rejected
        self.suspend += other.suspend
        for state, ids in other.states.items():
            self.states.setdefault(state, {}).update(ids)
        self.records += other.records
        self.cursor = other.cursor or self.cursor
        self.encoded.update(other.encoded)
        self.links.update(other.links)

    def import_writes(self) -> list[Write]:
        """The writes whose row is imported, in order (see :meth:`import_rows`)."""
        return [w for w in self.work if w.row is not None and w.imported]

    def row_of(self, write: Write) -> ImportRow | bytes:
        """A write's import row, encoded where planning encoded it."""
        assert write.row is not None
        return self.encoded.get(write.sf_id) or write.row

    def split_off(self, later: set[str]) -> Planned:
        """Move the imported writes of ``later`` (Salesforce Ids) to a new batch, returned; the
        rest (and everything else the commit records) stays."""
        rest = Planned([w for w in self.work if w.sf_id in later and w.row is not None and w.imported])
        moved = {w.sf_id for w in rest.work}
        self.work = [w for w in self.work if w.sf_id not in moved]
        for sf_id in moved:  # each half keeps only its own rows' data
            if sf_id in self.encoded:
                rest.encoded[sf_id] = self.encoded.pop(sf_id)
            if sf_id in self.links:
                rest.links[sf_id] = self.links.pop(sf_id)
        return rest

    def import_rows(self) -> list[ImportRow | bytes]:
        """The rows to import, in order, encoded where planning encoded them (a write that only
        changes B8's blacklist flags imports nothing: see :attr:`~toolkit.sync.plan.Write.imported`)."""
        return [self.encoded.get(w.sf_id) or w.row for w in self.work if w.row is not None and w.imported]


@dataclass(slots=True)
class Sent:
    """A batch whose writes were sent: its imports' processes await confirmation.

    Attributes:
        planned: the batch. rows: the rows imported. process_ids: Brevo's import processes.
        sent_at: ``time.monotonic()`` when the imports were sent.
        problems: refusals known already (direct updates), by Salesforce Id: ``(code, reason)``.
        flagged: writes whose B8 blacklist flags their import set (no batch update after it).
    """

    planned: Planned
    rows: list[BrevoRow]
    process_ids: list[int]
    sent_at: float
    problems: dict[str, tuple[str, str]] = field(default_factory=dict)
    flagged: frozenset[str] = frozenset()


def import_blacklist(write: Write) -> frozenset[str]:
    """The B8 blacklist flags an import of the write's row can set itself (none: a plain import).

    An import sets a flag on every row it holds (``emailBlacklist``/``smsBlacklist``,
    :data:`~toolkit.brevo.imports.IMPORT_BLACKLISTS`), and only to ``True``: so a new contact
    (no link yet) whose flags are all set goes into an import of its own, already unsubscribed
    when Brevo creates it, instead of a batch update of 100 contacts a call after the import.
    """
    if write.kind != WriteKind.CREATE or write.link is not None or not write.flags:
        return frozenset()
    return frozenset(write.flags) if all(write.flags.values()) else frozenset()


def by_blacklist(writes: list[Write]) -> dict[frozenset[str], list[Write]]:
    """``writes`` grouped by the flags their import sets (:func:`import_blacklist`), in order."""
    groups: dict[frozenset[str], list[Write]] = {}
    for write in writes:
        groups.setdefault(import_blacklist(write), []).append(write)
    return groups


def await_imports(brevo: BrevoClient, sent: Sent, pace: ImportPace) -> dict[str, tuple[str, str]]:
    """Wait for a sent batch's imports; returns the rows Brevo refused, by Salesforce Id.

    Brevo runs a batch's imports one after another: one wait for all its rows (less the time
    spent planning the next page meanwhile), then one poll each. The pace learns from the last.
    """
    emails: dict[str, str] | None = None  # e-mail -> Salesforce Id, made once a report names a row by e-mail
    problems: dict[str, tuple[str, str]] = {}
    for index, process_id in enumerate(sent.process_ids):
        elapsed = time.monotonic() - sent.sent_at
        first_wait = pace.wait(len(sent.rows), elapsed) if index == 0 else 0.0
        process = brevo.wait_process(process_id, first_wait=first_wait)
        if index == len(sent.process_ids) - 1:
            took = process_seconds(process)
            pace.learn(len(sent.rows), time.monotonic() - sent.sent_at, elapsed + first_wait, took)
        for problem in brevo.import_problems(process):
            if problem.identifier_type == "ext_id":
                sf_id: str | None = problem.identifier
            else:
                if emails is None:
                    emails = {str(r.get("email", "")).lower(): row_id(r) for r in sent.rows if r.get("email")}
                sf_id = emails.get(problem.identifier.lower())
            if sf_id:
                problems[sf_id] = (problem.kind, problem.reason)
    return problems


def process_seconds(process: Mapping[str, object]) -> float | None:
    """How long a completed process took by Brevo's own clock, or ``None`` when it does not say.

    From its ``created_at`` and ``completed_at`` (brevo-python 4.0.10's ``GetProcessResponse``;
    the definition and brevo-python 5.1.0 have neither, so they may be absent). Timestamps
    without fractional seconds (``...03Z``, a form Brevo's take) may each have been cut by up to
    a second: the result is then the longest the process can have taken (the difference plus
    one second). Only an import of :data:`PACE_MIN_SECONDS` or more, timed to a tenth of its
    length or better, is returned: a shorter one, or a short one timed to the second, says
    little of Brevo's speed and much of its latency or of where the seconds fell.

    Example:
        >>> process_seconds({"created_at": "2026-12-06T10:00:00.250Z", "completed_at": "2026-12-06T10:00:03.500Z"})
        3.25
        >>> process_seconds({"created_at": "2026-12-06T10:00:00Z", "completed_at": "2026-12-06T10:00:03Z"}) is None
        True
    """
    created, completed = process.get("created_at"), process.get("completed_at")
    try:
        seconds = (parse_brevo_datetime(completed) - parse_brevo_datetime(created)).total_seconds()
    except TimestampError:  # absent, or not a timestamp
        return None
    timed_to = 0.001
    if not (isinstance(created, str) and isinstance(completed, str)) or not (
        _FRACTION.search(created) and _FRACTION.search(completed)
    ):
        seconds, timed_to = seconds + 1.0, 1.0
    if seconds < PACE_MIN_SECONDS or timed_to > seconds / 10:
        return None
    return seconds


class ImportPace:
    """How fast Brevo processes this run's imports, so that each is polled once when it is done.

    Every ``GET /processes/{id}`` is a call (Brevo allows that endpoint few per hour). The first
    wait comes from an estimate of the rows per second; when a poll finds an import unfinished,
    the estimate drops to what that import showed, so that later imports are not polled early.
    A completed process that carries Brevo's ``created_at`` and ``completed_at`` (brevo-python
    4.0.10 has them, 5.1.0 not: they come or not) says how long the import took: the estimate
    follows that, up or down (:meth:`learn`, :func:`process_seconds`).

    Args:
        rows_per_second: the starting estimate.
    """

    def __init__(self, rows_per_second: float) -> None:
        self.rows_per_second = rows_per_second
        self._timed: deque[float] = deque(maxlen=PACE_MEMORY)  # speeds Brevo's own times showed

    def wait(self, rows: int, elapsed: float) -> float:
        """Seconds to wait before the first poll of ``rows`` sent ``elapsed`` seconds ago."""
        return max(0.0, min(30.0, PACE_LATENCY + rows / self.rows_per_second) - elapsed)

    def learn(self, rows: int, done_after: float, polled_after: float, took: float | None = None) -> None:
        """An import of ``rows`` was seen done ``done_after`` s after it was sent, first polled at
        ``polled_after``; ``took``: how long it took by Brevo's own times, when the process gave them.

        Brevo's times tell the speed whichever way it went, so the estimate also rises with them:
        the wait becomes the slowest of the last :data:`PACE_MEMORY` timed imports, plus
        :data:`PACE_MARGIN`. Without them, only a poll that came too early tells anything (the
        import was slower than estimated: the estimate drops to it); a poll that finds an import
        done cannot tell how much sooner it was, and raising the estimate on a guess would cost
        the early polls it is meant to save.
        """
        if took is not None and rows > 0:
            self._timed.append(rows / max(0.1, took * PACE_MARGIN - PACE_LATENCY))
            self.rows_per_second = min(self._timed)
        elif done_after > polled_after + 0.1:  # the first poll was too early: more than one was needed
            self.rows_per_second = min(self.rows_per_second, rows / max(0.1, done_after - PACE_LATENCY))


class Pipeline(Generic[H]):
    """Send planned batches one at a time, committing each after the next page was planned.

    Args:
        send: posts a batch's writes and returns a handle for ``finish``.
        finish: waits for the writes of a handle to be confirmed and commits the batch.
        pack: pack rows into full imports across pages (see the module docstring).
        list_ids, max_bytes: the imports' lists and size limit (for packing).
    """

    def __init__(
        self,
        send: Callable[[Planned], H],
        finish: Callable[[H], None],
        *,
        pack: bool = False,
        list_ids: list[int] | None = None,
        max_bytes: int = 8_000_000,
    ) -> None:
        self._send = send
        self._finish = finish
        self._pack = pack
        self._list_ids = list_ids or [0]
        self._max_bytes = max_bytes
        self._buffer: Planned | None = None
        self._pending: H | None = None
        self._expected = 0  # records the pages hold in all, when known (expect)
        self._seen = 0  # records of the pages added so far
        self._seen_bytes = 0  # and the bytes of their import rows
        self._largest_row = 0

    def expect(self, records: int) -> None:
        """The pages will hold ``records`` in all (a Bulk API job's ``numberRecordsProcessed``).

        Packing then cuts imports of even size: the same number of imports, each sent sooner
        and processed sooner than full ones followed by a small last one.
        """
        self._expected = records

    def add(self, planned: Planned, records: int = 0) -> None:
        """Take one page's plan (of ``records`` records); sends what is ready (the previous batch
        is committed first)."""
        if not self._pack:
            self._add_page(planned)
            return
        sizes = [
            len(as_encoded(planned.row_of(w))) for w in planned.import_writes() if not import_blacklist(w)
        ]
        self._seen += records
        self._seen_bytes += sum(sizes) + len(sizes)
        self._largest_row = max([self._largest_row, *sizes])
        if self._buffer is None:
            self._buffer = planned
        else:
            self._buffer.extend(planned)
        groups = by_blacklist(self._buffer.import_writes())
        later: set[str] = set()  # rows of the bodies still being filled
        full = False
        for blacklist, writes in groups.items():
            rows = [self._buffer.row_of(w) for w in writes]
            limit = self._max_bytes if blacklist else self._body_bytes(rows)
            counts = body_row_counts(rows, list_ids=self._list_ids, max_bytes=limit, blacklist=blacklist)
            full = full or len(counts) > 1
            later.update(w.sf_id for w in writes[sum(counts[:-1]) :])
        if full:  # full bodies to send; the last one of each import waits to be filled by the next page
            rest = self._buffer.split_off(later)
            ready, self._buffer = self._buffer, rest
            self._dispatch(ready)

    def _body_bytes(self, buffered: list[ImportRow | bytes]) -> int:
        """How big the next import may be: ``max_bytes``, or less to cut what is left evenly."""
        if not self._expected or not self._seen:
            return self._max_bytes
        left = (
            sum(len(as_encoded(r)) + 1 for r in buffered)
            + max(0, self._expected - self._seen) * self._seen_bytes / self._seen
        )
        imports = max(1, math.ceil(left / (self._max_bytes - 1024)))
        return min(self._max_bytes, int(left / imports) + self._largest_row + 1024)

    def _add_page(self, planned: Planned) -> None:
        """Whole pages (each with its cursor) gather until the next would not fit in one import."""
        if self._buffer is not None:
            rows = self._buffer.import_rows() + planned.import_rows()
            counts = body_row_counts(rows, list_ids=self._list_ids, max_bytes=self._max_bytes) if rows else []
            if len(counts) <= 1:
                self._buffer.extend(planned)
                return
            ready, self._buffer = self._buffer, None
            self._dispatch(ready)
        self._buffer = planned

    def close(self, cursor: str | None = None) -> None:
        """Send what is left (with ``cursor`` to commit, if given) and commit the last batch."""
        last = self._buffer or Planned()
        self._buffer = None
        last.cursor = cursor or last.cursor
        if (
            last.work
            or last.conflicts
            or last.rejected
            or last.suspend
            or last.states
            or last.records
            or last.cursor
        ):
            self._dispatch(last)
        self.flush()

    def flush(self) -> None:
        """Commit the batch in flight, if any (nothing else is sent)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._finish(pending)

    def __enter__(self) -> Pipeline[H]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """On an error (not an interruption), still confirm and commit the batch in flight."""
        if kind is not None and issubclass(kind, Exception):
            try:
                self.flush()
            except Exception:  # the first error is the one to report
                log.warning(
                    "the batch in flight could not be committed; the next run replays it", exc_info=True
                )

    def _dispatch(self, planned: Planned) -> None:
        self.flush()  # one batch in flight at most: commit the previous before sending this one
        self._pending = self._send(planned)
