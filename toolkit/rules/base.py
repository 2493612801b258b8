"""What the rules return: rows for Brevo, updates for Salesforce, rejections, and the rule ids.

Rule ids in :attr:`Rejection.rule`:

- the SPEC's ids where a SPEC rule refused the record: ``Y3``, ``Y5``, ``Y6``, ``Y8``, ``Y9``,
  ``B4`` (a picklist value that is not an option of the Brevo category / multiple-choice);
- ``SF:<statusCode>`` where Salesforce would refuse the value with that status code
  (``SF:STRING_TOO_LONG``...), the same id the engine records when Salesforce itself refuses;
- the toolkit's own checks: ``EMAIL_INVALID``, ``PHONE_INVALID``, ``VALUE_INVALID``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from toolkit.brevo.contacts import EXT_ID
from toolkit.mapping.types import MappedField, Mapping

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

#: A Salesforce update for ``PATCH composite/sobjects``: ``{"Id": ..., field: value, ...}``.
SfUpdate = dict[str, Any]


class BrevoRow(TypedDict):
    """One ``/contacts/import`` ``jsonBody`` row, keyed by the Salesforce Id (SPEC B5).

    An import item has only ``email`` and ``attributes`` (brevo-python 5.1.0
    ``ImportContactsRequestJsonBodyItem``): the Salesforce Id goes in as the attribute
    ``EXT_ID`` (:func:`row_id` reads it back).
    """

    email: NotRequired[str]
    attributes: dict[str, Any]


def row_id(row: BrevoRow | dict[str, Any]) -> str:
    """The Salesforce Id a row of :func:`toolkit.rules.to_brevo` is keyed by (its ``EXT_ID``)."""
    return str(row["attributes"][EXT_ID])


def written_keys(row: BrevoRow | dict[str, Any]) -> list[str]:
    """The synced attributes a row writes (``EMAIL`` for its e-mail), without the ``EXT_ID`` key."""
    keys = [k for k in row["attributes"] if k != EXT_ID]
    return [*keys, "EMAIL"] if "email" in row else keys


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record the rules kept from being written, and why (SPEC A1).

    Attributes:
        record_id: the Salesforce Id (also for Brevo -> Salesforce: the contact's ext_id).
        rule: the rule id (see the module docstring).
        field: the Salesforce field concerned (``""`` for the whole record).
        value: the offending value as text, ``None`` when it was empty.
        reason: plain language for the audit report; never contains the value itself.
        permanent: trying again without a change to the data cannot help. The rules'
            rejections are not: the engine retries them once the source data changed (A3).
    """

    record_id: str
    rule: str
    field: str
    value: str | None
    reason: str
    permanent: bool = False


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
