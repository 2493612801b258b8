"""Turn the bodies of createContact, updateContact and updateBatchContacts into patches.

Brevo's data rules apply here: attribute names are upper-cased; an attribute the account does
not have is ignored (as brevo-php issue #37 shows for create); a value of the wrong type is
ignored; an SMS without country code is refused with 400.
"""

from __future__ import annotations

from typing import Any

from toolkit.sandbox.brevo.attributes import AttributeRegistry
from toolkit.sandbox.brevo.contacts import UNSET, ContactPatch
from toolkit.sandbox.brevo.errors import invalid
from toolkit.sandbox.brevo.formats import bool_field, int_list, normalize_email, normalize_phone
from toolkit.sandbox.brevo.lists import ListStore

INVALID_PHONE = "Invalid phone number, SMS phone number should be in format: 91xxxxxxxxxx or +91xxxxxxxxxx."
INVALID_EMAIL = "Invalid email address"


def _empty(value: Any) -> bool:
    return value is None or value == ""


def parse_ext_id(value: Any) -> str | None:
    """An ext_id as text (numbers are accepted and kept as their digits); ``None`` when empty."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid("ext_id should be a string")
    text = str(value).strip()
    return text or None


def parse_contact_body(
    body: dict[str, Any], attributes: AttributeRegistry, lists: ListStore, *, creating: bool
) -> ContactPatch:
    """Validate a contact body and return the patch it asks for.

    Args:
        body: the JSON body (createContact, updateContact or one updateBatchContacts item).
        attributes: the account's attribute definitions.
        lists: the account's lists (``listIds`` must name existing lists).
        creating: ``True`` for createContact: top-level ``email`` counts and empty values are
            simply absent (on updates they erase the attribute).

    Raises:
        BrevoError: 400 for an invalid e-mail, phone number, list id or field type.
    """
    patch = ContactPatch()
    if creating and not _empty(body.get("email")):
        patch.email = normalize_email(body["email"]) or _raise(INVALID_EMAIL)
    raw_attributes = body.get("attributes") or {}
    if not isinstance(raw_attributes, dict):
        raise invalid("attributes should be an object")
    for key, value in raw_attributes.items():
        name = str(key).upper()
        if name == "EMAIL":
            if not _empty(value) and patch.email is UNSET:
                patch.email = normalize_email(value) or _raise(INVALID_EMAIL)
        elif name == "EXT_ID":
            if "ext_id" not in body and not (creating and _empty(value)):
                patch.ext_id = None if _empty(value) else parse_ext_id(value)
        elif name == "SMS":
            if _empty(value):
                if not creating:
                    patch.sms = None
            else:
                patch.sms = normalize_phone(value) or _raise(INVALID_PHONE)
        else:
            definition = attributes.get(name)
            if definition is None:
                continue
            if _empty(value):
                if not creating:
                    patch.attributes[definition.name] = None
                continue
            accepted, stored = definition.coerce(value)
            if accepted:
                patch.attributes[definition.name] = stored
    if "ext_id" in body and not (creating and _empty(body["ext_id"])):
        patch.ext_id = None if _empty(body["ext_id"]) else parse_ext_id(body["ext_id"])
    patch.email_blacklisted = bool_field(body, "emailBlacklisted")
    patch.sms_blacklisted = bool_field(body, "smsBlacklisted")
    patch.add_lists = _existing_lists(body, "listIds", lists)
    if not creating:
        patch.remove_lists = _existing_lists(body, "unlinkListIds", lists)
    senders = body.get("smtpBlacklistSender")
    if senders is not None:
        if not isinstance(senders, list) or not all(normalize_email(s) for s in senders):
            raise invalid("smtpBlacklistSender should be an array of email addresses")
        patch.smtp_blacklist_sender = [normalize_email(s) or "" for s in senders]
    return patch


def _existing_lists(body: dict[str, Any], name: str, lists: ListStore) -> list[int]:
    ids = int_list(body, name) or []
    unknown = lists.missing_lists(ids)
    if unknown:
        raise invalid(f"Invalid {name}: {', '.join(str(i) for i in unknown)}")
    return ids


def _raise(message: str) -> Any:
    raise invalid(message)
