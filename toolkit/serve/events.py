"""Targeted runs: the events the receiver recorded, applied by a run that reads the API (issue 14).

An event is a hint. :func:`apply_events` takes an integration's pending events from the inbox
(:meth:`toolkit.store.Store.pending_events`), runs the integration once with them
(``Toolkit.run(..., trigger=RunTrigger.EVENT, events=...)``: the usual run, which also looks up
the contacts ``contact_deleted`` events name and reads the others' contacts when Brevo's
``modifiedSince`` read did not bring them, see :func:`toolkit.sync.run_integration`), and marks
the events processed:

- ``ignored`` when the event names no contact of the integration (Brevo's own contacts, Y1, or
  another integration's), or the integration is not active (no run may write for it);
- ``applied`` when the run ended ``succeeded`` or ``blocked`` (B6: the deletions wait for a
  confirmation, which the run recorded; the event has done its part);
- ``failed`` when the run failed or stopped (the quota): given up, kept for the audit. Nothing
  is lost by it: the next scheduled run reads the same changes, and the periodic deletion check
  finds the same deletions.

Another run of the integration in progress (:class:`~toolkit.exceptions.RunLockedError`) leaves
the events pending for the next call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..api import Toolkit
from ..brevo.events import EventKind
from ..exceptions import RunLockedError
from ..store import IntegrationStatus, RunStatus, RunTrigger, WebhookEvent, WebhookEventOutcome
from ..sync import RunResult

__all__ = ["EVENT_BATCH", "apply_events"]

log = logging.getLogger(__name__)

EVENT_BATCH = 1000
"""At most this many pending events are applied by one run (the rest by the next call)."""

_APPLIED = frozenset({RunStatus.SUCCEEDED, RunStatus.BLOCKED})


def apply_events(tk: Toolkit, name: str) -> RunResult | None:
    """Apply an integration's pending webhook events with one targeted run.

    Args:
        tk: the toolkit (its store holds the inbox).
        name: the integration.

    Returns:
        The run's result, or ``None`` when there was nothing pending or the integration is not
        active (its events are then marked ``ignored``: no run may write for it).

    Raises:
        RunLockedError: another run of the integration is in progress; the events stay pending.
        ConfigError: no such integration.
    """
    integration = tk.store.get_integration(name)
    events = tk.store.pending_events(integration.id, limit=EVENT_BATCH)
    if not events:
        return None
    if integration.status != IntegrationStatus.ACTIVE:
        tk.store.mark_processed([e.id for e in events], WebhookEventOutcome.IGNORED)
        log.info("integration %s is %s: %s event(s) ignored", name, integration.status, len(events))
        return None
    echoes = _echoes(tk.settings.brevo_api_key_name, events)
    if echoes:
        tk.store.mark_processed([e.id for e in echoes], WebhookEventOutcome.IGNORED)
        echo_ids = {e.id for e in echoes}
        events = [e for e in events if e.id not in echo_ids]
        if not events:
            log.info("integration %s: %s event(s) of its own writes ignored", name, len(echoes))
            return None
    named = _named(tk, integration.id, events)
    try:
        result = tk.run(name, trigger=RunTrigger.EVENT, events=events)
    except RunLockedError:
        raise  # pending still: the next call applies them
    except Exception:
        tk.store.mark_processed([e.id for e in events], WebhookEventOutcome.FAILED)
        raise
    outcome = WebhookEventOutcome.APPLIED if result.status in _APPLIED else WebhookEventOutcome.FAILED
    tk.store.mark_processed([e.id for e in events if e.id not in named], WebhookEventOutcome.IGNORED)
    tk.store.mark_processed([e.id for e in events if e.id in named], outcome)
    log.info(
        "integration %s: %s event(s) -> run %s %s (%s naming no contact of it)",
        name,
        len(events),
        result.run_id,
        result.status,
        len(events) - len(named),
    )
    return result


def _echoes(own_key: str, events: Sequence[WebhookEvent]) -> list[WebhookEvent]:
    """The events of changes the toolkit's own API key made (``Settings.brevo_api_key_name``).

    Only contact updates and list additions carry ``api_key_name`` (Brevo's changelog of
    2026-11-01; ``""`` for a change not made through the API); without the setting none is
    known to be an echo, and each costs one quiet targeted run.
    """
    if not own_key:
        return []
    kinds = (EventKind.CONTACT_UPDATED, EventKind.LIST_ADDITION)
    return [e for e in events if e.kind in kinds and e.api_key_name == own_key]


def _named(tk: Toolkit, integration_id: int, events: Sequence[WebhookEvent]) -> set[int]:
    """The ids of the events naming a linked contact of the integration (by e-mail or contact id)."""
    by_email = tk.store.links_by_emails({e.email for e in events}, integration_ids=[integration_id])
    ids = {e.contact_id for e in events if e.contact_id is not None}
    by_id = tk.store.links_by_brevo_ids(integration_id, ids) if ids else {}
    return {
        e.id
        for e in events
        if e.email.lower() in by_email or (e.contact_id is not None and e.contact_id in by_id)
    }
