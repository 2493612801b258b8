"""Initial sync of N contacts: API calls against the minimum, wall time against the I/O floor and
the per-record script, peak RSS of the sync process.

Each repetition runs the I/O floor and then the toolkit on the same sandbox (Brevo emptied
between them), so both see the same machine load; the ratio is taken per repetition and the
median reported. The per-record script runs once, on a sample (see :mod:`bench.naive`).

The sandbox shares the machine's cores with the client timed: each run records the CPU seconds
the sandbox process used meanwhile (``sandbox_cpu_seconds``) beside the client's own while timed
(``run_cpu_seconds`` for the toolkit, ``cpu_seconds`` for the floor).
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from .driver import Host, count_calls, make_toolkit_state, run_child, run_on

BULK_PAGE = 50_000  # records per Bulk API 2.0 results page (the toolkit's choice, Salesforce allows it)
IMPORT_MAX_BYTES = 8_000_000  # Brevo advises imports of about 8 MB (10 MB at most)


def _soql(mapping: dict[str, Any]) -> str:
    """The toolkit's initial-load SOQL for a stored mapping (see ``toolkit.sync.outbound._soql``)."""
    from toolkit.mapping.types import Mapping

    fields = dict.fromkeys([*Mapping.from_json(mapping).soql_fields, "SystemModstamp", "IsDeleted"])
    return f"SELECT {', '.join(fields)} FROM Contact"


def minimum_calls(records: int, imports: int) -> dict[str, int]:
    """The fewest API calls an initial load of ``records`` can make.

    Salesforce: a Bulk API 2.0 job (create, one poll) and one results call per 50,000 records.
    Brevo: the rows in imports of up to 8 MB (``imports``, cut over the whole load), and one
    poll of each import's process. With B8 (on for a new integration) the opted-out records'
    rows are imports of their own, whose ``emailBlacklist`` sets the flag (no call per contact):
    :func:`bench.host._floor_bodies` counts them in ``imports``.
    """
    return {"salesforce": 2 + max(1, math.ceil(records / BULK_PAGE)), "brevo": 2 * imports}


def _floor(host: Host, state: dict[str, Any], work: Path, *, packed: bool) -> dict[str, Any]:
    list_id = host.call("create_list", name=f"floor {work.name}")["list_id"]
    bodies = work / "floor-bodies.bin"
    cut = host.call(
        "floor_bodies",
        mapping=state["mapping"],
        sobject="Contact",
        list_id=list_id,
        path=str(bodies),
        page=BULK_PAGE,
        max_bytes=IMPORT_MAX_BYTES,
        per_page=not packed,
    )
    spec = {
        "salesforce": host.info["salesforce"],
        "brevo": host.info["brevo"],
        "soql": _soql(state["mapping"]),
        "bodies": str(bodies),
        "page": BULK_PAGE,
    }
    result, requests = run_on(host, "bench.floor", [], stdin=spec)
    result["logged_calls"] = count_calls(requests)
    result["cut"] = cut
    bodies.unlink()
    host.call("reset_brevo")
    return result


def _toolkit(host: Host, state: dict[str, Any], profile: Path | None) -> dict[str, Any]:
    args = [state["state_dir"], *(["--profile", str(profile)] if profile else [])]
    result, requests = run_on(host, "bench.syncrun", args)
    if result["status"] != "succeeded":
        raise RuntimeError(f"the toolkit's run did not succeed: {result.get('message')}")
    result["calls"] = count_calls(requests)
    start = requests[0]["at"] if requests else 0.0
    result["requests"] = [
        f"{r['at'] - start:7.2f} {r['service']} {r['method']} {r['path']}" for r in requests
    ]
    return result


def initial_sync(
    host: Host,
    records: int,
    work: Path,
    *,
    reps: int = 1,
    packed_floor: bool = True,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Run the floor and the toolkit ``reps`` times each, side by side; the last toolkit state stays.

    Args:
        host: a sandbox holding ``records`` Contacts (Brevo list empty).
        records: the number of Contacts (for the minimum).
        work: a directory for state directories and import bodies.
        reps: repetitions of the floor/toolkit pair.
        packed_floor: the floor cuts its imports over the whole load (as a toolkit that packs
            rows across Bulk pages does); otherwise per Bulk page.
        profile: write pyinstrument's report of the last toolkit run there.

    Returns:
        Figures per repetition and the summary (``calls_ratio``, ``floor_ratio``, ``peak_rss_mb``),
        plus ``state`` (the last toolkit state, for the incremental case).
    """
    floors, runs = [], []
    state: dict[str, Any] = {}
    for rep in range(reps):
        state = make_toolkit_state(host, work / f"toolkit-{records}-{rep}")
        floors.append(_floor(host, state, work, packed=packed_floor))
        runs.append(_toolkit(host, state, profile if rep == reps - 1 else None))
        if rep < reps - 1:
            host.call("reset_brevo")
    whole = host.call(
        "floor_bodies",
        mapping=state["mapping"],
        sobject="Contact",
        list_id=1,
        path=str(work / "minimum.bin"),
        page=BULK_PAGE,
        max_bytes=IMPORT_MAX_BYTES,
        per_page=False,
    )
    (work / "minimum.bin").unlink()
    last = runs[-1]
    minimum = minimum_calls(records, int(whole["imports"]))
    ratios = [r["run_seconds"] / f["seconds"] for f, r in zip(floors, runs, strict=True)]
    return {
        "records": records,
        "reps": reps,
        "minimum_calls": minimum,
        "calls": last["calls"],
        "calls_per_rep": [sum(r["calls"].values()) for r in runs],
        "calls_ratio": sum(last["calls"].values()) / sum(minimum.values()),
        "import_bytes": whole["bytes"],
        "rows": whole["rows"],
        "floor_seconds": [f["seconds"] for f in floors],
        "floor_phases": floors[-1]["phases"],
        "floor_calls": floors[-1]["calls"],
        "toolkit_seconds": [r["run_seconds"] for r in runs],
        "floor_ratios": ratios,
        "floor_ratio": statistics.median(ratios),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "cpu": {
            "toolkit_cpu_seconds": [r["run_cpu_seconds"] for r in runs],
            "sandbox_cpu_seconds": [r["sandbox_cpu_seconds"] for r in runs],
            "floor_cpu_seconds": [f["cpu_seconds"] for f in floors],
            "floor_sandbox_cpu_seconds": [f["sandbox_cpu_seconds"] for f in floors],
        },
        "toolkit_requests": last["requests"],
        "counts": last["counts"],
        "rejected": last["rejected"],
        "state": state,
    }


def peak_rss_run(host: Host, records: int, work: Path) -> dict[str, Any]:
    """One toolkit initial sync on its own (no floor, no minimum): its peak RSS, for ``rss_growth``."""
    run = _toolkit(host, make_toolkit_state(host, work / f"toolkit-{records}-rss"), None)
    keep = ("peak_rss_mb", "run_seconds", "run_cpu_seconds", "sandbox_cpu_seconds", "calls")
    return {"records": records, **{k: run[k] for k in keep}}


def naive_script(host: Host, work: Path, *, sample: int, query_pages: int) -> dict[str, Any]:
    """Time the per-record script on a sample (Brevo emptied first, rate limit 0) and extrapolate."""
    host.call("reset_brevo")
    host.call("rate_limit", per_second=0)
    list_id = host.call("create_list", name=f"naive {work.name}")["list_id"]
    spec = {
        "salesforce": host.info["salesforce"],
        "brevo": host.info["brevo"],
        "list_id": list_id,
        "sample": sample,
        "query_pages": query_pages,
    }
    result = run_child("bench.naive", [], stdin=spec)
    result["brevo_rate_limit"] = 0
    result["seconds_at_10_per_second"] = result["query_seconds"] + result["posts_total"] / 10
    return result
