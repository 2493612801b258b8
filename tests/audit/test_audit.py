"""The audit API (SPEC A1, A3, B3): every rejection recorded with its rule and reason, filterable
as a DataFrame; permanent refusals not retried; Salesforce API usage kept per run.

The sync tests run real syncs against the sandbox over HTTPS (tests/support/sync.py) on
generated data, a share of which breaks the SPEC's rules; the generator says which record
breaks which rule, and the audit must name exactly those records.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from tests.support.sync import MAPPING, Env, setup_integration
from toolkit import audit
from toolkit.audit.meanings import RULES
from toolkit.exceptions import ConfigError
from toolkit.rules.base import (
    RULE_B4,
    RULE_EMAIL_INVALID,
    RULE_PHONE_INVALID,
    RULE_VALUE_INVALID,
    RULE_Y3,
    RULE_Y5,
    RULE_Y6,
    RULE_Y8,
    RULE_Y9,
)
from toolkit.sandbox.datagen import generate
from toolkit.store import Direction, Rejection, Store

CONTACTS, LEADS, SEED, SHARE = 120, 120, 23, 0.25
LEAD_MAPPING = {**MAPPING, "LANDLINE": "Phone", "BIRTHDATE": "Birthdate__c"}
CONTACT_MAPPING = {**MAPPING, "BIRTHDATE": "Birthdate"}
A1 = (
    "integration",
    "run_id",
    "direction",
    "record_id",
    "field",
    "value",
    "rule",
    "reason",
    "service_code",
    "service_message",
    "first_seen",
    "last_seen",
    "resolved_at",
)


def _recreate_as_text(env: Env, attribute: str) -> None:
    """Brevo cannot change an attribute's type: delete it and create a text one of the same name.

    Only then can a date that is not YYYY-MM-DD be stored in Brevo and reach the sync (Y3).
    """
    info = env.sandbox.info["brevo"]
    with requests.Session() as session:
        session.trust_env = False
        session.verify = info["ca_bundle"]
        session.headers["api-key"] = info["api_key"]
        answer = session.delete(f"{info['base_url']}/contacts/attributes/normal/{attribute}")
    assert answer.status_code == 204
    env.tk.brevo().create_attribute("normal", attribute, "text")


def _generated(
    env: Env,
) -> tuple[dict[tuple[str, str], set[str]], list[tuple[str, str, str, dict[str, Any]]]]:
    """What the generator made: (integration, rule) -> Salesforce Ids breaking it, from the
    Salesforce data; and the Brevo edits that break Y3/Y5/Y8 as (integration, rule, Id, attributes)."""
    data = generate(contacts=CONTACTS, leads=LEADS, seed=SEED, rule_share=SHARE)
    ids = {
        "contacts": [r["Id"] for r in env.sandbox.salesforce.records("Contact")],
        "leads": [r["Id"] for r in env.sandbox.salesforce.records("Lead")],
    }
    expected: dict[tuple[str, str], set[str]] = {}
    for name, records in (("contacts", data.contacts), ("leads", data.leads)):
        # created in generation order; Leads converted into new Contacts add those after them
        assert len(records) == len(ids[name]) if name == "leads" else len(records) <= len(ids[name])
        for index, record in enumerate(records):
            for rule in record.breaks:
                expected.setdefault((name, rule), set()).add(ids[name][index])
    edits = [
        ("contacts", e["breaks"][0], ids["contacts"][e["contact_index"]], e["attributes"])
        if "contact_index" in e
        else ("leads", e["breaks"][0], ids["leads"][e["lead_index"]], e["attributes"])
        for e in data.brevo_edits
    ]
    return expected, edits


def test_a1_each_rule_rejection_is_recorded_with_rule_and_reason(env_factory: Any) -> None:
    env: Env = env_factory(contacts=CONTACTS, leads=LEADS, seed=SEED, rule_share=SHARE)
    brevo = env.tk.brevo()
    brevo.create_attribute("normal", "BIRTHDATE", "date")
    brevo.create_attribute("normal", "LANDLINE", "text")
    setup_integration(env.tk, "contacts", "Contact", mapping=CONTACT_MAPPING)
    setup_integration(env.tk, "leads", "Lead", mapping=LEAD_MAPPING)
    first = {name: env.tk.run(name) for name in ("contacts", "leads")}  # Y6, Y9: never sent to Brevo
    assert all(r.ok for r in first.values()), {n: r.message for n, r in first.items()}
    expected, edits = _generated(env)
    linked = {name: {link.sf_id for link in env.tk.links(name)} for name in ("contacts", "leads")}
    # Salesforce refuses an update: the record was deleted and purged from the Recycle Bin
    # (16 days later), which no incremental read reports.
    clean = sorted(
        linked["contacts"] - set().union(*(v for (n, _), v in expected.items() if n == "contacts"))
    )
    gone = clean[0]
    assert env.sandbox.salesforce.delete_many([gone])[0]["success"]
    env.sandbox.clock.advance(timedelta(days=16))
    _recreate_as_text(env, "BIRTHDATE")
    env.sandbox.clock.advance(timedelta(minutes=1))
    brevo.update_contact(gone, identifier_type="ext_id", attributes={"FIRSTNAME": "Ghost"})
    # The generator's Brevo-side edits that break Y3, Y5 and Y8.
    edited: dict[tuple[str, str], set[str]] = {}
    for name, rule, sf_id, attributes in edits:
        if sf_id in linked[name]:
            brevo.update_contact(sf_id, identifier_type="ext_id", attributes=attributes)
            edited.setdefault((name, rule), set()).add(sf_id)
    # Y10: a contact with a Case deleted in Brevo. Brevo refuses an import: the new record's
    # e-mail belongs to a contact linked to another Salesforce Id.
    kept = sorted(expected[("contacts", "Y10")] & linked["contacts"])[0]
    assert brevo.delete_contact(kept, "ext_id")
    taken = "taken.address@audit.example"
    brevo.create_contact(email=taken, ext_id="003000000000TAKEN", attributes={"LASTNAME": "Other"})
    [created] = env.sandbox.salesforce.create_many("Contact", [{"LastName": "Refused", "Email": taken}])
    second = {name: env.tk.run(name, full=True) for name in ("contacts", "leads")}
    assert all(r.ok for r in second.values()), {n: r.message for n, r in second.items()}

    df = audit.rejections(env.tk.store)
    assert list(df.columns[: len(A1)]) == list(A1)
    assert df["reason"].str.len().min() > 20 and df["first_seen"].notna().all()

    def ids_of(name: str, rule: str) -> set[str]:
        return set(audit.rejections(env.tk.store, integration=name, rule=rule)["record_id"])

    for name in ("contacts", "leads"):
        assert (
            expected[(name, "Y6")] and ids_of(name, RULE_Y6) == expected[(name, "Y6")]
        )  # initial load: no e-mail
        for rule in (RULE_Y3, RULE_Y5):
            assert edited[(name, rule)] and ids_of(name, rule) == edited[(name, rule)]
    assert expected[("leads", "Y9")] and ids_of("leads", RULE_Y9) == expected[("leads", "Y9")]
    assert edited[("leads", "Y8")] and ids_of("leads", RULE_Y8) == edited[("leads", "Y8")]
    assert ids_of("contacts", "Y10") == {kept}
    assert ids_of("contacts", "BREVO:") == {created["id"]}
    assert ids_of("contacts", "SF:") == {gone}
    # Each row names its run, direction, field and the service's own words where a service refused.
    runs = {name: (first[name].run_id, second[name].run_id) for name in first}
    for row in df.to_dict("records"):
        assert row["run_id"] in runs[row["integration"]]
        assert row["direction"] == (
            "to_brevo"
            if row["rule"] in ("Y6", "Y9", "D1", "PHONE_INVALID") or row["rule"].startswith("BREVO:")
            else "to_salesforce"
        ), row
        assert row["state"] == "open" and pd.isna(row["resolved_at"])
    y10 = audit.rejections(env.tk.store, rule="Y10").iloc[0]
    assert (y10["service_code"], y10["permanent"], y10["run_id"]) == (
        "DELETE_FAILED",
        True,
        second["contacts"].run_id,
    )
    assert y10["service_message"] and "Case" in y10["reason"]
    sf = audit.rejections(env.tk.store, rule="SF:").iloc[0]
    assert (
        sf["rule"] == f"SF:{sf['service_code']}"
        and sf["service_message"]
        and sf["direction"] == "to_salesforce"
    )
    refused = audit.rejections(env.tk.store, rule="BREVO:").iloc[0]
    assert refused["rule"] == "BREVO:duplicate_ext_id" and refused["service_code"] == "duplicate_ext_id"
    assert refused["service_message"]
    y3 = audit.rejections(env.tk.store, integration="contacts", rule="Y3").iloc[0]
    assert y3["field"] == "Birthdate" and y3["value"] and "YYYY-MM-DD" in y3["reason"]
    y8 = audit.rejections(env.tk.store, rule="Y8").iloc[0]
    assert len(y8["value"]) > 40 and y8["field"] == "FirstName"
    # Filters combine; every rule seen has a plain description.
    to_sf = audit.rejections(env.tk.store, direction="to_salesforce", integration="leads")
    assert set(to_sf["rule"]) == {"Y3", "Y5", "Y8"}
    assert audit.rejections(env.tk.store, run=first["leads"].run_id)["rule"].isin(["Y6", "Y9"]).all()
    assert audit.rejections(env.tk.store, state="resolved").empty
    described = audit.rule_descriptions(df["rule"])
    assert all(len(described[rule]) > 30 for rule in df["rule"])


def _refused_delete(env_factory: Any) -> tuple[Env, str, int]:
    """A Contact with a Case, deleted in Brevo: Salesforce refuses the delete (Y10)."""
    env: Env = env_factory(contacts=60, seed=7)
    setup_integration(env.tk)
    assert env.tk.run("contacts").ok
    with_case = {c["ContactId"] for c in env.sandbox.salesforce.records("Case")}
    kept = sorted(with_case & {link.sf_id for link in env.tk.links("contacts")})[0]
    assert env.tk.brevo().delete_contact(kept, "ext_id")
    refused = env.tk.run("contacts", full=True)
    assert refused.ok and refused.rejected == {"Y10": 1}
    return env, kept, refused.run_id


def test_a3_permanent_rejection_is_not_retried_until_its_data_changes(env_factory: Any) -> None:
    """Y10: Salesforce refuses to delete a Contact with a Case. The refusal is recorded once as
    permanent; later runs do not try the delete again, until the record changes in Salesforce:
    then it is synced back to Brevo, and a new deletion there is tried (and refused) again."""
    env, kept, refused_run = _refused_delete(env_factory)
    deletes = env.sf_calls("DELETE")
    for _ in range(2):
        again = env.tk.run("contacts", full=True)
        assert again.ok and not again.rejected and again.tasks == 0
    assert env.sf_calls("DELETE") == deletes  # not retried
    [row] = audit.rejections(env.tk.store, rule="Y10").to_dict("records")
    assert (row["record_id"], row["permanent"], row["seen_count"], row["run_id"]) == (
        kept,
        True,
        1,
        refused_run,
    )
    assert row["state"] == "open"
    # The data changes in Salesforce: the record is written to Brevo again...
    [ok] = env.sandbox.salesforce.update_many("Contact", [{"Id": kept, "FirstName": "Changed"}])
    assert ok["success"]
    back = env.tk.run("contacts")
    assert back.ok and back.counts.get("to_brevo.create") == 1
    assert env.brevo_contact(kept)["attributes"]["FIRSTNAME"] == "Changed"  # type: ignore[index]
    # ...and a new deletion in Brevo is tried once more, refused once more.
    assert env.tk.brevo().delete_contact(kept, "ext_id")
    retried = env.tk.run("contacts", full=True)
    assert retried.ok and retried.rejected == {"Y10": 1}
    assert env.sf_calls("DELETE") == deletes + 1
    [row] = audit.rejections(env.tk.store, rule="Y10").to_dict("records")
    assert (row["seen_count"], row["run_id"], row["first_run_id"]) == (2, retried.run_id, refused_run)


def test_a3_y10_rejection_is_resolved_once_the_record_is_synced_back(env_factory: Any) -> None:
    env, kept, _ = _refused_delete(env_factory)
    [ok] = env.sandbox.salesforce.update_many("Contact", [{"Id": kept, "FirstName": "Changed"}])
    assert ok["success"]
    back = env.tk.run("contacts")
    assert back.ok and back.counts.get("to_brevo.create") == 1
    [row] = audit.rejections(env.tk.store, rule="Y10").to_dict("records")
    assert (row["state"], row["resolved_run_id"]) == ("resolved", back.run_id)


def test_b3_api_usage_kept_per_run(env_factory: Any) -> None:
    env: Env = env_factory(contacts=30, leads=10, seed=3)
    org = env.sandbox.salesforce
    org.allowance.set(used=1200, limit=5000)
    setup_integration(env.tk, "contacts", "Contact")
    setup_integration(env.tk, "leads", "Lead")
    seen: list[tuple[int, int, int]] = []  # (run, usage after it, requests it made)
    for name in ("contacts", "leads", "contacts"):
        calls = env.sf_calls()
        result = env.tk.run(name)
        assert result.ok
        seen.append((result.run_id, org.api_usage[0], env.sf_calls() - calls))
    usage = audit.api_usage(env.tk.store)
    assert list(usage.columns) == list(audit.API_USAGE_COLUMNS)
    assert list(usage["run_id"]) == [run for run, _, _ in seen]  # oldest first
    assert list(usage["sf_api_used"]) == [used for _, used, _ in seen]
    assert set(usage["sf_api_limit"]) == {5000} and usage["org"].nunique() == 1
    assert list(usage["sf_api_left"]) == [5000 - used for _, used, _ in seen]
    assert usage["sf_api_share"].tolist() == pytest.approx([used / 5000 for _, used, _ in seen])
    # The growth between runs on one org is the later run's calls (nothing else used the API).
    assert pd.isna(usage["calls_since_previous_run"].iloc[0])
    assert list(usage["calls_since_previous_run"].iloc[1:]) == [n for _, _, n in seen[1:]]
    assert all(n > 0 for _, _, n in seen)
    only = audit.api_usage(env.tk.store, integration="contacts")
    assert list(only["run_id"]) == [seen[0][0], seen[2][0]]
    assert only["calls_since_previous_run"].iloc[1] == seen[2][2]  # still against the leads run before it
    runs = audit.runs(env.tk.store)
    assert list(runs["run_id"]) == [run for run, _, _ in reversed(seen)]  # newest first
    assert list(runs["sf_api_used"]) == [used for _, used, _ in reversed(seen)]
    first = runs[runs["run_id"] == seen[0][0]].iloc[0]
    assert (first["integration"], first["tasks"], first["created"]) == ("contacts", 30, 30)


# -- the queries on a hand-made state database (no service involved) ---------------------------------


def _store(location: Path | str) -> tuple[Store, dict[str, int]]:
    store = Store.open(location)  # a SQLite directory or a PostgreSQL URL (state_location)
    return store, {
        name: store.create_integration(name, obj).id
        for name, obj in (("contacts", "Contact"), ("leads", "Lead"))
    }


def _reject(store: Store, iid: int, run: int, *rows: tuple[str, str, str, str, str | None]) -> None:
    store.upsert_rejections(
        [
            Rejection(
                record,
                rule,
                field,
                value,
                f"Refused by {rule} for a plain reason.",
                integration_id=iid,
                direction=Direction(direction),
            )
            for direction, record, rule, field, value in rows
        ],
        run_id=run,
    )


def test_rejections_filter_by_integration_rule_direction_state_and_run(state_location: Path | str) -> None:
    store, ids = _store(state_location)
    one = store.start_run(ids["contacts"]).id
    _reject(
        store,
        ids["contacts"],
        one,
        ("to_brevo", "003A", "Y6", "Email", None),
        ("to_salesforce", "003B", "SF:STRING_TOO_LONG", "LastName", "x" * 90),
        ("to_brevo", "003C", "BREVO:invalid_emails", "", None),
    )
    two = store.start_run(ids["leads"]).id
    _reject(
        store,
        ids["leads"],
        two,
        ("to_salesforce", "00QA", "Y5", "LastName", None),
        ("to_salesforce", "00QB", "Y8", "FirstName", "A" * 41),
    )
    three = store.start_run(ids["leads"]).id
    assert store.resolve_rejections(ids["leads"], Direction.TO_SALESFORCE, ["00QA"], run_id=three) == 1

    def records(**where: Any) -> list[str]:
        return sorted(audit.rejections(store, **where)["record_id"])

    assert records() == ["003A", "003B", "003C", "00QA", "00QB"]
    assert records(integration="contacts") == records(integration=ids["contacts"]) == ["003A", "003B", "003C"]
    assert records(rule="SF:") == ["003B"] and records(rule="BREVO:") == ["003C"]
    assert records(rule=["Y5", "SF:", "Y6"]) == ["003A", "003B", "00QA"]
    assert records(rule="SF") == []  # a family needs its colon; "SF" is no rule id
    assert records(direction="to_salesforce", integration="leads") == ["00QA", "00QB"]
    assert records(state="open") == ["003A", "003B", "003C", "00QB"]
    assert records(state="resolved") == records(resolved_in=three) == ["00QA"]
    assert records(run=two) == ["00QA", "00QB"] and records(run=three) == []
    assert len(audit.rejections(store, limit=2)) == 2
    resolved = audit.rejections(store, state="resolved").iloc[0]
    assert resolved["state"] == "resolved" and resolved["resolved_at"] >= resolved["first_seen"]
    assert str(resolved["first_seen"].tz) == "UTC"
    assert records(since=resolved["first_seen"].to_pydatetime() + timedelta(days=1)) == []
    with pytest.raises(ValueError, match="state"):
        audit.rejections(store, state="closed")
    with pytest.raises(ValueError, match="direction"):
        audit.rejections(store, direction="sideways")
    with pytest.raises(ConfigError, match="no integration"):
        audit.rejections(store, integration="nope")
    store.close()


def test_every_rule_id_has_a_plain_description() -> None:
    for rule in (
        RULE_Y3,
        RULE_Y5,
        RULE_Y6,
        RULE_Y8,
        RULE_Y9,
        "Y10",
        RULE_B4,
        RULE_EMAIL_INVALID,
        RULE_PHONE_INVALID,
        RULE_VALUE_INVALID,
    ):
        assert rule in RULES and audit.describe_rule(rule) == RULES[rule][1]
        assert audit.rule_title(rule) != rule
    assert set(audit.rule_descriptions()) >= {f"Y{n}" for n in range(1, 12)}
    assert "longer than the Salesforce field" in audit.describe_rule("SF:STRING_TOO_LONG")
    unknown = audit.describe_rule("SF:SOMETHING_NEW")
    assert unknown.startswith("Salesforce refused") and "SOMETHING_NEW" in unknown
    assert audit.describe_rule("BREVO:invalid_emails").startswith("Brevo refused")
    assert audit.rule_title("BREVO:duplicate_ext_id") == "Brevo: linked to another record"
    assert "X42" in audit.describe_rule("X42")
    assert audit.rule_descriptions(["SF:DELETE_FAILED"])["SF:DELETE_FAILED"].endswith("(DELETE_FAILED).")
