"""One run of an integration: lock, read both sides, apply the rules, write, commit, report.

Order of a run (DESIGN "data flow"): read Brevo's changes of linked contacts -> stream
Salesforce's changes page by page (conflicts settled against Brevo's) and import them ->
write the remaining Brevo changes to Salesforce -> on its cadence, find contacts deleted in
Brevo and delete them in Salesforce. Every batch commits its links, cursor and rejections in
one transaction after the API confirmed it, so a crash anywhere replays at most one batch and
the replay changes nothing twice.

A targeted run (``events``: Brevo's marketing webhooks, issue 14) is the same run, told what
to look at too: the linked contacts the events name that the read of Brevo's changes did not
bring are read directly, and the contacts ``contact_deleted`` events name are looked up and,
if really gone, deleted in this run (:mod:`.presence`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from toolkit.mapping.types import Mapping
from toolkit.rules.base import RULE_Y8

from ..brevo import BrevoClient
from ..config import Settings
from ..exceptions import (
    AuthError,
    ConfigError,
    FatalApiError,
    MassDeleteBlocked,
    ToolkitError,
)
from ..quota import Quota, check_not_stopped
from ..salesforce import SalesforceClient
from ..store import (
    SYSTEM_ACTOR,
    Direction,
    Integration,
    IntegrationStatus,
    LinkState,
    RunStatus,
    RunTrigger,
    Store,
    WebhookEvent,
)
from .context import SyncContext
from .deletions import sync_brevo_deletions
from .inbound import read_brevo_changes, record_left_list, sync_to_salesforce
from .lists import move_linked_contacts
from .lock import RunLock
from .model import RunResult
from .outbound import sync_to_brevo
from .presence import confirm_deleted, named_changes

__all__ = ["run_integration"]

log = logging.getLogger(__name__)


def _check_ready(store: Store, name: str, dry_run: bool) -> None:
    integration = store.get_integration(name)
    if integration.list_id is None or not integration.mapping:
        raise ConfigError(f"integration {name!r} has no Brevo list or no mapping yet: finish its setup")
    if integration.status != IntegrationStatus.ACTIVE and not dry_run:
        check_not_stopped(store, name)  # Q3: stopped by the quota -> QuotaExhausted saying when it resumes
        why = f" ({integration.stop_reason})" if integration.stop_reason else ""
        raise ConfigError(
            f"integration {name!r} is {integration.status}{why}: activate it first, "
            f"or use a dry run to see what it would do"
        )


def run_integration(
    store: Store,
    settings: Settings,
    name: str,
    *,
    sf: SalesforceClient,
    brevo: BrevoClient,
    dry_run: bool = False,
    full: bool = False,
    confirm_deletes: bool = False,
    quota: Quota | None = None,
    progress: Callable[[str, int], None] | None = None,
    trigger: RunTrigger = RunTrigger.MANUAL,
    events: Sequence[WebhookEvent] | None = None,
    proposed: Integration | None = None,
) -> RunResult:
    """Run (or, with ``dry_run``, plan: SPEC B1) one integration's two-way sync.

    Args:
        store: the state database.
        settings: thresholds and sizes (bulk threshold, import size, B6 share...).
        name: the integration.
        sf, brevo: signed-in clients (see :mod:`toolkit.connections`).
        dry_run: read and plan everything, write nothing (no API write, no state change
            but the run's own row).
        full: ignore the cursors: compare every record (still writes only differences) and
            check Brevo deletions now.
        confirm_deletes: go ahead with deletions above the B6 share.
        quota: the monthly task quota (SPEC Q1-Q3): tasks are reserved before each batch and
            counted in the batch's commit; ``None`` writes without a quota.
        progress: called with ``(phase, records)`` as records are handled (e.g. a tqdm bar).
        trigger: what started the run, kept with it (the pages show it).
        events: webhook events of this integration (its inbox, see
            :meth:`toolkit.store.Store.pending_events`) that this run must act on besides the
            usual: hints, checked against the API. The contacts named by ``contact_deleted``
            events are looked up now and, if Brevo no longer knows them, deleted in Salesforce
            in this run (Y10 and B6 as usual) even when the periodic deletion check is not due;
            a contact that still exists is not deleted. The linked contacts named (by e-mail or
            contact id) by the other events are read when Brevo's ``modifiedSince`` read did
            not bring them. The caller marks the events processed
            (:func:`toolkit.serve.events.apply_events`).
        proposed: plan with these settings instead of the stored ones (a dry run only: the
            preview of an edit, :meth:`toolkit.api.Toolkit.preview_edit`).

    An edit's pending work is done by the next real run: a backfill of newly mapped
    attributes (``backfill_pending``) makes it a full run, settled when it ends with everything
    written; a list move (``list_move_from``) is carried out first
    (:func:`~toolkit.sync.lists.move_linked_contacts`).

    Returns:
        The run's result; ``status`` says how it ended. Refusals of single records are
        rejections (see the audit), not failures.

    Raises:
        RunLockedError: another run of this integration is in progress.
        ConfigError: the integration is unknown, not set up, or not active (unless dry run).
    """
    if proposed is not None and not dry_run:
        raise ValueError("proposed settings are only planned (dry_run=True), never written")
    _check_ready(store, name, dry_run)
    with RunLock(settings.state_dir, name, store):
        integration = proposed or store.get_integration(name)
        full = full or integration.backfill_pending
        # A run still "running" lost its process (killed, its machine gone): we hold its lock.
        # Closing it also frees its quota reservation (only running runs' reservations count).
        store.abandon_running_runs(integration.id)
        run = store.start_run(integration.id, dry_run=dry_run, full=full, trigger=trigger)
        ctx = SyncContext(
            store,
            settings,
            integration,
            Mapping.from_json(integration.mapping),
            sf,
            brevo,
            run.id,
            dry_run=dry_run,
            progress=progress,
        )
        if quota is not None:
            ctx.reserve = quota.reserver(integration.id, run.id)
            ctx.record_tasks = lambda n: quota.record(integration.id, run.id, n)
        status: RunStatus = RunStatus.SUCCEEDED
        message: str | None = None
        written = True  # everything but held deletions written (SUCCEEDED, or BLOCKED by ctx.held)
        linked_before = store.count_links(integration.id)
        try:
            move_linked_contacts(ctx)
            changes, brevo_cursor = read_brevo_changes(ctx, full=full)
            if events:
                named_changes(ctx, events, changes)
            sync_to_brevo(ctx, changes, full=full, confirm_deletes=confirm_deletes)
            record_left_list(ctx)
            if not ctx.stopped:
                sync_to_salesforce(ctx, changes, brevo_cursor)
            if events and not ctx.stopped:
                confirm_deleted(ctx, events)
            if not ctx.stopped:
                sync_brevo_deletions(
                    ctx, linked_before=linked_before, full=full, confirm_deletes=confirm_deletes
                )
            if ctx.stopped:
                status = RunStatus.STOPPED
                message = (
                    "the monthly task quota is used up: the rest is written after it resets or is raised"
                )
            elif ctx.held or _held_links(store, integration.id):  # B6: all was written but held deletions
                status = RunStatus.BLOCKED
                message = " ".join(ctx.held) or _held_message(store, integration.id, name)
        except MassDeleteBlocked as exc:  # stopped before writing everything
            status, message, written = RunStatus.BLOCKED, str(exc), False
        except (AuthError, FatalApiError, ConfigError) as exc:
            status, message = RunStatus.FAILED, str(exc)
            if not dry_run:
                store.set_status(name, IntegrationStatus.ERROR, last_error=message, actor=SYSTEM_ACTOR)
        except ToolkitError as exc:  # transient (retries exhausted): stays active, the next run retries
            status, message = RunStatus.FAILED, str(exc)
        except BaseException as exc:
            _finish(store, run.id, ctx, RunStatus.FAILED, f"interrupted: {type(exc).__name__}", quota)
            raise
        _finish(store, run.id, ctx, status, message, quota)
        complete = status == RunStatus.SUCCEEDED or (status == RunStatus.BLOCKED and written)
        if complete and not dry_run and integration.backfill_pending:
            store.settle_backfill(integration.id, mapping=integration.mapping)
        if status == RunStatus.SUCCEEDED and not dry_run:
            _show_y8(store, name, ctx)
        log.info("run %s of %s: %s, %s tasks", run.id, name, status, ctx.outcome.tasks)
        return RunResult(
            name,
            run.id,
            status,
            dry_run,
            dict(ctx.outcome.counts),
            dict(ctx.outcome.rejected),
            ctx.outcome.samples,
            ctx.outcome.tasks,
            message,
        )


def _finish(
    store: Store, run_id: int, ctx: SyncContext, status: RunStatus, message: str | None, quota: Quota | None
) -> None:
    if quota is not None:
        quota.release(run_id)  # whatever is left of the run's reservation
    usage = ctx.sf.api_usage
    store.finish_run(
        run_id,
        status,
        counts=ctx.outcome.as_json(),
        error=message,
        sf_api_used=usage[0] if usage else None,
        sf_api_limit=usage[1] if usage else None,
    )


def _show_y8(store: Store, name: str, ctx: SyncContext) -> None:
    """SPEC Y8: the integration shows an error naming the Lead whose first name was too long.

    The status stays as it is (one Lead must not stop the sync); the notice is kept with its
    rule (``last_error_rule``) and goes away once no Y8 rejection is open any more.
    """
    samples = ctx.outcome.samples.get(f"rule:{RULE_Y8}") or []
    # Read and written in one transaction: a quota stop or a pause committed by another process
    # between the two must not be undone by writing back the status read before it.
    with store.transaction():
        current = store.get_integration(name)
        if samples:
            ids = ", ".join(str(s["record_id"]) for s in samples)
            message: str | None = (
                f"{ctx.outcome.rejected[RULE_Y8]} Lead(s) not updated: first name "
                f"longer than 40 characters in Brevo (SPEC Y8): {ids}"
            )
            rule: str | None = RULE_Y8
        elif current.last_error_rule != RULE_Y8 or store.open_rejections_by_rule(
            current.id, Direction.TO_SALESFORCE, [RULE_Y8]
        ):
            return  # no Y8 notice shown, or a Lead still waits for a shorter first name
        else:
            message = rule = None
        store.set_status(
            name,
            current.status,
            last_error=message,
            last_error_rule=rule,
            stop_reason=current.stop_reason,
            actor=SYSTEM_ACTOR,
        )


def _held_links(store: Store, integration_id: int) -> int:
    """Deletions an earlier run held (B6) that still wait for a confirmation."""
    return store.count_links(integration_id, state=LinkState.HELD_DELETE) + store.count_links(
        integration_id, state=LinkState.HELD_BREVO_DELETE
    )


def _held_message(store: Store, integration_id: int, name: str) -> str:
    return (
        f"{_held_links(store, integration_id)} deletions wait for a confirmation (B6); everything else was "
        f"synced. Check them, then confirm: `toolkit sync {name} --confirm-deletes` or the Confirm button "
        "of the integrations page."
    )
