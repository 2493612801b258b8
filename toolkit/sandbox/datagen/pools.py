"""Value pools for the data generator: names, addresses, companies and titles per locale.

Faker is slow per call, so each locale's pools are drawn from Faker once per process (with a
fixed Faker seed, so they never depend on the caller's seed) and the generator then combines
them with its own ``random.Random``. Hand-written lists add the awkward cases real CRMs hold:
apostrophes, hyphens, particles, very long names and markup-like text.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final

from faker import Faker

_FAKER_SEED: Final = 20_240_925
_NAMES_PER_POOL: Final = 300
_PLACES_PER_POOL: Final = 200
_COMPANIES_PER_POOL: Final = 120


@dataclass(frozen=True)
class LocaleSpec:
    """One population of the generated data.

    Attributes:
        name_locale: Faker locale for person names.
        address_locale: Faker locale for streets, cities, postcodes and companies.
        region: ISO 3166 region code, used for phone numbers.
        country: value written to MailingCountry / Country.
        language: Preferred_Language__c value (a Lead picklist value).
        weight: relative share of records from this locale.
    """

    name_locale: str
    address_locale: str
    region: str
    country: str
    language: str
    weight: int


LOCALES: Final[tuple[LocaleSpec, ...]] = (
    LocaleSpec("de_DE", "de_DE", "DE", "Germany", "German", 18),
    LocaleSpec("fr_FR", "fr_FR", "FR", "France", "French", 13),
    LocaleSpec("it_IT", "it_IT", "IT", "Italy", "Italian", 9),
    LocaleSpec("es_ES", "es_ES", "ES", "Spain", "Spanish", 9),
    LocaleSpec("en_GB", "en_GB", "GB", "United Kingdom", "English", 10),
    LocaleSpec("en_US", "en_US", "US", "United States", "English", 10),
    LocaleSpec("nl_NL", "nl_NL", "NL", "Netherlands", "English", 6),
    LocaleSpec("pl_PL", "pl_PL", "PL", "Poland", "English", 5),
    LocaleSpec("pt_PT", "pt_PT", "PT", "Portugal", "English", 4),
    LocaleSpec("sv_SE", "sv_SE", "SE", "Sweden", "English", 4),
    LocaleSpec("tr_TR", "tr_TR", "TR", "Türkiye", "English", 4),
    LocaleSpec("ga_IE", "en_IE", "IE", "Ireland", "English", 3),
    LocaleSpec("en_IE", "en_IE", "IE", "Ireland", "English", 2),
)

#: Country value (as generated: a name, or an ISO code) -> phone region, for consumers that
#: parse national numbers.
COUNTRY_REGIONS: Final[dict[str, str]] = {
    **{spec.country: spec.region for spec in LOCALES},
    **{spec.region: spec.region for spec in LOCALES},
}

# Awkward but legitimate names, mixed in at a small rate. FirstName <= 40, LastName <= 80.
TRICKY_FEMALE_FIRST_NAMES: Final = (
    "Zoë",
    "Chloé",
    "Anne-Sophie",
    "Małgorzata",
    "Siobhán",
    "Mary-Kate",
    "Dóra",
    "Ğülşen",
    "Çağla",
    "María José",
    "Maria-Magdalena Alexandrina Konstantina",
)
TRICKY_MALE_FIRST_NAMES: Final = (
    "Jean-Luc",
    "Hans-Jürgen",
    "Łukasz",
    "Søren",
    "Björn",
    "Íñigo",
    "François",
    "Ørjan",
    "Seán",
    "José María",
    "Øystein",
    "Karl-Theodor Maria Nikolaus Johann",
)
TRICKY_LAST_NAMES: Final = (
    "O'Brien",
    "D'Angelo",
    "O’Connor",
    "Müller-Lüdenscheidt",
    "van der Berg",
    "de la Cruz",
    "von und zu Guttenberg",
    "Ní Bhriain",
    "Mac Giolla Phádraig",
    "Ødegård",
    "Łęczycka-Wiśniewska",
    "García Márquez",
    "dos Santos Aveiro",
    "Dell'Acqua",
    "N'Diaye",
    "Çelik",
    "Straßburger",
    "Ó Súilleabháin",
    "de Oliveira e Sousa",
    "Wolfeschlegelsteinhausenbergerdorff-Müller-Lüdenscheidt von Hohenzollern",
)
# Text that a careless report or CSV export would render, execute or break on.
MARKUP_FIRST_NAMES: Final = ("<b>Bob</b>", "<script>alert(1)</script>", '"Bobby"', "=1+2")
MARKUP_LAST_NAMES: Final = (
    "Robert'); DROP TABLE Contacts;--",
    "<i>Tables</i>",
    "Smith & Sons",
    '=HYPERLINK("x")',
)


@dataclass(frozen=True)
class LocalePools:
    """Pre-drawn values of one locale. All tuples are non-empty and within Salesforce lengths."""

    spec: LocaleSpec
    female_first: tuple[str, ...]
    male_first: tuple[str, ...]
    female_last: tuple[str, ...]
    male_last: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[str, ...]
    postcodes: tuple[str, ...]
    companies: tuple[str, ...]
    titles: tuple[str, ...]


def _draw(make: object, count: int, max_len: int) -> tuple[str, ...]:
    """Call ``make()`` ``count`` times; keep distinct, stripped values of at most ``max_len``."""
    values: dict[str, None] = {}
    for _ in range(count):
        value = str(make()).strip()  # type: ignore[operator]
        if value and len(value) <= max_len:
            values[value] = None
    if not values:
        raise RuntimeError("empty value pool")  # a Faker locale lost its data: fail loudly
    return tuple(values)


def _seeded_faker(locale: str) -> Faker:
    """A Faker whose output depends on its seed only.

    Some providers build their value lists from sets at import (it_IT cities, for one), so the
    order, and with it what a seeded Faker draws, changes with PYTHONHASHSEED. Sorted copies of
    every list attribute, set on this instance's providers only, make the order fixed.
    """
    faker = Faker(locale)
    faker.seed_instance(_FAKER_SEED)
    for provider in faker.providers:
        for name in dir(type(provider)):
            value = getattr(type(provider), name, None)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                setattr(provider, name, sorted(value))
    return faker


def _build(spec: LocaleSpec) -> LocalePools:
    people = _seeded_faker(spec.name_locale)
    places = _seeded_faker(spec.address_locale)
    return LocalePools(
        spec=spec,
        female_first=_draw(people.first_name_female, _NAMES_PER_POOL, 40),
        male_first=_draw(people.first_name_male, _NAMES_PER_POOL, 40),
        female_last=_draw(people.last_name_female, _NAMES_PER_POOL, 80),
        male_last=_draw(people.last_name_male, _NAMES_PER_POOL, 80),
        streets=_draw(places.street_address, _PLACES_PER_POOL, 255),
        cities=_draw(places.city, _PLACES_PER_POOL, 40),
        postcodes=_draw(places.postcode, _PLACES_PER_POOL, 20),
        companies=_draw(places.company, _COMPANIES_PER_POOL, 255),
        titles=_draw(people.job, _COMPANIES_PER_POOL, 128),
    )


_lock = threading.Lock()
_pools: tuple[LocalePools, ...] | None = None


def locale_pools() -> tuple[LocalePools, ...]:
    """The pools of every locale in ``LOCALES`` order, built on first use (thread-safe)."""
    global _pools
    with _lock:
        if _pools is None:
            _pools = tuple(_build(spec) for spec in LOCALES)
        return _pools
