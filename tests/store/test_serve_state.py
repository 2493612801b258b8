"""What ``toolkit serve`` keeps in the state (migration 7): schedules, B8, webhooks, run triggers."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.support.store import FakeClock
from toolkit import audit
from toolkit.schedules import DEFAULT_SCHEDULE
from toolkit.store import MIGRATIONS, RunStatus, RunTrigger, Store, migrate


def test_migration_7_keeps_existing_integrations_as_they_were(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    assert migrate(db, MIGRATIONS[:6]) == 6
    db.execute(
        "INSERT INTO integrations (name, object, created_at, updated_at) VALUES ('old', 'Contact', ?, ?)",
        ("2025-03-01T12:00:00.000000Z", "2025-03-01T12:00:00.000000Z"),
    )
    db.execute(
        "INSERT INTO runs (integration_id, started_at, status, counts) "
        "VALUES (1, '2025-03-01T12:00:00.000000Z', 'succeeded', '{}')"
    )
    db.close()
    with Store.open(tmp_path) as store:
        old = store.get_integration("old")
        # B8 is opt-in: an integration made before it keeps its behaviour until someone turns it on
        assert (old.schedule, old.sync_unsubscribes, old.sms_optout_field) == (DEFAULT_SCHEDULE, False, None)
        assert (old.webhook_id, old.webhook_url) == (None, None)
        [run] = store.list_runs(old.id)
        assert run.trigger is None


def test_b8_new_integrations_sync_unsubscribes_unless_told_otherwise(store: Store) -> None:
    assert store.create_integration("new", "Contact").sync_unsubscribes is True
    assert store.create_integration("without", "Lead", sync_unsubscribes=False).sync_unsubscribes is False
    changed = store.update_integration("without", sync_unsubscribes=True, sms_optout_field="SMS_Opt_Out__c")
    assert (changed.sync_unsubscribes, changed.sms_optout_field) == (True, "SMS_Opt_Out__c")


@pytest.mark.parametrize(
    ("typed", "kept"),
    [("15m", "every 15 minutes"), ("Every 2 Hours", "every 2 hours"), ("0 6 * * mon-fri", "0 6 * * mon-fri")],
)
def test_a_schedule_is_kept_in_its_canonical_form(store: Store, typed: str, kept: str) -> None:
    assert store.create_integration("x", "Contact").schedule == DEFAULT_SCHEDULE
    assert store.update_integration("x", schedule=typed).schedule == kept


def test_a_wrong_schedule_is_refused_with_what_is_accepted(store: Store) -> None:
    store.create_integration("x", "Contact")
    with pytest.raises(ValueError, match="cron expression of five fields"):
        store.update_integration("x", schedule="hourly-ish")
    assert store.get_integration("x").schedule == DEFAULT_SCHEDULE


def test_a_run_keeps_what_started_it(store: Store) -> None:
    integ = store.create_integration("x", "Contact")
    manual = store.start_run(integ.id)
    store.start_run(integ.id, trigger=RunTrigger.EVENT)
    store.finish_run(manual.id, RunStatus.SUCCEEDED)
    assert [r.trigger for r in store.list_runs(integ.id)] == [RunTrigger.EVENT, RunTrigger.MANUAL]


def test_b3_the_polls_cost_is_counted_per_integration_and_hour(store: Store, clock: FakeClock) -> None:
    a, b = (store.create_integration(name, "Contact").id for name in ("a", "b"))
    for found in (False, False, True):
        store.record_poll(a, calls=1, found=found)
    clock.now += timedelta(hours=1)
    store.record_poll(a, calls=1, found=False)
    store.record_poll(b, calls=2, found=True)
    usage = audit.poll_usage(store)
    assert list(usage.columns) == list(audit.POLL_USAGE_COLUMNS)
    assert [tuple(r) for r in usage[["integration", "polls", "calls", "found"]].itertuples(index=False)] == [
        ("a", 3, 3, 1),
        ("a", 1, 1, 0),
        ("b", 1, 2, 1),
    ]
    assert (usage["hour"].iloc[1] - usage["hour"].iloc[0]) == pd.Timedelta(hours=1)
    assert audit.poll_usage(store, integration="b")["calls"].tolist() == [2]
    assert audit.poll_usage(store, since=clock.now)["polls"].sum() == 2
