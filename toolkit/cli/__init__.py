"""The ``toolkit`` command line: ``sandbox start``, ``demo``, ``integrations``, ``sync``, ``report``, ``quota``, ``state``.

Each module adds its sub-commands to the parser (:mod:`toolkit.cli.sync`, :mod:`toolkit.cli.quota`);
the sandbox and the demo are imported only when asked for (they need the ``sandbox`` extra).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from toolkit.cli.apps import add_commands as add_apps_commands
from toolkit.cli.quota import add_commands as add_quota_commands
from toolkit.cli.serve import add_commands as add_serve_commands
from toolkit.cli.state import add_commands as add_state_commands
from toolkit.cli.sync import add_commands, run_command
from toolkit.exceptions import ToolkitError

EXIT_OK = 0
EXIT_USAGE = 2
INSTALL_SANDBOX = "pip install 'sf-brevo-toolkit[sandbox]' (in a clone: pip install -e '.[sandbox]')"


def _sandbox_start(args: argparse.Namespace) -> int:
    try:
        from toolkit.sandbox.middleware import FaultPlan
        from toolkit.sandbox.runner import Sandbox, SandboxConfig
    except ModuleNotFoundError as exc:
        raise ToolkitError(f"the sandbox needs its extra ({exc.name} is missing): {INSTALL_SANDBOX}") from exc

    faults = (
        FaultPlan.parse(args.faults, seed=args.fault_seed, delay_seconds=args.fault_delay)
        if args.faults
        else None
    )
    config = SandboxConfig(
        contacts=args.contacts,
        leads=args.leads,
        seed=args.seed,
        state_file=args.state,
        workdir=args.workdir,
        faults=faults,
        brevo_rate_limit=args.brevo_rate_limit,
        api_daily_limit=args.api_daily_limit,
        salesforce_port=args.salesforce_port,
        brevo_port=args.brevo_port,
        wire_variants=not args.documented_forms_only,
    )
    sandbox = Sandbox(config)
    info = sandbox.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # The first line on stdout is the machine-readable contract; everything else goes to stderr.
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    print(_human_summary(info), file=sys.stderr, flush=True)
    stop.wait()
    sandbox.stop()
    print("sandbox stopped" + (f"; state saved to {args.state}" if args.state else ""), file=sys.stderr)
    return EXIT_OK


def _human_summary(info: dict[str, Any]) -> str:
    sf, brevo, sb = info["salesforce"], info["brevo"], info["sandbox"]
    return "\n".join(
        [
            f"Salesforce sandbox: {sf['instance_url']}  ({sb['contacts']} contacts, {sb['leads']} leads)",
            f"  OAuth token URL:  {sf['login_url']}/services/oauth2/token  (client id {sf['client_id'][:12]}...)",
            f"  REST API:         {sf['instance_url']}/services/data/v{sf['api_version']}/",
            f"Brevo sandbox:      {brevo['base_url']}  (header api-key)",
            f"Trust this CA:      {sf['ca_bundle']}",
            "Credentials are in the JSON line on stdout. Press Ctrl-C to stop.",
        ]
    )


def _demo(args: argparse.Namespace) -> int:
    from toolkit.cli.demo import run_demo

    return run_demo(serve=not args.no_serve, server=args.server)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``toolkit`` command."""
    parser = argparse.ArgumentParser(prog="toolkit", description="Salesforce <-> Brevo sync toolkit.")
    sub = parser.add_subparsers(dest="command", required=True)
    sandbox = sub.add_parser("sandbox", help="local Salesforce and Brevo APIs for trying and testing")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    start = sandbox_sub.add_parser(
        "start",
        help="serve both APIs on 127.0.0.1 until stopped",
        description="Prints ONE line of JSON on stdout with everything a client "
        "needs, then serves until SIGINT/SIGTERM.",
    )
    start.add_argument("--contacts", type=int, default=1000, help="Contacts to generate (default 1000)")
    start.add_argument("--leads", type=int, default=250, help="Leads to generate (default 250)")
    start.add_argument("--seed", type=int, default=0, help="seed of the data generator")
    start.add_argument(
        "--state", type=Path, help="load state from this JSON file if it exists; save to it on stop"
    )
    start.add_argument(
        "--workdir", type=Path, help="where to write the CA bundle and JWT key (default: temp dir)"
    )
    start.add_argument(
        "--faults", help='share of faulted requests, e.g. "429=0.05,503=0.02,reset=0.01,delay=0.05"'
    )
    start.add_argument("--fault-seed", type=int, help="seed of the fault draw")
    start.add_argument(
        "--fault-delay", type=float, default=1.0, help="seconds a 'delay' fault holds a request"
    )
    start.add_argument(
        "--brevo-rate-limit",
        type=float,
        default=10.0,
        help="Brevo contacts requests per second (default 10, 0 = unlimited)",
    )
    start.add_argument("--api-daily-limit", type=int, default=100_000, help="Salesforce daily API allowance")
    start.add_argument(
        "--salesforce-port", type=int, default=0, help="port for Salesforce (default: any free)"
    )
    start.add_argument("--brevo-port", type=int, default=0, help="port for Brevo (default: any free)")
    start.add_argument(
        "--documented-forms-only",
        action="store_true",
        help="send only the documented wire forms (by default every form the references allow, "
        "e.g. timestamps without milliseconds, picked per --seed)",
    )
    start.set_defaults(func=_sandbox_start)
    demo = sub.add_parser("demo", help="the sandbox with seeded data and a short tour (make demo)")
    demo.add_argument("--no-serve", action="store_true", help="exit after the tour instead of serving")
    demo.add_argument(
        "--server", action="store_true", help="then run `toolkit serve` on the demo's state (make serve)"
    )
    demo.set_defaults(func=_demo)
    notebooks = sub.add_parser(
        "notebooks", help="print the folder of the notebooks (Voilà apps, sync.ipynb for papermill)"
    )
    notebooks.set_defaults(func=_notebooks)
    add_commands(sub)
    add_quota_commands(sub)
    add_serve_commands(sub)
    add_state_commands(sub)  # toolkit state show|migrate|copy
    add_apps_commands(sub)  # toolkit apps token
    return parser


def _notebooks(args: argparse.Namespace) -> int:
    from toolkit.apps import NOTEBOOKS

    print(NOTEBOOKS)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``toolkit`` command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run_command(args.func, args)
    except ValueError as exc:
        print(f"toolkit: {exc}", file=sys.stderr)
        return EXIT_USAGE
