"""What the store does on PostgreSQL only: its schema and version, its write lock, its hot paths.

The behaviour both backends share is tested once, on both (the ``store`` fixture); SQLite's own
machinery (pragmas, WAL, migrating old files) is tested in ``test_store.py``.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from toolkit.exceptions import ConfigError
from toolkit.store import MIGRATIONS, Link, LinkState, Store, migrate
from toolkit.store.dialect import PostgresDialect, constraint_kind, pg_sql

TABLES = {
    "connections",
    "integrations",
    "links",
    "cursors",
    "runs",
    "rejections",
    "conflicts",
    "quota_ledger",
    "quota_settings",
    "quota_reservations",
    "outbox",
    "webhook_events",
    "polls",
    "changes",
    "schema_version",
}


def _tables(store: Store) -> set[str]:
    rows = store.db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def test_the_same_migrations_build_the_schema_and_reopening_applies_nothing(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert _tables(store) == TABLES
        assert store.create_integration("kept", "Lead").id == 1  # an identity column
    with Store.open(pg_url) as again:
        assert [i.name for i in again.list_integrations()] == ["kept"]
        assert migrate(again.db, dialect=again.dialect) == len(MIGRATIONS)


def test_a_failed_migration_rolls_back_completely(pg_url: str) -> None:
    dialect = PostgresDialect(pg_url)
    db = dialect.connect()
    broken = [["CREATE TABLE a (id INTEGER)"], ["CREATE TABLE b (id INTEGER)", "NOT SQL"]]
    with pytest.raises(psycopg.errors.SyntaxError):
        migrate(db, broken, dialect=dialect)
    assert dialect.schema_version(db) == 1
    tables = {
        r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    }
    assert tables == {"a", "schema_version"}  # PostgreSQL's DDL is transactional: no table b
    db.close()


def test_a_newer_schema_is_refused(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        store.db.execute("UPDATE schema_version SET version = ?", (len(MIGRATIONS) + 1,))
    with pytest.raises(ConfigError, match="upgrade the toolkit"):
        Store.open(pg_url)


def test_writers_take_turns_as_on_sqlite_and_readers_never_wait(pg_url: str) -> None:
    """A write transaction holds the store's advisory lock: another writer waits for its end,
    as SQLite's BEGIN IMMEDIATE makes it; a reader does not wait."""
    first, second = Store.open(pg_url), Store.open(pg_url)
    iid = first.create_integration("contacts", "Contact").id
    order: list[str] = []
    started = threading.Event()

    def other_writer() -> None:
        started.set()
        with second.transaction():
            order.append("second writes")
            second.set_cursor(iid, "salesforce", "b")

    with first.transaction():
        first.set_cursor(iid, "salesforce", "a")
        thread = threading.Thread(target=other_writer)
        thread.start()
        assert started.wait(10)
        time.sleep(0.3)  # the other writer is waiting for the lock by now
        assert order == []
        assert second.get_cursor(iid, "salesforce") is None  # a reader does not wait (nor see)
        order.append("first commits")
    thread.join(10)
    assert order == ["first commits", "second writes"]
    assert first.get_cursor(iid, "salesforce") == "b"
    first.close()
    second.close()


def test_bulk_upsert_keeps_what_executemany_would_and_counts_like_it(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        iid = store.create_integration("contacts", "Contact").id
        links = [Link(iid, f"003{n:04d}", brevo_id=n, email=f"p{n}@example.com") for n in range(200)]
        again = Link(iid, "0030007", brevo_id=None, sf_hash="last")  # a repeated key: the last one wins
        assert store.upsert_links([*links, again]) == 201  # as executemany counts: once per row
        kept = store.links_by_sf_ids(iid, ["0030007"])["0030007"]
        assert (kept.brevo_id, kept.sf_hash) == (7, "last")  # COALESCE kept the known Brevo id
        assert store.count_links(iid) == 200
        assert set(store.links_by_emails(["P5@example.com", "p150@example.com"])) == {
            "p5@example.com",
            "p150@example.com",
        }
        store.upsert_links(links)  # the staging table is emptied after each use
        assert store.count_links(iid) == 200


def test_the_statements_are_rewritten_once_and_quoted_text_is_kept() -> None:
    assert pg_sql("SELECT * FROM t WHERE a = ? AND b LIKE '%?%' AND c = ?") == (
        "SELECT * FROM t WHERE a = %s AND b LIKE '%%?%%' AND c = %s"
    )
    assert pg_sql("SELECT 'it''s ?' , ?") == "SELECT 'it''s ?' , %s"


def test_integrity_errors_say_which_constraint(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        store.create_integration("contacts", "Contact")
        with pytest.raises(ConfigError, match="already exists"):
            store.create_integration("contacts", "Lead")
        with pytest.raises(store.integrity_error) as broken:
            store.db.execute("UPDATE integrations SET status = 'paused'")
        assert constraint_kind(broken.value) == "check"


def test_links_are_streamed_through_a_server_side_cursor(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        iid = store.create_integration("contacts", "Contact").id
        store.upsert_links(Link(iid, f"003{n:04d}") for n in range(120))
        streamed = store.iter_links(iid, batch=50)
        first = [next(streamed) for _ in range(60)]
        store.set_cursor(iid, "salesforce", "x")  # the connection keeps working while a stream is open
        rest = list(streamed)
        assert [link.sf_id for link in first + rest] == [f"003{n:04d}" for n in range(120)]
        open_cursors = store.db.execute("SELECT count(*) FROM pg_cursors").fetchone()[0]
        assert open_cursors == 0  # closed once read
        assert len(list(store.iter_links(iid, batch=7))) == 120 == len(store.all_links(iid))


def test_a_rolled_back_bulk_write_leaves_the_next_one_working(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        iid = store.create_integration("contacts", "Contact").id
        links = [Link(iid, f"003{n:04d}") for n in range(100)]
        with pytest.raises(RuntimeError), store.transaction():  # the COPY's staging table was made here
            store.upsert_links(links)
            raise RuntimeError("the chunk fails")
        assert store.count_links(iid) == 0
        assert store.upsert_links(links) == 100 and store.count_links(iid) == 100


def test_bulk_updates_mean_what_one_statement_per_row_means(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        iid = store.create_integration("contacts", "Contact").id
        store.upsert_links(Link(iid, f"003{n:04d}") for n in range(100))
        ids = {f"003{n:04d}": n + 1 for n in range(100)}
        assert store.set_brevo_ids(iid, ids) == 100
        assert store.links_by_brevo_ids(iid, [42])[42].sf_id == "0030041"
        sf_ids = [*ids, "0030005", "not-linked"]  # a repeated key counts twice, an unknown one not at all
        assert store.set_link_state(iid, sf_ids, LinkState.SUSPENDED, detail="why") == 101
        assert store.count_links(iid, state=LinkState.SUSPENDED) == 100
        rows = [(LinkState.KEPT, "first", iid, "0030007"), *[(LinkState.ACTIVE, None, iid, k) for k in ids]]
        rows.append((LinkState.HELD_DELETE, "last", iid, "0030007"))  # the last of two updates wins
        assert (
            store._write_many(
                "UPDATE links SET state = ?, detail = ? WHERE integration_id = ? AND sf_id = ?", rows
            )
            == 102
        )
        kept = store.links_by_sf_ids(iid, ["0030007"])["0030007"]
        assert (kept.state, kept.detail) == (LinkState.HELD_DELETE, "last")
