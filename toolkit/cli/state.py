"""``toolkit state show|migrate|copy --to URL``: where the state is, its schema, moving it (issue 16).

``show`` prints the configured state's location (a URL without its password) and schema version;
``migrate`` brings the configured state's schema up to date (opening it does the same; this
says so explicitly, e.g. before the workers of a new release start); ``copy --to`` copies the
configured state (or ``--from``) into another, empty database, e.g. a SQLite file into
PostgreSQL before ``state_url`` is switched over. The copy is one transaction of the target.
"""

from __future__ import annotations

import argparse

from toolkit.config import Settings, redact_url
from toolkit.store import MIGRATIONS, Store
from toolkit.store.copy import copy_state

__all__ = ["add_commands"]


def _source(args: argparse.Namespace) -> str:
    if getattr(args, "source", None):
        return str(args.source)
    return str(Settings.from_env().state_location)


def _show(args: argparse.Namespace) -> int:
    with Store.open(_source(args)) as store:
        print(f"state: {store.location} ({store.dialect.name}), schema version {store.schema_version}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    with Store.open(_source(args)) as store:  # opening applies the migrations it lacks
        print(f"state: {store.location}: schema version {store.schema_version} of {len(MIGRATIONS)}")
    return 0


def _copy(args: argparse.Namespace) -> int:
    with Store.open(_source(args)) as source, Store.open(args.to) as target:
        counts = copy_state(source, target)
        print(f"copied {source.location} -> {target.location}")
        width = max(len(table) for table in counts)
        for table, n in counts.items():
            print(f"  {table:<{width}}  {n:>10,}")
    print(f"Set state_url (TOOLKIT_STATE_URL or toolkit.toml) to {redact_url(args.to)} to use it.")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``state`` (``show``, ``migrate``, ``copy``) to the ``toolkit`` parser's sub-commands."""
    state = sub.add_parser("state", help="the state database: where it is, its schema, copying it")
    ssub = state.add_subparsers(dest="state_command", required=True)
    ssub.add_parser("show", help="the configured state's location and schema version").set_defaults(
        func=_show
    )
    ssub.add_parser("migrate", help="bring the configured state's schema up to date").set_defaults(
        func=_migrate
    )
    copy = ssub.add_parser("copy", help="copy the state into another, empty database")
    copy.add_argument("--to", required=True, help="the target: postgresql://user@host/db or a SQLite file")
    copy.add_argument("--from", dest="source", help="the source (default: the configured state)")
    copy.set_defaults(func=_copy)
