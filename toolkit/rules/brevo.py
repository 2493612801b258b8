"""Salesforce -> Brevo: records to ``/contacts/import`` rows, with the rules Y6, Y7 and Y9."""

from __future__ import annotations

from typing import Any

from toolkit.brevo.contacts import EXT_ID
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
from toolkit.rules.base import (
    RULE_B4,
    RULE_EMAIL_INVALID,
    RULE_PHONE_INVALID,
    RULE_VALUE_INVALID,
    RULE_Y6,
    RULE_Y9,
    BrevoRow,
    CheckedRows,
    Refused,
    Rejection,
    SfRecord,
    check_object,
    field_words,
    value_text,
)
from toolkit.rules.values import (
    PHONE_MAX_DIGITS,
    PHONE_MIN_DIGITS,
    as_number,
    digit_count,
    email_problem,
    is_empty,
    region_for,
    to_e164,
    utc_day,
)

__all__ = ["to_brevo"]

_UNSET: Any = object()


def _option(spec: MappedField, value: str, obj: str) -> str:
    folded = value.strip().casefold()
    for option in spec.options:
        if option.casefold() == folded:
            return option
    raise Refused(
        RULE_B4,
        f"{field_words(obj, spec)} has a value that is not an option of Brevo "
        f"{spec.kind} attribute {spec.brevo_attribute}; add it there, or Brevo "
        "would ignore it (SPEC B4).",
    )


def _convert(spec: MappedField, value: Any, obj: str, region: str | None) -> Any:
    """The value Brevo gets for one non-empty Salesforce value (raises ``Refused``)."""
    kind = spec.kind
    if kind == SMS:
        e164 = to_e164(str(value), region)
        if e164 is None:
            where = (
                f"a valid phone number for region {region}"
                if region
                else "a phone number with a country code, and the record names no country the toolkit knows"
            )
            raise Refused(
                RULE_PHONE_INVALID,
                f"{field_words(obj, spec)} is not {where}; Brevo needs "
                f"{spec.brevo_attribute} numbers with their country code, so "
                "this number is left out and the rest of the record is synced.",
            )
        return e164
    if kind == DATE:
        day = utc_day(value)
        if day is None:
            raise Refused(RULE_VALUE_INVALID, f"{field_words(obj, spec)} is not a date Brevo can store.")
        return day
    if kind == FLOAT:
        number = as_number(value)
        if number is None:
            raise Refused(RULE_VALUE_INVALID, f"{field_words(obj, spec)} is not a number Brevo can store.")
        return number
    if kind == BOOLEAN:
        return bool(value)
    if kind == CATEGORY:
        return _option(spec, str(value), obj)
    if kind == MULTIPLE_CHOICE:
        items = value if isinstance(value, list) else str(value).split(";")
        return [_option(spec, str(item), obj) for item in items if str(item).strip()]
    return value.strip() if isinstance(value, str) else str(value)


def _email_rejection(record_id: str, obj: str, spec: MappedField, value: Any) -> Rejection | None:
    """Y6 for a record without email, a syntax refusal for an invalid one, else ``None``."""
    if is_empty(value):
        return Rejection(
            record_id,
            RULE_Y6,
            spec.sf_field,
            None,
            (
                f"{obj} has no email address. Brevo's integration needs one, so this {obj.lower()} is not "
                "synced in either direction until an email is added in Salesforce (SPEC Y6)."
            ),
        )
    problem = email_problem(str(value).strip())
    if problem:
        return Rejection(
            record_id,
            RULE_EMAIL_INVALID,
            spec.sf_field,
            value_text(value),
            f"{field_words(obj, spec)} is not a valid email address, so Brevo would refuse it: {problem}",
        )
    return None


def _record(
    record: SfRecord,
    specs: list[MappedField],
    mapping: Mapping,
    default_region: str | None,
    rejections: list[Rejection],
) -> BrevoRow | None:
    obj = mapping.object
    record_id = record.get("Id")
    if not record_id:
        raise ValueError("a Salesforce record without Id cannot be synced")
    record_id = str(record_id)
    row: BrevoRow = {"attributes": {EXT_ID: record_id}}
    attributes = row["attributes"]
    region: Any = _UNSET
    refused = False
    for spec in specs:
        value = record.get(spec.sf_field)
        if spec.kind == BLACKLIST:  # B8: a top-level flag of the contact, set by a batch update
            flag = value.strip().lower() == "true" if isinstance(value, str) else bool(value)
            row[spec.brevo_attribute] = flag  # type: ignore[literal-required]
            continue
        if spec.kind == EMAIL:
            rejection = _email_rejection(record_id, obj, spec, value)
            if rejection is None:
                row["email"] = str(value).strip()
            else:
                rejections.append(rejection)
                refused = True
            continue
        empty = is_empty(value)
        if spec.sf_type == "phone":
            if empty:
                continue  # SPEC Y7: an emptied phone never blanks Brevo's attribute
            digits = digit_count(str(value)) if obj == "Lead" else 0  # Y9 is for Leads only
            if obj == "Lead" and not PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS:
                rejections.append(
                    Rejection(
                        record_id,
                        RULE_Y9,
                        spec.sf_field,
                        value_text(value),
                        (
                            f"{field_words(obj, spec)} has {digits} digits; a phone number needs {PHONE_MIN_DIGITS} to "
                            f"{PHONE_MAX_DIGITS} digits, so this lead is not sent to Brevo (SPEC Y9)."
                        ),
                    )
                )
                refused = True
                continue
        if empty:
            attributes[spec.brevo_attribute] = False if spec.kind == BOOLEAN else ""
            continue
        if spec.kind == SMS and region is _UNSET:
            region = region_for(record, mapping.country_fields, default_region)
        try:
            attributes[spec.brevo_attribute] = _convert(
                spec, value, obj, None if region is _UNSET else region
            )
        except Refused as refusal:
            rejections.append(
                Rejection(record_id, refusal.rule, spec.sf_field, value_text(value), refusal.reason)
            )
            # A phone that cannot be made valid is left out of the row (Brevo keeps what it has, as
            # for Y7); the rest of the record still syncs. Any other refused value holds the record.
            refused = refused or refusal.rule != RULE_PHONE_INVALID
    return None if refused else row


def to_brevo(
    records: list[SfRecord],
    mapping: Mapping,
    *,
    object: str | None = None,
    default_region: str | None = None,
) -> CheckedRows:
    """Turn Salesforce records into Brevo import rows, keeping the SPEC's rules.

    Rules: Y6 (no email: rejected; the engine suspends the link), Y7 (an empty phone is left
    out of the row, so Brevo keeps its value), Y9 (Leads: a phone with fewer than 6 or more
    than 16 digits is rejected), Y11/B4 (boolean and picklist fields only with B4). Also:
    invalid e-mail syntax, SMS numbers that do not parse (E.164 via the record's country, else
    ``default_region``: a field-level rejection, the number is left out and the row still goes),
    picklist values that are no option of the Brevo category.
    Text is trimmed, dates sent as ``YYYY-MM-DD``, other empty values as ``""`` (the import
    clears them: ``emptyContactsAttributes``). B8's flags (mapping built
    :meth:`~toolkit.mapping.types.Mapping.with_unsubscribes`) go at the row's top level
    (``emailBlacklisted``: the record's ``HasOptedOutOfEmail``).

    Args:
        records: Salesforce records as the REST API returns them (``Id`` and the fields of
            ``mapping.soql_fields``).
        mapping: the integration's mapping.
        object: ``"Contact"`` or ``"Lead"``; must match the mapping when given.
        default_region: ISO region (``"DE"``) for national phone numbers of records whose
            country is empty or unknown; ``None`` rejects them.

    Returns:
        ``(rows, rejections)`` (:class:`~toolkit.rules.base.CheckedRows`): one row per record
        that passed, every rejection of the others (a record may have several).
    """
    check_object(mapping, object)
    specs = list(mapping.synced())
    rows: list[BrevoRow] = []
    rejections: list[Rejection] = []
    for record in records:
        row = _record(record, specs, mapping, default_region, rejections)
        if row is not None:
            rows.append(row)
    return CheckedRows(rows, rejections)
