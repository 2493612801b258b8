"""Brevo client against the sandbox over HTTPS: registering, listing and deleting webhooks."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from toolkit.brevo import CONTACT_EVENTS, BrevoClient, Webhook
from toolkit.credentials import Secret
from toolkit.exceptions import FatalApiError
from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.tls import SandboxTLS

TOKEN = "hook-token-5678"


@pytest.fixture
def client(api: str, account: BrevoAccount, tls: SandboxTLS) -> Iterator[BrevoClient]:
    with BrevoClient(
        api, Secret(account.api_key), ca_bundle=str(tls.ca_bundle), backoff_factor=0.01
    ) as brevo:
        yield brevo
    account.webhooks.stop()


def test_create_list_and_delete_a_marketing_webhook(client: BrevoClient, account: BrevoAccount) -> None:
    webhook_id = client.create_webhook(
        "https://toolkit.example/brevo/events", CONTACT_EVENTS, token=TOKEN, description="toolkit sync"
    )
    second = client.create_webhook(
        "https://toolkit.example/other", ["contactDeleted"], token=None, description=""
    )
    assert (webhook_id, second) == (1, 2)

    first, other = client.list_webhooks()
    assert isinstance(first, Webhook)
    assert (first.id, first.url, first.events, first.type, first.description, first.batched) == (
        1,
        "https://toolkit.example/brevo/events",
        ("contactUpdated", "contactDeleted", "unsubscribed", "listAddition"),
        "marketing",
        "toolkit sync",
        False,
    )
    assert first.token is not None and first.token.reveal() == TOKEN
    assert first.created_at is not None and first.created_at.tzinfo is not None
    assert other.id == 2 and other.token is None
    assert TOKEN not in repr(first) and TOKEN not in str(first)
    assert account.webhooks.get(1).auth == {"type": "bearer", "token": TOKEN}  # what was sent
    assert client.list_webhooks("transactional") == []

    client.delete_webhook(webhook_id)
    assert [w.id for w in client.list_webhooks()] == [2]
    with pytest.raises(FatalApiError) as refused:
        client.delete_webhook(webhook_id)
    assert refused.value.status == 404


def test_bad_webhooks_are_refused_and_the_token_never_logged(
    client: BrevoClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(FatalApiError) as refused:
        client.create_webhook("https://toolkit.example/h", ["sent"], token=TOKEN, description="")
    assert refused.value.status == 400
    client.create_webhook("https://toolkit.example/h", CONTACT_EVENTS, token=Secret(TOKEN), description="x")
    assert [w.url for w in client.list_webhooks()] == ["https://toolkit.example/h"]
    assert TOKEN not in caplog.text and TOKEN not in str(refused.value)
