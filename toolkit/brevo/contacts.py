"""Contacts: incremental reads, one contact by identifier, list membership pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from toolkit.exceptions import FatalApiError

from .base import BrevoApi, format_brevo_datetime

__all__ = ["BATCH_UPDATE_MAX", "ContactsMixin", "EXT_ID", "IDENTIFIER_TYPES", "contact_ext_id"]

IDENTIFIER_TYPES = ("email_id", "phone_id", "contact_id", "ext_id", "whatsapp_id", "landline_number_id")
CONTACTS_MAX_PAGE = 1000
LIST_CONTACTS_MAX_PAGE = 500
BATCH_UPDATE_MAX = 100
"""Contacts per ``POST /contacts/batch`` call. Brevo's definition states no maximum; 100 keeps a
call small and is what the toolkit sends (a refused call is split to find the refused contact)."""
BATCH_IDENTIFIERS = ("email", "id", "sms")
"""What identifies a contact in an ``updateBatchContacts`` item: exactly one of these (definition
``updateBatchContacts``: "only pass one of the supported contact identifiers. Email, id or sms")."""
EXT_ID = "EXT_ID"
"""The contact attribute Brevo keeps the external id in (the toolkit's Salesforce Id, SPEC B5)."""


def contact_ext_id(contact: dict[str, Any]) -> str | None:
    """The external id of a contact as Brevo returns it, or ``None`` when it has none.

    Brevo returns it as the attribute ``EXT_ID`` (``attributes.EXT_ID``): the official SDK's
    contact models (brevo-python 5.1.0 ``GetContactInfoResponse``, ``GetContactsResponse``
    items) define no top-level ``ext_id``. A top-level one is still read if a response ever
    carries it, since the request models (create, update, batch) do use that key.
    """
    attributes = contact.get("attributes")
    value = attributes.get(EXT_ID) if isinstance(attributes, dict) else None
    if value is None or value == "":
        value = contact.get("ext_id")
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    return str(value).strip() or None


def _identifier_params(identifier_type: str | None) -> dict[str, str]:
    if identifier_type is None:
        return {}
    if identifier_type not in IDENTIFIER_TYPES:
        raise ValueError(f"identifier_type must be one of {', '.join(IDENTIFIER_TYPES)}")
    return {"identifierType": identifier_type}


class ContactsMixin(BrevoApi):
    """``/contacts`` endpoints."""

    def iter_contacts(
        self,
        *,
        modified_since: datetime | None = None,
        list_id: int | None = None,
        page_size: int = CONTACTS_MAX_PAGE,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of contacts, oldest first, optionally only those modified after a moment.

        Pages are sorted by creation ascending, so that contacts created or modified while the
        pages are read land at the end instead of shifting the offsets of pages still to come.

        Args:
            modified_since: only contacts whose ``modifiedAt`` is after this moment (a naive
                datetime is UTC). Brevo compares with millisecond precision.
            list_id: only the members of this list (``listIds``: the definition's ``getContacts``,
                reference/brevo-api.md 1.5): a list's members 1,000 a call, where
                ``GET /contacts/lists/{id}/contacts`` gives at most 500.
            page_size: contacts per call (Brevo allows at most 1000).

        Yields:
            Lists of contacts as Brevo returns them (``id``, ``email``, ``modifiedAt``,
            ``listIds``, ``attributes`` with the external id as ``EXT_ID``...). The caller keeps its own cursor,
            e.g. the greatest ``modifiedAt`` it has processed.
        """
        params: dict[str, str] = {}
        if modified_since is not None:
            params["modifiedSince"] = format_brevo_datetime(modified_since)
        if list_id is not None:
            params["listIds"] = str(int(list_id))
        yield from self._paged(
            "/contacts", "contacts", page_size=page_size, params=params, max_page=CONTACTS_MAX_PAGE
        )

    def iter_list_contacts(
        self, list_id: int, page_size: int = LIST_CONTACTS_MAX_PAGE, *, modified_since: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of a list's members (at most 500 a call), oldest first.

        Diffing the members against the links finds contacts deleted in Brevo, which
        ``modifiedSince`` never reports; it costs ``members / page_size`` calls.
        """
        params: dict[str, str] = {}
        if modified_since is not None:
            params["modifiedSince"] = format_brevo_datetime(modified_since)
        yield from self._paged(
            "/contacts/lists/{list_id}/contacts",
            "contacts",
            page_size=page_size,
            params=params,
            path_params={"list_id": int(list_id)},
            max_page=LIST_CONTACTS_MAX_PAGE,
        )

    def get_contact(self, identifier: str | int, identifier_type: str | None = None) -> dict[str, Any] | None:
        """One contact, or ``None`` when Brevo does not know it.

        Args:
            identifier: an e-mail, a contact id, an SMS number or (with ``identifier_type``) an ext_id.
            identifier_type: ``email_id``, ``contact_id``, ``ext_id``, ``phone_id``...; an ext_id
                needs ``"ext_id"``.
        """
        try:
            return self._json(
                "GET",
                "/contacts/{identifier}",
                path_params={"identifier": identifier},
                params=_identifier_params(identifier_type),
            )
        except FatalApiError as exc:
            if exc.status == 404:
                return None
            raise

    def create_contact(
        self,
        *,
        email: str | None = None,
        ext_id: str | None = None,
        attributes: dict[str, Any] | None = None,
        list_ids: list[int] | None = None,
        update_enabled: bool = False,
    ) -> int | None:
        """Create one contact and return its id (``None`` when ``update_enabled`` updated one).

        Bulk writes go through :meth:`import_contacts`; this is for single records.

        Raises:
            FatalApiError: e.g. ``duplicate_parameter`` when an identifier belongs to another contact.
        """
        body: dict[str, Any] = {
            "email": email,
            "ext_id": ext_id,
            "attributes": attributes,
            "listIds": list_ids,
            "updateEnabled": update_enabled or None,
        }
        answer = self._json(
            "POST",
            "/contacts",
            json={k: v for k, v in body.items() if v is not None},
            idempotent=update_enabled,
        )  # a repeated create would hit its own duplicate
        return (
            self._field(answer, "id", int, method="POST", path="/contacts")
            if answer and "id" in answer
            else None
        )

    def update_contact(
        self,
        identifier: str | int,
        *,
        identifier_type: str | None = None,
        attributes: dict[str, Any] | None = None,
        ext_id: str | None = None,
        list_ids: list[int] | None = None,
        unlink_list_ids: list[int] | None = None,
        email_blacklisted: bool | None = None,
        sms_blacklisted: bool | None = None,
    ) -> None:
        """Update one contact (``attributes={"EMAIL": ...}`` changes its e-mail).

        ``email_blacklisted``/``sms_blacklisted`` set or clear the contact's blacklist flags
        (definition ``updateContact``: ``emailBlacklisted``, ``smsBlacklisted``); ``None`` leaves them.

        Raises:
            FatalApiError: 404 ``document_not_found``, or 400 when an identifier is taken.
        """
        body: dict[str, Any] = {
            "attributes": attributes,
            "ext_id": ext_id,
            "listIds": list_ids,
            "unlinkListIds": unlink_list_ids,
            "emailBlacklisted": email_blacklisted,
            "smsBlacklisted": sms_blacklisted,
        }
        self._call(
            "PUT",
            "/contacts/{identifier}",
            path_params={"identifier": identifier},
            params=_identifier_params(identifier_type),
            json={k: v for k, v in body.items() if v is not None},
        )

    def update_contacts(self, items: list[dict[str, Any]]) -> None:
        """Update several contacts, :data:`BATCH_UPDATE_MAX` a call (``POST /contacts/batch``).

        Each item names its contact by exactly one of ``email``, ``id`` or ``sms`` and carries
        what to change: ``attributes``, ``emailBlacklisted``, ``smsBlacklisted``, ``ext_id``,
        ``listIds``, ``unlinkListIds`` (definition ``updateBatchContacts``; brevo-python 5.1.0
        ``UpdateBatchContactsRequestContactsItem``). Brevo answers 204 once all are updated, no
        process to poll. The values are absolute, so a retry is harmless.

        Raises:
            ValueError: an item names no identifier or more than one.
            FatalApiError: 400 for a call Brevo refused (e.g. ``document_not_found``: a contact
                it does not know); the calls before it were made.
        """
        for position, item in enumerate(items):
            named = [k for k in BATCH_IDENTIFIERS if item.get(k) not in (None, "")]
            if len(named) != 1:
                raise ValueError(f"item {position} must name its contact by exactly one of email, id or sms")
        for start in range(0, len(items), BATCH_UPDATE_MAX):
            self._call(
                "POST",
                "/contacts/batch",
                json={"contacts": items[start : start + BATCH_UPDATE_MAX]},
                idempotent=True,
            )

    def delete_contact(self, identifier: str | int, identifier_type: str | None = None) -> bool:
        """Delete one contact; ``False`` when it did not exist (so a replayed delete is harmless)."""
        try:
            self._call(
                "DELETE",
                "/contacts/{identifier}",
                path_params={"identifier": identifier},
                params=_identifier_params(identifier_type),
            )
        except FatalApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True
