"""The connections under :class:`~toolkit.store.Store`: opening, one per thread, transactions.

The database is SQLite (the embedded default) or PostgreSQL; what differs between them is in
:mod:`toolkit.store.dialect`, and the SQL of the mixins is the same on both.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from toolkit.store.dialect import BUSY_TIMEOUT_MS, DB_FILE, Cursor, Database, Dialect, dialect_for
from toolkit.store.records import to_ts
from toolkit.store.schema import migrate

if TYPE_CHECKING:
    from toolkit.config import Settings

__all__ = [
    "BUSY_TIMEOUT_MS",
    "CHUNK",
    "DB_FILE",
    "StoreBase",
    "chunks",
    "dumps",
    "loads",
    "member",
    "one_of",
]

CHUNK = 500
"""Largest ``IN (...)`` list sent in one statement (well under every database's limit)."""
ARRAY_CHUNK = 5_000
"""Largest array of keys sent as one parameter (PostgreSQL's ``= ANY(?)``)."""

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """Yield lists of at most ``size`` items."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StoreBase:
    """Connections in autocommit mode, one per thread; writes go through :meth:`transaction`.

    A SQLite connection belongs to the thread that opened it (sqlite3's rule), and a transaction
    to its connection. The thread that opens the store uses the connection it opened; any other
    thread that uses the store gets a connection of its own to the same file on first use (the
    apps' callbacks may run on another thread than the cell that built them: JupyterLab's kernel
    subshells, a sign-in listener). They are as independent as separate processes: WAL mode and
    ``busy_timeout`` make them safe together, and each has its own transaction. On PostgreSQL
    the same holds (a psycopg connection per thread, each with its own transaction).
    """

    def __init__(self, db: Database, dialect: Dialect, clock: Callable[[], datetime] = _utc_now) -> None:
        self._local = threading.local()
        self._local.db = db
        self._others: list[Database] = []  # opened for other threads; closed by close()
        self._others_lock = threading.Lock()
        self.dialect = dialect
        self.path: Path | None = getattr(dialect, "path", None)
        """The SQLite file; ``None`` on PostgreSQL (see :attr:`location`)."""
        self._clock = clock

    @property
    def location(self) -> str:
        """Where the state is, fit for a log line (a file's path, or a URL without its password)."""
        return self.dialect.location

    @property
    def integrity_error(self) -> type[Exception]:
        """The exception a broken constraint raises on this store's database."""
        return self.dialect.integrity_error

    @property
    def db(self) -> Database:
        """This thread's connection (a thread other than the opener's gets its own on first use)."""
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise self.dialect.closed_error("Cannot operate on a closed database.")
            db = self._local.db = self.dialect.connect(
                check_same_thread=False
            )  # closed from close()'s thread
            with self._others_lock:
                self._others.append(db)
        return db

    @property
    def _depth(self) -> int:
        """This thread's transaction depth (0: none; more: savepoints inside it)."""
        return int(getattr(self._local, "depth", 0))

    @_depth.setter
    def _depth(self, depth: int) -> None:
        self._local.depth = depth

    _closed = False

    @classmethod
    def open(cls, path: Path | str, *, clock: Callable[[], datetime] | None = None) -> Self:
        """Open (creating if needed) the state database and bring its schema up to date.

        Args:
            path: the database file, or an existing directory in which ``state.db`` is used
                (see :meth:`from_settings` for the configured state directory), or a
                ``postgresql://`` URL (the database must exist; its tables are created here).
            clock: returns the current time (UTC-aware); defaults to the system clock, tests
                and the sandbox may pass their own.

        Returns:
            The open store (SQLite: in WAL mode with foreign keys on).
        """
        dialect = dialect_for(path)
        db = dialect.connect()
        try:
            migrate(db, dialect=dialect)
        except BaseException:
            db.close()
            raise
        return cls(db, dialect, clock or _utc_now)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Self:
        """Open ``settings.state_url``, else ``<state_dir>/state.db`` (creating the directory if needed)."""
        return cls.open(settings.state_location, clock=clock)

    def close(self) -> None:
        """Close the connections, every thread's (uncommitted work is rolled back)."""
        self._closed = True
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
        with self._others_lock:
            others, self._others = self._others, []
        for other in others:
            other.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """Run a block in one transaction: ``BEGIN IMMEDIATE``, then commit, or roll back on error.

        Nested blocks become savepoints: an error inside one undoes only that block (if the
        outer block catches it). The write lock is taken at the start, so two processes never
        interleave their writes.
        """
        if self._depth == 0:
            self.dialect.begin(self.db)
            self._depth = 1
            try:
                yield self
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
            return
        name = f"sp_{self._depth}"
        self.db.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self.db.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self.db.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            self.db.execute(f"RELEASE SAVEPOINT {name}")
        finally:
            self._depth -= 1

    # -- helpers for the table mixins -------------------------------------------------------

    def _now(self) -> str:
        return to_ts(self._clock())

    def _write(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        with self.transaction():
            return self.db.execute(sql, params)

    def _insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an ``INSERT ... RETURNING id`` (in the caller's transaction, or its own); the new id."""
        with self.transaction():
            cursor = self.db.execute(sql, params)
            return int(cursor.fetchall()[0][0])  # fetchall: SQLite ends RETURNING's statement

    def _write_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        with self.transaction():
            return self.db.executemany(sql, rows).rowcount

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, params).fetchall()

    def _in_chunks(self, sql: str, head: Sequence[Any], keys: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
        """Run ``sql`` (containing ``IN ({marks})``) once per chunk of keys, yielding the rows.

        On PostgreSQL the list is one array parameter (``= ANY(?)``): one statement text for
        every chunk (prepared once), and a plan that uses the index even before the table's
        statistics exist (a list of 500 marks read 100,000 links 6 times slower).
        """
        unique = list(dict.fromkeys(keys))
        if self.dialect.arrays:
            query = sql.replace("IN ({marks})", "= ANY(?)")
            for batch in chunks(unique, ARRAY_CHUNK):
                yield from self.db.execute(query, (*head, batch))
            return
        for batch in chunks(unique):
            query = sql.format(marks=", ".join("?" * len(batch)))
            yield from self.db.execute(query, (*head, *batch))


def dumps(value: Any) -> str:
    """Serialise a JSON column (sorted keys, UTF-8 kept, dates as text)."""
    return json.dumps(value if value is not None else {}, sort_keys=True, ensure_ascii=False, default=str)


def loads(text: str | None) -> Any:
    """Parse a JSON column (``NULL`` as ``{}``); typed ``Any`` as :func:`json.loads` is."""
    return json.loads(text) if text else {}


def member(kind: type[E], value: str, what: str) -> E:
    """``value`` as a member of the enum ``kind`` (a member or its text), else ``ValueError``.

    The error names the allowed values, as :func:`one_of` does.
    """
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise ValueError(f"{what} must be one of {allowed}; got {value!r}") from None


def one_of(value: str, allowed: Sequence[str], what: str) -> str:
    """Return ``value`` if allowed, else raise ``ValueError`` naming the allowed values."""
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")
    return value
