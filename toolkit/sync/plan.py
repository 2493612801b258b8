"""Planning one page of Salesforce records: a pure function from what was read to what to write.

:func:`plan_page` takes a page of records, their links, the Brevo changes read earlier in the
run and who else holds each e-mail, and returns a :class:`PagePlan`: what to create, update
(clearing emptied fields), delete, hand over and reject, which links change state, which
conflicts were settled and how. It reads no API and no database and changes nothing it was
given, so each rule is a table of cases (``tests/sync/test_plan.py``); the outbound phase
(:mod:`.outbound`) gathers the inputs, applies the quota and writes.

Rules planned here, besides the per-record rules of :func:`toolkit.rules.to_brevo`:

- Y6/Y7/Y9/Y11/B4 (the rules), B5 (records keyed by Id), A3 (the data hash of a rejection);
- clearing: a mapped field emptied in Salesforce empties the Brevo attribute (``""`` in the
  row, sent with ``emptyContactsAttributes``), phones excepted (Y7);
- D1: two records of one integration with one e-mail: the oldest linked record keeps the Brevo
  contact, the other is rejected naming it, and retried when either changes;
- D2: a person who is a Lead and a Contact in two integrations of one Brevo account has one
  Brevo contact, owned by the Contact; the Lead's link is superseded;
- L1: a converted Lead's Brevo contact is handed over to the Contact it became (the Contact's
  create takes over the Lead's contact: same contact, EXT_ID changed, Contact mapping); the
  Lead's link is superseded, nothing is deleted;
- conflicts (a field changed on both sides) settled by the integration's winner;
- B8 (unsubscribes): Brevo's blacklist flags are synced values like the attributes (changes,
  conflicts, echoes); a write whose flags change says which (``Write.flags``, set by a batch
  update after the import), and a write that changes nothing but flags imports nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from typing import NamedTuple

from toolkit.mapping.types import BLACKLIST_FLAGS, EMAIL_BLACKLISTED, Mapping
from toolkit.rules.base import RULE_Y6, BrevoRow, Rejection, SfRecord, row_id, written_keys
from toolkit.rules.hashing import CanonicalValues, source_hash
from toolkit.rules.rejection import person_name

from ..store.records import Link, LinkState, Side
from ..timestamps import parse_brevo_datetime, parse_salesforce_datetime
from .diff import Change, changed_keys
from .prepare import prepare

__all__ = [
    "ConflictNote",
    "OrderedWrites",
    "Owners",
    "PARKED_DOMAIN",
    "PagePlan",
    "PlanSettings",
    "RULE_D1",
    "RULE_LEFT_LIST",
    "Settlement",
    "Write",
    "WriteKind",
    "order_email_moves",
    "plan_page",
    "record_name",
]

RULE_D1 = "D1"
RULE_LEFT_LIST = "B9"
"""A contact taken off the integration's list in Brevo: not put back; its updates still flow."""
PARKED_DOMAIN = "swap.example.com"
"""Where a contact's e-mail is parked for the moment of an exchange of addresses (B5): a
placeholder under the reserved ``example.com`` (RFC 2606), unique per Salesforce Id."""
#: Link states whose Brevo contact exists and carries the link's e-mail.
HOLDING = frozenset({LinkState.ACTIVE, LinkState.SUSPENDED, LinkState.LEFT_LIST, LinkState.HELD_DELETE})
#: Link states a deletion in Salesforce has nothing (more) to do for.
_NOTHING_TO_DELETE = frozenset({LinkState.KEPT, LinkState.SUPERSEDED, LinkState.HELD_BREVO_DELETE})
#: Link states without a Brevo contact of the record's own: a write creates one. Kept (Y10): deleted
#: in Brevo; superseded (D2): a Contact of the same person held it, and no longer does.
FRESH = frozenset({LinkState.KEPT, LinkState.SUPERSEDED})


class WriteKind(StrEnum):
    """What one planned write does to the Brevo contact."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"  # taken off the integration's list (the record was deleted in Salesforce)
    HANDOVER = "handover"  # a Contact takes over a Lead's Brevo contact (D2, L1), then is written


@dataclass(frozen=True, slots=True)
class Write:
    """One planned write.

    Attributes:
        kind: see :class:`WriteKind`.
        sf_id: the Salesforce Id (the contact's EXT_ID once written).
        row: the import row (``None`` for a delete); fields Brevo changed alone are left out.
        link: the record's link before this run, if any.
        values: the row's canonical values (what the link will hold once written).
        cleared: attributes this write empties in Brevo.
        takes_over: for a handover, the Lead link whose Brevo contact this record takes over.
        encoded: the row as an import body holds it, when planning encoded it already.
        flags: B8's blacklist flags this write changes in Brevo (``{"emailBlacklisted": True}``):
            the import cannot carry them per contact, a batch update sets them.
        imported: the row goes into the import; ``False`` when only ``flags`` change (the
            batch update alone writes it).
        name: the person's name as Salesforce holds it (``FirstName LastName``), for the
            rejection of a write Brevo refuses (the reports show it beside the Id).
    """

    kind: WriteKind
    sf_id: str
    row: BrevoRow | None = None
    link: Link | None = None
    values: CanonicalValues | None = None
    cleared: tuple[str, ...] = ()
    takes_over: Link | None = None
    encoded: bytes | None = None
    flags: MappingOf[str, bool] = field(default_factory=dict)
    imported: bool = True
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a page's plan settles of a Brevo change (the engine applies it to the change).

    Attributes:
        drop: attributes the Brevo -> Salesforce phase must not write any more (Salesforce won
            the conflict, or both sides agree already).
        agreed: of those, the ones both sides already hold with the same value: written as if
            now (their open rejections are resolved) when Brevo's edit was the earlier one.
        ignore: the whole change is skipped (the link is suspended, Y6).
    """

    drop: frozenset[str] = frozenset()
    agreed: frozenset[str] = frozenset()
    ignore: bool = False


@dataclass(frozen=True, slots=True)
class ConflictNote:
    """A field changed on both sides since the last sync, and who won.

    Attributes:
        salesforce, brevo: the fields in conflict, each side's canonical value.
    """

    sf_id: str
    winner: Side
    salesforce: CanonicalValues
    brevo: CanonicalValues


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """What planning needs of the integration.

    Attributes:
        mapping: its mapping. sobject: ``"Contact"`` or ``"Lead"``.
        conflict_winner: the side whose value is kept when a field changed on both.
        default_region: ISO region for national phone numbers of records naming no country.
    """

    mapping: Mapping
    sobject: str
    conflict_winner: Side = Side.SALESFORCE
    default_region: str | None = None


@dataclass(frozen=True, slots=True)
class Owners:
    """Who else holds the e-mails of a page, by lower-cased e-mail.

    Attributes:
        same: links of this integration (states in :data:`HOLDING`).
        contacts: active links of Contact integrations on the same Brevo account (D2), when
            this integration syncs Leads.
        leads: links of Lead integrations on the same Brevo account (D2, L1), when this
            integration syncs Contacts: active ones, and superseded ones (a converted Lead's,
            whose contact its Contact takes over).
    """

    same: MappingOf[str, list[Link]] = field(default_factory=dict)
    contacts: MappingOf[str, list[Link]] = field(default_factory=dict)
    leads: MappingOf[str, list[Link]] = field(default_factory=dict)


@dataclass
class PagePlan:
    """Everything one page's run should do (see :func:`plan_page`).

    Attributes:
        writes: in page order.
        rejections: every rejected record (a record may have several, e.g. a field-level phone).
        data_hashes: Salesforce Id -> :func:`~toolkit.rules.hashing.source_hash` of each rejected record.
        suspend: active links whose record lost its e-mail (Y6).
        states: link state -> {Salesforce Id: detail} to record (e.g. superseded by a Contact).
        conflicts: fields changed on both sides, and who won.
        settled: Salesforce Id -> what is settled of its Brevo change.
        notes: counts of what was decided without a write (``unchanged``, ``superseded``...).
    """

    writes: list[Write] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    data_hashes: dict[str, str] = field(default_factory=dict)
    suspend: list[str] = field(default_factory=list)
    states: dict[LinkState, dict[str, str | None]] = field(default_factory=dict)
    conflicts: list[ConflictNote] = field(default_factory=list)
    settled: dict[str, Settlement] = field(default_factory=dict)
    notes: Counter[str] = field(default_factory=Counter)

    def set_state(self, state: LinkState, sf_id: str, detail: str | None = None) -> None:
        self.states.setdefault(state, {})[sf_id] = detail


def plan_page(
    records: list[SfRecord],
    links: MappingOf[str, Link],
    brevo_changes: MappingOf[str, Change],
    settings: PlanSettings,
    *,
    owners: Owners | None = None,
    held: MappingOf[str, set[str]] | None = None,
) -> PagePlan:
    """Plan one page of Salesforce records (read through REST or Bulk), changing nothing given.

    Args:
        records: the page, in read order (``Id``, the mapped and country fields,
            ``SystemModstamp``, ``IsDeleted``; Leads: ``IsConverted``, ``ConvertedContactId``;
            ``CreatedDate`` when known).
        links: the links of the page's records, by Salesforce Id.
        brevo_changes: the Brevo changes of linked contacts read earlier in this run.
        settings: the integration's settings.
        owners: who else holds the page's e-mails (D1, D2, L1).
        held: Salesforce Id -> Brevo attributes whose value Salesforce refused (open
            rejections): not overwritten as a side effect of another field's update.

    Returns:
        The plan; the engine applies the quota to ``writes`` (in order) and commits the rest.
    """
    owners = owners or Owners()
    held = held or {}
    plan = PagePlan()
    mapping = settings.mapping
    live = [r for r in records if not r.get("IsDeleted") and not r.get("IsConverted")]
    page = prepare(live, mapping, object=settings.sobject, default_region=settings.default_region)
    rows, rejected = page.rows, page.rejections
    by_record = {r["Id"]: r for r in live}
    refused = {r.record_id for r in rejected}
    plan.rejections += rejected
    plan.data_hashes.update(
        {sf_id: source_hash(by_record[sf_id], mapping) for sf_id in refused if sf_id in by_record}
    )
    plan.suspend += [
        r.record_id
        for r in rejected
        if r.rule == RULE_Y6 and r.record_id in links and links[r.record_id].state == LinkState.ACTIVE
    ]
    ready = {row_id(row): (row, item) for row, item in zip(rows, page.prepared)}
    keepers = _email_keepers(rows, by_record, links, owners.same)
    names = {r["Id"]: record_name(r) for r in records}  # each write is made with its record's name
    for record in records:
        sf_id, link = record["Id"], links.get(record["Id"])
        if record.get("IsDeleted"):
            if link is not None and link.state not in _NOTHING_TO_DELETE:
                plan.writes.append(Write(WriteKind.DELETE, sf_id, link=link, name=names[sf_id]))
            continue
        if record.get("IsConverted"):  # L1: read-only now; its Contact takes the Brevo contact over
            plan.notes["converted"] += 1
            if link is not None and link.state != LinkState.SUPERSEDED:
                plan.set_state(LinkState.SUPERSEDED, sf_id, record.get("ConvertedContactId"))
            continue
        if sf_id not in ready:
            continue  # rejected by the rules
        row, item = ready[sf_id]
        email = str(row.get("email") or "").lower()
        contact = _first(owners.contacts.get(email)) if settings.sobject == "Lead" and email else None
        if contact is not None:  # D2: the person is a Contact too; the Contact owns the Brevo contact
            plan.notes["superseded"] += 1
            if link is None or link.state != LinkState.SUPERSEDED or link.detail != contact.sf_id:
                plan.set_state(LinkState.SUPERSEDED, sf_id, contact.sf_id)
            continue
        keeper = keepers.get(email)
        if keeper is not None and keeper != sf_id:
            plan.rejections.append(_duplicate(sf_id, keeper, row.get("email")))
            plan.data_hashes[sf_id] = source_hash(by_record[sf_id], mapping)
            continue
        lead = (
            _lead_of(sf_id, owners.leads.get(email))
            if settings.sobject == "Contact" and email and link is None
            else None
        )
        if link is not None and link.state == LinkState.HELD_DELETE:  # restored from the Recycle Bin
            plan.set_state(LinkState.ACTIVE, sf_id)
        write = _change(
            row,
            item.values,
            link,
            brevo_changes.get(sf_id),
            settings,
            plan,
            held.get(sf_id, set()),
            sf_modified=record.get("SystemModstamp"),
            encoded=item.encoded,
            name=names[sf_id],
        )
        if write is None:
            plan.notes["unchanged"] += 1
        elif lead is not None:  # D2/L1: take the Lead's Brevo contact over instead of creating one
            plan.writes.append(
                Write(
                    WriteKind.HANDOVER,
                    sf_id,
                    write.row,
                    None,
                    write.values,
                    takes_over=lead,
                    encoded=write.encoded,
                    flags=write.flags,
                    name=write.name,
                )
            )
        else:
            plan.writes.append(write)
    _name(plan, names)
    return plan


def record_name(record: SfRecord | None) -> str | None:
    """The person a Salesforce record is: ``FirstName LastName`` (the read selects both), never an e-mail."""
    if not record:
        return None
    return person_name(record.get("FirstName"), record.get("LastName"))


def _name(plan: PagePlan, names: MappingOf[str, str | None]) -> None:
    """Give the plan's rejections the name of their record (the reports show it)."""
    plan.rejections = [
        replace(r, record_name=names.get(r.record_id))
        if r.record_name is None and names.get(r.record_id)
        else r
        for r in plan.rejections
    ]


def _first(links: list[Link] | None) -> Link | None:
    return links[0] if links else None


def _lead_of(contact_id: str, leads: list[Link] | None) -> Link | None:
    """The Lead link whose Brevo contact a new Contact takes over: one converted into it, else an active one."""
    found = leads or []
    converted = [link for link in found if link.state == LinkState.SUPERSEDED and link.detail == contact_id]
    return _first(converted) or _first([link for link in found if link.state == LinkState.ACTIVE])


def _duplicate(sf_id: str, keeper: str, email: object) -> Rejection:
    return Rejection(
        sf_id,
        RULE_D1,
        "Email",
        None if email is None else str(email),
        (
            f"Another Salesforce record ({keeper}) has the same e-mail address and keeps the Brevo contact (Brevo "
            "allows one contact per address); this record is synced once its e-mail differs or the other one's "
            "changes (D1)."
        ),
    )


def _email_keepers(
    rows: list[BrevoRow],
    records: MappingOf[str, SfRecord],
    links: MappingOf[str, Link],
    same: MappingOf[str, list[Link]],
) -> dict[str, str]:
    """For each e-mail held by more than one record, the Id that keeps the Brevo contact (D1).

    A record already linked with that e-mail (in Brevo) keeps it, unless this page moves it to
    another e-mail (B5: it lets go, the writes are ordered so); else the oldest record
    (``CreatedDate``, then Id) among those of the page that want it.
    """
    wanting: dict[str, list[str]] = {}
    moving: dict[str, str] = {}
    for row in rows:
        email = str(row.get("email") or "").lower()
        moving[row_id(row)] = email
        if email:
            wanting.setdefault(email, []).append(row_id(row))
    keepers: dict[str, str] = {}
    for email, ids in wanting.items():
        holders = [
            link
            for link in same.get(email, [])
            if link.state in HOLDING and moving.get(link.sf_id, email) == email
        ]
        holding_others = [h for h in holders if h.sf_id not in ids]
        if holding_others:  # the record holding it in Brevo is not on this page
            keepers[email] = min(h.sf_id for h in holding_others)
            continue
        if len(ids) == 1:
            continue
        held_by = {h.sf_id for h in holders}
        keepers[email] = min(ids, key=partial(_age, held_by=held_by, records=records, links=links))
    return keepers


def _age(
    sf_id: str, *, held_by: set[str], records: MappingOf[str, SfRecord], links: MappingOf[str, Link]
) -> tuple[int, str, str]:
    """Who keeps an e-mail (D1): a linked record first, then the oldest (``CreatedDate``), then by Id."""
    linked = sf_id in held_by or (sf_id in links and links[sf_id].state in HOLDING)
    return (0 if linked else 1, str(records.get(sf_id, {}).get("CreatedDate") or "~"), sf_id)


def _change(
    row: BrevoRow,
    values: CanonicalValues,
    link: Link | None,
    brevo_change: Change | None,
    settings: PlanSettings,
    plan: PagePlan,
    held: set[str],
    *,
    sf_modified: str | None,
    encoded: bytes | None = None,
    name: str | None = None,
) -> Write | None:
    """The write of one row against its link and its Brevo change (``None``: unchanged).

    Settles a conflict with a Brevo change in ``plan.settled``/``plan.conflicts``; fields held
    back are left out of the written row (a copy: ``row`` is not changed). ``name`` is the
    record's (:func:`record_name`), given to the write as it is made.
    """
    sf_id = row_id(row)
    if link is None:
        plain = _without_empty(row)
        return Write(
            WriteKind.CREATE,
            sf_id,
            plain,
            None,
            values,
            encoded=encoded if plain is row else None,
            flags=_flags(plain, values, None, set(written_keys(plain))),
            name=name,
        )
    changed = changed_keys(values, link.synced, written_keys(row))
    row = {**row, "attributes": dict(row["attributes"])}  # a copy: fields may be left out
    drop: set[str] = set()
    agreed: set[str] = set()
    brevo_changed = set(brevo_change.changed) if brevo_change is not None else set()
    if brevo_change is not None:
        # Changed to the same value on both sides (e.g. a write replayed after a crash): the
        # import below settles them; writing them back to Salesforce too would count twice.
        same = {k for k in changed & brevo_changed if brevo_change.values.get(k) == values.get(k)}
        drop |= same
        brevo_changed -= same
        if _earlier(brevo_change.contact.get("modifiedAt"), sf_modified):
            agreed = same  # Brevo's edit already reached Salesforce: resolved as if written now
    if (
        link.state in FRESH
    ):  # no Brevo contact of its own: written anew once it changes (Y10), or at once (D2)
        _settle(plan, sf_id, drop, agreed)
        if not changed:
            return None
        plain = _without_empty(row)
        return Write(
            WriteKind.CREATE,
            sf_id,
            plain,
            link,
            values,
            flags=_flags(plain, values, None, set(written_keys(plain))),
            name=name,
        )
    if link.state == LinkState.SUSPENDED:
        if brevo_change is not None:  # Y6: Brevo edits made while suspended stay skipped
            plan.settled[sf_id] = Settlement(ignore=True)
        # The e-mail is back: sync again.
        return _update(row, values, link, changed | set(written_keys(row)), name)
    if brevo_change is not None:
        overlap = changed & brevo_changed  # different values: a conflict
        if overlap:
            winner = settings.conflict_winner
            plan.conflicts.append(
                ConflictNote(
                    sf_id,
                    winner,
                    {k: values.get(k) for k in overlap},
                    {k: brevo_change.values.get(k) for k in overlap},
                )
            )
            if winner == Side.SALESFORCE:
                drop |= overlap
                brevo_changed -= overlap
            else:
                _drop(row, overlap)
                changed -= overlap
        # Fields changed in Brevo only: the import must not overwrite them with Salesforce's
        # older values; the Brevo -> Salesforce phase writes them there.
        _drop(row, brevo_changed - changed)
    _settle(plan, sf_id, drop, agreed)
    # A Brevo value Salesforce refused earlier (open rejection, e.g. Y5) is not overwritten as a
    # side effect of another field's update, whether or not this run re-read the contact.
    _drop(row, held - changed)
    return _update(row, values, link, changed, name) if changed else None


def _update(row: BrevoRow, values: CanonicalValues, link: Link, changed: set[str], name: str | None) -> Write:
    synced = link.synced or {}
    cleared = tuple(
        sorted(
            k
            for k in changed
            if values.get(k) is None and synced.get(k) is not None and k in row["attributes"]
        )
    )
    flags = _flags(row, values, synced, changed)
    if "EMAIL" in changed and "email" in row and values.get(EMAIL_BLACKLISTED) and EMAIL_BLACKLISTED in row:
        # Brevo re-subscribes a blacklisted contact whose e-mail changes (brevo-python updateContact:
        # "it is going to remove that blocklisting"): an opted-out record's new address is
        # blacklisted again after the import (see also diff.address_resubscribed).
        flags[EMAIL_BLACKLISTED] = True
    return Write(
        WriteKind.UPDATE,
        row_id(row),
        row,
        link,
        values,
        cleared,
        flags=flags,
        imported=not flags or bool(changed - flags.keys()),
        name=name,
    )


def _flags(
    row: BrevoRow, values: CanonicalValues, synced: MappingOf[str, object] | None, changed: set[str]
) -> dict[str, bool]:
    """B8: the blacklist flags the row still carries whose value differs from ``synced``.

    A new contact (``synced`` ``None``) is set only where Salesforce says it opted out: an
    existing Brevo contact it joins keeps its own unsubscribe, which then flows to Salesforce.
    """
    before = synced or {}
    return {
        k: bool(values.get(k))
        for k in BLACKLIST_FLAGS
        if k in row and k in changed and values.get(k) != before.get(k)
    }


def _without_empty(row: BrevoRow) -> BrevoRow:
    """A new contact's row: empty values say nothing to a contact that has none.

    Nor do they to a contact Brevo already has with that e-mail (one of Brevo's own, Y1): it
    is linked without losing values Salesforce does not have. ``row`` itself when none is empty.
    """
    if "" not in row["attributes"].values():
        return row
    return {**row, "attributes": {k: v for k, v in row["attributes"].items() if v != ""}}


def _settle(plan: PagePlan, sf_id: str, drop: set[str], agreed: set[str]) -> None:
    if drop or agreed:
        plan.settled[sf_id] = Settlement(frozenset(drop), frozenset(agreed))


def _drop(row: BrevoRow, keys: set[str]) -> None:
    for key in keys:
        if key == "EMAIL":
            row.pop("email", None)
        elif key in BLACKLIST_FLAGS:
            row.pop(key, None)  # type: ignore[misc]
        row["attributes"].pop(key, None)


def _earlier(brevo_time: str | None, salesforce_time: str | None) -> bool:
    """Whether a Brevo ``modifiedAt`` is an earlier moment than a Salesforce ``SystemModstamp``."""
    try:
        return parse_brevo_datetime(brevo_time) < parse_salesforce_datetime(salesforce_time)
    except ValueError:
        return False


class OrderedWrites(NamedTuple):
    """What :func:`order_email_moves` returns (a named pair: callers unpack it)."""

    ordered: list[Write]
    parked: list[Write]


def order_email_moves(writes: list[Write]) -> OrderedWrites:
    """Order one import's writes so that no row takes an e-mail another row still holds (B5).

    Brevo allows one contact per e-mail and an import row whose e-mail belongs to another
    contact is refused (``duplicate_email_id``). Within one import, a row releasing an e-mail
    (its contact moves to another address) therefore goes before the row taking it. Where
    contacts exchange addresses (a cycle: A takes B's, B takes A's), one contact of each cycle
    must first let its address go: it is returned as *parked*, to be given a placeholder address
    before the import (its row then sets its new one).

    Returns:
        ``(ordered, parked)``: the writes in an order that can be imported (each row after the
        rows releasing its e-mail, page order otherwise kept), and the writes to park first.
    """

    def email(write: Write) -> str:
        return str(write.row.get("email") or "").lower() if write.row is not None else ""

    def released(write: Write) -> str:
        old = str(write.link.email or "").lower() if write.link is not None else ""
        new = email(write)
        return old if old and new and old != new else ""

    releasing = {released(w): i for i, w in enumerate(writes) if released(w)}
    waits = {
        i: releasing[email(w)]
        for i, w in enumerate(writes)
        if email(w) in releasing and releasing[email(w)] != i
    }
    if not waits:
        return OrderedWrites(list(writes), [])
    ordered: list[int] = []
    placed: set[int] = set()
    parked: list[int] = []
    pending = list(range(len(writes)))
    while pending:
        progress = False
        for i in list(pending):
            before = waits.get(i)
            if before is None or before in placed or before in parked:
                ordered.append(i)
                placed.add(i)
                pending.remove(i)
                progress = True
        if not progress:  # only cycles are left: park the first one's holder, then go on
            first = pending[0]
            holder = waits[first]
            parked.append(holder)
    return OrderedWrites([writes[i] for i in ordered], [writes[i] for i in dict.fromkeys(parked)])
