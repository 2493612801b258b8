"""Tables of cases for the pure page planner (``toolkit.sync.plan``): no API, no database.

Each case is a page of Salesforce records, their links and the Brevo changes read in the run,
and what the plan must say: writes (kind, Id, what the row holds), rejections by rule, link
states. Rule ids: the SPEC's, and D1 (duplicate e-mails), D2 (a Lead and a Contact of one
person), L1 (Lead conversion), B9 (a contact taken off the list in Brevo); see the README.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pytest

from tests.support.rules import CONTACT_PAIRS, LEAD_PAIRS, add_attributes, attributes_of, describe
from toolkit.mapping import Mapping, validate_mapping
from toolkit.rules.hashing import brevo_values, canonical_values
from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.clock import Clock
from toolkit.store import Link, LinkState, Side
from toolkit.sync.diff import Change
from toolkit.sync.plan import (
    Owners,
    PagePlan,
    PlanSettings,
    Write,
    WriteKind,
    order_email_moves,
    plan_page,
)

T0 = "2026-12-01T08:00:00.000+0000"
T1 = "2026-12-01T09:00:00.000+0000"


def _mapping(obj: str) -> Mapping:
    account = BrevoAccount(Clock())
    add_attributes(account)
    return validate_mapping(
        CONTACT_PAIRS if obj == "Contact" else LEAD_PAIRS, describe(obj), attributes_of(account)
    )


CONTACT = _mapping("Contact")
LEAD = _mapping("Lead")


def rec(sf_id: str, **fields: Any) -> dict[str, Any]:
    """A Contact as a query returns it (mapped fields, country, system fields)."""
    base: dict[str, Any] = {
        "Id": sf_id,
        "Email": f"{sf_id.lower()}@example.com",
        "FirstName": "Anna",
        "LastName": "Weber",
        "MobilePhone": "+49 151 23456789",
        "Phone": None,
        "Birthdate": None,
        "Customer_Score__c": None,
        "Title": "Buyer",
        "MailingCountry": "Germany",
        "SystemModstamp": T1,
        "IsDeleted": False,
        "CreatedDate": T0,
    }
    return {**base, **fields}


def lead(sf_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        k: v
        for k, v in rec(sf_id).items()
        if k not in ("Birthdate", "Customer_Score__c", "Title", "MailingCountry")
    }
    return {
        **base,
        "Company": "Weber GmbH",
        "Birthdate__c": None,
        "Budget__c": None,
        "Country": "Germany",
        "IsConverted": False,
        "ConvertedContactId": None,
        **fields,
    }


def synced(record: dict[str, Any], mapping: Mapping = CONTACT) -> dict[str, Any]:
    """What a link holds after ``record`` was synced."""
    from toolkit.rules import to_brevo

    rows, _ = to_brevo([record], mapping, default_region="DE")
    return canonical_values(brevo_values(rows[0], mapping), mapping)


def link(
    record: dict[str, Any],
    state: LinkState = LinkState.ACTIVE,
    iid: int = 1,
    mapping: Mapping = CONTACT,
    **changes: Any,
) -> Link:
    values = synced({**record, **changes}, mapping)
    return Link(iid, record["Id"], 7, str(values.get("EMAIL")), "h", "h", state, values)


def change(record: dict[str, Any], link_: Link, **attributes: Any) -> Change:
    """A Brevo edit of the record's contact (read earlier in the run)."""
    values = {**(link_.synced or {}), **attributes}
    contact = {
        "id": 7,
        "email": values.get("EMAIL"),
        "attributes": {**values, "EXT_ID": record["Id"]},
        "modifiedAt": "2026-12-01T08:30:00.000Z",
        "listIds": [3],
    }
    return Change(record["Id"], contact, values, set(attributes), link_)


def plan(
    records: list[dict[str, Any]],
    links: Sequence[Link] = (),
    changes: Sequence[Change] = (),
    *,
    obj: str = "Contact",
    owners: Owners | None = None,
    region: str | None = "DE",
    winner: Side = Side.SALESFORCE,
    held: dict[str, set[str]] | None = None,
) -> PagePlan:
    mapping = CONTACT if obj == "Contact" else LEAD
    given = (copy.deepcopy(records), copy.deepcopy(list(links)), copy.deepcopy(list(changes)))
    result = plan_page(
        records,
        {link.sf_id: link for link in links},
        {c.sf_id: c for c in changes},
        PlanSettings(mapping, obj, winner, region),
        owners=owners,
        held=held,
    )
    assert (records, list(links), list(changes)) == given  # the planner changes nothing it is given
    return result


def kinds(result: Any) -> list[tuple[str, str]]:
    return [(str(w.kind), w.sf_id) for w in result.writes]


def rules_of(result: Any) -> list[tuple[str, str, str]]:
    return sorted((r.rule, r.record_id, r.field) for r in result.rejections)


# -- writes, clearing, phones ----------------------------------------------------------------------

A, B, C = "003A00000000001AAA", "003A00000000002AAA", "003A00000000003AAA"
L1_, L2_ = "00QA00000000001AAA", "00QA00000000002AAA"


@pytest.mark.parametrize(
    ("name", "records", "links", "expect_writes", "expect_rules"),
    [
        ("new record is created", [rec(A)], [], [("create", A)], []),
        ("linked and unchanged: nothing", [rec(A)], [link(rec(A))], [], []),
        ("linked and changed: updated", [rec(A, FirstName="Anne")], [link(rec(A))], [("update", A)], []),
        (
            "deleted and linked: taken off the list",
            [rec(A, IsDeleted=True)],
            [link(rec(A))],
            [("delete", A)],
            [],
        ),
        ("deleted, never linked: nothing", [rec(A, IsDeleted=True)], [], [], []),
        (
            "deleted, kept after Y10: nothing",
            [rec(A, IsDeleted=True)],
            [link(rec(A), LinkState.KEPT)],
            [],
            [],
        ),
        ("Y6: no e-mail: rejected", [rec(A, Email=None)], [], [], [("Y6", A, "Email")]),
        ("Y7: an emptied phone is not a change", [rec(A, MobilePhone=None)], [link(rec(A))], [], []),
        (
            "a national phone without a country, no region: the rest still syncs",
            [rec(A, MobilePhone="0151 23456789", MailingCountry=None)],
            [],
            [("create", A)],
            [("PHONE_INVALID", A, "MobilePhone")],
        ),
    ],
)
def test_plan_writes_and_rules(
    name: str,
    records: list[dict[str, Any]],
    links: list[Link],
    expect_writes: list[tuple[str, str]],
    expect_rules: list[tuple[str, str, str]],
) -> None:
    result = plan(records, links, region=None)
    assert kinds(result) == expect_writes, name
    assert rules_of(result) == expect_rules, name


def test_clearing_a_field_emptied_in_salesforce_empties_the_attribute_but_not_a_phone() -> None:
    before = rec(A)
    result = plan([rec(A, Title=None, MobilePhone=None)], [link(before)])
    [write] = result.writes
    assert write.kind == WriteKind.UPDATE and write.cleared == ("TITLE",)
    assert (
        write.row is not None
        and write.row["attributes"]["TITLE"] == ""
        and "SMS" not in write.row["attributes"]
    )


def test_a_new_contact_is_written_without_empty_values() -> None:
    [write] = plan([rec(A, Title=None, FirstName="")]).writes
    assert write.row is not None and "TITLE" not in write.row["attributes"]
    assert "FIRSTNAME" not in write.row["attributes"] and write.encoded is None  # encoded again, without them


@pytest.mark.parametrize(
    ("phone", "country", "region", "expected"),
    [
        ("0151 23456789", "Germany", None, "+4915123456789"),  # the record's own country (a name)
        ("0151 23456789", "DE", None, "+4915123456789"),  # ... or its ISO code
        ("06 12 34 56 78", "France", "DE", "+33612345678"),  # the record's country before the default
        ("0151 23456789", None, "DE", "+4915123456789"),  # no country: the integration's region
        ("+33 6 12 34 56 78", None, None, "+33612345678"),  # international needs neither
    ],
)
def test_national_phones_are_made_international(
    phone: str, country: str | None, region: str | None, expected: str
) -> None:
    [write] = plan([rec(A, MobilePhone=phone, MailingCountry=country)], region=region).writes
    assert write.row is not None and write.row["attributes"]["SMS"] == expected


def test_y9_a_lead_with_a_phone_of_the_wrong_length_is_not_passed_on() -> None:
    result = plan([lead(L1_, MobilePhone="12345")], obj="Lead")
    assert kinds(result) == [] and rules_of(result) == [("Y9", L1_, "MobilePhone")]


# -- D1: one e-mail, several records ----------------------------------------------------------------

SHARED = "same.person@example.com"


def test_d1_the_older_record_keeps_the_contact_and_the_other_is_rejected_naming_it() -> None:
    older, newer = rec(B, Email=SHARED, CreatedDate=T0), rec(A, Email=SHARED, CreatedDate=T1)
    result = plan([newer, older])
    assert kinds(result) == [("create", B)]
    [rejection] = result.rejections
    assert (rejection.rule, rejection.record_id, rejection.value) == ("D1", A, SHARED)
    assert B in rejection.reason and A in result.data_hashes


def test_d1_a_linked_record_keeps_its_contact_against_an_older_new_one() -> None:
    linked, new = rec(B, Email=SHARED, CreatedDate=T1), rec(A, Email=SHARED, CreatedDate=T0)
    owner = link(linked)
    result = plan([new], [], owners=Owners(same={SHARED: [owner]}))
    assert kinds(result) == [] and rules_of(result) == [("D1", A, "Email")]


def test_d1_no_duplicate_when_the_holder_moves_to_another_address_in_the_same_page() -> None:
    holder_before = rec(B, Email=SHARED)
    owner = link(holder_before)
    result = plan(
        [rec(B, Email="moved@example.com"), rec(A, Email=SHARED)],
        [owner],
        owners=Owners(same={SHARED: [owner]}),
    )
    assert sorted(kinds(result)) == [("create", A), ("update", B)] and result.rejections == []


# -- D2 and L1: a Lead and a Contact of one person ----------------------------------------------------


def test_d2_a_lead_whose_person_is_a_contact_is_superseded_not_written() -> None:
    contact_link = Link(2, A, 9, SHARED, None, None, LinkState.ACTIVE, {"EMAIL": SHARED})
    result = plan([lead(L1_, Email=SHARED)], obj="Lead", owners=Owners(contacts={SHARED: [contact_link]}))
    assert kinds(result) == [] and result.states == {LinkState.SUPERSEDED: {L1_: A}}
    assert result.notes["superseded"] == 1


def test_d2_a_new_contact_takes_over_the_contact_of_a_lead_of_the_same_person() -> None:
    lead_link = Link(5, L1_, 9, SHARED, None, None, LinkState.ACTIVE, {"EMAIL": SHARED})
    result = plan([rec(A, Email=SHARED)], owners=Owners(leads={SHARED: [lead_link]}))
    [write] = result.writes
    assert write.kind == WriteKind.HANDOVER and write.takes_over == lead_link and write.row is not None
    assert (
        write.row["attributes"]["EXT_ID"] == A and write.row["attributes"]["TITLE"] == "Buyer"
    )  # Contact mapping


def test_d2_a_superseded_lead_whose_contact_let_the_address_go_gets_a_contact_of_its_own() -> None:
    superseded = Link(1, L1_, None, SHARED, None, None, LinkState.SUPERSEDED, None, detail=A)
    result = plan([lead(L1_, Email=SHARED)], [superseded], obj="Lead")  # no Contact holds the address now
    [write] = result.writes
    assert write.kind == WriteKind.CREATE and write.link == superseded  # a contact of its own, never a
    # check of a Brevo contact it never had (which would read as "deleted in Brevo", Y10)


def test_l1_a_converted_lead_is_superseded_by_its_contact_and_nothing_is_deleted() -> None:
    converted = lead(L1_, IsConverted=True, ConvertedContactId=A)
    result = plan([converted], [link(lead(L1_), mapping=LEAD)], obj="Lead")
    assert kinds(result) == [] and result.states == {LinkState.SUPERSEDED: {L1_: A}}
    assert result.notes["converted"] == 1


def test_l1_a_superseded_lead_deleted_later_is_not_deleted_again() -> None:
    result = plan(
        [lead(L1_, IsDeleted=True)], [link(lead(L1_), LinkState.SUPERSEDED, mapping=LEAD)], obj="Lead"
    )
    assert kinds(result) == []


# -- conflicts and held values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("winner", "row_first_name", "dropped"),
    [
        (Side.SALESFORCE, "Sf", {"FIRSTNAME"}),  # Salesforce's value is written; Brevo's is not written back
        (Side.BREVO, None, set()),  # Brevo's value stays; the row leaves the field out
    ],
)
def test_a_field_changed_on_both_sides_is_settled_by_the_winner(
    winner: Side, row_first_name: str | None, dropped: set[str]
) -> None:
    before = rec(A)
    the_link = link(before)
    brevo = change(before, the_link, FIRSTNAME="Brevo")
    result = plan([rec(A, FirstName="Sf")], [the_link], [brevo], winner=winner)
    [note] = result.conflicts
    assert (note.sf_id, note.winner, note.salesforce, note.brevo) == (
        A,
        winner,
        {"FIRSTNAME": "Sf"},
        {"FIRSTNAME": "Brevo"},
    )
    assert set(result.settled[A].drop if A in result.settled else ()) == dropped
    assert [w.row["attributes"].get("FIRSTNAME") for w in result.writes if w.row] == (
        [row_first_name] if row_first_name else []
    )


def test_a_value_salesforce_refused_is_not_overwritten_by_another_fields_update() -> None:
    before = rec(A)
    [write] = plan([rec(A, Title="Chief")], [link(before)], held={A: {"FIRSTNAME"}}).writes
    assert (
        write.row is not None
        and "FIRSTNAME" not in write.row["attributes"]
        and write.row["attributes"]["TITLE"]
    )


def test_y6_a_suspended_link_skips_the_brevo_edits_made_meanwhile() -> None:
    before = rec(A)
    the_link = link(before, LinkState.SUSPENDED)
    result = plan([rec(A)], [the_link], [change(before, the_link, FIRSTNAME="Brevo")])
    assert kinds(result) == [("update", A)] and result.settled[A].ignore


# -- B5: exchanges of e-mail addresses ------------------------------------------------------------


def _move(sf_id: str, old: str, new: str) -> Write:
    the_link = Link(1, sf_id, 1, old, None, None, LinkState.ACTIVE, {"EMAIL": old})
    return Write(
        WriteKind.UPDATE, sf_id, {"email": new, "attributes": {"EXT_ID": sf_id}}, the_link, {"EMAIL": new}
    )


@pytest.mark.parametrize(
    ("moves", "order", "parked"),
    [
        ([("A", "a@x.com", "a2@x.com")], ["A"], []),
        ([("A", "a@x.com", "b@x.com"), ("B", "b@x.com", "c@x.com")], ["B", "A"], []),  # a chain: B first
        ([("A", "a@x.com", "b@x.com"), ("B", "b@x.com", "a@x.com")], ["A", "B"], ["B"]),  # a swap: B parked
        (
            [("A", "a@x.com", "b@x.com"), ("B", "b@x.com", "c@x.com"), ("C", "c@x.com", "a@x.com")],
            ["A", "C", "B"],
            ["B"],
        ),  # a cycle of three: one parked
    ],
)
def test_b5_email_moves_are_ordered_and_one_address_per_cycle_is_parked(
    moves: list[tuple[str, str, str]], order: list[str], parked: list[str]
) -> None:
    writes = [_move(*m) for m in moves]
    ordered, to_park = order_email_moves(writes)
    assert [w.sf_id for w in ordered] == order and [w.sf_id for w in to_park] == parked
    holders = {w.link.email: w.sf_id for w in writes if w.link}  # replay: no row takes a held address
    for write in to_park:
        holders.pop(write.link.email, None)  # type: ignore[union-attr]
    for write in ordered:
        taken = write.row["email"]  # type: ignore[index]
        assert holders.get(taken, write.sf_id) == write.sf_id, (order, write.sf_id)
        holders.pop(write.link.email, None)  # type: ignore[union-attr]
        holders[taken] = write.sf_id
