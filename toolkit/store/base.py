"""The SQLite connection under :class:`~toolkit.store.Store`: opening, pragmas, transactions."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

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

DB_FILE = "state.db"
BUSY_TIMEOUT_MS = 10_000
CHUNK = 500
"""Largest ``IN (...)`` list sent in one statement (well under every database's limit)."""

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
    """One SQLite connection in autocommit mode; writes go through :meth:`transaction`.

    A ``Store`` belongs to the thread that opened it (sqlite3's rule); other processes may open
    the same file at the same time (WAL mode, ``busy_timeout``).
    """

    def __init__(self, db: sqlite3.Connection, path: Path, clock: Callable[[], datetime] = _utc_now) -> None:
        self.db = db
        self.path = path
        self._clock = clock
        self._depth = 0

    @classmethod
    def open(cls, path: Path | str, *, clock: Callable[[], datetime] | None = None) -> Self:
        """Open (creating if needed) the state database and bring its schema up to date.

        Args:
            path: the database file, or an existing directory in which ``state.db`` is used
                (see :meth:`from_settings` for the configured state directory).
            clock: returns the current time (UTC-aware); defaults to the system clock, tests
                and the sandbox may pass their own.

        Returns:
            The open store, in WAL mode with foreign keys on.
        """
        path = Path(path).expanduser()
        if path.is_dir():
            path = path / DB_FILE
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
            db.execute("PRAGMA foreign_keys = ON")
            migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db, path, clock or _utc_now)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Self:
        """Open ``settings.db_path`` (``<state_dir>/state.db``), creating the directory if needed."""
        return cls.open(settings.db_path, clock=clock)

    def close(self) -> None:
        """Close the connection (uncommitted work is rolled back)."""
        self.db.close()

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
            self.db.execute("BEGIN IMMEDIATE")
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

    def _write(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self.transaction():
            return self.db.execute(sql, params)

    def _write_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        with self.transaction():
            return self.db.executemany(sql, rows).rowcount

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, params).fetchall()

    def _in_chunks(self, sql: str, head: Sequence[Any], keys: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
        """Run ``sql`` (containing ``IN ({marks})``) once per chunk of keys, yielding the rows."""
        unique = list(dict.fromkeys(keys))
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
