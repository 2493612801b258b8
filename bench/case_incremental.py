"""Incremental run with 1% of the records changed on each side, against the initial (full) run.

After the initial load, one run with nothing changed comes first and is reported apart: Brevo's
``modifiedSince`` also returns every contact the initial load's imports wrote, so that run
reads the whole list once (pages of 1,000) to compare them with what was synced (the toolkit
cannot tell its own writes from a user's edit made meanwhile by the time alone). Then 1% of the
linked records change in Salesforce (first name) and another 1% in Brevo (last name), and the
measured incremental run syncs both ways.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from typing import Any

from .driver import INTEGRATION, Host, count_calls, run_child

QUERY_PAGE = 2_000  # REST queryAll page
PATCH_BATCH = 200  # composite/sobjects records per call
BREVO_PAGE = 1_000  # GET /contacts limit


def incremental_minimum(sf_changed: int, brevo_changed: int) -> dict[str, int]:
    """The fewest calls to sync the changes: read each side's changes, write them to the other.

    Salesforce: ``queryAll`` pages of the changed records, ``PATCH composite/sobjects`` per 200
    Brevo changes. Brevo: ``GET /contacts?modifiedSince`` pages of 1,000, one import of the
    Salesforce changes (far below 8 MB) and its poll.
    """
    return {
        "salesforce": max(1, math.ceil(sf_changed / QUERY_PAGE)) + math.ceil(brevo_changed / PATCH_BATCH),
        "brevo": max(1, math.ceil(brevo_changed / BREVO_PAGE)) + (2 if sf_changed else 0),
    }


def _run(host: Host, state_dir: str) -> dict[str, Any]:
    mark = host.mark()
    result = run_child("bench.syncrun", [state_dir])
    requests = host.requests(mark)
    result["calls"] = count_calls(requests)
    result["requests_by_path"] = _by_path(requests)
    return result


def _by_path(requests: list[dict[str, Any]]) -> dict[str, int]:
    found: dict[str, int] = {}
    for r in requests:
        path = r["path"]
        for prefix in ("/services/data/v62.0/jobs/query", "/v3/processes/"):
            if path.startswith(prefix):
                path = prefix + "..."
        key = f"{r['service']} {r['method']} {path}"
        found[key] = found.get(key, 0) + 1
    return found


def _settle_by_cursor(host: Host, state: dict[str, Any]) -> dict[str, Any]:
    """Set the Brevo cursor where the settle run would leave it, without reading the whole list.

    The run after an initial load reads every contact the load imported and moves the cursor to
    just before the newest ``modifiedAt`` (``toolkit.sync.inbound.LOOK_BACK``); with a million contacts
    the sandbox answers each of its 1,000 pages by scanning every contact, too slow to wait for.
    """
    from toolkit.store import Store
    from toolkit.sync.inbound import LOOK_BACK

    newest = datetime.fromisoformat(host.call("newest_modified", list_id=state["list_id"])["modified_at"])
    with Store.open(state["state_location"]) as store, store.transaction():
        iid = store.get_integration(INTEGRATION).id
        store.set_cursor(iid, "brevo", (newest - LOOK_BACK).isoformat(timespec="milliseconds"))
    return {
        "calls": {"salesforce": 0, "brevo": 0},
        "seconds": None,
        "tasks": 0,
        "requests_by_path": {},
        "skipped": "not run: the Brevo cursor was set where it would leave it",
    }


def incremental_run(
    host: Host, initial: dict[str, Any], *, share: float = 0.01, seed: int = 7, settle_run: bool = True
) -> dict[str, Any]:
    """Settle after the initial load, change ``share`` on each side, run and compare with the full run.

    Args:
        host: the sandbox the initial case synced.
        initial: :func:`bench.case_initial.initial_sync`'s result (its ``state`` is used).
        settle_run: run the first run after the initial load (otherwise set its cursor, see
            :func:`_settle_by_cursor`).
    """
    state = initial["state"]
    settle = _run(host, state["state_dir"]) if settle_run else _settle_by_cursor(host, state)
    changed = host.call("mutate", share=share, seed=seed, list_id=state["list_id"])
    run = _run(host, state["state_dir"])
    if run["status"] != "succeeded":
        raise RuntimeError(f"the incremental run did not succeed: {run.get('message')}")
    minimum = incremental_minimum(changed["salesforce_changed"], changed["brevo_changed"])
    full_calls = sum(initial["calls"].values())
    full_seconds = statistics.median(initial["toolkit_seconds"])
    calls = sum(run["calls"].values())
    return {
        "share": share,
        "changed": changed,
        "calls": run["calls"],
        "minimum_calls": minimum,
        "calls_vs_minimum": calls / sum(minimum.values()),
        "seconds": run["run_seconds"],
        "counts": run["counts"],
        "tasks": run["tasks"],
        "requests_by_path": run["requests_by_path"],
        "full_run_calls": full_calls,
        "full_run_seconds": full_seconds,
        "incremental_calls_share": calls / full_calls,
        "incremental_time_share": run["run_seconds"] / full_seconds,
        "settle": {
            "calls": settle["calls"],
            "seconds": settle.get("run_seconds"),
            "tasks": settle["tasks"],
            "requests_by_path": settle["requests_by_path"],
            "skipped": settle.get("skipped"),
        },
    }
