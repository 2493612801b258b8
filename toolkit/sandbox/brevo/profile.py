"""Who owns a sandbox Brevo account and who may send its e-mail: ``GET /account``, ``GET /senders``.

The shapes follow Brevo's definition (``getAccount``: ``getClient`` + ``address`` + ``plan`` +
``relay`` + ``marketingAutomation``; ``getSenders``: ``getSendersList``) and the models of
``brevo-python`` 5.1.0 (``GetAccountResponse`` adds ``organization_id``, ``user_id`` and
``enterprise`` as required fields; ``GetSendersResponseSendersItem`` requires ``ips``, "an empty
array" for an account without dedicated IPs). Both are satisfied at once: the definition allows
extra properties, the SDK's fields are all present.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["AccountProfile", "SenderRecord", "default_senders"]

SMTP_RELAY = "smtp-relay.brevo.com"
SMTP_PORT = 587


@dataclass
class SenderRecord:
    """One sender of the account (``getSendersList.senders[]``).

    Attributes:
        id: the sender's id. name: its "From" name. email: its "From" address.
        active: whether Brevo lets it send (a sender not yet validated is inactive).
        ips: dedicated IPs (``{"ip", "domain", "weight"}``); empty for a shared-IP account.
    """

    id: int
    name: str
    email: str
    active: bool = True
    ips: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The wire form of one ``senders`` item."""
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "active": self.active,
            "ips": [dict(ip) for ip in self.ips],
        }


@dataclass
class AccountProfile:
    """The account's owner and plan, as ``GET /account`` shows them.

    Attributes:
        email: the login e-mail (``getClient.email``), where Brevo writes to the account.
        first_name, last_name, company_name: the owner and the company.
        organization_id, user_id, enterprise: what ``brevo-python`` 5.1.0 requires besides.
        street, city, zip_code, country: the postal address (``getExtendedClient.address``).
        credits: the remaining e-mail credits of the plan (``plan[].credits``, a free plan).
    """

    email: str = "owner@brevo-sandbox.example.com"
    first_name: str = "Sandra"
    last_name: str = "Box"
    company_name: str = "Sandbox Company"
    organization_id: str = field(default_factory=lambda: secrets.token_hex(12))
    user_id: int = field(default_factory=lambda: 1_000_000 + secrets.randbelow(9_000_000))
    enterprise: bool = False
    street: str = "1 Sandbox Street"
    city: str = "Paris"
    zip_code: str = "75001"
    country: str = "France"
    credits: float = 300.0

    def to_json(self) -> dict[str, Any]:
        """The wire form of ``GET /account``."""
        return {
            "organization_id": self.organization_id,
            "user_id": self.user_id,
            "enterprise": self.enterprise,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "companyName": self.company_name,
            "address": {
                "street": self.street,
                "city": self.city,
                "zipCode": self.zip_code,
                "country": self.country,
            },
            "plan": [{"type": "free", "creditsType": "sendLimit", "credits": float(self.credits)}],
            "relay": {
                "enabled": True,
                "data": {"userName": self.email, "relay": SMTP_RELAY, "port": SMTP_PORT},
            },
            "marketingAutomation": {"enabled": False},
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild it (JSON-serialisable)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccountProfile:
        """Rebuild a profile written by :meth:`to_dict`."""
        return cls(**data)


def default_senders(profile: AccountProfile) -> list[SenderRecord]:
    """A new account's one active sender: the company's name at a ``noreply`` address of its domain."""
    domain = profile.email.rpartition("@")[2]
    return [SenderRecord(1, profile.company_name, f"noreply@{domain}")]
