"""Copying a whole state into an empty database (``toolkit state copy --to``): SQLite -> PostgreSQL,
and back, row for row, with ids that go on after the copied ones."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.store import T0, FakeClock
from toolkit.brevo import BrevoEvent, EventKind
from toolkit.cli import main
from toolkit.exceptions import ConfigError
from toolkit.rules.rejection import Rejection
from toolkit.store import Conflict, Direction, Link, RunStatus, Side, Store
from toolkit.store.copy import TABLES, copy_state


def _fill(store: Store) -> int:
    connection = store.add_connection(
        "org",
        login_url="https://login.salesforce.com",
        username="ana@example.com",
        client_id="c",
        flow="password",
    )
    iid = store.create_integration("contacts", "Contact", connection_id=connection.id).id
    store.create_integration("leads", "Lead")
    run = store.start_run(iid)
    store.upsert_links(
        Link(iid, f"003{n:05d}", brevo_id=n + 1, email=f"p{n}@example.com") for n in range(300)
    )
    store.set_cursor(iid, "salesforce", "2025-03-01T12:00:00Z|003")
    store.upsert_rejections(
        [
            Rejection(
                "003X",
                "Y5",
                "LastName",
                None,
                "No last name.",
                integration_id=iid,
                direction=Direction.TO_BREVO,
            )
        ],
        run_id=run.id,
    )
    store.add_conflicts([Conflict(iid, "00300001", Side.SALESFORCE, {"A": 1}, {"A": 2})], run_id=run.id)
    store.set_quota_limit(5_000)
    store.add_tasks(iid, run.id, 42)
    store.enqueue_notification("quota_warning", "2025-03", subject="80%", text="t", html="<p>h</p>")
    store.record_events(
        iid, [BrevoEvent(EventKind.CONTACT_UPDATED, "p1@example.com", 2, (), T0 - timedelta(minutes=1), "")]
    )
    store.record_poll(iid, calls=1, found=True)
    store.finish_run(run.id, RunStatus.SUCCEEDED, counts={"created": 300})
    return iid


def _dump(store: Store) -> dict[str, list[tuple[tuple[str, object], ...]]]:
    found = {}
    for table in TABLES:
        cursor = store.db.execute(f"SELECT * FROM {table}")
        names = [c[0] for c in cursor.description]  # type: ignore[attr-defined]
        found[table] = sorted(
            (tuple(sorted(zip(names, row), key=repr)) for row in cursor.fetchall()), key=repr
        )
    return found


def test_a_sqlite_state_is_copied_into_postgresql_and_back_row_for_row(tmp_path: Path, pg_url: str) -> None:
    clock = FakeClock()
    with Store.open(tmp_path / "a", clock=clock) as source, Store.open(pg_url, clock=clock) as target:
        iid = _fill(source)
        counts = copy_state(source, target)
        assert counts["links"] == 300 and counts["integrations"] == 2 and counts["changes"] >= 2
        assert _dump(target) == _dump(source)
        assert target.create_integration("new", "Contact").id == 3  # ids go on after the copied ones
        assert target.start_run(iid).id == 2
        with Store.open(tmp_path / "b", clock=clock) as back:
            copy_state(target, back)  # PostgreSQL -> SQLite works the same way
            assert _dump(back) == _dump(target)


def test_only_an_empty_target_is_accepted_and_a_failed_copy_leaves_it_empty(
    tmp_path: Path, pg_url: str
) -> None:
    with Store.open(tmp_path, clock=FakeClock()) as source, Store.open(pg_url) as target:
        _fill(source)
        target.create_integration("already here", "Lead")
        with pytest.raises(ConfigError, match="not empty"):
            copy_state(source, target)
        target.db.execute("DELETE FROM changes")
        target.db.execute("DELETE FROM integrations")
        source.db.execute("PRAGMA foreign_keys = OFF")
        source.db.execute("INSERT INTO cursors VALUES (99, 'x', 'y', 'z')")  # an orphan PostgreSQL refuses
        with pytest.raises(target.integrity_error):
            copy_state(source, target)
        assert all(target.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] == 0 for t in TABLES)


def test_the_state_command_shows_migrates_and_copies(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOOLKIT_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("TOOLKIT_STATE_URL", raising=False)
    with Store.open(tmp_path) as store:
        store.create_integration("contacts", "Contact")
    assert main(["state", "migrate"]) == 0
    assert main(["state", "copy", "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert "integrations" in out and "state_url" in out
    monkeypatch.setenv("TOOLKIT_STATE_URL", pg_url)
    assert main(["state", "show"]) == 0
    assert "(postgresql), schema version" in capsys.readouterr().out
    with Store.open(pg_url) as copied:
        assert [i.name for i in copied.list_integrations()] == ["contacts"]
