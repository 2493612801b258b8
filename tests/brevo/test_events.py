"""Brevo's marketing webhook events: parsing each kind, batches, malformed bodies, auth, keys."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from toolkit.brevo import BrevoEvent, EventKind, MalformedEvent, authenticate, parse_event, parse_events
from toolkit.brevo.events import ParsedBatch, parse_batch
from toolkit.credentials import Secret

# The examples of https://developers.brevo.com/docs/marketing-webhooks ("xxxxxx" ids made numbers),
# with ``api_key_name`` as Brevo's changelog of 2026-11-01 adds it to contact_updated and list_addition.
UNSUBSCRIBED = {
    "id": 123456,
    "camp_id": 12,
    "email": "Example@Domain.com",
    "campaign name": "My First Campaign",
    "date_sent": "2020-10-09 00:00:00",
    "date_event": "2020-10-09 00:00:00",
    "event": "unsubscribed",
    "tag": "",
    "sending_ip": "10.0.0.1",
    "list_id": [3, 42],
    "ts_sent": 1604933619,
    "ts_event": 1604933737,
    "ts": 1604937337,
}
CONTACT_DELETED = {
    "id": 123456,
    "email": "example@domain.com",
    "event": "contact_deleted",
    "key": "xxxxxxxxxxxxxxxxxx",
    "list_id": [35],
    "date": "2020-10-09 00:00:00",
    "ts": 1604937111,
}
CONTACT_UPDATED = {
    "id": 123456,
    "email": "example@domain.com",
    "event": "contact_updated",
    "key": "xxxxxxxxxxxxxxxxxx",
    "content": {"name": "John", "lastname": "Doe", "work_phone": "+506 2220 2307"},
    "date": "2020-10-09 00:00:00",
    "ts": 1604937111,
    "api_key_name": "sf-brevo-toolkit",
}
LIST_ADDITION = {
    "id": 123456,
    "email": "example@domain.com",
    "event": "list_addition",
    "key": "xxxxxxxxxxxxxxxxxx",
    "list_id": [34, 12],
    "date": "2020-10-09 00:00:00",
    "ts": 1604937111,
    "api_key_name": "",
}


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("payload", "kind", "list_ids", "event_at", "api_key_name"),
    [
        (UNSUBSCRIBED, EventKind.UNSUBSCRIBED, (3, 42), datetime.fromtimestamp(1604933737, UTC), None),
        (CONTACT_DELETED, EventKind.CONTACT_DELETED, (35,), datetime.fromtimestamp(1604937111, UTC), None),
        (
            CONTACT_UPDATED,
            EventKind.CONTACT_UPDATED,
            (),
            datetime.fromtimestamp(1604937111, UTC),
            "sf-brevo-toolkit",
        ),
        (LIST_ADDITION, EventKind.LIST_ADDITION, (12, 34), datetime.fromtimestamp(1604937111, UTC), ""),
    ],
    ids=lambda v: v.value if isinstance(v, EventKind) else None,
)
def test_each_documented_kind_is_parsed(
    payload: dict[str, Any],
    kind: EventKind,
    list_ids: tuple[int, ...],
    event_at: datetime,
    api_key_name: str | None,
) -> None:
    event = parse_event(_body(payload))
    assert event == BrevoEvent(kind, "example@domain.com", None, list_ids, event_at, api_key_name)
    assert event.event_at.tzinfo is UTC
    assert parse_events(_body(payload)) == [event]
    assert not hasattr(event, "content")  # changed values are read back from the API, not kept


def test_event_kinds_are_the_payload_names_and_know_their_subscription_names() -> None:
    assert [k.value for k in EventKind] == [
        "contact_updated",
        "contact_deleted",
        "unsubscribed",
        "list_addition",
    ]
    assert [k.subscription for k in EventKind] == [
        "contactUpdated",
        "contactDeleted",
        "unsubscribed",
        "listAddition",
    ]
    assert parse_event(_body({**LIST_ADDITION, "event": "listAddition"})).kind is EventKind.LIST_ADDITION


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"ts": "1604937111"}, datetime.fromtimestamp(1604937111, UTC)),  # epoch seconds as text
        ({"ts": 1604937111.5}, datetime.fromtimestamp(1604937111.5, UTC)),
        ({"ts": "2020-11-09T17:51:51+02:00"}, datetime(2020, 11, 9, 15, 51, 51, tzinfo=UTC)),
        ({"ts_event": 1604930000}, datetime.fromtimestamp(1604930000, UTC)),  # ts_event wins over ts
        ({"contact_id": 77, "list_id": [5, 5, "4"]}, datetime.fromtimestamp(1604937111, UTC)),
    ],
)
def test_lenient_reading(changes: dict[str, Any], expected: datetime) -> None:
    event = parse_event(_body({**CONTACT_DELETED, **changes}))
    assert event.event_at == expected
    if "contact_id" in changes:
        assert (event.contact_id, event.list_ids) == (77, (4, 5))


def test_a_batch_is_a_list_of_events() -> None:
    events = parse_events(_body([UNSUBSCRIBED, CONTACT_DELETED, CONTACT_UPDATED, LIST_ADDITION]))
    assert [e.kind for e in events] == [
        EventKind.UNSUBSCRIBED,
        EventKind.CONTACT_DELETED,
        EventKind.CONTACT_UPDATED,
        EventKind.LIST_ADDITION,
    ]
    assert parse_events(b"[]") == []


def test_a_lenient_batch_keeps_the_well_formed_events_and_counts_the_others() -> None:
    broken = [
        {**CONTACT_UPDATED, "ts": "yesterday"},
        {"event": "opened", "email": "a@b.c", "ts": 1},
        "x",
        None,
    ]
    parsed = parse_batch(_body([CONTACT_DELETED, *broken, LIST_ADDITION]))
    assert [e.kind for e in parsed.events] == [EventKind.CONTACT_DELETED, EventKind.LIST_ADDITION]
    assert parsed.malformed == 4
    assert parse_batch(_body(CONTACT_DELETED)) == ParsedBatch(parse_events(_body([CONTACT_DELETED])), 0)
    assert parse_batch(b"[]") == ParsedBatch([], 0)
    assert parse_batch(_body({"event": "contact_deleted"})) == ParsedBatch([], 1)


@pytest.mark.parametrize("body", [b"", b"nope", b"\xff", b"42", b'"text"', b"null"])
def test_a_lenient_batch_still_refuses_a_body_that_is_no_event_at_all(body: bytes) -> None:
    with pytest.raises(MalformedEvent):
        parse_batch(body)


SECRET_EMAIL = "private.person@example.org"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid UTF-8 JSON"),
        (b"{not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe{}", "not valid UTF-8 JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid UTF-8 JSON"),
        (b'"a string"', "must be a JSON object"),
        (_body({"email": SECRET_EMAIL, "ts": 1}), "no event name"),
        (
            _body({"event": "opened", "email": SECRET_EMAIL, "ts": 1}),
            "unknown event 'opened': expected one of",
        ),
        (_body({"event": SECRET_EMAIL, "email": SECRET_EMAIL, "ts": 1}), "unknown event: expected one of"),
        (_body({"event": 3, "email": SECRET_EMAIL, "ts": 1}), "unknown event: expected one of"),
        (_body({"event": "contact_deleted", "ts": 1}), "contact_deleted: no e-mail"),
        (_body({"event": "contact_deleted", "email": "  ", "ts": 1}), "contact_deleted: no e-mail"),
        (_body({"event": "contact_deleted", "email": ["a@b.c"], "ts": 1}), "contact_deleted: no e-mail"),
        (
            _body({"event": "contact_deleted", "email": "private-person", "ts": 1}),
            "email is not an e-mail address",
        ),
        (
            _body({"event": "contact_deleted", "email": SECRET_EMAIL}),
            "contact_deleted: no event time (ts_event or ts)",
        ),
        (_body({"event": "unsubscribed", "email": SECRET_EMAIL, "ts": "yesterday"}), "ts is not a timestamp"),
        (
            _body({"event": "unsubscribed", "email": SECRET_EMAIL, "ts_event": True}),
            "ts_event is not a timestamp",
        ),
        (_body({"event": "unsubscribed", "email": SECRET_EMAIL, "ts": -5}), "ts is not a timestamp"),
        (_body({"event": "unsubscribed", "email": SECRET_EMAIL, "ts": 10**20}), "ts is not a timestamp"),
        (
            _body({"event": "list_addition", "email": SECRET_EMAIL, "ts": 1, "list_id": ["x"]}),
            "list_id must be",
        ),
        (
            _body({"event": "list_addition", "email": SECRET_EMAIL, "ts": 1, "list_id": [0]}),
            "list_id must be",
        ),
        (
            _body({"event": "list_addition", "email": SECRET_EMAIL, "ts": 1, "contact_id": "x"}),
            "contact_id must",
        ),
        (
            _body({"event": "list_addition", "email": SECRET_EMAIL, "ts": 1, "api_key_name": 5}),
            "api_key_name must",
        ),
        (
            _body([LIST_ADDITION, {"event": "list_addition", "email": SECRET_EMAIL}]),
            "event 1 of the batch: list_",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",  # never the body (it names a person)
)
def test_malformed_bodies_are_refused_naming_what_is_wrong_never_the_body(body: bytes, message: str) -> None:
    with pytest.raises(MalformedEvent, match=re.escape(message)) as caught:
        parse_events(body)
    assert SECRET_EMAIL not in str(caught.value)
    assert "private" not in str(caught.value)


def test_parse_event_wants_one_object() -> None:
    with pytest.raises(MalformedEvent, match="got a JSON array: use parse_events"):
        parse_event(_body([LIST_ADDITION]))


TOKEN = Secret("s3cr3t-token-for-webhooks")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Bearer s3cr3t-token-for-webhooks"}, True),
        ({"authorization": "bearer s3cr3t-token-for-webhooks "}, True),
        ({"Authorization": "Bearer wrong-token"}, False),
        ({"Authorization": "Bearer s3cr3t-token-for-webhooks-and-more"}, False),
        ({"Authorization": "Bearer "}, False),
        ({"Authorization": "Basic s3cr3t-token-for-webhooks"}, False),
        ({"Authorization": "s3cr3t-token-for-webhooks"}, False),
        ({}, False),
        ({"X-Token": "s3cr3t-token-for-webhooks"}, False),
        ({"Authorization": "Bearer s3cr3t-token-for-webhooks", "authorization": "Bearer other"}, False),
        ({"Authorization": "Bearer tökén"}, False),  # not ASCII: compared as bytes, no TypeError
    ],
)
def test_authenticate(headers: dict[str, str], expected: bool) -> None:
    assert authenticate(headers, TOKEN) is expected


def test_an_empty_expected_token_authenticates_nothing() -> None:
    assert authenticate({"Authorization": "Bearer "}, Secret("")) is False
    assert authenticate({"Authorization": "Bearer"}, Secret("")) is False


def test_the_same_event_has_the_same_key_and_a_different_one_another() -> None:
    first = parse_event(_body(LIST_ADDITION))
    again = parse_event(_body({**LIST_ADDITION, "list_id": [12, 34, 12], "email": "EXAMPLE@domain.com "}))
    assert first.key == again.key
    assert len(first.key) == 64
    others = [
        {**LIST_ADDITION, "ts": 1604937112},
        {**LIST_ADDITION, "email": "other@domain.com"},
        {**LIST_ADDITION, "list_id": [12]},
        {**LIST_ADDITION, "event": "contact_deleted"},
        {**LIST_ADDITION, "contact_id": 9},
        {**LIST_ADDITION, "api_key_name": "someone-else"},  # a person's edit beside the toolkit's own
    ]
    keys = {parse_event(_body(other)).key for other in others}
    assert first.key not in keys
    assert len(keys) == len(others)
