"""The quota dashboard's data calls over a year of history (10,000 runs, 1,000,000 rejections).

The history is written straight into a state database (:mod:`bench.history`); then a fresh
process (as a Voilà kernel is) times each call through ``toolkit.quota`` and ``toolkit.audit``,
twice (cold, then warm). Two sets are timed:

- ``before``: what ``QuotaDashboard`` loaded on a refresh before it was fixed: quota status,
  usage per day and per integration, Salesforce API usage, the last 10 runs, every rejection
  (for the filters' choices) and the open ones (the table, its count and the CSV);
- ``dashboard``: what ``toolkit.ui.dashboard.QuotaDashboard`` loads now: the same figures, the
  filters' choices and the total from counts per integration, rule and state
  (``audit.rejection_counts``) and the first 200 open rejections (the table's rows); the CSV
  is read when it is downloaded.

Then the widget itself is built (``QuotaDashboard(tk)``: every call above plus the chart and
the HTML), which is what a user waits for when the Voilà page opens.

Run the timing side alone with ``python -m bench.case_dashboard STATE_DIR``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .driver import run_child

TABLE_ROWS = 200


def _calls(store: Any, quota: Any, audit: Any) -> dict[str, dict[str, Callable[[], Any]]]:
    common: dict[str, Callable[[], Any]] = {
        "quota.status": quota.status,
        "quota.usage_by_day": quota.usage_by_day,
        "quota.usage_by_integration": quota.usage_by_integration,
        "audit.api_usage": lambda: audit.api_usage(store),
        "audit.runs(limit=10)": lambda: audit.runs(store, limit=10),
    }
    sets = {
        "before": {
            **common,
            "audit.rejections(state='all')": lambda: audit.rejections(store, state="all"),
            "audit.rejections(state='open')": lambda: audit.rejections(store, state="open"),
        }
    }
    sets["dashboard"] = {
        **common,
        "audit.rejection_counts()": lambda: audit.rejection_counts(store, state="all"),
        f"audit.rejections(state='open', limit={TABLE_ROWS})": lambda: audit.rejections(
            store, state="open", limit=TABLE_ROWS
        ),
        "audit.rejection_counts(state='open')": lambda: audit.rejection_counts(store, state="open"),
    }
    return sets


def time_calls(state_dir: Path) -> dict[str, Any]:
    """Open the store and time each set's calls, cold then warm (seconds per call and in total)."""
    began = time.perf_counter()
    from toolkit import audit
    from toolkit.config import Settings
    from toolkit.quota import Quota
    from toolkit.store import Store

    store = Store.open(state_dir)
    quota = Quota(store, Settings(state_dir=state_dir))
    opened = time.perf_counter() - began
    found: dict[str, Any] = {"open_seconds": opened}
    for name, calls in _calls(store, quota, audit).items():
        passes = []
        for _ in range(2):
            timings, rows = {}, {}
            for label, call in calls.items():
                start = time.perf_counter()
                result = call()
                timings[label] = time.perf_counter() - start
                rows[label] = len(result) if hasattr(result, "__len__") else 1
            passes.append({"seconds": sum(timings.values()), "calls": timings, "rows": rows})
        found[name] = {"cold": passes[0], "warm": passes[1]}
    store.close()
    from toolkit.api import Toolkit
    from toolkit.ui.dashboard import QuotaDashboard

    start = time.perf_counter()
    board = QuotaDashboard(Toolkit(Settings(state_dir=state_dir)))
    found["widget_seconds"] = time.perf_counter() - start
    found["widget_message"] = board.message.text
    return found


def dashboard(work: Path, *, runs: int = 10_000, rejections: int = 1_000_000) -> dict[str, Any]:
    """Write the history, then time the calls in a fresh process."""
    from .history import write_history

    state_dir = work / "dashboard-state"
    state_dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    written = write_history(state_dir, runs=runs, rejections=rejections)
    written["write_seconds"] = time.perf_counter() - began
    timed = run_child("bench.case_dashboard", [str(state_dir)])
    return {"history": written, **timed, "dashboard_seconds": timed["dashboard"]["cold"]["seconds"]}


def main() -> int:
    print(json.dumps(time_calls(Path(sys.argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
