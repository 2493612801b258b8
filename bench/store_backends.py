"""Issue 16: the store's hot path (100,000 links upserted, then looked up 500 keys a statement) on
each way the store could run, to choose how it runs on both SQLite and PostgreSQL.

``python -m bench.store_backends [N]`` starts its own PostgreSQL server (tests/support/postgres.py,
Debian's binaries) and prints one line per variant. SQLAlchemy is measured only when installed
(it is not a dependency of the project): ``pip install sqlalchemy`` first to see it.

Variants:
- ``sqlite3``: what the store does today (stdlib sqlite3, ``?`` marks, ``executemany``).
- ``sqlite3 via dialect``: the same through the store's thin wrapper (``?`` kept as they are).
- ``sqlalchemy sqlite``: SQLAlchemy Core ``text()`` with named binds, ``conn.execute(stmt, [dicts])``.
- ``psycopg executemany``: psycopg 3's own ``executemany`` (pipeline mode), one statement per row.
- ``psycopg unnest``: one ``INSERT ... SELECT FROM unnest(%s::text[], ...)`` per 5,000 rows.
- ``PgConnection executemany``: the store's wrapper (``COPY`` into a temporary table, one
  ``INSERT ... SELECT ... ON CONFLICT``).
Every PostgreSQL variant analyses the table after writing and looks up 500 ``?`` marks a statement.
- ``sqlalchemy psycopg``: SQLAlchemy Core on psycopg (its insertmanyvalues batching).
- ``Store sqlite`` / ``Store postgresql``: the toolkit's own ``Store.upsert_links`` (first all new
  links, then all of them again as updates) and ``links_by_sf_ids``, as the engine calls them
  (PostgreSQL: COPY into a temporary table, ``= ANY(?)`` lists; see toolkit/store/dialect.py).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DDL = """CREATE TABLE links (
    integration_id INTEGER NOT NULL, sf_id TEXT NOT NULL, brevo_id BIGINT, email TEXT,
    sf_hash TEXT, brevo_hash TEXT, state TEXT NOT NULL DEFAULT 'active', synced TEXT,
    synced_at TEXT NOT NULL, detail TEXT, PRIMARY KEY (integration_id, sf_id))"""
COLUMNS = "integration_id, sf_id, brevo_id, email, sf_hash, brevo_hash, state, synced, synced_at, detail"
UPSERT = (
    f"INSERT INTO links ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (integration_id, sf_id) DO UPDATE SET "
    "brevo_id = COALESCE(excluded.brevo_id, links.brevo_id), email = excluded.email, "
    "sf_hash = excluded.sf_hash, brevo_hash = excluded.brevo_hash, state = excluded.state, "
    "synced = excluded.synced, synced_at = excluded.synced_at, detail = excluded.detail"
)
NAMES = [c.strip() for c in COLUMNS.split(",")]


def rows(n: int) -> list[tuple[Any, ...]]:
    return [
        (
            1,
            f"003{i:015d}",
            i + 1,
            f"p{i}@example.com",
            f"s{i}",
            None,
            "active",
            '{"A": 1}',
            "2026-12-06T12:00:00Z",
            None,
        )
        for i in range(n)
    ]


def timed(label: str, write: Callable[[], Any], read: Callable[[], int], n: int) -> None:
    started = time.perf_counter()
    write()
    wrote = time.perf_counter()
    found = read()
    done = time.perf_counter()
    assert found == n, (label, found)
    print(f"{label:28s} upsert {wrote - started:6.2f} s   lookup {done - wrote:6.2f} s", flush=True)


def _read_marks(db: Any, keys: list[str]) -> int:
    """Look the links up 500 keys a statement, ``IN (?, ?, ...)``; how many were found."""
    count = 0
    for i in range(0, len(keys), 500):
        batch = keys[i : i + 500]
        sql = f"SELECT {COLUMNS} FROM links WHERE integration_id = ? AND sf_id IN ({', '.join('?' * len(batch))})"
        count += len(db.execute(sql, (1, *batch)).fetchall())
    return count


def sqlite_raw(path: Path, data: list[tuple[Any, ...]], keys: list[str]) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(DDL)

    def write() -> None:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(UPSERT, data)
        db.execute("COMMIT")

    def read() -> int:
        return _read_marks(db, keys)

    timed("sqlite3", write, read, len(keys))
    db.close()


def sqlite_dialect(path: Path, data: list[tuple[Any, ...]], keys: list[str]) -> None:
    from toolkit.store.dialect import SqliteDialect

    dialect = SqliteDialect(path)
    db = dialect.connect()
    db.execute(DDL)

    def write() -> None:
        dialect.begin(db)
        db.executemany(UPSERT, data)
        db.execute("COMMIT")

    def read() -> int:
        return _read_marks(db, keys)

    timed("sqlite3 via dialect", write, read, len(keys))
    db.close()


def sqlalchemy_run(label: str, url: str, data: list[tuple[Any, ...]], keys: list[str]) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    named = UPSERT.replace(
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "VALUES (" + ", ".join(f":{c}" for c in NAMES) + ")"
    )
    dicts = [dict(zip(NAMES, row)) for row in data]
    with engine.begin() as conn:
        conn.execute(sa.text(DDL))

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text(named), dicts)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text("ANALYZE links"))

    def read() -> int:
        count = 0
        stmt = sa.text(f"SELECT {COLUMNS} FROM links WHERE integration_id = 1 AND sf_id IN :keys").bindparams(
            sa.bindparam("keys", expanding=True)
        )
        with engine.connect() as conn:
            for i in range(0, len(keys), 500):
                count += len(conn.execute(stmt, {"keys": keys[i : i + 500]}).fetchall())
        return count

    timed(label, write, read, len(keys))
    engine.dispose()


def psycopg_runs(url: str, data: list[tuple[Any, ...]], keys: list[str]) -> None:
    import psycopg

    from toolkit.store.dialect import PostgresDialect, pg_sql

    dialect = PostgresDialect(url)
    for label in ("psycopg executemany", "psycopg unnest", "PgConnection executemany"):
        db = dialect.connect()
        db.execute("DROP TABLE IF EXISTS links")
        db.execute(DDL)

        def write(label: str = label, db: Any = db) -> None:
            dialect.begin(db)
            if label == "PgConnection executemany":
                db.executemany(UPSERT, data)
            elif label == "psycopg executemany":
                db.raw.cursor().executemany(pg_sql(UPSERT), data)
            else:
                columns = list(zip(*data))
                types = ["int", "text", "bigint", "text", "text", "text", "text", "text", "text", "text"]
                select = ", ".join(f"unnest(%s::{t}[])" for t in types)
                sql = UPSERT.replace("VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", f"SELECT {select}")
                raw: psycopg.Connection[Any] = db.raw
                for i in range(0, len(data), 5000):
                    raw.execute(sql, [list(col[i : i + 5000]) for col in columns])
            db.execute("COMMIT")
            db.execute("ANALYZE links")

        def read(db: Any = db) -> int:
            return _read_marks(db, keys)

        timed(label, write, read, len(keys))
        db.close()


def store_run(label: str, location: Path | str, n: int) -> None:
    from toolkit.store import Link, Store

    store = Store.open(location)
    integration = store.create_integration("bench", "Contact").id
    links = [
        Link(
            integration,
            f"003{i:015d}",
            brevo_id=i + 1,
            email=f"p{i}@example.com",
            sf_hash=f"s{i}",
            synced={"A": 1},
        )
        for i in range(n)
    ]
    keys = [link.sf_id for link in links]
    timed(
        f"{label} (new)",
        lambda: store.upsert_links(links),
        lambda: len(store.links_by_sf_ids(integration, keys)),
        n,
    )
    timed(
        f"{label} (updates)",
        lambda: store.upsert_links(links),
        lambda: len(store.links_by_brevo_ids(integration, range(1, n + 1))),
        n,
    )
    store.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data = rows(n)
    keys = [row[1] for row in data]
    try:
        import sqlalchemy  # noqa: F401

        have_sa = True
    except ImportError:
        have_sa = False
    from tests.support.postgres import find_bindir, start_server

    with tempfile.TemporaryDirectory() as tmp:
        print(f"{n:,} links, first insert (all new rows), then a lookup of all by sf_id")
        sqlite_raw(Path(tmp) / "raw.db", data, keys)
        sqlite_dialect(Path(tmp) / "dialect.db", data, keys)
        if have_sa:
            sqlalchemy_run("sqlalchemy sqlite", f"sqlite:///{tmp}/sa.db", data, keys)
        store_run("Store sqlite", Path(tmp) / "store.db", n)
    bindir = find_bindir()
    if bindir is None:
        print("no PostgreSQL binaries: PostgreSQL variants skipped")
        return
    server = start_server(bindir)
    try:
        server.admin("CREATE DATABASE bench TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
        psycopg_runs(server.url("bench"), data, keys)
        server.admin(
            "CREATE DATABASE bench_store TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        )
        store_run("Store postgresql", server.url("bench_store"), n)
        if have_sa:
            server.admin("CREATE DATABASE bench_sa TEMPLATE template0")
            sqlalchemy_run(
                "sqlalchemy psycopg",
                server.url("bench_sa").replace("postgresql://", "postgresql+psycopg://"),
                data,
                keys,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
