"""A served run: ``sync.ipynb`` run by papermill, its notebook and report kept, retried with backoff.

``toolkit serve`` runs each integration's scheduled (and reconciliation) runs as a scheduler
would from the outside: ``papermill sync.ipynb`` in a child process, with the server's own
environment (``TOOLKIT_STATE_DIR``, and the ``TOOLKIT_*`` settings and credential variables a
unit file gives it) and no credential as a parameter. Each run keeps, under ``<state_dir>/runs/<integration>/``::

    20261206T081500Z-schedule.ipynb         the executed notebook (what a person opens to see why)
    20261206T081500Z-schedule-report/       the run's audit report (HTML and CSV, SPEC A2)

:func:`purge_runs` removes those older than ``Settings.keep_runs_days``. The run's own row in
the state (status, counts, trigger) is what the pages show; the notebook is the evidence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from toolkit.apps import papermill_sync
from toolkit.store import Run, RunStatus, RunTrigger, Store
from toolkit.sync.lock import file_name

__all__ = [
    "NOTEBOOK_TIMEOUT",
    "ServedRun",
    "backoff",
    "purge_runs",
    "run_folder",
    "run_sync_notebook",
]

NOTEBOOK_TIMEOUT = 6 * 3600
"""Seconds a served run may take before it is abandoned (a 1M-record initial load takes minutes)."""


def run_folder(state_dir: Path, integration: str) -> Path:
    """Where the served runs of ``integration`` keep their notebooks and reports."""
    return state_dir / "runs" / file_name(integration)  # as its run lock's file is named


@dataclass(frozen=True, slots=True)
class ServedRun:
    """What a served run left behind.

    Attributes:
        exit_code: papermill's (0: the run succeeded; 1: the notebook failed, e.g. the run failed).
        run: the run's row in the state, ``None`` when the notebook failed before it began (e.g.
            the integration was deactivated meanwhile, or another run held its lock).
        error: the last line papermill printed when it failed (never a secret: the notebook
            takes none).
    """

    integration: str
    trigger: RunTrigger
    notebook: Path
    report_dir: Path
    exit_code: int
    run: Run | None
    error: str = ""

    @property
    def ok(self) -> bool:
        """The notebook ran and the run succeeded."""
        return self.exit_code == 0 and self.run is not None and self.run.status == RunStatus.SUCCEEDED

    @property
    def failed(self) -> bool:
        """Worth a retry: the run failed (or the notebook died) rather than being blocked or stopped."""
        if self.run is None:
            return self.exit_code != 0
        return self.run.status in (RunStatus.FAILED, RunStatus.RUNNING)


def run_sync_notebook(
    state_dir: Path,
    integration: str,
    *,
    trigger: RunTrigger = RunTrigger.SCHEDULE,
    full: bool = False,
    now: datetime | None = None,
    timeout: float = NOTEBOOK_TIMEOUT,
    state: Path | str | None = None,
) -> ServedRun:
    """Run ``sync.ipynb`` for ``integration`` with papermill (for real, not a dry run).

    Args:
        state_dir: the state (``TOOLKIT_STATE_DIR`` of the child; the only thing it is given).
        trigger: recorded with the run (the pages show why it ran).
        full: a full resync (the weekly reconciliation).
        now: the time the files are named after (default: now, UTC).
        timeout: seconds before the child is killed.
        state: where the state database is when not ``state_dir/state.db`` (``Settings.state_location``;
            the child finds it itself, from ``TOOLKIT_STATE_URL`` or ``toolkit.toml``).

    Raises:
        ToolkitError: papermill is not installed.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    folder = run_folder(state_dir, integration)
    folder.mkdir(parents=True, exist_ok=True)
    notebook = folder / f"{stamp}-{trigger}.ipynb"
    report_dir = folder / f"{stamp}-{trigger}-report"
    location = state if state is not None else state_dir
    with Store.open(location) as store:
        integration_id = store.get_integration(integration).id
        before = max((r.id for r in store.list_runs(integration_id, limit=1)), default=0)
    try:
        done = papermill_sync(
            state_dir,
            integration,
            notebook,
            report_dir,
            full=full,
            trigger=str(trigger),
            timeout=timeout,
            environ=os.environ,  # the server's: its TOOLKIT_* settings and credentials variables
        )
        code, output = done.returncode, done.stderr
    except subprocess.TimeoutExpired:
        code, output = -9, f"the run took more than {timeout:.0f} s and was stopped"
    with Store.open(location) as store:
        runs = [r for r in store.list_runs(integration_id, limit=5) if r.id > before]
    error = "" if code == 0 else (output.strip().splitlines() or [f"exit {code}"])[-1][:500]
    return ServedRun(integration, trigger, notebook, report_dir, code, runs[-1] if runs else None, error)


def backoff(attempt: int, base_seconds: float) -> timedelta:
    """The wait before retry ``attempt`` (1, 2, ...): ``base``, then doubled each time, at most a day."""
    return timedelta(seconds=min(base_seconds * 2 ** max(0, attempt - 1), 86_400))


def purge_runs(state_dir: Path, keep_days: float, *, now: float | None = None) -> int:
    """Remove served runs' notebooks and reports older than ``keep_days``; returns how many went."""
    root = state_dir / "runs"
    if not root.is_dir() or keep_days <= 0:
        return 0
    limit = (time.time() if now is None else now) - keep_days * 86_400
    removed = 0
    for folder in root.iterdir():
        for item in folder.iterdir() if folder.is_dir() else ():
            if item.stat().st_mtime >= limit:
                continue
            if item.is_dir():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)
            removed += 1
    return removed
