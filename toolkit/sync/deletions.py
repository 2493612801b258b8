"""Contacts deleted in Brevo become Salesforce deletes (SPEC Y10), guarded by B6.

Brevo reports no deletions through ``modifiedSince``: they are found by diffing the list's
members (500 a call) against the links, so this runs on its own cadence
(``Settings.brevo_deletion_check_hours``, or every ``--full`` run). A member missing from the
list is deleted in Salesforce only when Brevo no longer knows the contact at all; one that was
merely taken off the list is left alone. A Contact with a Case cannot be deleted
(``DELETE_FAILED``): that is reported once as Y10 and its link is kept aside, not retried.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .. import rules
from ..brevo import contact_ext_id
from ..store import Link
from .context import SyncContext
from .guard import check_mass_delete

__all__ = ["sync_brevo_deletions"]

CURSOR = "brevo_deletions_checked_at"
BATCH = 200


def _due(ctx: SyncContext, full: bool, linked_before: int) -> bool:
    if linked_before == 0:
        return False  # nothing was linked when the run began: nothing can have been deleted
    if full:
        return True
    checked = ctx.store.get_cursor(ctx.iid, CURSOR)
    if checked is None:
        return True
    age = datetime.now(timezone.utc) - datetime.fromisoformat(checked)
    return age >= timedelta(hours=ctx.settings.brevo_deletion_check_hours)


def _gone(ctx: SyncContext) -> list[Link]:
    """Active links whose Brevo contact no longer exists."""
    members: set[str] = set()
    member_ids: set[int] = set()
    for page in ctx.brevo.iter_list_contacts(int(ctx.integration.list_id or 0)):
        ctx.tick("Brevo list members", len(page))
        members.update(i for i in map(contact_ext_id, page) if i)
        member_ids.update(int(c["id"]) for c in page)
    missing = [link for link in ctx.store.iter_links(ctx.iid, state="active")
               if link.sf_id not in members and (link.brevo_id is None or link.brevo_id not in member_ids)]
    return [link for link in missing if ctx.brevo.get_contact(link.sf_id, identifier_type="ext_id") is None]


def sync_brevo_deletions(ctx: SyncContext, *, linked_before: int, full: bool = False,
                         confirm_deletes: bool = False) -> None:
    """Delete in Salesforce the linked records whose Brevo contact was deleted.

    Args:
        linked_before: links the integration had when the run began (an initial load has none,
            and its first check waits for the cadence).

    Raises:
        toolkit.exceptions.MassDeleteBlocked: more than the allowed share would be deleted (B6);
            nothing is deleted.
    """
    if not _due(ctx, full, linked_before):
        if linked_before == 0:
            ctx.commit(cursors={CURSOR: datetime.now(timezone.utc).isoformat()})
        return
    gone = _gone(ctx)
    check_mass_delete(ctx, len(gone), side="Brevo", confirm=confirm_deletes)
    for start in range(0, len(gone), BATCH):
        batch = gone[start:start + BATCH]
        batch = batch[:ctx.grant(len(batch))]
        _delete(ctx, batch)
        if ctx.stopped:
            return
    ctx.commit(cursors={CURSOR: datetime.now(timezone.utc).isoformat()})


def _delete(ctx: SyncContext, batch: list[Link]) -> None:
    if ctx.dry_run:
        for link in batch:
            ctx.outcome.add("to_salesforce.delete", sample={"Id": link.sf_id, "email": link.email})
        return
    results = ctx.sf.delete_records([link.sf_id for link in batch]) if batch else []
    unlink: list[str] = []
    deleted = 0
    kept: list[str] = []
    refused: list[rules.Rejection] = []
    service: dict[str, tuple[str, str]] = {}
    for link, result in zip(batch, results):
        codes = {e.status_code for e in result.errors}
        if result.success or "ENTITY_IS_DELETED" in codes:
            # ENTITY_IS_DELETED for a linked record is this delete replayed (its answer was lost, or the
            # run that sent it died before its commit): it was written once, and it counts once (Q1).
            unlink.append(link.sf_id)
            deleted += 1
            ctx.outcome.add("to_salesforce.delete", sample={"Id": link.sf_id, "email": link.email})
            continue
        error = result.errors[0]
        service[link.sf_id] = (error.status_code, error.message)
        if error.status_code == "DELETE_FAILED":
            kept.append(link.sf_id)
            refused.append(rules.Rejection(
                link.sf_id, "Y10", "", None,
                "The contact was deleted in Brevo, but Salesforce refuses to delete the record because it "
                "has a related Case; it stays in Salesforce and is not retried (SPEC Y10).", permanent=True))
        else:
            refused.append(rules.Rejection(link.sf_id, f"SF:{error.status_code}", "", None,
                                           f"Salesforce refused the delete: {error.message}"))
    ctx.commit(unlink=unlink, rejected=ctx.rejections("to_salesforce", refused, service=service),
               link_states={"kept": kept}, tasks=deleted)
