"""Transactional e-mail (``POST /smtp/email``), used for the quota notifications."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import BrevoApi

__all__ = ["EmailMixin"]


class EmailMixin(BrevoApi):
    """``/smtp/email``."""

    def send_email(
        self,
        *,
        sender: Mapping[str, str],
        to: Sequence[Mapping[str, str]],
        subject: str,
        html: str | None = None,
        text: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> str:
        """Send one transactional e-mail and return its ``messageId``.

        The call is not repeated after an ambiguous failure (a 5xx or a connection lost after
        the request was sent), so that a message is never sent twice; a 429 is retried.

        Args:
            sender: ``{"email": ..., "name": ...}`` of a sender set up in Brevo.
            to: recipients, ``[{"email": ..., "name": ...}]``.
            subject: the subject line.
            html: the HTML body.
            text: the plain-text body (at least one of ``html`` and ``text`` is needed).
            tags: tags to find the message in Brevo's logs.

        Raises:
            ValueError: neither ``html`` nor ``text``, or no recipient.
        """
        if not html and not text:
            raise ValueError("send_email needs html or text")
        if not to:
            raise ValueError("send_email needs at least one recipient")
        body: dict[str, Any] = {
            "sender": dict(sender),
            "to": [dict(recipient) for recipient in to],
            "subject": subject,
        }
        if html:
            body["htmlContent"] = html
        if text:
            body["textContent"] = text
        if tags:
            body["tags"] = list(tags)
        answer = self._json("POST", "/smtp/email", json=body) or {}
        # ``createSmtpEmail``: ``messageId``, or ``messageIds`` for a message sent in versions.
        ids = answer.get("messageIds")
        if answer.get("messageId") is None and isinstance(ids, list) and ids:
            return str(ids[0])
        return self._field(answer, "messageId", str, method="POST", path="/smtp/email")
