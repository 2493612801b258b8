"""Realistic, deterministic sandbox data: Salesforce Contacts, Leads and Cases, and Brevo-only contacts.

The generator is pure: it returns plain dicts that the sandbox loads into its Salesforce org and
Brevo account. The same arguments always give the same output, within one installation of
Faker and phonenumbers (their data feeds the value pools).

Records are clean and valid except the share ``rule_share`` that is made to exercise one of
the SPEC's rules, tagged in ``GeneratedRecord.breaks``:

- Y6: no Email. Y7: has a phone (a test empties it later). Y9 (Leads): a phone with fewer than
  6 or more than 16 digits.
- Y3, Y5, Y8: clean in Salesforce; the violation is a Brevo-side edit of the synced contact
  (``GeneratedRecord.brevo_edit`` and ``GeneratedData.brevo_edits``): a date attribute not in
  YYYY-MM-DD form, an empty LASTNAME, a Lead FIRSTNAME over 40 characters.
- Y10: every contact that has a Case (about 8% of contacts, independent of ``rule_share``).
  Only ``generate`` makes Cases, so only its contacts carry Y10.

By default (``messy=True``) the data is shaped like a real org's, at a few percent each among
the records that break no rule, tagged in ``GeneratedRecord.traits`` (:mod:`datagen.traits`
lists them): national phone numbers with a country (named or as ISO code) and German ones
without any country, records without FirstName, Title and phones, names near the field limits
and in non-Latin scripts; and, made by ``generate`` only (:mod:`datagen.links`), Contacts
sharing an e-mail (one created years earlier: ``GeneratedRecord.created_days_ago``), people who
are both a Lead and a Contact, and Leads that ``seed_data`` converts (``GeneratedData.conversions``).
The traits draw from random streams of their own, so ``messy=False`` gives exactly the tidy
records of the same seed, and every record without a trait of its own is the same either way.

Typical use::

    data = generate(contacts=1000, leads=250, seed=7)
    for record in iter_contacts(50_000, seed=7):  # streaming, no Cases
        ...
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from toolkit.sandbox.datagen.links import link_records
from toolkit.sandbox.datagen.people import EmailMaker, make_person
from toolkit.sandbox.datagen.phones import OWNERS, PhoneMaker
from toolkit.sandbox.datagen.pools import COUNTRY_REGIONS, LOCALES, locale_pools
from toolkit.sandbox.datagen.records import BREVO_DATE_ATTRIBUTE, REFERENCE_DATE, RecordMaker
from toolkit.sandbox.datagen.traits import NO_COUNTRY_REGION, TRAITS, count_traits

__all__ = [
    "BREVO_DATE_ATTRIBUTE",
    "COUNTRY_REGIONS",
    "GeneratedData",
    "GeneratedRecord",
    "NO_COUNTRY_REGION",
    "REFERENCE_DATE",
    "RULES",
    "TRAITS",
    "count_traits",
    "generate",
    "iter_contacts",
    "iter_leads",
]

RULES: Final = ("Y3", "Y5", "Y6", "Y7", "Y8", "Y9", "Y10")
CASE_SHARE: Final = 0.08
BREVO_ONLY_SHARE: Final = 0.02

_CASE_STATUSES: Final = ("New", "Working", "Escalated", "Closed")
_CASE_PRIORITIES: Final = ("High", "Medium", "Low")
_CASE_ORIGINS: Final = ("Phone", "Email", "Web")
_CASE_TOPICS: Final = (
    ("Order #{n} not delivered", "The parcel for order #{n} has not arrived after {d} days."),
    ("Refund request for order #{n}", "Customer returned the item on day {d} and asks for a refund."),
    ("Wrong size delivered", "Ordered size 42, received size {d}. Wants an exchange."),
    ("Cannot log in to the customer portal", "Password reset e-mail never arrives (tried {d} times)."),
    ("Question about loyalty points", "Points from order #{n} are missing on the account."),
    ("Invoice #{n} incorrect", "VAT on invoice #{n} is wrong & the address is outdated."),
    ("Cancel my subscription", 'Customer wrote: "Please cancel <all> newsletters" ({d} mails/week).'),
    ("Damaged item received", "Box arrived crushed; photos attached.\nOrder #{n}, item {d}."),
)


@dataclass
class GeneratedRecord:
    """One generated Salesforce record.

    Attributes:
        fields: Salesforce field name -> value, ready to create (None = field left empty).
        breaks: ids of the SPEC rules this record is made to exercise (usually empty).
        brevo_edit: for Y3/Y5/Y8, the Brevo attributes to set on the synced contact, else None.
        traits: the traits of a real org's data the record has, in ``TRAITS`` order.
        created_days_ago: load it with a CreatedDate this many days in the past (the older of
            two duplicates), or None to let the org stamp it when loaded.
    """

    fields: dict[str, Any]
    breaks: tuple[str, ...]
    brevo_edit: dict[str, Any] | None = None
    traits: tuple[str, ...] = ()
    created_days_ago: int | None = None


@dataclass
class GeneratedData:
    """Everything ``generate`` makes.

    Attributes:
        contacts: Salesforce Contacts.
        leads: Salesforce Leads.
        cases: (index into ``contacts``, Case fields without ContactId).
        brevo_only: contacts that exist only in Brevo (SPEC Y1): ``{"email", "attributes"}``.
        brevo_edits: Brevo-side edits that break Y3/Y5/Y8: ``{"contact_index" or "lead_index":
            i, "attributes": {...}, "breaks": (rule,)}``.
        conversions: Leads to convert once loaded: (index into ``leads``, index into
            ``contacts`` of the Contact to convert into, or None for a new Contact).
    """

    contacts: list[GeneratedRecord]
    leads: list[GeneratedRecord]
    cases: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    brevo_only: list[dict[str, Any]] = field(default_factory=list)
    brevo_edits: list[dict[str, Any]] = field(default_factory=list)
    conversions: list[tuple[int, int | None]] = field(default_factory=list)

    def trait_counts(self) -> dict[str, dict[str, int]]:
        """How many Contacts and Leads carry each trait: ``{"Contact": {trait: n}, "Lead": {...}}``."""
        return {"Contact": count_traits(self.contacts), "Lead": count_traits(self.leads)}


def _check(n: int, rule_share: float) -> None:
    if n < 0:
        raise ValueError("the number of records must not be negative")
    if not 0.0 <= rule_share <= 1.0:
        raise ValueError("rule_share must be between 0 and 1")


def _iter(
    kind: str, n: int, seed: int, rule_share: float, today: date | None, messy: bool
) -> Iterator[GeneratedRecord]:
    _check(n, rule_share)
    traits_rng = random.Random(f"{seed}:{kind}:traits") if messy else None
    maker = RecordMaker(
        kind, random.Random(f"{seed}:{kind}"), rule_share, today or REFERENCE_DATE, traits_rng
    )
    for _ in range(n):
        fields, breaks, edit, traits = maker.make()
        yield GeneratedRecord(fields, breaks, edit, traits)


def iter_contacts(
    n: int, *, seed: int = 0, rule_share: float = 0.05, today: date | None = None, messy: bool = True
) -> Iterator[GeneratedRecord]:
    """Stream ``n`` Contacts (the ones ``generate`` makes for the seed before it links records:
    no Cases / Y10, no duplicate e-mails, no Leads of the same people).

    Args:
        n: how many Contacts.
        seed: any int; the same seed gives the same records.
        rule_share: share of records made to break one rule (Y3, Y5, Y6, Y7).
        today: reference date for ages (default ``REFERENCE_DATE``, so output never depends on
            the day it runs).
        messy: give a few percent of the records a real org's traits of their own (see the
            module doc); False gives the tidy records.

    Returns:
        An iterator of ``GeneratedRecord``; it needs memory for the e-mails seen so far only.
    """
    return _iter("Contact", n, seed, rule_share, today, messy)


def iter_leads(
    n: int, *, seed: int = 0, rule_share: float = 0.05, today: date | None = None, messy: bool = True
) -> Iterator[GeneratedRecord]:
    """Stream ``n`` Leads; like ``iter_contacts``, with rules Y3, Y5, Y6, Y7, Y8 and Y9.

    Lead e-mails use company domains and contacts' consumer domains, and phone numbers come
    from disjoint ranges, so streamed contacts and leads never share an e-mail (only
    ``generate`` makes Leads of people who are Contacts too).
    """
    return _iter("Lead", n, seed, rule_share, today, messy)


def _case_fields(rng: random.Random) -> dict[str, Any]:
    subject, description = rng.choice(_CASE_TOPICS)
    values = {"n": rng.randint(100_000, 999_999), "d": rng.randint(2, 45)}
    return {
        "Subject": subject.format(**values),
        "Status": rng.choices(_CASE_STATUSES, (30, 35, 10, 25))[0],
        "Priority": rng.choices(_CASE_PRIORITIES, (20, 55, 25))[0],
        "Origin": rng.choice(_CASE_ORIGINS),
        "Description": description.format(**values),
    }


def _add_cases(data: GeneratedData, rng: random.Random) -> None:
    for index, record in enumerate(data.contacts):
        if rng.random() >= CASE_SHARE:
            continue
        record.breaks = (*record.breaks, "Y10")
        for _ in range(rng.choices((1, 2, 3), (75, 20, 5))[0]):
            data.cases.append((index, _case_fields(rng)))


def _add_brevo_edits(data: GeneratedData) -> None:
    for key, records in (("contact_index", data.contacts), ("lead_index", data.leads)):
        for index, record in enumerate(records):
            if record.brevo_edit is not None:
                rule = next(r for r in record.breaks if r in ("Y3", "Y5", "Y8"))
                data.brevo_edits.append(
                    {key: index, "attributes": dict(record.brevo_edit), "breaks": (rule,)}
                )


def _add_brevo_only(data: GeneratedData, count: int, rng: random.Random) -> None:
    taken = {r.fields["Email"] for r in (*data.contacts, *data.leads) if r.fields.get("Email")}
    emails = EmailMaker(rng, taken)
    phones = PhoneMaker(rng, owner=OWNERS - 1)
    pools = locale_pools()
    weights = [spec.weight for spec in LOCALES]
    for _ in range(count):
        locale = rng.choices(pools, weights)[0]
        person = make_person(rng, locale)
        attributes: dict[str, Any] = {"LASTNAME": person.last_name}
        if person.first_name:
            attributes["FIRSTNAME"] = person.first_name
        if rng.random() < 0.4:
            attributes["SMS"] = phones.sms(locale.spec.region)
        data.brevo_only.append(
            {"email": emails.make(person.first_name, person.last_name), "attributes": attributes}
        )


def generate(
    *,
    contacts: int,
    leads: int,
    seed: int = 0,
    rule_share: float = 0.05,
    brevo_only: int | None = None,
    today: date | None = None,
    messy: bool = True,
) -> GeneratedData:
    """Generate a whole sandbox data set.

    Args:
        contacts: how many Salesforce Contacts (about 8% get 1-3 Cases and carry Y10).
        leads: how many Salesforce Leads.
        seed: any int; the same arguments give identical output.
        rule_share: share of Contacts and Leads made to break one rule (see the module doc).
        brevo_only: how many contacts exist only in Brevo; default 2% of all records (at
            least one when any record is made).
        today: reference date for ages (default ``REFERENCE_DATE``).
        messy: shape the data like a real org's (traits, see the module doc); False gives the
            tidy data of the same seed.

    Returns:
        The records, Cases, Brevo-only contacts, Brevo-side edits and Leads to convert.
    """
    data = GeneratedData(
        contacts=list(iter_contacts(contacts, seed=seed, rule_share=rule_share, today=today, messy=messy)),
        leads=list(iter_leads(leads, seed=seed, rule_share=rule_share, today=today, messy=messy)),
    )
    if messy:
        link_records(data, random.Random(f"{seed}:links"))
    if brevo_only is None:
        brevo_only = max(1, round(BREVO_ONLY_SHARE * (contacts + leads))) if contacts + leads else 0
    _check(brevo_only, rule_share)
    _add_cases(data, random.Random(f"{seed}:Case"))
    _add_brevo_edits(data)
    _add_brevo_only(data, brevo_only, random.Random(f"{seed}:brevo_only"))
    return data
