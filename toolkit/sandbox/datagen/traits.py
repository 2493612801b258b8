"""Traits of a real org's data: what each generated record has that tidy test data would not.

A record's ``traits`` are read from its fields (so a trait is tagged wherever it occurs, also
where the tidy generator makes it by chance), except the three that link records, which
:mod:`datagen.links` adds. :class:`TraitMaker` gives a few percent of the records that break no
SPEC rule one trait of its own, drawing from its own random stream so that every other record
stays exactly what the tidy generator makes for the seed.

=============================  ===============================================================
trait                          the record
=============================  ===============================================================
national_phone_with_country    has a phone written nationally ("030 1234567") and a country
national_phone_no_country      has a German national phone ("0151 23456789") and no country:
                               only the org's default region (Germany) makes it international
country_iso_code               names its country by ISO code ("DE") instead of by name
empty_optional_fields          has no FirstName, Title, Phone nor MobilePhone
long_name                      FirstName of 30+ or LastName of 60+ characters (limits 40 / 80)
non_latin                      a name in Cyrillic, Greek, CJK or Arabic script
duplicate_email                shares its e-mail with another Contact (one created years before)
lead_and_contact               a Lead and a Contact of the same person (same name and e-mail)
converted_lead                 a Lead that ``seed_data`` converts into a Contact
=============================  ===============================================================
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol

from toolkit.sandbox.datagen.names import (
    LONG_FIRST_NAME,
    LONG_LAST_NAME,
    has_non_latin,
    long_first_name,
    long_last_name,
    non_latin_name,
)
from toolkit.sandbox.datagen.people import EmailMaker, Person
from toolkit.sandbox.datagen.phones import FIXED, MOBILE, PhoneMaker
from toolkit.sandbox.datagen.pools import LOCALES, LocalePools

NATIONAL_PHONE_WITH_COUNTRY: Final = "national_phone_with_country"
NATIONAL_PHONE_NO_COUNTRY: Final = "national_phone_no_country"
COUNTRY_ISO_CODE: Final = "country_iso_code"
EMPTY_OPTIONAL_FIELDS: Final = "empty_optional_fields"
LONG_NAME: Final = "long_name"
NON_LATIN: Final = "non_latin"
DUPLICATE_EMAIL: Final = "duplicate_email"
LEAD_AND_CONTACT: Final = "lead_and_contact"
CONVERTED_LEAD: Final = "converted_lead"
TRAITS: Final = (
    NATIONAL_PHONE_WITH_COUNTRY,
    NATIONAL_PHONE_NO_COUNTRY,
    COUNTRY_ISO_CODE,
    EMPTY_OPTIONAL_FIELDS,
    LONG_NAME,
    NON_LATIN,
    DUPLICATE_EMAIL,
    LEAD_AND_CONTACT,
    CONVERTED_LEAD,
)

#: Region whose national numbers the records without a country get: the sandbox org's own
#: country (Organization.Country "Germany", :mod:`salesforce.org.standard`), the default region
#: an integration falls back to.
NO_COUNTRY_REGION: Final = "DE"
#: Share of the records breaking no rule that get each trait of their own (one at most).
OWN_TRAIT_SHARES: Final = {
    NATIONAL_PHONE_NO_COUNTRY: 0.03,
    EMPTY_OPTIONAL_FIELDS: 0.03,
    LONG_NAME: 0.02,
    NON_LATIN: 0.03,
}
#: Share of the records with a country that name it by ISO code.
ISO_COUNTRY_SHARE: Final = 0.03

_COUNTRY_FIELD: Final = {"Contact": "MailingCountry", "Lead": "Country"}
_CITY_FIELD: Final = {"Contact": "MailingCity", "Lead": "City"}
_NAMES_TO_CODES: Final = {spec.country: spec.region for spec in LOCALES}


def country_field(kind: str) -> str:
    """The field holding a ``kind`` record's country (``MailingCountry`` or ``Country``)."""
    return _COUNTRY_FIELD[kind]


def _national(phone: str | None) -> bool:
    """A number written without its country code (it needs a region to be read)."""
    return phone is not None and not phone.startswith(("+", "00"))


def record_traits(kind: str, fields: dict[str, Any], breaks: tuple[str, ...]) -> tuple[str, ...]:
    """The traits ``fields`` show by themselves, in ``TRAITS`` order (no linking traits)."""
    found = set()
    country = fields.get(_COUNTRY_FIELD[kind])
    phones = (fields.get("Phone"), fields.get("MobilePhone"))
    if "Y9" not in breaks and any(_national(p) for p in phones):  # Y9 phones are not numbers at all
        found.add(NATIONAL_PHONE_WITH_COUNTRY if country else NATIONAL_PHONE_NO_COUNTRY)
    if country and len(country) == 2 and country.isupper():
        found.add(COUNTRY_ISO_CODE)
    if all(fields.get(name) is None for name in ("FirstName", "Title", "Phone", "MobilePhone")):
        found.add(EMPTY_OPTIONAL_FIELDS)
    first, last = fields.get("FirstName") or "", fields.get("LastName") or ""
    if len(first) >= LONG_FIRST_NAME or len(last) >= LONG_LAST_NAME:
        found.add(LONG_NAME)
    if has_non_latin(first) or has_non_latin(last):
        found.add(NON_LATIN)
    return tuple(t for t in TRAITS if t in found)


class _Traited(Protocol):
    traits: tuple[str, ...]


def count_traits(records: Iterable[_Traited]) -> dict[str, int]:
    """How many of ``records`` carry each trait (every trait listed, in ``TRAITS`` order)."""
    counts = dict.fromkeys(TRAITS, 0)
    for record in records:
        for trait in record.traits:
            counts[trait] += 1
    return counts


class TraitMaker:
    """Gives records one trait of their own, from a random stream of its own.

    Args:
        kind: "Contact" or "Lead".
        rng: the traits' random source (not the record maker's).
        emails: makes new addresses (shares the taken set with the record maker's).
        phones: makes new numbers (shares the used set with the record maker's).
        german: the German locale's pools, for the records without a country.
    """

    def __init__(
        self, kind: str, rng: random.Random, emails: EmailMaker, phones: PhoneMaker, german: LocalePools
    ) -> None:
        self.kind = kind
        self._rng = rng
        self._emails = emails
        self._phones = phones
        self._german = german
        self._makers: dict[str, Callable[[dict[str, Any], LocalePools, Person], None]] = {
            NATIONAL_PHONE_NO_COUNTRY: self._national_phone_no_country,
            EMPTY_OPTIONAL_FIELDS: self._empty_optional_fields,
            LONG_NAME: self._long_name,
            NON_LATIN: self._non_latin,
        }

    def apply(self, fields: dict[str, Any], pools: LocalePools, person: Person) -> None:
        """Maybe change ``fields`` (of a record breaking no rule) to carry one trait."""
        rng = self._rng
        roll, iso_roll = rng.random(), rng.random()
        for trait, share in OWN_TRAIT_SHARES.items():
            if roll < share:
                self._makers[trait](fields, pools, person)
                break
            roll -= share
        country = fields.get(_COUNTRY_FIELD[self.kind])
        if iso_roll < ISO_COUNTRY_SHARE and country in _NAMES_TO_CODES:
            fields[_COUNTRY_FIELD[self.kind]] = _NAMES_TO_CODES[country]

    def _national_phone_no_country(self, fields: dict[str, Any], pools: LocalePools, person: Person) -> None:
        rng, german = self._rng, self._german
        fields[_COUNTRY_FIELD[self.kind]] = None
        fields[_CITY_FIELD[self.kind]] = rng.choice(german.cities) if rng.random() < 0.7 else None
        if self.kind == "Contact":
            has_street = fields["MailingCity"] is not None and rng.random() < 0.8
            fields["MailingStreet"] = rng.choice(german.streets) if has_street else None
            fields["MailingPostalCode"] = rng.choice(german.postcodes) if has_street else None
        had_phone = fields.get("Phone") is not None
        if had_phone:
            fields["Phone"] = self._phones.national(
                NO_COUNTRY_REGION, FIXED if rng.random() < 0.6 else MOBILE
            )
        if fields.get("MobilePhone") is not None or not had_phone:  # at least one national number
            fields["MobilePhone"] = self._phones.national(NO_COUNTRY_REGION, MOBILE)

    def _empty_optional_fields(self, fields: dict[str, Any], pools: LocalePools, person: Person) -> None:
        for name in ("FirstName", "Title", "Phone", "MobilePhone"):
            fields[name] = None

    def _long_name(self, fields: dict[str, Any], pools: LocalePools, person: Person) -> None:
        rng = self._rng
        roll = rng.random()
        first, last = fields["FirstName"], fields["LastName"]
        if roll < 0.7:
            first = long_first_name(rng, pools, person.female)
        if roll >= 0.5:
            last = long_last_name(rng, pools, person.female)
        fields["FirstName"], fields["LastName"] = first, last
        self._new_email(fields, first, last)

    def _non_latin(self, fields: dict[str, Any], pools: LocalePools, person: Person) -> None:
        (first, first_latin), (last, last_latin) = non_latin_name(self._rng, person.female)
        fields["FirstName"], fields["LastName"] = first, last
        self._new_email(fields, first_latin, last_latin)

    def _new_email(self, fields: dict[str, Any], first: str | None, last: str) -> None:
        """An address for the new name, on the same domain (a Lead's company domain stays)."""
        domain = fields["Email"].split("@", 1)[1] if self.kind == "Lead" else None
        fields["Email"] = self._emails.make(first, last, domain)
