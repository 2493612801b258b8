"""``python -m bench``: the benchmarks of issues 6 and 17 against the sandbox, side by side in one invocation.

    python -m bench                 # make bench: N = 100,000 and 1,000,000
    python -m bench --quick --json  # make bench-quick: N = 20,000, one JSON line on stdout
    python -m bench --sizes 2000 --history-rejections 20000 --json   # what the smoke test runs
    python -m bench --sizes 100000 --backends --skip naive dashboard events  # SQLite vs PostgreSQL state

Each size gets its own sandbox process (generated with the same seed, Brevo rate limit 0);
on it run, in order: the I/O floor and the toolkit's initial sync (``--reps`` times, side by
side), the incremental case and its own I/O floor, the per-record script's sample. With a
single size, one more sandbox process at ``--rss-factor`` times that size gets a toolkit-only
initial sync, for ``rss_growth`` (peak RSS there over peak RSS at the size; with several sizes,
the largest's over the smallest's). Then the dashboard and event cases. The full figures go to
``--out`` (JSON); ``--markdown`` prints the tables RESULTS.md shows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .case_backends import backends, databases_at
from .case_dashboard import dashboard
from .case_events import event_latency
from .case_incremental import incremental_run
from .case_initial import initial_sync, naive_script, peak_rss_run
from .driver import Host
from .report import machine, markdown, summary_of, verdicts

FULL_SIZES = (100_000, 1_000_000)
QUICK_SIZE = 20_000
SETTLE_RUN_MAX = 200_000  # above, the run after the initial load is not run (bench.case_incremental)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"N = {QUICK_SIZE:,} only")
    parser.add_argument("--sizes", type=int, nargs="+", help="numbers of contacts (overrides --quick)")
    parser.add_argument(
        "--reps", type=int, default=None, help="floor/toolkit pairs per size (default 2, 1 at 1M)"
    )
    parser.add_argument("--naive-sample", type=int, default=1000, help="POSTs the per-record script times")
    parser.add_argument(
        "--naive-query-pages",
        type=int,
        default=None,
        help="query pages it times (0 = the whole query_all; default 0 up to 200k, else 25)",
    )
    parser.add_argument(
        "--rss-factor",
        type=int,
        default=5,
        help="with one size: a toolkit-only initial sync at this many times it, for rss_growth (0 = none)",
    )
    parser.add_argument("--history-runs", type=int, default=10_000)
    parser.add_argument("--history-rejections", type=int, default=1_000_000)
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["incremental", "naive", "dashboard", "events"]
    )
    parser.add_argument(
        "--backends",
        action="store_true",
        help="also run the initial sync and the incremental run with the state on SQLite and on PostgreSQL",
    )
    parser.add_argument(
        "--postgresql",
        default=None,
        metavar="URL",
        help="for --backends: a PostgreSQL server's URL to create databases from "
        "(default: a throwaway server of Debian's binaries)",
    )
    parser.add_argument("--events", type=int, default=100, help="webhook events the event case times")
    parser.add_argument("--seed", type=int, default=50)
    parser.add_argument("--profile", type=Path, default=None, help="directory for pyinstrument reports")
    parser.add_argument("--out", type=Path, default=None, help="write the full results (JSON) there")
    parser.add_argument("--work", type=Path, default=None, help="keep state and logs there (default: temp)")
    parser.add_argument("--json", action="store_true", help="print one JSON line (the summary)")
    parser.add_argument("--markdown", action="store_true", help="print the RESULTS.md tables")
    return parser


@contextlib.contextmanager
def postgresql_databases(url: str | None) -> Iterator[Callable[[], str]]:
    """``new_database()`` on the server at ``url``, else on a throwaway server (stopped at the end)."""
    from tests.support.postgres import find_bindir, start_server

    if url is not None:
        yield databases_at(url)
        return
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("--backends: PostgreSQL's server binaries are missing (apt-get install postgresql)")
    server = start_server(bindir)
    try:
        yield server.create_database
    finally:
        server.stop()


def _log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def run_size(
    n: int, args: argparse.Namespace, work: Path, new_database: Callable[[], str] | None = None
) -> dict[str, Any]:
    """All the sandbox cases at one size, on one sandbox process."""
    reps = args.reps if args.reps is not None else (1 if n >= 500_000 else 2)
    pages = args.naive_query_pages if args.naive_query_pages is not None else (0 if n <= 200_000 else 25)
    size_dir = work / f"n{n}"
    size_dir.mkdir(parents=True, exist_ok=True)
    _log(f"N = {n:,}: generating the sandbox")
    host = Host(n, seed=args.seed, log_dir=size_dir)
    found: dict[str, Any] = {"seed_seconds": host.info["bench"]["seed_seconds"]}
    try:
        _log(f"N = {n:,}: initial sync, {reps} floor/toolkit pair(s)")
        profile = args.profile / f"initial-{n}.txt" if args.profile else None
        found["initial"] = initial_sync(host, n, size_dir, reps=reps, profile=profile)
        if "incremental" not in args.skip:
            _log(f"N = {n:,}: incremental run")
            found["incremental"] = incremental_run(
                host, found["initial"], size_dir, settle_run=n <= SETTLE_RUN_MAX
            )
        if "naive" not in args.skip:
            _log(f"N = {n:,}: per-record script, {args.naive_sample} POSTs")
            found["naive"] = naive_script(host, size_dir, sample=args.naive_sample, query_pages=pages)
        if new_database is not None:
            _log(f"N = {n:,}: the state on SQLite and on PostgreSQL, {reps} repetition(s)")
            found["backends"] = backends(host, n, size_dir, new_database=new_database, reps=reps)
    finally:
        found["host_rss_mb"] = host.stop()
    found["initial"].pop("state", None)
    found["summary"] = summary_of(found)
    _log(f"N = {n:,}: {json.dumps(found['summary'])}")
    return found


def rss_growth(sizes: dict[str, Any], args: argparse.Namespace, work: Path) -> dict[str, Any] | None:
    """The sync's peak RSS per size and ``rss_growth``: at the largest size over at the smallest.

    With one size N, the largest is ``--rss-factor`` x N: one toolkit-only initial sync on a
    sandbox process of its own (no floor, no other case); ``None`` when the factor is 0.
    """
    peaks = {int(n): float(size["initial"]["peak_rss_mb"]) for n, size in sizes.items()}
    extra = None
    if len(peaks) == 1:
        if args.rss_factor <= 0:
            return None
        n = next(iter(peaks)) * args.rss_factor
        _log(f"N = {n:,}: generating the sandbox for one toolkit-only initial sync (peak RSS)")
        host = Host(n, seed=args.seed, log_dir=work)
        try:
            extra = peak_rss_run(host, n, work / f"n{n}-rss")
        finally:
            host.stop()
        peaks[n] = extra["peak_rss_mb"]
    return {
        "peak_rss_mb": {str(n): peaks[n] for n in sorted(peaks)},
        "extra": extra,
        "rss_growth": peaks[max(peaks)] / peaks[min(peaks)],
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = args.sizes or ([QUICK_SIZE] if args.quick else list(FULL_SIZES))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="toolkit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": machine(),
        "command": "python -m bench " + " ".join(argv or sys.argv[1:]),
        "sizes": {},
    }
    started = time.perf_counter()
    stack = contextlib.ExitStack()
    try:
        new_database = stack.enter_context(postgresql_databases(args.postgresql)) if args.backends else None
        for n in sizes:
            results["sizes"][str(n)] = run_size(n, args, work, new_database)
        results["rss"] = rss_growth(results["sizes"], args, work)
        if "dashboard" not in args.skip:
            _log(f"dashboard: writing {args.history_runs:,} runs and {args.history_rejections:,} rejections")
            results["dashboard"] = dashboard(work, runs=args.history_runs, rejections=args.history_rejections)
        if "events" not in args.skip:
            _log(f"events: {args.events} Brevo edits through webhooks to Salesforce")
            results["events"] = event_latency(work, events=args.events, seed=args.seed)
    finally:
        stack.close()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    results["seconds"] = time.perf_counter() - started
    largest = results["sizes"][str(max(sizes))]["summary"]
    events = results.get("events") or {}
    rss = results["rss"] or {}
    summary = {
        **largest,
        "rss_growth": rss.get("rss_growth"),
        "peak_rss_mb_by_size": rss.get("peak_rss_mb"),
        "dashboard_seconds": (results.get("dashboard") or {}).get("dashboard_seconds"),
        "event_latency_p50_s": events.get("event_latency_p50_s"),
        "event_latency_p95_s": events.get("event_latency_p95_s"),
        "poll_calls_per_hour": events.get("poll_calls_per_hour"),
    }
    results["summary"] = summary
    results["targets_met"] = verdicts(summary)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    if args.markdown:
        sys.stdout.write(markdown(results))
    if args.json:
        line = {
            **summary,
            "targets_met": results["targets_met"],
            "machine": results["machine"],
            "sizes": {n: s["summary"] for n, s in results["sizes"].items()},
            "seconds": results["seconds"],
        }
        sys.stdout.write(json.dumps(line) + "\n")
    elif not args.markdown:
        sys.stdout.write(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
