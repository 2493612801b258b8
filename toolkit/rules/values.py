"""Value checks and conversions the rules share: phones (E.164), e-mails, dates, numbers, countries.

All functions are pure and cheap on the common path: phone parses are cached, and an e-mail
address in plain ASCII is checked by a pattern plus one ``email-validator`` call per domain,
which gives the same answers as calling ``email-validator`` on every address.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from toolkit.rules.phones import NOT_PLAIN, parsed_e164, plain_e164

__all__ = [
    "PHONE_MAX_DIGITS",
    "PHONE_MIN_DIGITS",
    "as_number",
    "country_region",
    "digit_count",
    "email_problem",
    "international_e164",
    "is_empty",
    "is_iso_date",
    "region_for",
    "to_e164",
    "utc_day",
]

PHONE_MIN_DIGITS = 6  # SPEC Y9
PHONE_MAX_DIGITS = 16

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ASCII_EMAIL_RE = re.compile(rf"^({_ATOM}(?:\.{_ATOM})*)@([A-Za-z0-9.-]+)$")
_BREVO_SMS_RE = re.compile(r"^\+?[1-9]\d{6,14}$")
_EMAIL_MAX = 254
_DOMAIN_MAX = 253
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)+[a-z](?:[a-z0-9-]{{0,61}}[a-z])?$")
_LOCAL_MAX = 64

# Names people write in country fields that phonenumbers' locale data does not hold.
_COUNTRY_ALIASES = {
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "the netherlands": "NL",
    "turkey": "TR",
}
_countries: dict[str, str] | None = None
_countries_lock = threading.Lock()


def is_empty(value: Any) -> bool:
    """``None``, a blank string or an empty list: Salesforce and Brevo treat them alike."""
    if type(value) is str:  # the common case, first
        return not value.strip()
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def digit_count(text: str) -> int:
    """How many digits a phone number has, whatever its separators (SPEC Y9)."""
    return sum(ch.isdigit() for ch in text)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _country_index() -> dict[str, str]:
    """Country name (in every language phonenumbers knows, accents folded) or ISO code -> region."""
    global _countries
    with _countries_lock:
        if _countries is None:
            index: dict[str, str] = {}
            try:
                from phonenumbers.geodata.locale import LOCALE_DATA
            except ImportError:  # phonenumberslite has no locale data
                LOCALE_DATA = {}
            for region, names in sorted(LOCALE_DATA.items()):
                for name in names.values():
                    for _ in range(3):  # "*aa" points to the entry for language "aa"
                        if not name.startswith("*"):
                            break
                        name = names.get(name[1:], "")
                    if name and not name.startswith("*"):
                        index.setdefault(_fold(name), region)
            index.update({_fold(k): v for k, v in _COUNTRY_ALIASES.items()})
            index.update({r.casefold(): r for r in phonenumbers.SUPPORTED_REGIONS})
            _countries = index
        return _countries


@lru_cache(maxsize=4096)
def country_region(country: str) -> str | None:
    """The ISO region of a country as people write it (``Deutschland``, ``UK``, ``fr``), or ``None``."""
    return _country_index().get(_fold(country))


def region_for(
    record: Mapping[str, object], country_fields: tuple[str, ...], default: str | None
) -> str | None:
    """The phone region of a record: from its first recognised country field, else ``default``."""
    for name in country_fields:
        value = record.get(name)
        if isinstance(value, str) and value:
            region = country_region(value)
            if region:
                return region
    return default


@lru_cache(maxsize=65_536)
def to_e164(text: str, region: str | None) -> str | None:
    """``text`` as an E.164 number (``+4915112345678``), or ``None`` when it is not a valid number.

    What ``phonenumbers.parse`` and ``is_valid_number`` answer; plainly written numbers take a
    shorter way to the same answer (:func:`toolkit.rules.phones.plain_e164`).

    Args:
        text: the number as written (``0151 1234 5678``, ``+49 151...``, ``0049 151...``).
        region: ISO region for numbers written without a country code (``DE``), or ``None``.
    """
    candidate = text.strip()
    if region is None and candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    plain = plain_e164(candidate, region)
    return parsed_e164(candidate, region) if plain is NOT_PLAIN else plain


def international_e164(text: str) -> str | None:
    """A number that carries its country code (Brevo's ``4915...``, ``+4915...``) as E.164.

    Brevo validates SMS numbers before storing them as country code and digits, so those are
    only prefixed with ``+``; anything else is parsed.
    """
    candidate = text.strip()
    if _BREVO_SMS_RE.match(candidate):
        return "+" + candidate.lstrip("+")
    if candidate[:1].isdigit() and not candidate.startswith("00"):
        candidate = "+" + candidate
    return to_e164(candidate, None)


def _plain_domain(domain: str) -> bool:
    """True when ``domain`` (lower case) passes every check email-validator makes, by construction.

    Only the plainest ASCII domains qualify (letters, digits, inner hyphens, a letter-ended
    TLD, no ``ab--`` labels, no special-use name); anything else goes to email-validator.
    """
    if len(domain) > _DOMAIN_MAX or not _PLAIN_DOMAIN_RE.match(domain) or "--" in domain:
        return False
    return not any(domain == name or domain.endswith("." + name) for name in SPECIAL_USE_DOMAIN_NAMES)


@lru_cache(maxsize=4096)
def _domain_problem(domain: str) -> str | None:
    if _plain_domain(domain):
        return None
    try:
        validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def email_problem(text: str) -> str | None:
    """Why ``text`` is not a valid e-mail address (syntax only, no DNS), or ``None`` if it is."""
    match = _ASCII_EMAIL_RE.match(text)
    if match and len(match.group(1)) <= _LOCAL_MAX and len(text) <= _EMAIL_MAX:
        return _domain_problem(match.group(2).lower())
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def is_iso_date(value: Any) -> bool:
    """True for a real calendar date written exactly ``YYYY-MM-DD`` (SPEC Y3)."""
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def utc_day(value: Any) -> str | None:
    """The UTC calendar day (``YYYY-MM-DD``) of a date, datetime or Salesforce datetime string."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    if is_iso_date(text):
        return text
    match = _DATETIME_RE.match(text)
    if not match or not is_iso_date(match.group(1)):
        return None
    day, zone = date.fromisoformat(match.group(1)), match.group(5)
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 60 + int(digits[2:])
        minutes -= offset if zone[0] == "+" else -offset
    return (day + timedelta(days=math.floor(minutes / 1440))).isoformat()


def as_number(value: Any) -> float | int | None:
    """A JSON number or numeric string as a number (integral values as int), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)
