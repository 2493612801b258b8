"""Issue 16: one integration's initial sync of N contacts and the no-change incremental run after
it, with the state on SQLite and on PostgreSQL, side by side (same sandbox seed, alternating).

``python -m bench.store_engine [N] [REPS]`` (default 10,000 contacts, 2 repetitions). The sandbox
runs in this process (tests/support/sync.py's ``make_env``), and PostgreSQL is the tests' server
(tests/support/postgres.py: Debian's binaries, fsync off), so the figures compare the two
states under the same load; they are not the issue's 100k benchmark (``python -m bench``).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def main() -> None:
    from tests.support.postgres import find_bindir, start_server
    from tests.support.sync import make_env, setup_integration

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL's server binaries are missing (apt-get install postgresql)")
    server = start_server(bindir)
    try:
        for rep in range(reps):
            for backend in ("sqlite", "postgresql"):
                with tempfile.TemporaryDirectory() as tmp:
                    extra: dict[str, Any] = {}
                    if backend == "postgresql":
                        extra["state_url"] = server.create_database()
                    sandbox, tk = make_env(Path(tmp), contacts=n, seed=5, **extra)
                    try:
                        setup_integration(tk)
                        started = time.perf_counter()
                        first = tk.run("contacts")
                        initial = time.perf_counter() - started
                        started = time.perf_counter()
                        second = tk.run("contacts")
                        incremental = time.perf_counter() - started
                        print(
                            f"rep {rep} {backend:10s} initial {initial:6.2f} s ({first.status})   "
                            f"incremental {incremental:6.2f} s ({second.status})",
                            flush=True,
                        )
                    finally:
                        tk.close()
                        sandbox.stop()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
