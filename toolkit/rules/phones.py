"""E.164 for phone numbers written plainly, with the answers of phonenumbers but not its cost.

``phonenumbers.parse`` plus ``is_valid_number`` take about 30 µs a number, most of it in steps
that plain text does not need (extensions, letters, RFC 3966, Unicode digits) and in looking up
and matching the same regular expressions again for every number. :func:`plain_e164` answers
for numbers written with ASCII digits, the separators ``space - . / ( )`` and at most one
leading ``+`` (``+49 30 1234567``, ``030/1234567``, ``(201) 555-0123``, ``06.12.34.56.78``),
by running the steps ``parse`` runs on such text over phonenumbers' own metadata
(:class:`phonenumbers.PhoneMetadata`: national prefix, possible lengths, number patterns),
compiled once per region. Anything else it leaves to phonenumbers (:data:`NOT_PLAIN`).

Why plain text needs no other step of ``parse`` (``phonenumbers/phonenumberutil.py``):
``_build_national_number_for_parsing`` finds no ``;phone-context=`` or ``;isub=`` and no second
number (``/ x``); ``_extract_possible_number`` only drops separators around the digits;
``_is_viable_phone_number`` holds for three digits or more among valid punctuation; each
pattern of ``_maybe_strip_extension`` needs a letter, ``#``, ``~``, ``,`` or ``;``; and with no
letter ``_normalize`` keeps the digits alone. The steps that remain are written below after
``parse``, ``_maybe_extract_country_code``, ``_maybe_strip_national_prefix_carrier_code``,
``_test_number_length``, ``is_valid_number`` and ``_number_type_helper``, in their order and with
their conditions. ``tests/rules/test_phones.py`` compares both ways on the sandbox's numbers
and on random text for every region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, Final, Literal

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, SUPPORTED_REGIONS, PhoneMetadata, ValidationResult

__all__ = ["NOT_PLAIN", "NotPlain", "parsed_e164", "plain_e164"]


class NotPlain(Enum):
    """What :func:`plain_e164` answers for text it leaves to phonenumbers."""

    NOT_PLAIN = "not plain"


NOT_PLAIN: Final = NotPlain.NOT_PLAIN

_PLAIN: Final = re.compile(r"\+?[0-9 ()./-]*")
_SEPARATORS: Final = str.maketrans("", "", "+ ()./-")
_MAX_INPUT: Final = 250  # phonenumberutil._MAX_INPUT_STRING_LENGTH
_MIN_NSN: Final = 2  # _MIN_LENGTH_FOR_NSN
_MAX_NSN: Final = 17  # _MAX_LENGTH_FOR_NSN
_MAX_COUNTRY_CODE: Final = 3  # _MAX_LENGTH_COUNTRY_CODE
_NON_GEO: Final = "001"  # REGION_CODE_FOR_NON_GEO_ENTITY
_SHORT: Final = (
    ValidationResult.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ValidationResult.INVALID_LENGTH,
)

_Typed = tuple[re.Pattern[str], re.Pattern[str]]
"""For one length of national number: the general desc's pattern and the alternation of the
patterns of the number types (``_number_type_helper``) that have numbers of that length."""


def _pattern(desc: Any, size: int) -> str | None:
    """``desc``'s pattern if ``_is_number_matching_desc`` may match a number of ``size`` digits."""
    if desc is None or not desc.national_number_pattern:
        return None  # _match_national_number: no pattern never matches
    lengths = desc.possible_length
    return desc.national_number_pattern if not lengths or size in lengths else None


def _typed(metadata: Any, size: int) -> _Typed | None:
    """What ``_number_type_helper`` matches a national number of ``size`` digits with, or ``None``.

    It answers a type other than UNKNOWN where the general desc and one of the types match:
    premium rate, toll free, shared cost, VoIP, personal number, pager, UAN, voicemail, fixed
    line, and mobile unless ``same_mobile_and_fixed_line_pattern`` (then fixed line decides).
    """
    general = _pattern(metadata.general_desc, size)
    mobile = () if metadata.same_mobile_and_fixed_line_pattern else (metadata.mobile,)
    descs = (
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
        *mobile,
    )
    types = [p for p in (_pattern(d, size) for d in descs) if p is not None]
    if general is None or not types:
        return None
    return re.compile(general), re.compile("|".join(f"(?:{p})" for p in types))


@dataclass(frozen=True, slots=True)
class _Region:
    """What parsing and validation read of one region's :class:`~phonenumbers.PhoneMetadata`."""

    country_code: int
    general: re.Pattern[str] | None  # general_desc.national_number_pattern
    lengths: tuple[int, ...]  # general_desc.possible_length
    local_lengths: tuple[int, ...]  # general_desc.possible_length_local_only
    idd: re.Pattern[str]  # international_prefix ("NonMatch" when there is none)
    national_prefix: re.Pattern[str] | None  # national_prefix_for_parsing
    transform: str | None  # national_prefix_transform_rule
    typed: tuple[_Typed | None, ...]  # by length of national number (0 to 17)
    leading: re.Pattern[str] | None  # leading_digits

    @classmethod
    def of(cls, metadata: Any) -> _Region:
        general = metadata.general_desc
        prefix = metadata.national_prefix_for_parsing
        idd = metadata.international_prefix
        return cls(
            country_code=metadata.country_code,
            general=re.compile(general.national_number_pattern) if general.national_number_pattern else None,
            lengths=tuple(general.possible_length),
            local_lengths=tuple(general.possible_length_local_only),
            idd=re.compile(idd if idd is not None else "NonMatch"),
            national_prefix=re.compile(prefix) if prefix else None,
            transform=metadata.national_prefix_transform_rule,
            typed=tuple(_typed(metadata, size) for size in range(_MAX_NSN + 1)),
            leading=re.compile(metadata.leading_digits) if metadata.leading_digits is not None else None,
        )

    def viable(self, number: str) -> bool:
        """``_match_national_number(number, general_desc, False)``: the whole general pattern."""
        return self.general is not None and self.general.fullmatch(number) is not None

    def length(self, number: str) -> int:
        """``_test_number_length(number, metadata)`` (type unknown: the general desc's lengths)."""
        size = len(number)
        if size in self.local_lengths:
            return ValidationResult.IS_POSSIBLE_LOCAL_ONLY
        if self.lengths[0] == size:
            return ValidationResult.IS_POSSIBLE
        if self.lengths[0] > size:
            return ValidationResult.TOO_SHORT
        if self.lengths[-1] < size:
            return ValidationResult.TOO_LONG
        return ValidationResult.IS_POSSIBLE if size in self.lengths[1:] else ValidationResult.INVALID_LENGTH

    def without_national_prefix(self, number: str) -> str:
        """``_maybe_strip_national_prefix_carrier_code(number, metadata)[1]``."""
        if not number or self.national_prefix is None:
            return number
        match = self.national_prefix.match(number)
        if not match:
            return number
        viable = self.viable(number)
        groups = match.groups()
        if not self.transform or groups[len(groups) - 1] is None:
            rest = number[match.end() :]
            return number if viable and not self.viable(rest) else rest
        transformed = self.national_prefix.sub(self.transform, number, count=1)
        return number if viable and not self.viable(transformed) else transformed

    def has_type(self, nsn: str) -> bool:
        """``_number_type_helper(nsn, metadata) != PhoneNumberType.UNKNOWN``."""
        typed = self.typed[len(nsn)] if len(nsn) < len(self.typed) else None
        return (
            typed is not None and typed[0].fullmatch(nsn) is not None and typed[1].fullmatch(nsn) is not None
        )


@cache
def _region(region: str, country_code: int = 0) -> _Region | None:
    """``PhoneMetadata.metadata_for_region_or_calling_code`` compiled (``country_code``: for ``"001"`` only)."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    return None if metadata is None else _Region.of(metadata)


def _country_code(digits: str) -> tuple[int, str]:
    """``_extract_country_code``: the calling code the digits start with and the rest, or ``(0, digits)``."""
    if not digits or digits[0] == "0":
        return 0, digits
    for size in range(1, min(len(digits), _MAX_COUNTRY_CODE) + 1):
        if int(digits[:size]) in COUNTRY_CODE_TO_REGION_CODE:
            return int(digits[:size]), digits[size:]
    return 0, digits


def _valid(country_code: int, nsn: str) -> bool:
    """``is_valid_number``: the number's region (``region_code_for_number``), then its types."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if regions is None:
        return False
    chosen: str | None = regions[0]
    if len(regions) > 1:  # _region_code_for_number_from_list
        chosen = None
        for code in regions:
            candidate = _region(code)
            if candidate is None:
                continue
            if candidate.leading is not None:
                if candidate.leading.match(nsn):
                    chosen = code
                    break
            elif candidate.has_type(nsn):
                chosen = code
                break
    if chosen is None:  # is_valid_number_for_region
        return False
    region = _region(chosen, country_code if chosen == _NON_GEO else 0)
    if region is None or (chosen != _NON_GEO and country_code != region.country_code):
        return False
    return region.has_type(nsn)


def _finish(country_code: int, national: str, region: _Region) -> str | None:
    """The end of ``parse`` (national prefix, lengths), then ``is_valid_number`` and the E.164 form.

    The national significant number is ``national`` itself: ``parse`` keeps its leading zeros
    (``italian_leading_zero``, ``number_of_leading_zeros``) and ``national_significant_number``
    puts them back.
    """
    if len(national) < _MIN_NSN:
        return None  # TOO_SHORT_NSN
    stripped = region.without_national_prefix(national)
    if region.length(stripped) not in _SHORT:
        national = stripped
    if not _MIN_NSN <= len(national) <= _MAX_NSN:
        return None  # TOO_SHORT_NSN, TOO_LONG
    return f"+{country_code}{national}" if _valid(country_code, national) else None


def _international(country_code: int, national: str) -> str | None:
    """``parse`` once a calling code was read: the metadata of the code's main region."""
    main = COUNTRY_CODE_TO_REGION_CODE[country_code][0]
    region = _region(main, country_code if main == _NON_GEO else 0)
    assert region is not None  # parse: "Metadata cannot be None because the country calling code is valid."
    return _finish(country_code, national, region)


def plain_e164(text: str, region: str | None) -> str | Literal[NotPlain.NOT_PLAIN] | None:
    """``text`` as phonenumbers would give it in E.164 (``None``: not valid), or :data:`NOT_PLAIN`.

    Exactly ``format_number(parse(text, region), E164)`` when ``is_valid_number`` holds, else
    ``None`` (also where ``parse`` raises ``NumberParseException``), for the plain text this
    module describes; :data:`NOT_PLAIN` for any other text, for fewer than three digits and
    for a region phonenumbers does not support.

    Args:
        text: the number as written, already stripped (``+49 30 1234567``, ``030 1234567``).
        region: ISO region for a number written without its country code, or ``None``.
    """
    if len(text) > _MAX_INPUT or not _PLAIN.fullmatch(text):
        return NOT_PLAIN
    digits = text.translate(_SEPARATORS)
    if len(digits) < 3:
        return NOT_PLAIN
    if text[0] == "+":  # _maybe_strip_i18n_prefix_and_normalize: FROM_NUMBER_WITH_PLUS_SIGN
        country_code, national = _country_code(digits)
        if country_code == 0 or not (region is None or region in SUPPORTED_REGIONS):
            return NOT_PLAIN  # parse tries again without the "+"; or an odd region ("001")
        return _international(country_code, national)
    if region is None or region not in SUPPORTED_REGIONS:
        return None  # _check_region_for_parsing: "Missing or invalid default region."
    home = _region(region)
    assert home is not None  # a supported region has metadata
    idd = home.idd.match(digits)
    if idd and not digits.startswith("0", idd.end()):  # _parse_prefix_as_idd: FROM_NUMBER_WITH_IDD
        rest = digits[idd.end() :]
        if len(rest) <= _MIN_NSN:
            return None  # TOO_SHORT_AFTER_IDD
        country_code, national = _country_code(rest)
        return None if country_code == 0 else _international(country_code, national)
    code = str(home.country_code)
    if digits.startswith(code):  # the region's own calling code, without "+" or IDD
        national = home.without_national_prefix(digits[len(code) :])
        if (not home.viable(digits) and home.viable(national)) or home.length(
            digits
        ) == ValidationResult.TOO_LONG:
            return _international(home.country_code, national)
    return _finish(home.country_code, digits, home)


def parsed_e164(text: str, region: str | None) -> str | None:
    """``text`` in E.164 by ``phonenumbers.parse`` and ``is_valid_number``, or ``None`` if not valid."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
