"""The benchmark harness runs end to end at a tiny size and prints its summary as one JSON line.

The real runs (``make bench``, ``make bench-quick``) are not part of the test suite; this only
proves that ``python -m bench --quick --json`` works and reports what issue 6 asks for.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEYS = (
    "calls_ratio",
    "floor_ratio",
    "naive_speedup",
    "peak_rss_mb",
    "incremental_calls_share",
    "incremental_time_share",
    "postgresql_initial_ratio",
    "postgresql_incremental_ratio",
    "dashboard_seconds",
    "event_latency_p95_s",
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
    assert (
        summary["event_latency_p50_s"] <= summary["event_latency_p95_s"]
        and summary["poll_calls_per_hour"] > 0
    )
    full = json.loads((tmp_path / "results.json").read_text())
    initial = full["sizes"]["2000"]["initial"]
    assert initial["counts"].get("to_brevo.create", 0) + sum(initial["rejected"].values()) == 2000
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
