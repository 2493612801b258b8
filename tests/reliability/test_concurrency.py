"""Concurrency and exposure: two runs of one integration started together, and what listens where.

Two ``toolkit sync`` processes of one integration start at the same moment, three times (the
initial load and two rounds of edits): one runs, the other exits at once with code 5 and a
clear message, and nothing is written twice. Brevo imports are held while both start, so the
winner is certainly still running when the other tries. The sandbox (in-process and
``toolkit sandbox start``) and the Voilà apps listen on 127.0.0.1 only (read from /proc/net).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.scenario import NAME, cli_environment, mutate, snapshot, tasks_used, workload_env
from tests.support.sync import Env

LOOPBACK_V4 = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
LOOPBACK_V6 = "00000000000000000000000001000000"  # ::1


def _listeners(port: int) -> set[str]:
    """The local addresses of the sockets listening on ``port`` (hex, as in /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def _assert_loopback_only(url: str) -> None:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    listening = _listeners(int(parts.port or 0))
    assert listening and listening <= {LOOPBACK_V4, LOOPBACK_V6}, (url, listening)


def _together(env: Env, environ: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    """Start two syncs at the same moment while Brevo holds imports; both finished."""
    processes = env.sandbox.brevo.processes
    processes.pause()
    cli = [sys.executable, "-m", "toolkit", "sync", NAME, "--quiet"]
    children = [
        subprocess.Popen(cli, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while all(c.poll() is None for c in children) and time.monotonic() < deadline:
            time.sleep(0.01)  # one gives up at once; the other waits for its import
    finally:
        processes.resume()
    done = []
    for child in children:
        out, err = child.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return done


def test_two_runs_started_together_one_runs_the_other_exits_5_and_nothing_is_written_twice(
    tmp_path: Path, figures: Any
) -> None:
    reference: list[Any] = []
    with workload_env(tmp_path / "reference", 1000, seed=31) as env:
        for round_no in range(3):
            if round_no:
                mutate(env, 31, round_no)
            imports = env.sandbox.log.count("brevo", "POST", "/v3/contacts/import")
            assert env.tk.run(NAME).status == "succeeded"
            made = env.sandbox.log.count("brevo", "POST", "/v3/contacts/import") - imports
            reference.append((snapshot(env), tasks_used(env), made))
    with workload_env(tmp_path / "together", 1000, seed=31) as env:
        environ = cli_environment(env)
        iid = env.tk.store.get_integration(NAME).id
        for round_no in range(3):
            if round_no:
                mutate(env, 31, round_no)
            imports = env.sandbox.log.count("brevo", "POST", "/v3/contacts/import")
            first, second = sorted(_together(env, environ), key=lambda p: p.returncode)
            assert (first.returncode, second.returncode) == (0, 5), (first.stderr, second.stderr)
            assert (
                "already running" in second.stderr and "try again when that run has finished" in second.stderr
            )
            assert second.stdout == ""
            assert len(env.tk.store.list_runs(iid, limit=100)) == round_no + 1  # the loser recorded no run
            # the imports of one run, not two (an initial load's opted-out rows have their own, B8)
            assert (
                env.sandbox.log.count("brevo", "POST", "/v3/contacts/import") - imports
                == reference[round_no][2]
            )
            assert snapshot(env) == reference[round_no][0] and tasks_used(env) == reference[round_no][1]
    figures(
        "concurrent runs",
        "3 rounds of 2 runs started together: each time one ran (exit 0) and one exited 5 "
        "at once; state and tasks equal to single runs",
    )


def test_the_sandbox_listens_on_127_0_0_1_only(env_factory: Any) -> None:
    env: Env = env_factory()
    _assert_loopback_only(env.sandbox.info["salesforce"]["login_url"])
    _assert_loopback_only(env.sandbox.info["brevo"]["base_url"])
    child = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "sandbox", "start"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())
        _assert_loopback_only(info["salesforce"]["login_url"])
        _assert_loopback_only(info["brevo"]["base_url"])
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(30)


def test_the_voila_apps_listen_on_127_0_0_1_only(tmp_path: Path) -> None:
    pytest.importorskip("voila")
    script = (
        "import sys; from pathlib import Path; from toolkit.apps import serve_voila; "
        "serve_voila(Path(sys.argv[1]), lambda line: print(line, flush=True))"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline().strip()  # printed once Voilà listens
        assert first.startswith("http://127.0.0.1:"), first
        _assert_loopback_only(first)
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(60)
