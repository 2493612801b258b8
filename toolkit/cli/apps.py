"""``toolkit apps token``: the token that logs a browser in to the Voilà apps (:mod:`toolkit.apps`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from toolkit.apps import APPS_TOKEN_ENV, VIEWER_TOKEN_ENV, apps_token
from toolkit.config import default_state_dir

__all__ = ["add_commands"]


def _apps_token_command(args: argparse.Namespace) -> int:
    """``toolkit apps token``: print the apps' login token (generated and saved on first use)."""
    state_dir = Path(args.state_dir) if args.state_dir else default_state_dir()
    print(apps_token(state_dir, viewer=args.viewer).reveal())
    return 0


def add_commands(sub: Any) -> None:
    """Add ``toolkit apps token`` to the ``toolkit`` command's sub-parsers (``sub``)."""
    apps = sub.add_parser("apps", help="the Voilà apps (their login)")
    apps_sub = apps.add_subparsers(dest="apps_command", required=True)
    token = apps_sub.add_parser(
        "token",
        help="print the token that logs a browser in to the Voilà apps",
        description=f"Prints ${APPS_TOKEN_ENV} if set, else the token kept in the state's credentials.json "
        "(generated and saved there, mode 0600, on first use). Anyone with it can use the apps.",
    )
    token.add_argument(
        "--viewer",
        action="store_true",
        help=f"the read-only apps' own token (${VIEWER_TOKEN_ENV}, else kept beside the other)",
    )
    token.add_argument(
        "--state-dir", help="the state directory (default: $TOOLKIT_STATE_DIR, else the default one)"
    )
    token.set_defaults(func=_apps_token_command)
