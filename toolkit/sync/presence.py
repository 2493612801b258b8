"""Before a linked contact is written again: is it still in Brevo, and still on the list? (Y10, B9)

An import is an upsert: an update of a contact someone deleted in Brevo would create it again,
and an import row always joins the integration's list, so a contact taken off the list in Brevo
would be put back. Neither may happen: before the updates of a page are sent, the contacts they
write are looked up, by the cheaper of two ways (the run's API calls are what they cost):

- one ``GET /contacts/{ext_id}`` per contact, when few are written;
- the list's members (one call per 500), fetched once per run and reused by the later pages and
  by the deletion check (:mod:`.deletions`), when many are; only members missing from the list
  are then looked up one by one, to tell a deletion from a removal.

Contacts seen in this run's read of Brevo's changes need no look-up. A deleted contact's write
is dropped and its link handed to the deletion check (Y10, in this run); a contact taken off the
list is updated directly, without a list (``left_list``, B9), and the audit shows it.
"""

from __future__ import annotations

import dataclasses
import math

from toolkit.rules.base import BrevoContact

from ..brevo import contact_ext_id
from ..store import Direction, Link, LinkState, Rejection
from .context import BrevoMembers, SyncContext
from .plan import RULE_LEFT_LIST, Write, WriteKind

__all__ = ["LIST_PAGE", "ensure_present", "left_list_rejections", "list_members", "look_up"]

LIST_PAGE = 500  # members per call of GET /contacts/lists/{id}/contacts


def list_members(ctx: SyncContext) -> BrevoMembers:
    """The integration list's members (fetched once per run; N/500 calls)."""
    if ctx.members is None:
        ext_ids: set[str] = set()
        ids: set[int] = set()
        pages = 0
        for page in ctx.brevo.iter_list_contacts(int(ctx.integration.list_id or 0), LIST_PAGE):
            pages += 1
            ctx.tick("Brevo list members", len(page))
            ext_ids.update(i for i in map(contact_ext_id, page) if i)
            ids.update(int(c["id"]) for c in page if isinstance(c.get("id"), int))
        ctx.members = BrevoMembers(ext_ids, ids, max(1, pages))
    return ctx.members


def _in_list(contact: BrevoContact, list_id: int) -> bool:
    return list_id in (contact.get("listIds") or [])


def look_up(ctx: SyncContext, sf_ids: list[str]) -> dict[str, bool | None]:
    """One ``GET /contacts/{ext_id}`` each: on the list (``True``), off it (``False``), deleted (``None``)."""
    list_id = int(ctx.integration.list_id or 0)
    found: dict[str, bool | None] = {}
    for sf_id in sf_ids:
        contact = ctx.brevo.get_contact(sf_id, identifier_type="ext_id")
        found[sf_id] = None if contact is None else _in_list(contact, list_id)
    return found


def ensure_present(ctx: SyncContext, writes: list[Write]) -> list[Write]:
    """``writes`` without the updates of contacts deleted in Brevo; removals from the list marked.

    Returns the writes to send (the same objects, or copies whose link is marked ``left_list``).
    """
    list_id = int(ctx.integration.list_id or 0)
    todo = [
        w
        for w in writes
        if w.kind == WriteKind.UPDATE and w.link is not None and w.link.state != LinkState.LEFT_LIST
    ]
    if not todo:
        return writes
    known: dict[str, bool] = {}  # sf_id -> on the list (present); absent: deleted in Brevo
    unknown = []
    for write in todo:
        seen = ctx.seen_in_brevo.get(write.sf_id)
        if seen is not None:
            known[write.sf_id] = _in_list(seen, list_id)
        else:
            unknown.append(write)
    pages = math.ceil(max(1, ctx.store.count_links(ctx.iid)) / LIST_PAGE)
    if unknown and (ctx.members is not None or len(unknown) > pages):
        members = list_members(ctx)
        known.update((w.sf_id, True) for w in unknown if w.link is not None and members.has(w.link))
        unknown = [w for w in unknown if w.sf_id not in known]
    looked_up = look_up(ctx, [w.sf_id for w in unknown])  # few: one by one
    gone = {sf_id for sf_id, on_list in looked_up.items() if on_list is None}
    known.update((sf_id, on_list) for sf_id, on_list in looked_up.items() if on_list is not None)
    out: list[Write] = []
    for write in writes:
        if write.sf_id in gone:
            assert write.link is not None
            ctx.gone_in_brevo[write.sf_id] = write.link
            ctx.outcome.add("deleted_in_brevo", sample={"Id": write.sf_id})
            continue
        if known.get(write.sf_id) is False:
            write = _left_list(ctx, write)
        out.append(write)
    return out


def _left_list(ctx: SyncContext, write: Write) -> Write:
    """A contact taken off the list in Brevo: marked, and still updated (without the list)."""
    link = write.link
    assert link is not None
    ctx.left_list.append(write.sf_id)
    marked: Link = dataclasses.replace(link, state=LinkState.LEFT_LIST)
    return dataclasses.replace(write, link=marked)


def left_list_rejections(ctx: SyncContext, sf_ids: list[str]) -> list[Rejection]:
    """The audit's entries (and the run's counts) for contacts taken off the list in Brevo (B9)."""
    for sf_id in sf_ids:
        ctx.outcome.add("left_list", sample={"Id": sf_id})
    return ctx.rejections(
        Direction.TO_BREVO,
        [
            Rejection(
                sf_id,
                RULE_LEFT_LIST,
                "listIds",
                str(ctx.integration.list_id),
                (
                    f"The contact was taken off Brevo list {ctx.integration.list_id} in Brevo: it is not put back; its "
                    "attributes are still kept in sync (B9)."
                ),
                permanent=True,
            )
            for sf_id in sf_ids
        ],
    )
