"""B6: deletions above a share *and* a count of the linked contacts wait for a confirmation.

Only the deletions wait: creates and updates of the same run go through. The held deletions
are kept on the links (``held_delete`` for records deleted in Salesforce, ``held_brevo_delete``
for contacts deleted in Brevo), shown on the integrations page, the dashboard and
``toolkit integrations show``, and carried out by a run with ``confirm_deletes``
(``toolkit sync NAME --confirm-deletes``, the pages' Confirm button).
"""

from __future__ import annotations

from .context import SyncContext

__all__ = ["deletions_held"]


def deletions_held(ctx: SyncContext, planned: int, *, side: str, confirm: bool) -> bool:
    """Whether ``planned`` deletions must wait for a confirmation (and, if so, say so once).

    Args:
        planned: deletions this run would make (held ones of earlier runs included).
        side: where the records were deleted (``"Salesforce"`` or ``"Brevo"``), for the message.
        confirm: the user confirmed: go ahead whatever the numbers.

    The guard fires when ``planned`` is above the integration's share of its links
    (``mass_delete_share``, 5% by default) and above its count (``mass_delete_min``, 25 by
    default): one deletion on a list of 15 goes through, 30 of 100 wait.
    """
    if planned == 0 or confirm:
        return False
    linked = ctx.store.count_links(ctx.iid)
    share = ctx.integration.mass_delete_share or ctx.settings.mass_delete_share
    minimum = ctx.integration.mass_delete_min
    minimum = ctx.settings.mass_delete_min if minimum is None else minimum
    if planned <= share * linked or planned <= minimum:
        return False
    ctx.hold(planned, side, share, minimum, linked)
    return True
