"""Contacts and their identifier indexes (e-mail, ext_id, SMS) plus list membership.

Not thread-safe on its own: every caller holds the account lock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from toolkit.sandbox.brevo.errors import invalid
from toolkit.sandbox.brevo.formats import (
    TIMESTAMP_FORMS,
    format_ts,
    is_digits,
    normalize_email,
    normalize_phone,
)
from toolkit.sandbox.brevo.webhooks import API_KEY_NAME
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.variants import WireVariants

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.webhooks import WebhookDispatcher

_NO_VARIANTS = WireVariants(None)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
IDENTIFIER_TYPES = ("email_id", "contact_id", "ext_id", "phone_id", "whatsapp_id", "landline_number_id")


@dataclass
class ContactPatch:
    """A validated change to one contact; ``UNSET`` leaves a field alone, ``None`` removes it."""

    email: Any = UNSET
    ext_id: Any = UNSET
    sms: Any = UNSET
    attributes: dict[str, Any] = field(default_factory=dict)
    email_blacklisted: bool | None = None
    sms_blacklisted: bool | None = None
    add_lists: list[int] = field(default_factory=list)
    remove_lists: list[int] = field(default_factory=list)
    smtp_blacklist_sender: list[str] | None = None

    def identifiers(self) -> dict[str, str]:
        """The identifiers this patch sets, by Brevo's names (``email``, ``SMS``, ``ext_id``)."""
        found = {"email": self.email, "SMS": self.sms, "ext_id": self.ext_id}
        return {k: v for k, v in found.items() if v is not UNSET and v is not None}


@dataclass
class Contact:
    """One Brevo contact."""

    id: int
    created_at: datetime
    modified_at: datetime
    email: str | None = None
    ext_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    list_ids: set[int] = field(default_factory=set)
    email_blacklisted: bool = False
    sms_blacklisted: bool = False
    smtp_blacklist_sender: list[str] = field(default_factory=list)

    @property
    def sms(self) -> str | None:
        """The SMS number (digits with country code), kept in the ``SMS`` attribute."""
        return self.attributes.get("SMS")

    def to_json(self, variants: WireVariants | None = None) -> dict[str, Any]:
        """The contact as ``GET /contacts`` returns it (timestamps in the form ``variants`` picks).

        The external id is the contact attribute ``EXT_ID`` there, never a top-level key: the
        official SDK's ``GetContactInfoResponse`` (brevo-python 5.1.0; getbrevo/brevo-python v4
        ``contacts/types/get_contact_info_response.py``) has no ``ext_id`` field, and its
        ``reference.md`` calls the identifier "ext_id for EXT_ID attribute".
        """
        body: dict[str, Any] = {}
        if self.email is not None:
            body["email"] = self.email
        body["id"] = self.id
        attributes = dict(self.attributes)
        if self.ext_id is not None:
            attributes["EXT_ID"] = self.ext_id
        form = (variants or _NO_VARIANTS).pick("brevo.timestamp", self.id, TIMESTAMP_FORMS)
        # whatsappBlacklisted: required in brevo-python 5.1.0 GetContactDetails / GetContactInfoResponse.
        body.update(
            {
                "emailBlacklisted": self.email_blacklisted,
                "smsBlacklisted": self.sms_blacklisted,
                "whatsappBlacklisted": False,
                "createdAt": format_ts(self.created_at, form),
                "modifiedAt": format_ts(self.modified_at, form),
                "listIds": sorted(self.list_ids),
                "attributes": attributes,
            }
        )
        return body

    def state(self) -> tuple[Any, ...]:
        """Everything that, when it changes, moves ``modifiedAt``."""
        return (
            self.email,
            self.ext_id,
            dict(self.attributes),
            frozenset(self.list_ids),
            self.email_blacklisted,
            self.sms_blacklisted,
            list(self.smtp_blacklist_sender),
        )


class ContactStore:
    """All contacts of an account, in creation order, with unique identifier indexes."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._contacts: dict[int, Contact] = {}
        self._by_email: dict[str, int] = {}
        self._by_ext: dict[str, int] = {}
        self._by_sms: dict[str, int] = {}
        self._members: dict[int, set[int]] = defaultdict(set)
        self._ordered: dict[int, list[int]] = {}  # members() of a list, until its membership changes
        self.next_id = 1
        self.webhooks: WebhookDispatcher | None = None  # told of every change (the account sets it)

    def all(self) -> list[Contact]:
        """Every contact, oldest first."""
        return list(self._contacts.values())

    def get(self, contact_id: int) -> Contact | None:
        """The contact with this id, or ``None`` (so are the ``by_*`` look-ups)."""
        return self._contacts.get(contact_id)

    def by_email(self, email: str | None) -> Contact | None:
        return self._contacts.get(self._by_email.get(email, 0)) if email else None

    def by_ext_id(self, ext_id: str | None) -> Contact | None:
        return self._contacts.get(self._by_ext.get(ext_id, 0)) if ext_id else None

    def by_sms(self, sms: str | None) -> Contact | None:
        return self._contacts.get(self._by_sms.get(sms, 0)) if sms else None

    def members(self, list_id: int) -> list[Contact]:
        """Contacts of one list, oldest first (ids grow with creation).

        The order is kept until the list's membership changes: a client paging through a large
        list (1,000 a call) would otherwise cost a sort of the whole list per page.
        """
        ordered = self._ordered.get(list_id)
        if ordered is None:
            ordered = self._ordered[list_id] = sorted(self._members.get(list_id, ()))
        return [self._contacts[i] for i in ordered]

    def find(
        self, identifier: str, identifier_type: str | None, *, allow_phone: bool = True
    ) -> Contact | None:
        """Resolve ``/contacts/{identifier}`` the way Brevo does.

        Without ``identifierType`` an e-mail, a contact id or (for GET, ``allow_phone``) an SMS
        number is accepted; an ext_id needs ``identifierType=ext_id``.
        """
        if identifier_type is None:
            if "@" in identifier:
                return self.by_email(identifier.strip().lower())
            if is_digits(identifier):
                found = self.get(int(identifier))
                return found if found or not allow_phone else self.by_sms(normalize_phone(identifier))
            return (
                self.by_sms(normalize_phone(identifier))
                if allow_phone and identifier.startswith("+")
                else None
            )
        if identifier_type not in IDENTIFIER_TYPES:
            raise invalid("identifierType is not valid")
        if identifier_type == "email_id":
            return self.by_email(normalize_email(identifier))
        if identifier_type == "contact_id":
            if not is_digits(identifier):
                raise invalid("identifier is not a valid contact id")
            return self.get(int(identifier))
        if identifier_type == "ext_id":
            return self.by_ext_id(identifier)
        if identifier_type == "phone_id":
            return self.by_sms(normalize_phone(identifier))
        name = "WHATSAPP" if identifier_type == "whatsapp_id" else "LANDLINE_NUMBER"
        wanted = normalize_phone(identifier) or identifier
        return next(
            (
                c
                for c in self._contacts.values()
                if (normalize_phone(c.attributes.get(name)) or c.attributes.get(name)) == wanted
            ),
            None,
        )

    def conflicts(self, target: Contact | None, patch: ContactPatch) -> list[str]:
        """Identifiers of ``patch`` that already belong to another contact than ``target``."""
        owners = {"email": self._by_email, "SMS": self._by_sms, "ext_id": self._by_ext}
        own_id = target.id if target else None
        return [
            name for name, value in patch.identifiers().items() if owners[name].get(value, own_id) != own_id
        ]

    def create(self, patch: ContactPatch) -> Contact:
        """A new contact from ``patch`` (identifier conflicts are checked by the caller)."""
        now = self.clock.now()
        contact = Contact(id=self.next_id, created_at=now, modified_at=now)
        self.next_id += 1
        self._contacts[contact.id] = contact
        self._apply(contact, patch)
        contact.modified_at = now
        if self.webhooks is not None and self.webhooks.listening():
            self.webhooks.contact_changed(
                contact,
                content={},
                added_lists=sorted(contact.list_ids),
                unsubscribed=contact.email_blacklisted,
                api_key_name=API_KEY_NAME.get(),
            )
        return contact

    def apply(self, contact: Contact, patch: ContactPatch) -> bool:
        """Apply ``patch``; ``modifiedAt`` moves only when something actually changed.

        The account's webhooks are told what changed: the attributes (``EMAIL`` and ``EXT_ID``
        included; ``None`` for a removed one), the lists the contact joined, and whether its
        e-mail became blacklisted (an unsubscribe).
        """
        if self.webhooks is None or not self.webhooks.listening():
            return self._apply(contact, patch)  # no snapshot to take (imports of 1M rows)
        before = contact.to_json()["attributes"] | {"EMAIL": contact.email}
        lists, blacklisted = set(contact.list_ids), contact.email_blacklisted
        changed = self._apply(contact, patch)
        if changed:
            after = contact.to_json()["attributes"] | {"EMAIL": contact.email}
            content = {k: after.get(k) for k in {*before, *after} if before.get(k) != after.get(k)}
            self.webhooks.contact_changed(
                contact,
                content=dict(sorted(content.items())),
                added_lists=sorted(contact.list_ids - lists),
                unsubscribed=contact.email_blacklisted and not blacklisted,
                api_key_name=API_KEY_NAME.get(),
            )
        return changed

    def _apply(self, contact: Contact, patch: ContactPatch) -> bool:
        before = contact.state()
        if patch.email is not UNSET and patch.email != contact.email:
            self._reindex(self._by_email, contact.email, patch.email, contact.id)
            contact.email = patch.email
            if contact.email_blacklisted and patch.email_blacklisted is None:
                contact.email_blacklisted = False  # a new address is resubscribed
        if patch.ext_id is not UNSET and patch.ext_id != contact.ext_id:
            self._reindex(self._by_ext, contact.ext_id, patch.ext_id, contact.id)
            contact.ext_id = patch.ext_id
        if patch.sms is not UNSET and patch.sms != contact.sms:
            self._reindex(self._by_sms, contact.sms, patch.sms, contact.id)
            if patch.sms is None:
                contact.attributes.pop("SMS", None)
            else:
                contact.attributes["SMS"] = patch.sms
        for name, value in patch.attributes.items():
            if value is None:
                contact.attributes.pop(name, None)
            else:
                contact.attributes[name] = value
        if patch.email_blacklisted is not None:
            contact.email_blacklisted = patch.email_blacklisted
        if patch.sms_blacklisted is not None:
            contact.sms_blacklisted = patch.sms_blacklisted
        if patch.add_lists or patch.remove_lists:
            self._set_lists(contact, (contact.list_ids | set(patch.add_lists)) - set(patch.remove_lists))
        if patch.smtp_blacklist_sender:
            contact.smtp_blacklist_sender.extend(
                s for s in patch.smtp_blacklist_sender if s not in contact.smtp_blacklist_sender
            )
        # modifiedAt: "Last modification UTC date-time of the contact" (definition getContactDetails,
        # openapi-v3.yml); getContacts' modifiedSince filters "the contacts modified after" a moment.
        # The blacklist flags are part of state(): an unsubscribe or re-subscribe is a modification,
        # so an incremental read (modifiedSince) sees it (B8 relies on this).
        changed = contact.state() != before
        if changed:
            contact.modified_at = self.clock.now()
        return changed

    def delete(self, contact: Contact) -> None:
        """Remove a contact, its identifiers and its list memberships."""
        if self.webhooks is not None:
            self.webhooks.contact_deleted(contact)
        for index, key in (
            (self._by_email, contact.email),
            (self._by_ext, contact.ext_id),
            (self._by_sms, contact.sms),
        ):
            if key is not None:
                index.pop(key, None)
        self._set_lists(contact, set())
        del self._contacts[contact.id]

    def drop_list(self, list_id: int) -> None:
        """Remove a deleted list from its members (their ``modifiedAt`` moves)."""
        for contact in self.members(list_id):
            self.apply(contact, ContactPatch(remove_lists=[list_id]))
        self._members.pop(list_id, None)
        self._ordered.pop(list_id, None)

    def drop_attribute(self, name: str) -> None:
        """Forget the values of a deleted attribute."""
        for contact in self._contacts.values():
            contact.attributes.pop(name, None)

    def _set_lists(self, contact: Contact, new: set[int]) -> None:
        for list_id in contact.list_ids ^ new:
            self._ordered.pop(list_id, None)
        for list_id in contact.list_ids - new:
            self._members[list_id].discard(contact.id)
        for list_id in new - contact.list_ids:
            self._members[list_id].add(contact.id)
        contact.list_ids = new

    @staticmethod
    def _reindex(index: dict[str, int], old: str | None, new: str | None, contact_id: int) -> None:
        if old is not None:
            index.pop(old, None)
        if new is not None:
            index[new] = contact_id

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable contents (for ``BrevoAccount.to_dict``)."""
        return {
            "next_id": self.next_id,
            "contacts": [
                {
                    **c.__dict__,
                    "created_at": c.created_at.isoformat(),
                    "modified_at": c.modified_at.isoformat(),
                    "list_ids": sorted(c.list_ids),
                    "attributes": dict(c.attributes),
                    "smtp_blacklist_sender": list(c.smtp_blacklist_sender),
                }
                for c in self._contacts.values()
            ],
        }

    def load(self, data: dict[str, Any]) -> None:
        """Replace the contents with what ``to_dict`` wrote."""
        for item in data["contacts"]:
            contact = Contact(
                **{
                    **item,
                    "created_at": datetime.fromisoformat(item["created_at"]),
                    "modified_at": datetime.fromisoformat(item["modified_at"]),
                    "list_ids": set(),
                }
            )
            self._contacts[contact.id] = contact
            self._reindex(self._by_email, None, contact.email, contact.id)
            self._reindex(self._by_ext, None, contact.ext_id, contact.id)
            self._reindex(self._by_sms, None, contact.sms, contact.id)
            self._set_lists(contact, set(item["list_ids"]))
        self.next_id = data["next_id"]
