"""The one rejection type: a record (or a field of it) that was not written, and why (SPEC A1, A3).

Where it sits: the rules decide a rejection (:mod:`toolkit.rules.brevo`,
:mod:`toolkit.rules.salesforce`), the engine adds where it happened (integration, direction,
run, the service's own error) and the store keeps it (:mod:`toolkit.store.audit`). The rules
must not depend on the store, so the type lives here, in a module that imports nothing of the
toolkit: the rules use it, and the store imports it from here (and re-exports it as
``toolkit.store.Rejection``), so the layers stay ``store -> rules.rejection <- rules``.
"""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["Direction", "NAME_MAX", "Rejection", "person_name"]


class Direction(StrEnum):
    """Which way a record goes: into Brevo, or back into Salesforce.

    The values are the text the database and the run counts keep (``"to_brevo.create"``).
    """

    TO_BREVO = "to_brevo"
    TO_SALESFORCE = "to_salesforce"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record (or one field of it) that was not written, and why (SPEC A1, A3).

    The rules build one with the five positional fields (and ``permanent``); the engine adds
    ``integration_id``, ``direction``, the service's code and message, ``data_hash`` and
    ``run_id`` (:func:`dataclasses.replace`) before the store records it; the store fills the
    rest. One row exists per ``(integration_id, direction, record_id, rule, field)``: seeing it
    again updates ``last_seen``, ``run_id`` and ``seen_count`` and re-opens it if it was resolved.

    Attributes:
        record_id: the Salesforce Id (also for Brevo -> Salesforce: the contact's ext_id).
        rule: the SPEC rule id (``"Y5"``, see :mod:`toolkit.rules.base`), or
            ``"SF:<statusCode>"`` / ``"BREVO:<code>"`` where a service refused the write.
        field: the Salesforce field concerned, ``""`` for the whole record.
        value: the offending value as text, ``None`` when it was empty.
        reason: plain language for the audit report; never contains the value itself.
        permanent: trying again without a change to the data cannot help (e.g. Y10
            ``DELETE_FAILED``). The rules' own rejections are not: the engine retries them once
            the source data changed (A3).
        integration_id, direction: where it happened; required to record it.
        service_code, service_message: the API's own error code and message.
        data_hash: hash of the source data when rejected: a different hash later means the
            record changed and is worth trying again (A3).
        run_id: the run that last saw it; first_run_id: the run that first did.
        id, seen_count, first_seen, last_seen, resolved_at, resolved_run_id: kept by the store.
        record_name: the person's name as the source holds it (a Contact's or Lead's
            ``FirstName LastName``; a Brevo contact's ``FIRSTNAME LASTNAME``), so that the reports
            show whom a record is; ``None`` when unknown. Never an e-mail address (see
            :func:`toolkit.rules.rejection.person_name`).
    """

    record_id: str
    rule: str
    field: str
    value: str | None
    reason: str
    _: KW_ONLY
    permanent: bool = False
    integration_id: int | None = None
    direction: Direction | None = None
    service_code: str | None = None
    service_message: str | None = None
    data_hash: str | None = None
    run_id: int | None = None
    id: int | None = None
    first_run_id: int | None = None
    seen_count: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    resolved_at: datetime | None = None
    resolved_run_id: int | None = None
    record_name: str | None = None


NAME_MAX = 200
"""Longest name kept (Salesforce's FirstName is 40 characters and LastName 80)."""
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")


def person_name(first: object, last: object) -> str | None:
    """``"First Last"`` from a person's name parts, ``None`` when there is none to show.

    Parts are stripped and blank ones left out; a part that holds an e-mail address (a
    ``FirstName`` typed as ``ann@example.com``) is left out as well: reports show names beside
    the records, never addresses.

    Example:
        >>> person_name(" Ann ", "Lee"), person_name(None, "Lee"), person_name("", "a@b.example")
        ('Ann Lee', 'Lee', None)
    """
    parts = [str(p).strip() for p in (first, last) if p is not None and not isinstance(p, bool)]
    kept = [" ".join(p.split()) for p in parts if p and not _EMAIL.search(p)]
    name = " ".join(kept)
    return name[:NAME_MAX] or None
