"""The SPEC's sync rules as checks over a chunk of records: what to write, and what not and why.

Two directions, each returning ``(to_write, rejections)`` (:class:`CheckedRows`,
:class:`CheckedUpdates`; the :class:`Rejection` type, shared with the store, is in
:mod:`toolkit.rules.rejection`):

- :func:`to_brevo`: Salesforce records -> ``/contacts/import`` rows (Y6, Y7, Y9, B4, Y11);
- :func:`to_salesforce`: Brevo contacts -> ``composite/sobjects`` updates (Y1, Y3, Y5, Y6, Y8,
  and the refusals Salesforce would answer with, such as ``STRING_TOO_LONG``);

and :func:`record_hash` with :func:`brevo_values` / :func:`salesforce_values`, which the engine
uses to detect changes and its own echoes. The rule ids are listed in :mod:`toolkit.rules.base`.
Pure Python over lists of dicts. A phone number mapped to SMS costs about 5 µs when written
plainly (:mod:`toolkit.rules.phones`), 30 µs otherwise (phonenumbers parses it); the rest is
a few µs per record.

Example:
    >>> rows, rejected = to_brevo(records, mapping, object="Lead")   # doctest: +SKIP
    >>> [r.reason for r in rejected][:1]                             # doctest: +SKIP
    ['Lead phone has 5 digits; a phone number needs 6 to 16 digits, so this lead is not sent
    to Brevo (SPEC Y9).']
"""

from __future__ import annotations

from toolkit.rules.base import (
    LEAD_FIRST_NAME_MAX,
    RULE_B4,
    RULE_EMAIL_INVALID,
    RULE_NUMBER_RANGE,
    RULE_PHONE_INVALID,
    RULE_REQUIRED,
    RULE_RESTRICTED_PICKLIST,
    RULE_STRING_TOO_LONG,
    RULE_VALUE_INVALID,
    RULE_Y3,
    RULE_Y5,
    RULE_Y6,
    RULE_Y8,
    RULE_Y9,
    BrevoContact,
    BrevoRow,
    CheckedRows,
    CheckedUpdates,
    SfRecord,
    SfUpdate,
)
from toolkit.rules.brevo import to_brevo
from toolkit.rules.hashing import (
    CanonicalValues,
    brevo_values,
    canonical_values,
    record_hash,
    salesforce_values,
)
from toolkit.rules.rejection import Direction, Rejection
from toolkit.rules.salesforce import to_salesforce
from toolkit.rules.values import PHONE_MAX_DIGITS, PHONE_MIN_DIGITS

__all__ = [
    "BrevoContact",
    "BrevoRow",
    "CanonicalValues",
    "CheckedRows",
    "CheckedUpdates",
    "Direction",
    "LEAD_FIRST_NAME_MAX",
    "PHONE_MAX_DIGITS",
    "PHONE_MIN_DIGITS",
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
    "Rejection",
    "SfRecord",
    "SfUpdate",
    "brevo_values",
    "canonical_values",
    "record_hash",
    "salesforce_values",
    "to_brevo",
    "to_salesforce",
]
