"""Brevo's marketing webhooks as data: parsed, checked and authenticated, with no I/O.

An event is a hint (issue 14): the receiver authenticates it (:func:`authenticate`), parses it
(:func:`parse_batch`, which keeps the well-formed events of a batch; :func:`parse_events` takes a
batch whole or not at all), records it durably (:meth:`toolkit.store.Store.record_events`, which
ignores an event already recorded by its :attr:`BrevoEvent.key`) and answers at once; a
targeted run then reads the affected contacts from the API and applies the usual rules. So an
event keeps only what finds the contact and orders the hints (kind, e-mail, list ids, time,
the API key that made the change), never the changed values (``content``): those are read
back from the API, and a webhook body may hold personal data, which no error here repeats.

Payload shapes, from Brevo's marketing-webhooks page
(https://developers.brevo.com/docs/marketing-webhooks; its examples as transcribed in a public
Dolibarr Sendinblue module, read with the ``find_string`` tool) and
``shared/reference/brevo-api.md`` §4:

- ``unsubscribed``: ``id`` (the webhook's internal id, not the contact's), ``camp_id``,
  ``email``, ``campaign name``, ``date_sent``, ``date_event``, ``tag``, ``sending_ip``,
  ``list_id`` (array), ``ts_sent``, ``ts_event``, ``ts``;
- ``contact_deleted``: ``id``, ``email``, ``key``, ``list_id`` (array), ``date``, ``ts``;
- ``contact_updated``: ``id``, ``email``, ``key``, ``content`` (the changed attributes),
  ``date``, ``ts``;
- ``list_addition``: ``id``, ``email``, ``key``, ``list_id`` (array), ``date``, ``ts``.

``ts_sent``/``ts_event`` are UTC epoch seconds, ``ts`` epoch seconds, ``date_event`` local time
and ``date`` CET/CEST (the page's "Datetime parameters"), so the event time is read from
``ts_event``, else ``ts``, never from the zone-less texts. Brevo's changelog of 2026-11-01
(https://developers.brevo.com/changelog/2026/11/1) adds ``api_key_name`` to Contact updated and
Contact added to list: the name of the API key that made the change, ``""`` when the change was
not made through the API. The payloads document no contact id; ``contact_id`` is read when a
payload carries one. Batched webhooks (``batched: true`` on ``POST /v3/webhooks``) deliver a
JSON array of such objects.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from toolkit.credentials import Secret
from toolkit.exceptions import ToolkitError
from toolkit.timestamps import TimestampError, parse_brevo_datetime

__all__ = [
    "BrevoEvent",
    "EventKind",
    "MalformedEvent",
    "ParsedBatch",
    "authenticate",
    "parse_batch",
    "parse_event",
    "parse_events",
]


class EventKind(StrEnum):
    """The marketing events the toolkit acts on; the values are the payloads' ``event`` names.

    Sources: ``contact_updated`` and ``contact_deleted`` from Brevo's changelog of 2019-06-11
    (https://developers.brevo.com/changelog/2019/6/11.md: "Event name for contact update and
    delete are contact_updated & contact_deleted"); ``unsubscribed`` and ``list_addition`` from
    the examples of https://developers.brevo.com/docs/marketing-webhooks. A webhook is
    *subscribed* to them under other names (``createWebhook``'s enum, :attr:`subscription`).
    """

    CONTACT_UPDATED = "contact_updated"
    CONTACT_DELETED = "contact_deleted"
    UNSUBSCRIBED = "unsubscribed"
    LIST_ADDITION = "list_addition"

    @property
    def subscription(self) -> str:
        """The name ``POST /v3/webhooks`` takes in ``events`` (``contactUpdated``, ``listAddition``...)."""
        return _SUBSCRIPTIONS[self]


_SUBSCRIPTIONS = {
    EventKind.CONTACT_UPDATED: "contactUpdated",
    EventKind.CONTACT_DELETED: "contactDeleted",
    EventKind.UNSUBSCRIBED: "unsubscribed",
    EventKind.LIST_ADDITION: "listAddition",
}
# A payload naming its event as the subscription does is read too (lenient, same meaning).
_KINDS = {**{kind.value: kind for kind in EventKind}, **{name: kind for kind, name in _SUBSCRIPTIONS.items()}}
_NAME = re.compile(r"[A-Za-z_]{1,40}")  # an event name safe to repeat in a message


class MalformedEvent(ToolkitError):
    """A webhook body that is no marketing event the toolkit acts on.

    The message names what is wrong (the field, the expected form), never a value of the body.
    """


@dataclass(frozen=True, slots=True)
class BrevoEvent:
    """One marketing webhook event, reduced to what finds and orders the hint.

    Attributes:
        kind: which event (:class:`EventKind`).
        email: the contact's e-mail, stripped and lower-cased.
        contact_id: Brevo's contact id when the payload carries one (the documented payloads do
            not: their ``id`` is the webhook's), else ``None``.
        list_ids: the lists named by ``list_id`` (added to, unsubscribed from, deleted from),
            sorted, without repeats; empty when the payload names none.
        event_at: when the event happened, aware UTC (``ts_event``, else ``ts``).
        api_key_name: the API key that made the change (Brevo's changelog, 2026-11), ``""``
            when it was not made through the API, ``None`` when the payload does not say.
    """

    kind: EventKind
    email: str
    contact_id: int | None
    list_ids: tuple[int, ...]
    event_at: datetime
    api_key_name: str | None = None

    @property
    def key(self) -> str:
        """A stable key for deduplication: the SHA-256 of kind, e-mail, contact id, time, lists and
        the API key's name.

        The same event delivered twice (a retry, a batch sent again) has the same key; events
        differing in any of these have different keys. Two changes of one contact in the same
        second, the same lists and by the same key share a key, which loses nothing: either is
        only a hint that makes a targeted run read the contact. The key's name keeps a person's
        edit apart from the toolkit's own write in the same second (an echo, ignored).
        """
        canonical = json.dumps(
            [
                self.kind.value,
                self.email,
                self.contact_id,
                self.event_at.isoformat(),
                list(self.list_ids),
                self.api_key_name,
            ],
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_events(body: bytes) -> list[BrevoEvent]:
    """The events of a webhook body: one JSON object, or an array of them (a batched webhook).

    Raises:
        MalformedEvent: the body is no JSON, or an event in it is malformed (the message names
            its position in a batch); a batch is taken whole or not at all.
    """
    data = _json(body)
    if isinstance(data, list):
        events = []
        for index, item in enumerate(data):
            try:
                events.append(_event(item))
            except MalformedEvent as error:
                raise MalformedEvent(f"event {index} of the batch: {error}") from None
        return events
    return [_event(data)]


class ParsedBatch(NamedTuple):
    """What :func:`parse_batch` kept of a webhook body.

    Attributes:
        events: the well-formed events, in the body's order.
        malformed: how many events of the body were left out as malformed (their positions are
            not kept: a caller has nothing to repeat of them).
    """

    events: list[BrevoEvent]
    malformed: int


def parse_batch(body: bytes) -> ParsedBatch:
    """The well-formed events of a webhook body, and how many others were left out (lenient).

    The receiver's reading: one malformed event of a batched delivery must not cost the others
    (Brevo retries nothing after a 4xx, so refusing the whole batch would lose them), and an
    event is only a hint, so a malformed one is simply dropped.

    Raises:
        MalformedEvent: the body is no UTF-8 JSON, or is neither an object nor an array.

    Example:
        >>> parsed = parse_batch(b'[{"event": "contact_deleted", "email": "a@example.com", "ts": 1}, {"event": 1}]')
        >>> ([e.kind.value for e in parsed.events], parsed.malformed)
        (['contact_deleted'], 1)
    """
    data = _json(body)
    items = data if isinstance(data, list) else [data]
    if not isinstance(data, list | dict):
        raise MalformedEvent("the body must be a JSON object or an array of them")
    events: list[BrevoEvent] = []
    malformed = 0
    for item in items:
        try:
            events.append(_event(item))
        except MalformedEvent:
            malformed += 1
    return ParsedBatch(events, malformed)


def parse_event(body: bytes) -> BrevoEvent:
    """The one event of a webhook body (a JSON object).

    Raises:
        MalformedEvent: invalid JSON, not an object, a missing or unknown ``event``, a missing
            ``email``, a missing or bad time (``ts_event``/``ts``), a bad ``list_id``.

    Example:
        >>> event = parse_event(b'{"event": "list_addition", "email": "Ana@Example.com", '
        ...                     b'"list_id": [12, 34], "ts": 1604937111}')
        >>> (event.kind, event.email, event.list_ids, event.event_at.isoformat())
        (<EventKind.LIST_ADDITION: 'list_addition'>, 'ana@example.com', (12, 34), '2020-11-09T15:51:51+00:00')
    """
    data = _json(body)
    if isinstance(data, list):
        raise MalformedEvent("expected one event (a JSON object), got a JSON array: use parse_events")
    return _event(data)


def authenticate(headers: Mapping[str, str], expected_token: Secret) -> bool:
    """Whether a request carries ``Authorization: Bearer <expected_token>``.

    The webhook is created with ``auth: {type: bearer, token}`` (``createWebhook``), which
    Brevo sends back on every call. The comparison takes constant time
    (:func:`hmac.compare_digest`); the header name and the scheme are case-insensitive. An
    empty expected token authenticates nothing, and neither token is ever logged or raised.
    """
    token = expected_token.reveal()
    if not token:
        return False
    values = [value for name, value in headers.items() if name.lower() == "authorization"]
    if len(values) != 1:
        return False
    scheme, _, given = values[0].strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedEvent("the body is not valid UTF-8 JSON") from None


def _event(data: Any) -> BrevoEvent:
    if not isinstance(data, dict):
        raise MalformedEvent("an event must be a JSON object")
    kind = _kind(data.get("event"))
    email = data.get("email")
    if not isinstance(email, str) or not email.strip():
        raise MalformedEvent(f"{kind.value}: no e-mail (email must be a non-empty string)")
    email = email.strip().lower()
    if "@" not in email:
        raise MalformedEvent(f"{kind.value}: email is not an e-mail address")
    api_key_name = data.get("api_key_name")
    if api_key_name is not None and not isinstance(api_key_name, str):
        raise MalformedEvent(f"{kind.value}: api_key_name must be a string")
    return BrevoEvent(
        kind=kind,
        email=email,
        contact_id=_contact_id(kind, data.get("contact_id")),
        list_ids=_list_ids(kind, data.get("list_id")),
        event_at=_event_at(kind, data),
        api_key_name=api_key_name,
    )


def _kind(value: Any) -> EventKind:
    if value is None:
        raise MalformedEvent("no event name (the event field is missing)")
    kind = _KINDS.get(value) if isinstance(value, str) else None
    if kind is None:
        allowed = ", ".join(k.value for k in EventKind)
        shown = f" {value!r}" if isinstance(value, str) and _NAME.fullmatch(value) else ""
        raise MalformedEvent(f"unknown event{shown}: expected one of {allowed}")
    return kind


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _contact_id(kind: EventKind, value: Any) -> int | None:
    if value is None:
        return None
    number = _integer(value)
    if number is None or number <= 0:
        raise MalformedEvent(f"{kind.value}: contact_id must be a positive integer")
    return number


def _list_ids(kind: EventKind, value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    numbers = [_integer(item) for item in items]
    if any(n is None or n <= 0 for n in numbers):
        raise MalformedEvent(f"{kind.value}: list_id must be a list of positive integers")
    return tuple(sorted({n for n in numbers if n is not None}))


def _event_at(kind: EventKind, data: dict[str, Any]) -> datetime:
    for field in ("ts_event", "ts"):
        value = data.get(field)
        if value is None:
            continue
        moment = _moment(value)
        if moment is None:
            raise MalformedEvent(f"{kind.value}: {field} is not a timestamp (epoch seconds or ISO-8601)")
        return moment
    raise MalformedEvent(f"{kind.value}: no event time (ts_event or ts)")


def _moment(value: Any) -> datetime | None:
    """Epoch seconds (a number or its text) or an ISO-8601 text, as aware UTC; else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        value = float(value)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC) if value >= 0 else None
        except (OverflowError, OSError, ValueError):
            return None
    try:
        return parse_brevo_datetime(value)
    except TimestampError:
        return None
