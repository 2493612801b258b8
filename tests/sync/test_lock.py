"""The run lock: a file lock with a SQLite state, the server's advisory lock with a PostgreSQL one."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolkit.exceptions import RunLockedError
from toolkit.store import Store
from toolkit.sync.lock import RunLock

HOLD = """
import sys, time
from toolkit.store import Store
from toolkit.sync.lock import RunLock
store = Store.open(sys.argv[1])
RunLock(__import__("pathlib").Path(sys.argv[2]), "newsletter", store).acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_a_file_lock_keeps_a_second_run_out_until_released(tmp_path: Path) -> None:
    with RunLock(tmp_path, "newsletter"):
        with pytest.raises(RunLockedError, match="already running"):
            RunLock(tmp_path, "newsletter").acquire()
        RunLock(tmp_path, "other").acquire()  # another integration is not kept out
    with RunLock(tmp_path, "newsletter"):
        pass


def test_on_postgresql_the_lock_is_the_servers_and_spans_machines(tmp_path: Path, pg_url: str) -> None:
    first, second = Store.open(pg_url), Store.open(pg_url)  # two connections, as two workers
    try:
        with RunLock(tmp_path / "a", "newsletter", first):
            with pytest.raises(RunLockedError, match="another machine"):
                RunLock(tmp_path / "b", "newsletter", second).acquire()  # another state dir: no shared file
            with RunLock(tmp_path / "b", "other", second):
                pass
        with RunLock(tmp_path / "b", "newsletter", second):
            pass
        assert not (tmp_path / "a" / "locks").exists()  # no file lock on PostgreSQL
    finally:
        first.close()
        second.close()


def test_a_worker_killed_mid_run_frees_its_integration(tmp_path: Path, pg_url: str) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-c", HOLD, pg_url, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "held"
        with Store.open(pg_url) as store:
            with pytest.raises(RunLockedError):
                RunLock(tmp_path, "newsletter", store).acquire()
            worker.kill()  # SIGKILL: no clean-up of its own
            worker.wait(timeout=10)
            deadline = time.monotonic() + 10
            while True:  # the server notices the closed socket at once; allow it a moment
                try:
                    with RunLock(tmp_path, "newsletter", store):
                        break
                except RunLockedError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
    finally:
        worker.kill()
        worker.wait(timeout=10)
