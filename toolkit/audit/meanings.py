"""What each rule id in the audit means, in plain language for stakeholders (SPEC Y1-Y11, A1).

Rule ids are the SPEC's (``Y5``), the toolkit's own checks (``EMAIL_INVALID``...), and the
services' refusals: ``SF:<statusCode>`` (Salesforce) and ``BREVO:<report kind>`` (Brevo
imports). Every id gets a sentence: known codes their own, any other one its family's.

Example:
    >>> describe_rule("Y5")
    'Salesforce requires a last name: an empty last name in Brevo is not passed on to Salesforce.'
    >>> rule_title("SF:STRING_TOO_LONG")
    'Salesforce: value too long'
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["RULES", "describe_rule", "rule_descriptions", "rule_title"]

RULES: dict[str, tuple[str, str]] = {
    "Y1": (
        "Brevo-only contact",
        "Contacts created in Brevo are never created in Salesforce; changes made in "
        "Brevo to synced contacts do flow back to Salesforce for the mapped fields.",
    ),
    "Y2": (
        "Bulk e-mail change",
        "Brevo's own integration does not pass on a bulk change of the e-mail of several "
        "Salesforce records; this toolkit does (records are linked by Salesforce Id).",
    ),
    "Y3": (
        "Date not YYYY-MM-DD",
        "A date changed in Brevo reaches Salesforce only in the form YYYY-MM-DD "
        "(for example 1990-09-25); a date in any other form is not passed on.",
    ),
    "Y4": ("Formula field", "Formula (calculated) fields cannot be mapped, so they are never synced."),
    "Y5": (
        "Empty last name",
        "Salesforce requires a last name: an empty last name in Brevo is not passed on to Salesforce.",
    ),
    "Y6": (
        "No e-mail",
        "The e-mail address is required: once a record's e-mail is removed in Salesforce, the "
        "record is no longer synced in either direction, and each skipped change is reported.",
    ),
    "Y7": ("Phone emptied", "A phone number emptied in Salesforce does not blank the phone in Brevo."),
    "Y8": (
        "Lead first name too long",
        "A Lead's first name may have at most 40 characters: a longer first "
        "name set in Brevo is not passed on to Salesforce.",
    ),
    "Y9": (
        "Phone not 6-16 digits",
        "A phone number must have 6 to 16 digits: a Lead with any other phone "
        "number is not passed on to Brevo.",
    ),
    "Y10": (
        "Deletion refused (Case)",
        "A contact deleted in Brevo is deleted in Salesforce, except one with a "
        "related Case, which Salesforce refuses to delete: it is reported once and not retried.",
    ),
    "Y11": (
        "Boolean or picklist",
        "Boolean and picklist fields are not synced unless that option (B4) is switched on.",
    ),
    "B4": (
        "Picklist value unknown in Brevo",
        "With booleans and picklists switched on, a picklist value that "
        "is not an option of the Brevo category attribute is not passed on.",
    ),
    "B9": (
        "Taken off the list in Brevo",
        "A contact taken off the integration's list in Brevo is not put "
        "back; its attribute changes are still kept in sync both ways.",
    ),
    "D1": (
        "Duplicate e-mail",
        "Brevo allows one contact per e-mail address: of two Salesforce records with "
        "one address, the oldest linked one keeps the Brevo contact; the other waits until either changes.",
    ),
    "EMAIL_INVALID": ("Invalid e-mail", "The e-mail address is not a valid address, so it cannot be synced."),
    "PHONE_INVALID": (
        "Invalid phone",
        "The phone number cannot be made a valid international number (not "
        "even with the record's country or the integration's phone region): it is left out, the "
        "rest of the record is synced.",
    ),
    "VALUE_INVALID": (
        "Value of the wrong type",
        "A value does not fit the type of the field on the other side "
        "(for example text where a number or a date is expected).",
    ),
}
"""Rule id -> (short title, plain sentence)."""

_SALESFORCE: dict[str, tuple[str, str]] = {
    "STRING_TOO_LONG": ("value too long", "a value is longer than the Salesforce field allows"),
    "REQUIRED_FIELD_MISSING": ("required field empty", "a field Salesforce requires is empty"),
    "NUMBER_OUTSIDE_VALID_RANGE": ("number too large", "a number has more digits than the field allows"),
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": (
        "picklist value not allowed",
        "the value is not one of the picklist's allowed values",
    ),
    "INVALID_EMAIL_ADDRESS": ("invalid e-mail", "Salesforce does not accept the e-mail address"),
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": ("validation rule", "one of the org's validation rules refused it"),
    "FIELD_INTEGRITY_EXCEPTION": ("invalid reference", "a value does not fit the field (integrity check)"),
    "DUPLICATE_VALUE": ("duplicate value", "another record already holds a value that must be unique"),
    "DELETE_FAILED": ("delete refused", "Salesforce refused to delete the record (it has related records)"),
    "ENTITY_IS_DELETED": ("record deleted", "the record was deleted in Salesforce"),
    "INVALID_CROSS_REFERENCE_KEY": ("record not found", "the record no longer exists in Salesforce"),
    "UNABLE_TO_LOCK_ROW": ("record locked", "the record was locked by another change; a later run retries"),
    "INSUFFICIENT_ACCESS_OR_READONLY": ("no access", "the connected user may not change this record"),
    "INVALID_FIELD_FOR_INSERT_UPDATE": ("read-only field", "the field cannot be written"),
    "REQUEST_LIMIT_EXCEEDED": ("API limit reached", "the org's daily API allowance is used up"),
}
_BREVO: dict[str, tuple[str, str]] = {
    "invalid_emails": ("invalid e-mail", "Brevo does not accept the e-mail address"),
    "duplicate_contact_id": ("several matches", "the record matches several Brevo contacts"),
    "duplicate_ext_id": (
        "linked to another record",
        "the matching Brevo contact is already linked to another Salesforce record",
    ),
    "duplicate_email_id": ("e-mail taken", "the e-mail address belongs to another Brevo contact"),
    "duplicate_phone_id": ("SMS number taken", "the SMS number belongs to another Brevo contact"),
    "duplicate_whatsapp_id": (
        "WhatsApp number taken",
        "the WhatsApp number belongs to another Brevo contact",
    ),
    "duplicate_landline_number_id": (
        "landline taken",
        "the landline number belongs to another Brevo contact",
    ),
}
_FAMILIES = {
    "SF": ("Salesforce", "Salesforce refused to write the record", _SALESFORCE),
    "BREVO": ("Brevo", "Brevo refused to import the record", _BREVO),
}


def _split(rule: str) -> tuple[str, str] | None:
    family, _, code = rule.partition(":")
    return (family, code) if family in _FAMILIES and _ else None


def rule_title(rule: str) -> str:
    """A short title for a rule id (``"Empty last name"``, ``"Salesforce: value too long"``)."""
    if rule in RULES:
        return RULES[rule][0]
    split = _split(rule)
    if split is None:
        return rule
    service, _, known = _FAMILIES[split[0]]
    return f"{service}: {known[split[1]][0] if split[1] in known else split[1] or 'refused'}"


def describe_rule(rule: str) -> str:
    """The plain-language meaning of a rule id; unknown ids say so rather than fail.

    Args:
        rule: ``"Y5"``, ``"EMAIL_INVALID"``, ``"SF:<statusCode>"``, ``"BREVO:<kind>"``...

    Returns:
        One sentence a stakeholder can read without the SPEC at hand.
    """
    if rule in RULES:
        return RULES[rule][1]
    split = _split(rule)
    if split is None:
        return f"Rule {rule}: the record was not written (see the reason of each record)."
    family, code = split
    _, refused, known = _FAMILIES[family]
    if code in known:
        return f"{refused}: {known[code][1]} ({code})."
    return f"{refused} with the code {code or 'unknown'}; the service's message says why."


def rule_descriptions(rules: Iterable[str] = ()) -> dict[str, str]:
    """Rule id -> sentence for every SPEC and toolkit rule, plus any other ids given.

    Args:
        rules: further ids to describe, e.g. those in a rejections DataFrame's ``rule`` column.
    """
    found = {rule: text for rule, (_, text) in RULES.items()}
    for rule in rules:
        found.setdefault(rule, describe_rule(rule))
    return found
