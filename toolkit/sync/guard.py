"""B6: a run that would delete more than a set share of the linked contacts stops first."""

from __future__ import annotations

from ..exceptions import MassDeleteBlocked
from .context import SyncContext

__all__ = ["check_mass_delete"]


def check_mass_delete(ctx: SyncContext, planned: int, *, side: str, confirm: bool) -> None:
    """Raise :class:`MassDeleteBlocked` before deleting more than the allowed share of links.

    Args:
        planned: deletions this run would make.
        side: where the records were deleted (``"Salesforce"`` or ``"Brevo"``), for the message.
        confirm: the user confirmed (``--confirm-deletes``): go ahead whatever the share.
    """
    if planned == 0 or confirm:
        return
    linked = ctx.store.count_links(ctx.iid)
    share = ctx.integration.mass_delete_share or ctx.settings.mass_delete_share
    if planned <= share * linked:
        return
    ctx.outcome.add("blocked_deletes", planned)
    raise MassDeleteBlocked(
        f"{planned} of {linked} linked contacts were deleted in {side}: more than the allowed "
        f"{share:.0%}, so nothing was deleted. Check them, then run "
        f"`toolkit sync {ctx.integration.name} --confirm-deletes` to delete them anyway.",
        planned=planned, linked=linked, threshold=share)
