"""``toolkit serve``'s clock (issue 14): schedules run papermill, failures are retried, jobs follow the state.

The server runs in this process (``Server``, without the apps: the browser test starts the whole
command); the runs are real papermill runs of ``sync.ipynb`` against the sandbox.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.sync import Env, setup_integration, write_settings
from toolkit.serve.app import Server
from toolkit.serve.runner import backoff, purge_runs, run_folder
from toolkit.store import IntegrationStatus, Run, RunStatus, RunTrigger, Store
from toolkit.sync.lock import RunLock

pytestmark = pytest.mark.slow


def _wait(what: Callable[[], Any], timeout: float = 90, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s")


def _runs(env: Env, name: str = "contacts") -> list[Run]:
    return list(reversed(env.tk.store.list_runs(env.tk.store.get_integration(name).id)))


def _finished(env: Env, count: int) -> list[Run] | None:
    """The first ``count`` finished runs, once there are that many."""
    done = [r for r in _runs(env) if r.finished_at]
    return done[:count] if len(done) >= count else None


@pytest.fixture
def served(env_factory: Any) -> Iterator[Callable[..., tuple[Env, Server]]]:
    servers: list[Server] = []

    def _start(env: Env, webhooks: bool = False, **changes: Any) -> tuple[Env, Server]:
        settings = env.settings.replace(poll_seconds=0, webhook_port=0, **changes)
        write_settings(settings)  # the papermill runs read toolkit.toml, as under a real server
        server = Server(settings, apps=False, webhooks=webhooks, refresh_seconds=0.3)
        server.start()
        servers.append(server)
        return env, server

    yield _start
    for server in servers:
        server.stop()


def test_an_active_integration_runs_on_its_schedule_with_its_notebook_and_report_kept(
    env_factory: Any, served: Any
) -> None:
    env: Env = env_factory(contacts=15, seed=4)
    setup_integration(env.tk)
    env.tk.store.update_integration("contacts", schedule="every 6 seconds")
    env.tk.store.create_integration("draft", "Lead")  # not active: never run
    _, server = served(env)
    runs = _wait(lambda: _finished(env, 2))
    assert [(r.trigger, r.status) for r in runs] == [(RunTrigger.SCHEDULE, RunStatus.SUCCEEDED)] * 2
    assert (runs[0].counts["tasks"], runs[1].counts["tasks"]) == (15, 0)  # the second finds nothing new
    gap = (runs[1].started_at - runs[0].started_at).total_seconds()
    assert 5 <= gap <= 60, gap  # the schedule (every 6 s, or right after a slower run), not a loop
    assert runs[0].finished_at is not None and runs[0].finished_at <= runs[1].started_at  # one at a time
    folder = run_folder(env.settings.state_dir, "contacts")
    notebooks = sorted(folder.glob("*-schedule.ipynb"))
    reports = sorted(folder.glob("*-schedule-report"))
    assert len(notebooks) >= 2 and len(reports) >= 2
    assert any(p.suffix == ".html" for p in reports[0].iterdir())
    assert env.settings.state_dir / "runs" / "draft" not in set(folder.parent.iterdir())
    assert server.next_run("contacts") is not None and server.next_run("draft") is None


def test_a_deactivated_integration_stops_running_and_a_new_schedule_is_taken_up(
    env_factory: Any, served: Any
) -> None:
    env: Env = env_factory(contacts=5, seed=4)
    setup_integration(env.tk)
    env.tk.store.update_integration("contacts", schedule="every 5 minutes")
    _, server = served(env)
    _wait(lambda: _finished(env, 1))  # at once, on activation
    first = server.next_run("contacts")
    env.tk.store.update_integration("contacts", schedule="0 6 * * *")
    _wait(lambda: server.next_run("contacts") not in (None, first))
    assert server.next_run("contacts").hour == 6
    env.tk.deactivate("contacts")
    _wait(lambda: server.next_run("contacts") is None)
    assert env.tk.store.get_integration("contacts").status != IntegrationStatus.ACTIVE
    assert len(_runs(env)) == 1


def test_webhooks_follow_activation_and_brevo_is_not_asked_at_every_refresh(
    env_factory: Any, served: Any
) -> None:
    env: Env = env_factory(contacts=3, seed=4)
    setup_integration(env.tk)
    env.tk.store.update_integration("contacts", schedule="every 1 hours")
    _, server = served(env, webhooks=True, public_url="https://sync.example.com")
    _wait(lambda: env.tk.store.get_integration("contacts").webhook_id)
    [hook] = env.tk.brevo().list_webhooks()
    assert hook.url == "https://sync.example.com/brevo/webhooks/contacts"
    time.sleep(2)  # six refreshes or so
    assert env.sandbox.log.count("brevo", "GET", "/v3/webhooks") == 2  # the server's one, and ours
    env.tk.deactivate("contacts")
    _wait(lambda: env.tk.store.get_integration("contacts").webhook_id is None)
    assert env.tk.brevo().list_webhooks() == []
    assert server.receiver is not None and server.receiver.url.startswith("http://127.0.0.1:")


def test_a_run_that_cannot_start_is_retried_with_backoff(env_factory: Any, served: Any) -> None:
    """The first scheduled run meets another run's lock (a run from the integrations page, a cron
    line): it fails; the server retries after ``retry_seconds``, then twice that, until it runs."""
    env: Env = env_factory(contacts=5, seed=4)
    setup_integration(env.tk)
    env.tk.store.update_integration("contacts", schedule="every 1 hours")
    holder = Store.open(env.settings.state_location)  # another process's run: its own connection
    lock = RunLock(env.settings.state_dir, "contacts", holder)
    lock.acquire()
    try:
        served(env, retry_seconds=2, run_retries=3)
        _wait(lambda: len(list(run_folder(env.settings.state_dir, "contacts").glob("*-retry.ipynb"))) >= 1)
    finally:
        lock.release()
        holder.close()
    retried = _wait(lambda: [r for r in _runs(env) if r.status == RunStatus.SUCCEEDED])
    assert [r.trigger for r in retried] == [RunTrigger.RETRY]
    assert not [r for r in _runs(env) if r.trigger == RunTrigger.SCHEDULE]  # it never got the lock


def test_backoff_doubles_up_to_a_day() -> None:
    assert [backoff(n, 60).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(30, 60).total_seconds() == 86_400


def test_old_notebooks_and_reports_are_purged(tmp_path: Path) -> None:
    folder = run_folder(tmp_path, "a/b c")
    folder.mkdir(parents=True)
    old, new = folder / "old.ipynb", folder / "new.ipynb"
    (folder / "old-report").mkdir()
    for path in (old, new):
        path.write_text("{}")
    now = time.time()
    for path in (old, folder / "old-report"):
        os.utime(path, (now - 40 * 86_400, now - 40 * 86_400))
    assert purge_runs(tmp_path, 30, now=now) == 2
    assert [p.name for p in folder.iterdir()] == ["new.ipynb"]
    assert purge_runs(tmp_path, 0, now=now + 10**9) == 0  # 0 keeps them forever
