"""The account itself and its senders: who Brevo writes to, and who may send (``/account``, ``/senders``).

The quota e-mails use them when no address is configured (:mod:`toolkit.notify`): as Brevo's own
integrations do, they go to the account's e-mail, from one of its active senders.
"""

from __future__ import annotations

from typing import Any

from toolkit.exceptions import ProtocolError

from .base import BrevoApi

__all__ = ["AccountMixin", "pick_sender"]


class AccountMixin(BrevoApi):
    """``/account`` and ``/senders``."""

    def account(self) -> dict[str, Any]:
        """The account's details (``GET /account``): ``email`` (the login e-mail), ``firstName``,
        ``lastName``, ``companyName``, ``plan``, ``relay``...

        Raises:
            ProtocolError: the answer has no usable ``email``.
        """
        answer: dict[str, Any] = self._json("GET", "/account") or {}
        self._field(answer, "email", _text, method="GET", path="/account")
        return answer

    def senders(self, *, domain: str | None = None) -> list[dict[str, Any]]:
        """The account's senders (``GET /senders``): ``id``, ``name``, ``email``, ``active``, ``ips``.

        Args:
            domain: only the senders of this e-mail domain.

        Raises:
            ProtocolError: ``senders`` is not a list of objects.
        """
        answer = self._json("GET", "/senders", params={"domain": domain} if domain else None) or {}
        senders = answer.get("senders") or []
        if not isinstance(senders, list) or not all(isinstance(s, dict) for s in senders):
            raise ProtocolError(
                "the answer's 'senders' is not a list of objects",
                service="brevo",
                method="GET",
                path="/senders",
            )
        return senders


def pick_sender(senders: list[dict[str, Any]], prefer: str | None = None) -> dict[str, Any] | None:
    """The sender to send from: an active one, the one with the address ``prefer`` if it is active,
    else the active sender with the lowest id; ``None`` when no sender is active."""
    active = [
        s for s in senders if s.get("active") is True and isinstance(s.get("email"), str) and s["email"]
    ]
    if prefer:
        for sender in active:
            if sender["email"].lower() == prefer.lower():
                return sender
    return min(active, key=_sender_id, default=None)


def _sender_id(sender: dict[str, Any]) -> int:
    value = sender.get("id")
    return value if isinstance(value, int) else 0


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(value)
    return value
