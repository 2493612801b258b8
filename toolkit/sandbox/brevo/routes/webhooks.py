"""HTTP handlers of ``/webhooks``: register, list, read, update and delete webhooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from toolkit.sandbox.brevo.errors import invalid
from toolkit.sandbox.brevo.formats import json_body, path_id
from toolkit.sandbox.brevo.webhooks import WEBHOOK_TYPES
from toolkit.sandbox.http import Route, json_response

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.account import BrevoAccount


def _webhook_id(value: str) -> int:
    return path_id(value, "webhookId is not valid")


def _get_webhooks(account: BrevoAccount, request: Request) -> Response:
    """``GET /webhooks``: ``type`` defaults to transactional, ``sort`` to desc (definition)."""
    webhook_type = request.args.get("type", "transactional")
    if webhook_type not in WEBHOOK_TYPES:
        raise invalid("type is not valid")
    sort = request.args.get("sort", "desc")
    if sort not in ("asc", "desc"):
        raise invalid("sort is not valid")
    with account.lock:
        found = account.webhooks.listed(webhook_type, descending=sort == "desc")
        return json_response({"webhooks": [w.to_json() for w in found]})


def _post_webhook(account: BrevoAccount, request: Request) -> Response:
    body = json_body(request)
    with account.lock:
        return json_response({"id": account.webhooks.create(body).id}, 201)


def _get_webhook(account: BrevoAccount, request: Request, webhook_id: str) -> Response:
    with account.lock:
        return json_response(account.webhooks.get(_webhook_id(webhook_id)).to_json())


def _put_webhook(account: BrevoAccount, request: Request, webhook_id: str) -> Response:
    identifier = _webhook_id(webhook_id)
    body = json_body(request)
    with account.lock:
        account.webhooks.update(identifier, body)
    return json_response(None, 204)


def _delete_webhook(account: BrevoAccount, request: Request, webhook_id: str) -> Response:
    with account.lock:
        account.webhooks.delete(_webhook_id(webhook_id))
    return json_response(None, 204)


ROUTES: list[Route] = [
    ("getWebhooks", "GET", "/v3/webhooks", _get_webhooks),
    ("createWebhook", "POST", "/v3/webhooks", _post_webhook),
    ("getWebhook", "GET", "/v3/webhooks/<webhook_id>", _get_webhook),
    ("updateWebhook", "PUT", "/v3/webhooks/<webhook_id>", _put_webhook),
    ("deleteWebhook", "DELETE", "/v3/webhooks/<webhook_id>", _delete_webhook),
]
