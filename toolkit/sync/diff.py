"""Field-level comparison against what both sides held after the last sync (the link's ``synced``).

Values are canonical (see :func:`toolkit.rules.hashing.canonical_values`) and keyed by Brevo
attribute, so a value that went one way compares equal when it comes back the other way: the
toolkit's own writes never return as changes (echo suppression).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from toolkit.mapping.types import EMAIL_BLACKLISTED
from toolkit.rules.base import BrevoContact
from toolkit.rules.hashing import CanonicalValues

from ..store import Link

__all__ = ["Change", "address_resubscribed", "changed_keys", "merged"]


@dataclass(slots=True)
class Change:
    """A linked Brevo contact that changed since the last sync.

    Attributes:
        sf_id: the Salesforce Id (the contact's ext_id).
        contact: the contact as ``GET /contacts`` returned it.
        values: its canonical synced attributes.
        changed: attributes that differ from the link's ``synced`` values (a conflict settled
            in Salesforce's favour removes attributes from it).
        link: the link as read when the change was found.
        agreed: attributes Salesforce already holds with the same value (taken out of
            ``changed``: nothing to write, e.g. a write replayed after a crash).
        resynced: attributes whose Brevo value the link takes when the change is written,
            without writing them to Salesforce (B8: a blacklist Brevo lifted only because the
            address changed, :func:`address_resubscribed`); the record's next read then finds
            Salesforce's opt-out changed and blacklists the contact again.
    """

    sf_id: str
    contact: BrevoContact
    values: CanonicalValues
    changed: set[str] = field(default_factory=set)
    link: Link | None = None
    agreed: set[str] = field(default_factory=set)
    resynced: set[str] = field(default_factory=set)


def changed_keys(
    values: Mapping[str, object], synced: Mapping[str, object] | None, keys: Iterable[str]
) -> set[str]:
    """The keys among ``keys`` whose value differs from ``synced`` (all of them when never synced)."""
    before: Mapping[str, object] = synced or {}
    return {k for k in keys if values.get(k) != before.get(k)}


def merged(
    synced: Mapping[str, object] | None, values: Mapping[str, object], keys: Iterable[str]
) -> CanonicalValues:
    """``synced`` with ``keys`` taken from ``values``; a key without a value is dropped.

    Keys not written keep their synced value: an emptied phone left out of the import (Y7)
    stays what Brevo still holds.
    """
    out = dict(synced or {})
    for key in keys:
        if values.get(key) is None:
            out.pop(key, None)
        else:
            out[key] = values[key]
    return out


def address_resubscribed(
    values: Mapping[str, object], synced: Mapping[str, object] | None, changed: set[str]
) -> bool:
    """B8: whether a Brevo contact lost its e-mail blacklist only because its address changed.

    Brevo re-subscribes a blacklisted contact whose e-mail is updated (brevo-python
    ``updateContact``: "it is going to remove that blocklisting from the contact and they will
    be resubscribed"). That is no opt-in of the person: the caller leaves ``emailBlacklisted``
    out of the change, so Salesforce's opt-out stays (and an address the toolkit moved, e.g. an
    import a crash cut off before its batch update, is blacklisted again by the replay).
    """
    before = synced or {}
    return (
        "EMAIL" in changed
        and EMAIL_BLACKLISTED in changed
        and bool(before.get(EMAIL_BLACKLISTED))
        and not values.get(EMAIL_BLACKLISTED)
    )
