"""Phone numbers to E.164 (SPEC Y9's numbers and the SMS rule PHONE_INVALID): the shorter way for
plainly written numbers (:mod:`toolkit.rules.phones`) answers exactly what phonenumbers answers.

Each test compares :func:`toolkit.rules.values.to_e164` with :func:`_reference`, the plain
phonenumbers path (``parse``, ``is_valid_number``, ``format_number(E164)``) written out here.
"""

from __future__ import annotations

import random

import phonenumbers
import pytest

from toolkit.mapping.types import COUNTRY_FIELDS
from toolkit.rules.phones import NOT_PLAIN, plain_e164
from toolkit.rules.values import (
    PHONE_MAX_DIGITS,
    PHONE_MIN_DIGITS,
    digit_count,
    international_e164,
    region_for,
    to_e164,
)
from toolkit.sandbox.datagen import NO_COUNTRY_REGION, generate

_uncached = to_e164.__wrapped__  # the cache would hide the path taken


def _reference(text: str, region: str | None) -> str | None:
    """What ``to_e164`` answered before :mod:`toolkit.rules.phones`: phonenumbers alone."""
    candidate = text.strip()
    if region is None and candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _plain(text: str, region: str | None) -> bool:
    """Whether ``to_e164`` answers ``text`` without phonenumbers' parse."""
    candidate = text.strip()
    if region is None and candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    return plain_e164(candidate, region) is not NOT_PLAIN


# (text, region, E.164 or None, taken the plain way)
TABLE = [
    # Germany: national forms with and without the national prefix, international, separators
    ("030 1234567", "DE", "+49301234567", True),
    ("030/1234567", "DE", "+49301234567", True),
    ("(030) 123 45 67", "DE", "+49301234567", True),
    ("030-123-4567", "DE", "+49301234567", True),
    ("030.123.4567", "DE", "+49301234567", True),
    ("0151 23456789", "DE", "+4915123456789", True),
    ("151 23456789", "DE", "+4915123456789", True),
    ("+49 30 1234567", "DE", "+49301234567", True),
    ("+49 (0)30 1234567", "DE", "+49301234567", True),
    ("0049 30 1234567", "DE", "+49301234567", True),
    ("49 30 1234567", "DE", "+49301234567", True),
    ("+4930 1234567", None, "+49301234567", True),
    ("004930 1234567", None, "+49301234567", True),
    ("030 1234567", None, None, True),
    ("0000 000000", "DE", None, True),
    ("030 12", "DE", None, True),
    ("030 1234567890123456789", "DE", None, True),
    ("+49 30 1234567 ext. 12", "DE", "+49301234567", False),
    ("030 1234567 x12", "DE", "+49301234567", False),
    ("030 1234567#12", "DE", "+49301234567", False),
    ("030-CALL-NOW", "DE", "+49302255669", False),  # letters on the keypad
    ("+49 ３０ 1234567", "DE", "+49301234567", False),
    ("٠٣٠ ١٢٣٤٥٦٧", "DE", "+49301234567", False),
    ("++49 30 1234567", "DE", "+49301234567", False),
    ("tel:+49-30-1234567", "DE", "+49301234567", False),
    ("Tel. 030 1234567", "DE", "+49301234567", False),
    ("", "DE", None, False),
    ("   ", "DE", None, False),
    ("+", None, None, False),
    ("12", "DE", None, False),
    ("+0 30 1234567", "DE", None, False),
    ("+999 1234567", None, None, False),
    ("1" * 300, "DE", None, False),
    ("0" * 20, "DE", None, True),
    # France
    ("01 23 45 67 89", "FR", "+33123456789", True),
    ("06.12.34.56.78", "FR", "+33612345678", True),
    ("6 12 34 56 78", "FR", "+33612345678", True),
    ("+33 6 12 34 56 78", "FR", "+33612345678", True),
    ("0033 6 12 34 56 78", "FR", "+33612345678", True),
    ("33 6 12 34 56 78", "FR", "+33612345678", True),
    # United Kingdom and its Crown dependencies (one calling code, several regions)
    ("020 7946 0018", "GB", "+442079460018", True),
    ("(020) 7946 0018", "GB", "+442079460018", True),
    ("07911 123456", "GB", "+447911123456", True),
    ("7911 123456", "GB", "+447911123456", True),
    ("+44 (0)20 7946 0018", "DE", "+442079460018", True),
    ("+44 1624 756789", None, "+441624756789", True),  # Isle of Man
    ("01624 756789", "GB", "+441624756789", True),
    ("01624 456789", "GB", None, True),
    # United States and NANPA
    ("(201) 555-0123", "US", "+12015550123", True),
    ("201-555-0123", "US", "+12015550123", True),
    ("1 201 555 0123", "US", "+12015550123", True),
    ("+1 201 555 0123", None, "+12015550123", True),
    ("+1 268 464 1234", None, "+12684641234", True),
    ("011 49 30 1234567", "US", "+49301234567", True),
    ("555-0123", "US", None, True),
    ("1-800-FLOWERS", "US", "+18003569377", False),
    ("201.555.0123 ext 5", "US", "+12015550123", False),
    # Austria, Switzerland
    ("01 5123456", "AT", "+4315123456", True),
    ("0664 1234567", "AT", "+436641234567", True),
    ("+43 664 1234567", "AT", "+436641234567", True),
    ("044 668 18 00", "CH", "+41446681800", True),
    ("+41 (0) 78 927 2696", "CH", "+41789272696", True),
    ("0041 78 927 2696", "CH", "+41789272696", True),
    # Italy: the leading zero of fixed lines belongs to the number
    ("06 6982 1234", "IT", "+390669821234", True),
    ("+39 06 6982 1234", "DE", "+390669821234", True),
    ("333 123 4567", "IT", "+393331234567", True),
    ("0039 333 1234567", "IT", "+393331234567", True),
    # Spain, the Netherlands, Belgium
    ("912 345 678", "ES", "+34912345678", True),
    ("612 34 56 78", "ES", "+34612345678", True),
    ("+34 612 345 678", "ES", "+34612345678", True),
    ("020 123 4567", "NL", "+31201234567", True),
    ("06 12345678", "NL", "+31612345678", True),
    ("+31 6 12345678", "NL", "+31612345678", True),
    ("012 34 56 78", "BE", "+3212345678", True),
    ("02 123 45 67", "BE", None, True),
    ("0470 12 34 56", "BE", "+32470123456", True),
    ("+32 470 12 34 56", "BE", "+32470123456", True),
    # A national prefix transformed (Argentina's mobile "15"), non-geographic numbers, odd regions
    ("011 15-2345-6789", "AR", "+5491123456789", True),
    ("+800 1234 5678", None, "+80012345678", True),
    ("+800 1234 5678", "001", "+80012345678", False),
    ("+49 30 1234567", "XX", "+49301234567", False),
    ("030 1234567", "XX", None, True),
    ("030 1234567", "de", None, True),
]


@pytest.mark.parametrize(("text", "region", "e164", "plain"), TABLE)
def test_y9_phone_table_as_phonenumbers_answers(
    text: str, region: str | None, e164: str | None, plain: bool
) -> None:
    assert _uncached(text, region) == _reference(text, region) == e164
    assert _plain(text, region) is plain


def _sandbox_phones(seed: int) -> list[tuple[str, str | None]]:
    """Every phone number of a generated data set, with the region ``to_brevo`` parses it for."""
    data = generate(contacts=1500, leads=700, seed=seed)
    cases: list[tuple[str, str | None]] = []
    for obj, records in (("Contact", data.contacts), ("Lead", data.leads)):
        for record in records:
            region = region_for(record.fields, COUNTRY_FIELDS[obj], None)
            for name in ("Phone", "MobilePhone"):
                value = record.fields.get(name)
                if isinstance(value, str) and value.strip():
                    cases += [(value, region), (value, region or NO_COUNTRY_REGION), (value, None)]
    cases += [(str(c["attributes"]["SMS"]), None) for c in data.brevo_only if "SMS" in c["attributes"]]
    return cases


@pytest.mark.parametrize("seed", [0, 7, 17])
def test_y9_sandbox_phones_as_phonenumbers_answers(seed: int) -> None:
    cases = _sandbox_phones(seed)
    assert len(cases) > 5000
    assert [_uncached(t, r) for t, r in cases] == [_reference(t, r) for t, r in cases]
    # The shorter way is taken for every number Y9 lets through: what makes the initial sync cheaper.
    assert all(_plain(t, r) for t, r in cases if PHONE_MIN_DIGITS <= digit_count(t) <= PHONE_MAX_DIGITS)
    # Brevo's SMS numbers (E.164 already) are read back the same way (B5's contacts, Y1).
    sms = [t for t, r in cases if r is None and t.startswith("+")]
    assert [international_e164(t) for t in sms] == [_reference(t, None) for t in sms]


def _random_text(rng: random.Random, region: str) -> str:
    """A number of ``region`` as people might write it, right or wrong: prefixes, digits, separators."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None
    code = str(metadata.country_code)
    example = phonenumbers.example_number_for_type(
        region, rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    )
    if example is not None and rng.random() < 0.7:
        nsn = phonenumbers.national_significant_number(example)
        nsn = "".join(d if rng.random() > 0.15 else rng.choice("0123456789") for d in nsn)
        nsn = nsn[: rng.randint(len(nsn) - 2, len(nsn) + 1)] + rng.choice(["", "0", "12"])
    else:
        nsn = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 16)))
    prefix = rng.choice(
        ["", "", "+" + code, "00" + code, code, metadata.national_prefix or "0", "0", "+", "+0", "011" + code]
    )
    chars: list[str] = []
    for ch in prefix + nsn:
        chars.append(ch)
        if rng.random() < 0.25:
            chars.append(rng.choice([" ", " ", "-", ".", "/", "(", ")", " (0) "]))
    if rng.random() < 0.05:  # now and then, text only phonenumbers' parse reads
        chars.insert(rng.randint(0, len(chars)), rng.choice(["x", "ext. 12", "#", "A", "３", "٣", "+", ";"]))
    return "".join(chars)


def test_y9_random_text_of_every_region_as_phonenumbers_answers() -> None:
    rng = random.Random(17)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    cases = [
        (_random_text(rng, region), rng.choice([region, region, None, "DE"]))
        for region in regions
        for _ in range(16)
    ]
    assert [_uncached(t, r) for t, r in cases] == [_reference(t, r) for t, r in cases]
    assert sum(_plain(t, r) for t, r in cases) > 0.8 * len(cases)
    assert sum(_reference(t, r) is not None for t, r in cases) > 0.1 * len(cases)  # valid ones too


def test_y9_example_numbers_of_every_type_in_every_format_as_phonenumbers_answers() -> None:
    """phonenumbers' example numbers, one digit changed or not, written as phonenumbers writes
    them: national, international, E.164, and as dialled from another region (its IDD)."""
    rng = random.Random(9)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    formats = (
        phonenumbers.PhoneNumberFormat.NATIONAL,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.E164,
    )
    cases = []
    for region in regions:
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            number = phonenumbers.PhoneNumber()
            number.merge_from(example)
            if rng.random() < 0.5:
                digits = str(number.national_number)
                at = rng.randrange(len(digits))
                number.national_number = int(digits[:at] + rng.choice("0123456789") + digits[at + 1 :])
            if rng.random() < 0.25:
                text = phonenumbers.format_out_of_country_calling_number(number, rng.choice(regions))
            else:
                text = phonenumbers.format_number(number, rng.choice(formats))
            cases += [(text, region), (text, rng.choice(regions)), (text, None)]
    assert len(cases) > 4000
    assert [_uncached(t, r) for t, r in cases] == [_reference(t, r) for t, r in cases]
    assert sum(_plain(t, r) for t, r in cases) > 0.95 * len(cases)
