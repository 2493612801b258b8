"""The two-way sync engine: plan, run and dry-run an integration (SPEC Y1-Y11, B1, B5, B6).

A run's states are the store's (:class:`~toolkit.store.RunStatus`, :class:`~toolkit.store.LinkState`,
:class:`~toolkit.store.Direction`); what one planned write does is a :class:`WriteKind`.
"""

from __future__ import annotations

from .edits import EditPlan, EditPreview, IntegrationEdit, plan_edit
from .engine import run_integration
from .lock import RunLock
from .model import Outcome, RunCounts, RunResult, action
from .plan import Write, WriteKind

__all__ = [
    "EditPlan",
    "EditPreview",
    "IntegrationEdit",
    "Outcome",
    "RunCounts",
    "RunLock",
    "RunResult",
    "Write",
    "WriteKind",
    "action",
    "plan_edit",
    "run_integration",
]
