"""The same initial sync and incremental run with the state in SQLite and in PostgreSQL, side by side.

For each repetition and each backend (the order alternates between repetitions, so that a drift
of the machine's load does not favour one): Brevo emptied, a new state (``state.db``, or an empty
database on the PostgreSQL server), the initial sync, the run after it (which reads back what the
load imported), 1% of the records changed on each side, the incremental run. Each run is a
``python -m bench.syncrun`` child, as in the other cases; only the state's location differs. The
ratio of the medians (PostgreSQL over SQLite) is the figure of issue 16 (target <= 1.2). The
Salesforce side keeps the earlier sequences' edits (the sandbox cannot be rewound), so the second
backend's 1% is drawn from slightly different data: the same number of records, about the same
tasks.

The PostgreSQL server is the one ``--postgresql URL`` names (a database the bench may create
databases from, e.g. ``postgresql://bench@db.example/postgres``), else a throwaway server of
Debian's binaries in a temporary folder (``tests/support/postgres.py``: fsync off, like the
test suite's; say so beside the figures).
"""

from __future__ import annotations

import itertools
import os
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .case_incremental import _run
from .driver import Host, make_toolkit_state

BACKENDS = ("sqlite", "postgresql")


def databases_at(url: str) -> Callable[[], str]:
    """``new_database()``: a new empty database (UTF-8) on the server of ``url``; its URL."""
    import psycopg

    head = url.rsplit("/", 1)[0]
    counter = itertools.count(1)

    def new_database() -> str:
        name = f"bench_{os.getpid()}_{next(counter)}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
        return f"{head}/{name}"

    return new_database


def _sequence(host: Host, state: dict[str, Any], seed: int) -> dict[str, Any]:
    """Initial sync, the run after it, 1% changed each way, the incremental run."""
    found: dict[str, Any] = {}
    for step in ("initial", "settle", "incremental"):
        if step == "incremental":
            host.call("mutate", share=0.01, seed=seed, list_id=state["list_id"])
        run = _run(host, state["state_dir"])
        if run["status"] != "succeeded":
            raise RuntimeError(f"{step} run on {state['state_location']!r} failed: {run.get('message')}")
        found[step] = {"seconds": run["run_seconds"], "calls": run["calls"], "tasks": run["tasks"]}
    return found


def backends(
    host: Host, records: int, work: Path, *, new_database: Callable[[], str], reps: int = 1, seed: int = 11
) -> dict[str, Any]:
    """Run :func:`_sequence` on both backends ``reps`` times; the medians and their ratios.

    Args:
        new_database: returns the URL of a new, empty PostgreSQL database.
    """
    runs: dict[str, list[dict[str, Any]]] = {b: [] for b in BACKENDS}
    for rep in range(reps):
        for backend in BACKENDS if rep % 2 == 0 else tuple(reversed(BACKENDS)):
            host.call("reset_brevo")
            url = new_database() if backend == "postgresql" else ""
            state = make_toolkit_state(host, work / f"backend-{backend}-{records}-{rep}", state_url=url)
            runs[backend].append(_sequence(host, state, seed + rep))
    medians = {
        b: {step: statistics.median(r[step]["seconds"] for r in runs[b]) for step in runs[b][0]}
        for b in BACKENDS
    }
    return {
        "records": records,
        "reps": reps,
        "runs": runs,
        "seconds": medians,
        "postgresql_initial_ratio": medians["postgresql"]["initial"] / medians["sqlite"]["initial"],
        "postgresql_incremental_ratio": medians["postgresql"]["incremental"]
        / medians["sqlite"]["incremental"],
    }
