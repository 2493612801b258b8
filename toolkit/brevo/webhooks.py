"""Webhooks the toolkit registers on the account (``/webhooks``), to hear of contact changes.

A marketing webhook with ``contactUpdated``, ``contactDeleted``, ``unsubscribed`` and
``listAddition`` makes Brevo POST each such change to ``url``, with ``Authorization: Bearer
<token>`` when a token is given (definition ``createWebhook``: ``auth {type: bearer, token}``).
The token is held as a :class:`~toolkit.credentials.Secret`: it never reaches a log or a repr.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from toolkit.credentials import Secret
from toolkit.exceptions import FatalApiError, ProtocolError
from toolkit.timestamps import parse_brevo_datetime

from .base import BrevoApi

__all__ = ["CONTACT_EVENTS", "Webhook", "WebhooksMixin"]

#: The marketing events that tell of a contact's change (definition ``createWebhook`` events).
CONTACT_EVENTS = ("contactUpdated", "contactDeleted", "unsubscribed", "listAddition")


@dataclass(frozen=True, slots=True)
class Webhook:
    """One webhook as ``GET /webhooks`` lists it (definition ``getWebhook``).

    Attributes:
        id: Brevo's id of the webhook.
        url: where Brevo posts the events.
        events: the events it is subscribed to (``contactUpdated``...).
        type: ``marketing``, ``transactional`` or ``inbound``.
        description: free text.
        created_at, modified_at: when it was registered and last changed (UTC).
        batched: whether Brevo batches the events it posts.
        token: the bearer token Brevo sends back (``None`` without ``auth``); a ``Secret``.
    """

    id: int
    url: str
    events: tuple[str, ...]
    type: str
    description: str
    created_at: datetime | None
    modified_at: datetime | None
    batched: bool = False
    token: Secret | None = field(default=None, repr=False, compare=False)


def _webhook(item: dict[str, Any]) -> Webhook:
    auth = item.get("auth")
    token = auth.get("token") if isinstance(auth, dict) else None
    events = item.get("events") or []
    if not isinstance(events, list):
        raise TypeError("events")
    return Webhook(
        id=int(item["id"]),
        url=str(item["url"]),
        events=tuple(str(e) for e in events),
        type=str(item.get("type") or ""),
        description=str(item.get("description") or ""),
        created_at=parse_brevo_datetime(item["createdAt"]) if item.get("createdAt") else None,
        modified_at=parse_brevo_datetime(item["modifiedAt"]) if item.get("modifiedAt") else None,
        batched=item.get("batched") is True,
        token=Secret(token) if isinstance(token, str) and token else None,
    )


class WebhooksMixin(BrevoApi):
    """``/webhooks``."""

    def create_webhook(
        self,
        url: str,
        events: Sequence[str] = CONTACT_EVENTS,
        *,
        token: Secret | str | None = None,
        description: str = "",
        type: str = "marketing",
    ) -> int:
        """Register a webhook and return its id.

        Args:
            url: the URL Brevo posts the events to.
            events: the events to subscribe to (by default the four contact events).
            token: a bearer token Brevo sends back in ``Authorization`` (``None``: no auth).
            description: shown in Brevo's webhook settings.
            type: ``marketing`` (contact and campaign events), ``transactional`` or ``inbound``.
        """
        body: dict[str, Any] = {"url": url, "events": list(events), "type": type}
        if description:
            body["description"] = description
        if token is not None:
            secret = token if isinstance(token, Secret) else Secret(token)
            body["auth"] = {"type": "bearer", "token": secret.reveal()}
        answer = self._json("POST", "/webhooks", json=body)
        return self._field(answer, "id", int, method="POST", path="/webhooks")

    def list_webhooks(self, type: str = "marketing") -> list[Webhook]:
        """The account's webhooks of one type, oldest first.

        Raises:
            ProtocolError: ``webhooks`` is not a list of webhooks.
        """
        answer = self._json("GET", "/webhooks", params={"type": type, "sort": "asc"}) or {}
        items = answer.get("webhooks")
        try:
            if not isinstance(items, list):
                raise TypeError("webhooks")
            return [_webhook(item) for item in items]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ProtocolError(
                "the answer's 'webhooks' is not a list of webhooks",
                service="brevo",
                method="GET",
                path="/webhooks",
            ) from None

    def delete_webhook(self, webhook_id: int, *, missing_ok: bool = False) -> None:
        """Delete a webhook (Brevo stops posting to it).

        Args:
            missing_ok: one already gone is fine. Brevo's delete-webhook reference lists the code
                ``document_not_found`` without showing its status (``reference/brevo-api.md`` §6):
                a 404, or that code with another status, means gone.
        """
        try:
            self._call("DELETE", "/webhooks/{webhook_id}", path_params={"webhook_id": int(webhook_id)})
        except FatalApiError as exc:
            if not (missing_ok and (exc.status == 404 or exc.code == "document_not_found")):
                raise
