"""Brevo sandbox: transactional e-mail (``POST /v3/smtp/email``) and the sandbox's outbox."""

from __future__ import annotations

import re

import pytest
import requests

from toolkit.sandbox.brevo import BrevoAccount

MESSAGE = {
    "sender": {"name": "Toolkit", "email": "noreply@example.com"},
    "to": [{"email": "ops@example.com", "name": "Ops"}],
    "subject": "Quota at 80%",
    "htmlContent": "<p>80% of the monthly tasks are used.</p>",
}


def test_sent_email_gets_a_message_id_and_is_kept(
    base: str, http: requests.Session, account: BrevoAccount
) -> None:
    response = http.post(f"{base}/v3/smtp/email", json=MESSAGE)
    assert response.status_code == 201
    message_id = response.json()["messageId"]
    assert re.fullmatch(r"<\d{14}\.\d{12}@smtp-relay\.mailin\.fr>", message_id)
    outbox = http.get(f"{base}/_sandbox/brevo/emails").json()
    assert outbox["count"] == 1
    assert outbox["emails"][0]["subject"] == "Quota at 80%" and outbox["emails"][0]["messageId"] == message_id
    assert account.sent_emails()[0]["to"] == [{"email": "ops@example.com", "name": "Ops"}]
    assert http.delete(f"{base}/_sandbox/brevo/emails").status_code == 204
    assert account.sent_emails() == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"sender": None}, "missing_parameter"),
        ({"to": None}, "missing_parameter"),
        ({"subject": None}, "missing_parameter"),
        ({"htmlContent": None}, "missing_parameter"),
        ({"to": [{"email": "not-an-address"}]}, "invalid_parameter"),
        ({"sender": {"email": "noreply@example.com", "name": "x" * 71}}, "invalid_parameter"),
    ],
)
def test_incomplete_messages_are_400(
    base: str, http: requests.Session, account: BrevoAccount, change: dict, code: str
) -> None:
    body = {k: v for k, v in {**MESSAGE, **change}.items() if v is not None}
    response = http.post(f"{base}/v3/smtp/email", json=body)
    assert response.status_code == 400 and response.json()["code"] == code
    assert account.sent_emails() == []


def test_template_replaces_subject_and_content(base: str, http: requests.Session) -> None:
    response = http.post(
        f"{base}/v3/smtp/email",
        json={"templateId": 3, "to": [{"email": "a@example.com"}], "params": {"USAGE": "80%"}},
    )
    assert response.status_code == 201


def test_scheduled_email_is_202_and_versions_get_one_id_each(base: str, http: requests.Session) -> None:
    scheduled = http.post(f"{base}/v3/smtp/email", json={**MESSAGE, "scheduledAt": "2026-12-01T08:00:00Z"})
    assert scheduled.status_code == 202 and "messageId" in scheduled.json()
    versions = http.post(
        f"{base}/v3/smtp/email",
        json={
            **{k: v for k, v in MESSAGE.items() if k != "to"},
            "messageVersions": [{"to": [{"email": "a@example.com"}]}, {"to": [{"email": "b@example.com"}]}],
        },
    )
    assert versions.status_code == 201 and len(versions.json()["messageIds"]) == 2
