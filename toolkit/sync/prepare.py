"""Salesforce records prepared for Brevo's import: the rules, and what the engine needs of each row.

:func:`prepare` runs the rules (:func:`toolkit.rules.to_brevo`) and works out, for each row
that passed, its canonical values, once: the diff, the conflicts and the link reuse them.

Rows are not encoded here: most rows of a re-read are unchanged and never written, and a
batch's encodings are held only until its import is sent (see :mod:`.outbound`).
"""

from __future__ import annotations

from collections.abc import Mapping as MappingOf
from dataclasses import dataclass, field

from toolkit.mapping.types import Mapping
from toolkit.rules.base import BrevoRow, Rejection, SfRecord, written_keys
from toolkit.rules.hashing import CanonicalValues, brevo_values, canonical_hash, canonical_values

from .. import rules
from .diff import merged

__all__ = ["PreparedPage", "PreparedRow", "SyncedLink", "link_values", "prepare"]


@dataclass(frozen=True, slots=True)
class PreparedRow:
    """What the engine needs of one row besides the row itself.

    Attributes:
        values: the row's canonical values (:func:`~toolkit.rules.hashing.canonical_values`).
        encoded: the row as an import body holds it (:func:`~toolkit.brevo.imports.encode_row`),
            when known; :func:`prepare` leaves it ``None``: the engine encodes the rows it
            writes, as it packs them (:func:`toolkit.sync.outbound._page`).
    """

    values: CanonicalValues
    encoded: bytes | None = None


@dataclass(frozen=True, slots=True)
class PreparedPage:
    """A page of records through the rules (:func:`prepare`).

    Attributes:
        rows: one import row per record that passed, in page order.
        rejections: every rejection of the others (a record may have several).
        prepared: one :class:`PreparedRow` per row (same order).
    """

    rows: list[BrevoRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    prepared: list[PreparedRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SyncedLink:
    """What a link holds once a row is written: the synced values and their hash.

    Attributes:
        values: canonical values keyed by Brevo attribute (the link's ``synced``).
        hash: :func:`~toolkit.rules.hashing.canonical_hash` of ``values`` (both sides' hash).
    """

    values: CanonicalValues
    hash: str


def link_values(row: BrevoRow, values: CanonicalValues, synced: MappingOf[str, object] | None) -> SyncedLink:
    """A link's synced values and hash once ``row`` (canonical ``values``) is written over ``synced``.

    Only the fields still in the row are taken from ``values``; the others keep their synced value.
    """
    merged_values = merged(synced, values, written_keys(row))
    if merged_values == values:
        merged_values = values  # the same dict: held once while the batch is in flight
    return SyncedLink(merged_values, canonical_hash(merged_values))


def prepare(
    records: list[SfRecord],
    mapping: Mapping,
    *,
    object: str | None = None,
    default_region: str | None = None,
) -> PreparedPage:
    """:func:`toolkit.rules.to_brevo`, plus one :class:`PreparedRow` per row (same order)."""
    rows, rejected = rules.to_brevo(records, mapping, object=object, default_region=default_region)
    prepared = [
        PreparedRow(_shared(canonical_values(brevo_values(row, mapping), mapping), row)) for row in rows
    ]
    return PreparedPage(rows, rejected, prepared)


def _shared(values: CanonicalValues, row: BrevoRow) -> CanonicalValues:
    """``values``, each text equal to the row's own value replaced by that same object.

    Normalising makes new texts (the e-mail lower-cased, a number in E.164 again) that are
    mostly equal to the row's: a row and its values are held together until its batch is
    committed, so each such text is held once instead of twice. Nothing compares otherwise.
    """
    attributes = row["attributes"]
    for key, value in values.items():
        if isinstance(value, str):
            own = row.get("email") if key == "EMAIL" else attributes.get(key)
            if own is not value and own == value:
                values[key] = own
    return values
