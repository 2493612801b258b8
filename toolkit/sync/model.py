"""What a run did or, in a dry run (B1), would do: counts, samples and rejections by rule."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from ..store import Direction, RunStatus
from .plan import WriteKind

__all__ = ["Outcome", "RunCounts", "RunResult", "SAMPLE_SIZE", "Sample", "WRITE_ACTIONS", "action"]

SAMPLE_SIZE = 5

Sample = dict[str, object]
"""A small example row of a dry-run plan (an Id, the mapped values, a rule and its reason)."""


def action(direction: Direction, kind: WriteKind) -> str:
    """The name a write is counted under: ``"to_brevo.create"``, ``"to_salesforce.delete"``..."""
    return f"{direction.value}.{kind.value}"


#: The actions that write a record (each one is a task, SPEC Q1).
WRITE_ACTIONS = (
    action(Direction.TO_BREVO, WriteKind.CREATE),
    action(Direction.TO_BREVO, WriteKind.UPDATE),
    action(Direction.TO_BREVO, WriteKind.DELETE),
    action(Direction.TO_BREVO, WriteKind.HANDOVER),
    action(Direction.TO_SALESFORCE, WriteKind.UPDATE),
    action(Direction.TO_SALESFORCE, WriteKind.DELETE),
)


class RunCounts(TypedDict):
    """What the store keeps of a run in ``runs.counts`` (:meth:`Outcome.as_json`)."""

    counts: dict[str, int]
    rejected: dict[str, int]
    tasks: int


@dataclass
class Outcome:
    """Tallies of one run, filled phase by phase.

    Attributes:
        counts: action -> records, e.g. ``"to_brevo.create"``, ``"to_salesforce.update"``
            (see :func:`action`), ``"unchanged"``, ``"brevo_only"`` (Y1: never created in
            Salesforce), ``"conflicts"``.
        rejected: rule id -> records rejected in this run.
        samples: action or ``"rule:<id>"`` -> up to :data:`SAMPLE_SIZE` example rows.
    """

    counts: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def add(self, action: str, n: int = 1, *, sample: Mapping[str, object] | None = None) -> None:
        """Count ``n`` records under ``action`` and keep ``sample`` while there is room."""
        if n:
            self.counts[action] += n
        if sample is not None:
            bucket = self.samples.setdefault(action, [])
            if len(bucket) < SAMPLE_SIZE:
                bucket.append(dict(sample))

    def wants_sample(self, action: str) -> bool:
        """Whether :meth:`add` would still keep a sample of ``action`` (so that none is made for nothing)."""
        return len(self.samples.get(action, ())) < SAMPLE_SIZE

    def reject(self, rule: str, sample: Mapping[str, object]) -> None:
        """Count one rejected record under its rule."""
        self.rejected[rule] += 1
        self.add(f"rule:{rule}", 0, sample=sample)

    @property
    def tasks(self) -> int:
        """Records written (created, updated or deleted, either direction): SPEC Q1's tasks."""
        return sum(self.counts[a] for a in WRITE_ACTIONS)

    def as_json(self) -> RunCounts:
        """What the store keeps in ``runs.counts``."""
        return {"counts": dict(self.counts), "rejected": dict(self.rejected), "tasks": self.tasks}


@dataclass(frozen=True, slots=True)
class RunResult:
    """The result of one run (or dry run) of an integration.

    Attributes:
        integration: its name. run_id: the row in ``runs``.
        status: ``SUCCEEDED``, ``FAILED``, ``STOPPED`` (quota), ``BLOCKED`` (B6 mass-delete
            guard): see :class:`~toolkit.store.RunStatus`.
        dry_run: nothing was written (B1).
        counts, rejected, samples: see :class:`Outcome`.
        tasks: records written (SPEC Q1).
        message: what a person should know (why it failed, how to confirm deletions...).
    """

    integration: str
    run_id: int
    status: RunStatus
    dry_run: bool
    counts: dict[str, int]
    rejected: dict[str, int]
    samples: dict[str, list[Sample]]
    tasks: int
    message: str | None = None

    @property
    def ok(self) -> bool:
        """The run finished without error (a dry run that planned everything counts as ok)."""
        return self.status == RunStatus.SUCCEEDED
