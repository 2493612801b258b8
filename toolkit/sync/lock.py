"""One run per integration at a time, with a lock that a crashed run cannot hold forever.

With a SQLite state the lock is an ``fcntl.flock`` on a file in the state directory: the
operating system releases it when the process ends, however it ends (SIGKILL included), so a
rerun after a crash never waits on a dead owner. With a PostgreSQL state (issue 16), shared by
several machines, it is an advisory lock of the database server, held by the run's connection:
the server releases it when that connection ends, so a worker killed mid-run frees its
integration for another worker at once.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ..exceptions import RunLockedError
from ..store.base import StoreBase

__all__ = ["RunLock", "file_name"]


def file_name(integration: str) -> str:
    """An integration's name as one file name: letters, digits, ``-`` and ``_`` kept, the rest ``_``."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in integration)


class RunLock:
    """Exclusive, non-blocking lock for one integration's runs.

    Args:
        state_dir: where the lock files are (a SQLite state).
        integration: whose runs the lock keeps apart.
        store: the run's store; on PostgreSQL the lock is the server's advisory lock, taken and
            released on this thread's connection of the store (the file is not used).

    Example:
        >>> with RunLock(state_dir, "newsletter"):   # doctest: +SKIP
        ...     run_the_sync()
    """

    def __init__(self, state_dir: Path, integration: str, store: StoreBase | None = None) -> None:
        self.path = state_dir / "locks" / f"{file_name(integration)}.lock"
        self.integration = integration
        self._fd: int | None = None
        self._store = store
        self._held = False  # the database's lock (the dialect has one: PostgreSQL's advisory locks)

    @property
    def _name(self) -> str:
        return f"run:{self.integration}"

    def acquire(self) -> None:
        """Take the lock or raise :class:`RunLockedError` at once (never waits)."""
        taken = None if self._store is None else self._store.dialect.try_lock(self._store.db, self._name)
        if taken is not None:  # the database has locks of its own (PostgreSQL); else the file's
            if not taken:
                raise RunLockedError(
                    f"integration {self.integration!r} is already running (on this or another machine); "
                    "try again when that run has finished"
                )
            self._held = True
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunLockedError(
                f"integration {self.integration!r} is already running (pid {owner}); "
                "try again when that run has finished"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Release the lock (closing the descriptor releases the flock)."""
        if self._store is not None and self._held:
            self._held = False
            self._store.dialect.unlock(self._store.db, self._name)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
