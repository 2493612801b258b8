"""Per-run audit reports (SPEC A2, A3): CSV for analysts, escaped HTML for stakeholders.

The A2/A3 tests run real syncs against the sandbox over HTTPS (tests/support/sync.py); the
others build the state by hand.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from tests.support.sync import Env, setup_integration
from toolkit import audit
from toolkit.audit.meanings import describe_rule
from toolkit.audit.reports import CSV_COLUMNS, csv_cell, render_html, run_summary, write_run_report
from toolkit.exceptions import ConfigError
from toolkit.store import Direction, Rejection, RunStatus, Store
from toolkit.store.reporting import REDACTED, is_secret_name

ROOT = Path(__file__).resolve().parents[2]
SCRIPT_NAME = "<script>alert('x')</script> Anna-Lena Marie"  # over 40 characters: Y8
FORMULA = '=HYPERLINK("http://x.example","go")'  # fits a 40-character phone field


class _Tags(HTMLParser):
    """Collects the start tags and the text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_a2_report_csv_and_html_escape_markup(env_factory: Any, tmp_path: Path) -> None:
    env: Env = env_factory(leads=20, seed=5)
    setup_integration(env.tk, "leads", "Lead")
    assert env.tk.run("leads").ok
    named = sorted(link.sf_id for link in env.tk.links("leads"))[0]
    env.tk.brevo().update_contact(named, identifier_type="ext_id", attributes={"FIRSTNAME": SCRIPT_NAME})
    base = {"Company": "Formula GmbH", "LastName": "Formel", "Country": "Germany"}
    created = env.sandbox.salesforce.create_many(
        "Lead",
        [
            {**base, "Email": "formula@example.org", "MobilePhone": FORMULA},
            {**base, "Email": "plus@example.org", "MobilePhone": "+1 2"},
            {**base, "Email": "minus@example.org", "MobilePhone": "-12"},
        ],
    )
    assert all(r["success"] for r in created), created
    result = env.tk.run("leads")
    assert result.ok and result.rejected == {"Y8": 1, "Y9": 3}
    paths = write_run_report(env.tk.store, result.run_id, tmp_path / "reports")
    assert paths.csv.name == f"audit-leads-run-{result.run_id}.csv" and paths.html.suffix == ".html"

    rows = _csv_rows(paths.csv)
    assert list(rows[0]) == list(CSV_COLUMNS) and len(rows) == 4
    by_id = {r["record_id"]: r for r in rows}
    formula = by_id[created[0]["id"]]
    assert formula["value"] == "'" + FORMULA and formula["rule"] == "Y9"
    assert by_id[created[1]["id"]]["value"] == "'+1 2" and by_id[created[2]["id"]]["value"] == "'-12"
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values())
    assert by_id[named]["value"] == SCRIPT_NAME and by_id[named]["rule"] == "Y8"
    assert all(r["in_this_run"] == "rejected" and r["run_id"] == str(result.run_id) for r in rows)
    assert by_id[named]["rule_meaning"] == describe_rule("Y8") and by_id[named]["reason"]

    page = paths.html.read_text(encoding="utf-8")
    parsed = _Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags  # the name is text, not markup
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Anna-Lena Marie" in page
    assert SCRIPT_NAME in "".join(parsed.text)  # and reads as the name
    assert escape(FORMULA) in page
    for external in ("src=", "<link", "@import", "url("):
        assert external not in page  # self-contained: no external asset
    # The only links are the records' own, in Salesforce and Brevo (A1, issue 15), opened apart.
    for anchor in re.findall(r"<a [^>]*>", page):
        assert re.search(r'href="https://[^"]+"', anchor) and 'target="_blank"' in anchor
    # Grouped by rule, with counts and the rule's plain meaning, then the records.
    assert page.index(">Y9<") < page.index(">Y8<")  # the larger group first
    assert escape(describe_rule("Y9")) in page and escape(describe_rule("Y8")) in page
    assert '<td class="num">3</td>' in page and '<td class="num">1</td>' in page
    assert "No earlier rejection was resolved in this run." in page
    summary = run_summary(env.tk.store, result.run_id)
    assert (summary["rejected"], summary["rejected_by_rule"], summary["resolved"]) == (
        4,
        {"Y8": 1, "Y9": 3},
        0,
    )
    assert (summary["integration"], summary["status"], summary["tasks"]) == (
        "leads",
        "succeeded",
        result.tasks,
    )
    assert summary["sf_api_used"] and summary["sf_api_limit"]


def test_a3_fixed_record_is_written_next_run_and_shown_resolved(env_factory: Any, tmp_path: Path) -> None:
    env: Env = env_factory(contacts=20, seed=5)
    setup_integration(env.tk)
    assert env.tk.run("contacts").ok
    sf_id = sorted(link.sf_id for link in env.tk.links("contacts"))[0]
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", attributes={"LASTNAME": ""})
    rejected = env.tk.run("contacts")
    assert rejected.ok and rejected.rejected == {"Y5": 1}
    again = env.tk.run("contacts", full=True)  # unchanged: still rejected, not reported again
    assert again.ok and not again.rejected
    env.tk.brevo().update_contact(sf_id, identifier_type="ext_id", attributes={"LASTNAME": "Fixed-Again"})
    fixed = env.tk.run("contacts")
    assert fixed.ok and fixed.counts["to_salesforce.update"] == 1 and not fixed.rejected
    assert env.sandbox.salesforce.get("Contact", sf_id)["LastName"] == "Fixed-Again"  # type: ignore[index]

    [row] = audit.rejections(env.tk.store, rule="Y5").to_dict("records")
    assert (row["record_id"], row["state"], row["run_id"], row["resolved_run_id"]) == (
        sf_id,
        "resolved",
        rejected.run_id,
        fixed.run_id,
    )
    assert row["first_seen"] <= row["last_seen"] <= row["resolved_at"]

    before = write_run_report(env.tk.store, rejected.run_id, tmp_path)
    after = write_run_report(env.tk.store, fixed.run_id, tmp_path)
    assert [(r["in_this_run"], r["record_id"], r["rule"]) for r in _csv_rows(before.csv)] == [
        ("rejected", sf_id, "Y5")
    ]
    [resolved] = _csv_rows(after.csv)
    assert (resolved["in_this_run"], resolved["record_id"], resolved["resolved_run_id"]) == (
        "resolved",
        sf_id,
        str(fixed.run_id),
    )
    assert resolved["resolved_at"]
    page = after.html.read_text(encoding="utf-8")
    head, _, tail = page.partition("<h2>Resolved in this run</h2>")
    assert sf_id not in head and "No record was rejected in this run." in head
    assert sf_id in tail and ">Y5<" in tail
    summary = run_summary(env.tk.store, fixed.run_id)
    assert (summary["rejected"], summary["resolved"], summary["resolved_by_rule"]) == (0, 1, {"Y5": 1})
    assert run_summary(env.tk.store, again.run_id)["rejected"] == 0
    assert audit.rejections(env.tk.store, resolved_in=fixed.run_id)["record_id"].tolist() == [sf_id]


# -- without a sandbox ----------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cell_neutralises_every_formula_start(start: str) -> None:
    assert csv_cell(f"{start}1+1") == f"'{start}1+1"


def test_csv_cell_keeps_plain_values() -> None:
    assert [csv_cell(v) for v in ("Zoë", "a=b", "", None, True, 7)] == ["Zoë", "a=b", "", "", "yes", "7"]


def _to_brevo(iid: int, record: str, rule: str, field: str, value: str | None, reason: str) -> Rejection:
    """A rejection of a record on its way to Brevo."""
    return Rejection(record, rule, field, value, reason, integration_id=iid, direction=Direction.TO_BREVO)


def _hand_made(location: Path | str) -> tuple[Store, int]:
    store = Store.open(location)  # a SQLite directory or a PostgreSQL URL (state_location)
    iid = store.create_integration("news & <letters>", "Contact").id
    run = store.start_run(iid).id
    store.upsert_rejections(
        [
            Rejection(
                f"003{n}",
                "Y5",
                "LastName",
                None,
                "Last name is empty in Brevo.",
                integration_id=iid,
                direction=Direction.TO_SALESFORCE,
            )
            for n in range(3)
        ]
        + [_to_brevo(iid, "003X", "Y6", "Email", None, "No e-mail.")],
        run_id=run,
    )
    store.finish_run(
        run,
        RunStatus.SUCCEEDED,
        counts={"counts": {"to_brevo.create": 5}, "rejected": {"Y5": 3, "Y6": 1}, "tasks": 5},
        sf_api_used=1234,
        sf_api_limit=15000,
    )
    return store, run


def test_html_groups_by_rule_with_counts_and_caps_the_records_listed(
    state_location: Path | str, tmp_path: Path
) -> None:
    store, run = _hand_made(state_location)
    summary = run_summary(store, run)
    assert summary["rejected_by_rule"] == {"Y5": 3, "Y6": 1} and summary["tasks"] == 5
    assert summary["counts"] == {"to_brevo.create": 5} and summary["still_open"] == 0
    page = render_html(summary, store.report_rejections(run_id=run), [], rows_per_rule=2)
    assert "news &amp; &lt;letters&gt;" in page and "<letters>" not in page
    assert "… and 1 more: see the CSV report." in page
    assert page.count('<td class="mono">003') == 3  # two of Y5, the one of Y6
    assert "1,234" in page and "15,000" in page
    paths = write_run_report(store, run, tmp_path / "r")
    assert paths.html.name == f"audit-news-letters-run-{run}.html"
    assert len(_csv_rows(paths.csv)) == 4  # the CSV lists them all
    store.close()


def test_summary_counts_what_is_still_open_from_earlier_runs(state_location: Path | str) -> None:
    store, first = _hand_made(state_location)
    iid = store.get_run(first).integration_id
    second = store.start_run(iid).id
    store.upsert_rejections(
        [
            _to_brevo(iid, "003N", "Y9", "Phone", "112", "Phone has 3 digits."),
            _to_brevo(iid, "003X", "Y6", "Email", None, "No e-mail."),
        ],
        run_id=second,
    )
    store.resolve_rejections(iid, Direction.TO_SALESFORCE, ["0030"], run_id=second)
    later = run_summary(store, second)
    assert (later["rejected_by_rule"], later["resolved_by_rule"]) == ({"Y6": 1, "Y9": 1}, {"Y5": 1})
    assert later["still_open"] == 2  # 0031 and 0032 (Y5); 003X was seen again by this run
    assert run_summary(store, first)["still_open"] == 0  # nothing was recorded before the first run
    store.close()


def test_a_report_of_an_unknown_run_is_refused(state_location: Path | str, tmp_path: Path) -> None:
    store, run = _hand_made(state_location)
    with pytest.raises(ConfigError, match="no run"):
        write_run_report(store, run + 1, tmp_path)
    with pytest.raises(ConfigError, match="no run"):
        run_summary(store, run + 1)
    store.close()


def test_the_template_ships_as_package_data() -> None:
    assert resources.files("toolkit.audit").joinpath("templates", "audit_report.html.j2").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "audit/templates/*.j2" in config["tool"]["setuptools"]["package-data"]["toolkit"]
    dependencies = " ".join(config["project"]["dependencies"])
    assert "pandas>=" in dependencies and "jinja2>=" in dependencies


def test_secret_like_fields_are_redacted(state_location: Path | str, tmp_path: Path) -> None:
    for name in (
        "Password__c",
        "API_TOKEN",
        "client-secret",
        "SSN__c",
        "Bank_IBAN__c",
        "Email,Api_Key__c",
        "Social_Security_Number__c",
        "credit.card.number",
    ):
        assert is_secret_name(name), name
    for plain in ("FirstName", "Email", "MobilePhone", "Birthdate", "", None):
        assert not is_secret_name(plain), plain
    store = Store.open(state_location)
    iid = store.create_integration("contacts", "Contact").id
    store.update_integration(
        "contacts", mapping={"pairs": [["EMAIL", "Email"], ["API_TOKEN", "Description"]]}
    )
    run = store.start_run(iid).id
    store.upsert_rejections(
        [
            Rejection(
                "003A",
                "SF:STRING_TOO_LONG",
                "Password__c",
                "hunter2-secret",
                "Too long: hunter2-secret.",
                integration_id=iid,
                direction=Direction.TO_SALESFORCE,
                service_code="STRING_TOO_LONG",
                service_message="value hunter2-secret too long",
            ),
            # Description is a harmless name, but the Brevo attribute mapped to it is API_TOKEN.
            Rejection(
                "003B",
                "VALUE_INVALID",
                "Description",
                "tok-987654",
                "Not text.",
                integration_id=iid,
                direction=Direction.TO_SALESFORCE,
            ),
            _to_brevo(iid, "003C", "EMAIL_INVALID", "Email", "not-an-address", "Not an address."),
        ],
        run_id=run,
    )
    df = audit.rejections(store).set_index("record_id")
    assert df.loc["003A", "value"] == REDACTED == df.loc["003B", "value"]
    assert "hunter2" not in str(df.loc["003A", "reason"]) + str(df.loc["003A", "service_message"])
    assert df.loc["003C", "value"] == "not-an-address"
    paths = write_run_report(store, run, tmp_path / "out")
    for path in (paths.csv, paths.html):
        text = path.read_text(encoding="utf-8-sig")
        assert "hunter2" not in text and "tok-987654" not in text and REDACTED in text
        assert "not-an-address" in text
    store.close()
