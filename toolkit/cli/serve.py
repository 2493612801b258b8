"""``toolkit serve``: run the active integrations by themselves, receive Brevo's webhooks, serve the apps.

Everything is read from the settings (``toolkit.toml``, ``TOOLKIT_*`` variables; see
:class:`toolkit.config.Settings`: ``serve_host``, ``webhook_port``, ``apps_port``,
``public_url``, ``poll_seconds``, ``reconcile_schedule``, ``keep_runs_days``, ``run_retries``,
``retry_seconds``); the options below override them for one start. SIGTERM (systemd's stop) and
Ctrl-C stop it cleanly: the runs in progress finish first.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from toolkit.config import Settings

__all__ = ["add_commands"]


def _serve(args: argparse.Namespace) -> int:
    from toolkit.serve.app import serve_forever

    overrides = {
        key: value
        for key, value in (
            ("serve_host", args.host),
            ("webhook_port", args.webhook_port),
            ("apps_port", args.apps_port),
            ("public_url", args.public_url),
        )
        if value is not None
    }
    settings = Settings.from_env(**overrides)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    serve_forever(
        settings,
        print,
        stop,
        apps=not args.no_apps,
        viewer=args.viewer,
        jobs=not args.apps_only,
        webhooks=not (args.no_webhooks or args.apps_only),
    )
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``toolkit serve`` to the ``toolkit`` parser."""
    serve = sub.add_parser(
        "serve",
        help="run the active integrations on their schedules, receive Brevo webhooks, serve the apps",
        description=__doc__.replace("``", "").replace(":class:`toolkit.config.Settings`", "the Settings"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help="address to bind (default: serve_host, 127.0.0.1)")
    serve.add_argument("--webhook-port", type=int, help="the webhook receiver's port (default 8765)")
    serve.add_argument("--apps-port", type=int, help="the Voilà apps' port (default 8866)")
    serve.add_argument("--public-url", help="where Brevo reaches the receiver (registers the webhooks)")
    serve.add_argument(
        "--viewer", action="store_true", help="serve the apps read-only (dashboard, integrations)"
    )
    serve.add_argument("--no-apps", action="store_true", help="do not serve the Voilà apps")
    serve.add_argument(
        "--no-webhooks", action="store_true", help="do not receive (nor register) Brevo webhooks"
    )
    serve.add_argument(
        "--apps-only",
        action="store_true",
        help="serve only the apps: no runs, no webhooks (e.g. with --viewer)",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="log every job")
    serve.set_defaults(func=_serve)
