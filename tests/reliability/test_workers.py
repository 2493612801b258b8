"""Several workers on one PostgreSQL state (issue 16): 4 worker processes, 6 integrations at once.

Six Salesforce orgs (three of Contacts, three of Leads; each on its own pod, so their Ids differ)
sync with ONE Brevo account, each integration on its own connection and its own Brevo list, so
that the final state does not depend on the order of the runs. The state is one PostgreSQL
database; each worker is a separate process with its own state directory, as a separate
machine would be (``tests/support/worker.py``): it runs the integrations in its own seeded
order, and an integration another worker holds (the run lock is the server's advisory lock) is
tried again later.

1. Faults and a kill: the initial load, then 3 rounds of users' edits on every org and on the
   shared Brevo account; 5% faults on every org's Salesforce and on Brevo during the workers'
   runs (not during the users' edits). A round ends when every integration has two succeeded
   runs started after its edits (the round's run and its quiet run, as the reference's: the
   next round's edits are drawn from the state, which must be the same). In one round, a worker
   is killed with SIGKILL in the middle of a run: the run was recorded as running and had made
   API calls; another worker must take the integration over in that round once PostgreSQL has
   released the dead session's lock, and the dead run is closed as abandoned. After a final
   quiet round, the state equals a single worker's run of the same edits (in-process, a fixed
   order, no faults): the same Brevo contacts (none lost, no ext_id or e-mail twice), Salesforce
   records (no update lost), rejections and links per integration, the same tasks counted (each
   once), no reservation left behind, and the quota's 80% warning (Q2, crossed during the
   workload, 100% never) sent exactly once although four workers deliver the outbox: one
   worker claims it and makes one attempt (should that attempt meet a 5xx or a reset, it is
   "unconfirmed" and not sent again: at most once, by design of toolkit/notify).
2. A tight quota: the 6 initial loads need more tasks than the month's limit. The workers stop
   exactly at the limit, never a task over: tasks counted <= limit, and the records the
   sandboxes really wrote (every org's saved and deleted records, the Brevo contacts created,
   changed or deleted) equal the tasks counted; every integration ends stopped by the quota,
   and none is made active again before the limit is raised; the 100% e-mail (Q3) is sent once. Then the limit is raised, the workers run again, and the
   final state equals the reference (nothing lost, Q3), with the same tasks in all.

Sizes: 400 records per org (2,400 in all) for (1), 200 for (2): about 70 s and 30 s on two
cores. PostgreSQL only (``pg_server``).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.postgres import PgServer
from tests.support.scenario import diff
from tests.support.workers import (
    Fleet,
    KillPlan,
    OrgSpec,
    RoundReport,
    WriteCounter,
    arm_faults,
    brevo_duplicates,
    disarm_faults,
    fleet_snapshot,
    mutate_fleet,
    open_fleet,
    org_specs,
    run_round,
    runs_since,
)
from toolkit.quota import EXHAUSTED, STOP_REASON, WARNING
from toolkit.store import IntegrationStatus, RunStatus

WORKERS = 4
RECORDS, SEED, ROUNDS = 400, 41, 3
FAULT_RATE = 0.05
KILL_ROUND, KILL_SEED = 1, 7
#: Tasks of the workload: about 2,300 for the initial loads and 450 a round: 80% of this is
#: crossed in the last rounds, 100% never (the reference checks both).
QUOTA_LIMIT = RECORDS * 11
NOTIFY: dict[str, Any] = {"notify_to": ("ops@company.example",), "notify_from": "sync@company.example"}
TIGHT_RECORDS, TIGHT_SEED = 200, 51
TIGHT_LIMIT = 700  # the initial loads need about 1,150 tasks
ABANDONED = "abandoned: the process ended before the run finished"


@pytest.fixture
def database(pg_server: PgServer) -> Iterator[Callable[[], str]]:
    """``database()``: a fresh database on the session's PostgreSQL server; all dropped afterwards."""
    made: list[str] = []

    def create() -> str:
        made.append(pg_server.create_database())
        return made[-1]

    yield create
    for url in made:
        pg_server.drop_database(url)


def _state(fleet: Fleet) -> dict[str, Any]:
    return {
        "snapshot": fleet_snapshot(fleet),
        "tasks": fleet.tasks(),
        "emails": [m["subject"] for m in fleet.brevo.sent_emails()],
        "outbox": [(n["kind"], n["status"]) for n in fleet.tk.quota.notifications()],
        "duplicates": brevo_duplicates(fleet.brevo),
        "reserved": fleet.tk.quota.status().reserved,
    }


def _reference(
    root: Path, state_url: str, specs: list[OrgSpec], rounds: int, **settings: Any
) -> dict[str, Any]:
    """One worker, in-process, the integrations in a fixed order, no faults: per round, the
    users' edits, a run of each integration and a quiet run of each; then one more quiet run."""
    with open_fleet(root, specs, state_url=state_url, **settings) as fleet:
        for round_no in range(rounds + 1):
            if round_no:
                mutate_fleet(fleet, round_no)
            for _ in range(2):
                for name in fleet.names:
                    result = fleet.tk.run(name)
                    assert result.status == RunStatus.SUCCEEDED, (round_no, name, result.message)
        for name in fleet.names:
            assert fleet.tk.run(name).status == RunStatus.SUCCEEDED
        return _state(fleet)


def _check_round(fleet: Fleet, report: RoundReport, mark: int, need: int, round_no: int) -> list[Any]:
    """Every integration has ``need`` succeeded runs of this round; only a killed run is left open."""
    runs = runs_since(fleet, mark)
    by_name = {fleet.tk.store.get_integration(n).id: n for n in fleet.names}
    succeeded = Counter(by_name[r.integration_id] for r in runs if r.status == RunStatus.SUCCEEDED)
    assert all(succeeded[n] >= need for n in fleet.names), (round_no, succeeded)
    killed = report.kill.run_id if report.kill else None
    open_runs = [r.id for r in runs if r.status == RunStatus.RUNNING and r.id != killed]
    assert not open_runs, f"round {round_no}: runs left running: {open_runs}"
    ended = {e["run_id"] for e in report.ends()}
    assert ended == {r.id for r in runs if r.id != killed}, "each run reported by the worker that made it"
    return runs


def _check_takeover(fleet: Fleet, report: RoundReport) -> dict[str, Any]:
    """The killed worker was inside a run; another worker ran that integration to success after it."""
    kill = report.kill
    assert kill is not None, "the worker to kill was never inside a run long enough"
    # Mid-run: its run was recorded as running, had made API calls, and had not finished.
    assert kill.calls >= 1 and kill.status_at_kill in (RunStatus.RUNNING, RunStatus.FAILED), kill
    assert report.returncodes[kill.worker] == -9  # SIGKILL
    assert not any(e.get("run_id") == kill.run_id for e in report.ends()), "the killed run ended by itself"
    dead = fleet.tk.store.get_run(kill.run_id)
    assert (dead.status, dead.error) == (RunStatus.FAILED, ABANDONED), (
        f"the killed run {kill.run_id} must be closed by the next holder of the lock: {dead.status}, {dead.error}"
    )
    started = {  # run id -> when its worker recorded it
        e["run_id"]: e["t"] for events in report.events.values() for e in events if e["event"] == "running"
    }
    later = [
        e
        for e in report.ends()
        if e["name"] == kill.integration
        and e["status"] == RunStatus.SUCCEEDED
        and e["run_id"] > kill.run_id
        and e["pid"] != kill.pid
    ]
    assert later, f"no other worker took {kill.integration} over after the kill"
    first = min(later, key=lambda e: e["run_id"])
    took_over = started[first["run_id"]]
    refused = [  # attempts on the integration between the kill and the takeover: its lock still held
        e
        for events in report.events.values()
        for e in events
        if e["event"] == "locked" and e["name"] == kill.integration and kill.at <= e["t"] <= took_over
    ]
    return {
        "refused": len(refused),
        "integration": kill.integration,
        "calls": kill.calls,
        "status": kill.status_at_kill,
        "by": sorted({e["pid"] for e in later}),
        "after_s": round(took_over - kill.at, 3),
    }


def test_4_workers_6_integrations_faults_and_a_kill_end_in_the_single_worker_state(
    database: Callable[[], str], tmp_path: Path, figures: Any
) -> None:
    started = time.monotonic()
    specs = org_specs(RECORDS, SEED)
    settings = {"quota_limit": QUOTA_LIMIT, **NOTIFY}
    reference = _reference(tmp_path / "reference", database(), specs, ROUNDS, **settings)
    assert len(reference["emails"]) == 1 and reference["outbox"] == [(WARNING, "sent")], (
        "the workload must cross the 80% warning (and not 100%), so that the e-mail is tested",
        reference["outbox"],
    )
    reference_s = time.monotonic() - started
    rng = random.Random(KILL_SEED)
    rounds: list[str] = []
    takeover: dict[str, Any] = {}
    locked = 0
    with open_fleet(tmp_path / "workers", specs, state_url=database(), **settings) as fleet:
        for round_no in range(ROUNDS + 2):
            quiet = round_no == ROUNDS + 1  # the final quiet round: no edits, one run each
            if round_no and not quiet:
                mutate_fleet(fleet, round_no)
            for org in fleet.orgs:
                org.sandbox.oauth.expire_sessions()  # the workers sign in through the faults too
            mark = fleet.last_run_id()
            kill = None
            if round_no == KILL_ROUND:
                kill = KillPlan(
                    victim=rng.randrange(WORKERS), calls=rng.randint(1, 4), extra=rng.uniform(0, 0.02)
                )
            need = 1 if quiet else 2
            arm_faults(fleet, FAULT_RATE, seed=round_no + 1)
            try:
                report = run_round(
                    fleet, round_no, workers=WORKERS, seed=SEED + round_no, need=need, kill=kill
                )
            finally:
                disarm_faults(fleet)
            runs = _check_round(fleet, report, mark, need, round_no)
            if kill is not None:
                takeover = _check_takeover(fleet, report)
            locked += report.count("locked")
            statuses = Counter(str(r.status) for r in runs)
            rounds.append(f"round {round_no}: {len(runs)} runs {dict(statuses)} in {report.seconds:.1f} s")
        state = _state(fleet)
        calls = fleet.calls()
    faults = Counter(c.fault for c in calls if c.fault)

    assert state["duplicates"] == [] and reference["duplicates"] == []
    assert diff(reference["snapshot"], state["snapshot"]) == []
    assert state["tasks"] == reference["tasks"], "every record written counted once"
    assert state["tasks"] < QUOTA_LIMIT
    assert state["reserved"] == 0, "a reservation of the killed run is left"
    # The warning: one worker claimed it and made one attempt (a 429 is retried, nothing else).
    # Sent once; unless that one attempt met a fault after which Brevo may have sent it (a 5xx, a
    # reset connection): then it is "unconfirmed" and not sent again (at most once, by design:
    # toolkit/notify). Never twice, whichever worker crossed 80% or delivered the outbox.
    attempts = [c for c in calls if c.service == "brevo" and c.path == "/v3/smtp/email"]
    real = [c for c in attempts if c.fault != "429"]
    assert len(real) == 1, f"quota e-mail attempts: {[(c.status, c.fault) for c in attempts]}"
    attempt = real[0]
    if attempt.fault in (None, "delay"):
        assert state["outbox"] == [(WARNING, "sent")] and len(state["emails"]) == 1, state["outbox"]
        assert state["emails"][0].endswith("of this month's tasks used")
        e_mail = "1 quota e-mail sent once"
    else:
        assert state["outbox"] == [(WARNING, "unconfirmed")] and state["emails"] == [], state["outbox"]
        e_mail = f"the quota e-mail's one attempt met a {attempt.fault}: unconfirmed, not sent twice"
    injected = sum(faults.values())
    assert injected >= 10, f"only {injected} faults drawn: the test proves little"
    records = len(state["snapshot"]["salesforce"]) + len(state["snapshot"]["brevo"])
    figures(
        "multi-worker (4 processes, 6 integrations, PostgreSQL state)",
        f"{injected} faults in {len(calls)} API calls {dict(sorted(faults.items()))}; "
        f"1 worker SIGKILLed in a run of {takeover['integration']} after {takeover['calls']} Salesforce calls "
        f"(its run {takeover['status']} right after), "
        f"taken over by pid {takeover['by']} {takeover['after_s']} s after the kill ({takeover['refused']} attempts "
        f"refused by its lock in between); {locked} runs met another's lock; "
        f"{records} records equal to the single worker's run (0 lost, 0 duplicated); "
        f"{state['tasks']} tasks counted once (limit {QUOTA_LIMIT}); {e_mail}; "
        f"{'; '.join(rounds)}; reference {reference_s:.0f} s, all {time.monotonic() - started:.0f} s",
    )


def test_4_workers_stop_at_a_tight_quota_without_a_task_over_and_resume_without_losing_anything(
    database: Callable[[], str], tmp_path: Path, figures: Any
) -> None:
    started = time.monotonic()
    specs = org_specs(TIGHT_RECORDS, TIGHT_SEED)
    reference = _reference(tmp_path / "reference", database(), specs, 0, **NOTIFY)
    assert reference["tasks"] > TIGHT_LIMIT * 3 // 2, "the initial loads must need more than the limit"
    settings = {"quota_limit": TIGHT_LIMIT, **NOTIFY}
    with open_fleet(tmp_path / "workers", specs, state_url=database(), **settings) as fleet:
        mark = fleet.last_run_id()
        with WriteCounter(fleet) as written:
            report = run_round(
                fleet, 0, workers=WORKERS, seed=TIGHT_SEED, need=1, until_stopped=True, timeout=120
            )
        runs = runs_since(fleet, mark)
        used = fleet.tasks()
        assert used <= TIGHT_LIMIT, f"{used} tasks counted, over the limit of {TIGHT_LIMIT}"
        assert written.total == used == sum(r.counts.get("tasks", 0) for r in runs), (
            dict(written.calls),
            written.total,
            used,
        )
        assert {r.status for r in runs} <= {RunStatus.SUCCEEDED, RunStatus.STOPPED}, Counter(
            r.status for r in runs
        )
        stopped_runs = sum(1 for r in runs if r.status == RunStatus.STOPPED)
        assert stopped_runs >= 1
        for name in fleet.names:  # every one stopped by the quota, and none made active again since
            integration = fleet.tk.store.get_integration(name)
            assert (integration.status, integration.stop_reason) == (IntegrationStatus.STOPPED, STOP_REASON)
            changes = reversed(fleet.tk.store.list_changes(integration_id=integration.id))
            statuses = [c.new for c in changes if c.field == "status"]
            assert statuses == ["active", "stopped (quota)"], f"{name}: {statuses}"
        assert fleet.tk.quota.status().reserved == 0
        kinds = [n["kind"] for n in fleet.tk.quota.notifications() if n["status"] == "sent"]
        assert sorted(kinds) == sorted([WARNING, EXHAUSTED]) and len(fleet.brevo.sent_emails()) == 2, kinds
        sends = [c for c in fleet.orgs[0].sandbox.log.entries("brevo") if c.path == "/v3/smtp/email"]
        assert len(sends) == 2, "each quota e-mail sent by one worker, once"
        phase_1 = f"{len(runs)} runs ({stopped_runs} stopped by the quota), {used} tasks of {TIGHT_LIMIT}"

        fleet.tk.quota.set_limit(10_000_000)  # raised: the integrations resume by themselves (Q3)
        mark = fleet.last_run_id()
        with WriteCounter(fleet) as written_after:
            run_round(fleet, 1, workers=WORKERS, seed=TIGHT_SEED + 1, need=2)
        runs_after = runs_since(fleet, mark)
        assert (
            written_after.total == fleet.tasks() - used == sum(r.counts.get("tasks", 0) for r in runs_after)
        )
        state = _state(fleet)
    assert state["duplicates"] == []
    assert diff(reference["snapshot"], state["snapshot"]) == []
    assert state["tasks"] == reference["tasks"], "nothing written twice or lost across the stop"
    assert sorted(k for k, _ in state["outbox"]) == sorted([WARNING, EXHAUSTED]) and len(state["emails"]) == 2
    records = len(state["snapshot"]["salesforce"]) + len(state["snapshot"]["brevo"])
    figures(
        "multi-worker tight quota (4 processes, 6 integrations)",
        f"first pass: {phase_1}, writes seen by the sandboxes {written.total} = tasks counted; "
        f"100% e-mail sent once; after the raise: {len(runs_after)} runs, {written_after.total} writes = tasks; "
        f"{records} records equal to the reference, {state['tasks']} tasks in all; {report.count('locked')} "
        f"runs met another's lock; {time.monotonic() - started:.0f} s",
    )
