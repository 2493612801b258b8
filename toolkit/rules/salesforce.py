"""Brevo -> Salesforce: contacts to ``composite/sobjects`` updates, with the rules Y3, Y5 and Y8."""

from __future__ import annotations

from typing import Any

from toolkit.brevo.contacts import contact_ext_id
from toolkit.mapping.types import (
    BLACKLIST,
    BOOLEAN,
    CATEGORY,
    DATE,
    EMAIL,
    FLOAT,
    MULTIPLE_CHOICE,
    SMS,
    TEXT_SF_TYPES,
    MappedField,
    Mapping,
)
from toolkit.rules.base import (
    LEAD_FIRST_NAME_MAX,
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
    BrevoContact,
    CheckedUpdates,
    Refused,
    Rejection,
    SfUpdate,
    check_object,
    field_words,
    value_text,
)
from toolkit.rules.values import as_number, email_problem, international_e164, is_empty, is_iso_date

__all__ = ["to_salesforce"]

_BOOLEAN_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _empty_value(spec: MappedField, obj: str) -> Any:
    """What an empty Brevo value becomes in Salesforce, or the refusal."""
    if spec.kind in (BOOLEAN, BLACKLIST):
        return False  # Salesforce checkboxes are never null
    if spec.kind == EMAIL and spec.brevo_attribute == "EMAIL":
        raise Refused(
            RULE_Y6,
            f"The Brevo contact has no email address; email is required, so the change is "
            f"not pushed and the {obj.lower()} is not synced (SPEC Y6).",
        )
    if spec.required and spec.sf_field == "LastName":
        raise Refused(
            RULE_Y5,
            f"Last name is empty in Brevo; Salesforce requires a {obj.lower()} last name, "
            "so the change is not pushed (SPEC Y5).",
        )
    if spec.required:
        raise Refused(
            RULE_REQUIRED,
            f"{field_words(obj, spec)} is empty in Brevo; Salesforce requires it, so "
            "the change is not pushed (REQUIRED_FIELD_MISSING).",
        )
    return None


def _picklist_value(spec: MappedField, value: Any, obj: str) -> str:
    """Brevo's label (or a category's number) as the Salesforce picklist spells it."""
    if isinstance(value, int) and not isinstance(value, bool) and value in spec.option_ids:
        value = spec.options[spec.option_ids.index(value)]
    text = str(value).strip()
    folded = text.casefold()
    for choice in spec.picklist:
        if choice.casefold() == folded:
            return choice
    if spec.restricted:
        raise Refused(
            RULE_RESTRICTED_PICKLIST,
            f"{field_words(obj, spec)} does not have the value set in Brevo "
            "among its picklist values; Salesforce would refuse it.",
        )
    return text


def _number(spec: MappedField, value: Any, obj: str) -> int | float:
    number = as_number(value) if not isinstance(value, str) or value.strip() else None
    if number is None or (spec.sf_type == "int" and not float(number).is_integer()):
        kind = "a whole number" if spec.sf_type == "int" else "a number"
        raise Refused(
            RULE_VALUE_INVALID,
            f"Brevo attribute {spec.brevo_attribute} does not hold {kind}, so it "
            f"cannot be written to {field_words(obj, spec)}.",
        )
    if spec.precision and abs(round(number, spec.scale)) >= 10 ** (spec.precision - spec.scale):
        raise Refused(
            RULE_NUMBER_RANGE,
            f"{field_words(obj, spec)} takes at most {spec.precision - spec.scale} "
            "digits before the decimal point; Salesforce would refuse the value "
            "set in Brevo (NUMBER_OUTSIDE_VALID_RANGE).",
        )
    return int(number) if spec.sf_type == "int" else number


def _convert(spec: MappedField, value: Any, obj: str) -> Any:
    """The Salesforce value for one non-empty Brevo value (raises ``Refused``)."""
    kind, sf_type = spec.kind, spec.sf_type
    if kind == DATE:
        day = value.strip() if isinstance(value, str) else value
        if not is_iso_date(day):
            raise Refused(
                RULE_Y3,
                f"Brevo date {spec.brevo_attribute} is not a real date written YYYY-MM-DD "
                "(e.g. 1990-09-25), so it is not pushed to Salesforce (SPEC Y3).",
            )
        return f"{day}T00:00:00.000+0000" if sf_type == "datetime" else day
    if kind == FLOAT:
        return _number(spec, value, obj)
    if kind in (BOOLEAN, BLACKLIST):
        flag = value if isinstance(value, bool) else _BOOLEAN_WORDS.get(str(value).strip().lower())
        if flag is None:
            raise Refused(
                RULE_VALUE_INVALID,
                f"Brevo attribute {spec.brevo_attribute} is not yes or no, so it "
                f"cannot be written to {field_words(obj, spec)}.",
            )
        return flag
    if kind == MULTIPLE_CHOICE:
        items = value if isinstance(value, list) else str(value).split(";")
        return ";".join(_picklist_value(spec, item, obj) for item in items if str(item).strip())
    if kind == CATEGORY or sf_type == "picklist":
        return _picklist_value(spec, value, obj)
    text = value.strip() if isinstance(value, str) else str(value)
    if kind == SMS:
        e164 = international_e164(text)
        if e164 is None:
            raise Refused(
                RULE_PHONE_INVALID,
                f"Brevo attribute {spec.brevo_attribute} is not a phone number with "
                f"a country code, so it cannot be written to {field_words(obj, spec)}.",
            )
        return e164
    if sf_type == "email":
        problem = email_problem(text)
        if problem:
            raise Refused(
                RULE_EMAIL_INVALID,
                f"Brevo attribute {spec.brevo_attribute} is not a valid email "
                f"address, so Salesforce would refuse it: {problem}",
            )
    return text


def _check_length(spec: MappedField, value: Any, obj: str) -> None:
    if not isinstance(value, str) or spec.sf_type not in TEXT_SF_TYPES:
        return
    if obj == "Lead" and spec.sf_field == "FirstName" and len(value) > LEAD_FIRST_NAME_MAX:
        raise Refused(
            RULE_Y8,
            f"Lead first name is longer than {LEAD_FIRST_NAME_MAX} characters ({len(value)}); "
            "Salesforce would refuse it (SPEC Y8).",
        )
    if spec.length and len(value) > spec.length:
        raise Refused(
            RULE_STRING_TOO_LONG,
            f"{field_words(obj, spec)} is longer than {spec.length} characters "
            f"({len(value)}); Salesforce would refuse it (STRING_TOO_LONG).",
        )


def to_salesforce(
    contacts: list[BrevoContact], mapping: Mapping, *, object: str | None = None
) -> CheckedUpdates:
    """Turn Brevo contacts into Salesforce updates of the mapped fields, keeping the SPEC's rules.

    Rules: Y1 (a contact without ext_id, i.e. not linked to a Salesforce record, is skipped:
    nothing is ever created in Salesforce), Y3 (a date not exactly ``YYYY-MM-DD``), Y5 (an
    empty last name where LastName is mapped), Y6 (a contact whose email was removed), Y8
    (Lead first name over 40 characters), and what Salesforce would refuse: text longer than
    the field (``STRING_TOO_LONG``), other required fields empty, numbers out of range, values
    outside a restricted picklist, invalid e-mails. SMS numbers become E.164 text. B8's
    blacklist flags (``emailBlacklisted``...) are read from the contact's top level.

    Args:
        contacts: contacts as ``GET /v3/contacts`` returns them.
        mapping: the integration's mapping.
        object: ``"Contact"`` or ``"Lead"``; must match the mapping when given.

    Returns:
        ``(updates, rejections)`` (:class:`~toolkit.rules.base.CheckedUpdates`): ``{"Id": ..., field: value}`` with every synced field (an
        empty Brevo value gives ``None``, or ``False`` for a checkbox), and the rejections.
    """
    obj = check_object(mapping, object)
    specs = list(mapping.synced())
    updates: list[SfUpdate] = []
    rejections: list[Rejection] = []
    for contact in contacts:
        record_id = contact_ext_id(contact)
        if record_id is None:
            continue
        attributes = contact.get("attributes") or {}
        update: SfUpdate = {"Id": record_id}
        refused = False
        for spec in specs:
            if spec.kind == BLACKLIST:  # B8: the contact's top-level flag
                value = contact.get(spec.brevo_attribute)
            elif spec.brevo_attribute == "EMAIL":
                value = contact.get("email") or attributes.get("EMAIL")
            else:
                value = attributes.get(spec.brevo_attribute)
            try:
                converted = _empty_value(spec, obj) if is_empty(value) else _convert(spec, value, obj)
                _check_length(spec, converted, obj)
            except Refused as refusal:
                rejections.append(
                    Rejection(record_id, refusal.rule, spec.sf_field, value_text(value), refusal.reason)
                )
                refused = True
                continue
            update[spec.sf_field] = converted
        if not refused:
            updates.append(update)
    return CheckedUpdates(updates, rejections)
