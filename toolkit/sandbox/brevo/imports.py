"""``POST /contacts/import``: the request, its rows (jsonBody or CSV fileBody) and one row's outcome.

A row is matched to an existing contact by ext_id first, then e-mail, then SMS (Brevo's
identifier priority). When its identifiers point at two different contacts, the sandbox does
NOT merge them: the row is skipped and reported (``duplicate_email_id``, ``duplicate_phone_id``
or ``duplicate_ext_id``), so that a sync sees the conflict instead of losing a contact.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.sandbox.brevo.contacts import ContactPatch
from toolkit.sandbox.brevo.errors import invalid, missing
from toolkit.sandbox.brevo.formats import bool_field, int_list, normalize_email, normalize_phone
from toolkit.sandbox.brevo.webhooks import API_KEY_NAME

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.account import BrevoAccount

MAX_BODY_BYTES = 10 * 1024 * 1024
#: The problem reports of ``info.import`` (brevo-python v4 ``GetProcessResponseInfoImport``).
REPORT_KINDS = (
    "invalid_emails",
    "duplicate_contact_id",
    "duplicate_ext_id",
    "duplicate_email_id",
    "duplicate_phone_id",
    "duplicate_whatsapp_id",
    "duplicate_landline_number_id",
)
_IDENTIFIERS = ("EMAIL", "EXT_ID", "SMS")


@dataclass
class ImportJob:
    """What one import asked for; ``json_body`` or ``file_body`` holds the rows."""

    list_ids: list[int]
    json_body: list[dict[str, Any]] | None = None
    file_body: str | None = None
    update_existing: bool = True
    empty_attributes: bool = False
    email_blacklist: bool = False
    sms_blacklist: bool = False
    api_key_name: str = ""  # the key that asked for the import (webhooks' ``api_key_name``)

    def rows(self) -> Iterator[tuple[int, dict[str, Any], bool]]:
        """``(line, row, from_text)`` for every row; CSV lines count the header as line 1."""
        if self.json_body is not None:
            for index, row in enumerate(self.json_body, start=1):
                yield index, row if isinstance(row, dict) else {}, False
            return
        reader = csv.reader(io.StringIO(self.file_body or ""), delimiter=";")
        header = [h.strip().lstrip("\ufeff").upper() for h in next(reader, [])]
        for line, values in enumerate(reader, start=2):
            if any(v.strip() for v in values):
                yield line, {"attributes": dict(zip(header, (v.strip() for v in values)))}, True


def parse_import_request(account: BrevoAccount, body: dict[str, Any], size: int) -> ImportJob:
    """Validate an import request (the caller holds the account lock); creates ``newList``.

    Raises:
        BrevoError: 400 for a body over 10 MB, no or several sources, missing or unknown lists.
    """
    if size > MAX_BODY_BYTES:
        raise invalid("Maximum allowed body size is 10MB. Please use fileUrl instead to import bigger files.")
    sources = [k for k in ("fileUrl", "fileBody", "jsonBody") if body.get(k) not in (None, "", [])]
    if not sources:
        raise missing("Either fileUrl, fileBody or jsonBody is mandatory")
    if len(sources) > 1:
        raise invalid("Pass only one of fileUrl, fileBody or jsonBody")
    if sources[0] == "fileUrl":
        raise invalid("fileUrl cannot be fetched by the sandbox: send the rows as fileBody or jsonBody")
    if sources[0] == "jsonBody" and not (
        isinstance(body["jsonBody"], list) and all(isinstance(r, dict) for r in body["jsonBody"])
    ):
        raise invalid("jsonBody should be an array of objects")
    if sources[0] == "fileBody" and not isinstance(body["fileBody"], str):
        raise invalid("fileBody should be a string")
    list_ids = list(int_list(body, "listIds") or [])
    unknown = account.list_store.missing_lists(list_ids)
    if unknown:
        raise invalid(f"Invalid listIds: {', '.join(str(i) for i in unknown)}")
    new_list = body.get("newList")
    if new_list is not None:
        if not isinstance(new_list, dict):
            raise invalid("newList should be an object")
        list_ids.append(account.list_store.create_list(new_list.get("listName"), new_list.get("folderId")).id)
    if not list_ids:
        raise missing("listIds is mandatory if newList is not passed")
    return ImportJob(
        list_ids=list_ids,
        json_body=body.get("jsonBody"),
        file_body=body.get("fileBody"),
        update_existing=bool(bool_field(body, "updateExistingContacts", True)),
        empty_attributes=bool(bool_field(body, "emptyContactsAttributes", False)),
        email_blacklist=bool(bool_field(body, "emailBlacklist", False)),
        sms_blacklist=bool(bool_field(body, "smsBlacklist", False)),
        api_key_name=API_KEY_NAME.get(),
    )


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def import_row(
    account: BrevoAccount, job: ImportJob, row: dict[str, Any], from_text: bool
) -> tuple[str, str] | None:
    """Import one row (the caller holds the account lock); ``(report kind, reason)`` when skipped."""
    raw_attributes = row.get("attributes")
    attributes = (
        {str(k).upper(): v for k, v in raw_attributes.items()} if isinstance(raw_attributes, dict) else {}
    )
    email_raw = row.get("email") if not _empty(row.get("email")) else attributes.get("EMAIL")
    # A jsonBody item has only ``email`` and ``attributes`` (brevo-python 5.1.0
    # ``ImportContactsRequestJsonBodyItem``): the external id is ``attributes.EXT_ID``, and any
    # other key of the item (a top-level ``ext_id`` included) is ignored.
    ext_raw = attributes.get("EXT_ID")
    sms_raw = attributes.get("SMS")
    email = None if _empty(email_raw) else normalize_email(email_raw)
    if email is None and not _empty(email_raw):
        return "invalid_emails", "Invalid email address"
    sms = None if _empty(sms_raw) else normalize_phone(sms_raw)
    # An SMS number without a valid country code is a value that does not fit its attribute:
    # "Values that don't match the attribute type ... will be ignored" (createContact); the SDK's
    # import report kinds have none for it, so the row is imported without it.
    ext_id = None if _empty(ext_raw) or isinstance(ext_raw, (dict, list)) else str(ext_raw).strip()
    if not (email or sms or ext_id):
        return "invalid_emails", "No valid email, SMS or ext_id"

    store = account.contact_store
    by_ext, by_email, by_sms = store.by_ext_id(ext_id), store.by_email(email), store.by_sms(sms)
    target = by_ext or by_email or by_sms
    if by_email is not None and by_email is not target:
        return "duplicate_email_id", "The email belongs to another contact than the ext_id"
    if by_sms is not None and by_sms is not target:
        return "duplicate_phone_id", "The SMS number belongs to another contact"
    if ext_id and target is not None and target.ext_id not in (None, ext_id):
        return "duplicate_ext_id", "The contact matched by email or SMS has another ext_id"

    patch = ContactPatch(add_lists=list(job.list_ids))
    if job.email_blacklist:
        patch.email_blacklisted = True
    if job.sms_blacklist:
        patch.sms_blacklisted = True
    if target is None or job.update_existing:
        _fill_patch(account, job, patch, attributes, from_text, erase=target is not None)
        for name, value in (("email", email), ("ext_id", ext_id), ("sms", sms)):
            if value:
                setattr(patch, name, value)
        if (
            target is not None
            and job.empty_attributes
            and "SMS" in attributes
            and _empty(sms_raw)
            and (target.email or email or target.ext_id or ext_id)
        ):
            patch.sms = None
    if target is None:
        store.create(patch)
    else:
        store.apply(target, patch)
    return None


def _fill_patch(
    account: BrevoAccount,
    job: ImportJob,
    patch: ContactPatch,
    attributes: dict[str, Any],
    from_text: bool,
    *,
    erase: bool,
) -> None:
    for name, value in attributes.items():
        if name in _IDENTIFIERS:
            continue
        definition = account.attributes.get(name)
        if definition is None:
            continue  # "Any contact attribute that doesn't exist in your account will be ignored"
        if _empty(value):
            if erase and job.empty_attributes:
                patch.attributes[definition.name] = None
            continue
        accepted, stored = definition.coerce(value, from_text=from_text)
        if accepted:
            patch.attributes[definition.name] = stored
