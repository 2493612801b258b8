"""Traits that link generated records: duplicate e-mails, people who are Lead and Contact, conversions.

Real orgs hold the same person more than once: a Contact entered twice (or two people sharing a
mailbox), a Lead for someone who is already a Contact, and Leads converted into Contacts (new
ones, or the Contact the person already was). :func:`link_records` rewrites a few percent of the
records that break no rule to be such people; ``seed_data`` then converts the Leads listed in
``conversions`` after loading (:mod:`salesforce.conversion`).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Final

from toolkit.sandbox.datagen.traits import (
    CONVERTED_LEAD,
    DUPLICATE_EMAIL,
    LEAD_AND_CONTACT,
    TRAITS,
    record_traits,
)

if TYPE_CHECKING:
    from toolkit.sandbox.datagen import GeneratedData, GeneratedRecord

#: Share of the Contacts that start a duplicate pair (each pair: two Contacts tagged).
DUPLICATE_PAIR_SHARE: Final = 0.015
#: Of a duplicate pair, the share that is the same person twice (the others share a mailbox).
SAME_PERSON_SHARE: Final = 0.8
#: Shares of the Leads that are: the same person as a Contact (open Lead); the same person,
#: converted into that Contact; converted into a new Contact.
LEAD_AND_CONTACT_SHARE: Final = 0.03
CONVERT_INTO_EXISTING_SHARE: Final = 0.015
CONVERT_INTO_NEW_SHARE: Final = 0.03
#: CreatedDate of the older of two duplicates, and of the newer one: days before loading.
OLDER_DAYS: Final = (365, 5 * 365)
NEWER_DAYS: Final = (1, 180)
_NAME_FIELDS: Final = ("Salutation", "FirstName", "LastName")


def _linkable(record: GeneratedRecord) -> bool:
    return not record.breaks and record.fields.get("Email") is not None


def _take(pool: list[int], rng: random.Random) -> int:
    """Remove and return a random element of ``pool`` in O(1)."""
    at = rng.randrange(len(pool))
    pool[at], pool[-1] = pool[-1], pool[at]
    return pool.pop()


def _tag(record: GeneratedRecord, kind: str, *added: str) -> None:
    """Recompute the record's own traits (its fields changed) and add the linking ones."""
    linked = {t for t in record.traits if t in (DUPLICATE_EMAIL, LEAD_AND_CONTACT, CONVERTED_LEAD)} | set(
        added
    )
    own = set(record_traits(kind, record.fields, record.breaks))
    record.traits = tuple(t for t in TRAITS if t in own | linked)


def _copy_person(source: GeneratedRecord, target: GeneratedRecord) -> None:
    for name in (*_NAME_FIELDS, "Email"):
        target.fields[name] = source.fields.get(name)


def _duplicates(data: GeneratedData, rng: random.Random) -> set[int]:
    """Pair Contacts sharing an e-mail; returns the indices used."""
    pool: list[int] = []
    used: set[int] = set()
    for j, record in enumerate(data.contacts):
        if not _linkable(record):
            continue
        if pool and rng.random() < DUPLICATE_PAIR_SHARE:
            i = _take(pool, rng)
            older, newer = data.contacts[i], record
            if rng.random() < SAME_PERSON_SHARE:
                _copy_person(older, newer)
            else:
                newer.fields["Email"] = older.fields["Email"]
            older.created_days_ago = rng.randint(*OLDER_DAYS)
            newer.created_days_ago = rng.randint(*NEWER_DAYS)
            _tag(older, "Contact", DUPLICATE_EMAIL)
            _tag(newer, "Contact", DUPLICATE_EMAIL)
            used.update((i, j))
        else:
            pool.append(j)
    return used


def _leads(data: GeneratedData, rng: random.Random, taken: set[int]) -> None:
    """Make Leads of people who are Contacts too, and pick the Leads to convert."""
    pool = [i for i, r in enumerate(data.contacts) if i not in taken and _linkable(r)]
    for index, lead in enumerate(data.leads):
        if not _linkable(lead):
            continue
        roll = rng.random()
        if roll < LEAD_AND_CONTACT_SHARE + CONVERT_INTO_EXISTING_SHARE:
            if not pool:
                continue
            contact_index = _take(pool, rng)
            contact = data.contacts[contact_index]
            _copy_person(contact, lead)
            _tag(contact, "Contact", LEAD_AND_CONTACT)
            if roll < LEAD_AND_CONTACT_SHARE:
                _tag(lead, "Lead", LEAD_AND_CONTACT)
            else:
                _tag(lead, "Lead", LEAD_AND_CONTACT, CONVERTED_LEAD)
                data.conversions.append((index, contact_index))
        elif roll < LEAD_AND_CONTACT_SHARE + CONVERT_INTO_EXISTING_SHARE + CONVERT_INTO_NEW_SHARE:
            _tag(lead, "Lead", CONVERTED_LEAD)
            data.conversions.append((index, None))


def link_records(data: GeneratedData, rng: random.Random) -> None:
    """Add the linking traits to ``data`` in place (records, traits and ``conversions``)."""
    _leads(data, rng, _duplicates(data, rng))
