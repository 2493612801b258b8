"""Brevo API v3 client: one ``requests`` funnel (api-key, retries, error mapping) and its parts.

Example:
    >>> from toolkit.brevo import BrevoClient                                  # doctest: +SKIP
    >>> with BrevoClient(base_url, api_key) as brevo:                           # doctest: +SKIP
    ...     for pid in brevo.import_contacts(rows, list_ids=[list_id]):
    ...         problems = brevo.import_problems(brevo.wait_process(pid))
"""

from __future__ import annotations

from .account import pick_sender
from .base import format_brevo_datetime, parse_brevo_datetime
from .client import BrevoClient, ResponseHook
from .contacts import EXT_ID, IDENTIFIER_TYPES, contact_ext_id
from .events import BrevoEvent, EventKind, MalformedEvent, authenticate, parse_event, parse_events
from .imports import BREVO_MAX_IMPORT_BYTES, ImportProblem, import_bodies, parse_import_report
from .retry import BrevoRetry, RateLimitUsage, reset_seconds
from .webhooks import CONTACT_EVENTS, Webhook

__all__ = [
    "BREVO_MAX_IMPORT_BYTES",
    "BrevoClient",
    "BrevoEvent",
    "BrevoRetry",
    "CONTACT_EVENTS",
    "EXT_ID",
    "EventKind",
    "IDENTIFIER_TYPES",
    "ImportProblem",
    "MalformedEvent",
    "RateLimitUsage",
    "ResponseHook",
    "Webhook",
    "authenticate",
    "contact_ext_id",
    "format_brevo_datetime",
    "import_bodies",
    "parse_brevo_datetime",
    "parse_event",
    "parse_events",
    "parse_import_report",
    "pick_sender",
    "reset_seconds",
]
