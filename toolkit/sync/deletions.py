"""Contacts deleted in Brevo become Salesforce deletes (SPEC Y10), guarded by B6.

Brevo reports no deletions through ``modifiedSince``: they are found by diffing the list's
members (500 a call) against the links. A member missing from the list is deleted in Salesforce
only when Brevo no longer knows the contact at all; one that was merely taken off the list is
marked ``left_list`` (B9). A Contact with a Case cannot be deleted (``DELETE_FAILED``): that is
reported once as Y10 and its link is kept aside, not retried.

When it runs: contacts found deleted while this run checked its updates (:mod:`.presence`) are
handled in this run, whatever else; the full diff runs when this run read the members anyway,
on ``--full``, and otherwise on a cadence set by its measured cost: its calls spread over the
hours at :data:`CHECK_CALLS_PER_HOUR` (1% of Brevo's 36,000 contacts calls an hour), never more
than ``Settings.brevo_deletion_check_hours`` apart. A list of 10,000 is checked every run,
one of 1,000,000 (2,000 calls) about every 5.6 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..audit.links import name_from_values
from ..store import Direction, Link, LinkState, Rejection
from .context import SyncContext
from .guard import deletions_held
from .model import action
from .plan import WriteKind
from .presence import LIST_PAGE, left_list_rejections, list_members, look_up

__all__ = ["CHECK_CALLS_PER_HOUR", "sync_brevo_deletions"]

CURSOR = "brevo_deletions_checked_at"
PAGES = "brevo_deletions_pages"  # what the last diff cost, in calls
CHECK_CALLS_PER_HOUR = 360
BATCH = 200
DELETE = action(Direction.TO_SALESFORCE, WriteKind.DELETE)


def _due(ctx: SyncContext, full: bool, linked_before: int) -> bool:
    if linked_before == 0:
        return False  # nothing was linked when the run began: nothing can have been deleted
    if full or ctx.members is not None:
        return True  # asked for, or the members were read in this run already (no extra call)
    checked = ctx.store.get_cursor(ctx.iid, CURSOR)
    if checked is None:
        return True
    try:
        age = datetime.now(UTC) - datetime.fromisoformat(checked)
    except ValueError:
        return True
    pages = int(ctx.store.get_cursor(ctx.iid, PAGES) or -(-linked_before // LIST_PAGE))
    every = min(ctx.settings.brevo_deletion_check_hours, pages / CHECK_CALLS_PER_HOUR)
    return age >= timedelta(hours=every)


@dataclass(frozen=True, slots=True)
class Gone:
    """What the full check found (:func:`_gone`).

    Attributes:
        deleted: links whose Brevo contact no longer exists (Y10: delete the record).
        left_list: Salesforce Ids of active links whose contact was taken off the list (B9).
        names: the person each of ``left_list`` is, from its link's synced values (or ``None``).
    """

    deleted: list[Link]
    left_list: list[str]
    names: dict[str, str | None]


def _gone(ctx: SyncContext) -> Gone:
    """Links whose Brevo contact no longer exists, and active links whose contact left the list."""
    members = list_members(ctx)
    keys = [
        key.sf_id
        for key in ctx.store.iter_link_keys(ctx.iid)  # every link: keys only, no synced values
        if key.sf_id not in ctx.gone_in_brevo
        and (key.state == LinkState.LEFT_LIST or (key.state == LinkState.ACTIVE and not members.has(key)))
    ]
    found_links = ctx.store.links_by_sf_ids(ctx.iid, keys)
    candidates = [found_links[sf_id] for sf_id in keys if sf_id in found_links]
    found = look_up(ctx, [link.sf_id for link in candidates])
    gone = [link for link in candidates if found[link.sf_id] is None]
    left = [link for link in candidates if link.state == LinkState.ACTIVE and found[link.sf_id] is False]
    names = {link.sf_id: name_from_values(link.synced) for link in left}  # never an e-mail
    return Gone(gone, [link.sf_id for link in left], names)


def sync_brevo_deletions(
    ctx: SyncContext, *, linked_before: int, full: bool = False, confirm_deletes: bool = False
) -> None:
    """Delete in Salesforce the linked records whose Brevo contact was deleted.

    Args:
        linked_before: links the integration had when the run began (an initial load has none,
            and its first check waits for the cadence).
        confirm_deletes: go ahead above the B6 guard, and carry out deletions held earlier.

    Deletions above the B6 guard wait (``held_brevo_delete``); the run says so.
    """
    found = list(ctx.gone_in_brevo.values())
    checked = _due(ctx, full, linked_before)
    if not checked and not found and not confirm_deletes:
        if linked_before == 0:
            ctx.commit(cursors={CURSOR: datetime.now(UTC).isoformat()})
        return
    left: list[str] = []
    names: dict[str, str | None] = {}
    if checked:
        gone_now = _gone(ctx)
        found += gone_now.deleted
        left, names = gone_now.left_list, gone_now.names
    held = ctx.store.all_links(ctx.iid, state=LinkState.HELD_BREVO_DELETE)
    rejected = left_list_rejections(ctx, left, names)
    if deletions_held(ctx, len(found) + len(held), side="Brevo", confirm=confirm_deletes):
        for link in found:
            ctx.outcome.add("held_delete", sample={"Id": link.sf_id})
        ctx.commit(
            link_states={
                LinkState.HELD_BREVO_DELETE: [link.sf_id for link in found],
                LinkState.LEFT_LIST: left,
            },
            rejected=rejected,
            cursors=_checked(ctx, checked),
        )
        return
    gone = found + held
    if left:
        ctx.commit(link_states={LinkState.LEFT_LIST: left}, rejected=rejected)
    for start in range(0, len(gone), BATCH):
        batch = gone[start : start + BATCH]
        batch = batch[: ctx.grant(len(batch))]
        _delete(ctx, batch)
        if ctx.stopped:
            return
    ctx.commit(cursors=_checked(ctx, checked))


def _checked(ctx: SyncContext, checked: bool) -> dict[str, str] | None:
    if not checked:
        return None
    pages = ctx.members.pages if ctx.members is not None else 1
    return {CURSOR: datetime.now(UTC).isoformat(), PAGES: str(pages)}


def _delete(ctx: SyncContext, batch: list[Link]) -> None:
    if ctx.dry_run:
        for link in batch:
            ctx.outcome.add(DELETE, sample={"Id": link.sf_id, "email": link.email})
        return
    results = ctx.sf.delete_records([link.sf_id for link in batch]) if batch else []
    unlink: list[str] = []
    deleted = 0
    kept: list[str] = []
    refused: list[Rejection] = []
    service: dict[str, tuple[str, str]] = {}
    for link, result in zip(batch, results):
        codes = {e.status_code for e in result.errors}
        if result.success or "ENTITY_IS_DELETED" in codes:
            # ENTITY_IS_DELETED for a linked record is this delete replayed (its answer was lost, or the
            # run that sent it died before its commit): it was written once, and it counts once (Q1).
            unlink.append(link.sf_id)
            deleted += 1
            ctx.outcome.add(DELETE, sample={"Id": link.sf_id, "email": link.email})
            continue
        error = result.errors[0]
        service[link.sf_id] = (error.status_code, error.message)
        if error.status_code == "DELETE_FAILED":
            kept.append(link.sf_id)
            refused.append(
                Rejection(
                    link.sf_id,
                    "Y10",
                    "",
                    None,
                    "The contact was deleted in Brevo, but Salesforce refuses to delete the record because it "
                    "has a related Case; it stays in Salesforce and is not retried (SPEC Y10).",
                    permanent=True,
                    record_name=name_from_values(link.synced),
                )
            )
        else:
            refused.append(
                Rejection(
                    link.sf_id,
                    f"SF:{error.status_code}",
                    "",
                    None,
                    f"Salesforce refused the delete: {error.message}",
                    record_name=name_from_values(link.synced),
                )
            )
    ctx.commit(
        unlink=unlink,
        rejected=ctx.rejections(Direction.TO_SALESFORCE, refused, service=service),
        link_states={LinkState.KEPT: kept},
        tasks=deleted,
    )
