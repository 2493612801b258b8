"""Phone numbers for the data generator: valid per region, written the many ways people write them.

``phonenumbers`` is too slow to call per record, so each region gets a few dozen validated
"base" numbers, pre-formatted in every style once. A record's number is a base with its last
four digits replaced: bases are kept only if such tails stay valid, and formatting does not
depend on the last digits, so the result is a valid number in the chosen style.

Bases are split by ``owner`` (0 contacts, 1 leads, 2 Brevo-only contacts) so that numbers
drawn by separate generators never collide.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from toolkit.sandbox.datagen.pools import LOCALES

TAIL: Final = 4
OWNERS: Final = 3
_BASES_PER_KIND: Final = 15 * OWNERS
_ATTEMPTS: Final = 1500
_SEED: Final = "datagen-phones"
MIN_DIGITS: Final = 6  # SPEC Y9: a phone has 6 to 16 digits
MAX_DIGITS: Final = 16

FIXED: Final = "fixed"
MOBILE: Final = "mobile"
_TYPES: Final = {
    FIXED: (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
    MOBILE: (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
}
# Relative weight of each writing style for a domestic number (foreign ones: "international"/"e164").
STYLE_WEIGHTS: Final = {
    "national": 34,
    "international": 28,
    "e164": 16,
    "idd": 8,
    "hyphen": 7,
    "dots": 4,
    "compact": 3,
}


@dataclass(frozen=True)
class Base:
    """A valid number whose last ``TAIL`` digits may be replaced; ``styles`` maps style -> text."""

    e164_head: str
    styles: dict[str, str]


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _styles(number: phonenumbers.PhoneNumber, region: str) -> dict[str, str]:
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    groups = re.findall(r"\d+", national)
    styles = {
        "national": national,
        "international": international,
        "e164": phonenumbers.format_number(number, PhoneNumberFormat.E164),
        "hyphen": "-".join(groups),
        "compact": "".join(groups),
    }
    if region == "FR":
        styles["dots"] = ".".join(groups)  # "01.23.45.67.89" is how many French people write
    if region != "US":  # every other region here dials abroad with "00"
        styles["idd"] = "00" + international[1:]
    # A style counted outside 6..16 digits would make a clean record look like a Y9 case.
    return {k: v for k, v in styles.items() if MIN_DIGITS <= _digits(v) <= MAX_DIGITS}


def _valid(number: phonenumbers.PhoneNumber, region: str, kind: str) -> bool:
    return (
        phonenumbers.is_valid_number(number)
        and phonenumbers.region_code_for_number(number) == region
        and phonenumbers.number_type(number) in _TYPES[kind]
    )


def _bases(region: str, kind: str, rng: random.Random) -> tuple[Base, ...]:
    """Draw random variants of the region's example number and keep tail-stable valid ones."""
    example = phonenumbers.example_number_for_type(region, _TYPES[kind][0])
    if example is None:
        raise ValueError(f"phonenumbers has no example {kind} number for {region}")
    prefix = f"+{example.country_code}"
    nsn = phonenumbers.national_significant_number(example)
    found: dict[str, Base] = {}
    for _ in range(_ATTEMPTS):
        if len(found) >= _BASES_PER_KIND:
            break
        keep = rng.randint(1, 3)
        candidate = nsn[:keep] + "".join(rng.choice("0123456789") for _ in nsn[keep:])
        head = candidate[:-TAIL]
        number = phonenumbers.parse(prefix + candidate)
        if head in found or not _valid(number, region, kind):
            continue
        tails = (f"{rng.randrange(10**TAIL):0{TAIL}d}" for _ in range(8))
        if all(_valid(phonenumbers.parse(prefix + head + t), region, kind) for t in tails):
            found[head] = Base(prefix + head, _styles(number, region))
    if len(found) < OWNERS:
        raise RuntimeError(f"too few valid {kind} numbers for {region}")
    return tuple(found.values())


_lock = threading.Lock()
_pools: dict[tuple[str, str], tuple[Base, ...]] | None = None


def phone_bases() -> dict[tuple[str, str], tuple[Base, ...]]:
    """(region, FIXED|MOBILE) -> validated bases, built once per process (thread-safe)."""
    global _pools
    with _lock:
        if _pools is None:
            rng = random.Random(_SEED)
            regions = sorted({spec.region for spec in LOCALES})
            _pools = {(r, k): _bases(r, k, rng) for r in regions for k in (FIXED, MOBILE)}
        return _pools


def with_tail(text: str, tail: str) -> str:
    """Replace the last ``len(tail)`` digits of ``text`` by ``tail``, keeping the layout."""
    chars = list(text)
    pos = len(chars)
    for digit in reversed(tail):
        pos -= 1
        while not chars[pos].isdigit():
            pos -= 1
        chars[pos] = digit
    return "".join(chars)


class PhoneMaker:
    """Draws phone numbers unique within one generator run.

    Args:
        rng: the generator's random source.
        owner: 0 contacts, 1 leads, 2 Brevo-only contacts (disjoint number ranges).
        used: numbers (E.164) already drawn, shared with another maker of the same run.
    """

    def __init__(self, rng: random.Random, owner: int, used: set[str] | None = None) -> None:
        self._rng = rng
        self._owner = owner
        self._bases = phone_bases()
        self._used: set[str] = used if used is not None else set()
        self._styles = tuple(STYLE_WEIGHTS)
        self._weights = tuple(STYLE_WEIGHTS.values())

    def _pick(self, region: str, kind: str) -> tuple[Base, str]:
        """A base and a tail not used yet (after many collisions a duplicate is accepted)."""
        bases = self._bases[(region, kind)][self._owner :: OWNERS]
        rng = self._rng
        for _ in range(50):
            base = rng.choice(bases)
            tail = f"{rng.randrange(10**TAIL):0{TAIL}d}"
            if base.e164_head + tail not in self._used:
                break
        self._used.add(base.e164_head + tail)
        return base, tail

    def number(self, region: str, kind: str, *, international: bool = False) -> str:
        """A valid number of ``region`` in a random style; ``international`` limits it to +... styles.

        National styles only parse with the region known, so a number whose record names no
        country of its own (or another one) is written internationally.
        """
        base, tail = self._pick(region, kind)
        if international:
            style = self._rng.choice(("international", "e164"))
        else:
            style = self._rng.choices(self._styles, self._weights)[0]
            if style not in base.styles:
                style = "e164"  # E.164 never has more than 15 digits
        return with_tail(base.styles[style], tail)

    def national(self, region: str, kind: str) -> str:
        """A valid number of ``region`` written as its people write it at home, without the country code.

        Mostly the national format ("0151 23456789", "06 12 34 56 78"), sometimes its digit
        groups joined by hyphens or run together.
        """
        base, tail = self._pick(region, kind)
        style = self._rng.choices(("national", "hyphen", "compact"), (70, 15, 15))[0]
        return with_tail(base.styles.get(style, base.styles["national"]), tail)

    @property
    def used(self) -> set[str]:
        """The numbers (E.164) drawn so far, to share with another maker."""
        return self._used

    def sms(self, region: str) -> str:
        """A mobile number in E.164, as Brevo's SMS attribute wants it."""
        base, tail = self._pick(region, MOBILE)
        return with_tail(base.styles["e164"], tail)


def bad_phone(rng: random.Random) -> str:
    """A phone with fewer than 6 or more than 16 digits (SPEC Y9), at most 40 characters."""
    if rng.random() < 0.5:
        return rng.choice(("12345", "0815", "112", "+49 123", "555-12", "Tel. 4711", "0-800"))
    count = rng.randint(MAX_DIGITS + 1, 24)
    digits = "".join(rng.choice("0123456789") for _ in range(count - 2))
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    return "+" + rng.choice(("49", "33", "44", "39")) + " " + " ".join(groups)
