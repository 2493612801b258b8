"""Field mapping: which Salesforce field syncs with which Brevo attribute (SPEC S5, S6, Y4, Y11, B4).

Inputs are Salesforce's describe result (``GET sobjects/X/describe``) and Brevo's attribute
list (``GET /v3/contacts/attributes``, the whole answer or its ``attributes`` list).

Decisions (the wizard and the README say the same):

- Every mapped field syncs both ways (Brevo's edits flow back, SPEC Y1), so only fields the
  API user can *update* are offered. Read-only fields (Id, audit fields, the compound ``Name``,
  ``Lead.IsConverted``, auto-numbers) are never offered: there is no one-way mapping.
- Formula (``calculated``) fields are never offered (S6, Y4).
- Type pairs, Salesforce describe type -> Brevo attributes it may map to:
  string/textarea/url/combobox -> text; email -> EMAIL or text; phone -> SMS (or Brevo's other
  phone identifiers WHATSAPP and LANDLINE_NUMBER, all sent as E.164) or text; date -> date;
  datetime -> date (Brevo has no date-time type: Salesforce -> Brevo sends the UTC calendar
  day, Brevo -> Salesforce writes midnight UTC of that day, so the time of day is lost on a
  write-back); double/currency/percent/int -> float. Only with B4: boolean -> boolean,
  picklist -> category (or text), multipicklist -> multiple-choice. Anything else
  (reference, id, address, base64, encryptedstring...) is never offered.
- ``EXT_ID`` is never mapped: the toolkit sets it to the Salesforce Id itself (B5).
- A Salesforce field maps to one attribute at most: two would give Brevo -> Salesforce two
  values for one field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from toolkit.exceptions import MappingError
from toolkit.mapping.types import (
    BLACKLIST,
    BLACKLIST_FLAGS,
    BOOLEAN,
    CATEGORY,
    COUNTRY_FIELDS,
    DATE,
    EMAIL,
    EMAIL_BLACKLISTED,
    EMAIL_OPT_OUT_FIELD,
    FLOAT,
    MULTIPLE_CHOICE,
    OPT_IN_TYPES,
    RULE_B8,
    SMS,
    SMS_BLACKLISTED,
    TEXT,
    TYPE_PAIRS,
    BrevoAttributes,
    MappableField,
    MappedField,
    Mapping,
    attribute_list,
    brevo_kind,
    unwritable_reason,
)

__all__ = [
    "BLACKLIST",
    "BLACKLIST_FLAGS",
    "BOOLEAN",
    "CATEGORY",
    "DATE",
    "EMAIL",
    "EMAIL_BLACKLISTED",
    "EMAIL_OPT_OUT_FIELD",
    "FLOAT",
    "MULTIPLE_CHOICE",
    "MappableField",
    "MappedField",
    "Mapping",
    "RULE_B8",
    "SMS",
    "SMS_BLACKLISTED",
    "TEXT",
    "TYPE_PAIRS",
    "check_sms_optout_field",
    "mappable_fields",
    "optout_checkboxes",
    "suggest_mapping",
    "validate_mapping",
]

# Brevo's default name attributes are renamed with the account language; match those too.
_PREFERRED: dict[str, tuple[str, ...]] = {
    "EMAIL": ("Email",),
    "FIRSTNAME": ("FirstName",),
    "PRENOM": ("FirstName",),
    "VORNAME": ("FirstName",),
    "NOMBRE": ("FirstName",),
    "NOME": ("FirstName",),
    "VOORNAAM": ("FirstName",),
    "LASTNAME": ("LastName",),
    "NOM": ("LastName",),
    "NACHNAME": ("LastName",),
    "APELLIDOS": ("LastName",),
    "COGNOME": ("LastName",),
    "ACHTERNAAM": ("LastName",),
    "SMS": ("MobilePhone", "Phone"),
    "LANDLINE_NUMBER": ("Phone", "HomePhone"),
    "WHATSAPP": (),
}


def _offer(field: dict[str, Any], booleans_and_picklists: bool) -> tuple[str, ...]:
    """The Brevo kinds ``field`` may map to, or ``()`` when it is not offered."""
    if field.get("calculated") or not field.get("updateable") or field.get("deprecatedAndHidden"):
        return ()
    if field.get("type") in OPT_IN_TYPES and not booleans_and_picklists:
        return ()
    return TYPE_PAIRS.get(field.get("type", ""), ())


def mappable_fields(describe: dict[str, Any], *, booleans_and_picklists: bool = False) -> list[MappableField]:
    """The fields the wizard offers in its drop-downs, in describe order (SPEC S5, S6, B4).

    Args:
        describe: the ``sobjects/X/describe`` result.
        booleans_and_picklists: B4 switched on (boolean, picklist and multipicklist offered).

    Returns:
        One :class:`MappableField` per offered field; formula, read-only and unsupported
        fields are left out.
    """
    offered = []
    for field in describe.get("fields", []):
        kinds = _offer(field, booleans_and_picklists)
        if kinds:
            offered.append(
                MappableField(field["name"], field.get("label") or field["name"], field["type"], kinds)
            )
    return offered


def _field_problem(obj: str, field: dict[str, Any], booleans_and_picklists: bool) -> str | None:
    kind = field.get("type", "")
    if field.get("calculated"):
        return "it is a formula field, and formula fields cannot be mapped (SPEC Y4)"
    if kind in OPT_IN_TYPES and not booleans_and_picklists:
        return (
            f"{kind} fields are not synced unless the boolean and picklist extension is "
            "switched on (SPEC Y11, B4)"
        )
    if not field.get("updateable"):
        return (
            f"it is read-only in Salesforce, so changes made in Brevo could not be written back to the {obj}"
        )
    if kind not in TYPE_PAIRS:
        return f"Salesforce fields of type {kind} have no Brevo counterpart"
    return None


def _pairs(pairs: Iterable[tuple[str, str]] | dict[str, str]) -> list[tuple[str, str]]:
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [(str(attribute), str(field)) for attribute, field in items]


def validate_mapping(
    pairs: Iterable[tuple[str, str]] | dict[str, str],
    describe: dict[str, Any],
    brevo_attributes: BrevoAttributes,
    *,
    booleans_and_picklists: bool = False,
) -> Mapping:
    """Check a mapping against both sides' metadata and return it ready for the rules.

    Args:
        pairs: ``(brevo_attribute, salesforce_field)`` pairs, or a dict attribute -> field.
        describe: the object's describe result (Contact or Lead).
        brevo_attributes: Brevo's attribute list (or the whole ``GET /contacts/attributes`` answer).
        booleans_and_picklists: B4 switched on.

    Returns:
        The :class:`Mapping`, names in canonical case, with each pair's metadata.

    Raises:
        MappingError: naming the field or attribute and the reason: unknown field, formula
            field (Y4), boolean/picklist without B4 (Y11), read-only field, incompatible type
            pair, unknown or unwritable attribute, an attribute or field mapped twice, or no
            EMAIL or SMS attribute mapped (S5).
    """
    obj = str(describe.get("name", "record"))
    fields = {f["name"].lower(): f for f in describe.get("fields", [])}
    attributes = {str(a["name"]).upper(): a for a in attribute_list(brevo_attributes)}
    mapped: list[MappedField] = []
    by_field: dict[str, str] = {}
    for attribute_name, field_name in _pairs(pairs):
        attribute = attributes.get(attribute_name.strip().upper())
        if attribute is None:
            raise MappingError(
                attribute_name, "Brevo has no contact attribute of that name; create it in Brevo first"
            )
        name = str(attribute["name"]).upper()
        if any(m.brevo_attribute == name for m in mapped):
            raise MappingError(
                name, "the attribute is mapped more than once; each Brevo attribute takes one field"
            )
        kind = brevo_kind(attribute)
        if kind is None:
            raise MappingError(name, unwritable_reason(attribute))
        field = fields.get(field_name.strip().lower())
        if field is None:
            raise MappingError(field_name, f"{obj} has no field of that name")
        problem = _field_problem(obj, field, booleans_and_picklists)
        if problem:
            raise MappingError(field["name"], problem)
        allowed = TYPE_PAIRS[field["type"]]
        if kind not in allowed:
            raise MappingError(
                field["name"],
                f"a Salesforce {field['type']} field cannot map to {name}, a Brevo "
                f"{kind} attribute; it maps to: {', '.join(allowed)}",
            )
        if field["name"] in by_field:
            raise MappingError(
                field["name"],
                f"the field is mapped to both {by_field[field['name']]} and {name}; "
                "Brevo -> Salesforce would get two values for it",
            )
        by_field[field["name"]] = name
        mapped.append(MappedField.build(name, kind, field, attribute))
    if not any(m.brevo_attribute in ("EMAIL", "SMS") for m in mapped):
        raise MappingError("EMAIL", "at least one EMAIL or SMS attribute must be mapped (SPEC S5)")
    country = tuple(n for n in COUNTRY_FIELDS.get(obj, ()) if n.lower() in fields)
    return Mapping(
        obj,
        tuple((m.brevo_attribute, m.sf_field) for m in mapped),
        booleans_and_picklists,
        tuple(mapped),
        country,
    )


def _key(text: str) -> str:
    text = text[:-3] if text.lower().endswith("__c") else text
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def suggest_mapping(
    describe: dict[str, Any], brevo_attributes: BrevoAttributes, *, booleans_and_picklists: bool = False
) -> list[tuple[str, str]]:
    """Pairs the wizard proposes: EMAIL <- Email, FIRSTNAME <- FirstName, SMS <- MobilePhone...

    Well-known attributes take their usual field (SMS prefers MobilePhone, then Phone); the
    others take a field whose API name or label matches the attribute's name (``BIRTHDATE`` <-
    ``Birthdate`` or ``Birthdate__c``). Only compatible, mappable fields are proposed, each once.

    Args:
        describe: the object's describe result.
        brevo_attributes: Brevo's attribute list (or the whole answer).
        booleans_and_picklists: B4 switched on.

    Returns:
        ``(brevo_attribute, salesforce_field)`` pairs, in the attribute list's order.
    """
    offered = {f.name: f for f in mappable_fields(describe, booleans_and_picklists=booleans_and_picklists)}
    by_key: dict[str, str] = {}
    for f in offered.values():
        by_key.setdefault(_key(f.name), f.name)
        by_key.setdefault(_key(f.label), f.name)
    taken: set[str] = set()
    suggestions = []
    for attribute in attribute_list(brevo_attributes):
        name = str(attribute["name"]).upper()
        kind = brevo_kind(attribute)
        if kind is None:
            continue
        candidates = _PREFERRED.get(name)
        if candidates is None:
            candidates = (by_key[_key(name)],) if _key(name) in by_key else ()
        for candidate in candidates:
            field = offered.get(candidate)
            if field is not None and candidate not in taken and kind in field.brevo_types:
                suggestions.append((name, candidate))
                taken.add(candidate)
                break
    return suggestions


def optout_checkboxes(describe: dict[str, Any]) -> list[MappableField]:
    """The object's checkboxes B8 may sync with ``smsBlacklisted`` (the wizard's drop-down).

    Updateable boolean fields that are no formula, in describe order, ``HasOptedOutOfEmail``
    excepted (it is synced with ``emailBlacklisted``).
    """
    return [
        MappableField(f["name"], f.get("label") or f["name"], "boolean", (BLACKLIST,))
        for f in describe.get("fields", [])
        if f.get("type") == "boolean"
        and f.get("updateable")
        and not f.get("calculated")
        and not f.get("deprecatedAndHidden")
        and f["name"] != EMAIL_OPT_OUT_FIELD
    ]


def check_sms_optout_field(describe: dict[str, Any], name: str) -> str:
    """Check that ``name`` is a checkbox B8 can sync with Brevo's ``smsBlacklisted``; its API name.

    Args:
        describe: the object's describe result (Contact or Lead).
        name: the field chosen for ``smsBlacklisted`` (any case).

    Returns:
        The field's API name as Salesforce spells it.

    Raises:
        MappingError: naming the field and B8: the object has no such field, or it is not an
            updateable checkbox (boolean field, no formula).
    """
    obj = str(describe.get("name", "record"))
    fields = {str(f["name"]).lower(): f for f in describe.get("fields", [])}
    field = fields.get(name.strip().lower())
    if field is None:
        raise MappingError(name, f"{obj} has no field of that name to sync with smsBlacklisted ({RULE_B8})")
    if field["name"] not in {f.name for f in optout_checkboxes(describe)}:
        what = "a formula field" if field.get("calculated") else f"a {field.get('type')} field"
        if field.get("type") == "boolean" and not field.get("calculated"):
            what = "a read-only checkbox" if not field.get("updateable") else "the e-mail opt-out"
        raise MappingError(
            field["name"],
            f"smsBlacklisted syncs with an updateable checkbox (boolean field) of the {obj}, and this is {what} "
            f"({RULE_B8})",
        )
    return str(field["name"])
