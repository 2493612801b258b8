"""Brevo -> Salesforce: linked contacts modified since the cursor, mapped fields only (SPEC Y1).

Brevo's changes are read first, before Salesforce's, so that a record changed on both sides is
seen as a conflict (B8's blacklist flags, ``emailBlacklisted`` -> ``HasOptedOutOfEmail``, like
any mapped attribute: an unsubscribe moves the contact's ``modifiedAt``); what remains after the conflicts are settled is written here through
``PATCH composite/sobjects`` (200 a call, allOrNone false), each refusal recorded with
Salesforce's statusCode and message.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from toolkit.mapping.types import BLACKLIST, EMAIL_BLACKLISTED
from toolkit.rules.base import RULE_Y6, BrevoContact, SfUpdate, value_text
from toolkit.rules.hashing import brevo_values, canonical_hash, canonical_values
from toolkit.rules.rejection import person_name

from .. import rules
from ..brevo import contact_ext_id, format_brevo_datetime, parse_brevo_datetime
from ..exceptions import ConfigError
from ..store import Direction, Link, LinkState, Rejection
from .context import SyncContext
from .diff import Change, address_resubscribed, changed_keys, merged
from .model import action
from .plan import PARKED_DOMAIN, RULE_LEFT_LIST, WriteKind
from .presence import left_list_rejections

SYNCED = frozenset({LinkState.ACTIVE, LinkState.LEFT_LIST, LinkState.SUSPENDED})
"""Link states whose contact's Brevo changes are read (a suspended one's only to report them, Y6)."""

__all__ = [
    "BrevoChanges",
    "contact_name",
    "modified_at",
    "read_brevo_changes",
    "record_left_list",
    "sync_to_salesforce",
]

log = logging.getLogger(__name__)

CURSOR = "brevo"
LOOK_BACK = timedelta(milliseconds=1)
"""How far before the newest ``modifiedAt`` seen the next run reads again."""
BATCH = 200
_NEVER = datetime.min.replace(tzinfo=UTC)


class BrevoChanges(NamedTuple):
    """What :func:`read_brevo_changes` found (a named pair: the engine unpacks it).

    Attributes:
        changes: linked contacts whose synced attributes changed, by Salesforce Id.
        cursor: the Brevo cursor to commit once they are written (``None``: keep the old one).
    """

    changes: dict[str, Change]
    cursor: str | None


def modified_at(contact: BrevoContact) -> datetime | None:
    """A contact's ``modifiedAt`` (with or without milliseconds, any offset), ``None`` when unreadable.

    A contact whose time cannot be read is still compared and synced; it only cannot move the
    cursor, so the next run reads it again.
    """
    try:
        return parse_brevo_datetime(contact.get("modifiedAt"))
    except ValueError:
        log.warning("a Brevo contact (id %s) has no readable modifiedAt", contact.get("id"))
        return None


def read_brevo_changes(ctx: SyncContext, *, full: bool = False) -> BrevoChanges:
    """Linked contacts whose synced attributes differ from the last sync, and the next cursor.

    Contacts without a link are Brevo's own (Y1: never created in Salesforce) and only
    counted. On the first run there is nothing linked yet: nothing is read and the cursor
    starts now.
    """
    ctx.check_unsubscribes()
    since = None if full else ctx.cursor_moment(CURSOR, parse_brevo_datetime)
    if since is None and ctx.store.count_links(ctx.iid) == 0:
        start = datetime.now(UTC) - timedelta(minutes=5)
        return BrevoChanges({}, format_brevo_datetime(start))
    keys = [spec.brevo_attribute for spec in ctx.mapping.synced()]
    list_id = ctx.integration.list_id
    changes: dict[str, Change] = {}
    newest: datetime | None = None
    learnt: dict[str, int] = {}
    left: list[str] = []  # taken off the list in Brevo (B9): marked, their updates still flow
    back: list[str] = []  # put back on it
    for page in ctx.brevo.iter_contacts(modified_since=since):
        ctx.tick("Brevo changes", len(page))
        ids = [i for i in map(contact_ext_id, page) if i]
        links = ctx.store.links_by_sf_ids(ctx.iid, ids)
        for contact in page:
            modified = modified_at(contact)
            if modified is not None and (newest is None or modified > newest):
                newest = modified
            link = links.get(contact_ext_id(contact) or "")
            if link is None:
                ctx.outcome.add("brevo_only")
                continue
            ctx.seen_in_brevo[link.sf_id] = contact
            listed = contact.get("listIds") or []
            # a dry run before a pending list move (issue 15) finds the contacts on the old list still
            on_list = list_id in listed or (ctx.dry_run and ctx.integration.list_move_from in listed)
            if link.state == LinkState.ACTIVE and not on_list:
                left.append(link.sf_id)
            elif link.state == LinkState.LEFT_LIST and on_list:
                back.append(link.sf_id)
            elif link.state not in SYNCED:
                continue  # superseded, kept (Y10), held: nothing flows back from Brevo
            if link.brevo_id is None:
                learnt[link.sf_id] = int(contact["id"])
            values = canonical_values(brevo_values(contact, ctx.mapping), ctx.mapping)
            changed = changed_keys(values, link.synced, keys)
            if str(values.get("EMAIL") or "").endswith("@" + PARKED_DOMAIN):
                changed.discard("EMAIL")  # parked for an exchange of addresses a crash interrupted (B5)
            resynced = set()
            if address_resubscribed(values, link.synced, changed):
                changed.discard(EMAIL_BLACKLISTED)  # B8: Brevo's side effect of a new address, no opt-in
                resynced.add(EMAIL_BLACKLISTED)
            if changed:
                changes[link.sf_id] = Change(link.sf_id, contact, values, changed, link, resynced=resynced)
        _skip_rejected(ctx, changes, ids)
    if learnt and not ctx.dry_run:
        ctx.store.set_brevo_ids(ctx.iid, learnt)
    ctx.off_list.update(
        left
    )  # decided after Salesforce's changes: the toolkit itself may have taken them off
    if back:
        _list_moves(ctx, [], back)
    # Just before the newest seen: a contact modified in the same instant (Brevo's times have
    # milliseconds; whether modifiedSince is inclusive is not documented) is read again, which is
    # harmless (it then compares equal), rather than missed.
    restart = newest - LOOK_BACK if newest else since
    return BrevoChanges(changes, format_brevo_datetime(restart) if restart else None)


def record_left_list(ctx: SyncContext) -> None:
    """Mark the contacts seen off the list in Brevo as having left it (B9), once Salesforce's side is read.

    A contact the toolkit itself took off the list (its record deleted in Salesforce, in this run
    or in one that died before its commit) is not one: the outbound phase has dealt with those.
    """
    left = sorted(ctx.off_list - ctx.deleted_in_salesforce - set(ctx.left_list))
    if left and not ctx.stopped:
        _list_moves(ctx, left, [])


def _list_moves(ctx: SyncContext, left: list[str], back: list[str]) -> None:
    """Contacts taken off the integration's list in Brevo, or put back on it (B9), recorded."""
    for sf_id in back:
        ctx.outcome.add("back_on_list", sample={"Id": sf_id})
    names = {sf_id: contact_name(ctx.seen_in_brevo.get(sf_id)) for sf_id in left}
    rejected = _named(left_list_rejections(ctx, left), names)
    if ctx.dry_run:
        return
    with ctx.store.transaction():  # the states and the B9 entries they settle, together
        ctx.commit(link_states={LinkState.LEFT_LIST: left, LinkState.ACTIVE: back}, rejected=rejected)
        if back:
            ctx.store.resolve_rejections(
                ctx.iid, Direction.TO_BREVO, back, run_id=ctx.run_id, only_rules=(RULE_LEFT_LIST,)
            )


def contact_name(contact: BrevoContact | None) -> str | None:
    """The person a Brevo contact is: its ``FIRSTNAME`` and ``LASTNAME`` attributes, else ``None``.

    Never its e-mail (the reports show the name beside the record's Id).
    """
    attributes = (contact or {}).get("attributes") or {}
    return person_name(attributes.get("FIRSTNAME"), attributes.get("LASTNAME"))


def _named(found: list[Rejection], names: dict[str, str | None]) -> list[Rejection]:
    """The rejections, each with its record's name where one is known (and it has none yet)."""
    return [
        replace(r, record_name=names[r.record_id]) if names.get(r.record_id) and not r.record_name else r
        for r in found
    ]


def _skip_rejected(ctx: SyncContext, changes: dict[str, Change], ids: list[str]) -> None:
    """Drop the changes whose exact Brevo values were rejected before (an open rejection, A3).

    The cursor's overlap (and a full run) reads such a contact again; whether it does
    must not matter, so it is neither reported again (e.g. as a Y6 skip) nor written.
    """
    candidates = [i for i in ids if i in changes]
    if not candidates:
        return
    for sf_id, found in ctx.store.open_rejections(ctx.iid, Direction.TO_SALESFORCE, candidates).items():
        if any(r.data_hash == _data_hash(ctx, changes[sf_id]) for r in found):
            del changes[sf_id]
            ctx.outcome.add("still_rejected")


def _data_hash(ctx: SyncContext, change: Change) -> str:
    """What a rejection of a Brevo change is about: the values that differ from the last sync.

    Values the toolkit itself wrote since (another field's update) do not count, so a rejected
    change is recognised when its contact comes back as the echo of that write (A3).
    """
    keys = [spec.brevo_attribute for spec in ctx.mapping.synced()]
    differing = sorted(changed_keys(change.values, change.link.synced if change.link else None, keys))
    text = json.dumps([[k, change.values.get(k)] for k in differing], default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sync_to_salesforce(ctx: SyncContext, changes: dict[str, Change], next_cursor: str | None) -> None:
    """Write the Brevo changes that survived conflict settlement to Salesforce, 200 a call."""
    pending = [
        c for c in sorted(changes.values(), key=lambda c: modified_at(c.contact) or _NEVER) if c.changed
    ]
    if pending:
        _check_attributes(ctx)
    for start in range(0, len(pending), BATCH):
        _batch(ctx, pending[start : start + BATCH])
        ctx.tick("Brevo -> Salesforce", len(pending[start : start + BATCH]))
        if ctx.stopped:
            return  # the Brevo cursor stays: the rest is read and written again next time
    # Brevo values Salesforce already holds: a rejection of them (an earlier try) is resolved (A3).
    agreed = [c.sf_id for c in changes.values() if c.agreed and not c.changed]
    if next_cursor or agreed:
        ctx.commit(
            cursors={CURSOR: next_cursor} if next_cursor else None, resolved={Direction.TO_SALESFORCE: agreed}
        )


def _check_attributes(ctx: SyncContext) -> None:
    """Refuse to write Brevo's values when a mapped attribute no longer exists in Brevo.

    Brevo leaves empty attributes out of a contact, so a deleted attribute would read as an
    emptied value on every changed contact and blank the Salesforce field: stop instead.
    """
    existing = {str(a.get("name", "")).upper() for a in ctx.brevo.attributes()}
    missing = [
        s.brevo_attribute
        for s in ctx.mapping.synced()
        if s.brevo_attribute != "EMAIL" and s.kind != BLACKLIST and s.brevo_attribute.upper() not in existing
    ]
    if missing:
        raise ConfigError(
            f"the mapped Brevo attribute(s) {', '.join(missing)} no longer exist in Brevo: "
            "nothing was written to Salesforce; fix the mapping or re-create the attribute"
        )


def _batch(ctx: SyncContext, batch: list[Change]) -> None:
    links = ctx.store.links_by_sf_ids(
        ctx.iid, [c.sf_id for c in batch]
    )  # fresh: outbound may have moved them
    hashes = {c.sf_id: _data_hash(ctx, c) for c in batch}
    skipped = [
        Rejection(
            c.sf_id,
            RULE_Y6,
            "Email",
            None,
            "The Salesforce record has no e-mail address any more, so this contact is no "
            "longer synced in either direction; this Brevo change was not passed on (SPEC Y6).",
        )
        for c in batch
        if links.get(c.sf_id) is not None and links[c.sf_id].state == LinkState.SUSPENDED
    ]
    active = [
        c
        for c in batch
        if links.get(c.sf_id) is not None and links[c.sf_id].state in (LinkState.ACTIVE, LinkState.LEFT_LIST)
    ]
    updates, rejected = rules.to_salesforce([c.contact for c in active], ctx.mapping, object=ctx.sobject)
    field_of = {spec.brevo_attribute: spec.sf_field for spec in ctx.mapping.synced()}
    by_id = {c.sf_id: c for c in active}
    todo: list[SfUpdate] = []
    for update in updates:
        change = by_id[update["Id"]]
        fields = {field_of[k] for k in change.changed}
        narrowed = {"Id": update["Id"], **{f: v for f, v in update.items() if f in fields}}
        if len(narrowed) > 1:
            todo.append(narrowed)
    granted = ctx.grant(len(todo))
    todo = todo[:granted]
    results = ctx.sf.update_records(ctx.sobject, todo) if todo and not ctx.dry_run else []
    refused: list[Rejection] = []
    service: dict[str, tuple[str, str]] = {}
    written: list[Link] = []
    for i, update in enumerate(todo):
        result = results[i] if results else None
        change = by_id[update["Id"]]
        if result is not None and not result.success:
            error = result.errors[0]
            service[change.sf_id] = (error.status_code, error.message)
            refused.append(
                Rejection(
                    change.sf_id,
                    f"SF:{error.status_code}",
                    ",".join(error.fields),
                    value_text(update.get(error.fields[0])) if error.fields else None,
                    f"Salesforce refused the update: {error.message}",
                )
            )
            continue
        link = links[change.sf_id]
        synced = merged(link.synced, change.values, change.changed | change.resynced)
        synced_hash = canonical_hash(synced)
        written.append(
            Link(
                ctx.iid,
                change.sf_id,
                int(change.contact["id"]),
                change.contact.get("email"),
                synced_hash,
                synced_hash,
                link.state,
                synced,
            )
        )
        ctx.outcome.add(action(Direction.TO_SALESFORCE, WriteKind.UPDATE), sample=update)
    names = {c.sf_id: contact_name(c.contact) for c in batch}
    skipped, rejected, refused = (_named(found, names) for found in (skipped, rejected, refused))
    rows = ctx.rejections(Direction.TO_SALESFORCE, skipped + rejected, hashes) + ctx.rejections(
        Direction.TO_SALESFORCE, refused, hashes, service=service
    )
    ctx.commit(
        links=written,
        rejected=rows,
        resolved={Direction.TO_SALESFORCE: [link.sf_id for link in written]},
        tasks=len(written),
    )
