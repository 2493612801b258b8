"""One worker of the multi-worker test (issue 16): ``python -m tests.support.worker --progress FILE ...``.

A worker is what one machine of several sharing a PostgreSQL state runs: a :class:`Toolkit`
from its environment (``TOOLKIT_STATE_DIR`` with its ``toolkit.toml`` and credentials,
``TOOLKIT_STATE_URL`` for the shared state; nothing secret on the command line), looping over
the integrations in its own seeded order and running each with ``tk.run(name)``. An integration
another worker is running (``RunLockedError``: its run lock is the server's advisory lock) is
tried again later. It stops when every integration has ``--need`` succeeded runs started after
run ``--after-run`` (read from the shared state), or, with ``--until-stopped``, is stopped by
the quota; exit 0, or 3 past ``--deadline`` seconds.

Every step goes to the ``--progress`` file as a JSON line: ``start`` before ``tk.run``,
``running`` with the run's id as soon as the run is recorded in the state (the worker holds the
integration's lock then), ``end`` with the run's id, status and tasks, or ``locked`` / ``error``;
so the test knows which run a killed worker was in.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from typing import IO, Any

from toolkit.api import Toolkit
from toolkit.exceptions import RunLockedError, ToolkitError
from toolkit.quota import STOP_REASON
from toolkit.store import IntegrationStatus, Run, RunStatus

IDLE = 0.05  # seconds to wait when every integration left was locked by other workers


def _log(out: IO[str], event: str, **fields: Any) -> None:
    out.write(json.dumps({"event": event, "pid": os.getpid(), "t": time.time(), **fields}) + "\n")
    out.flush()


def _done(tk: Toolkit, name: str, after: int, need: int, until_stopped: bool) -> bool:
    integration = tk.store.get_integration(name)
    if (
        until_stopped
        and integration.status == IntegrationStatus.STOPPED
        and integration.stop_reason == STOP_REASON
    ):
        return True
    runs = tk.store.list_runs(integration.id, limit=None)
    return sum(1 for r in runs if r.id > after and r.status == RunStatus.SUCCEEDED and not r.dry_run) >= need


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.worker")
    parser.add_argument("--progress", required=True, help="JSON-lines file of this worker's steps")
    parser.add_argument("--seed", type=int, required=True, help="seed of this worker's order of runs")
    parser.add_argument("--after-run", type=int, required=True, help="count runs with a greater id only")
    parser.add_argument("--need", type=int, default=1, help="succeeded runs per integration")
    parser.add_argument("--until-stopped", action="store_true", help="stopped by the quota counts as done")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds before giving up (exit 3)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started = time.monotonic()
    with open(args.progress, "a", encoding="utf-8") as out, Toolkit() as tk:
        names = sorted(i.name for i in tk.store.list_integrations())
        start_run = tk.store.start_run

        def recorded(integration_id: int, **kwargs: Any) -> Run:
            """``Store.start_run``, then the ``running`` line: this worker's run and its id."""
            run = start_run(integration_id, **kwargs)
            _log(out, "running", integration_id=integration_id, run_id=run.id)
            return run

        setattr(tk.store, "start_run", recorded)  # noqa: B010 (an instance attribute over the method)
        _log(out, "ready", integrations=names)
        while True:
            pending = [n for n in names if not _done(tk, n, args.after_run, args.need, args.until_stopped)]
            if not pending:
                _log(out, "done")
                return 0
            if time.monotonic() - started > args.deadline:
                _log(out, "deadline", pending=pending)
                return 3
            rng.shuffle(pending)
            ran = False
            for name in pending:
                if _done(tk, name, args.after_run, args.need, args.until_stopped):
                    continue
                _log(out, "start", name=name)
                try:
                    result = tk.run(name)
                except RunLockedError:
                    _log(out, "locked", name=name)
                    continue
                except ToolkitError as exc:  # e.g. stopped by the quota, a sign-in that failed for good
                    _log(out, "error", name=name, error=f"{type(exc).__name__}: {exc}")
                    continue
                ran = True
                _log(
                    out,
                    "end",
                    name=name,
                    run_id=result.run_id,
                    status=str(result.status),
                    tasks=result.tasks,
                    message=result.message,
                )
            if not ran:
                time.sleep(IDLE)


if __name__ == "__main__":
    sys.exit(main())
