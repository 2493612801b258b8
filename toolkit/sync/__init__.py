"""The two-way sync engine: plan, run and dry-run an integration (SPEC Y1-Y11, B1, B5, B6)."""

from __future__ import annotations

from .engine import run_integration
from .lock import RunLock
from .model import Outcome, RunResult

__all__ = ["Outcome", "RunLock", "RunResult", "run_integration"]
