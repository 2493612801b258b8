"""The records that cross module lines: frozen dataclasses, one per table, and the allowed values.

Timestamps are timezone-aware UTC :class:`~datetime.datetime` objects in Python and ISO-8601
text (``2024-05-01T12:00:00.000000Z``, sortable as text) in the database. Booleans are ``bool``
in Python and ``0``/``1`` in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, overload

__all__ = [
    "CONFLICT_WINNERS",
    "DIRECTIONS",
    "FLOWS",
    "INTEGRATION_STATUSES",
    "LINK_STATES",
    "OBJECTS",
    "RUN_STATUSES",
    "Conflict",
    "Connection",
    "Integration",
    "Link",
    "Rejection",
    "Run",
    "from_ts",
    "to_ts",
]

FLOWS = ("authorization_code", "client_credentials", "jwt_bearer", "password")
OBJECTS = ("Contact", "Lead")
INTEGRATION_STATUSES = ("draft", "active", "stopped", "error")
CONFLICT_WINNERS = ("salesforce", "brevo")


class LinkState(StrEnum):
    """Where a link stands; a plain ``str`` too, so stored text compares equal to it."""

    ACTIVE = "active"
    SUSPENDED = "suspended"  # Y6: the Salesforce e-mail was removed
    KEPT = "kept"  # Y10: deleted in Brevo, Salesforce refused to delete the record
    SUPERSEDED = "superseded"  # D2/L1: the Brevo contact belongs to a Contact now (``detail``: its Id)
    LEFT_LIST = "left_list"  # B9: taken off the integration's list in Brevo, still in the account
    HELD_DELETE = "held_delete"  # B6: deleted in Salesforce, the removal from Brevo waits for a confirmation
    HELD_BREVO_DELETE = "held_brevo_delete"  # B6: deleted in Brevo, the Salesforce delete waits


LINK_STATES = tuple(s.value for s in LinkState)
RUN_STATUSES = ("running", "succeeded", "failed", "stopped", "blocked")
DIRECTIONS = ("to_brevo", "to_salesforce")

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


@dataclass(frozen=True, slots=True)
class Integration:
    """One Salesforce object kept in sync with one Brevo list (SPEC S1-S9).

    Attributes:
        object: ``"Contact"`` or ``"Lead"`` (S9).
        connection_id: the Salesforce connection, ``None`` while a draft is not yet connected.
        brevo_account: the credentials name of the Brevo API key (``("brevo", name, "api_key")``).
        opt_in: the opt-in agreement was ticked (S4).
        mapping: Brevo attribute -> Salesforce field (S5), as stored JSON.
        list_id: the Brevo list the records are imported into (S7).
        status: one of :data:`INTEGRATION_STATUSES`; ``last_error`` explains ``"error"`` and
            ``stop_reason`` (e.g. ``"quota"``) explains ``"stopped"``.
        conflict_winner: which side wins when both changed since the last sync.
        sync_booleans_picklists: extension B4 switched on.
        mass_delete_share: B6 threshold for this integration; ``None`` uses the setting.
        default_region: ISO region (``"DE"``) for phone numbers written without a country code
            on records that name no country; ``None`` until set (the org's country by default).
        mass_delete_min: B6 fires only above this many deletions too; ``None`` uses the setting.
    """

    id: int
    name: str
    object: str
    connection_id: int | None
    brevo_account: str
    opt_in: bool
    mapping: dict[str, Any]
    list_id: int | None
    status: str
    last_error: str | None
    stop_reason: str | None
    conflict_winner: str
    sync_booleans_picklists: bool
    mass_delete_share: float | None
    created_at: datetime
    updated_at: datetime
    default_region: str | None = None
    mass_delete_min: int | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """A Salesforce record and its Brevo contact (keyed by Salesforce Id = Brevo ``ext_id``, B5).

    Attributes:
        brevo_id: Brevo's contact id, ``None`` until learnt (imports do not return ids).
        email: the e-mail last synced (for reports; records are linked by id, not e-mail).
        sf_hash, brevo_hash: hash of the mapped values last synced from/to each side; a change
            shows as a different hash and a toolkit-written change comes back with the same one
            (echo suppression).
        state: a :class:`LinkState`: ``"active"``; ``"suspended"`` once the Salesforce e-mail
            was removed (Y6); ``"kept"`` when the contact was deleted in Brevo but Salesforce
            refused to delete the record (Y10), so that the refusal is reported once, not retried
            forever; ``"superseded"``, ``"left_list"``, ``"held_delete"``, ``"held_brevo_delete"``
            (see :class:`LinkState`).
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
    state: str = "active"
    synced: dict[str, Any] | None = None
    synced_at: datetime | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Run:
    """One sync run of one integration; ``counts`` holds per-action and per-rule numbers.

    Attributes:
        full: a full resync (cursors ignored); column ``full_sync`` (``FULL`` is reserved in SQL).
        sf_api_used, sf_api_limit: Salesforce daily API usage seen at the end of the run (B3).
    """

    id: int
    integration_id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    dry_run: bool
    full: bool
    counts: dict[str, Any]
    error: str | None
    sf_api_used: int | None
    sf_api_limit: int | None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record (or one field of it) that was not written, and why (SPEC A1, A3).

    Build one with the first six fields; the store fills the rest. One row exists per
    ``(integration_id, direction, record_id, rule, field)``: seeing it again updates
    ``last_seen``, ``run_id`` and ``seen_count`` and re-opens it if it was resolved.

    Attributes:
        direction: ``"to_brevo"`` or ``"to_salesforce"``.
        rule: the SPEC rule id (``"Y5"``) or ``"SF:<statusCode>"`` / ``"BREVO:<code>"``.
        reason: plain-language explanation for the audit report.
        field: the field concerned, ``""`` for the whole record.
        value: the offending value as text, if any.
        service_code, service_message: the API's own error code and message.
        data_hash: hash of the source data when rejected: a different hash later means the
            record changed and is worth trying again (A3).
        permanent: trying again without a change cannot help (e.g. Y10 ``DELETE_FAILED``).
        run_id: the run that last saw it; first_run_id: the run that first did.
    """

    integration_id: int
    direction: str
    record_id: str
    rule: str
    reason: str
    field: str = ""
    value: str | None = None
    service_code: str | None = None
    service_message: str | None = None
    data_hash: str | None = None
    permanent: bool = False
    run_id: int | None = None
    id: int | None = None
    first_run_id: int | None = None
    seen_count: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    resolved_at: datetime | None = None
    resolved_run_id: int | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """Both sides changed one record since the last sync; ``winner`` is the side that was kept."""

    integration_id: int
    sf_id: str
    winner: str
    sf_values: dict[str, Any] = field(default_factory=dict)
    brevo_values: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    id: int | None = None
    at: datetime | None = None
