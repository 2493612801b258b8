"""Copying a whole state from one database to another (``toolkit state copy --to postgresql://...``).

The target must be empty (its schema is made by opening it, at the same version as the source's,
since both are opened by this toolkit). Tables are copied in the order their foreign keys need,
by column name, in batches read through :meth:`~toolkit.store.dialect.Dialect.stream`, all in
one transaction of the target: a copy that fails leaves the target as empty as it was. Identity
columns then continue after the highest id copied (PostgreSQL's sequences do not follow
inserted ids by themselves).
"""

from __future__ import annotations

from toolkit.exceptions import ConfigError
from toolkit.store.base import StoreBase

__all__ = ["TABLES", "copy_state"]

TABLES = (
    "connections",
    "integrations",
    "runs",
    "links",
    "cursors",
    "rejections",
    "conflicts",
    "quota_settings",
    "quota_ledger",
    "quota_reservations",
    "outbox",
    "webhook_events",
    "polls",
    "changes",
)
"""Every table of the schema, each after the tables its foreign keys name."""

BATCH = 5_000


def _columns(store: StoreBase, table: str) -> list[str]:
    cursor = store.db.execute(f"SELECT * FROM {table} WHERE 1 = 0")
    description = getattr(cursor, "description", None) or []
    cursor.fetchall()
    return [str(column[0]) for column in description]


def copy_state(source: StoreBase, target: StoreBase) -> dict[str, int]:
    """Copy every row of ``source`` into the empty ``target``; the rows copied, by table.

    Raises:
        ConfigError: the two are at different schema versions, or the target holds rows already.
    """
    versions = (source.dialect.schema_version(source.db), target.dialect.schema_version(target.db))
    if versions[0] != versions[1]:
        raise ConfigError(f"schema versions differ (source {versions[0]}, target {versions[1]})")
    filled = [t for t in TABLES if target.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]]
    if filled:
        raise ConfigError(
            f"the target state {target.location} is not empty ({', '.join(filled)}): "
            "copy into a new, empty database"
        )
    counts: dict[str, int] = {}
    with target.transaction():
        for table in TABLES:
            columns = _columns(source, table)
            wanted = _columns(target, table)
            if set(columns) != set(wanted):
                raise ConfigError(f"table {table}: the columns differ ({sorted(set(columns) ^ set(wanted))})")
            listed = ", ".join(columns)
            insert = f"INSERT INTO {table} ({listed}) VALUES ({', '.join('?' * len(columns))})"
            counts[table] = 0
            order = " ORDER BY id" if "id" in columns else ""
            rows = source.dialect.stream(source.db, f"SELECT {listed} FROM {table}{order}", (), BATCH)
            for batch in rows:
                target.db.executemany(insert, batch)
                counts[table] += len(batch)
            if "id" in columns:
                target.dialect.continue_ids(target.db, table)
    return counts
