"""Salesforce records prepared for Brevo's import, big pages shared with worker processes.

:func:`prepare` runs the rules (:func:`toolkit.rules.to_brevo`) and works out, for each row
that passed, what the engine needs of it besides: its canonical values, the row encoded as an
import body holds it, and the link a new contact gets. An initial load reads Bulk API pages of
up to 50,000 records and this is the sync's largest CPU cost (phone numbers above all: every
one is parsed and validated). Python runs it on one core; :class:`RulesPool` cuts a big page
in pieces, gives all but the first to worker processes and works on the first itself, then
puts the results back in page order: the outcome is exactly that of :func:`prepare`.

Workers come from a fork server started once per process (its preloaded modules make each
worker start quickly); they get only records and the mapping, never a connection or secret.
If a worker dies, its piece is done here instead, and the pool is not used again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from .. import rules
from ..brevo.imports import encode_row
from ..mapping_types import Mapping
from ..rules_base import BrevoRow, Rejection
from ..rules_hash import brevo_values, canonical_hash, canonical_values
from .diff import merged

__all__ = ["MIN_PARALLEL_RECORDS", "Prepared", "RulesPool", "default_workers", "link_values", "prepare"]

log = logging.getLogger(__name__)

MIN_PARALLEL_RECORDS = 5_000
"""Pages smaller than this are not worth the hand-over (REST pages hold at most 2,000)."""



@dataclass(frozen=True)
class Prepared:
    """What the engine needs of one row besides the row itself.

    Attributes:
        values: the row's canonical values (:func:`~toolkit.rules_hash.canonical_values`).
        encoded: the row as an import body holds it (:func:`~toolkit.brevo.imports.encode_row`).
        new_link: synced values and their hash for a link made by writing the row as it is.
    """

    values: dict[str, Any]
    encoded: bytes
    new_link: tuple[dict[str, Any], str]


Result = tuple[list[BrevoRow], list[Rejection], list[Prepared]]


def link_values(row: BrevoRow, values: dict[str, Any], synced: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    """A link's synced values and hash once ``row`` (canonical ``values``) is written over ``synced``.

    Only the fields still in the row are taken from ``values``; the others keep their synced value.
    """
    merged_values = merged(synced, values, [*row["attributes"], *(["EMAIL"] if "email" in row else [])])
    if merged_values == values:
        merged_values = values  # one object: pickled once on its way back from a worker
    return merged_values, canonical_hash(merged_values)


def prepare(records: list[dict[str, Any]], mapping: Mapping, *, object: str | None = None) -> Result:
    """:func:`toolkit.rules.to_brevo`, plus one :class:`Prepared` per row (same order)."""
    rows, rejected = rules.to_brevo(records, mapping, object=object)
    prepared = []
    for row in rows:
        values = canonical_values(brevo_values(row, mapping), mapping)
        prepared.append(Prepared(values, encode_row(row), link_values(row, values, None)))
    return rows, rejected, prepared


def default_workers() -> int:
    """One worker fewer than the cores this process may use (this process takes a share too)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, cores - 1)


def _warm() -> None:
    """Build the country index in a new worker (as the first record would)."""
    from toolkit.rules_values import country_region

    country_region("DE")


def _piece(records: list[dict[str, Any]], mapping: Mapping | None, obj: str | None) -> Result:
    if mapping is None:  # a start-up call: the worker is ready
        return [], [], []
    return prepare(records, mapping, object=obj)


class RulesPool:
    """:func:`prepare` for big pages, with ``workers`` extra processes.

    Args:
        workers: worker processes (0: everything in this process).
        min_records: pages with fewer records are done here alone.

    Use it as a context manager (or call :meth:`close`); workers start on the first big page,
    or earlier with :meth:`start`.
    """

    def __init__(self, workers: int, *, min_records: int = MIN_PARALLEL_RECORDS) -> None:
        self.workers = max(0, workers)
        self.min_records = min_records
        self._executor: ProcessPoolExecutor | None = None

    def prepare(self, records: list[dict[str, Any]], mapping: Mapping, *, object: str | None = None) -> Result:
        """Same arguments and result as :func:`prepare` (everything in page order)."""
        if self.workers == 0 or len(records) < self.min_records:
            return prepare(records, mapping, object=object)
        size = -(-len(records) // (self.workers + 1))
        pieces = [records[i:i + size] for i in range(0, len(records), size)]
        futures = self._submit(pieces[1:], mapping, object)
        results = [prepare(pieces[0], mapping, object=object)]
        for piece, future in zip(pieces[1:], futures):
            results.append(self._result(future, piece, mapping, object))
        return ([row for rows, _, _ in results for row in rows], [r for _, found, _ in results for r in found],
                [p for _, _, done in results for p in done])

    def start(self) -> None:
        """Start the workers now: they take about a second, which a Bulk API job's wait can hide."""
        if self.workers and self._executor is None:
            self._submit([[]] * self.workers, None, None)

    def _submit(self, pieces: list[list[dict[str, Any]]], mapping: Mapping | None,
                obj: str | None) -> list[Future | None]:
        try:
            if self._executor is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
                self._executor = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_warm)
            return [self._executor.submit(_piece, piece, mapping, obj) for piece in pieces]
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            self._give_up(exc)
            return [None] * len(pieces)

    def _result(self, future: Future | None, piece: list[dict[str, Any]], mapping: Mapping,
                obj: str | None) -> Result:
        if future is not None:
            try:
                return future.result()
            except (BrokenProcessPool, OSError) as exc:
                self._give_up(exc)
        return prepare(piece, mapping, object=obj)

    def _give_up(self, exc: BaseException) -> None:
        log.warning("rule workers unavailable (%s); the rules run in this process", type(exc).__name__)
        self.close()
        self.workers = 0

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> RulesPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
