"""``POST /smtp/email``: validate a transactional e-mail as Brevo does and keep it for inspection.

Nothing is delivered: the sandbox stores each accepted message, and the sandbox-only route
``GET /_sandbox/brevo/emails`` lists them.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime
from typing import TYPE_CHECKING, Any

from toolkit.sandbox.brevo.errors import invalid, missing
from toolkit.sandbox.brevo.formats import format_ts, normalize_email

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.account import BrevoAccount

_random = random.Random()


def _check_address(item: Any, where: str) -> None:
    if not isinstance(item, dict) or normalize_email(item.get("email")) is None:
        raise invalid(f"{where}.email is not a valid email address")
    if "name" in item and not isinstance(item["name"], str):
        raise invalid(f"{where}.name should be a string")


def _check_recipients(body: dict[str, Any], name: str, *, required: bool) -> None:
    value = body.get(name)
    if value is None:
        if required:
            raise missing(f"{name} is missing")
        return
    if not isinstance(value, list) or not value:
        raise invalid(f"{name} should be a non-empty array of recipients")
    for index, item in enumerate(value):
        _check_address(item, f"{name}[{index}]")


def validate_email_request(body: dict[str, Any]) -> None:
    """Raise a 400 ``BrevoError`` where Brevo would refuse ``sendSmtpEmail``."""
    template_id = body.get("templateId")
    if template_id is not None and (
        not isinstance(template_id, int) or isinstance(template_id, bool) or template_id < 1
    ):
        raise invalid("templateId is not valid")
    templated = template_id is not None
    sender = body.get("sender")
    if sender is None:
        if not templated:
            raise missing("sender is missing")
    elif not isinstance(sender, dict) or not (isinstance(sender.get("id"), int) or "email" in sender):
        raise invalid("sender should have an email or an id")
    elif "email" in sender:
        _check_address(sender, "sender")
        if len(sender.get("name") or "") > 70:
            raise invalid("sender.name is limited to 70 characters")
    versions = body.get("messageVersions")
    if versions is not None:
        if not isinstance(versions, list) or not versions:
            raise invalid("messageVersions should be a non-empty array")
        for index, version in enumerate(versions):
            if not isinstance(version, dict):
                raise invalid(f"messageVersions[{index}] should be an object")
            _check_recipients(version, "to", required=True)
    _check_recipients(body, "to", required=versions is None)
    for name in ("cc", "bcc"):
        _check_recipients(body, name, required=False)
    if body.get("replyTo") is not None:
        _check_address(body["replyTo"], "replyTo")
    if not templated:
        if not isinstance(body.get("subject"), str) or not body["subject"].strip():
            raise missing("subject is missing")
        if not any(isinstance(body.get(k), str) and body[k].strip() for k in ("htmlContent", "textContent")):
            raise missing("htmlContent or textContent is missing")
    scheduled = body.get("scheduledAt")
    if scheduled is not None:
        try:
            datetime.fromisoformat(str(scheduled).replace("Z", "+00:00"))
        except ValueError as exc:
            raise invalid("scheduledAt is not a valid date-time") from exc


def send_email(account: BrevoAccount, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Validate and store a message; ``(201 or 202 when scheduled, response body)``."""
    validate_email_request(body)
    now = account.clock.now()
    versions = body.get("messageVersions")
    ids = [_message_id(now) for _ in (versions or [None])]
    record = {**copy.deepcopy(body), "messageId": ids[0], "sentAt": format_ts(now)}
    if versions:
        record["messageIds"] = ids
    with account.lock:
        account.emails.append(record)
    response: dict[str, Any] = {"messageIds": ids} if versions else {"messageId": ids[0]}
    return (202 if body.get("scheduledAt") else 201), response


def _message_id(now: datetime) -> str:
    return f"<{now:%Y%m%d%H%M%S}.{_random.randrange(10**11, 10**12)}@smtp-relay.mailin.fr>"
