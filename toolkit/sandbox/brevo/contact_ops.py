"""Contact writes shared by the HTTP API and the Python seeding API: create, update, batch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.sandbox.brevo.contact_input import parse_contact_body
from toolkit.sandbox.brevo.contacts import UNSET, Contact, ContactPatch
from toolkit.sandbox.brevo.errors import BrevoError, invalid, missing, not_found
from toolkit.sandbox.brevo.formats import bool_field

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.account import BrevoAccount

MISSING_IDENTIFIER = "An email or SMS phone number is mandatory to create a new contact."
CONTACT_NOT_FOUND = "Contact does not exist"


def duplicate_error(names: list[str], *, creating: bool) -> BrevoError:
    """400 ``duplicate_parameter`` naming the identifiers another contact already holds."""
    verb = "create" if creating else "update"
    be = "is" if len(names) == 1 else "are"
    return BrevoError(
        400,
        "duplicate_parameter",
        f"Unable to {verb} contact, {' and '.join(names)} {be} already associated with another Contact",
        {"duplicate_identifiers": names},
    )


def create_contact(account: BrevoAccount, body: dict[str, Any]) -> tuple[int, int | None]:
    """``POST /contacts``: ``(201, id)`` for a new contact, ``(204, None)`` for an update.

    With ``updateEnabled`` the existing contact is found by Brevo's identifier priority
    (ext_id, then e-mail, then SMS); identifiers held by yet another contact are a 400.
    """
    update_enabled = bool_field(body, "updateEnabled", False)
    with account.lock:
        store = account.contact_store
        patch = parse_contact_body(body, account.attributes, account.list_store, creating=True)
        ids = patch.identifiers()
        if not ids:
            raise missing(MISSING_IDENTIFIER)
        if update_enabled:
            target = (
                store.by_ext_id(ids.get("ext_id"))
                or store.by_email(ids.get("email"))
                or store.by_sms(ids.get("SMS"))
            )
            if target is not None:
                clash = store.conflicts(target, patch)
                if clash:
                    raise duplicate_error(clash, creating=False)
                store.apply(target, patch)
                return 204, None
        clash = store.conflicts(None, patch)
        if clash:
            raise duplicate_error(clash, creating=True)
        return 201, store.create(patch).id


def update_contact(
    account: BrevoAccount, identifier: str, identifier_type: str | None, body: dict[str, Any]
) -> None:
    """``PUT /contacts/{identifier}``: 404 when unknown, 400 on identifier conflicts."""
    with account.lock:
        contact = account.contact_store.find(identifier, identifier_type, allow_phone=False)
        if contact is None:
            raise not_found(CONTACT_NOT_FOUND)
        _apply_update(
            account, contact, parse_contact_body(body, account.attributes, account.list_store, creating=False)
        )


def update_batch(account: BrevoAccount, body: dict[str, Any]) -> None:
    """``POST /contacts/batch``: every item is checked before any is applied.

    Source: Brevo's definition (getbrevo/brevo-php ``swagger_definition_v3.yml`` @ c795929,
    ``updateBatchContacts``; brevo-python 5.1.0 ``UpdateBatchContactsRequestContactsItem``):
    each item names its contact by exactly one of ``email``, ``id`` or ``sms`` ("For each
    operation only pass one of the supported contact identifiers") and may set
    ``emailBlacklisted``/``smsBlacklisted``; the answer is 204 "All contacts updated" with no
    body, or 400 (``errorModel``: ``code``, ``message``). The definition states no maximum of
    items per call. A blacklist flag that changes moves ``modifiedAt`` (:meth:`ContactStore.apply`).
    """
    items = body.get("contacts")
    if not isinstance(items, list) or not items:
        raise missing("contacts is mandatory")
    with account.lock:
        planned: list[tuple[Contact, ContactPatch]] = []
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                raise invalid(f"contacts[{position}] should be an object")
            keys = [k for k in ("email", "id", "sms") if item.get(k) not in (None, "")]
            if not keys:
                raise missing(f"contacts[{position}]: email, id or sms is mandatory")
            if len(keys) > 1:
                raise invalid(f"contacts[{position}]: pass only one of email, id or sms")
            kind = {"email": "email_id", "id": "contact_id", "sms": "phone_id"}[keys[0]]
            contact = account.contact_store.find(str(item[keys[0]]), kind)
            if contact is None:
                raise BrevoError(400, "document_not_found", f"contacts[{position}]: {CONTACT_NOT_FOUND}")
            patch = parse_contact_body(item, account.attributes, account.list_store, creating=False)
            _check_update(account, contact, patch)
            planned.append((contact, patch))
        for contact, patch in planned:
            _apply_update(account, contact, patch)


def _check_update(account: BrevoAccount, contact: Contact, patch: ContactPatch) -> None:
    clash = account.contact_store.conflicts(contact, patch)
    if clash:
        raise duplicate_error(clash, creating=False)
    kept = [
        contact.email if patch.email is UNSET else patch.email,
        contact.ext_id if patch.ext_id is UNSET else patch.ext_id,
        contact.sms if patch.sms is UNSET else patch.sms,
    ]
    if not any(kept):
        raise invalid("A contact needs an email, SMS or ext_id")


def _apply_update(account: BrevoAccount, contact: Contact, patch: ContactPatch) -> None:
    _check_update(account, contact, patch)
    account.contact_store.apply(contact, patch)
