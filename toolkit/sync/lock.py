"""One run per integration at a time, with a lock that a crashed run cannot hold forever.

The lock is an ``fcntl.flock`` on a file in the state directory: the operating system releases
it when the process ends, however it ends (SIGKILL included), so a rerun after a crash never
waits on a dead owner.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ..exceptions import RunLockedError

__all__ = ["RunLock", "file_name"]


def file_name(integration: str) -> str:
    """An integration's name as one file name: letters, digits, ``-`` and ``_`` kept, the rest ``_``."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in integration)


class RunLock:
    """Exclusive, non-blocking lock for one integration's runs.

    Example:
        >>> with RunLock(state_dir, "newsletter"):   # doctest: +SKIP
        ...     run_the_sync()
    """

    def __init__(self, state_dir: Path, integration: str) -> None:
        self.path = state_dir / "locks" / f"{file_name(integration)}.lock"
        self.integration = integration
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`RunLockedError` at once (never waits)."""
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
