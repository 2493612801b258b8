"""People for the data generator: names with their salutation, and e-mail addresses derived from them.

E-mail domains are all under ``.example`` (reserved by RFC 2606), so no generated address can
ever reach a real mailbox, even if the data is loaded into a real account by mistake. Contacts
and Brevo-only contacts use consumer-style domains; Leads use a domain made from their
company's name, so contacts' and leads' addresses never collide.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from toolkit.sandbox.datagen.pools import (
    MARKUP_FIRST_NAMES,
    MARKUP_LAST_NAMES,
    TRICKY_FEMALE_FIRST_NAMES,
    TRICKY_LAST_NAMES,
    TRICKY_MALE_FIRST_NAMES,
    LocalePools,
)

EMAIL_MAX: Final = 80
LOCAL_MAX: Final = 64
CONSUMER_DOMAINS: Final = (
    "gmail.example",
    "outlook.example",
    "yahoo.example",
    "icloud.example",
    "proton.example",
    "gmx.example",
    "web.example",
    "t-online.example",
    "orange.example",
    "free.example",
    "libero.example",
    "ziggo.example",
    "wp.example",
    "sapo.example",
    "telia.example",
    "eircom.example",
    "example.com",
    "example.org",
    "mail.example.net",
)
# Letters NFKD does not decompose into a base letter plus accents.
_FOLD: Final = str.maketrans(
    {
        "ß": "ss",
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ı": "i",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "Þ": "Th",
        "ð": "d",
    }
)
_TAG: Final = re.compile(r"<[^>]*>")
_NOT_LOCAL: Final = re.compile(r"[^a-z0-9-]+")


def fold(text: str) -> str:
    """Lower-case ASCII form of a name for an e-mail address: "Zoë O'Brien" -> "zoeobrien".

    Markup is dropped, accents folded, and everything but letters, digits and hyphens removed.
    """
    text = unicodedata.normalize("NFKD", _TAG.sub("", text).translate(_FOLD))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return _NOT_LOCAL.sub("", text).strip("-")


@dataclass(frozen=True)
class Person:
    """A generated person's name fields (Salesforce values)."""

    salutation: str | None
    first_name: str | None
    last_name: str
    female: bool


def make_person(rng: random.Random, pools: LocalePools, *, odd_share: float = 0.04) -> Person:
    """A person of ``pools``' locale; ``odd_share`` of names come from the awkward lists."""
    female = rng.random() < 0.5
    first: str | None = rng.choice(pools.female_first if female else pools.male_first)
    last = rng.choice(pools.female_last if female else pools.male_last)
    roll = rng.random()
    if roll < odd_share:
        first = rng.choice(TRICKY_FEMALE_FIRST_NAMES if female else TRICKY_MALE_FIRST_NAMES)
    elif roll < 2 * odd_share:
        last = rng.choice(TRICKY_LAST_NAMES)
    elif roll < 2 * odd_share + odd_share / 8:
        first = rng.choice(MARKUP_FIRST_NAMES)
    elif roll < 2 * odd_share + odd_share / 4:
        last = rng.choice(MARKUP_LAST_NAMES)
    elif roll < 2 * odd_share + odd_share / 2:
        first = None  # FirstName is optional in Salesforce
    salutation_roll = rng.random()
    if salutation_roll < 0.25:
        salutation = None
    elif salutation_roll < 0.31:
        salutation = rng.choice(("Dr.", "Prof."))
    elif female:
        salutation = "Mrs." if salutation_roll < 0.45 else "Ms."
    else:
        salutation = "Mr."
    return Person(salutation, first, last, female)


def company_domain(company: str) -> str:
    """An ``.example`` domain from a company name: "Geißler GmbH & Co. KG" -> "geissler-gmbh.example"."""
    words = [w for w in (fold(part) for part in re.split(r"[\s,&.]+", company)) if w]
    slug = "-".join(words[:2])[:30].strip("-") or "company"
    if f"{slug}.example" in CONSUMER_DOMAINS:
        slug += "-group"
    return f"{slug}.example"


class EmailMaker:
    """Derives e-mail addresses from names, unique within one generator run."""

    def __init__(self, rng: random.Random, taken: set[str] | None = None) -> None:
        self._rng = rng
        self._used: set[str] = taken if taken is not None else set()

    def _local(self, first: str, last: str, business: bool) -> str:
        rng = self._rng
        f, la = fold(first), fold(last)
        if not f or not la:
            return f or la or "contact"
        patterns = (
            ("{f}.{l}", "{f0}.{l}", "{f0}{l}", "{f}", "{l}.{f}")
            if business
            else ("{f}.{l}", "{f}{l}", "{f0}.{l}", "{f}_{l}", "{f}.{l}{n}", "{l}.{f}", "{f}{n}", "{l}{f0}")
        )
        weights = (50, 20, 15, 10, 5) if business else (38, 10, 12, 6, 14, 8, 6, 6)
        pattern = rng.choices(patterns, weights)[0]
        return pattern.format(f=f, l=la, f0=f[0], n=rng.randint(1, 99))

    @property
    def taken(self) -> set[str]:
        """The addresses made (or reserved) so far, to share with another maker."""
        return self._used

    def make(self, first: str | None, last: str, domain: str | None = None) -> str:
        """A new address for the person; ``domain=None`` picks a consumer domain."""
        rng = self._rng
        business = domain is not None
        domain = domain or rng.choice(CONSUMER_DOMAINS)
        room = min(LOCAL_MAX, EMAIL_MAX - len(domain) - 1)
        # leave room for a numeric suffix on collision
        local = self._local(first or "", last, business)[: room - 6].strip(".-_") or "contact"
        candidate = f"{local}@{domain}"
        suffix = 1
        while candidate in self._used:
            suffix += 1
            candidate = f"{local}{suffix}@{domain}"
        self._used.add(candidate)
        return candidate
