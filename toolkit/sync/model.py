"""What a run did or, in a dry run (B1), would do: counts, samples and rejections by rule."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Outcome", "RunResult", "SAMPLE_SIZE", "WRITE_ACTIONS"]

SAMPLE_SIZE = 5
#: The actions that write a record (each one is a task, SPEC Q1).
WRITE_ACTIONS = (
    "to_brevo.create",
    "to_brevo.update",
    "to_brevo.delete",
    "to_brevo.handover",
    "to_salesforce.update",
    "to_salesforce.delete",
)


@dataclass
class Outcome:
    """Tallies of one run, filled phase by phase.

    Attributes:
        counts: action -> records, e.g. ``"to_brevo.create"``, ``"to_salesforce.update"``,
            ``"unchanged"``, ``"brevo_only"`` (Y1: never created in Salesforce), ``"conflicts"``.
        rejected: rule id -> records rejected in this run.
        samples: action or ``"rule:<id>"`` -> up to :data:`SAMPLE_SIZE` example rows.
    """

    counts: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, action: str, n: int = 1, *, sample: dict[str, Any] | None = None) -> None:
        """Count ``n`` records under ``action`` and keep ``sample`` while there is room."""
        if n:
            self.counts[action] += n
        if sample is not None:
            bucket = self.samples.setdefault(action, [])
            if len(bucket) < SAMPLE_SIZE:
                bucket.append(sample)

    def reject(self, rule: str, sample: dict[str, Any]) -> None:
        """Count one rejected record under its rule."""
        self.rejected[rule] += 1
        self.add(f"rule:{rule}", 0, sample=sample)

    @property
    def tasks(self) -> int:
        """Records written (created, updated or deleted, either direction): SPEC Q1's tasks."""
        return sum(self.counts[a] for a in WRITE_ACTIONS)

    def as_json(self) -> dict[str, Any]:
        """What the store keeps in ``runs.counts``."""
        return {"counts": dict(self.counts), "rejected": dict(self.rejected), "tasks": self.tasks}


@dataclass(frozen=True)
class RunResult:
    """The result of one run (or dry run) of an integration.

    Attributes:
        integration: its name. run_id: the row in ``runs``.
        status: ``succeeded``, ``failed``, ``stopped`` (quota), ``blocked`` (B6 mass-delete guard).
        dry_run: nothing was written (B1).
        counts, rejected, samples: see :class:`Outcome`.
        tasks: records written (SPEC Q1).
        message: what a person should know (why it failed, how to confirm deletions...).
    """

    integration: str
    run_id: int
    status: str
    dry_run: bool
    counts: dict[str, int]
    rejected: dict[str, int]
    samples: dict[str, list[dict[str, Any]]]
    tasks: int
    message: str | None = None

    @property
    def ok(self) -> bool:
        """The run finished without error (a dry run that planned everything counts as ok)."""
        return self.status == "succeeded"
