"""The toolkit's state: SQLite in the state directory, what the sync engine commits into.

``state.db`` holds connections, integrations, links, cursors, runs, rejections and conflicts
(see :mod:`toolkit.store.schema`), never a secret (those are in :mod:`toolkit.credentials`).
It runs in WAL mode with foreign keys on and a busy timeout, so a notebook can read while a
scheduled run writes. Records crossing module lines are the dataclasses of
:mod:`toolkit.store.records`, and every state the store keeps is a :class:`~enum.StrEnum` there
(:class:`LinkState`, :class:`RunStatus`, :class:`IntegrationStatus`, :class:`Direction`,
:class:`Side`, :class:`RejectionState`; :class:`OutboxStatus` for the outbox,
:class:`WebhookEventOutcome` for the webhook inbox).

Example:
    >>> store = Store.open(settings.db_path)                           # doctest: +SKIP
    >>> with store.transaction():                                      # doctest: +SKIP
    ...     store.upsert_links(links)
    ...     store.set_cursor(integration.id, "salesforce", cursor)
    ...     store.upsert_rejections(rejections, run_id=run.id)

Every method also works outside ``transaction()`` (each then commits on its own); inside one,
nothing is committed until the block ends without an exception.
"""

from __future__ import annotations

from toolkit.store.audit import AuditMixin
from toolkit.store.base import DB_FILE
from toolkit.store.changes import SYSTEM_ACTOR
from toolkit.store.connections import MAX_CONNECTIONS_PER_ACCOUNT, ConnectionsMixin, same_account
from toolkit.store.integrations import IntegrationsMixin
from toolkit.store.links import LinksMixin
from toolkit.store.outbox import OUTBOX_STATES, OutboxMessage, OutboxStatus
from toolkit.store.polls import PollHour, PollsMixin
from toolkit.store.quota import IntegrationTasks, QuotaStoreMixin
from toolkit.store.records import (
    CHANGE_ACTIONS,
    CONFLICT_WINNERS,
    DIRECTIONS,
    FLOWS,
    INTEGRATION_STATUSES,
    LINK_STATES,
    OBJECTS,
    REJECTION_STATES,
    RUN_STATUSES,
    Change,
    ChangeAction,
    Conflict,
    Connection,
    Direction,
    Integration,
    IntegrationStatus,
    JsonObject,
    Link,
    LinkKey,
    LinkState,
    Rejection,
    RejectionState,
    Run,
    RunStatus,
    RunTrigger,
    Side,
    StopReason,
    from_ts,
    to_ts,
)
from toolkit.store.reporting import ReportingMixin, ReportRow
from toolkit.store.runs import RunsMixin
from toolkit.store.schema import MIGRATIONS, migrate, schema_version
from toolkit.store.webhook_events import (
    WEBHOOK_OUTCOMES,
    InboxEvent,
    WebhookEvent,
    WebhookEventOutcome,
    WebhookEventsMixin,
)

__all__ = [
    "CHANGE_ACTIONS",
    "CONFLICT_WINNERS",
    "Change",
    "ChangeAction",
    "Conflict",
    "Connection",
    "DB_FILE",
    "DIRECTIONS",
    "Direction",
    "FLOWS",
    "INTEGRATION_STATUSES",
    "InboxEvent",
    "Integration",
    "IntegrationStatus",
    "IntegrationTasks",
    "JsonObject",
    "LINK_STATES",
    "Link",
    "LinkKey",
    "LinkState",
    "MAX_CONNECTIONS_PER_ACCOUNT",
    "MIGRATIONS",
    "OBJECTS",
    "OUTBOX_STATES",
    "OutboxMessage",
    "OutboxStatus",
    "PollHour",
    "REJECTION_STATES",
    "RUN_STATUSES",
    "Rejection",
    "RejectionState",
    "ReportRow",
    "Run",
    "RunStatus",
    "RunTrigger",
    "SYSTEM_ACTOR",
    "Side",
    "StopReason",
    "Store",
    "WEBHOOK_OUTCOMES",
    "WebhookEvent",
    "WebhookEventOutcome",
    "from_ts",
    "migrate",
    "same_account",
    "schema_version",
    "to_ts",
]


class Store(
    ConnectionsMixin,
    IntegrationsMixin,
    LinksMixin,
    RunsMixin,
    AuditMixin,
    ReportingMixin,
    QuotaStoreMixin,
    WebhookEventsMixin,
    PollsMixin,
):
    """The state database. Open it with :meth:`Store.open`; write atomically with :meth:`transaction`.

    Methods by table:

    - connections: ``add_connection``, ``get_connection``, ``list_connections``,
      ``update_connection``, ``delete_connection``, ``count_for_account`` (S3).
    - integrations: ``create_integration``, ``get_integration``, ``list_integrations``,
      ``update_integration``, ``set_mapping``, ``set_list``, ``set_opt_in``, ``set_status``,
      ``pause``, ``resume``, ``delete_integration``; changes (who changed what, issue 15):
      ``record_change``, ``list_changes``.
    - links: ``upsert_links``, ``set_brevo_ids``, ``set_link_state``, ``links_by_sf_ids``,
      ``links_by_brevo_ids``, ``iter_links``, ``all_links``, ``count_links``, ``delete_links``.
    - cursors: ``get_cursor``, ``set_cursor``, ``cursors``, ``clear_cursors``.
    - runs: ``start_run``, ``finish_run``, ``get_run``, ``list_runs``, ``abandon_running_runs``.
    - rejections: ``upsert_rejections``, ``resolve_rejections``, ``open_rejections``,
      ``list_rejections``; conflicts: ``add_conflicts``, ``list_conflicts``.
    - reporting (read-only, redacted; :mod:`toolkit.audit` wraps them in DataFrames):
      ``report_rejections``, ``report_runs``, ``report_open_count``.
    - quota (SPEC Q1-Q3, :mod:`toolkit.quota` holds the policy): ``add_tasks``,
      ``tasks_used``, ``tasks_by_day``, ``tasks_by_integration``, ``tasks_of_run``,
      ``reserve_tasks``, ``settle_reservation``, ``reserved_tasks``,
      ``forget_dead_reservations``, ``get_quota_limit``, ``set_quota_limit``; outbox
      (:mod:`toolkit.notify`): ``enqueue_notification``, ``claim_notification``,
      ``settle_notification``, ``get_notification``, ``list_notifications``,
      ``stale_notifications``.
    - webhook inbox (issue 14, :mod:`toolkit.store.webhook_events`): ``record_events``,
      ``pending_events``, ``get_webhook_event``, ``mark_processed``, ``purge_processed``.
    """

    @property
    def schema_version(self) -> int:
        """The database's schema version (SQLite: ``PRAGMA user_version``; PostgreSQL: a table)."""
        return self.dialect.schema_version(self.db)

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode (``"wal"`` for a file database; ``""`` on PostgreSQL)."""
        if self.dialect.name != "sqlite":
            return ""
        return str(self.db.execute("PRAGMA journal_mode").fetchone()[0])
