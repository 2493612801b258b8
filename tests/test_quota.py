"""The monthly task quota: ledger (Q1), reservations at the boundary, stop and resume (Q3), forecast (B2)."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.support.quota import MovingClock, active_integration, pending_ids, statuses, write
from toolkit.config import Settings
from toolkit.notify import BrevoSender, deliver
from toolkit.quota import EXHAUSTED, STOP_REASON, WARNING, Quota, QuotaState, QuotaStatus
from toolkit.sandbox import Sandbox
from toolkit.store import IntegrationStatus, RunStatus, Store

ACTIVE, STOPPED = IntegrationStatus.ACTIVE, IntegrationStatus.STOPPED


def test_q1_each_written_record_is_one_task(store: Store, quota: Quota) -> None:
    iid = active_integration(store, "contacts")
    run = store.start_run(iid)
    with store.transaction():  # one batch: 3 created + 2 updated in Brevo, 1 deleted in Salesforce
        quota.record(iid, run.id, 3 + 2)
        quota.record(iid, run.id, 1)
    assert quota.status().used == 6
    assert store.tasks_of_run(run.id) == 6
    assert quota.usage_by_integration() == [
        {"integration_id": iid, "integration": "contacts", "tasks": 6, "share": 1.0}
    ]
    today = [row for row in quota.usage_by_day() if row["tasks"]]
    assert today == [{"day": date(2024, 5, 20), "tasks": 6, "cumulative": 6}]


def test_q1_a_batch_whose_commit_never_happened_counts_no_task(store: Store, quota: Quota) -> None:
    iid = active_integration(store, "contacts")
    crashed = store.start_run(iid)
    assert quota.reserve(iid, crashed.id, 25) == 25
    with pytest.raises(KeyboardInterrupt), store.transaction():
        store.set_cursor(iid, "salesforce", "2024-05-20T00:00:00Z")
        quota.record(iid, crashed.id, 25)
        raise KeyboardInterrupt("killed after the API write, before the commit")
    assert quota.status().used == 0 and store.get_cursor(iid, "salesforce") is None
    store.abandon_running_runs(iid)  # the next run's lock holder closes the dead run
    replay = store.start_run(iid)
    assert write(quota, iid, replay.id, 25) == 25
    assert quota.status().used == 25 and store.tasks_of_run(crashed.id) == 0  # counted once


def test_q1_exact_boundary_10_left_25_pending(store: Store, quota: Quota) -> None:
    a, b = active_integration(store, "contacts"), active_integration(store, "leads")
    write(quota, b, store.start_run(b).id, 90)
    run = store.start_run(a)
    assert write(quota, a, run.id, 25) == 10  # 10 left, 25 pending: exactly 10 written
    assert quota.reserve(a, run.id, 15) == 0  # the engine stops the run after that batch
    status = quota.status()
    assert (status.used, status.remaining, status.state) == (100, 0, QuotaState.EXHAUSTED)
    assert statuses(store) == {"contacts": (STOPPED, STOP_REASON), "leads": (STOPPED, STOP_REASON)}
    store.finish_run(run.id, RunStatus.STOPPED)

    after = quota.set_limit(200)  # raised: the 15 left behind are written, with no manual step
    assert (after.share, after.state) == (0.5, QuotaState.WARNING)  # warning: at this pace 200 is reached too
    assert statuses(store) == {"contacts": (ACTIVE, None), "leads": (ACTIVE, None)}
    rerun = store.start_run(a)
    assert write(quota, a, rerun.id, 15) == 15
    assert (store.tasks_of_run(run.id), store.tasks_of_run(rerun.id)) == (10, 15)  # none twice
    assert quota.status().used == 115
    assert [n["kind"] for n in quota.notifications()] == [WARNING, EXHAUSTED]


def test_q3_integrations_stop_at_100_percent_and_second_email(
    store: Store, quota: Quota, sandbox: Sandbox, sender: BrevoSender
) -> None:
    iid = active_integration(store, "<b>news</b>letter")
    active_integration(store, "leads")
    active_integration(store, "draft-one", status=IntegrationStatus.DRAFT)
    run = store.start_run(iid)
    write(quota, iid, run.id, 80)
    assert deliver(store, sender).sent == [1]
    assert quota.reserve(iid, run.id, 30) == 20  # never past the limit
    with store.transaction():
        quota.record(iid, run.id, 19)
    assert statuses(store)["leads"] == (ACTIVE, None)  # 99 of 100: still running
    with store.transaction():
        quota.record(iid, run.id, 1)
    assert statuses(store) == {
        "<b>news</b>letter": (STOPPED, STOP_REASON),
        "draft-one": (IntegrationStatus.DRAFT, None),
        "leads": (STOPPED, STOP_REASON),
    }
    exhausted = pending_ids(store)
    assert len(exhausted) == 1 and deliver(store, sender).sent == exhausted
    mails = sandbox.brevo.sent_emails()
    assert len(mails) == 2
    stop = mails[1]
    assert stop["subject"] == "Salesforce-Brevo sync stopped: all 100 tasks of May 2024 are used"
    assert "Stopped: <b>news</b>letter, leads." in stop["textContent"]
    assert "&lt;b&gt;news&lt;/b&gt;letter" in stop["htmlContent"] and "<b>news" not in stop["htmlContent"]
    assert "when the quota resets on 1 June 2024 (UTC)" in stop["textContent"]
    assert [t["email"] for t in stop["to"]] == ["ops@example.com", "cfo@example.com"]
    with store.transaction():  # a replayed batch or another run over the limit: no third e-mail
        quota.record(iid, run.id, 5)
    assert deliver(store, sender).sent == [] and len(sandbox.brevo.sent_emails()) == 2


def test_q3_month_rollover_resumes_without_manual_step(
    store: Store, quota: Quota, moving_clock: MovingClock
) -> None:
    iid = active_integration(store, "contacts")
    run = store.start_run(iid)
    assert write(quota, iid, run.id, 125) == 100
    store.finish_run(run.id, RunStatus.STOPPED)
    assert quota.resume() == [] and statuses(store)["contacts"] == (STOPPED, STOP_REASON)
    moving_clock.now = datetime(2024, 6, 1, 0, 0, 1, tzinfo=UTC)
    assert quota.resume() == ["contacts"]  # what the engine calls before each run
    status = quota.status()
    assert (status.month, status.used, status.state) == ("2024-06", 0, QuotaState.OK)
    june = store.start_run(iid)
    assert write(quota, iid, june.id, 25) == 25
    assert store.tasks_used("2024-05") == 100 and store.tasks_used("2024-06") == 25
    stopped_by_hand = active_integration(store, "paused")
    store.set_status(stopped_by_hand, STOPPED, stop_reason="maintenance")
    assert quota.resume() == [] and statuses(store)["paused"] == (STOPPED, "maintenance")


def test_q3_a_resume_racing_another_process_crossing_100_percent_leaves_everything_stopped(
    store: Store, settings: Settings, moving_clock: MovingClock
) -> None:
    """Resume reads "are tasks left?" under the write lock. Were it read before, another worker's
    run crossing 100% right after the read (stopping every integration) would be undone by the
    resume's writes: every integration active again on an exhausted quota (found by the
    multi-worker test, tests/reliability/test_workers.py)."""
    a, b = active_integration(store, "contacts"), active_integration(store, "leads")
    write(Quota(store, settings), a, store.start_run(a).id, 60)
    run = store.start_run(b)
    assert Quota(store, settings).reserve(b, run.id, 40) == 40
    crossed = threading.Event()

    def other_worker() -> None:  # its run records its last 40 tasks: 100%, everything stops
        other = Store.open(settings.state_location, clock=moving_clock)
        try:
            with other.transaction():
                Quota(other, settings).record(b, run.id, 40)
        finally:
            other.close()
        crossed.set()

    worker = threading.Thread(target=other_worker)

    class Racing(Quota):
        def status(self) -> QuotaStatus:
            found = super().status()
            if not worker.is_alive() and not crossed.is_set():  # right after the first look
                worker.start()
                crossed.wait(1.0)  # done at once if nothing holds the write lock
            return found

    assert Racing(store, settings).resume() == []
    worker.join(30)
    assert crossed.is_set() and Quota(store, settings).status().state == QuotaState.EXHAUSTED
    assert statuses(store) == {"contacts": (STOPPED, STOP_REASON), "leads": (STOPPED, STOP_REASON)}


def test_lowering_the_limit_below_usage_stops_and_default_restores_the_setting(
    store: Store, quota: Quota
) -> None:
    iid = active_integration(store, "contacts")
    write(quota, iid, store.start_run(iid).id, 60)
    assert quota.set_limit(50).state == QuotaState.EXHAUSTED and statuses(store)["contacts"] == (
        STOPPED,
        STOP_REASON,
    )
    assert quota.set_limit(None).limit == 100 and statuses(store)["contacts"] == (ACTIVE, None)
    with pytest.raises(ValueError, match="positive"):
        quota.set_limit(0)


def test_reservations_of_a_dead_run_do_not_leak(
    store: Store, quota: Quota, moving_clock: MovingClock
) -> None:
    a, b = active_integration(store, "contacts"), active_integration(store, "leads")
    crashed, busy = store.start_run(a), store.start_run(b)
    assert quota.reserve(a, crashed.id, 60) == 60
    assert quota.reserve(b, busy.id, 60) == 40 and quota.status().reserved == 100
    store.abandon_running_runs(a)  # the crashed run is closed by the next holder of its lock
    rerun = store.start_run(a)
    assert quota.reserve(a, rerun.id, 70) == 60  # its 60 came back, not more
    assert quota.reserve(a, rerun.id, 10) == 0  # everything is held

    exited = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    store.db.execute("UPDATE quota_reservations SET pid = ? WHERE run_id = ?", (int(exited.stdout), busy.id))
    assert quota.status().reserved == 60  # busy's process is gone (same host), though its run says running
    assert quota.reserve(a, rerun.id, 30) == 30

    moving_clock.advance(hours=3)  # nobody renewed or settled a reservation for longer than its TTL
    assert quota.status().reserved == 0 and quota.reserve(a, rerun.id, 100) == 100
    quota.release(rerun.id)
    assert quota.status().reserved == 0


def _hammer(
    db_path: str, limit: int, name: str, results: dict[str, int], start: threading.Barrier | None
) -> None:
    store = Store.open(db_path)  # a SQLite file or a postgresql:// URL
    try:
        quota = Quota(store, Settings(state_dir=Path(tempfile.gettempdir()), quota_limit=limit))
        iid = store.get_integration(name).id
        run = store.start_run(iid)
        total = 0
        if start is not None:
            start.wait(30)
        while granted := quota.reserve(iid, run.id, 7):
            time.sleep(0.001)  # the API write happens here, outside any transaction
            with store.transaction():
                quota.record(iid, run.id, granted)
            total += granted
        results[name] = total
    finally:
        store.close()


def test_concurrent_reservations_never_exceed_the_limit(state_location: Path | str) -> None:
    db = state_location / "state.db" if isinstance(state_location, Path) else state_location
    with Store.open(db) as store:
        names = [f"integration-{i}" for i in range(4)]
        for name in names:
            active_integration(store, name)
    results: dict[str, int] = {}
    start = threading.Barrier(len(names))
    threads = [threading.Thread(target=_hammer, args=(str(db), 1000, name, results, start)) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with Store.open(db) as store:
        assert sum(results.values()) == 1000 == store.tasks_used(f"{store.quota_now():%Y-%m}")
        assert all(results[name] > 0 for name in names)


def _process(
    db_path: str,
    limit: int,
    name: str,
    queue: multiprocessing.Queue[int],
    start: threading.Barrier,
) -> None:
    results: dict[str, int] = {}
    _hammer(db_path, limit, name, results, start)
    queue.put(results[name])


@pytest.mark.slow
def test_two_processes_reserving_at_once_write_exactly_the_limit(state_location: Path | str) -> None:
    db = state_location / "state.db" if isinstance(state_location, Path) else state_location
    with Store.open(db) as store:
        for name in ("a", "b"):
            active_integration(store, name)
    ctx = multiprocessing.get_context("spawn")
    queue, start = ctx.Queue(), ctx.Barrier(2)
    procs = [ctx.Process(target=_process, args=(str(db), 700, name, queue, start)) for name in ("a", "b")]
    for p in procs:
        p.start()
    totals = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(10)
    assert sum(totals) == 700 and min(totals) > 0
    with Store.open(db) as store:
        assert (
            sum(row.tasks for row in store.tasks_by_integration(datetime.now(UTC).strftime("%Y-%m"))) == 700
        )


def _daily(store: Store, quota: Quota, clock: MovingClock, per_day: list[int]) -> None:
    iid = active_integration(store, "contacts")
    for day, n in enumerate(per_day, start=1):
        clock.now = datetime(2024, 5, day, 9, 0, tzinfo=UTC)
        if n:
            with store.transaction():
                quota.record(iid, None, n)
    clock.now = datetime(2024, 5, len(per_day) + 1, 0, 0, tzinfo=UTC)


def test_b2_forecast_warns_before_80_percent_when_the_pace_would_cross_it(
    tmp_path: Path, moving_clock: MovingClock
) -> None:
    with Store.open(tmp_path, clock=moving_clock) as store:
        quota = Quota(store, Settings(state_dir=tmp_path, quota_limit=100_000))
        _daily(store, quota, moving_clock, [3_000] * 9)  # May 1-9, now May 10 00:00
        status = quota.status()
        assert (status.used, status.share) == (27_000, 0.27)
        assert status.forecast == 27_000 + 3_000 * 22 == 93_000  # 22 days left in May
        assert status.state == QuotaState.WARNING and status.exhausted_on is None
        assert store.list_notifications() == []  # a forecast warns on the dashboard, not by e-mail
        days = quota.usage_by_day()
        assert len(days) == 10 and days[-1] == {"day": date(2024, 5, 10), "tasks": 0, "cumulative": 27_000}


def test_b2_forecast_follows_the_recent_pace_and_names_the_day_the_limit_is_reached(
    tmp_path: Path, moving_clock: MovingClock
) -> None:
    with Store.open(tmp_path, clock=moving_clock) as store:
        quota = Quota(store, Settings(state_dir=tmp_path, quota_limit=100_000))
        _daily(store, quota, moving_clock, [100] * 6 + [5_000] * 6)  # a big list joined on May 7
        status = quota.status()  # May 13 00:00: 6 days at 5,000 outweigh the month's average
        assert status.used == 30_600
        assert status.forecast == 30_600 + 5_000 * 19
        assert status.exhausted_on == date(2024, 5, 26)  # 69,400 left at 5,000 a day: 13.9 days
        assert status.state == QuotaState.WARNING


def test_b2_forecast_is_ok_at_a_calm_pace(tmp_path: Path, moving_clock: MovingClock) -> None:
    with Store.open(tmp_path, clock=moving_clock) as store:
        quota = Quota(store, Settings(state_dir=tmp_path, quota_limit=100_000))
        _daily(store, quota, moving_clock, [1_000] * 9)
        status = quota.status()
        assert (status.forecast, status.state, status.exhausted_on) == (31_000, QuotaState.OK, None)
