"""Bad input on both sides: each record synced correctly or rejected with its rule id and reason.

Salesforce records go through the initial load (Bulk API 2.0, CSV) and again through an
incremental run (REST, JSON); Brevo edits go back through ``composite/sobjects``. No run may
fail, no rejected record may be written in part, and the run's CSV report must neutralise every
formula-like cell while its HTML escapes markup. The kinds are listed in ``bad_input.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from tests.support.bad_input import (
    EXTRA_ATTRIBUTES,
    FORMULAS,
    INJECTIONS,
    Kind,
    brevo_kinds,
    materialise,
    salesforce_kinds,
)
from tests.support.scenario import NAME, VOLATILE
from tests.support.sync import MAPPING, Env, setup_integration
from toolkit.audit.reports import write_run_report
from toolkit.exceptions import MappingError
from toolkit.sandbox.brevo.contact_ops import update_contact
from toolkit.store import RejectionState

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
DERIVED = {"Name", "Full_Name__c"}  # Salesforce computes them from the names


def _create(env: Env, kinds: list[Kind], tag: str) -> list[str]:
    rows = [
        {"LastName": f"Bad {tag} {i}", "Email": f"{tag}.{i}@bad.example", **kind.values}
        for i, kind in enumerate(kinds)
    ]
    results = env.sandbox.salesforce.create_many("Contact", rows)
    assert all(r["success"] for r in results), [r["errors"] for r in results if not r["success"]]
    return [r["id"] for r in results]


def _in_brevo(env: Env, sf_id: str) -> dict[str, Any]:
    """The Brevo contact synced from ``sf_id`` (it must exist)."""
    contact = env.brevo_contact(sf_id)
    assert contact is not None, sf_id
    return contact


def _rejections(env: Env, direction: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for r in env.tk.rejections(NAME):
        if r["direction"] == direction:
            found.setdefault(r["record_id"], []).append(r)
    return found


def _check_rejected(kind: Kind, rejections: list[dict[str, Any]], rule: str) -> None:
    assert [r["rule"] for r in rejections] == [rule], (kind.name, rejections)
    assert all(len(r["reason"] or "") > 20 for r in rejections), (kind.name, rejections)


def _check_to_brevo(env: Env, kinds: list[Kind], ids: list[str]) -> None:
    rejected = _rejections(env, "to_brevo")
    for kind, sf_id in zip(kinds, ids):
        contact = env.brevo_contact(sf_id)
        mine = rejected.get(sf_id, [])
        if kind.expect in ("phone", "PHONE_INVALID"):
            # A phone that cannot be made valid is left out with a field-level rejection; the
            # contact itself is synced (issue 12). Never an invalid number in Brevo.
            assert contact is not None, f"{kind.name}: the contact did not reach Brevo"
            if "SMS" in contact["attributes"]:
                assert kind.expect == "phone" and not mine, (kind.name, mine)
                assert phonenumbers.is_valid_number(phonenumbers.parse("+" + contact["attributes"]["SMS"]))
            else:
                _check_rejected(kind, mine, "PHONE_INVALID")
        elif kind.expect == "synced":
            assert contact is not None and not mine, (kind.name, mine)
            for attribute, want in kind.want.items():
                got = contact.get("email") if attribute == "EMAIL" else contact["attributes"].get(attribute)
                assert got == want or (want is None and got in (None, "")), (kind.name, attribute, got)
        else:
            assert contact is None, f"{kind.name}: a rejected record reached Brevo"
            _check_rejected(kind, mine, kind.expect)


def _check_to_salesforce(
    env: Env, kinds: list[Kind], ids: list[str], before: dict[str, dict[str, Any]]
) -> None:
    rejected = _rejections(env, "to_salesforce")
    for kind, sf_id in zip(kinds, ids):
        record = env.sandbox.salesforce.get("Contact", sf_id)
        assert record is not None
        mine = rejected.get(sf_id, [])
        unchanged = {
            k: v for k, v in before[sf_id].items() if k not in VOLATILE | DERIVED and k not in kind.want
        }
        assert {k: record[k] for k in unchanged} == unchanged, f"{kind.name}: other fields were written"
        if kind.expect == "synced":
            assert not mine, (kind.name, mine)
            assert {k: record[k] for k in kind.want} == kind.want, kind.name
        else:
            _check_rejected(kind, mine, kind.expect)


def _check_reports(env: Env, run_ids: list[int], directory: Path) -> int:
    """Every CSV cell neutralised, markup escaped in the HTML; returns the rows checked."""
    rows = 0
    for run_id in run_ids:
        paths = write_run_report(env.tk.store, run_id, directory)
        with paths.csv.open(encoding="utf-8-sig", newline="") as fh:
            table = list(csv.reader(fh))
        for row in table[1:]:
            rows += 1
            for cell in row:
                assert not cell.startswith(FORMULA_START), f"formula cell in the CSV report: {cell!r}"
        values = {row[table[0].index("value")] for row in table[1:]}
        html = paths.html.read_text(encoding="utf-8")
        assert "<script" not in html.lower() and "onerror=" not in html
        if run_id == run_ids[-1]:
            assert {"'" + f for f in FORMULAS.values()} <= values  # kept, but as text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    return rows


def test_bad_records_on_both_sides_are_synced_or_rejected_with_rule_and_reason(
    env_factory: Any, tmp_path: Path, figures: Any
) -> None:
    env: Env = env_factory(contacts=0)
    brevo = env.tk.brevo()
    brevo.create_attribute("normal", "BIRTHDATE", "date")
    for name in ("JOBTITLE", "NOTES"):
        brevo.create_attribute("normal", name, "text")
    brevo.create_attribute("normal", "SCORE", "float")
    sf_kinds, b_kinds = salesforce_kinds(), brevo_kinds()
    bulk_kinds = [materialise(k, "bulk", 1) for k in sf_kinds]
    bulk_ids = _create(env, bulk_kinds, "bulk")
    targets = _create(env, [Kind("clean", {}, "synced")] * len(b_kinds), "target")
    setup_integration(env.tk, mapping={**MAPPING, **EXTRA_ATTRIBUTES})
    # Brevo refuses a date attribute value that is not YYYY-MM-DD; a text attribute of the same name
    # (an account changed after the mapping was made) lets such values reach the Y3 rule.
    brevo._call("DELETE", "/contacts/attributes/normal/BIRTHDATE")
    brevo.create_attribute("normal", "BIRTHDATE", "text")

    first = env.tk.run(NAME)  # the initial load: Bulk API 2.0
    assert first.status == "succeeded", first.message
    _check_to_brevo(env, bulk_kinds, bulk_ids)

    rest_kinds = [materialise(k, "rest", 2) for k in sf_kinds]
    rest_ids = _create(env, rest_kinds, "rest")
    before = {sf_id: env.sandbox.salesforce.get("Contact", sf_id) or {} for sf_id in targets}
    for kind, sf_id in zip(b_kinds, targets):
        update_contact(env.sandbox.brevo, sf_id, "ext_id", {"attributes": kind.values})
    second = env.tk.run(NAME)  # an incremental run: REST both ways
    assert second.status == "succeeded", second.message
    _check_to_brevo(env, rest_kinds, rest_ids)
    _check_to_salesforce(env, b_kinds, targets, before)
    third = env.tk.run(NAME)  # nothing comes back, nothing is reported twice
    assert third.status == "succeeded" and third.tasks == 0 and not third.rejected, (
        third.counts,
        third.rejected,
    )

    report_rows = _check_reports(env, [first.run_id, second.run_id], tmp_path / "reports")
    kinds = len(sf_kinds) + len(b_kinds)
    records = len(bulk_ids) + len(rest_ids) + len(targets)
    rejected = sum(1 for k in [*sf_kinds, *b_kinds] if k.expect not in ("synced", "phone"))
    figures(
        "bad input",
        f"{kinds} kinds ({len(sf_kinds)} Salesforce-side twice: Bulk CSV and REST JSON; "
        f"{len(b_kinds)} Brevo-side), {records} records checked, {rejected} kinds rejected with "
        f"rule and reason, 3 runs succeeded, {report_rows} CSV report rows neutralised",
    )
    assert kinds >= 40
    assert set(INJECTIONS) and set(FORMULAS)


def test_every_sync_rule_meets_its_bad_record_in_one_workload(env_factory: Any, figures: Any) -> None:
    """Y1, Y2/B5, Y4, Y6, Y7, Y8, Y9, Y10, Y11 on Contacts and Leads (Y3 and Y5 are in the test above)."""
    env: Env = env_factory(contacts=0, brevo_deletion_check_hours=0)
    org, tk, brevo = env.sandbox.salesforce, env.tk, env.tk.brevo()
    names = ("y2_email_moves", "y6_email_removed", "y7_mobile_emptied", "y10_with_case", "y10_deleted", "y11")
    ids = dict(
        zip(
            names,
            (
                r["id"]
                for r in org.create_many(
                    "Contact",
                    [
                        {
                            "LastName": name,
                            "Email": f"{name}@rules.example",
                            "MobilePhone": f"+49 151 2345670{i}",
                            "Newsletter_Opt_In__c": True,
                        }
                        for i, name in enumerate(names)
                    ],
                )
            ),
        )
    )
    org.create_many("Case", [{"ContactId": ids["y10_with_case"], "Subject": "An open case"}])
    leads = dict(
        zip(
            ("y9_short", "y9_long", "y8_first_name"),
            (
                r["id"]
                for r in org.create_many(
                    "Lead",
                    [
                        {
                            "LastName": "Short",
                            "Company": "C",
                            "Email": "short@rules.example",
                            "MobilePhone": "12345",
                        },
                        {
                            "LastName": "Long",
                            "Company": "C",
                            "Email": "long@rules.example",
                            "MobilePhone": "+49 1512 3456 7890 123",
                        },
                        {
                            "LastName": "Fine",
                            "Company": "C",
                            "Email": "fine@rules.example",
                            "MobilePhone": "+49 151 23456780",
                        },
                    ],
                )
            ),
        )
    )
    brevo.create_attribute("normal", "FULLNAME", "text")
    brevo.create_attribute("normal", "NEWSLETTER", "boolean")
    tk.create_integration("formula", "Contact")
    tk.use_connection("formula", "sandbox-org")
    with pytest.raises(MappingError, match=r"(?i)formula"):  # Y4
        tk.set_mapping("formula", {**MAPPING, "FULLNAME": "Full_Name__c"})
    with pytest.raises(MappingError, match="Y11"):  # Y11 (without B4)
        tk.set_mapping("formula", {**MAPPING, "NEWSLETTER": "Newsletter_Opt_In__c"})
    list_id = setup_integration(tk, NAME)
    setup_integration(tk, "leads", "Lead")
    assert tk.run(NAME).status == "succeeded"
    first_leads = tk.run("leads")
    assert first_leads.status == "succeeded" and first_leads.rejected == {"Y9": 2}  # Y9: never sent
    assert env.brevo_contact(leads["y9_short"]) is None and env.brevo_contact(leads["y9_long"]) is None
    assert not tk.rejections(NAME), [(r["rule"], r["reason"]) for r in tk.rejections(NAME)]
    sms = {i: _in_brevo(env, i)["attributes"]["SMS"] for i in ids.values()}

    brevo.create_contact(email="only.in.brevo@rules.example", list_ids=[list_id])  # Y1
    org.update_many(
        "Contact",
        [
            {"Id": ids["y2_email_moves"], "Email": "moved@rules.example"},
            {"Id": ids["y6_email_removed"], "Email": None},
            {"Id": ids["y7_mobile_emptied"], "MobilePhone": None},
        ],
    )
    for key in ("y10_with_case", "y10_deleted"):
        assert brevo.delete_contact(ids[key], "ext_id")
    update_contact(
        env.sandbox.brevo, leads["y8_first_name"], "ext_id", {"attributes": {"FIRSTNAME": "A" * 41}}
    )
    contacts_before = len(org.records("Contact"))
    result = tk.run(NAME, confirm_deletes=True)  # 2 of 6 deleted: above the B6 share, confirmed
    assert result.status == "succeeded" and result.rejected == {"Y6": 1, "Y10": 1}, result.rejected
    assert tk.run("leads").rejected == {"Y8": 1}
    assert org.record("Lead", leads["y8_first_name"])["FirstName"] != "A" * 41
    assert len(org.records("Contact")) == contacts_before - 1  # Y1: nothing created; Y10: one deleted
    assert _in_brevo(env, ids["y2_email_moves"])["email"] == "moved@rules.example"  # Y2/B5
    assert _in_brevo(env, ids["y6_email_removed"])["email"] == "y6_email_removed@rules.example"  # Y6
    assert {link.sf_id: link.state for link in tk.links(NAME)}[ids["y6_email_removed"]] == "suspended"
    assert (
        _in_brevo(env, ids["y7_mobile_emptied"])["attributes"]["SMS"] == sms[ids["y7_mobile_emptied"]]
    )  # Y7
    assert (
        org.record("Contact", ids["y10_deleted"])["IsDeleted"]
        and not org.record("Contact", ids["y10_with_case"])["IsDeleted"]
    )
    assert "NEWSLETTER" not in _in_brevo(env, ids["y11"])["attributes"]  # Y11
    rules = {r["rule"] for r in tk.rejections(state=RejectionState.ALL)}
    assert {"Y6", "Y8", "Y9", "Y10"} <= rules and all(
        r["reason"] for r in tk.rejections(state=RejectionState.ALL)
    )
    figures(
        "sync rules on bad records",
        "Y1, Y2/B5, Y4, Y6, Y7, Y8, Y9, Y10, Y11 (Y3, Y5 above): each as specified",
    )
