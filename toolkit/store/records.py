"""The records that cross module lines: frozen dataclasses, one per table, and the allowed values.

Timestamps are timezone-aware UTC :class:`~datetime.datetime` objects in Python and ISO-8601
text (``2024-05-01T12:00:00.000000Z``, sortable as text) in the database. Booleans are ``bool``
in Python and ``0``/``1`` in the database. States are :class:`~enum.StrEnum` members in Python
and their values in the database: a member is a ``str`` too, so stored text compares equal to
it, and the store turns the text it reads back into members.

:class:`Rejection` and :class:`Direction` are defined in :mod:`toolkit.rules.rejection` (the
rules build rejections and must not import the store) and re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple, overload

from toolkit.rules.rejection import Direction, Rejection
from toolkit.schedules import DEFAULT_SCHEDULE

__all__ = [
    "CHANGE_ACTIONS",
    "CONFLICT_WINNERS",
    "Change",
    "ChangeAction",
    "Conflict",
    "Connection",
    "DIRECTIONS",
    "Direction",
    "FLOWS",
    "INTEGRATION_STATUSES",
    "Integration",
    "IntegrationStatus",
    "JsonObject",
    "LINK_STATES",
    "Link",
    "LinkKey",
    "LinkState",
    "OBJECTS",
    "REJECTION_STATES",
    "RUN_STATUSES",
    "Rejection",
    "RejectionState",
    "Run",
    "RunStatus",
    "Side",
    "StopReason",
    "from_ts",
    "to_ts",
]

JsonObject = dict[str, Any]
"""A JSON object as a TEXT column holds it, parsed (a mapping, a run's counts): its shape is
the writer's (:meth:`toolkit.mapping.Mapping.to_json`, :meth:`toolkit.sync.model.Outcome.as_json`)."""

FLOWS = ("authorization_code", "client_credentials", "jwt_bearer", "password")
OBJECTS = ("Contact", "Lead")


class IntegrationStatus(StrEnum):
    """Where an integration stands (S8); the integrations page shows it."""

    DRAFT = "draft"  # being set up, or deactivated: never runs
    ACTIVE = "active"  # runs (on demand, or on its schedule)
    STOPPED = "stopped"  # stopped with a ``stop_reason`` (``"quota"``: resumes by itself, Q3)
    ERROR = "error"  # a run failed for a reason a person must fix (``last_error`` says which)


class StopReason(StrEnum):
    """Why an integration is ``STOPPED`` (its ``stop_reason``)."""

    QUOTA = "quota"  # the monthly task quota ran out: resumes by itself (Q3)
    PAUSED = "paused"  # a person paused it: resumes when a person resumes it; the cursors stay


class RunStatus(StrEnum):
    """How a sync run stands or ended."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"  # the monthly task quota ran out (Q3): the rest is written later
    BLOCKED = "blocked"  # deletions wait for a confirmation (B6); everything else was written


class Side(StrEnum):
    """One of the two services; an integration's ``conflict_winner`` is one."""

    SALESFORCE = "salesforce"
    BREVO = "brevo"


class RejectionState(StrEnum):
    """A rejection is open until the record is written at last (A3), then resolved.

    ``ALL`` is not a state a rejection has: it asks a query for both.
    """

    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


class ChangeAction(StrEnum):
    """What a recorded change to an integration or a connection was (the ``changes`` table)."""

    CREATED = "created"
    EDITED = "edited"  # one setting: ``field`` with its ``old`` and ``new`` value
    STATUS = "status"  # activated, paused, resumed, deactivated, stopped by the quota, failed
    DELETED = "deleted"
    CONNECTED = "connected"
    RECONNECTED = "reconnected"
    DISCONNECTED = "disconnected"


class LinkState(StrEnum):
    """Where a link stands; a plain ``str`` too, so stored text compares equal to it."""

    ACTIVE = "active"
    SUSPENDED = "suspended"  # Y6: the Salesforce e-mail was removed
    KEPT = "kept"  # Y10: deleted in Brevo, Salesforce refused to delete the record
    SUPERSEDED = "superseded"  # D2/L1: the Brevo contact belongs to a Contact now (``detail``: its Id)
    LEFT_LIST = "left_list"  # B9: taken off the integration's list in Brevo, still in the account
    HELD_DELETE = "held_delete"  # B6: deleted in Salesforce, the removal from Brevo waits for a confirmation
    HELD_BREVO_DELETE = "held_brevo_delete"  # B6: deleted in Brevo, the Salesforce delete waits


INTEGRATION_STATUSES = tuple(s.value for s in IntegrationStatus)
RUN_STATUSES = tuple(s.value for s in RunStatus)
CONFLICT_WINNERS = tuple(s.value for s in Side)
LINK_STATES = tuple(s.value for s in LinkState)
DIRECTIONS = tuple(d.value for d in Direction)
REJECTION_STATES = tuple(s.value for s in RejectionState)
CHANGE_ACTIONS = tuple(a.value for a in ChangeAction)

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_ts(moment: datetime) -> str:
    """Format a datetime as the database's ISO-8601 UTC text (naive datetimes are taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(_TS_FORMAT)


@overload
def from_ts(text: str) -> datetime: ...


@overload
def from_ts(text: None) -> None: ...


def from_ts(text: str | None) -> datetime | None:
    """Parse the database's timestamp text (``None`` stays ``None``)."""
    if text is None:
        return None
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class Connection:
    """A signed-in Salesforce user of one org (SPEC S2, S3). Its secrets live in credentials.

    Attributes:
        id: row id. name: unique label, also the credentials name (``("salesforce", name, ...)``).
        login_url: OAuth login URL used (production, test, My Domain or sandbox).
        instance_url: the org's API host, learnt from the token response.
        org_id, user_id, username: identity of the signed-in account (org/user ids may be unknown).
        client_id: the connected app's consumer key (not a secret).
        flow: the OAuth flow used to sign in, one of :data:`FLOWS`.
        disconnected_at: when it was disconnected (its token revoked, its secrets removed;
            :func:`toolkit.connections.disconnect_salesforce`), ``None`` while it is connected.
    """

    id: int
    name: str
    login_url: str
    instance_url: str | None
    org_id: str | None
    user_id: str | None
    username: str
    client_id: str
    flow: str
    created_at: datetime
    updated_at: datetime
    disconnected_at: datetime | None = None

    @property
    def connected(self) -> bool:
        """Not disconnected: it may sign in (issue 15)."""
        return self.disconnected_at is None


@dataclass(frozen=True, slots=True)
class Integration:
    """One Salesforce object kept in sync with one Brevo list (SPEC S1-S9).

    Attributes:
        object: ``"Contact"`` or ``"Lead"`` (S9).
        connection_id: the Salesforce connection, ``None`` while a draft is not yet connected.
        brevo_account: the credentials name of the Brevo API key (``("brevo", name, "api_key")``).
        opt_in: the opt-in agreement was ticked (S4).
        mapping: Brevo attribute -> Salesforce field (S5), as stored JSON
            (:meth:`toolkit.mapping.Mapping.to_json`).
        list_id: the Brevo list the records are imported into (S7).
        status: see :class:`IntegrationStatus`; ``last_error`` explains ``ERROR`` and
            ``stop_reason`` (e.g. ``"quota"``) explains ``STOPPED``.
        last_error_rule: the SPEC rule whose notice ``last_error`` is, when it is one and not
            a failure: ``"Y8"`` (a Lead's first name too long for Salesforce) is shown on an
            integration that stays active, until no such rejection is open.
        conflict_winner: which side wins when both changed since the last sync.
        sync_booleans_picklists: extension B4 switched on.
        mass_delete_share: B6 threshold for this integration; ``None`` uses the setting.
        default_region: ISO region (``"DE"``) for phone numbers written without a country code
            on records that name no country; ``None`` until set (the org's country by default).
        mass_delete_min: B6 fires only above this many deletions too; ``None`` uses the setting.
        schedule: when ``toolkit serve`` runs it (:func:`toolkit.schedules.parse_schedule`).
        sync_unsubscribes: B8, Brevo's ``emailBlacklisted`` <-> Salesforce ``HasOptedOutOfEmail``
            both ways (and ``smsBlacklisted`` <-> ``sms_optout_field`` when one is chosen).
        sms_optout_field: the Salesforce checkbox ``smsBlacklisted`` is synced with, or ``None``.
        webhook_id, webhook_url: the Brevo marketing webhook ``toolkit serve`` registered for
            it (deleted when it is deactivated); its token is in the credentials.
        backfill_pending: an edit mapped new attributes: the next run is a full one, which
            writes them for every linked contact (counted as tasks), and clears this.
        list_move_from: the list an edit moved the integration away from: the next run puts
            the linked contacts on ``list_id`` first (and takes them off this list when
            ``list_move_remove``), then clears it.
        deleted_at: when it was deleted with its history kept (it no longer runs, is not
            listed, and frees its S3 place; its runs and audit stay for the month's report).
    """

    id: int
    name: str
    object: str
    connection_id: int | None
    brevo_account: str
    opt_in: bool
    mapping: JsonObject
    list_id: int | None
    status: IntegrationStatus
    last_error: str | None
    stop_reason: str | None
    conflict_winner: Side
    sync_booleans_picklists: bool
    mass_delete_share: float | None
    created_at: datetime
    updated_at: datetime
    default_region: str | None = None
    mass_delete_min: int | None = None
    last_error_rule: str | None = None
    schedule: str = DEFAULT_SCHEDULE
    sync_unsubscribes: bool = False
    sms_optout_field: str | None = None
    webhook_id: int | None = None
    webhook_url: str | None = None
    backfill_pending: bool = False
    list_move_from: int | None = None
    list_move_remove: bool = True
    deleted_at: datetime | None = None

    @property
    def paused(self) -> bool:
        """Stopped by a person (:attr:`StopReason.PAUSED`): it runs again once resumed."""
        return self.status == IntegrationStatus.STOPPED and self.stop_reason == StopReason.PAUSED


class LinkKey(NamedTuple):
    """A link's keys and state without its synced values: what a scan over every link needs
    (:meth:`~toolkit.store.links.LinksMixin.iter_link_keys`)."""

    sf_id: str
    brevo_id: int | None
    state: LinkState


@dataclass(frozen=True, slots=True)
class Link:
    """A Salesforce record and its Brevo contact (keyed by Salesforce Id = Brevo ``ext_id``, B5).

    Attributes:
        brevo_id: Brevo's contact id, ``None`` until learnt (imports do not return ids).
        email: the e-mail last synced (for reports; records are linked by id, not e-mail).
        sf_hash, brevo_hash: hash of the mapped values last synced from/to each side; a change
            shows as a different hash and a toolkit-written change comes back with the same one
            (echo suppression).
        state: a :class:`LinkState`: ``ACTIVE``; ``SUSPENDED`` once the Salesforce e-mail was
            removed (Y6); ``KEPT`` when the contact was deleted in Brevo but Salesforce refused to
            delete the record (Y10), so that the refusal is reported once, not retried forever;
            ``SUPERSEDED``, ``LEFT_LIST``, ``HELD_DELETE``, ``HELD_BREVO_DELETE`` (see there).
        synced: the mapped values both sides held after the last sync, canonical and keyed
            by Brevo attribute (the engine diffs field by field against them).
        synced_at: when the link was last written; the store sets it when left ``None``.
        detail: what the state refers to (a superseded Lead: the Contact's Id).
    """

    integration_id: int
    sf_id: str
    brevo_id: int | None = None
    email: str | None = None
    sf_hash: str | None = None
    brevo_hash: str | None = None
    state: LinkState = LinkState.ACTIVE
    synced: dict[str, object] | None = None
    synced_at: datetime | None = None
    detail: str | None = None


class RunTrigger(StrEnum):
    """What started a run: a person or a script, or ``toolkit serve`` and why."""

    MANUAL = "manual"  # Toolkit.run, toolkit sync, the integrations page's Run button
    SCHEDULE = "schedule"  # the integration's schedule (Integration.schedule)
    RETRY = "retry"  # a failed scheduled run, retried with backoff
    EVENT = "event"  # Brevo webhooks received (a targeted run)
    POLL = "poll"  # the Salesforce poll found changes
    RECONCILE = "reconcile"  # the periodic full reconciliation


@dataclass(frozen=True, slots=True)
class Run:
    """One sync run of one integration; ``counts`` holds per-action and per-rule numbers.

    Attributes:
        status: see :class:`RunStatus`.
        counts: what the engine stored (:meth:`toolkit.sync.model.Outcome.as_json`), ``{}``
            while it runs.
        full: a full resync (cursors ignored); column ``full_sync`` (``FULL`` is reserved in SQL).
        sf_api_used, sf_api_limit: Salesforce daily API usage seen at the end of the run (B3).
        trigger: what started it (:class:`RunTrigger`); ``None`` for runs before migration 7.
    """

    id: int
    integration_id: int
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    dry_run: bool
    full: bool
    counts: JsonObject
    error: str | None
    sf_api_used: int | None
    sf_api_limit: int | None
    trigger: RunTrigger | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """Both sides changed one record since the last sync; ``winner`` is the side that was kept.

    Attributes:
        sf_values, brevo_values: the fields in conflict, canonical, keyed by Brevo attribute.
    """

    integration_id: int
    sf_id: str
    winner: Side
    sf_values: dict[str, object] = field(default_factory=dict)
    brevo_values: dict[str, object] = field(default_factory=dict)
    run_id: int | None = None
    id: int | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One change made to an integration or a connection, and who made it.

    Attributes:
        at: when. actor: who (``TOOLKIT_ACTOR``, else the operating-system user and host; ``toolkit``
            for the toolkit's own changes such as a quota stop). via: where (``"integrations page"``,
            ``"setup wizard"``, ``"python"``, ``"toolkit serve"``...).
        integration_id, connection_id: what it was made to (``None`` once that was removed for good).
        subject: the integration's or connection's name at the time.
        action: see :class:`ChangeAction`. field, old, new: the setting and its values as text
            (``""``/``None`` when the action has none).
    """

    id: int
    at: datetime
    actor: str
    via: str
    integration_id: int | None
    connection_id: int | None
    subject: str
    action: ChangeAction
    field: str
    old: str | None
    new: str | None
