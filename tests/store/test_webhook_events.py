"""The webhook inbox: events recorded once, taken oldest first, marked processed, purged; migration 6."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.support.store import T0, FakeClock
from toolkit.brevo import BrevoEvent, EventKind
from toolkit.store import MIGRATIONS, Store, WebhookEventOutcome, migrate


@pytest.fixture
def integration(store: Store) -> int:
    return store.create_integration("contacts", "Contact").id


def _event(
    email: str, minutes: int, kind: EventKind = EventKind.CONTACT_UPDATED, api_key_name: str | None = None
) -> BrevoEvent:
    """An event ``minutes`` before T0 (a BrevoEvent: the store takes it through its InboxEvent protocol)."""
    return BrevoEvent(kind, email, None, (), T0 - timedelta(minutes=minutes), api_key_name)


def test_events_are_recorded_once_per_integration(store: Store, integration: int) -> None:
    first = _event("ana@example.com", 5, EventKind.LIST_ADDITION, api_key_name="")
    second = BrevoEvent(EventKind.UNSUBSCRIBED, "bo@example.com", 42, (3, 7), T0, "sf-toolkit")
    assert store.record_events(integration, [first, second]) == 2
    assert store.record_events(integration, [first, second]) == 0  # a retried delivery
    assert store.record_events(integration, [first, first]) == 0  # a batch repeating itself
    assert store.record_events(integration, []) == 0
    other = store.create_integration("leads", "Lead").id
    assert store.record_events(other, [first]) == 1  # the key is unique per integration

    pending = store.pending_events(integration, limit=10)
    assert [(e.kind, e.email, e.contact_id, e.list_ids, e.api_key_name) for e in pending] == [
        ("list_addition", "ana@example.com", None, (), ""),
        ("unsubscribed", "bo@example.com", 42, (3, 7), "sf-toolkit"),
    ]
    assert [e.key for e in pending] == [first.key, second.key]
    assert pending[0].event_at == first.event_at and pending[0].received_at == T0
    assert all(e.pending and e.outcome is None and e.integration_id == integration for e in pending)


def test_pending_events_come_oldest_event_first_even_when_recorded_out_of_order(
    store: Store, integration: int, clock: FakeClock
) -> None:
    late, early, middle = _event("c@example.com", 1), _event("a@example.com", 30), _event("b@example.com", 10)
    store.record_events(integration, [late])
    clock.now += timedelta(seconds=5)
    store.record_events(integration, [early, middle])
    assert [e.email for e in store.pending_events(integration, limit=10)] == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert [e.email for e in store.pending_events(integration, limit=2)] == ["a@example.com", "b@example.com"]
    assert store.pending_events(integration, limit=0) == store.pending_events(integration, limit=-1) == []


def test_processed_events_are_not_pending_and_keep_their_outcome(
    store: Store, integration: int, clock: FakeClock
) -> None:
    store.record_events(integration, [_event(f"p{i}@example.com", i) for i in range(4)])
    ids = [e.id for e in store.pending_events(integration, limit=10)]
    clock.now += timedelta(minutes=1)
    assert store.mark_processed(ids[:2], WebhookEventOutcome.APPLIED) == 2
    assert store.mark_processed([ids[0], ids[2]], WebhookEventOutcome.IGNORED) == 1  # the first stays applied
    assert [e.id for e in store.pending_events(integration, limit=10)] == ids[3:]
    done = store.get_webhook_event(ids[0])
    assert done is not None and not done.pending
    assert (done.outcome, done.processed_at) == (WebhookEventOutcome.APPLIED, T0 + timedelta(minutes=1))
    assert store.mark_processed([], WebhookEventOutcome.FAILED) == 0
    with pytest.raises(ValueError, match="outcome must be one of applied, ignored, failed"):
        store.mark_processed(ids[3:], "done")  # type: ignore[arg-type]
    # A processed event's key is still known: the same delivery again is no new work.
    assert store.record_events(integration, [_event("p0@example.com", 0)]) == 0


def test_purge_removes_only_events_processed_before_the_date(
    store: Store, integration: int, clock: FakeClock
) -> None:
    store.record_events(integration, [_event(f"q{i}@example.com", i) for i in range(3)])
    ids = [e.id for e in store.pending_events(integration, limit=10)]
    store.mark_processed([ids[0]], WebhookEventOutcome.APPLIED)
    clock.now += timedelta(days=10)
    store.mark_processed([ids[1]], WebhookEventOutcome.APPLIED)
    assert store.purge_processed(T0 + timedelta(days=1)) == 1
    assert store.get_webhook_event(ids[0]) is None
    assert store.get_webhook_event(ids[1]) is not None  # processed later
    assert [e.id for e in store.pending_events(integration, limit=10)] == [ids[2]]  # pending: never purged
    assert store.purge_processed(T0 + timedelta(days=30)) == 1


def test_the_schema_refuses_what_the_inbox_must_not_hold(store: Store, integration: int) -> None:
    @dataclass(frozen=True)
    class Opened:  # a marketing event the toolkit does not act on
        kind: str = "opened"
        email: str = "x@example.com"
        contact_id: int | None = None
        list_ids: tuple[int, ...] = ()
        event_at: datetime = T0
        api_key_name: str | None = None
        key: str = "k"

    with pytest.raises(store.integrity_error):
        store.record_events(integration, [Opened()])
    with pytest.raises(store.integrity_error):
        store.record_events(integration + 100, [_event("x@example.com", 1)])  # no such integration
    assert store.pending_events(integration) == []


def test_an_integration_deleted_takes_its_events_along(store: Store, integration: int) -> None:
    store.record_events(integration, [_event("x@example.com", 1)])
    store.delete_integration(integration)
    assert store.db.execute("SELECT COUNT(*) FROM webhook_events").fetchone()[0] == 0


def test_migration_6_adds_the_inbox_and_keeps_existing_data(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    assert migrate(db, MIGRATIONS[:5]) == 5
    db.execute(
        "INSERT INTO integrations (name, object, last_error, last_error_rule, created_at, updated_at) "
        "VALUES ('kept', 'Lead', 'signed out', NULL, ?, ?)",
        ("2025-03-01T12:00:00.000000Z", "2025-03-01T12:00:00.000000Z"),
    )
    db.execute(
        "INSERT INTO links (integration_id, sf_id, brevo_id, email, state, synced_at) "
        "VALUES (1, '00Q1', 5, 'a@example.com', 'active', '2025-03-01T12:00:00.000000Z')"
    )
    db.close()
    with Store.open(tmp_path) as store:
        assert store.schema_version == len(MIGRATIONS) >= 6
        kept = store.get_integration("kept")
        assert (kept.name, kept.last_error) == ("kept", "signed out")
        assert list(store.links_by_sf_ids(kept.id, ["00Q1"])) == ["00Q1"]
        assert store.record_events(kept.id, [_event("a@example.com", 1)]) == 1
        assert [e.email for e in store.pending_events(kept.id)] == ["a@example.com"]
