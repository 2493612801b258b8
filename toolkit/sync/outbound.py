"""Salesforce -> Brevo: incremental reads on SystemModstamp, the rules, imports keyed by Salesforce Id.

Reads ``SystemModstamp >= cursor ORDER BY SystemModstamp, Id`` through ``queryAll`` (deletions
included) one page of 2,000 at a time, or Bulk API 2.0 for an initial load above the threshold.
The cursor moves only after a page's writes are confirmed and committed; re-reading the
boundary timestamp is harmless because an unchanged record compares equal to what was synced.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from toolkit.brevo.contacts import BATCH_UPDATE_MAX, EXT_ID
from toolkit.rules.base import RULE_Y6, SfRecord
from toolkit.rules.hashing import brevo_values, record_hash

from ..brevo.imports import encode_row
from ..exceptions import ConfigError, FatalApiError
from ..mapping.types import EMAIL_BLACKLISTED, SMS_BLACKLISTED
from ..salesforce import soql_datetime, soql_in, soql_name
from ..store import Conflict, Direction, Link, LinkState, Rejection
from ..timestamps import canonical_salesforce_datetime, parse_salesforce_datetime
from .batches import ImportPace, Pipeline, Planned, Sent, await_imports, by_blacklist
from .context import OtherLinkState, SyncContext
from .diff import Change
from .guard import deletions_held
from .model import action
from .plan import (
    FRESH,
    HOLDING,
    PARKED_DOMAIN,
    RULE_D1,
    Owners,
    PagePlan,
    Write,
    WriteKind,
    order_email_moves,
    plan_page,
)
from .prepare import SyncedLink, link_values
from .presence import ensure_present, left_list_rejections

__all__ = ["sync_to_brevo"]

CURSOR = "salesforce"
EPOCH = "1970-01-01T00:00:00.000+0000"
BULK_PAGE = 50_000
PLAN_CHUNK = 10_000  # records of a Bulk page planned at a time
BULK_FIRST_POLL = 1.0  # seconds before the first job poll: every poll is an API call
IMPORT_ROWS_PER_SECOND = (
    8_000  # a cautious guess of Brevo's import speed (lowered as imports show): every poll is a call,
)
# and Brevo allows /processes about 100 calls an hour; the sandbox imports about 10,000 rows a second
NAME_FIELDS = ("FirstName", "LastName")
"""Read with every record, mapped or not: the reports name the rejected ones (A1)."""
RECHECKED = (RULE_D1,)
"""Rejections about an e-mail another record holds: tried again once that record lets it go."""


def _soql(ctx: SyncContext, cursor: datetime | None, *, ordered: bool) -> str:
    try:  # names come from describe when the mapping is set; a stored one is checked again
        fields = dict.fromkeys(soql_name(n) for n in [*ctx.mapping.soql_fields, *_system_fields(ctx)])
        soql = f"SELECT {', '.join(fields)} FROM {soql_name(ctx.sobject)}"
    except ValueError as exc:
        raise ConfigError(f"integration {ctx.integration.name!r}: {exc}; set its mapping again") from None
    if cursor:
        soql += f" WHERE SystemModstamp >= {soql_datetime(cursor)}"
    return soql + (" ORDER BY SystemModstamp, Id" if ordered else "")


def _system_fields(ctx: SyncContext) -> list[str]:
    """What planning reads besides the mapping: the cursor, deletions, age (D1), conversion (L1),
    and the person's name for the reports (A1: a rejected record shows its name beside its Id).

    ``FirstName`` and ``LastName`` are standard fields of both Contact and Lead (the parts of
    their compound ``Name``; ``LastName`` is required), so selecting them costs no call and no
    describe; they are not part of a rejection's data hash (:func:`~toolkit.rules.hashing.source_hash`
    reads the mapped fields only).
    """
    lead = ["IsConverted", "ConvertedContactId"] if ctx.sobject == "Lead" else []
    return ["SystemModstamp", "IsDeleted", "CreatedDate", *lead, *NAME_FIELDS]


@dataclass(frozen=True, slots=True)
class Pages:
    """What :func:`_pages` reads: the pages, and whether they come from Bulk API 2.0 (unordered).

    Attributes:
        pages: lists of Salesforce records, read lazily.
        bulk: a Bulk API 2.0 job (its pages are not in ``SystemModstamp`` order).
    """

    pages: Iterator[list[SfRecord]]
    bulk: bool


def _pages(ctx: SyncContext, cursor: datetime | None, full: bool, on_total: Callable[[int], None]) -> Pages:
    """The pages to read and whether they come from Bulk API 2.0 (unordered).

    An integration's initial load (no cursor, nothing linked) always goes through Bulk API 2.0:
    a job costs a create, a poll and one results call per 50,000 records, where REST needs a
    call per 2,000 (Salesforce recommends Bulk above 2,000 records; for a small org the two
    extra calls happen once). A ``--full`` re-read counts first and takes Bulk above
    ``Settings.bulk_threshold``; incremental runs page through REST ``queryAll``. A Bulk job's
    record count goes to ``on_total`` before its first page.
    """
    linked = ctx.store.count_links(ctx.iid) > 0
    initial = cursor is None and not linked
    if initial or (full and ctx.sf.count(ctx.sobject) > ctx.settings.bulk_threshold):
        pages = ctx.sf.bulk_query_pages(
            _soql(ctx, None, ordered=False),
            include_deleted=linked,
            max_records=BULK_PAGE,
            poll_seconds=BULK_FIRST_POLL,
            field_types=_field_types(ctx),
            on_complete=lambda job: on_total(int(job.get("numberRecordsProcessed") or 0)),
            chunk_records=PLAN_CHUNK,
        )
        return Pages(pages, bulk=True)
    since = None if full else cursor
    soql = _soql(ctx, since, ordered=True)
    return Pages(ctx.sf.query_pages(soql, include_deleted=True, on_total=ctx.presence.expect), bulk=False)


def _field_types(ctx: SyncContext) -> dict[str, str]:
    """The queried fields' describe types, from the stored mapping (no describe call per run)."""
    types = {
        "id": "id",
        "systemmodstamp": "datetime",
        "isdeleted": "boolean",
        "createddate": "datetime",
        "isconverted": "boolean",
        "convertedcontactid": "reference",
        "firstname": "string",
        "lastname": "string",
    }
    return types | {f.sf_field.lower(): f.sf_type for f in (*ctx.mapping.fields, *ctx.mapping.unsubscribes)}


def _hold_deletions(ctx: SyncContext, cursor: datetime | None, full: bool, confirm_deletes: bool) -> bool:
    """B6 for deletions made in Salesforce: count the linked ones before anything is written.

    Returns whether they wait for a confirmation (creates and updates go ahead either way).
    """
    if ctx.store.count_links(ctx.iid) == 0:
        return False
    soql = f"SELECT Id FROM {ctx.sobject} WHERE IsDeleted = true"
    if cursor is not None and not full:  # a full run re-reads (and deletes) every deleted record
        soql += f" AND SystemModstamp >= {soql_datetime(cursor)}"
    deleted = [r["Id"] for page in ctx.sf.query_pages(soql, include_deleted=True) for r in page]
    linked = ctx.store.links_by_sf_ids(ctx.iid, deleted)
    planned = sum(
        1 for link in linked.values() if link.state in HOLDING and link.state != LinkState.HELD_DELETE
    )
    planned += ctx.store.count_links(ctx.iid, state=LinkState.HELD_DELETE)
    return deletions_held(ctx, planned, side="Salesforce", confirm=confirm_deletes)


def sync_to_brevo(
    ctx: SyncContext, brevo_changes: dict[str, Change], *, full: bool = False, confirm_deletes: bool = False
) -> None:
    """Push Salesforce's changes since the cursor into the integration's Brevo list.

    Args:
        brevo_changes: Brevo-side changes of linked contacts read earlier in this run; a record
            changed on both sides is a conflict, settled here by the integration's winner.
        full: ignore the cursor and compare every record (the diff still writes only changes).
        confirm_deletes: go ahead although more than the allowed share would be deleted (B6),
            and carry out the deletions an earlier run held.
    """
    ctx.check_unsubscribes()
    cursor = ctx.cursor_moment(CURSOR, parse_salesforce_datetime)
    hold = _hold_deletions(ctx, cursor, full, confirm_deletes)
    read = _pages(ctx, cursor, full, lambda records: flow.expect(records))
    pages, bulk = read.pages, read.bulk
    # Each page is planned while Brevo imports the previous one; an initial load packs full imports.
    pace = ImportPace(IMPORT_ROWS_PER_SECOND)
    flow = Pipeline(
        lambda planned: _send(ctx, planned),
        lambda sent: _finish(ctx, sent, pace),
        pack=bulk,
        list_ids=[int(ctx.integration.list_id or 0)],
        max_bytes=ctx.settings.import_max_bytes,
    )
    newest: str | None = None
    with flow:  # an error ends the run after the batch already sent is confirmed and committed
        # First the records waiting for an e-mail another record held until an earlier run (D1):
        # their rows join the import of this run's changes (no cursor of their own).
        for page in [] if bulk else _rechecks(ctx):
            flow.add(_page(ctx, page, brevo_changes, hold).planned, len(page))
        # A Bulk page (50,000 records) comes in parts of PLAN_CHUNK, each planned as it is read:
        # the first import leaves sooner, and the page is never held as records all at once.
        for page in pages:
            paged = _page(ctx, page, brevo_changes, hold)
            planned = paged.planned
            ctx.tick("Salesforce -> Brevo", len(page))
            if not bulk and page:
                planned.cursor = paged.stop_at or page[-1]["SystemModstamp"]
            flow.add(planned, len(page))
            newest = max([newest or "", *(r["SystemModstamp"] for r in page)])  # one form: see _page
            if ctx.stopped:
                flow.close()
                return
            del page, paged, planned  # not kept while the next part is read
        # An empty load still ends the initial phase: later runs read increments from the start.
        flow.close(cursor=(newest or EPOCH) if bulk else None)
    if confirm_deletes and not ctx.stopped:
        _release_held(ctx)


def _rechecks(ctx: SyncContext) -> Iterator[list[SfRecord]]:
    """Records rejected because another record held their e-mail, once that one let it go.

    Their own data did not change, so the cursor does not bring them back: the e-mails of the
    open D1 rejections are looked up among the links, and the records whose e-mail no other
    record holds any more (since an earlier run) are read again by Id (a query only when some are).
    """
    waiting = ctx.store.open_rejections_by_rule(ctx.iid, Direction.TO_BREVO, RECHECKED)
    if not waiting:
        return
    holders = ctx.store.links_by_emails([r.value or "" for r in waiting], integration_ids=[ctx.iid])
    free = sorted(
        {
            r.record_id
            for r in waiting
            if r.value
            and not any(
                h.sf_id != r.record_id and h.state in HOLDING for h in holders.get(r.value.lower(), [])
            )
        }
    )
    for start in range(0, len(free), 200):
        soql = _soql(ctx, None, ordered=False) + f" WHERE Id IN {soql_in(free[start : start + 200])}"
        yield from ctx.sf.query_pages(soql, include_deleted=True)


def _release_held(ctx: SyncContext) -> None:
    """Carry out the Salesforce deletions an earlier run held (B6), now that they are confirmed."""
    held = ctx.store.all_links(ctx.iid, state=LinkState.HELD_DELETE)
    for start in range(0, len(held), 150):
        batch = held[start : start + 150]
        batch = batch[: ctx.grant(len(batch))]
        if not batch:
            return
        ids = [link.sf_id for link in batch]
        if not ctx.dry_run:
            ctx.brevo.remove_from_list(int(ctx.integration.list_id or 0), ids)
        for sf_id in ids:
            ctx.outcome.add(action(Direction.TO_BREVO, WriteKind.DELETE), sample={"Id": sf_id})
        ctx.commit(unlink=ids, tasks=len(ids))


def _owners(ctx: SyncContext, page: list[SfRecord]) -> Owners:
    """Who holds the page's e-mails: this integration's links, and across the Brevo account (D2, L1)."""
    email_field = ctx.mapping.email_field
    if email_field is None:
        return Owners()
    emails = [str(r.get(email_field) or "").strip().lower() for r in page if not r.get("IsDeleted")]
    emails = [e for e in emails if e]
    if not emails:
        return Owners()
    others = ctx.account_integrations
    found = ctx.store.links_by_emails(emails, integration_ids=[ctx.iid, *others])
    same: dict[str, list[Link]] = {}
    for email in emails:  # rows of earlier pages of this run not committed yet hold their e-mail too
        claimer = ctx.claimed.get(email)
        if claimer is not None:
            same.setdefault(email, []).append(Link(ctx.iid, claimer, None, email, state=LinkState.ACTIVE))
    contacts: dict[str, list[Link]] = {}
    leads: dict[str, list[Link]] = {}
    for email, links in found.items():
        for link in links:
            if link.integration_id == ctx.iid:
                if link.state in HOLDING:
                    same.setdefault(email, []).append(link)
            elif others[link.integration_id] == "Contact" and link.state == LinkState.ACTIVE:
                contacts.setdefault(email, []).append(link)
            elif others[link.integration_id] == "Lead" and link.state in (
                LinkState.ACTIVE,
                LinkState.SUPERSEDED,
            ):
                leads.setdefault(email, []).append(link)
    return Owners(
        same=same,
        contacts=contacts if ctx.sobject == "Lead" else {},
        leads=leads if ctx.sobject == "Contact" else {},
    )


@dataclass(frozen=True, slots=True)
class PlannedPage:
    """One page planned (:func:`_page`).

    Attributes:
        planned: the batch to send and commit.
        stop_at: the ``SystemModstamp`` to resume at when the quota cut the page short.
    """

    planned: Planned
    stop_at: str | None = None


def _page(
    ctx: SyncContext, page: list[SfRecord], brevo_changes: dict[str, Change], hold_deletes: bool
) -> PlannedPage:
    """Plan one page: the batch, and where to resume if the quota stopped it early."""
    for record in page:  # one form, so that texts compare like moments (cursor, max, stop_at)
        record["SystemModstamp"] = canonical_salesforce_datetime(record["SystemModstamp"])
    links = ctx.store.links_by_sf_ids(ctx.iid, [r["Id"] for r in page])
    held = _held_in_brevo(ctx, [r["Id"] for r in page if r["Id"] in links and not r.get("IsDeleted")])
    plan = plan_page(page, links, brevo_changes, ctx.plan_settings(), owners=_owners(ctx, page), held=held)
    _settle(ctx, plan, brevo_changes)
    writes = plan.writes
    ctx.deleted_in_salesforce.update(r["Id"] for r in page if r.get("IsDeleted"))
    if hold_deletes:  # B6: the deletions wait for a confirmation; everything else goes ahead
        for write in writes:
            if write.kind == WriteKind.DELETE:
                plan.set_state(LinkState.HELD_DELETE, write.sf_id)
                ctx.outcome.add("held_delete", sample={"Id": write.sf_id})
        writes = [w for w in writes if w.kind != WriteKind.DELETE]
    sent = ensure_present(
        ctx, writes, records=len(page)
    )  # never re-create a contact deleted in Brevo (Y10), nor re-list it
    kept = {w.sf_id for w in sent}
    gone = _consumed(ctx, [w for w in writes if w.sf_id not in kept and w.sf_id in ctx.gone_in_brevo])
    writes = sent
    granted = ctx.grant(len(writes))
    stop_at = None
    if granted < len(writes):
        first_left = writes[granted].sf_id
        stop_at = next(r["SystemModstamp"] for r in page if r["Id"] == first_left)
        writes = writes[:granted]
    for write in writes:
        if write.row is not None and write.row.get("email"):
            ctx.claimed[_folded(str(write.row["email"]))] = write.sf_id
    rejected = ctx.rejections(Direction.TO_BREVO, plan.rejections, plan.data_hashes)
    planned = Planned(
        writes,
        _conflicts(ctx, plan),
        rejected,
        plan.suspend,
        states=plan.states,
        records=_unlinked_states(ctx, plan, links, page) + gone,
    )
    for write in writes:  # encoded now, while Brevo imports the previous batch: packing needs the sizes
        if write.row is not None:
            planned.encoded[write.sf_id] = write.encoded or encode_row(write.row)
    return PlannedPage(planned, stop_at)


def _folded(email: str) -> str:
    """``email`` lower-cased: the same text object when it is already (held for every row in flight)."""
    lowered = email.lower()
    return email if lowered == email else lowered


def _consumed(ctx: SyncContext, dropped: list[Write]) -> list[Link]:
    """The links of updates dropped because the contact was deleted in Brevo, with this change seen.

    The change is committed with the page's cursor: it is the deletion's to settle (Y10), in this
    run or, after a crash, in the next deletion check. Were it left pending, a later re-read of
    the record would bring the contact back to Brevo, or not, depending on where the cursor
    stood; once Salesforce refuses the delete (kept), only a later change brings it back.
    """
    links = []
    for write in dropped:
        if write.row is None or write.link is None:
            continue
        synced = link_values(write.row, write.values or {}, write.link.synced)
        link = replace(write.link, sf_hash=synced.hash, synced=synced.values)
        ctx.gone_in_brevo[write.sf_id] = link
        links.append(link)
    return links


def _unlinked_states(
    ctx: SyncContext, plan: PagePlan, links: dict[str, Link], page: list[SfRecord]
) -> list[Link]:
    """Links to record for records that get a state without ever having been written (a superseded Lead)."""
    email_field = ctx.mapping.email_field or "Email"
    by_id = {r["Id"]: r for r in page}
    return [
        Link(
            ctx.iid,
            sf_id,
            None,
            by_id.get(sf_id, {}).get(email_field),
            None,
            None,
            state,
            None,
            detail=detail,
        )
        for state, ids in plan.states.items()
        if state == LinkState.SUPERSEDED
        for sf_id, detail in ids.items()
        if sf_id not in links
    ]


def _settle(ctx: SyncContext, plan: PagePlan, brevo_changes: dict[str, Change]) -> None:
    """Apply what the plan settled of the Brevo changes, and count what it decided without a write."""
    for sf_id, settlement in plan.settled.items():
        change = brevo_changes.get(sf_id)
        if change is None:
            continue
        if settlement.ignore:
            change.changed.clear()
            change.agreed.clear()
            continue
        change.changed -= settlement.drop
        if settlement.agreed:
            change.agreed = set(settlement.agreed)
    for note, count in plan.notes.items():
        ctx.outcome.add(note, count)


def _conflicts(ctx: SyncContext, plan: PagePlan) -> list[Conflict]:
    found = []
    for note in plan.conflicts:
        found.append(
            Conflict(ctx.iid, note.sf_id, note.winner, note.salesforce, note.brevo, run_id=ctx.run_id)
        )
        ctx.outcome.add(
            "conflicts", sample={"Id": note.sf_id, "fields": sorted(note.salesforce), "winner": note.winner}
        )
    return found


def _held_in_brevo(ctx: SyncContext, sf_ids: list[str]) -> dict[str, set[str]]:
    """Brevo attributes whose value Salesforce refused (open ``to_salesforce`` rejections but Y6)."""
    if not sf_ids:
        return {}
    attribute = {spec.sf_field: spec.brevo_attribute for spec in ctx.mapping.synced()}
    held: dict[str, set[str]] = {}
    for sf_id, found in ctx.store.open_rejections(ctx.iid, Direction.TO_SALESFORCE, sf_ids).items():
        keys = {
            attribute[f]
            for r in found
            if r.rule != RULE_Y6
            for f in (r.field or "").split(",")
            if f in attribute
        }
        if keys:
            held[sf_id] = keys
    return held


def _send(ctx: SyncContext, planned: Planned) -> Sent:
    """Post the batch's writes; nothing is committed yet.

    Handovers first (the Lead's Brevo contact gets the Contact's Id as EXT_ID, D2/L1), then the
    contacts that must let an e-mail go for an exchange of addresses (B5), then one import of
    the rows in an order Brevo can take, direct updates of the contacts taken off the list in
    Brevo (an import would put them back), and the removal of deleted records from the list.
    B8's blacklist flags are set by the import where it can (:func:`_import_groups`), else once
    the import is done (:func:`_set_flags`, in :func:`_finish`); a write that changes only them
    imports nothing.
    """
    writes, parked = order_email_moves([w for w in planned.work if w.row is not None])
    planned.work = writes + [w for w in planned.work if w.row is None]
    direct = [w for w in writes if _is_direct(w)]
    imported = [w for w in writes if w.imported and not _is_direct(w)]
    deletes = [w.sf_id for w in planned.work if w.kind == WriteKind.DELETE]
    problems: dict[str, tuple[str, str]] = {}
    process_ids: list[int] = []
    groups = _import_groups(imported)
    if not ctx.dry_run:
        for write in writes:
            if write.kind == WriteKind.HANDOVER and write.takes_over is not None:
                _take_over(ctx, write)
        for write in parked:
            ctx.brevo.update_contact(
                write.sf_id,
                identifier_type="ext_id",
                attributes={"EMAIL": f"{write.sf_id.lower()}@{PARKED_DOMAIN}"},
            )
        for blacklist, group in groups:
            rows = [planned.encoded.get(w.sf_id) or w.row for w in group if w.row is not None]
            process_ids += ctx.brevo.import_contacts(
                rows,
                list_ids=[int(ctx.integration.list_id or 0)],
                update_existing=True,
                empty_attributes=True,
                max_bytes=ctx.settings.import_max_bytes,
                blacklist=blacklist,
            )
        for write in direct:
            problems.update(_update_directly(ctx, write))
        if deletes:
            ctx.brevo.remove_from_list(int(ctx.integration.list_id or 0), deletes)
    planned.encoded.clear()  # sent: not held while Brevo imports the rows and the next batch is planned
    for write in planned.work:  # worked out while Brevo imports them: the commit after it is quick
        if write.row is not None:
            base = None if write.link is None or write.link.state in FRESH else write.link.synced
            planned.links[write.sf_id] = link_values(write.row, write.values or {}, base)
    flagged = frozenset(w.sf_id for blacklist, group in groups if blacklist for w in group)
    sent = Sent(
        planned,
        [w.row for w in imported if w.row is not None],
        process_ids,
        time.monotonic(),
        flagged=flagged,
    )
    sent.problems.update(problems)
    return sent


def _import_groups(imported: list[Write]) -> list[tuple[frozenset[str], list[Write]]]:
    """The batch's imports: rows whose blacklist flags the import itself sets, then the rest.

    B8 without a call per 100 contacts (:func:`.batches.import_blacklist`): the new contacts
    that opted out go into an import of their own per combination of flags. Only in a batch of
    new contacts alone (an initial load): elsewhere the rows' order in one import is what lets
    e-mails change hands (B5), and a separate import could break it. The plain import comes
    last: Brevo runs a batch's imports one after another, and the pace learns from the last
    (:func:`.batches.await_imports`).
    """
    if not imported:
        return []
    if any(w.kind != WriteKind.CREATE or w.link is not None for w in imported):
        return [(frozenset(), imported)]
    groups = by_blacklist(imported)
    plain = groups.pop(frozenset(), [])
    flagged = sorted(groups.items(), key=lambda item: sorted(item[0]))
    return [*flagged, *([(frozenset(), plain)] if plain else [])]


def _take_over(ctx: SyncContext, write: Write) -> None:
    """Give the Lead's Brevo contact the Contact's Id as its EXT_ID (``PUT /contacts/{ext_id}``).

    ``updateContact`` takes a top-level ``ext_id`` (definition ``updateContact``; brevo-python
    ``UpdateContactRequest``) and answers 404 ``document_not_found`` for an unknown identifier:
    a replay after a crash finds the Lead's EXT_ID gone, the contact was handed over already.
    """
    lead = write.takes_over
    assert lead is not None
    try:
        ctx.brevo.update_contact(lead.sf_id, identifier_type="ext_id", ext_id=write.sf_id)
    except FatalApiError as exc:
        if exc.status != 404:
            raise


def _is_direct(write: Write) -> bool:
    """A write to a contact taken off the list in Brevo (B9): updated directly, not imported."""
    return write.link is not None and write.link.state == LinkState.LEFT_LIST


def _update_directly(ctx: SyncContext, write: Write) -> dict[str, tuple[str, str]]:
    """Update a contact taken off the list in Brevo without putting it back (no list in the request).

    Its B8 blacklist flags go in the same ``PUT /contacts/{ext_id}`` (definition ``updateContact``:
    ``emailBlacklisted``, ``smsBlacklisted``).
    """
    row = write.row
    attributes: dict[str, object] = {} if row is None else dict(row["attributes"])
    attributes.pop(EXT_ID, None)
    if row is not None and row.get("email"):
        attributes["EMAIL"] = row["email"]
    try:
        ctx.brevo.update_contact(
            write.sf_id,
            identifier_type="ext_id",
            attributes=attributes,
            email_blacklisted=write.flags.get(EMAIL_BLACKLISTED),
            sms_blacklisted=write.flags.get(SMS_BLACKLISTED),
        )
    except FatalApiError as exc:
        return {write.sf_id: (exc.code or f"http_{exc.status}", str(exc.args[0]))}
    return {}


def _set_flags(
    ctx: SyncContext,
    writes: list[Write],
    problems: dict[str, tuple[str, str]],
    *,
    flagged: frozenset[str] = frozenset(),
) -> dict[str, tuple[str, str]]:
    """B8: set the blacklist flags the batch's writes change, :data:`BATCH_UPDATE_MAX` contacts a call.

    ``POST /contacts/batch`` (definition ``updateBatchContacts``) takes ``emailBlacklisted`` and
    ``smsBlacklisted`` per contact, where an import has only import-wide flags; it runs after the
    import, so that a contact the import created exists. Each contact is named by its Brevo id
    when the link knows it, else by the e-mail (or SMS number) the import gave it: the batch
    takes only ``email``, ``id`` or ``sms``, not an ext_id. A call Brevo refuses is tried again
    contact by contact; the refused ones are returned, by Salesforce Id, like import refusals.
    The ``flagged`` writes' import set their flags already (:func:`_import_groups`).
    """
    items: list[tuple[str, dict[str, object]]] = []
    refused: dict[str, tuple[str, str]] = {}
    for write in writes:
        if not write.flags or write.row is None or write.sf_id in problems or _is_direct(write):
            continue
        if write.sf_id in flagged:
            ctx.outcome.add("unsubscribes_to_brevo")
            continue
        named = _batch_identifier(write)
        if named is None:
            refused[write.sf_id] = (
                "no_identifier",
                "the contact has no e-mail, SMS number or known Brevo id (B8)",
            )
            continue
        items.append((write.sf_id, {**named, **write.flags}))
        ctx.outcome.add("unsubscribes_to_brevo" if any(write.flags.values()) else "resubscribes_to_brevo")
    if ctx.dry_run or not items:
        return refused
    for start in range(0, len(items), BATCH_UPDATE_MAX):
        chunk = items[start : start + BATCH_UPDATE_MAX]
        try:
            ctx.brevo.update_contacts([item for _, item in chunk])
        except FatalApiError as exc:
            if len(chunk) == 1:
                refused[chunk[0][0]] = _flag_refusal(exc)
                continue
            for sf_id, item in chunk:  # which contact Brevo refused: one call each
                try:
                    ctx.brevo.update_contacts([item])
                except FatalApiError as single:
                    refused[sf_id] = _flag_refusal(single)
    return refused


def _flag_refusal(exc: FatalApiError) -> tuple[str, str]:
    return (exc.code or f"http_{exc.status}", f"Brevo refused the unsubscribe status (B8): {exc.args[0]}")


def _batch_identifier(write: Write) -> dict[str, object] | None:
    """How ``POST /contacts/batch`` names the write's contact: its id, else its e-mail (the row's:
    the import ran first), else its SMS."""
    link = write.link
    if link is not None and link.state not in FRESH and link.brevo_id is not None:
        return {"id": int(link.brevo_id)}
    if write.takes_over is not None and write.takes_over.brevo_id is not None:
        return {"id": int(write.takes_over.brevo_id)}
    row = write.row or {"attributes": {}}
    email = row.get("email") or (link.email if link is not None else None)
    if email:
        return {"email": str(email)}
    sms = row["attributes"].get("SMS")
    return {"sms": str(sms)} if sms else None


def _finish(ctx: SyncContext, sent: Sent, pace: ImportPace) -> None:
    """Wait until Brevo processed the batch's imports, then commit the batch in one transaction."""
    planned = sent.planned
    problems = await_imports(ctx.brevo, sent, pace) | sent.problems
    problems |= _set_flags(ctx, planned.work, problems, flagged=sent.flagged)
    deletes = [w.sf_id for w in planned.work if w.kind == WriteKind.DELETE]
    linked: list[Write] = []  # written: their links are made as the commit stores them
    written: list[str] = []
    revived: list[str] = []  # kept links (Y10) written back to Brevo: their Y10 rejection is resolved
    others: list[OtherLinkState] = []  # Lead links of other integrations handed over
    refused: list[Rejection] = []
    # What was sent: the same rows refused again are not reported again (A3).
    refused_hashes: dict[str, str] = {}
    for write in planned.work:
        sf_id, row, link = write.sf_id, write.row, write.link
        if row is None:
            ctx.outcome.add(action(Direction.TO_BREVO, WriteKind.DELETE), sample={"Id": sf_id})
            continue
        if sf_id in problems:
            code, reason = problems[sf_id]
            value = row.get("email") if code == "duplicate_email_id" else None  # rechecked once it is free
            refused.append(
                Rejection(
                    sf_id, f"BREVO:{code}", "Email" if value else "", value, reason, record_name=write.name
                )
            )
            refused_hashes[sf_id] = record_hash(brevo_values(row, ctx.mapping))
            continue
        linked.append(write)
        written.append(sf_id)
        if link is not None and link.state == LinkState.KEPT:
            revived.append(sf_id)
        if write.takes_over is not None:
            taken = write.takes_over
            others.append(OtherLinkState(taken.integration_id, taken.sf_id, LinkState.SUPERSEDED, sf_id))
        done = action(Direction.TO_BREVO, write.kind)
        ctx.outcome.add(done, sample=ctx.sample(row) if ctx.outcome.wants_sample(done) else None)
        if write.cleared:
            ctx.outcome.add("cleared", len(write.cleared))
    for sf_id in planned.suspend:
        ctx.outcome.add("suspended", sample={"Id": sf_id, "rule": RULE_Y6})
    off_list = [w for w in planned.work if w.sf_id in ctx.left_list] if ctx.left_list else []
    names = {w.sf_id: w.name for w in off_list if w.name}
    left = [
        replace(r, record_name=names[r.record_id]) if r.record_id in names and not r.record_name else r
        for r in left_list_rejections(ctx, [w.sf_id for w in off_list])
    ]
    rejected = (
        planned.rejected
        + left
        + ctx.rejections(Direction.TO_BREVO, refused, refused_hashes, service=dict(problems))
    )
    for write in planned.work if not ctx.dry_run else ():  # committed now: the links say who holds what
        email = _folded(str(write.row.get("email") or "")) if write.row is not None else ""
        if email and ctx.claimed.get(email) == write.sf_id:
            del ctx.claimed[email]
    ctx.commit(
        links=itertools.chain(
            planned.records, (_written_link(ctx, w, planned.links[w.sf_id]) for w in linked)
        ),
        unlink=deletes,
        rejected=rejected,
        resolved={Direction.TO_BREVO: written, Direction.TO_SALESFORCE: revived},
        conflicts=planned.conflicts,
        link_states={LinkState.SUSPENDED: planned.suspend, **planned.states},
        other_link_states=others,
        tasks=len(written) + len(deletes),
        cursors={CURSOR: planned.cursor} if planned.cursor else None,
    )


def _written_link(ctx: SyncContext, write: Write, synced: SyncedLink) -> Link:
    """The link of a row Brevo took: the values and hash written, and the Brevo id when known."""
    link = write.link
    state = link.state if link is not None and link.state == LinkState.LEFT_LIST else LinkState.ACTIVE
    brevo_id = (
        link.brevo_id
        if link is not None and link.state not in FRESH
        else (write.takes_over.brevo_id if write.takes_over else None)
    )
    email = write.row.get("email") if write.row is not None else None
    return Link(ctx.iid, write.sf_id, brevo_id, email, synced.hash, synced.hash, state, synced.values)
