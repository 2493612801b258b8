"""The schema as an ordered list of migrations, and the code that applies them.

Migration ``n`` (1-based) brings the database from ``PRAGMA user_version = n - 1`` to ``n``.
Each is a list of SQL statements applied in one transaction together with the version bump, so
a migration is applied completely or not at all, and re-opening a database applies nothing.
Append new migrations; never edit one that has shipped.

The same migrations build the schema on PostgreSQL (issue 16): the SQL is portable, standard
types only (TEXT, INTEGER, BIGINT, DOUBLE PRECISION), timestamps as ISO-8601 UTC text, booleans as
INTEGER 0/1 with CHECKs, JSON as TEXT, ``ON CONFLICT ... DO UPDATE`` upserts. The dialect
(:mod:`toolkit.store.dialect`) spells ``id INTEGER PRIMARY KEY`` as an identity column there,
keeps the version in a ``schema_version`` table instead of ``PRAGMA user_version``, and takes the
store's write lock instead of ``BEGIN IMMEDIATE``. PostgreSQL's DDL is transactional too, so a
migration is applied whole or not at all on both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolkit.exceptions import ConfigError

if TYPE_CHECKING:
    from toolkit.store.dialect import Database, Dialect

__all__ = ["MIGRATIONS", "migrate", "schema_version"]


def _bool(column: str, default: int = 0) -> str:
    return f"{column} INTEGER NOT NULL DEFAULT {default} CHECK ({column} IN (0, 1))"


_V1 = [
    # One signed-in Salesforce account (S2). Secrets are in credentials, keyed by name.
    """CREATE TABLE IF NOT EXISTS connections (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        login_url TEXT NOT NULL,
        instance_url TEXT,
        org_id TEXT,
        user_id TEXT,
        username TEXT NOT NULL,
        client_id TEXT NOT NULL,
        flow TEXT NOT NULL CHECK (flow IN
            ('authorization_code', 'client_credentials', 'jwt_bearer', 'password')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    # One Salesforce object <-> one Brevo list. mass_delete_share NULL = the setting's default.
    f"""CREATE TABLE IF NOT EXISTS integrations (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        object TEXT NOT NULL CHECK (object IN ('Contact', 'Lead')),
        connection_id INTEGER REFERENCES connections (id),
        brevo_account TEXT NOT NULL DEFAULT 'default',
        {_bool("opt_in")},
        mapping TEXT NOT NULL DEFAULT '{{}}',
        list_id BIGINT,
        status TEXT NOT NULL DEFAULT 'draft'
            CHECK (status IN ('draft', 'active', 'stopped', 'error')),
        last_error TEXT,
        stop_reason TEXT,
        conflict_winner TEXT NOT NULL DEFAULT 'salesforce'
            CHECK (conflict_winner IN ('salesforce', 'brevo')),
        {_bool("sync_booleans_picklists")},
        mass_delete_share DOUBLE PRECISION
            CHECK (mass_delete_share IS NULL OR (mass_delete_share > 0 AND mass_delete_share <= 1)),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS integrations_connection ON integrations (connection_id)""",
    # Salesforce Id <-> Brevo contact, with the hash of what was last synced on each side and the
    # synced values themselves (JSON, canonical, keyed by Brevo attribute) for field-level diffs.
    # state 'kept': deleted in Brevo, but Salesforce refused to delete the record (Y10).
    """CREATE TABLE IF NOT EXISTS links (
        integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
        sf_id TEXT NOT NULL,
        brevo_id BIGINT,
        email TEXT,
        sf_hash TEXT,
        brevo_hash TEXT,
        state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended', 'kept')),
        synced TEXT,
        synced_at TEXT NOT NULL,
        PRIMARY KEY (integration_id, sf_id)
    )""",
    """CREATE INDEX IF NOT EXISTS links_brevo ON links (integration_id, brevo_id)""",
    # Named positions per integration: "salesforce" (SystemModstamp|Id), "brevo" (modifiedSince),
    # "brevo_deletions_checked_at" ... free text, interpreted by the engine.
    """CREATE TABLE IF NOT EXISTS cursors (
        integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (integration_id, name)
    )""",
    f"""CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY,
        integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL DEFAULT 'running'
            CHECK (status IN ('running', 'succeeded', 'failed', 'stopped', 'blocked')),
        {_bool("dry_run")},
        {_bool("full_sync")},
        counts TEXT NOT NULL DEFAULT '{{}}',
        error TEXT,
        sf_api_used INTEGER,
        sf_api_limit INTEGER
    )""",
    """CREATE INDEX IF NOT EXISTS runs_integration ON runs (integration_id, started_at)""",
    # field '' = the whole record (NULL would defeat the UNIQUE constraint).
    f"""CREATE TABLE IF NOT EXISTS rejections (
        id INTEGER PRIMARY KEY,
        integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
        run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        first_run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        direction TEXT NOT NULL CHECK (direction IN ('to_brevo', 'to_salesforce')),
        record_id TEXT NOT NULL,
        field TEXT NOT NULL DEFAULT '',
        value TEXT,
        rule TEXT NOT NULL,
        reason TEXT NOT NULL,
        service_code TEXT,
        service_message TEXT,
        data_hash TEXT,
        {_bool("permanent")},
        seen_count INTEGER NOT NULL DEFAULT 1,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        resolved_at TEXT,
        resolved_run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        UNIQUE (integration_id, direction, record_id, rule, field)
    )""",
    """CREATE INDEX IF NOT EXISTS rejections_open ON rejections (integration_id, resolved_at)""",
    """CREATE INDEX IF NOT EXISTS rejections_run ON rejections (run_id)""",
    """CREATE TABLE IF NOT EXISTS conflicts (
        id INTEGER PRIMARY KEY,
        integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
        run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        sf_id TEXT NOT NULL,
        winner TEXT NOT NULL CHECK (winner IN ('salesforce', 'brevo')),
        sf_values TEXT NOT NULL DEFAULT '{}',
        brevo_values TEXT NOT NULL DEFAULT '{}',
        at TEXT NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS conflicts_integration ON conflicts (integration_id, at)""",
]

# Migration 2: the monthly task quota (SPEC Q1-Q3) and the notification outbox (toolkit.quota,
# toolkit.notify). The ledger and reservations have no foreign key to integrations: a deleted
# integration's tasks still count for their month.
_V2 = [
    """CREATE TABLE IF NOT EXISTS quota_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    # run_id 0 = tasks counted outside a run.
    """CREATE TABLE IF NOT EXISTS quota_ledger (
        month TEXT NOT NULL,
        day TEXT NOT NULL,
        integration_id INTEGER NOT NULL,
        run_id INTEGER NOT NULL DEFAULT 0,
        tasks BIGINT NOT NULL CHECK (tasks >= 0),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (day, integration_id, run_id)
    )""",
    """CREATE INDEX IF NOT EXISTS quota_ledger_month ON quota_ledger (month, integration_id)""",
    """CREATE INDEX IF NOT EXISTS quota_ledger_run ON quota_ledger (run_id)""",
    """CREATE TABLE IF NOT EXISTS quota_reservations (
        run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
        integration_id INTEGER NOT NULL,
        tasks BIGINT NOT NULL CHECK (tasks >= 0),
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        month TEXT NOT NULL,
        subject TEXT NOT NULL,
        text_body TEXT NOT NULL,
        html_body TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sending', 'sent', 'unconfirmed', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        attempt_key TEXT,
        message_id TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        sending_at TEXT,
        sent_at TEXT,
        UNIQUE (kind, month)
    )""",
    """CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status)""",
]

# Migration 3: counting rejections per integration, rule, direction and state (the dashboard's
# filters and totals, ``toolkit.audit.rejection_counts``) reads this index alone, not the table.
_V3 = [
    """CREATE INDEX IF NOT EXISTS rejections_counts ON rejections (integration_id, rule, direction, resolved_at)""",
]

# Migration 4 (issue 12): more link states (superseded by a Contact or a conversion, left the
# Brevo list, deletions held by the B6 guard) with a free ``detail`` (e.g. the Id that took the
# contact over), links found by e-mail across integrations (duplicates, a Lead and a Contact of
# one person), and per integration the phone region for national numbers and B6's count floor.
# SQLite cannot change a CHECK: the links table is built anew and its rows copied.
_V4 = [
    """CREATE TABLE links_v4 (
        integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
        sf_id TEXT NOT NULL,
        brevo_id BIGINT,
        email TEXT,
        sf_hash TEXT,
        brevo_hash TEXT,
        state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended', 'kept', 'superseded',
            'left_list', 'held_delete', 'held_brevo_delete')),
        synced TEXT,
        synced_at TEXT NOT NULL,
        detail TEXT,
        PRIMARY KEY (integration_id, sf_id)
    )""",
    """INSERT INTO links_v4 (integration_id, sf_id, brevo_id, email, sf_hash, brevo_hash, state, synced, synced_at)
       SELECT integration_id, sf_id, brevo_id, email, sf_hash, brevo_hash, state, synced, synced_at FROM links""",
    """DROP TABLE links""",
    """ALTER TABLE links_v4 RENAME TO links""",
    """CREATE INDEX IF NOT EXISTS links_brevo ON links (integration_id, brevo_id)""",
    """CREATE INDEX IF NOT EXISTS links_email ON links (lower(email))""",
    """ALTER TABLE integrations ADD COLUMN default_region TEXT""",
    """ALTER TABLE integrations ADD COLUMN mass_delete_min INTEGER CHECK (mass_delete_min IS NULL OR mass_delete_min >= 0)""",
]

# Migration 5 (issue 13): the rule whose notice an integration's ``last_error`` is (``Y8``), so
# that the engine no longer reads it back from the message's text; existing notices are found
# by that text once, here.
_V5 = [
    """ALTER TABLE integrations ADD COLUMN last_error_rule TEXT""",
    """UPDATE integrations SET last_error_rule = 'Y8' WHERE last_error LIKE '%(SPEC Y8)%'""",
]

# Migration 6 (issue 14): the inbox of Brevo's marketing webhooks. An event is a hint recorded
# as it arrives (``key`` dedupes a retried or repeated delivery per integration) and processed
# later by a targeted run, which sets ``processed_at`` and ``outcome``; processed rows are purged
# after a while. ``list_ids`` is a JSON array; ``api_key_name`` the key that made the change.
_V6 = [
    """CREATE TABLE IF NOT EXISTS webhook_events (
        id INTEGER PRIMARY KEY,
        integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
        kind TEXT NOT NULL
            CHECK (kind IN ('contact_updated', 'contact_deleted', 'unsubscribed', 'list_addition')),
        email TEXT NOT NULL,
        contact_id BIGINT,
        list_ids TEXT NOT NULL DEFAULT '[]',
        api_key_name TEXT,
        event_at TEXT NOT NULL,
        key TEXT NOT NULL,
        received_at TEXT NOT NULL,
        processed_at TEXT,
        outcome TEXT CHECK (outcome IS NULL OR outcome IN ('applied', 'ignored', 'failed')),
        CHECK ((processed_at IS NULL) = (outcome IS NULL)),
        UNIQUE (integration_id, key)
    )""",
    """CREATE INDEX IF NOT EXISTS webhook_events_pending ON webhook_events (integration_id, processed_at, event_at)""",
    """CREATE INDEX IF NOT EXISTS webhook_events_processed ON webhook_events (processed_at)""",
]

# Migration 7 (issue 14): ``toolkit serve``. Per integration: its schedule (an interval or a cron
# expression, :mod:`toolkit.schedules`), unsubscribes synced both ways (B8; off for existing
# integrations, on for new ones), the Salesforce checkbox ``smsBlacklisted`` goes to (none: not
# synced), and the Brevo webhook registered for it (its id and the URL it posts to; the token
# Brevo sends back is a secret, kept in the credentials, never here). Per run: what started it.
# Per integration and UTC hour: the Salesforce poll's cost (B3 shows it beside the API usage).
_V7 = [
    """ALTER TABLE integrations ADD COLUMN schedule TEXT NOT NULL DEFAULT 'every 15 minutes'""",
    """ALTER TABLE integrations ADD COLUMN sync_unsubscribes INTEGER NOT NULL DEFAULT 0""",
    """ALTER TABLE integrations ADD COLUMN sms_optout_field TEXT""",
    """ALTER TABLE integrations ADD COLUMN webhook_id BIGINT""",
    """ALTER TABLE integrations ADD COLUMN webhook_url TEXT""",
    """ALTER TABLE runs ADD COLUMN trigger TEXT""",
    """CREATE TABLE IF NOT EXISTS polls (
        integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
        hour TEXT NOT NULL,
        polls INTEGER NOT NULL DEFAULT 0,
        calls INTEGER NOT NULL DEFAULT 0,
        found INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (integration_id, hour)
    )""",
]

# Issue 15: an integration's life after the wizard. Edits that need the next run to do more
# (``backfill_pending``: a full run writes newly mapped attributes; ``list_move_from``: the linked
# contacts join the new list, and leave the old one when ``list_move_remove``), soft deletion
# (``deleted_at``: kept for the month's report), disconnected connections, the name of a rejected
# record, and every change made to an integration or a connection, with who made it.
_V8 = [
    f"""ALTER TABLE integrations ADD COLUMN {_bool("backfill_pending")}""",
    """ALTER TABLE integrations ADD COLUMN list_move_from INTEGER""",
    f"""ALTER TABLE integrations ADD COLUMN {_bool("list_move_remove", 1)}""",
    """ALTER TABLE integrations ADD COLUMN deleted_at TEXT""",
    """ALTER TABLE connections ADD COLUMN disconnected_at TEXT""",
    """ALTER TABLE rejections ADD COLUMN record_name TEXT""",
    """CREATE TABLE IF NOT EXISTS changes (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        via TEXT NOT NULL DEFAULT '',
        integration_id INTEGER REFERENCES integrations (id) ON DELETE SET NULL,
        connection_id INTEGER REFERENCES connections (id) ON DELETE SET NULL,
        subject TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('created', 'edited', 'status', 'deleted',
            'connected', 'reconnected', 'disconnected')),
        field TEXT NOT NULL DEFAULT '',
        old TEXT,
        new TEXT
    )""",
    """CREATE INDEX IF NOT EXISTS changes_integration ON changes (integration_id, at)""",
    """CREATE INDEX IF NOT EXISTS changes_connection ON changes (connection_id, at)""",
]

MIGRATIONS: list[list[str]] = [_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8]
"""Ordered migrations; ``MIGRATIONS[n - 1]`` brings ``user_version`` from ``n - 1`` to ``n``."""


def _sqlite() -> Dialect:
    from toolkit.store.dialect import SqliteDialect

    return SqliteDialect.__new__(SqliteDialect)  # no file: only its SQL is used


def schema_version(db: Database, dialect: Dialect | None = None) -> int:
    """Return the database's schema version (SQLite: ``PRAGMA user_version``)."""
    return (dialect or _sqlite()).schema_version(db)


def migrate(
    db: Database, migrations: list[list[str]] | None = None, *, dialect: Dialect | None = None
) -> int:
    """Apply the migrations the database lacks, each in its own write transaction.

    Args:
        db: a connection in autocommit mode (``isolation_level=None``), outside a transaction.
        migrations: the list to apply; :data:`MIGRATIONS` when omitted.
        dialect: the database's (:mod:`toolkit.store.dialect`); SQLite's when omitted.

    Returns:
        The schema version afterwards.

    Raises:
        ConfigError: the database was written by a newer toolkit (its version is higher than
            the number of migrations known here).
    """
    dialect = dialect or _sqlite()
    steps = MIGRATIONS if migrations is None else migrations
    if dialect.schema_version(db) == len(steps):
        return len(steps)  # the usual case: no write lock taken
    while True:
        dialect.begin(db)  # re-read under the write lock: another process may migrate
        try:
            version = dialect.schema_version(db)
            if version > len(steps):
                raise ConfigError(
                    f"the state database has schema version {version}, newer than this toolkit "
                    f"knows ({len(steps)}): upgrade the toolkit"
                )
            if version == len(steps):
                db.execute("COMMIT")
                return version
            for statement in steps[version]:
                db.execute(dialect.ddl(statement))
            dialect.set_schema_version(db, version + 1)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
