"""What the rules return: rows for Brevo, updates for Salesforce, rejections, and the rule ids.

Rule ids in :attr:`Rejection.rule`:

- the SPEC's ids where a SPEC rule refused the record: ``Y3``, ``Y5``, ``Y6``, ``Y8``, ``Y9``,
  ``B4`` (a picklist value that is not an option of the Brevo category / multiple-choice);
- ``SF:<statusCode>`` where Salesforce would refuse the value with that status code
  (``SF:STRING_TOO_LONG``...), the same id the engine records when Salesforce itself refuses;
- the toolkit's own checks: ``EMAIL_INVALID``, ``PHONE_INVALID``, ``VALUE_INVALID``.
"""

from __future__ import annotations

from typing import Any, NamedTuple, NotRequired, TypedDict

from toolkit.brevo.contacts import EXT_ID
from toolkit.mapping.types import BLACKLIST_FLAGS, MappedField, Mapping
from toolkit.rules.rejection import Rejection

__all__ = [
    "BrevoContact",
    "BrevoRow",
    "CheckedRows",
    "CheckedUpdates",
    "LEAD_FIRST_NAME_MAX",
    "RULE_B4",
    "RULE_EMAIL_INVALID",
    "RULE_NUMBER_RANGE",
    "RULE_PHONE_INVALID",
    "RULE_REQUIRED",
    "RULE_RESTRICTED_PICKLIST",
    "RULE_STRING_TOO_LONG",
    "RULE_VALUE_INVALID",
    "RULE_Y3",
    "RULE_Y5",
    "RULE_Y6",
    "RULE_Y8",
    "RULE_Y9",
    "Refused",
    "Rejection",
    "SfRecord",
    "SfUpdate",
    "check_object",
    "field_words",
    "row_id",
    "value_text",
    "written_keys",
]

RULE_Y3 = "Y3"
RULE_Y5 = "Y5"
RULE_Y6 = "Y6"
RULE_Y8 = "Y8"
RULE_Y9 = "Y9"
RULE_B4 = "B4"
RULE_EMAIL_INVALID = "EMAIL_INVALID"
RULE_PHONE_INVALID = "PHONE_INVALID"
RULE_VALUE_INVALID = "VALUE_INVALID"
RULE_STRING_TOO_LONG = "SF:STRING_TOO_LONG"
RULE_REQUIRED = "SF:REQUIRED_FIELD_MISSING"
RULE_NUMBER_RANGE = "SF:NUMBER_OUTSIDE_VALID_RANGE"
RULE_RESTRICTED_PICKLIST = "SF:INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"

LEAD_FIRST_NAME_MAX = 40  # SPEC Y8

SfRecord = dict[str, Any]
"""A Salesforce record as the REST and Bulk APIs return it: field name -> JSON value.

Its fields are whatever the org's describe says (``Id``, the mapped and system fields), so it
stays a plain dict; the rules read it field by field."""

BrevoContact = dict[str, Any]
"""A Brevo contact as ``GET /v3/contacts`` returns it (``id``, ``email``, ``attributes``,
``listIds``, ``modifiedAt``...): the account's attributes decide its shape, so a plain dict."""

SfUpdate = dict[str, Any]
"""A Salesforce update for ``PATCH composite/sobjects``: ``{"Id": ..., field: value, ...}``."""


class Refused(Exception):
    """One value cannot be written: carries the rejection's rule and reason (raised and caught
    inside the rules, turned into a :class:`Rejection` of the record's field)."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


class BrevoRow(TypedDict):
    """One ``/contacts/import`` ``jsonBody`` row, keyed by the Salesforce Id (SPEC B5).

    An import item has only ``email`` and ``attributes`` (brevo-python 5.1.0
    ``ImportContactsRequestJsonBodyItem``): the Salesforce Id goes in as the attribute
    ``EXT_ID`` (:func:`row_id` reads it back).

    B8's blacklist flags (``emailBlacklisted``, ``smsBlacklisted``) ride along at the top level
    when the run syncs unsubscribes: the import leaves them out
    (:func:`~toolkit.brevo.imports.encode_row`), a batch update sets the ones that change.
    """

    email: NotRequired[str]
    attributes: dict[str, object]
    emailBlacklisted: NotRequired[bool]
    smsBlacklisted: NotRequired[bool]


class CheckedRows(NamedTuple):
    """What :func:`toolkit.rules.to_brevo` returns: the rows to import and the rejections.

    A named pair rather than a dataclass: every caller unpacks it (``rows, rejected = ...``).
    """

    rows: list[BrevoRow]
    rejections: list[Rejection]


class CheckedUpdates(NamedTuple):
    """What :func:`toolkit.rules.to_salesforce` returns: the updates to send and the rejections."""

    updates: list[SfUpdate]
    rejections: list[Rejection]


def row_id(row: BrevoRow) -> str:
    """The Salesforce Id a row of :func:`toolkit.rules.to_brevo` is keyed by (its ``EXT_ID``)."""
    return str(row["attributes"][EXT_ID])


def written_keys(row: BrevoRow) -> list[str]:
    """The synced attributes a row writes (``EMAIL`` for its e-mail, B8's blacklist flags by
    their name), without the ``EXT_ID`` key."""
    keys = [k for k in row["attributes"] if k != EXT_ID]
    if "email" in row:
        keys.append("EMAIL")
    if len(row) > 2 or "email" not in row:  # quick: a row without flags has email and attributes
        keys += [k for k in BLACKLIST_FLAGS if k in row]
    return keys


def value_text(value: Any) -> str | None:
    """A value as the audit stores it: text, ``None`` for empty."""
    if value is None:
        return None
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def field_words(obj: str, spec: MappedField) -> str:
    """``"Lead first name"``: the object and the field's label, as a sentence starts."""
    return f"{obj} {spec.label.lower()}"


def check_object(mapping: Mapping, obj: str | None) -> str:
    """The mapping's object; ``obj``, when given, must name the same one."""
    if obj is not None and obj.lower() != mapping.object.lower():
        raise ValueError(f"the mapping is for {mapping.object}, not {obj}")
    return mapping.object
