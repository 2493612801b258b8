"""What differs between the store's two databases, SQLite and PostgreSQL, and nothing more.

The store's SQL is written once, with ``?`` marks, and runs on both (issue 16; the decision is in
``docs/DESIGN.md``, "The state on SQLite or PostgreSQL"). A :class:`Dialect` knows how to open a
connection, start a write transaction, keep the schema version and spell the few DDL phrases
that differ; the connection it returns has the ``sqlite3`` methods the mixins use (``execute``,
``executemany``, ``in_transaction``, ``close``; cursors with ``fetchone``, ``fetchall``,
``rowcount`` and iteration).

- **SQLite**: the connection *is* a ``sqlite3.Connection`` (autocommit, WAL, foreign keys, busy
  timeout), so the embedded default pays nothing for the second backend.
- **PostgreSQL** (psycopg 3, imported only when a ``postgresql://`` URL is opened, from the
  ``postgresql`` extra): :class:`PgConnection` rewrites each statement once (``?`` -> ``%s``,
  ``%`` -> ``%%``, outside quoted text; cached), loads ``numeric`` (``SUM`` of integers) as
  ``int``, and sends Python booleans as integers (the schema keeps booleans as ``INTEGER`` 0/1).
  A write transaction is ``BEGIN`` followed by ``pg_advisory_xact_lock`` on one store-wide key:
  writers take turns as with SQLite's ``BEGIN IMMEDIATE``, so the code's read-then-write steps
  (S3's count, quota reservations, the outbox's claim) keep their meaning across machines,
  and the lock goes with the transaction, whatever ends it. The schema version is a one-row
  table, ``schema_version``, instead of ``PRAGMA user_version``.
"""

from __future__ import annotations

import functools
import itertools
import re
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from toolkit.config import redact_url
from toolkit.exceptions import ConfigError

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "BUSY_TIMEOUT_MS",
    "Cursor",
    "DB_FILE",
    "Database",
    "Dialect",
    "NAMED_LOCKS",
    "PgConnection",
    "PostgresDialect",
    "SqliteDialect",
    "WRITE_LOCK",
    "constraint_kind",
    "dialect_for",
    "is_postgres_url",
    "lock_key",
    "pg_sql",
]

DB_FILE = "state.db"
BUSY_TIMEOUT_MS = 10_000
WRITE_LOCK = (0x5EB1, 1)
"""The advisory lock key (two int4) a PostgreSQL write transaction holds: the store's writers' turn."""
NAMED_LOCKS = 0x5EB2
"""The first int4 of named session locks (:meth:`PostgresDialect.try_lock`); the second is the name's CRC-32."""


def lock_key(name: str) -> tuple[int, int]:
    """A named lock's two int4 keys (a CRC-32 as a signed int4: two names may share one, never wrongly free)."""
    crc = zlib.crc32(name.encode())
    return NAMED_LOCKS, crc - (1 << 32) if crc >= 1 << 31 else crc


class Cursor(Protocol):
    """What the store reads from a statement's result (``sqlite3.Cursor`` and psycopg's both fit)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ..., /) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """One connection as the store uses it: a ``sqlite3.Connection``, or a :class:`PgConnection`."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def close(self) -> None: ...


class Dialect(Protocol):
    """How one kind of database is opened, written and versioned."""

    name: str
    integrity_error: type[Exception]
    """The exception a broken constraint raises (``UNIQUE``, ``CHECK``, foreign keys)."""
    error: type[Exception]
    """Every error of the database driver (its DB-API ``Error``)."""
    arrays: bool
    """Whether a list can be one parameter (``= ANY(?)``) instead of ``IN (?, ?, ...)``."""
    closed_error: type[Exception]
    """What using a closed connection raises (``ProgrammingError`` for sqlite3, ``OperationalError`` for psycopg)."""

    @property
    def location(self) -> str:
        """Where the state is, fit for a log line (a path, or the URL without its password)."""
        ...

    def connect(self, *, check_same_thread: bool = True) -> Database:
        """A new connection in autocommit mode (``check_same_thread``: SQLite's rule, kept or not)."""
        ...

    def begin(self, db: Database) -> None:
        """Start a write transaction: others' writes wait until it ends."""
        ...

    def schema_version(self, db: Database) -> int: ...

    def set_schema_version(self, db: Database, version: int) -> None:
        """Record the version, inside the migration's transaction."""
        ...

    def ddl(self, statement: str) -> str:
        """A migration's statement as this database spells it."""
        ...

    def try_lock(self, db: Database, name: str) -> bool | None:
        """Take the named session lock on ``db`` without waiting: whether it was taken (``None``: no such locks)."""
        ...

    def stream(self, db: Database, sql: str, params: Sequence[Any], batch: int) -> Iterator[list[Any]]:
        """The rows of a query, ``batch`` at a time, without holding them all in this process."""
        ...

    def continue_ids(self, db: Database, table: str) -> None:
        """Make ``table``'s next generated ``id`` follow the highest one in it (after a copy)."""
        ...

    def unlock(self, db: Database, name: str) -> None:
        """Release a lock :meth:`try_lock` took on ``db``."""
        ...


def constraint_kind(exc: BaseException) -> str | None:
    """Which kind of constraint an integrity error broke: ``unique``, ``foreign_key``, ``check``, ``not_null``.

    SQLite says it in the message, PostgreSQL in the SQLSTATE (``23505``, ``23503``, ``23514``, ``23502``).
    """
    state = getattr(exc, "sqlstate", None)
    if state:
        return {"23505": "unique", "23503": "foreign_key", "23514": "check", "23502": "not_null"}.get(state)
    text = str(exc)
    for word, kind in (
        ("UNIQUE", "unique"),
        ("FOREIGN KEY", "foreign_key"),
        ("CHECK", "check"),
        ("NOT NULL", "not_null"),
    ):
        if word in text:
            return kind
    return None


def is_postgres_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def dialect_for(target: Path | str) -> Dialect:
    """The dialect of a state location: a PostgreSQL URL, else a SQLite file or its directory."""
    if is_postgres_url(target):
        return PostgresDialect(str(target))
    if isinstance(target, str) and "://" in target:
        scheme = target.split("://", 1)[0]
        raise ConfigError(
            f"state_url {redact_url(target)!r}: unknown scheme {scheme!r}; "
            "give a SQLite file path or a postgresql:// URL"
        )
    path = Path(target).expanduser()
    if path.is_dir():
        path = path / DB_FILE
    return SqliteDialect(path)


# -- SQLite ------------------------------------------------------------------------------------


class SqliteDialect:
    """The embedded default: one file, WAL, ``BEGIN IMMEDIATE``, ``PRAGMA user_version``."""

    name = "sqlite"
    integrity_error: type[Exception] = sqlite3.IntegrityError
    error: type[Exception] = sqlite3.Error
    closed_error: type[Exception] = sqlite3.ProgrammingError
    arrays = False

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def location(self) -> str:
        return str(self.path)

    def connect(self, *, check_same_thread: bool = True) -> sqlite3.Connection:
        """A connection in autocommit mode with the store's pragmas (WAL, foreign keys, busy timeout)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = sqlite3.connect(
            self.path,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=check_same_thread,
        )
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
            db.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            db.close()
            raise
        return db

    def begin(self, db: Database) -> None:
        db.execute("BEGIN IMMEDIATE")

    def schema_version(self, db: Database) -> int:
        return int(db.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, db: Database, version: int) -> None:
        db.execute(f"PRAGMA user_version = {int(version)}")

    def ddl(self, statement: str) -> str:
        return statement

    def try_lock(self, db: Database, name: str) -> bool | None:
        return None  # one machine: the run lock is a file lock (toolkit.sync.lock)

    def unlock(self, db: Database, name: str) -> None:
        return None

    def stream(self, db: Database, sql: str, params: Sequence[Any], batch: int) -> Iterator[list[Any]]:
        cursor = db.execute(sql, params)  # sqlite3 steps through the result as it is fetched
        while rows := cursor.fetchmany(batch):
            yield rows

    def continue_ids(self, db: Database, table: str) -> None:
        return None  # a rowid alias is always one more than the highest


# -- PostgreSQL --------------------------------------------------------------------------------

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")


@functools.lru_cache(maxsize=2048)
def pg_sql(sql: str) -> str:
    """``sql`` with ``?`` marks as psycopg's ``%s`` and literal ``%`` doubled (quoted text kept)."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token.replace("%", "%%")  # psycopg reads every % of the query, quoted or not

    return _TOKENS.sub(swap, sql)


_IDENTITY = re.compile(r"\bid INTEGER PRIMARY KEY\b")
_INSERT = re.compile(
    r"\s*INSERT INTO (?P<table>\w+) \((?P<columns>[^)]*)\)\s+VALUES \((?:\?,\s*)*\?\)(?P<rest>.*)",
    re.S | re.I,
)
_UPDATE = re.compile(
    r"\s*UPDATE (?P<table>\w+) SET (?P<sets>\w+ = \?(?:, \w+ = \?)*) WHERE (?P<where>\w+ = \?(?: AND \w+ = \?)*)\s*",
    re.I,
)
_CONFLICT = re.compile(r"ON CONFLICT \((?P<keys>[^)]*)\)\s+DO (?P<action>UPDATE|NOTHING)", re.I)
COPY_MIN_ROWS = 50
"""From this many rows on, an ``INSERT ... VALUES`` sent with ``executemany`` goes through ``COPY``."""
ANALYZE_MIN_ROWS = 5_000
"""After a ``COPY`` of this many rows the table is analysed at once."""
_STREAMS = itertools.count(1)


class _Done:
    """The result of a statement that returns no rows: how many rows it changed."""

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return None

    def fetchall(self) -> list[Any]:
        return []

    def fetchmany(self, size: int = 0, /) -> list[Any]:
        return []

    def __iter__(self) -> Iterator[Any]:
        return iter(())


class PgConnection:
    """A psycopg connection (autocommit) with the ``sqlite3`` methods the store calls."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        return self.raw.execute(pg_sql(sql), parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        """Run ``sql`` once per row; many rows of a plain ``INSERT`` or ``UPDATE`` go through ``COPY``.

        ``COPY`` into a temporary table, then one ``INSERT ... SELECT`` with the statement's own
        ``ON CONFLICT`` clause, or one ``UPDATE ... FROM``: 100,000 links inserted in 0.59 s
        where one statement per row (psycopg's pipeline) takes 1.08 s, and updated in 1.1-1.5 s
        instead of 3.3 s (``python -m bench.store_backends``, docs/DESIGN.md). Rows repeating a key (the conflict target, the ``WHERE`` columns) go in
        later rounds, in order (one statement cannot change a row twice), so the result and the
        count are ``executemany``'s.
        """
        insert, update = _INSERT.fullmatch(sql), _UPDATE.fullmatch(sql)
        if insert is not None or update is not None:
            rows = list(parameters)
            if len(rows) >= COPY_MIN_ROWS:
                if insert is not None:
                    return self._copy_insert(insert, rows)
                assert update is not None
                return self._copy_update(update, rows)
            parameters = rows
        cursor = self.raw.cursor()
        cursor.executemany(pg_sql(sql), parameters)
        return cursor

    def _copy_insert(self, insert: re.Match[str], rows: list[Sequence[Any]]) -> Cursor:
        table, rest = insert["table"], insert["rest"]
        columns = [c.strip() for c in insert["columns"].split(",")]
        conflict = _CONFLICT.search(rest)
        keys = [columns.index(k.strip()) for k in conflict["keys"].split(",")] if conflict else []
        listed = ", ".join(columns)
        staging = self._staging(table, columns, columns)
        changed = self._in_rounds(
            staging,
            columns,
            rows,
            keys,
            f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {staging}{rest}",
        )
        if len(rows) >= ANALYZE_MIN_ROWS:
            # Fresh statistics now, not at autovacuum's next turn: without them the planner
            # filters a large ``= ANY(?)`` row by row (100,000 links looked up in 32 s, not 0.9 s).
            self.raw.execute(f"ANALYZE {table}")
        return _Done(changed)

    def _copy_update(self, update: re.Match[str], rows: list[Sequence[Any]]) -> Cursor:
        table = update["table"]
        sets = [part.split("=")[0].strip() for part in update["sets"].split(",")]
        where = [part.split("=")[0].strip() for part in re.split(r"\s+AND\s+", update["where"], flags=re.I)]
        marks = [f"p{i}" for i in range(len(sets) + len(where))]
        staging = self._staging(table, [*sets, *where], marks)
        assignments = ", ".join(f"{column} = s.{mark}" for column, mark in zip(sets, marks))
        tests = " AND ".join(f"t.{column} = s.{mark}" for column, mark in zip(where, marks[len(sets) :]))
        statement = f"UPDATE {table} AS t SET {assignments} FROM {staging} AS s WHERE {tests}"
        keys = list(range(len(sets), len(marks)))
        return _Done(self._in_rounds(staging, marks, rows, keys, statement))

    def _staging(self, table: str, columns: list[str], names: list[str]) -> str:
        """A temporary table with ``table``'s types for ``columns``, named ``names`` (made if missing:
        one made in a transaction that rolled back went with it)."""
        listed = ", ".join(f"{column} AS {name}" for column, name in zip(columns, names))
        staging = f"bulk_{table}_{zlib.crc32(listed.encode()):08x}"
        self.raw.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} AS SELECT {listed} FROM {table} WITH NO DATA"
        )
        return staging

    def _in_rounds(
        self, staging: str, names: list[str], rows: list[Sequence[Any]], keys: list[int], statement: str
    ) -> int:
        """COPY ``rows`` into ``staging`` and run ``statement`` once per round; the rows it changed.

        A key's n-th row goes in round n: each round's keys are distinct, and the rounds run in
        order, so each row meets what the rows before it left, as with one statement per row
        (``COALESCE(excluded.x, t.x)``, the last of two updates winning).
        """
        rounds = [rows]
        if keys:
            seen: dict[tuple[Any, ...], int] = {}
            rounds = []
            for row in rows:
                key = tuple(row[i] for i in keys)
                n = seen[key] = seen.get(key, -1) + 1
                if n == len(rounds):
                    rounds.append([])
                rounds[n].append(row)
        listed = ", ".join(names)
        changed = 0
        cursor = self.raw.cursor()
        for batch in rounds:
            with cursor.copy(f"COPY {staging} ({listed}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row(row)
            cursor.execute(pg_sql(statement), ())
            changed += max(cursor.rowcount, 0)
            self.raw.execute(f"DELETE FROM {staging}")  # inside the caller's transaction, as the COPY
        return changed

    def close(self) -> None:
        self.raw.close()


class PostgresDialect:
    """A shared PostgreSQL database: identity columns, advisory write lock, a version table."""

    name = "postgresql"
    arrays = True

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            import psycopg
        except ImportError:
            raise ConfigError(
                "a postgresql:// state needs psycopg: pip install 'sf-brevo-toolkit[postgresql]'"
            ) from None
        self.integrity_error: type[Exception] = psycopg.IntegrityError
        self.error: type[Exception] = psycopg.Error
        self.closed_error: type[Exception] = psycopg.OperationalError

    @property
    def location(self) -> str:
        return redact_url(self.url)

    @property
    def database(self) -> str:
        return urlsplit(self.url).path.lstrip("/")

    def connect(self, *, check_same_thread: bool = True) -> PgConnection:
        import psycopg
        from psycopg.adapt import Dumper, Loader

        class BoolAsInt(Dumper):
            oid = psycopg.postgres.types["int4"].oid

            def dump(self, obj: Any) -> bytes:
                return b"1" if obj else b"0"

        class NumericAsNumber(Loader):
            def load(self, data: Any) -> Any:
                text = bytes(data)
                return float(text) if text.strip(b"-0123456789") else int(text)

        try:
            raw = psycopg.connect(self.url, autocommit=True, application_name="sf-brevo-toolkit")
        except psycopg.OperationalError as exc:
            # libpq's message names the host and the user, never the password; the URL is redacted.
            raise ConfigError(f"cannot open the state at {self.location}: {exc}") from None
        raw.adapters.register_dumper(bool, BoolAsInt)
        raw.adapters.register_loader("numeric", NumericAsNumber)
        return PgConnection(raw)

    def begin(self, db: Database) -> None:
        db.execute("BEGIN")
        db.execute("SELECT pg_advisory_xact_lock(?, ?)", WRITE_LOCK)

    def schema_version(self, db: Database) -> int:
        exists = db.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
        if not exists:
            return 0
        row = db.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def set_schema_version(self, db: Database, version: int) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (one INTEGER PRIMARY KEY DEFAULT 1 CHECK (one = 1), "
            "version INTEGER NOT NULL)"
        )
        db.execute(
            "INSERT INTO schema_version (one, version) VALUES (1, ?) "
            "ON CONFLICT (one) DO UPDATE SET version = excluded.version",
            (int(version),),
        )

    def try_lock(self, db: Database, name: str) -> bool | None:
        """``pg_try_advisory_lock``: held by ``db``'s session until :meth:`unlock`, or until the
        session ends however it ends (a worker killed with SIGKILL: the server sees its socket close)."""
        return bool(db.execute("SELECT pg_try_advisory_lock(?, ?)", lock_key(name)).fetchone()[0])

    def unlock(self, db: Database, name: str) -> None:
        db.execute("SELECT pg_advisory_unlock(?, ?)", lock_key(name)).fetchall()

    def stream(self, db: Database, sql: str, params: Sequence[Any], batch: int) -> Iterator[list[Any]]:
        """A server-side cursor (``WITH HOLD``: usable outside a transaction and across commits);
        psycopg's ordinary cursor would bring the whole result over at once."""
        if not isinstance(db, PgConnection):  # pragma: no cover - the dialect opened it
            raise TypeError("a PostgreSQL stream needs the dialect's own connection")
        cursor = db.raw.cursor(name=f"stream_{next(_STREAMS)}", withhold=True)
        try:
            cursor.execute(pg_sql(sql), params)
            while rows := cursor.fetchmany(batch):
                yield rows
        finally:
            cursor.close()

    def continue_ids(self, db: Database, table: str) -> None:
        db.execute(
            f"SELECT setval(pg_get_serial_sequence(?, 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)",
            (table,),
        ).fetchall()

    def ddl(self, statement: str) -> str:
        """SQLite's ``id INTEGER PRIMARY KEY`` (a rowid alias) as an identity column."""
        return _IDENTITY.sub("id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", statement)
