"""One Brevo account: its API key, owner and senders, contacts, lists, attributes, processes and sent e-mails."""

from __future__ import annotations

import copy
import secrets
import string
import threading
from typing import Any

from toolkit.sandbox.brevo.attributes import AttributeRegistry
from toolkit.sandbox.brevo.contact_ops import create_contact as _create_contact
from toolkit.sandbox.brevo.contacts import ContactStore
from toolkit.sandbox.brevo.lists import ListStore
from toolkit.sandbox.brevo.processes import ProcessManager
from toolkit.sandbox.brevo.profile import AccountProfile, SenderRecord, default_senders
from toolkit.sandbox.brevo.ratelimit import FixedWindowRateLimiter
from toolkit.sandbox.brevo.webhooks import WebhookDispatcher
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.variants import WireVariants

_ALNUM = string.ascii_letters + string.digits


def new_api_key() -> str:
    """A key shaped like Brevo's: ``xkeysib-`` + 64 hex + ``-`` + 16 alphanumerics."""
    return f"xkeysib-{secrets.token_hex(32)}-{''.join(secrets.choice(_ALNUM) for _ in range(16))}"


class BrevoAccount:
    """State of one sandbox Brevo account, shared by the HTTP API and the seeding code.

    A new account starts as a real one does: the default attributes, folder 1 "Your first
    folder" holding list 2 "Your first list". All state is guarded by ``lock`` (re-entrant).

    Attributes:
        api_key: the key the ``api-key`` header must carry.
        clock: the sandbox clock (``createdAt``/``modifiedAt`` of contacts).
        rate_limiter: the contacts endpoints' per-second limit (``make_app`` configures it).
        profile: the owner, company and plan ``GET /account`` shows (``profile.email`` is the
            account's e-mail).
        senders: the senders ``GET /senders`` lists; a new account has one active sender.
        api_key_name: the name of ``api_key`` (what contact webhooks carry as ``api_key_name``
            for changes made through the API).
        webhooks: the registered webhooks and the worker delivering their events
            (``webhooks.stop()`` ends deliveries when the sandbox stops).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        api_key: str | None = None,
        api_key_name: str = "sandbox",
        profile: AccountProfile | None = None,
        senders: list[SenderRecord] | None = None,
    ) -> None:
        self.clock = clock
        self.api_key = api_key or new_api_key()
        self.api_key_name = api_key_name
        self.profile = profile or AccountProfile()
        self.senders: list[SenderRecord] = (
            list(senders) if senders is not None else default_senders(self.profile)
        )
        self.lock = threading.RLock()
        self.contact_store = ContactStore(clock)
        self.webhooks = WebhookDispatcher(clock, self.lock)
        self.contact_store.webhooks = self.webhooks
        self.list_store = ListStore(clock)
        self.attributes = AttributeRegistry()
        self.processes = ProcessManager(self)
        self.emails: list[dict[str, Any]] = []
        self.rate_limiter = FixedWindowRateLimiter(10.0)
        self.variants = WireVariants(None)  # the documented forms; the runner picks per seed

    def __repr__(self) -> str:  # never show the key
        return f"<BrevoAccount contacts={len(self.contact_store.all())} lists={len(self.list_store.lists)}>"

    def create_folder(self, name: str) -> int:
        """Create a folder and return its id."""
        with self.lock:
            return self.list_store.create_folder(name).id

    def create_list(self, name: str, folder_id: int) -> int:
        """Create a list in a folder and return its id (``ValueError`` if the folder is unknown)."""
        with self.lock:
            return self.list_store.create_list(name, folder_id).id

    def create_contact(
        self,
        *,
        email: str | None = None,
        ext_id: str | None = None,
        attributes: dict[str, Any] | None = None,
        list_ids: list[int] | None = None,
    ) -> int:
        """Create a contact with the HTTP API's rules and return its id.

        Raises:
            BrevoError: (a ``ValueError``) for a missing or duplicate identifier, an invalid
                e-mail or phone number, or an unknown list.
        """
        body: dict[str, Any] = {
            "email": email,
            "ext_id": ext_id,
            "attributes": attributes or {},
            "listIds": list_ids or [],
        }
        _, contact_id = _create_contact(self, {k: v for k, v in body.items() if v is not None})
        assert contact_id is not None
        return contact_id

    def contacts(self) -> list[dict[str, Any]]:
        """Every contact as ``GET /contacts`` returns it, oldest first."""
        with self.lock:
            return [c.to_json(self.variants) for c in self.contact_store.all()]

    def sent_emails(self) -> list[dict[str, Any]]:
        """What ``POST /smtp/email`` accepted, in order (copies)."""
        with self.lock:
            return copy.deepcopy(self.emails)

    def wait_for_imports(self, timeout: float = 30.0) -> bool:
        """Wait until no import is queued or running; ``False`` on timeout."""
        return self.processes.wait_idle(timeout)

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild the account (JSON-serialisable; includes the API key)."""
        with self.lock:
            return {
                "api_key": self.api_key,
                "api_key_name": self.api_key_name,
                "profile": self.profile.to_dict(),
                "senders": [s.to_json() for s in self.senders],
                "contacts": self.contact_store.to_dict(),
                "lists": self.list_store.to_dict(),
                "attributes": self.attributes.to_dict(),
                "processes": self.processes.to_dict(),
                "emails": copy.deepcopy(self.emails),
                "webhooks": self.webhooks.to_dict(),
            }

    @classmethod
    def from_dict(cls, data: dict[str, Any], clock: Clock) -> BrevoAccount:
        """Rebuild an account written by ``to_dict``; unfinished imports run again."""
        profile = AccountProfile.from_dict(data["profile"]) if "profile" in data else None
        senders = [SenderRecord(**s) for s in data["senders"]] if "senders" in data else None
        account = cls(
            clock,
            api_key=data["api_key"],
            api_key_name=data.get("api_key_name", "sandbox"),
            profile=profile,
            senders=senders,
        )
        account.list_store = ListStore.from_dict(data["lists"], clock)
        account.attributes = AttributeRegistry.from_dict(data["attributes"])
        account.contact_store.load(data["contacts"])
        account.emails = copy.deepcopy(data["emails"])
        if "webhooks" in data:
            account.webhooks.load(data["webhooks"])
        account.processes.load(data["processes"])
        return account
