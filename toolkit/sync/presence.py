"""Before a linked contact is written again: is it still in Brevo, and still on the list? (Y10, B9)

An import is an upsert: an update of a contact someone deleted in Brevo would create it again,
and an import row always joins the integration's list, so a contact taken off the list in Brevo
would be put back. Neither may happen: before the updates of a page are sent, the contacts they
write are looked up, by the cheaper of two ways (the run's API calls are what they cost):

- one ``GET /contacts/{ext_id}`` per contact, when few are written;
- the list's members (``GET /contacts?listIds=``, one call per 1,000), fetched once per run and
  reused by the later pages and by the deletion check (:mod:`.deletions`), when many are; only
  members missing from the list are then looked up one by one, to tell a deletion from a removal.

The choice looks ahead, not at one page alone: the checks still needed are projected from the
records still to come (the REST query's ``totalSize`` says how many) at the latest page's rate
(:meth:`~.context.PresenceTally.still_needed`), so that a first page with a few changes does not spend single
look-ups that the members' read then repeats (at 100,000 contacts with 1% changed, 90 look-ups
and then the 197 pages of the list).

Contacts seen in this run's read of Brevo's changes need no look-up. A deleted contact's write
is dropped and its link handed to the deletion check (Y10, in this run); a contact taken off the
list is updated directly, without a list (``left_list``, B9), and the audit shows it.

A targeted run (Brevo's marketing webhooks, issue 14) brings hints, never facts: the links its
events name (:func:`event_links`) are looked up here too. A ``contact_deleted`` event's contact
is handed to the deletion check only when the look-up finds it gone now
(:func:`confirm_deleted`): a forged, replayed or reordered event (the contact re-created since)
deletes nothing. The other events' linked contacts are read when this run's read of Brevo's
changes (``modifiedSince``) did not bring them (:func:`named_changes`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence

from toolkit.rules.base import BrevoContact
from toolkit.rules.hashing import brevo_values, canonical_values

from ..brevo import contact_ext_id
from ..brevo.events import EventKind
from ..store import Direction, Link, LinkState, Rejection, WebhookEvent
from .context import BrevoMembers, SyncContext
from .diff import Change, changed_keys
from .plan import PARKED_DOMAIN, RULE_LEFT_LIST, Write, WriteKind

__all__ = [
    "LIST_PAGE",
    "confirm_deleted",
    "ensure_present",
    "event_links",
    "left_list_rejections",
    "list_members",
    "look_up",
    "named_changes",
]

DELETABLE = frozenset({LinkState.ACTIVE, LinkState.LEFT_LIST})
"""Link states whose record a deletion in Brevo deletes (as the full check of :mod:`.deletions`)."""
READ_BACK = frozenset({LinkState.ACTIVE, LinkState.LEFT_LIST, LinkState.SUSPENDED})
"""Link states whose contact's Brevo changes are read (as :mod:`.inbound` does)."""

LIST_PAGE = 1000  # members per call of GET /contacts?listIds= (the definition's maximum for getContacts)


def list_members(ctx: SyncContext) -> BrevoMembers:
    """The integration list's members (fetched once per run; N/500 calls)."""
    if ctx.members is None:
        ext_ids: set[str] = set()
        ids: set[int] = set()
        pages = 0
        for page in ctx.brevo.iter_contacts(list_id=int(ctx.integration.list_id or 0), page_size=LIST_PAGE):
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


def ensure_present(ctx: SyncContext, writes: list[Write], *, records: int = 0) -> list[Write]:
    """``writes`` without the updates of contacts deleted in Brevo; removals from the list marked.

    Args:
        writes: the writes planned for a page.
        records: the Salesforce records that page held (for the run's projection).

    Returns the writes to send (the same objects, or copies whose link is marked ``left_list``).
    """
    list_id = int(ctx.integration.list_id or 0)
    todo = [
        w
        for w in writes
        if w.kind == WriteKind.UPDATE and w.link is not None and w.link.state != LinkState.LEFT_LIST
    ]
    if not todo:
        ctx.presence.add_page(records, 0)
        return writes
    known: dict[str, bool] = {}  # sf_id -> on the list (present); absent: deleted in Brevo
    unknown = []
    for write in todo:
        seen = ctx.seen_in_brevo.get(write.sf_id)
        if seen is not None:
            known[write.sf_id] = _in_list(seen, list_id)
        else:
            unknown.append(write)
    ctx.presence.add_page(records, len(unknown))
    pages = math.ceil(max(1, ctx.store.count_links(ctx.iid)) / LIST_PAGE)
    if unknown and (ctx.members is not None or ctx.presence.still_needed() > pages):
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


def left_list_rejections(
    ctx: SyncContext, sf_ids: list[str], names: Mapping[str, str | None] | None = None
) -> list[Rejection]:
    """The audit's entries (and the run's counts) for contacts taken off the list in Brevo (B9).

    Args:
        sf_ids: the records whose contact left the list.
        names: the person each record is (its name, never an e-mail), where known.
    """
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
                record_name=(names or {}).get(sf_id),
            )
            for sf_id in sf_ids
        ],
    )


def event_links(ctx: SyncContext, events: Iterable[WebhookEvent]) -> dict[int, list[Link]]:
    """The integration's links each event names, by event id: by e-mail, or by Brevo contact id.

    An event naming no link (a contact of Brevo's own, Y1, or of another integration) maps to
    an empty list.
    """
    events = list(events)
    by_email = ctx.store.links_by_emails({e.email for e in events}, integration_ids=[ctx.iid])
    ids = {e.contact_id for e in events if e.contact_id is not None}
    by_id = ctx.store.links_by_brevo_ids(ctx.iid, ids) if ids else {}
    named: dict[int, list[Link]] = {}
    for event in events:
        links = {link.sf_id: link for link in by_email.get(event.email.lower(), [])}
        if event.contact_id is not None and event.contact_id in by_id:
            link = by_id[event.contact_id]
            links[link.sf_id] = link
        named[event.id] = list(links.values())
    return named


def confirm_deleted(ctx: SyncContext, events: Sequence[WebhookEvent]) -> list[Link]:
    """Hand the linked contacts that ``contact_deleted`` events name, and that are gone now, to the deletion check.

    Each named link (active or off the list, as the full check takes them) is looked up at
    Brevo now (:func:`look_up`, one call each): only a contact Brevo no longer knows is added to
    ``ctx.gone_in_brevo``, which :func:`toolkit.sync.deletions.sync_brevo_deletions` deletes in
    this run (Y10, the B6 guard as usual) whether or not the periodic check is due. A contact
    that still exists (a forged or replayed event, or one reordered after a re-creation) is left
    alone, and so is a contact taken off the list only (B9 is the full check's to decide).

    Returns:
        The links found gone.
    """
    deletions = [e for e in events if e.kind == EventKind.CONTACT_DELETED]
    if not deletions:
        return []
    candidates: dict[str, Link] = {}
    for links in event_links(ctx, deletions).values():
        for link in links:
            if link.state in DELETABLE and link.sf_id not in ctx.gone_in_brevo:
                candidates[link.sf_id] = link
    found = look_up(ctx, list(candidates))
    gone = [link for sf_id, link in candidates.items() if found[sf_id] is None]
    for link in gone:
        ctx.gone_in_brevo[link.sf_id] = link
        ctx.outcome.add("deleted_in_brevo", sample={"Id": link.sf_id})
    return gone


def named_changes(ctx: SyncContext, events: Sequence[WebhookEvent], changes: dict[str, Change]) -> int:
    """Read the linked contacts that events other than deletions name and this run's read did not bring.

    Brevo's ``modifiedSince`` read normally brings every change an event tells of; a linked
    contact it did not bring (a change older than the cursor, or one that did not move
    ``modifiedAt``) is read directly, one ``GET /contacts/{ext_id}`` each (the event names it by
    e-mail or contact id, :func:`event_links`; the link's EXT_ID finds the contact even when its
    e-mail changed since), and added to ``changes`` when its synced attributes differ from the
    last sync, as the read would have added it. Events naming no link (Brevo's own contacts, Y1)
    cost no call.

    Returns:
        How many contacts were read.
    """
    others = [e for e in events if e.kind != EventKind.CONTACT_DELETED]
    if not others:
        return 0
    todo: dict[str, Link] = {}
    for links in event_links(ctx, others).values():
        for link in links:
            if link.state in READ_BACK and link.sf_id not in ctx.seen_in_brevo and link.sf_id not in changes:
                todo[link.sf_id] = link
    keys = [spec.brevo_attribute for spec in ctx.mapping.synced()]
    for sf_id, link in todo.items():
        contact = ctx.brevo.get_contact(sf_id, identifier_type="ext_id")
        if contact is None:
            continue  # deleted since: the deletion check (or its own event) settles it
        ctx.seen_in_brevo[sf_id] = contact
        values = canonical_values(brevo_values(contact, ctx.mapping), ctx.mapping)
        changed = changed_keys(values, link.synced, keys)
        if str(values.get("EMAIL") or "").endswith("@" + PARKED_DOMAIN):
            changed.discard("EMAIL")  # parked for an exchange of addresses (B5), as the read does
        if changed:
            changes[sf_id] = Change(sf_id, contact, values, changed, link)
    return len(todo)
