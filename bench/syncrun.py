"""One toolkit sync in a process of its own, as a scheduled job runs it; reports time and peak RSS.

``python -m bench.syncrun STATE_DIR [--name N] [--full] [--profile FILE]`` opens the toolkit on
STATE_DIR (its ``toolkit.toml`` points at the sandbox; the credentials are in its 0600 file),
runs the integration once and prints one JSON line: the run's status, tasks and counts, the
seconds the run took (``run_seconds``, from ``Toolkit.run`` called to returned), the seconds
to import and open the toolkit, the process's CPU seconds during the run (``run_cpu_seconds``,
user + system) and its peak resident set size (``ru_maxrss``).
With ``--profile``, pyinstrument records the run and writes its text report to FILE.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from .driver import cpu_seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.syncrun")
    parser.add_argument("state_dir", type=Path)
    parser.add_argument("--name", default="bench")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from toolkit.api import Toolkit
    from toolkit.config import Settings

    tk = Toolkit(Settings.from_env(state_dir=args.state_dir))
    opened = time.perf_counter() - started
    profiler: Any = None
    if args.profile is not None:
        from pyinstrument import Profiler  # only when profiling: `pip install pyinstrument`

        profiler = Profiler(interval=0.005)
        profiler.start()
    cpu = cpu_seconds()
    began = time.perf_counter()
    try:
        result = tk.run(args.name, full=args.full)
    finally:
        seconds = time.perf_counter() - began
        cpu = cpu_seconds() - cpu
        if profiler is not None:
            profiler.stop()
            args.profile.write_text(
                profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8"
            )
        tk.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(
        json.dumps(
            {
                "status": result.status,
                "tasks": result.tasks,
                "counts": result.counts,
                "rejected": result.rejected,
                "message": result.message,
                "run_seconds": seconds,
                "run_cpu_seconds": cpu,
                "open_seconds": opened,
                "peak_rss_mb": peak_kb / 1024,
            }
        )
    )
    return 0 if result.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
