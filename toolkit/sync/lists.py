"""An edit moved the integration to another Brevo list: the linked contacts follow (issue 15).

The edit only records the move (``Integration.list_move_from``); the next run carries it out
first, before it reads anything, so that the contacts are on the new list when Brevo's changes
are read (B9 would otherwise take every linked contact for one that left the list). Putting
contacts on a list and taking them off are idempotent, so a run that dies half-way is
replayed by the next one; the move is settled only once both calls went through, and only if
no later edit changed the lists in between.
"""

from __future__ import annotations

from ..store import LinkState
from .context import SyncContext

__all__ = ["MOVED_STATES", "move_linked_contacts"]

MOVED_STATES = (LinkState.ACTIVE, LinkState.SUSPENDED, LinkState.HELD_DELETE)
"""The links whose contact is in Brevo and belongs on the integration's list (one that left the
list in Brevo, B9, stays off it; a contact deleted in Brevo is gone)."""


def move_linked_contacts(ctx: SyncContext) -> None:
    """Put the linked contacts on the new list (and off the old one when the edit said so).

    Counted as ``moved_to_list`` (and ``left_old_list``); a dry run only counts them.
    """
    integration = ctx.integration
    old, new = integration.list_move_from, integration.list_id
    if old is None or new is None:
        return
    ids = [link.sf_id for state in MOVED_STATES for link in ctx.store.iter_links(ctx.iid, state=state)]
    if old != new:
        ctx.outcome.add("moved_to_list", len(ids))
        if integration.list_move_remove:
            ctx.outcome.add("left_old_list", len(ids))
    if ctx.dry_run:
        return
    if old != new and ids:
        ctx.brevo.add_to_list(new, ids)
        if integration.list_move_remove:
            ctx.brevo.remove_from_list(old, ids)
    ctx.store.settle_list_move(ctx.iid, moved_from=old, moved_to=new)
