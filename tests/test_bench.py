"""The benchmark harness runs end to end at a tiny size and prints its summary as one JSON line.

The real runs (``make bench``, ``make bench-quick``) are not part of the test suite; this only
proves that ``python -m bench --quick --json`` works and reports what issues 6 and 17 ask for
(figures present and sane; no timing target is asserted: speed is measured, not tested).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEYS = (  # issue 17's targets
    "calls_ratio",
    "floor_ratio",
    "peak_rss_mb",
    "rss_growth",
    "incremental_calls_ratio",
    "incremental_floor_ratio",
    "event_latency_p95_s",
    "postgresql_initial_ratio",
    "postgresql_incremental_ratio",
    "naive_speedup",
    "dashboard_seconds",
)
CPU_SHARES = (
    "sandbox_cpu_share",
    "toolkit_cpu_share",
    "floor_sandbox_cpu_share",
    "incremental_sandbox_cpu_share",
    "incremental_floor_sandbox_cpu_share",
)


@pytest.mark.slow
def test_bench_quick_json_reports_ratios_against_the_sandbox(tmp_path: Path, pg_server: object) -> None:
    # pg_server: PostgreSQL's binaries are there (else skipped, or failed under CI); --backends starts
    # a throwaway server of its own.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--json",
            "--sizes",
            "2000",
            "--reps",
            "1",
            "--naive-sample",
            "20",
            "--history-runs",
            "200",
            "--history-rejections",
            "3000",
            "--events",
            "10",
            "--backends",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(tmp_path / "results.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout  # one JSON line, nothing else on stdout
    summary = json.loads(lines[0])
    for key in KEYS:
        value = summary[key]
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, (key, value)
    assert summary["records"] == 2000 and summary["calls"] >= summary["minimum_calls"] > 0
    assert summary["calls_ratio"] == summary["calls"] / summary["minimum_calls"]
    assert set(summary["targets_met"]) == set(KEYS)
    assert summary["incremental_calls_ratio"] >= 1 and summary["naive_speedup_at_10_per_second"] > 0
    for key in CPU_SHARES:
        assert isinstance(summary[key], float) and summary[key] >= 0, (key, summary[key])
    # rss_growth: one size, so one toolkit-only initial sync at 5 x it.
    assert set(summary["peak_rss_mb_by_size"]) == {"2000", "10000"}
    assert (
        summary["rss_growth"]
        == summary["peak_rss_mb_by_size"]["10000"] / summary["peak_rss_mb_by_size"]["2000"]
    )
    assert (
        summary["event_latency_p50_s"] <= summary["event_latency_p95_s"]
        and summary["poll_calls_per_hour"] > 0
    )
    full = json.loads((tmp_path / "results.json").read_text())
    initial = full["sizes"]["2000"]["initial"]
    assert initial["counts"].get("to_brevo.create", 0) + sum(initial["rejected"].values()) == 2000
    assert all(x >= 0 for figures in initial["cpu"].values() for x in figures)
    # The incremental floor replayed the minimum's kinds of requests (reads, the import and its
    # polls, the PATCHes) and nothing else: the sandbox saw what it counted.
    incremental = full["sizes"]["2000"]["incremental"]
    floor = incremental["floor"]
    assert floor["seconds"] > 0 and floor["logged_calls"] == floor["calls"]
    assert floor["read"]["query_pages"] >= 1 and floor["read"]["brevo_pages"] >= 1
    assert floor["calls"]["salesforce"] >= floor["read"]["query_pages"] + 1  # a PATCH: Brevo's 1% changed
    assert floor["calls"]["brevo"] >= floor["read"]["brevo_pages"] + 2  # the import and a poll
    assert all(x >= 0 for x in incremental["cpu"].values())
    assert full["rss"]["extra"]["records"] == 10_000
    # The same work on both states: the same tasks written by the initial sync; the incremental run's
    # 1% each way is drawn again for the second backend (Salesforce keeps the first one's edits).
    runs = full["sizes"]["2000"]["backends"]["runs"]
    assert runs["sqlite"][0]["initial"]["tasks"] == runs["postgresql"][0]["initial"]["tasks"] > 0
    a, b = runs["sqlite"][0]["incremental"]["tasks"], runs["postgresql"][0]["incremental"]["tasks"]
    assert a > 0 and b > 0 and abs(a - b) <= max(2, a // 20), (a, b)
    assert full["machine"]["cores"] and full["dashboard"]["history"]["rejections"] == 3000
    # The sandbox's credentials never reach the results or the output.
    text = done.stdout + done.stderr + (tmp_path / "results.json").read_text()
    assert "xkeysib-" not in text and "client_secret" not in text
