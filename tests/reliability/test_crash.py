"""Crashes: ``toolkit sync`` killed with SIGKILL at seeded random points, then run again.

20 trials on one integration, each after a round of users' edits on both sides: a child process
runs ``python -m toolkit sync`` (TOOLKIT_STATE_DIR + a toolkit.toml pointing at the sandbox) and
is killed once it has made a seeded random number of API calls (plus a few random
milliseconds), i.e. anywhere from sign-in to the last deletion; a second child runs it again.
The lock of the killed run must not block the rerun (exit 0, never 5).

After each trial, and one more quiet run on both sides (a replay may bring forward by one run an
effect the fault-free sync only sees in the next run: a contact re-created in Brevo by the
killed run's import is read back), the state equals a fault-free run of the same edits: the same
Brevo contacts (none twice), Salesforce records (no update lost), rejections and links, the same
tasks counted (none twice) and the same quota e-mail, sent once.

Sizes: 1,000 contacts in ``make test`` (about 40 child processes); 10,000 in ``make soak``.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.scenario import NAME, cli_environment, diff, mutate, snapshot, tasks_used, workload_env
from tests.support.sync import Env

TRIALS = 20
SEED = 21
KILL_SEED = 7


def _quota(contacts: int) -> dict[str, Any]:
    """The 80% warning (Q2) falls due in the later trials (about 5.3 tasks per contact); 100% never."""
    return {
        "quota_limit": contacts * 6,
        "notify_to": ("ops@company.example",),
        "notify_from": "sync@company.example",
    }


def _kill_after(env: Env, environ: dict[str, str], calls: int, extra: float) -> tuple[int, bool]:
    """Start a sync, SIGKILL it after ``calls`` API calls and ``extra`` seconds; (calls made, was it still running)."""
    mark = len(env.sandbox.log.entries())
    child = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "sync", NAME, "--quiet"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while (
        child.poll() is None and len(env.sandbox.log.entries()) - mark < calls and time.monotonic() < deadline
    ):
        time.sleep(0.0005)
    time.sleep(extra)
    running = child.poll() is None
    child.kill()  # SIGKILL
    child.wait()
    return len(env.sandbox.log.entries()) - mark, running


def _state(env: Env) -> dict[str, Any]:
    emails = [m["subject"] for m in env.sandbox.brevo.sent_emails()]
    return {
        "snapshot": snapshot(env),
        "tasks": tasks_used(env),
        "emails": emails,
        "outbox": [(n["kind"], n["status"]) for n in env.tk.quota.notifications()],
    }


def _reference(tmp_path: Path, contacts: int) -> tuple[list[dict[str, Any]], list[int]]:
    states, calls = [], []
    with workload_env(tmp_path, contacts, SEED, **_quota(contacts)) as env:
        for trial in range(TRIALS):
            if trial:
                mutate(env, SEED, trial)
            mark = len(env.sandbox.log.entries())
            assert env.tk.run(NAME).status == "succeeded"
            calls.append(len(env.sandbox.log.entries()) - mark)
            assert env.tk.run(NAME).status == "succeeded"  # the quiet run
            states.append(_state(env))
    return states, calls


def _kill_trials(tmp_path: Path, contacts: int, figures: Any) -> None:
    reference, calls = _reference(tmp_path / "reference", contacts)
    assert reference[-1]["emails"] == reference[-1]["emails"][:1] and len(reference[-1]["emails"]) == 1, (
        "the workload must cross the 80% warning once, so that the e-mail is tested"
    )
    rng = random.Random(KILL_SEED)
    killed_running, made_calls, records, abandoned = 0, [], 0, 0
    with workload_env(tmp_path / "crashed", contacts, SEED, **_quota(contacts)) as env:
        environ = cli_environment(env)
        for trial in range(TRIALS):
            if trial:
                mutate(env, SEED, trial)
            made, running = _kill_after(env, environ, rng.randint(1, calls[trial]), rng.uniform(0, 0.03))
            made_calls.append(made)
            killed_running += running
            rerun = subprocess.run(
                [sys.executable, "-m", "toolkit", "sync", NAME, "--quiet"],
                env=environ,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert rerun.returncode == 0, (
                f"trial {trial}: rerun exit {rerun.returncode}: {rerun.stderr[-800:]}"
            )
            assert env.tk.run(NAME).status == "succeeded"  # the quiet run
            # The killed run does not stay "running" on the pages: the rerun, holding its lock, closed it.
            runs = env.tk.store.list_runs(env.tk.store.get_integration(NAME).id)
            assert not [r.id for r in runs if r.status == "running"], f"trial {trial}"
            abandoned = sum(1 for r in runs if (r.error or "").startswith("abandoned"))
            state, expected = _state(env), reference[trial]
            assert diff(expected["snapshot"], state["snapshot"]) == [], (
                f"trial {trial}, killed after {made} calls"
            )
            assert state["tasks"] == expected["tasks"], f"trial {trial}: tasks counted"
            # At most once (Q2): a kill between claiming the message and recording its outcome leaves it
            # "sending" (the rerun does not overtake a claim younger than notify.STALE_AFTER), later
            # "unconfirmed": in doubt, never sent twice.
            in_doubt = any(status in ("sending", "unconfirmed") for _, status in state["outbox"])
            assert state["emails"] == expected["emails"] or (in_doubt and not state["emails"]), (
                trial,
                state["outbox"],
            )
            records = len(state["snapshot"]["salesforce"]) + len(state["snapshot"]["brevo"])
    assert killed_running >= TRIALS * 3 // 4, "most kills must land while the run is still working"
    assert abandoned >= killed_running // 2, "a killed run is closed as abandoned by the next run"
    figures(
        f"kill trials (SIGKILL, {contacts:,} contacts)",
        f"{TRIALS} trials, {killed_running} killed mid-run after {min(made_calls)}-{max(made_calls)} API calls "
        f"(of {min(calls)}-{max(calls)} per run), each rerun exit 0, {abandoned} killed runs closed as "
        f"abandoned by it; final state equal to the fault-free run: "
        f"{records} records checked, {reference[-1]['tasks']} tasks counted once, "
        f"{len(reference[-1]['emails'])} quota e-mail sent once",
    )


def test_20_runs_killed_at_random_points_each_rerun_end_in_the_fault_free_state(
    tmp_path: Path, figures: Any
) -> None:
    _kill_trials(tmp_path, 1000, figures)


@pytest.mark.soak
def test_soak_20_kills_at_10000_contacts(tmp_path: Path, figures: Any) -> None:
    _kill_trials(tmp_path, 10_000, figures)


def test_a_replayed_removal_from_the_list_is_not_an_error(env_factory: Any) -> None:
    """A crash between taking contacts off the Brevo list and recording it replays the removal:
    Brevo then answers 400 "Contact already removed from list"; that must not fail the run."""
    from tests.support.sync import setup_integration

    env = env_factory(contacts=5, seed=3)
    list_id = setup_integration(env.tk)
    env.tk.run(NAME)
    sf_id = env.sandbox.salesforce.records("Contact")[0]["Id"]
    brevo = env.tk.brevo()
    assert brevo.remove_from_list(list_id, [sf_id]) == [sf_id]
    assert brevo.remove_from_list(list_id, [sf_id]) == []  # the replay
