"""The state store: schema and migrations, S3, CHECKs, transactions, bulk links, rejections."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.store import FakeClock
from toolkit.config import Settings
from toolkit.credentials import CredentialStore
from toolkit.exceptions import ConfigError, ConnectionLimitError
from toolkit.store import (
    MIGRATIONS,
    Conflict,
    Direction,
    IntegrationStatus,
    Link,
    LinkState,
    Rejection,
    RejectionState,
    RunStatus,
    Side,
    Store,
    migrate,
    schema_version,
)


def _connect(store: Store, name: str, **kw: str) -> int:
    values = {
        "login_url": "https://login.salesforce.com",
        "username": "ana@example.com",
        "client_id": "3MVG9-client",
        "flow": "authorization_code",
        **kw,
    }
    return store.add_connection(name, **values).id


@pytest.fixture
def integration(store: Store) -> int:
    return store.create_integration("contacts", "Contact", connection_id=_connect(store, "c")).id


def test_migrations_from_empty_then_reopen_is_idempotent(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    assert store.schema_version == len(MIGRATIONS) == schema_version(store.db)
    tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"connections", "integrations", "links", "cursors", "runs", "rejections", "conflicts"} <= tables
    store.create_integration("kept", "Lead")
    store.close()
    again = Store.open(tmp_path)  # a directory means <dir>/state.db
    assert again.schema_version == len(MIGRATIONS)
    assert [i.name for i in again.list_integrations()] == ["kept"]
    assert migrate(again.db) == len(MIGRATIONS)  # applying again changes nothing


def test_failed_migration_rolls_back_completely(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    broken = [["CREATE TABLE a (id INTEGER)"], ["CREATE TABLE b (id INTEGER)", "NOT SQL"]]
    with pytest.raises(sqlite3.OperationalError):
        migrate(db, broken)
    assert schema_version(db) == 1
    assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["a"]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    db = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(ConfigError, match="upgrade the toolkit"):
        Store.open(tmp_path)


def test_wal_mode_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:  # SQLite's own
    store = Store.open(tmp_path)
    assert store.journal_mode == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    store.close()


def test_a_reader_sees_committed_state_while_a_writer_is_in_a_transaction(
    store: Store, integration: int, state_location: Path | str
) -> None:
    reader = Store.open(state_location)
    with store.transaction():
        store.upsert_links([Link(integration, "003A")])
        assert reader.count_links(integration) == 0  # WAL: readers are not blocked
    assert reader.count_links(integration) == 1
    reader.close()


def test_from_settings_creates_the_state_dir(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "new" / "state")
    with Store.from_settings(settings) as store:
        assert store.path == settings.db_path and settings.db_path.exists()


def test_from_settings_opens_state_url_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    settings = Settings.from_env({"TOOLKIT_STATE_URL": pg_url}, state_dir=tmp_path)
    with Store.from_settings(settings) as store:
        assert store.dialect.name == "postgresql" and store.path is None
        assert store.schema_version == len(MIGRATIONS)
        assert store.location == pg_url  # no password in the tests' URL; redact_url is tested with one
        store.create_integration("contacts", "Contact")
    with Store.open(pg_url) as again:  # re-opening applies nothing
        assert [i.name for i in again.list_integrations()] == ["contacts"]
    assert not (tmp_path / "state.db").exists()


def test_s3_sixth_integration_on_one_account_is_refused_whatever_the_connection(store: Store) -> None:
    shared = _connect(store, "shared", org_id="00D000000000001AAA", user_id="005000000000001AAA")
    for n, obj in enumerate(("Contact", "Lead", "Contact", "Lead")):  # Contacts and Leads count together
        store.create_integration(f"i{n}", obj, connection_id=shared)
    again = _connect(
        store,
        "again",
        org_id="00D000000000001",
        user_id="005000000000001",  # 15-char Ids
        username="renamed@example.com",
    )  # a second connection of the same user of the org
    store.create_integration("i4", "Lead", connection_id=again)
    assert (
        store.count_for_account(username="x", org_id="00D000000000001AAA", user_id="005000000000001AAA") == 5
    )
    assert store.account_users("again") == ["i0", "i1", "i2", "i3", "i4"]
    sixth = store.create_integration("sixth", "Contact")
    with pytest.raises(ConnectionLimitError) as refused:
        store.update_integration("sixth", connection_id=shared)
    message = str(refused.value)
    assert "already used by 5 integrations ('i0', 'i1', 'i2', 'i3', 'i4')" in message
    assert "at most 5 integrations in total, Contacts and Leads together (S3)" in message
    with pytest.raises(ConnectionLimitError):
        store.create_integration("seventh", "Lead", connection_id=again)
    with pytest.raises(ConnectionLimitError):
        store.check_connection_use("shared", "sixth")  # what the wizard asks before any sign-in
    assert store.get_integration("sixth").connection_id is None
    assert [i.name for i in store.list_integrations()] == ["i0", "i1", "i2", "i3", "i4", "sixth"]
    store.update_integration("i4", connection_id=shared)  # moving a user between its connections adds nothing
    other = _connect(store, "other user", org_id="00D000000000001AAA", user_id="005000000000002AAA")
    store.update_integration("sixth", connection_id=other)  # another user of the same org is another account
    store.set_status("i0", IntegrationStatus.ERROR)  # every status counts ...
    with pytest.raises(ConnectionLimitError):
        store.create_integration("eighth", "Lead", connection_id=shared)
    store.delete_integration("i0")  # ... until the integration is deleted
    store.create_integration("eighth", "Lead", connection_id=shared)
    assert sixth.id and len(store.list_connections()) == 3  # connection rows are no uses


def test_s3_account_identity_without_ids_falls_back_to_username_and_org_or_login_url(store: Store) -> None:
    for n in range(5):
        store.create_integration(
            f"prod {n}",
            "Contact",
            connection_id=_connect(
                store, f"prod {n}", org_id="00D000000000001AAA", login_url="https://acme.my.salesforce.com"
            ),
        )
    # Same username and org id (15-character form) through another login URL: the same account.
    with pytest.raises(ConnectionLimitError):
        store.create_integration(
            "again",
            "Lead",
            connection_id=_connect(
                store,
                "again",
                username="ANA@example.com",
                org_id="00D000000000001",
                login_url="https://login.salesforce.com",
            ),
        )
    store.create_integration(
        "sandbox org", "Lead", connection_id=_connect(store, "sandbox org", org_id="00D000000000002AAA")
    )  # same username, other org
    store.create_integration("bob", "Lead", connection_id=_connect(store, "bob", username="bob@example.com"))


def test_connection_in_use_cannot_be_deleted(store: Store, integration: int) -> None:
    with pytest.raises(ConfigError, match="used by integration"):
        store.delete_connection("c")
    with pytest.raises(ConfigError, match="already exists"):
        _connect(store, "c")


def test_check_constraints_reject_bad_values(store: Store, integration: int) -> None:
    with pytest.raises(store.integrity_error, match=r"(?i)check"):
        store.db.execute("UPDATE integrations SET status = 'paused' WHERE id = ?", (integration,))
    with pytest.raises(store.integrity_error, match=r"(?i)check"):
        store.db.execute(
            "INSERT INTO integrations (name, object, created_at, updated_at) VALUES ('x', 'Account', '', '')"
        )
    with pytest.raises(ValueError, match="status must be one of"):
        store.set_status(integration, "paused")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="object must be one of"):
        store.create_integration("accounts", "Account")
    with pytest.raises(ValueError, match="flow must be one of"):
        _connect(store, "d", flow="saml")
    assert store.get_integration(integration).status is IntegrationStatus.DRAFT


def test_activation_needs_opt_in_connection_mapping_and_list(store: Store, integration: int) -> None:
    with pytest.raises(ConfigError, match="opt-in agreement"):
        store.set_status(integration, IntegrationStatus.ACTIVE)
    store.set_opt_in(integration)
    store.set_mapping(integration, {"EMAIL": "Email", "LASTNAME": "LastName"})
    store.set_list(integration, 7)
    active = store.set_status("contacts", "active")  # type: ignore[arg-type]  # stored text works too
    assert (active.status, active.mapping["EMAIL"], active.list_id) == (IntegrationStatus.ACTIVE, "Email", 7)
    assert active.status == "active" and active.conflict_winner is Side.SALESFORCE
    stopped = store.set_status(integration, IntegrationStatus.STOPPED, stop_reason="quota")
    assert (stopped.status, stopped.stop_reason) == (IntegrationStatus.STOPPED, "quota")


def test_a_notice_keeps_its_rule_until_the_status_is_set_again(store: Store, integration: int) -> None:
    noticed = store.set_status(
        integration, IntegrationStatus.DRAFT, last_error="1 Lead(s) not updated", last_error_rule="Y8"
    )
    assert (noticed.last_error, noticed.last_error_rule) == ("1 Lead(s) not updated", "Y8")
    failed = store.set_status(integration, IntegrationStatus.ERROR, last_error="signed out")
    assert (failed.last_error, failed.last_error_rule) == ("signed out", None)


def test_migration_5_finds_the_y8_notices_shown_before(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    migrate(db, MIGRATIONS[:4])
    for name, error in (
        ("leads", "2 Lead(s) not updated: ... (SPEC Y8): 00QA, 00QB"),
        ("other", "signed out"),
    ):
        db.execute(
            "INSERT INTO integrations (name, object, last_error, created_at, updated_at) VALUES (?, 'Lead', ?, ?, ?)",
            (name, error, "2025-03-01T12:00:00.000000Z", "2025-03-01T12:00:00.000000Z"),
        )
    db.close()
    with Store.open(tmp_path) as store:
        assert store.get_integration("leads").last_error_rule == "Y8"
        assert store.get_integration("other").last_error_rule is None


def test_transaction_rolls_back_on_exception(store: Store, integration: int) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert_links([Link(integration, "003A")])
        store.set_cursor(integration, "salesforce", "2025-03-01T00:00:00Z")
        raise RuntimeError("crash before commit")
    assert store.count_links(integration) == 0
    assert store.get_cursor(integration, "salesforce") is None
    with store.transaction():
        store.upsert_links([Link(integration, "003B")])
        with pytest.raises(ValueError), store.transaction():  # a nested block is a savepoint
            store.upsert_links([Link(integration, "003C", state="gone")])  # type: ignore[arg-type]
    assert list(store.links_by_sf_ids(integration, ["003B", "003C"])) == ["003B"]


def test_links_bulk_upsert_and_lookup_of_100000(
    store: Store,
    integration: int,
    record_property: Any,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    links = [
        Link(integration, f"003{n:015d}", brevo_id=n + 1, email=f"p{n}@example.com", sf_hash=f"s{n}")
        for n in range(100_000)
    ]
    started = time.perf_counter()
    assert store.upsert_links(links) == 100_000
    wrote = time.perf_counter()
    by_sf = store.links_by_sf_ids(integration, [link.sf_id for link in links])
    by_brevo = store.links_by_brevo_ids(integration, range(1, 100_001))
    read = time.perf_counter()
    assert len(by_sf) == len(by_brevo) == store.count_links(integration) == 100_000
    assert by_brevo[42].sf_id == f"003{41:015d}"
    # An update without a Brevo id keeps the stored one (imports do not return ids).
    store.upsert_links([Link(integration, links[0].sf_id, sf_hash="new", state=LinkState.SUSPENDED)])
    first = store.links_by_sf_ids(integration, [links[0].sf_id])[links[0].sf_id]
    assert (first.brevo_id, first.sf_hash, first.state) == (1, "new", LinkState.SUSPENDED)
    assert type(first.state) is LinkState  # read back as a member, not as text
    assert store.count_links(integration, state=LinkState.ACTIVE) == 99_999
    assert store.delete_links(integration, (link.sf_id for link in links[:1000])) == 1000
    record_property("links_100000_upsert_seconds", round(wrote - started, 2))
    record_property("links_100000_lookup_seconds", round(read - wrote, 2))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        with capsys.disabled():
            reporter.write_line(
                f" store: 100,000 links upserted in {wrote - started:.2f} s, "
                f"looked up by sf_id and brevo_id in {read - wrote:.2f} s"
            )


def test_link_keys_are_every_link_s_id_brevo_id_and_state(store: Store, integration: int) -> None:
    """Y10: the deletion check scans every link's keys without its synced values."""
    store.upsert_links(
        Link(
            integration,
            f"003{n:04d}",
            brevo_id=n if n % 3 else None,
            state=list(LinkState)[n % len(LinkState)],
        )
        for n in range(40)
    )
    keys = list(store.iter_link_keys(integration, batch=7))
    assert keys == [(link.sf_id, link.brevo_id, link.state) for link in store.iter_links(integration)]
    assert all(type(key.state) is LinkState for key in keys) and len(keys) == 40


def test_cursors_set_get_clear(store: Store, integration: int) -> None:
    store.set_cursor(integration, "salesforce", "a")
    store.set_cursor(integration, "salesforce", "b")
    store.set_cursor(integration, "brevo", "c")
    assert store.cursors(integration) == {"salesforce": "b", "brevo": "c"}
    store.clear_cursors(integration, ["brevo"])
    assert store.get_cursor(integration, "brevo", "none") == "none"


def test_runs_start_finish_and_abandon(store: Store, integration: int, clock: FakeClock) -> None:
    run = store.start_run(integration, dry_run=True)
    assert (run.status, run.dry_run, run.full, run.finished_at) == (RunStatus.RUNNING, True, False, None)
    clock.now += timedelta(minutes=3)
    done = store.finish_run(
        run.id,
        RunStatus.SUCCEEDED,
        counts={"counts": {"to_brevo.create": 2}},
        sf_api_used=120,
        sf_api_limit=15_000,
    )
    assert done.finished_at is not None and done.finished_at - done.started_at == timedelta(minutes=3)
    assert done.counts == {"counts": {"to_brevo.create": 2}}
    with pytest.raises(ConfigError, match="already finished"):
        store.finish_run(run.id, RunStatus.FAILED)
    with pytest.raises(ValueError, match="finished run's status must be one of"):
        store.finish_run(run.id, RunStatus.RUNNING)
    crashed = store.start_run(integration, full=True)
    assert store.abandon_running_runs(integration) == 1
    assert store.get_run(crashed.id).status is RunStatus.FAILED
    assert [r.id for r in store.list_runs(integration)] == [crashed.id, run.id]


def test_a1_rejection_seen_again_keeps_first_seen_and_updates_last_seen(
    store: Store, integration: int, clock: FakeClock
) -> None:
    first_run = store.start_run(integration).id
    y5 = Rejection(
        "003A",
        "Y5",
        "LastName",
        "",
        "last name is empty in Brevo",
        integration_id=integration,
        direction=Direction.TO_SALESFORCE,
        data_hash="h1",
    )
    store.upsert_rejections([y5], run_id=first_run)
    store.upsert_rejections([y5], run_id=first_run)  # a replay of the same run
    clock.now += timedelta(days=1)
    second_run = store.start_run(integration).id
    store.upsert_rejections([y5], run_id=second_run)
    [row] = store.list_rejections(integration)
    assert row["first_seen"] == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert row["last_seen"] == datetime(2025, 3, 2, 12, 0, tzinfo=UTC)
    assert (row["seen_count"], row["first_run_id"], row["run_id"]) == (2, first_run, second_run)
    assert (row["integration"], row["rule"], row["field"]) == ("contacts", "Y5", "LastName")


def test_a3_resolve_and_list_open_and_resolved(store: Store, integration: int) -> None:
    run = store.start_run(integration).id
    store.upsert_rejections(
        [
            Rejection(
                "00QA",
                "Y9",
                "Phone",
                "12",
                "phone must have 6 to 16 digits",
                integration_id=integration,
                direction=Direction.TO_BREVO,
            ),
            Rejection(
                "003B",
                "SF:DELETE_FAILED",
                "",
                None,
                "Salesforce refuses to delete a contact with a related Case",
                integration_id=integration,
                direction=Direction.TO_SALESFORCE,
                service_code="DELETE_FAILED",
                permanent=True,
            ),
        ],
        run_id=run,
    )
    [opened] = store.open_rejections(integration, Direction.TO_BREVO, ["00QA", "00QZ"])["00QA"]
    assert (opened.direction, opened.integration_id, opened.value) == (Direction.TO_BREVO, integration, "12")
    assert type(opened.direction) is Direction and opened.first_seen is not None
    assert store.resolve_rejections(integration, Direction.TO_BREVO, ["00QA"], run_id=run) == 1
    assert [r["record_id"] for r in store.list_rejections(integration)] == ["003B"]
    [resolved] = store.list_rejections(integration, state=RejectionState.RESOLVED)
    assert (resolved["record_id"], resolved["resolved_run_id"]) == ("00QA", run)
    assert len(store.list_rejections(state=RejectionState.ALL, run_id=run)) == 2
    # Seen again after being resolved: it is open again.
    again = Rejection(
        "00QA", "Y9", "Phone", None, "again", integration_id=integration, direction=Direction.TO_BREVO
    )
    store.upsert_rejections([again])
    assert {r["record_id"] for r in store.list_rejections(integration)} == {"00QA", "003B"}
    with pytest.raises(ValueError, match="no integration or direction"):
        store.upsert_rejections([Rejection("00QA", "Y9", "Phone", None, "from the rules alone")])


def test_conflicts_are_recorded(store: Store, integration: int) -> None:
    run = store.start_run(integration).id
    store.add_conflicts(
        [Conflict(integration, "003A", Side.SALESFORCE, {"Phone": "1"}, {"SMS": "2"})], run_id=run
    )
    [conflict] = store.list_conflicts(integration, run_id=run)
    assert (conflict.winner, conflict.sf_values, conflict.brevo_values) == (
        Side.SALESFORCE,
        {"Phone": "1"},
        {"SMS": "2"},
    )


def test_database_holds_no_secret_after_use(tmp_path: Path) -> None:
    secrets = {
        "client_secret": "CS-7f3a9e1b-secret",
        "refresh_token": "5Aep861-refresh-token",
        "api_key": "xkeysib-0123456789abcdef",
    }
    credentials = CredentialStore(tmp_path, environ={})
    store = Store.open(tmp_path)
    connection = store.add_connection(
        "prod",
        login_url="https://login.salesforce.com",
        username="ana@example.com",
        client_id="3MVG9",
        flow="jwt_bearer",
    )
    credentials.set("salesforce", connection.name, "client_secret", secrets["client_secret"])
    credentials.set("salesforce", connection.name, "refresh_token", secrets["refresh_token"])
    credentials.set("brevo", "default", "api_key", secrets["api_key"])
    integration = store.create_integration("contacts", "Contact", connection_id=connection.id)
    store.upsert_links([Link(integration.id, "003A", 1)])
    assert credentials.get("brevo", "default", "api_key").reveal() == secrets["api_key"]
    store.close()
    for db_file in tmp_path.glob("state.db*"):
        content = db_file.read_bytes()
        assert not any(value.encode() in content for value in secrets.values()), db_file.name


def test_a_store_is_usable_from_any_thread_each_with_its_own_connection(state_location: Path | str) -> None:
    """The apps' callbacks may run on another thread (JupyterLab's kernel subshells, a sign-in
    listener): such a thread gets a connection of its own, with its own transaction."""
    import threading

    store = Store.open(state_location)
    store.create_integration("from-the-cell", "Contact")
    seen: list[str] = []
    errors: list[BaseException] = []
    inside = threading.Event()
    go_on = threading.Event()

    def callback() -> None:  # as a button's callback runs in a subshell
        try:
            seen.extend(i.name for i in store.list_integrations())
            with store.transaction():
                store.create_integration("from-a-subshell", "Lead")
                inside.set()
                go_on.wait(10)
        except BaseException as exc:
            errors.append(exc)
            inside.set()

    thread = threading.Thread(target=callback)
    thread.start()
    assert inside.wait(10)
    assert store._depth == 0 and not store.db.in_transaction  # the other thread's transaction is its own
    assert [i.name for i in store.list_integrations()] == ["from-the-cell"]  # not committed yet
    go_on.set()
    thread.join(10)
    assert errors == [] and seen == ["from-the-cell"]
    assert [i.name for i in store.list_integrations()] == ["from-a-subshell", "from-the-cell"]
    store.close()
    with pytest.raises(store.dialect.closed_error):
        store.list_integrations()
