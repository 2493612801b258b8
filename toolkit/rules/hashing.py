"""A stable hash of a record's mapped values, equal for the same logical values on either side.

The engine stores the last synced hash per side to see what changed since, and to recognise
its own writes coming back (echoes). Values are normalised first: text trimmed, ``None``,
``""`` and absent all alike, dates as ``YYYY-MM-DD``, numbers canonical (``10 == 10.0``),
phones as E.164, e-mails and category labels in lower case, multi-values sorted.

Hash what the rules produced or what Brevo holds: :func:`brevo_values` of a row from
``to_brevo`` or of a contact from ``GET /contacts``, :func:`salesforce_values` of an update
from ``to_salesforce``. A raw Salesforce phone in national form (``030 1234567``) cannot be
put in E.164 without its record's country: hash the row ``to_brevo`` made from it instead.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping as MappingOf
from datetime import date
from typing import Any

from toolkit.mapping.types import (
    BLACKLIST,
    BOOLEAN,
    CATEGORY,
    DATE,
    EMAIL,
    FLOAT,
    MULTIPLE_CHOICE,
    SMS,
    MappedField,
    Mapping,
)
from toolkit.rules.base import BrevoContact, BrevoRow, SfRecord
from toolkit.rules.values import as_number, is_empty, utc_day

__all__ = [
    "CanonicalValues",
    "brevo_values",
    "canonical_hash",
    "canonical_values",
    "record_hash",
    "salesforce_values",
    "source_hash",
]

CanonicalValues = dict[str, object]
"""Synced values in canonical form (:func:`canonical_values`), keyed by upper-case Brevo attribute.

Each value is JSON: text, a number, a boolean or a sorted list of text; an empty value is absent
(so is a B8 blacklist flag that is not set).
What a link keeps as ``synced`` and what the engine diffs field by field."""

_NOT_DIGITS = re.compile(r"\D")
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BOOLEAN_WORDS = {"true": True, "false": False}
# What json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds per call.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _generic(value: Any) -> Any:
    """Normalise a value whose kind is not known."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return as_number(value)
    if isinstance(value, date):
        return utc_day(value)
    if isinstance(value, (list, tuple)):
        items = [_generic(v) for v in value if not is_empty(v)]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True)) or None
    text = str(value).strip()
    if _EMAIL_SHAPE.match(text):
        return text.lower()  # an e-mail address: Brevo lower-cases them
    return text


def _normalise(value: Any, kind: str | None, spec: MappedField | None) -> Any:
    if kind == BLACKLIST:
        # B8: blacklisted or not; "not" is absent, like a flag never synced, so that switching B8
        # on changes no link's hash and an unknown past never re-subscribes anyone.
        flag = _BOOLEAN_WORDS.get(value.strip().lower()) if isinstance(value, str) else bool(value)
        return True if flag else None
    if kind == BOOLEAN:
        if isinstance(value, str):
            return _BOOLEAN_WORDS.get(value.strip().lower(), value.strip())
        return bool(value)  # None == False: a checkbox is never null in Salesforce
    if is_empty(value):
        return None
    if kind == EMAIL:
        return str(value).strip().lower()
    if kind == SMS:
        text = str(value).strip()
        if text[:1] == "+" and text[1:].isascii() and text[1:].isdigit():
            return text  # E.164 already (what to_brevo sends): the digits after "+" as they are
        digits = _NOT_DIGITS.sub("", text)
        return "+" + (digits[2:] if text.startswith("00") else digits)
    if kind == DATE:
        return utc_day(value) or str(value).strip()
    if kind == FLOAT:
        number = as_number(value)
        return number if number is not None else str(value).strip()
    if kind == CATEGORY:
        if isinstance(value, int) and spec is not None and value in spec.option_ids:
            value = spec.options[spec.option_ids.index(value)]
        return str(value).strip().casefold()
    if kind == MULTIPLE_CHOICE:
        items = value if isinstance(value, (list, tuple)) else str(value).split(";")
        return sorted({str(i).strip().casefold() for i in items if str(i).strip()}) or None
    if kind is not None:  # text
        return value.strip() if isinstance(value, str) else str(_generic(value))
    return _generic(value)


_SPECS: dict[int, tuple[Mapping, tuple[MappedField, ...], dict[str, MappedField]]] = {}


def _specs(mapping: Mapping) -> tuple[tuple[MappedField, ...], dict[str, MappedField]]:
    """The mapping's synced pairs and their index by attribute and field name (upper case).

    Worked out once per mapping object: the engine asks for them for every record.
    """
    cached = _SPECS.get(id(mapping))
    if cached is not None and cached[0] is mapping:
        return cached[1], cached[2]
    specs = tuple(mapping.synced())
    by_name: dict[str, MappedField] = {}
    for spec in specs:
        by_name[spec.brevo_attribute.upper()] = spec
        by_name.setdefault(spec.sf_field.upper(), spec)
    if len(_SPECS) > 256:
        _SPECS.clear()
    _SPECS[id(mapping)] = (mapping, specs, by_name)
    return specs, by_name


def canonical_values(values: MappingOf[str, object], mapping: Mapping | None = None) -> CanonicalValues:
    """The normalised values the hash is taken of, keyed by upper-case Brevo attribute name.

    Args:
        values: Brevo attribute name (or, with ``mapping``, Salesforce field name) -> value.
        mapping: when given, each value is normalised by its pair's kind and Salesforce field
            names are translated to their attribute.
    """
    by_name = _specs(mapping)[1] if mapping is not None else {}
    out: CanonicalValues = {}
    for key, value in values.items():
        spec = by_name.get(str(key).upper())
        name = spec.brevo_attribute if spec is not None else str(key).upper()
        normalised = _normalise(value, spec.kind if spec is not None else None, spec)
        if normalised is not None:
            out[name] = normalised
    return out


def record_hash(values: MappingOf[str, object], mapping: Mapping | None = None) -> str:
    """sha256 (hex) of the canonical JSON of :func:`canonical_values`."""
    return canonical_hash(canonical_values(values, mapping))


def canonical_hash(canonical: MappingOf[str, object]) -> str:
    """sha256 (hex) of values that are canonical already (:func:`canonical_values`' output)."""
    return hashlib.sha256(_CANONICAL_JSON.encode(canonical).encode("utf-8")).hexdigest()


def brevo_values(item: BrevoRow | BrevoContact, mapping: Mapping) -> dict[str, object]:
    """The synced attributes of a Brevo row (``to_brevo``) or contact (``GET /contacts``).

    B8's blacklist flags are read from the top level, where both carry them.
    """
    attributes: MappingOf[str, object] = item.get("attributes") or {}
    out: dict[str, object] = {}
    for spec in _specs(mapping)[0]:
        if spec.kind == BLACKLIST:
            out[spec.brevo_attribute] = item.get(spec.brevo_attribute)
        elif spec.brevo_attribute == "EMAIL":
            out["EMAIL"] = item.get("email") or attributes.get("EMAIL")
        else:
            out[spec.brevo_attribute] = attributes.get(spec.brevo_attribute)
    return out


def salesforce_values(record: SfRecord, mapping: Mapping) -> dict[str, object]:
    """The synced fields of a Salesforce record or update, keyed by their Brevo attribute."""
    return {spec.brevo_attribute: record.get(spec.sf_field) for spec in _specs(mapping)[0]}


def source_hash(record: SfRecord, mapping: Mapping) -> str:
    """What a rejection of a Salesforce record is about: its mapped and country fields, hashed.

    The one "data changed" test of the engine (A3): a rejected record is tried again when this
    changes. System fields (``SystemModstamp``, whose form varies between the REST and Bulk APIs)
    and fields the mapping does not read do not count.
    """
    return record_hash({name: record.get(name) for name in mapping.soql_fields})
