"""Incremental run with 1% of the records changed on each side, against its minimum and its I/O floor.

After the initial load, one run with nothing changed comes first and is reported apart: Brevo's
``modifiedSince`` also returns every contact the initial load's imports wrote, so that run
reads the whole list once (pages of 1,000) to compare them with what was synced (the toolkit
cannot tell its own writes from a user's edit made meanwhile by the time alone). Then 1% of the
linked records change in Salesforce (first name) and another 1% in Brevo (last name), and the
measured incremental run syncs both ways, its requests recorded by the sandbox host. Its figures:
its calls over :func:`incremental_minimum` (``incremental_calls_ratio``), and its wall time
(``run_seconds``: ``Toolkit.run`` called to returned, its sign-in included) over the incremental
I/O floor's (:mod:`bench.floor_incremental`: the minimum's requests, replayed from the run's own,
right after it; ``incremental_floor_ratio``).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from .driver import INTEGRATION, Host, count_calls, run_on

QUERY_PAGE = 2_000  # REST queryAll page
PATCH_BATCH = 200  # composite/sobjects records per call
BREVO_PAGE = 1_000  # GET /contacts limit
_FIRST_PAGE = re.compile(r"^/services/data/v[\d.]+/query(All)?/?$")  # ?q=SOQL
_NEXT_PAGE = re.compile(r"^/services/data/v[\d.]+/query/[^/]+-\d+$")  # a nextRecordsUrl
CHANGES_READ = "ORDER BY SystemModstamp"  # the cursor read's SOQL (toolkit.sync.outbound._soql)


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
    result, requests = run_on(host, "bench.syncrun", [state_dir])
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


def floor_plan(captured: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The requests of the minimum among those a run made (:class:`bench.host.Capture`), in order.

    Kept: Brevo's ``GET /contacts?modifiedSince`` pages, the Salesforce read of the changes (the
    query whose SOQL has :data:`CHANGES_READ`, with the number of pages the run read), each
    ``POST /contacts/import`` and each ``PATCH composite/sobjects`` with its body. Everything else
    is counted in the second value, by service, method and path.
    """
    plan: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    reading: dict[str, Any] | None = None  # the changes read, whose next pages follow
    for r in captured:
        service, method, path = r["service"], r["method"], r["path"]
        kind = None
        if service == "salesforce" and method == "GET" and _FIRST_PAGE.match(path):
            reading = None
            if CHANGES_READ in parse_qs(r["query"]).get("q", [""])[0]:
                kind = "salesforce_read"
        elif service == "salesforce" and method == "GET" and _NEXT_PAGE.match(path) and reading is not None:
            reading["pages"] += 1
            continue
        elif service == "brevo" and method == "GET" and path.endswith("/contacts"):
            kind = "brevo_read" if "modifiedSince=" in r["query"] else None
        elif service == "brevo" and method == "POST" and path.endswith("/contacts/import"):
            kind = "import"
        elif service == "salesforce" and method == "PATCH" and path.endswith("/composite/sobjects"):
            kind = "salesforce_write"
        if kind is None:
            key = f"{service} {method} {_pattern(path)}"
            skipped[key] = skipped.get(key, 0) + 1
            continue
        plan.append({"kind": kind, **r, "pages": 1})
        if kind == "salesforce_read":
            reading = plan[-1]
    return plan, skipped


def _pattern(path: str) -> str:
    """A path with each segment holding a digit (ids, locators; not ``v3``, ``v62.0``) as ``{id}``."""
    return re.sub(r"/(?!v[\d.]+(?=/|$))[^/]*\d[^/]*", "/{id}", path)


def _floor(host: Host, captured: Path) -> dict[str, Any]:
    """Run the incremental floor over what the toolkit's run made (recorded in ``captured``)."""
    plan, skipped = floor_plan(json.loads(captured.read_text(encoding="utf-8")))
    plan_file = captured.with_name("incremental-floor-plan.json")
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    spec = {"salesforce": host.info["salesforce"], "brevo": host.info["brevo"], "plan": str(plan_file)}
    result, requests = run_on(host, "bench.floor_incremental", [], stdin=spec)
    result["logged_calls"] = count_calls(requests)
    result["not_replayed"] = skipped
    captured.unlink()
    plan_file.unlink()
    return result


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
    host: Host,
    initial: dict[str, Any],
    work: Path,
    *,
    share: float = 0.01,
    seed: int = 7,
    settle_run: bool = True,
) -> dict[str, Any]:
    """Settle after the initial load, change ``share`` on each side, run, then run its I/O floor.

    Args:
        host: the sandbox the initial case synced.
        initial: :func:`bench.case_initial.initial_sync`'s result (its ``state`` is used).
        work: a directory for the run's recorded requests (removed after the floor).
        settle_run: run the first run after the initial load (otherwise set its cursor, see
            :func:`_settle_by_cursor`).
    """
    state = initial["state"]
    settle = _run(host, state["state_dir"]) if settle_run else _settle_by_cursor(host, state)
    changed = host.call("mutate", share=share, seed=seed, list_id=state["list_id"])
    host.call("capture")
    run = _run(host, state["state_dir"])
    captured = work / "incremental-requests.json"
    host.call("captured", path=str(captured))
    if run["status"] != "succeeded":
        raise RuntimeError(f"the incremental run did not succeed: {run.get('message')}")
    floor = _floor(host, captured)
    minimum = incremental_minimum(changed["salesforce_changed"], changed["brevo_changed"])
    return {
        "share": share,
        "changed": changed,
        "calls": run["calls"],
        "minimum_calls": minimum,
        "incremental_calls_ratio": sum(run["calls"].values()) / sum(minimum.values()),
        "seconds": run["run_seconds"],
        "floor": floor,
        "incremental_floor_ratio": run["run_seconds"] / floor["seconds"],
        "cpu": {
            "toolkit_cpu_seconds": run["run_cpu_seconds"],
            "sandbox_cpu_seconds": run["sandbox_cpu_seconds"],
            "floor_cpu_seconds": floor["cpu_seconds"],
            "floor_sandbox_cpu_seconds": floor["sandbox_cpu_seconds"],
        },
        "counts": run["counts"],
        "tasks": run["tasks"],
        "requests_by_path": run["requests_by_path"],
        "settle": {
            "calls": settle["calls"],
            "seconds": settle.get("run_seconds"),
            "tasks": settle["tasks"],
            "requests_by_path": settle["requests_by_path"],
            "skipped": settle.get("skipped"),
        },
    }
