"""Salesforce records prepared for Brevo's import: the rules, and what the engine needs of each row.

:func:`prepare` runs the rules (:func:`toolkit.rules.to_brevo`) and works out, for each row
that passed, its canonical values, the row encoded as an import body holds it, and the link a
new contact gets, once: packing imports, sending them and committing the links reuse them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toolkit.mapping.types import Mapping
from toolkit.rules.base import BrevoRow, Rejection, written_keys
from toolkit.rules.hashing import brevo_values, canonical_hash, canonical_values

from .. import rules
from ..brevo.imports import encode_row
from .diff import merged

__all__ = ["Prepared", "link_values", "prepare"]


@dataclass(frozen=True)
class Prepared:
    """What the engine needs of one row besides the row itself.

    Attributes:
        values: the row's canonical values (:func:`~toolkit.rules.hashing.canonical_values`).
        encoded: the row as an import body holds it (:func:`~toolkit.brevo.imports.encode_row`).
        new_link: synced values and their hash for a link made by writing the row as it is.
    """

    values: dict[str, Any]
    encoded: bytes
    new_link: tuple[dict[str, Any], str]


Result = tuple[list[BrevoRow], list[Rejection], list[Prepared]]


def link_values(
    row: BrevoRow, values: dict[str, Any], synced: dict[str, Any] | None
) -> tuple[dict[str, Any], str]:
    """A link's synced values and hash once ``row`` (canonical ``values``) is written over ``synced``.

    Only the fields still in the row are taken from ``values``; the others keep their synced value.
    """
    merged_values = merged(synced, values, written_keys(row))
    if merged_values == values:
        merged_values = values  # the same dict: held once while the batch is in flight
    return merged_values, canonical_hash(merged_values)


def prepare(
    records: list[dict[str, Any]],
    mapping: Mapping,
    *,
    object: str | None = None,
    default_region: str | None = None,
) -> Result:
    """:func:`toolkit.rules.to_brevo`, plus one :class:`Prepared` per row (same order)."""
    rows, rejected = rules.to_brevo(records, mapping, object=object, default_region=default_region)
    prepared = []
    for row in rows:
        values = canonical_values(brevo_values(row, mapping), mapping)
        prepared.append(Prepared(values, encode_row(row), link_values(row, values, None)))
    return rows, rejected, prepared
