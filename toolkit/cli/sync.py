"""``toolkit integrations ...`` and ``toolkit sync NAME``: the engine from the command line.

Exit codes of ``toolkit sync``: 0 succeeded, 1 failed, 2 usage or configuration error,
3 blocked by the mass-delete guard (B6), 4 stopped by the monthly quota (Q3: the run stopped at
the limit, or the integration is stopped and the quota has not reset nor been raised yet; the
message says when it resumes), 5 another run of the integration is in progress.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from toolkit.api import Toolkit
from toolkit.audit.reports import write_run_report
from toolkit.exceptions import ConfigError, QuotaExhausted, RunLockedError, ToolkitError
from toolkit.store import LinkState, RejectionState, RunStatus

__all__ = ["EXIT_CODES", "add_commands"]

EXIT_CODES = {RunStatus.SUCCEEDED: 0, RunStatus.FAILED: 1, RunStatus.BLOCKED: 3, RunStatus.STOPPED: 4}
"""Exit code of ``toolkit sync`` by the run's status."""
EXIT_CONFIG, EXIT_LOCKED = 2, 5

Command = Callable[[argparse.Namespace], int]
"""What a sub-command runs: its parsed arguments in, the exit code out."""


def _toolkit() -> Toolkit:
    return Toolkit(via="command line")


HELD_STATES = (LinkState.HELD_DELETE, LinkState.HELD_BREVO_DELETE)
"""Link states of deletions held by the mass-delete guard (B6): deleted in Salesforce, in Brevo."""

HELD_IDS_SHOWN = 10
"""Salesforce Ids of held deletions that ``toolkit integrations show`` lists."""


def _list(_args: argparse.Namespace) -> int:
    with _toolkit() as tk:
        rows = []
        for integ in tk.integrations():
            runs = tk.store.list_runs(integ.id, limit=1)
            last = runs[0] if runs else None
            open_rejections = len(tk.store.list_rejections(integ.id, state=RejectionState.OPEN))
            held = sum(tk.store.count_links(integ.id, state=state) for state in HELD_STATES)
            rows.append(
                (
                    integ.name,
                    integ.object,
                    integ.status,
                    str(integ.list_id or "-"),
                    f"{last.status} {last.started_at:%Y-%m-%d %H:%M}" if last else "never",
                    str(open_rejections),
                    str(held),
                )
            )
    header = ("NAME", "OBJECT", "STATUS", "LIST", "LAST RUN", "OPEN REJECTIONS", "HELD DELETIONS")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def _show(args: argparse.Namespace) -> int:
    """One integration as JSON: settings, mapping, links per state, held deletions, cursors, last run.

    ``mass_delete_share`` and ``mass_delete_min`` are the thresholds the B6 guard applies (the
    integration's own, else the settings'); ``held_deletions`` counts the deletions it holds
    per link state, with the first Salesforce Ids and the command that confirms them.
    """
    with _toolkit() as tk:
        integ = tk.store.get_integration(args.name)
        runs = tk.store.list_runs(integ.id, limit=1)
        by_state = {state: tk.store.count_links(integ.id, state=state) for state in LinkState}
        held = tk.held_deletions(integ.name)
        info = {
            "name": integ.name,
            "object": integ.object,
            "status": integ.status,
            "last_error": integ.last_error,
            "stop_reason": integ.stop_reason,
            "list_id": integ.list_id,
            "opt_in": integ.opt_in,
            "conflict_winner": integ.conflict_winner,
            "booleans_and_picklists": integ.sync_booleans_picklists,
            "default_region": integ.default_region,
            "mass_delete_share": integ.mass_delete_share or tk.settings.mass_delete_share,
            "mass_delete_min": (
                tk.settings.mass_delete_min if integ.mass_delete_min is None else integ.mass_delete_min
            ),
            "mapping": dict(integ.mapping.get("pairs", [])) if integ.mapping else {},
            "links": sum(by_state.values()),
            "links_by_state": {k: n for k, n in by_state.items() if n},
            "held_deletions": {
                "total": len(held),
                "by_state": {state: by_state[state] for state in HELD_STATES if by_state[state]},
                "sf_ids": [link.sf_id for link in held[:HELD_IDS_SHOWN]],
                "confirm": f"toolkit sync {shlex.quote(integ.name)} --confirm-deletes" if held else None,
            },
            "cursors": tk.store.cursors(integ.id),
            "last_run": None
            if not runs
            else {
                "id": runs[0].id,
                "status": runs[0].status,
                "counts": runs[0].counts,
                "error": runs[0].error,
            },
        }
    print(json.dumps(info, indent=2, default=str, ensure_ascii=False))
    return 0


def _set_status(args: argparse.Namespace) -> int:
    verbs = {"activate": "activate", "deactivate": "deactivate", "pause": "pause", "resume": "resume"}
    with _toolkit() as tk:
        integ = getattr(tk, verbs[args.command_name])(args.name)
    print(f"{integ.name}: {integ.status}" + (f" ({integ.stop_reason})" if integ.stop_reason else ""))
    return 0


def _delete(args: argparse.Namespace) -> int:
    with _toolkit() as tk:
        gone = tk.delete_integration(args.name, keep_history=not args.remove_history)
    kept = "its history removed" if args.remove_history else "its history kept for the month's report"
    print(f"{gone.name}: deleted, {kept}; its Brevo contacts are untouched")
    return 0


def _history(args: argparse.Namespace) -> int:
    with _toolkit() as tk:
        for change in tk.changes(args.name, limit=args.limit):
            what = (
                f"{change.field}: {change.old or 'none'} -> {change.new or 'none'}"
                if change.field
                else f"{change.action}" + (f" ({change.new})" if change.new else "")
            )
            print(f"{change.at:%Y-%m-%d %H:%M:%S} UTC  {change.actor}  [{change.via}]  {what}")
    return 0


def _sync(args: argparse.Namespace) -> int:
    bars: dict[str, tqdm[Any]] = {}

    def progress(phase: str, n: int) -> None:
        if phase not in bars:
            bars[phase] = tqdm(desc=phase, unit=" records", file=sys.stderr, disable=args.quiet, leave=True)
        bars[phase].update(n)

    try:
        with _toolkit() as tk:
            result = tk.run(
                args.name,
                dry_run=args.dry_run,
                full=args.full,
                confirm_deletes=args.confirm_deletes,
                progress=progress,
            )
            paths = (
                None
                if args.report_dir is None
                else write_run_report(
                    tk.store, result.run_id, args.report_dir, brevo_app_url=tk.settings.brevo_app_url
                )
            )
    except RunLockedError as exc:
        print(f"toolkit sync: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except QuotaExhausted as exc:  # Q3: stopped by the quota, and not resumed (no tasks left this month)
        print(f"toolkit sync: {exc}", file=sys.stderr)
        return EXIT_CODES[RunStatus.STOPPED]
    finally:
        for bar in bars.values():
            bar.close()
    verb = "would write" if result.dry_run else "wrote"
    print(f"{result.integration}: run {result.run_id} {result.status}; {verb} {result.tasks} records")
    for action, n in sorted(result.counts.items()):
        print(f"  {action:<24} {n}")
    for rule, n in sorted(result.rejected.items()):
        print(f"  rejected {rule:<15} {n}")
    if paths is not None:
        print(f"  audit report: {paths.html}\n                {paths.csv}")
    if result.message:
        print(result.message, file=sys.stderr)
    return EXIT_CODES.get(result.status, EXIT_CODES[RunStatus.FAILED])


def _report(args: argparse.Namespace) -> int:
    with _toolkit() as tk:
        run_id = args.run if args.run is not None else _last_run(tk, args.integration)
        paths = write_run_report(tk.store, run_id, args.dir, brevo_app_url=tk.settings.brevo_app_url)
    print(f"{paths.html}\n{paths.csv}")
    return 0


def _last_run(tk: Toolkit, integration: str | None) -> int:
    iid = None if integration is None else tk.store.get_integration(integration).id
    runs = [r for r in tk.store.list_runs(iid, limit=50) if not r.dry_run and r.status != RunStatus.RUNNING]
    if not runs:
        raise ConfigError("no finished run to report on yet")
    return int(runs[0].id)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``integrations`` and ``sync`` to the ``toolkit`` parser's sub-commands."""
    integrations = sub.add_parser(
        "integrations", help="list, show, activate, pause, resume, delete integrations; their history"
    )
    isub = integrations.add_subparsers(dest="command_name", required=True)
    isub.add_parser("list", help="every integration with its status").set_defaults(func=_list)
    show = isub.add_parser("show", help="one integration in detail (JSON)")
    show.add_argument("name")
    show.set_defaults(func=_show)
    for verb, what in (
        ("activate", "activate an integration"),
        ("deactivate", "deactivate an integration (back to a draft)"),
        ("pause", "pause an active integration (its next run after resume catches up)"),
        ("resume", "resume a paused integration"),
    ):
        p = isub.add_parser(verb, help=what)
        p.add_argument("name")
        p.set_defaults(func=_set_status)
    delete = isub.add_parser("delete", help="delete an integration (its Brevo contacts are never deleted)")
    delete.add_argument("name")
    delete.add_argument(
        "--remove-history",
        action="store_true",
        help="also remove its links, runs and audit (kept for the month's report by default)",
    )
    delete.set_defaults(func=_delete)
    history = isub.add_parser("history", help="who changed an integration, what and when (newest first)")
    history.add_argument("name")
    history.add_argument("--limit", type=int, default=50)
    history.set_defaults(func=_history)
    sync = sub.add_parser(
        "sync",
        help="run one integration's two-way sync",
        description="Exit codes: 0 succeeded, 1 failed, 2 configuration error, "
        "3 blocked by the mass-delete guard, 4 stopped by the quota, "
        "5 already running.",
    )
    sync.add_argument("name")
    sync.add_argument("--dry-run", action="store_true", help="show what would be written; write nothing (B1)")
    sync.add_argument(
        "--full", action="store_true", help="compare every record, not only changes since the last run"
    )
    sync.add_argument("--confirm-deletes", action="store_true", help="go ahead with a mass deletion (B6)")
    sync.add_argument("--quiet", action="store_true", help="no progress bars")
    sync.add_argument("--report-dir", type=Path, help="write the run's audit report (HTML and CSV) here (A2)")
    sync.set_defaults(func=_sync)
    report = sub.add_parser("report", help="write a run's audit report of rejected records (HTML and CSV)")
    report.add_argument("--run", type=int, help="the run (default: the latest finished run)")
    report.add_argument("--integration", help="the latest run of this integration")
    report.add_argument(
        "--dir", type=Path, default=Path("reports"), help="where to write (default ./reports)"
    )
    report.set_defaults(func=_report)


def run_command(func: Command, args: argparse.Namespace) -> int:
    """Run a command, turning configuration problems into exit code 2 with a one-line message."""
    try:
        return func(args)
    except (ConfigError, ToolkitError) as exc:
        print(f"toolkit: {exc}", file=sys.stderr)
        return EXIT_CONFIG
