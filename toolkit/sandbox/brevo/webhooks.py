"""Webhooks of an account (``/v3/webhooks``) and the worker that delivers marketing events.

Registration follows the definition (``createWebhook``, ``updateWebhook``, ``getWebhook``).
When a contact changes, every marketing webhook subscribed to the event gets a real HTTP POST
with a JSON body shaped as Brevo's "Marketing webhooks" page shows
(https://developers.brevo.com/docs/marketing-webhooks):

====================  =====================  ==================================================
event (API name)      ``event`` in body      fields
====================  =====================  ==================================================
``contactUpdated``    ``contact_updated``    id, email, event, key, content, date, ts, api_key_name
``contactDeleted``    ``contact_deleted``    id, email, event, key, list_id, date, ts
``listAddition``      ``list_addition``      id, email, event, key, list_id, date, ts, api_key_name
``unsubscribed``      ``unsubscribed``       id, email, event, list_id, date_event, ts_event, ts
====================  =====================  ==================================================

``id`` is the webhook's id ("Internal id of webhook"), ``content`` the changed attributes
(``EMAIL``/``EXT_ID`` included, ``null`` for a removed one), ``list_id`` the lists added to
(list_addition) or the contact's lists; ``api_key_name`` comes from the changelog of
2026-11-01 (https://developers.brevo.com/changelog/2026/11/1). The page's unsubscribe event is a
campaign's (camp_id, campaign name, date_sent, ts_sent, tag, sending_ip): the sandbox sends no
campaigns, so those are left out. A ``batched`` webhook gets a JSON array (of one event). A
contact without an e-mail address (SMS only) gets no event at all: the documented payloads all
carry ``email`` and none shows ``null`` there (see ``_emit``).

Deliveries run in a background thread (alive only while deliveries are due, stopped by
``WebhookDispatcher.stop``) and are retried as Brevo's "Retry mechanism" page says
(https://developers.brevo.com/docs/retry-mechanism): 4 retries after the first attempt, 10 min,
1 h, 2 h and 8 h later, for a connection failure, a timeout or a 429; any other 4xx and any 5xx
"stop all retry attempts and discard the webhook". The delays are multiplied by
``retry_scale`` (a sandbox setting, ``PUT /_sandbox/brevo/webhook-retry``) so that tests need
not wait hours.

Not thread-safe on its own for registration: callers hold the account lock.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests

from toolkit.sandbox.brevo.errors import invalid, missing, not_found
from toolkit.sandbox.brevo.formats import format_ts, str_field

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.contacts import Contact
    from toolkit.sandbox.clock import Clock

log = logging.getLogger(__name__)

WEBHOOK_TYPES = ("transactional", "marketing", "inbound")
# Events per type: the createWebhook description lists them per type; contactUpdated and
# contactDeleted are in its enum and are marketing events (brevo-python v4
# ``create_webhook_request_events_item.py``; the marketing-webhooks page lists "Contact Deleted",
# "Contact Updated").
EVENTS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "transactional": (
        "sent",
        "request",
        "delivered",
        "hardBounce",
        "softBounce",
        "blocked",
        "spam",
        "invalid",
        "deferred",
        "click",
        "opened",
        "uniqueOpened",
        "unsubscribed",
    ),
    "marketing": (
        "spam",
        "opened",
        "click",
        "hardBounce",
        "softBounce",
        "unsubscribed",
        "listAddition",
        "delivered",
        "contactUpdated",
        "contactDeleted",
    ),
    "inbound": ("inboundEmailProcessed",),
}
# The event names as the payload spells them (marketing-webhooks page; changelog 2019-06-11).
PAYLOAD_EVENT = {
    "contactUpdated": "contact_updated",
    "contactDeleted": "contact_deleted",
    "listAddition": "list_addition",
    "unsubscribed": "unsubscribed",
}
# Retry mechanism page: the delays of retries 1 to 4 after the original attempt.
RETRY_DELAYS_SECONDS = (600.0, 3600.0, 7200.0, 28800.0)
RETRIABLE_STATUSES = frozenset({429})
DELIVERY_TIMEOUT_SECONDS = 10.0
# "date : CET/CEST Timezone"; date_event is in the account's local time zone, which for the
# sandbox account is also CET/CEST (marketing-webhooks page, "Datetime parameters").
_CET = ZoneInfo("Europe/Paris")
WEBHOOK_NOT_FOUND = "Webhook ID not found"
#: The name of the API key whose request is changing contacts ("" outside an API request): the
#: ``api_key_name`` of contact_updated and list_addition ("the name of the API key that made the
#: change, or an empty string when the change wasn't made through the API", changelog 2026-11-01).
API_KEY_NAME: ContextVar[str] = ContextVar("brevo_api_key_name", default="")


@dataclass
class Webhook:
    """One registered webhook (``auth`` holds the bearer token: never logged)."""

    id: int
    url: str
    events: list[str]
    type: str
    description: str
    created_at: datetime
    modified_at: datetime
    batched: bool = False
    auth: dict[str, str] | None = None
    headers: list[dict[str, str]] = field(default_factory=list)
    domain: str | None = None
    channel: str | None = None

    def __repr__(self) -> str:  # never show the token
        return f"<Webhook {self.id} {self.type} {self.url} events={self.events}>"

    def to_json(self) -> dict[str, Any]:
        """The webhook as ``GET /webhooks/{id}`` returns it (definition ``getWebhook``)."""
        body: dict[str, Any] = {
            "url": self.url,
            "id": self.id,
            "description": self.description,
            "events": list(self.events),
            "type": self.type,
            "createdAt": format_ts(self.created_at),
            "modifiedAt": format_ts(self.modified_at),
            "batched": self.batched,
        }
        if self.auth is not None:
            body["auth"] = dict(self.auth)  # the definition's example shows the token
        if self.headers:
            body["headers"] = [dict(h) for h in self.headers]
        if self.type == "inbound" and self.domain is not None:
            body["domain"] = (
                self.domain
            )  # "only returned for inbound type webhooks" (brevo-python 5.1.0 GetWebhook)
        return body

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "created_at": self.created_at.isoformat(),
            "modified_at": self.modified_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Webhook:
        return cls(
            **{
                **data,
                "created_at": datetime.fromisoformat(data["created_at"]),
                "modified_at": datetime.fromisoformat(data["modified_at"]),
            }
        )


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    webhook_id: int = field(compare=False)
    url: str = field(compare=False)
    event: str = field(compare=False)
    body: Any = field(compare=False)
    headers: dict[str, str] = field(compare=False, repr=False)
    attempt: int = field(default=1, compare=False)


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("url is not valid")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("url is not valid")
    return value.strip()


def _events(value: Any, webhook_type: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        raise invalid("events should be an array of strings")
    if not value:
        raise missing("events is mandatory")
    allowed = EVENTS_BY_TYPE[webhook_type]
    wrong = [e for e in value if e not in allowed]
    if wrong:
        raise invalid(f"Invalid events for a {webhook_type} webhook: {', '.join(wrong)}")
    return list(dict.fromkeys(value))


def _auth(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or value.get("type") != "bearer"
        or not isinstance(value.get("token"), str)
        or not value["token"]
    ):
        raise invalid('auth should be {"type": "bearer", "token": "..."}')
    return {"type": "bearer", "token": value["token"]}


def _headers(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(h, dict)
        and isinstance(h.get("key"), str)
        and h["key"].strip()
        and isinstance(h.get("value"), str)
        for h in value
    ):
        raise invalid("headers should be an array of {key, value} strings")
    return [{"key": h["key"].strip(), "value": h["value"]} for h in value]


def _batched(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid("batched should be a boolean")
    return value


class WebhookDispatcher:
    """The account's webhooks and the delivery of their events.

    Attributes:
        retry_scale: factor applied to Brevo's retry delays (1.0: the documented 10 min ... 8 h).
        key: the account's ``key`` field of contact events (an opaque account key; the
            marketing-webhooks page shows it as ``xxxxxxxxxxxxxxxxxx``). Never the API key.
    """

    def __init__(self, clock: Clock, lock: threading.RLock) -> None:
        self.clock = clock
        self._lock = lock
        self.webhooks: dict[int, Webhook] = {}
        self.next_id = 1
        self.key = secrets.token_hex(9)
        self.retry_scale = 1.0
        self._attempts: list[dict[str, Any]] = []
        self._queue: list[_Delivery] = []
        self._seq = itertools.count()
        self._cond = threading.Condition(threading.Lock())
        self._worker: threading.Thread | None = None
        self._in_flight = 0
        self._stopped = False
        self._session: requests.Session | None = None

    # --- registration (callers hold the account lock) -----------------------------------
    def create(self, body: dict[str, Any]) -> Webhook:
        """``POST /webhooks``; 400 for bad input."""
        if body.get("url") in (None, ""):
            raise missing("url is mandatory")
        if body.get("events") in (None, []):
            raise missing("events is mandatory")
        webhook_type = body.get("type", "transactional")
        if webhook_type not in WEBHOOK_TYPES:
            raise invalid("type is not valid")
        domain = str_field(body, "domain")
        channel = str_field(body, "channel")
        # brevo-python 5.1.0 CreateWebhookRequestChannel: email | sms
        if channel is not None and channel not in ("email", "sms"):
            raise invalid("channel is not valid")
        if webhook_type == "inbound" and not domain:
            raise missing("domain is mandatory for an inbound webhook")
        now = self.clock.now()
        webhook = Webhook(
            id=self.next_id,
            url=_url(body["url"]),
            events=_events(body["events"], webhook_type),
            type=webhook_type,
            description=str_field(body, "description") or "",
            created_at=now,
            modified_at=now,
            batched=_batched(body.get("batched")),
            auth=_auth(body.get("auth")),
            headers=_headers(body.get("headers")),
            domain=domain,
            channel=channel,
        )
        self.next_id += 1
        self.webhooks[webhook.id] = webhook
        return webhook

    def get(self, webhook_id: int) -> Webhook:
        """The webhook, or 404 ``document_not_found``."""
        webhook = self.webhooks.get(webhook_id)
        if webhook is None:
            raise not_found(WEBHOOK_NOT_FOUND)
        return webhook

    def update(self, webhook_id: int, body: dict[str, Any]) -> None:
        """``PUT /webhooks/{id}``: the given fields of ``updateWebhook`` replace the old ones."""
        webhook = self.get(webhook_id)
        known = ("url", "description", "events", "domain", "batched", "auth", "headers")
        if not any(body.get(k) is not None for k in known):
            raise missing("Pass at least one of " + ", ".join(known))
        url = _url(body["url"]) if body.get("url") is not None else webhook.url
        events = _events(body["events"], webhook.type) if body.get("events") is not None else webhook.events
        description = str_field(body, "description")
        domain = str_field(body, "domain")
        batched = _batched(body["batched"]) if "batched" in body else webhook.batched
        auth = _auth(body["auth"]) if body.get("auth") is not None else webhook.auth
        headers = _headers(body["headers"]) if body.get("headers") is not None else webhook.headers
        webhook.url, webhook.events, webhook.batched = url, events, batched
        webhook.auth, webhook.headers = auth, headers
        if description is not None:
            webhook.description = description
        if domain is not None:
            webhook.domain = domain
        webhook.modified_at = self.clock.now()

    def delete(self, webhook_id: int) -> None:
        """``DELETE /webhooks/{id}``; deliveries already queued are still attempted."""
        del self.webhooks[self.get(webhook_id).id]

    def listed(self, webhook_type: str, descending: bool) -> list[Webhook]:
        """Webhooks of one type in creation order (``sort=desc``: newest first)."""
        found = [w for w in self.webhooks.values() if w.type == webhook_type]
        return found[::-1] if descending else found

    # --- events (called with the account lock held) -------------------------------------
    def listening(self) -> bool:
        """Whether any marketing webhook is registered (else contact changes need no snapshot)."""
        return any(w.type == "marketing" for w in self.webhooks.values())

    def contact_changed(
        self,
        contact: Contact,
        *,
        content: dict[str, Any],
        added_lists: list[int],
        unsubscribed: bool,
        api_key_name: str,
    ) -> None:
        """Queue the events of one change of a contact (``content``: its changed attributes)."""
        if not self.webhooks:
            return
        if content:
            self._emit(
                "contactUpdated",
                contact.email,
                lambda: {"content": content, "api_key_name": api_key_name},
            )
        if added_lists:
            self._emit(
                "listAddition",
                contact.email,
                lambda: {"list_id": sorted(added_lists), "api_key_name": api_key_name},
            )
        if unsubscribed:
            self._emit("unsubscribed", contact.email, lambda: {"list_id": sorted(contact.list_ids)})

    def contact_deleted(self, contact: Contact) -> None:
        """Queue ``contact_deleted`` for a contact about to be removed."""
        if self.webhooks:
            lists = sorted(contact.list_ids)
            self._emit("contactDeleted", contact.email, lambda: {"list_id": lists})

    def _emit(self, event: str, email: str | None, extra: Callable[[], dict[str, Any]]) -> None:
        targets = [w for w in self.webhooks.values() if w.type == "marketing" and event in w.events]
        if not targets or not email:
            # A contact without an e-mail (SMS only) gets no event: every event table of Brevo's
            # marketing-webhooks page (https://developers.brevo.com/docs/marketing-webhooks)
            # lists ``email`` ("Recipient email", a string) and every example carries one; no
            # source read shows a contact event without one or with ``"email": null``. Sending
            # nothing is the one behaviour that contradicts no documentation
            # (shared/reference/brevo-api.md §4 and §6).
            return
        now = self.clock.now()
        ts = int(now.timestamp())
        local = now.astimezone(_CET).strftime("%Y-%m-%d %H:%M:%S")
        for webhook in targets:
            # Fields per the marketing-webhooks page: "id" is the "Internal id of webhook";
            # "ts" the event's timestamp in seconds; "date" in CET/CEST.
            body: dict[str, Any] = {"id": webhook.id, "email": email, "event": PAYLOAD_EVENT[event]}
            if event == "unsubscribed":
                # The page's Unsubscribe event is a campaign event (camp_id, campaign name,
                # date_sent, ts_sent, tag, sending_ip): the sandbox sends no campaigns, so only
                # the fields an unsubscribe without a campaign can fill are sent.
                body.update({"date_event": local, "ts_event": ts, "ts": ts, **extra()})
            else:
                body.update({"key": self.key, **extra(), "date": local, "ts": ts})
            headers = {"Content-Type": "application/json"}
            headers.update({h["key"]: h["value"] for h in webhook.headers})
            if webhook.auth is not None:
                headers["Authorization"] = f"Bearer {webhook.auth['token']}"
            self._enqueue(
                _Delivery(
                    due=time.monotonic(),
                    seq=next(self._seq),
                    webhook_id=webhook.id,
                    url=webhook.url,
                    event=event,
                    body=[body] if webhook.batched else body,
                    headers=headers,
                )
            )

    # --- delivery -------------------------------------------------------------------------
    def _enqueue(self, delivery: _Delivery) -> None:
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._queue, delivery)
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="brevo-webhooks", daemon=True)
                self._worker.start()
            self._cond.notify_all()

    def _run(self) -> None:
        session = requests.Session()
        session.trust_env = False
        try:
            while True:
                with self._cond:
                    while True:
                        if self._stopped or not self._queue:
                            self._worker = None
                            self._cond.notify_all()
                            return
                        wait = self._queue[0].due - time.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    delivery = heapq.heappop(self._queue)
                    self._in_flight += 1
                try:
                    self._attempt(session, delivery)
                finally:
                    with self._cond:
                        self._in_flight -= 1
                        self._cond.notify_all()
        finally:
            session.close()

    def _attempt(self, session: requests.Session, delivery: _Delivery) -> None:
        status: int | None = None
        error: str | None = None
        try:
            response = session.post(
                delivery.url,
                data=json.dumps(delivery.body, ensure_ascii=False).encode(),
                headers=delivery.headers,
                timeout=DELIVERY_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            status = response.status_code
            response.close()
        except requests.RequestException as exc:
            error = type(exc).__name__
        retry = (status is None or status in RETRIABLE_STATUSES) and delivery.attempt <= len(
            RETRY_DELAYS_SECONDS
        )
        outcome = (
            "delivered"
            if status is not None and 200 <= status < 300
            else "retrying"
            if retry
            else "discarded"
        )
        with self._cond:
            self._attempts.append(
                {
                    "webhookId": delivery.webhook_id,
                    "url": delivery.url,
                    "event": delivery.event,
                    "attempt": delivery.attempt,
                    "status": status,
                    "error": error,
                    "outcome": outcome,
                    "at": format_ts(self.clock.now()),
                }
            )
            if outcome == "retrying" and not self._stopped:
                delay = RETRY_DELAYS_SECONDS[delivery.attempt - 1] * self.retry_scale
                delivery.due = time.monotonic() + delay
                delivery.attempt += 1
                delivery.seq = next(self._seq)
                heapq.heappush(self._queue, delivery)
        if outcome != "delivered":
            log.info(
                "webhook %s %s attempt %s: %s", delivery.webhook_id, delivery.event, delivery.attempt, outcome
            )

    def attempts(self) -> list[dict[str, Any]]:
        """Every delivery attempt so far, oldest first (url, event, attempt, status; no token)."""
        with self._cond:
            return [dict(a) for a in self._attempts]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued or being sent; ``False`` on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Drop what is queued and stop the worker (the sandbox stops with it)."""
        with self._cond:
            self._stopped = True
            self._queue.clear()
            worker = self._worker
            self._cond.notify_all()
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

    # --- save and restore -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The registered webhooks (queued deliveries are not kept)."""
        return {
            "next_id": self.next_id,
            "key": self.key,
            "webhooks": [w.to_dict() for w in self.webhooks.values()],
        }

    def load(self, data: dict[str, Any]) -> None:
        """Restore what ``to_dict`` wrote."""
        self.webhooks = {w.id: w for w in (Webhook.from_dict(item) for item in data["webhooks"])}
        self.next_id = data["next_id"]
        self.key = data.get("key", self.key)
