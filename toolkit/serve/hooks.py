"""The Brevo marketing webhooks ``toolkit serve`` keeps registered: one per active integration.

:func:`sync_webhooks` makes Brevo's registrations match the integrations, idempotently:

- an **active** integration, with a public URL configured, has one marketing webhook
  (``contactUpdated``, ``contactDeleted``, ``unsubscribed``, ``listAddition``) posting to
  :func:`~toolkit.serve.receiver.hook_url` with a bearer token of its own
  (``secrets.token_urlsafe(32)``, kept in the credentials as ``("brevo_webhook", <name>,
  "token")``, where the receiver checks it). It is registered when missing (none recorded, or
  the recorded one is gone at Brevo), registered again when the URL changed (the old one
  deleted), and left alone otherwise;
- any other integration (draft, stopped, in error) and every integration when no public URL is
  configured has none: a recorded webhook is deleted at Brevo (one already gone, 404, is fine),
  ``webhook_id``/``webhook_url`` are cleared and its token is forgotten.

The token is saved before the webhook is created, so Brevo's first delivery is already
authenticated; it never appears in what the function returns or logs.
"""

from __future__ import annotations

import logging
import secrets

from ..api import Toolkit
from ..brevo.events import EventKind
from ..brevo.webhooks import Webhook
from ..credentials import Secret
from ..store import Integration, IntegrationStatus
from .receiver import TOKEN_FIELD, TOKEN_KIND, hook_url

__all__ = ["HOOK_DESCRIPTION", "HOOK_EVENTS", "sync_webhooks"]

log = logging.getLogger(__name__)

HOOK_EVENTS: tuple[str, ...] = tuple(kind.subscription for kind in EventKind)
"""What the webhooks subscribe to (``createWebhook``'s names of the four contact events)."""
HOOK_DESCRIPTION = "sf-brevo-toolkit: {name}"
"""The description shown in Brevo's webhook settings."""


def sync_webhooks(tk: Toolkit, public_url: str | None) -> list[str]:
    """Register, re-register or delete the integrations' Brevo webhooks; what changed, for the log.

    Args:
        tk: the toolkit.
        public_url: the base URL at which Brevo reaches the receiver (``toolkit serve``'s
            setting); ``None`` or empty: no webhooks at all.

    Returns:
        One line per change (``"contacts: webhook 3 registered for https://..."``); empty when
        everything was as it should be already.
    """
    changed: list[str] = []
    listed: dict[str, dict[int, Webhook]] = {}
    for integration in tk.store.list_integrations():
        wanted = bool(public_url) and integration.status == IntegrationStatus.ACTIVE
        if wanted and public_url:
            url = hook_url(public_url, integration.name)
            brevo = tk.brevo(integration.brevo_account)
            if integration.brevo_account not in listed:
                listed[integration.brevo_account] = {w.id: w for w in brevo.list_webhooks("marketing")}
            registered = listed[integration.brevo_account]
            if _current(tk, integration, url, registered):
                continue
            if integration.webhook_id is not None:
                brevo.delete_webhook(integration.webhook_id, missing_ok=True)
                changed.append(f"{integration.name}: webhook {integration.webhook_id} deleted (URL changed)")
            token = secrets.token_urlsafe(32)
            tk.credentials.set(TOKEN_KIND, integration.name, TOKEN_FIELD, token)
            webhook_id = brevo.create_webhook(
                url,
                HOOK_EVENTS,
                token=Secret(token),
                description=HOOK_DESCRIPTION.format(name=integration.name),
            )
            tk.store.update_integration(integration.name, webhook_id=webhook_id, webhook_url=url)
            changed.append(f"{integration.name}: webhook {webhook_id} registered for {url}")
        elif integration.webhook_id is not None or integration.webhook_url is not None:
            if integration.webhook_id is not None:
                tk.brevo(integration.brevo_account).delete_webhook(integration.webhook_id, missing_ok=True)
            tk.store.update_integration(integration.name, webhook_id=None, webhook_url=None)
            tk.credentials.delete(TOKEN_KIND, integration.name, TOKEN_FIELD)
            changed.append(f"{integration.name}: webhook {integration.webhook_id} deleted")
    for line in changed:
        log.info("%s", line)
    return changed


def _current(tk: Toolkit, integration: Integration, url: str, registered: dict[int, Webhook]) -> bool:
    """Whether the integration's recorded webhook is registered at Brevo for ``url``, with its token kept."""
    if integration.webhook_id is None or integration.webhook_url != url:
        return False
    webhook = registered.get(integration.webhook_id)
    if webhook is None or webhook.url != url:
        return False
    kept = tk.credentials.find(TOKEN_KIND, integration.name, TOKEN_FIELD)
    if kept is None:
        return False  # the receiver could authenticate nothing: register again with a new token
    return webhook.token is None or webhook.token == kept  # Brevo shows the token back (getWebhook)
