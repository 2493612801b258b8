"""Salesforce -> Brevo: incremental reads on SystemModstamp, the rules, imports keyed by Salesforce Id.

Reads ``SystemModstamp >= cursor ORDER BY SystemModstamp, Id`` through ``queryAll`` (deletions
included) one page of 2,000 at a time, or Bulk API 2.0 for an initial load above the threshold.
The cursor moves only after a page's writes are confirmed and committed; re-reading the
boundary timestamp is harmless because an unchanged record compares equal to what was synced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from .. import rules
from ..brevo.imports import encode_row
from ..exceptions import ConfigError
from ..rules_base import row_id, written_keys
from ..rules_hash import brevo_values, record_hash
from ..salesforce import soql_datetime, soql_name
from ..timestamps import canonical_salesforce_datetime, parse_brevo_datetime, parse_salesforce_datetime
from ..store import Conflict, Link
from .batches import ImportPace, Pipeline, Planned, Sent, Work, await_imports
from .context import SyncContext
from .diff import Change, changed_keys
from .guard import check_mass_delete
from .prepare import link_values, prepare

__all__ = ["sync_to_brevo"]

CURSOR = "salesforce"
EPOCH = "1970-01-01T00:00:00.000+0000"
BULK_PAGE = 50_000
PLAN_CHUNK = 10_000  # records of a Bulk page planned at a time
BULK_FIRST_POLL = 1.0  # seconds before the first job poll: every poll is an API call
IMPORT_ROWS_PER_SECOND = 12_000  # a cautious guess of Brevo's import speed (lowered as imports show): polls cost calls


def _soql(ctx: SyncContext, cursor: datetime | None, *, ordered: bool) -> str:
    try:  # names come from describe when the mapping is set; a stored one is checked again
        fields = dict.fromkeys(soql_name(n) for n in [*ctx.mapping.soql_fields, "SystemModstamp", "IsDeleted"])
        soql = f"SELECT {', '.join(fields)} FROM {soql_name(ctx.sobject)}"
    except ValueError as exc:
        raise ConfigError(f"integration {ctx.integration.name!r}: {exc}; set its mapping again") from None
    if cursor:
        soql += f" WHERE SystemModstamp >= {soql_datetime(cursor)}"
    return soql + (" ORDER BY SystemModstamp, Id" if ordered else "")


def _pages(ctx: SyncContext, cursor: datetime | None, full: bool,
           on_total: Callable[[int], None]) -> tuple[Iterator[list[dict[str, Any]]], bool]:
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
        return ctx.sf.bulk_query_pages(_soql(ctx, None, ordered=False), include_deleted=linked,
                                       max_records=BULK_PAGE, poll_seconds=BULK_FIRST_POLL,
                                       field_types=_field_types(ctx),
                                       on_complete=lambda job: on_total(int(job.get("numberRecordsProcessed") or 0))
                                       ), True
    since = None if full else cursor
    return ctx.sf.query_pages(_soql(ctx, since, ordered=True), include_deleted=True), False


def _field_types(ctx: SyncContext) -> dict[str, str]:
    """The queried fields' describe types, from the stored mapping (no describe call per run)."""
    types = {"id": "id", "systemmodstamp": "datetime", "isdeleted": "boolean"}
    return types | {f.sf_field.lower(): f.sf_type for f in ctx.mapping.fields}


def _guard_deletions(ctx: SyncContext, cursor: datetime | None, full: bool, confirm_deletes: bool) -> None:
    """B6 for deletions made in Salesforce: count the linked ones before anything is written."""
    if ctx.store.count_links(ctx.iid) == 0:
        return
    soql = f"SELECT Id FROM {ctx.sobject} WHERE IsDeleted = true"
    if cursor is not None and not full:  # a full run re-reads (and deletes) every deleted record
        soql += f" AND SystemModstamp >= {soql_datetime(cursor)}"
    deleted = [r["Id"] for page in ctx.sf.query_pages(soql, include_deleted=True) for r in page]
    linked = ctx.store.links_by_sf_ids(ctx.iid, deleted)
    planned = sum(1 for link in linked.values() if link.state != "kept")
    check_mass_delete(ctx, planned, side="Salesforce", confirm=confirm_deletes)


def sync_to_brevo(ctx: SyncContext, brevo_changes: dict[str, Change], *, full: bool = False,
                  confirm_deletes: bool = False) -> None:
    """Push Salesforce's changes since the cursor into the integration's Brevo list.

    Args:
        brevo_changes: Brevo-side changes of linked contacts read earlier in this run; a record
            changed on both sides is a conflict, settled here by the integration's winner.
        full: ignore the cursor and compare every record (the diff still writes only changes).
        confirm_deletes: go ahead although more than the allowed share would be deleted (B6).

    Raises:
        toolkit.exceptions.MassDeleteBlocked: B6, before anything is deleted.
    """
    cursor = ctx.cursor_moment(CURSOR, parse_salesforce_datetime)
    _guard_deletions(ctx, cursor, full, confirm_deletes)
    pages, bulk = _pages(ctx, cursor, full, lambda records: flow.expect(records))
    # Each page is planned while Brevo imports the previous one; an initial load packs full imports.
    pace = ImportPace(IMPORT_ROWS_PER_SECOND)
    flow = Pipeline(lambda planned: _send(ctx, planned), lambda sent: _finish(ctx, sent, pace), pack=bulk,
                    list_ids=[int(ctx.integration.list_id or 0)], max_bytes=ctx.settings.import_max_bytes)
    newest: str | None = None
    with flow:  # an error ends the run after the batch already sent is confirmed and committed
        for whole in pages:
            # A Bulk page (50,000 records) is planned in parts: the first import leaves sooner.
            for page in (whole[i:i + PLAN_CHUNK] for i in range(0, len(whole), PLAN_CHUNK)) if bulk else [whole]:
                stop_at, planned = _page(ctx, page, brevo_changes)
                ctx.tick("Salesforce -> Brevo", len(page))
                if not bulk and page:
                    planned.cursor = stop_at or page[-1]["SystemModstamp"]
                flow.add(planned, len(page))
                newest = max([newest or "", *(r["SystemModstamp"] for r in page)])  # one form: see _page
                if ctx.stopped:
                    flow.close()
                    return
            del whole  # not kept while the next page downloads
        # An empty load still ends the initial phase: later runs read increments from the start.
        flow.close(cursor=(newest or EPOCH) if bulk else None)


def _page(ctx: SyncContext, page: list[dict[str, Any]],
          brevo_changes: dict[str, Change]) -> tuple[str | None, Planned]:
    """Plan one page; returns the SystemModstamp to resume at if stopped early, and the plan."""
    for record in page:  # one form, so that texts compare like moments (cursor, max, stop_at)
        record["SystemModstamp"] = canonical_salesforce_datetime(record["SystemModstamp"])
    links = ctx.store.links_by_sf_ids(ctx.iid, [r["Id"] for r in page])
    live = [r for r in page if not r.get("IsDeleted")]
    rows, rejected, prepared = prepare(live, ctx.mapping, object=ctx.sobject)
    refused_ids = {r.record_id for r in rejected}  # only their data hash is needed (A3)
    fields = ctx.mapping.soql_fields  # the data a rejection is about: not SystemModstamp, whose form varies
    hashes = {r["Id"]: record_hash({f: r.get(f) for f in fields}) for r in live if r["Id"] in refused_ids}
    suspend = [r.record_id for r in rejected if r.rule == rules.RULE_Y6 and r.record_id in links
               and links[r.record_id].state == "active"]
    held = _held_in_brevo(ctx, [r["Id"] for r in live if r["Id"] in links])
    work: list[Work] = []  # (kind, sf_id, row, link)
    conflicts: list[Conflict] = []
    by_id = {row_id(row): (row, ready) for row, ready in zip(rows, prepared)}
    for record in page:
        sf_id, link = record["Id"], links.get(record["Id"])
        if record.get("IsDeleted"):
            if link is not None and link.state != "kept":
                work.append(("delete", sf_id, None, link))
            continue
        if sf_id not in by_id:
            continue  # rejected above
        row, ready = by_id[sf_id]
        kind = _plan_row(ctx, row, ready.values, link, brevo_changes.get(sf_id), conflicts,
                         held.get(sf_id, set()), sf_modified=record.get("SystemModstamp"))
        if kind:
            work.append((kind, sf_id, row, link))
        else:
            ctx.outcome.add("unchanged")
    granted = ctx.grant(len(work))
    stop_at = None
    if granted < len(work):
        first_left = work[granted][1]
        stop_at = next(r["SystemModstamp"] for r in page if r["Id"] == first_left)
        work = work[:granted]
    planned = Planned(work, conflicts, ctx.rejections("to_brevo", rejected, hashes), suspend)
    for _, sf_id, row, link in work:  # worked out now, while Brevo imports the previous batch
        if row is None:
            continue
        ready = by_id[sf_id][1]
        if link is None:  # a new contact: the row is as prepared
            planned.encoded[sf_id], planned.links[sf_id] = ready.encoded, ready.new_link
        else:  # fields may have been held back from the row: encoded again
            planned.encoded[sf_id] = encode_row(row)
            planned.links[sf_id] = link_values(row, ready.values, None if link.state == "kept" else link.synced)
    return stop_at, planned


def _held_in_brevo(ctx: SyncContext, sf_ids: list[str]) -> dict[str, set[str]]:
    """Brevo attributes whose value Salesforce refused (open ``to_salesforce`` rejections but Y6)."""
    if not sf_ids:
        return {}
    attribute = {spec.sf_field: spec.brevo_attribute for spec in ctx.mapping.synced()}
    held: dict[str, set[str]] = {}
    for sf_id, found in ctx.store.open_rejections(ctx.iid, "to_salesforce", sf_ids).items():
        keys = {attribute[f] for r in found if r.rule != rules.RULE_Y6
                for f in (r.field or "").split(",") if f in attribute}
        if keys:
            held[sf_id] = keys
    return held


def _plan_row(ctx: SyncContext, row: dict[str, Any], values: dict[str, Any], link: Link | None,
              brevo_change: Change | None, conflicts: list[Conflict], held: set[str], *,
              sf_modified: str | None = None) -> str | None:
    """``create``, ``update`` or ``None`` (unchanged); settles a conflict with a Brevo change.

    ``values``: the row's canonical values; fields held back are dropped from ``row``.
    """
    sf_id = row_id(row)
    changed = changed_keys(values, link.synced if link else None, written_keys(row))
    if link is None:
        return "create"
    if brevo_change is not None:
        # Changed to the same value on both sides (e.g. a write replayed after a crash): the
        # import below settles them; writing them back to Salesforce too would count twice.
        agreed = {k for k in changed & brevo_change.changed if brevo_change.values.get(k) == values.get(k)}
        brevo_change.changed -= agreed
        if _earlier(brevo_change.contact.get("modifiedAt"), sf_modified):
            brevo_change.agreed = agreed  # Brevo's edit already reached Salesforce: resolved as if written now
    if link.state == "kept":  # Y10: deleted in Brevo, kept in Salesforce: back only once it changes there
        return "create" if changed else None
    if link.state == "suspended":
        if brevo_change is not None:  # Y6: Brevo edits made while suspended stay skipped
            brevo_change.changed.clear()
            brevo_change.agreed.clear()
        return "update"  # the e-mail is back (Y6 passed): sync again, from Salesforce's record
    if brevo_change is not None:
        overlap = changed & brevo_change.changed  # different values: a conflict
        if overlap:
            winner = ctx.integration.conflict_winner
            conflicts.append(Conflict(ctx.iid, sf_id, winner, {k: values.get(k) for k in overlap},
                                      {k: brevo_change.values.get(k) for k in overlap}, run_id=ctx.run_id))
            ctx.outcome.add("conflicts", sample={"Id": sf_id, "fields": sorted(overlap), "winner": winner})
            if winner == "salesforce":
                brevo_change.changed -= overlap
            else:
                _drop(row, overlap)
                changed -= overlap
        # Fields changed in Brevo only: the import must not overwrite them with Salesforce's older
        # values; the Brevo -> Salesforce phase writes them there.
        _drop(row, brevo_change.changed - changed)
    # A Brevo value Salesforce refused earlier (open rejection, e.g. Y5) is not overwritten as a
    # side effect of another field's update, whether or not this run re-read the contact.
    _drop(row, held - changed)
    return "update" if changed else None


def _earlier(brevo_time: str | None, salesforce_time: str | None) -> bool:
    """Whether a Brevo ``modifiedAt`` is an earlier moment than a Salesforce ``SystemModstamp``."""
    try:
        return parse_brevo_datetime(brevo_time) < parse_salesforce_datetime(salesforce_time)
    except ValueError:
        return False


def _drop(row: dict[str, Any], keys: set[str]) -> None:
    for key in keys:
        if key == "EMAIL":
            row.pop("email", None)
        row["attributes"].pop(key, None)


def _send(ctx: SyncContext, planned: Planned) -> Sent:
    """Post the batch's import (and take deleted records off the list); nothing is committed yet."""
    rows = [row for _, _, row, _ in planned.work if row is not None]
    deletes = [sf_id for kind, sf_id, _, _ in planned.work if kind == "delete"]
    process_ids: list[int] = []
    if not ctx.dry_run:
        if rows:
            process_ids = ctx.brevo.import_contacts(planned.import_rows(), list_ids=[int(ctx.integration.list_id or 0)],
                                                    update_existing=True, empty_attributes=False,
                                                    max_bytes=ctx.settings.import_max_bytes)
        if deletes:
            ctx.brevo.remove_from_list(int(ctx.integration.list_id or 0), deletes)
    return Sent(planned, rows, process_ids, time.monotonic())


def _finish(ctx: SyncContext, sent: Sent, pace: ImportPace) -> None:
    """Wait until Brevo processed the batch's imports, then commit the batch in one transaction."""
    work, conflicts, rejected, suspend = (sent.planned.work, sent.planned.conflicts, sent.planned.rejected,
                                          sent.planned.suspend)
    deletes = [sf_id for kind, sf_id, _, _ in work if kind == "delete"]
    problems = await_imports(ctx.brevo, sent, pace)
    links: list[Link] = []
    written: list[str] = []
    revived: list[str] = []  # kept links (Y10) written back to Brevo: their Y10 rejection is resolved
    refused = []
    refused_hashes: dict[str, str] = {}  # what was sent: the same rows refused again are not reported again (A3)
    for kind, sf_id, row, link in work:
        if row is None:
            ctx.outcome.add("to_brevo.delete", sample={"Id": sf_id})
            continue
        if sf_id in problems:
            code, reason = problems[sf_id]
            refused.append(rules.Rejection(sf_id, f"BREVO:{code}", "", None, reason))
            refused_hashes[sf_id] = record_hash(brevo_values(row, ctx.mapping))
            continue
        synced, synced_hash = sent.planned.links[sf_id]
        links.append(Link(ctx.iid, sf_id, None if link is None else link.brevo_id, row.get("email"),
                          synced_hash, synced_hash, "active", synced))
        written.append(sf_id)
        if link is not None and link.state == "kept":
            revived.append(sf_id)
        ctx.outcome.add(f"to_brevo.{kind}", sample=ctx.sample(row))
    for sf_id in suspend:
        ctx.outcome.add("suspended", sample={"Id": sf_id, "rule": rules.RULE_Y6})
    rejected = rejected + ctx.rejections("to_brevo", refused, refused_hashes, service=dict(problems))
    ctx.commit(links=links, unlink=deletes, rejected=rejected,
               resolved={"to_brevo": written, "to_salesforce": revived}, conflicts=conflicts,
               link_states={"suspended": suspend}, tasks=len(written) + len(deletes),
               cursors={CURSOR: sent.planned.cursor} if sent.planned.cursor else None)
