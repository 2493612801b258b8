"""The integrations page and the quota dashboard, headless, against real runs on the sandbox."""

from __future__ import annotations

import base64
import inspect
import re
from typing import Any

import pytest

import toolkit.ui
from tests.support.sync import Env, setup_integration
from toolkit.serve.poll import poll_salesforce
from toolkit.ui import IntegrationsPage, QuotaDashboard, dashboard
from toolkit.ui.common import FAIL, SUCCESS
from toolkit.ui.wizard.steps import SaveStep

LEAD_MAPPING = {"EMAIL": "Email", "FIRSTNAME": "FirstName", "LASTNAME": "LastName", "SMS": "MobilePhone"}


def first_name(env: Env, sf_id: str) -> str:
    """The Brevo contact's FIRSTNAME (the contact must exist)."""
    contact = env.brevo_contact(sf_id)
    assert contact is not None
    return str(contact["attributes"]["FIRSTNAME"])


@pytest.fixture
def synced(env_factory: Any) -> Env:
    """Contacts and Leads integrations, each run once (with records that break the rules)."""
    env = env_factory(contacts=40, leads=40, seed=31, rule_share=0.3)
    setup_integration(env.tk, "contacts")
    setup_integration(env.tk, "leads", "Lead", mapping=LEAD_MAPPING)
    for name in ("contacts", "leads"):
        assert env.tk.run(name).status == "succeeded"
    return env


def test_s8_integrations_page_shows_each_integration_and_runs_one(synced: Env) -> None:
    tk = synced.tk
    tk.create_integration("<b>draft</b>", "Lead")
    page = IntegrationsPage(tk)
    rows = {r["name"]: r for r in page.rows()}
    contacts, draft = rows["contacts"], rows["<b>draft</b>"]
    list_id = tk.store.get_integration("contacts").list_id
    assert contacts["object"] == "Contacts" and contacts["status"] == "active"
    assert contacts["list"] == f"#{list_id} Salesforce Contacts"
    assert contacts["last_run"].startswith("succeeded, ")
    assert (
        contacts["tasks_this_month"]
        == tk.store.list_runs(tk.store.get_integration("contacts").id)[0].counts["tasks"]
    )
    assert contacts["open_rejections"] == len(tk.rejections("contacts")) > 0
    assert (draft["status"], draft["list"], draft["last_run"], draft["tasks_this_month"]) == (
        "draft",
        "-",
        "never",
        0,
    )
    assert "&lt;b&gt;draft&lt;/b&gt;" in page.table.value and "<b>draft</b>" not in page.table.value
    assert set(page.choice.options) == set(rows) and page.selected == page.choice.options[0]  # never empty

    linked = tk.links("contacts")[0].sf_id
    synced.sandbox.salesforce.update_many("Contact", [{"Id": linked, "FirstName": "Zoë"}])
    page.choice.value = "contacts"
    assert page.selected == "contacts" and page.dry_run.value  # a dry run unless unticked (B1)
    page.run_button.click()
    assert page.message.level == "ok" and "would write 1 records" in page.message.text
    assert "updated in Brevo" in page.result.value and "What this dry run would do" in page.result.value
    assert first_name(synced, linked) != "Zoë"
    page.dry_run.value = False
    page.run_button.click()
    assert "succeeded: wrote 1 records" in page.message.text
    assert first_name(synced, linked) == "Zoë"
    assert {r["name"]: r for r in page.rows()}["contacts"]["tasks_this_month"] == contacts[
        "tasks_this_month"
    ] + 1

    page.deactivate_button.click()
    assert tk.store.get_integration("contacts").status == "draft" and "now draft" in page.message.text
    page.run_button.click()  # a real run of a draft is refused in words, not with a traceback
    assert page.message.level == "error" and "activate it first" in page.message.text
    page.activate_button.click()
    assert tk.store.get_integration("contacts").status == "active"
    assert "contacts" in page.table.value and ">active<" in page.table.value


def test_q1_b2_b3_dashboard_shows_usage_forecast_api_and_filters_rejections(
    synced: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    tk = synced.tk
    used = tk.quota.status().used
    tk.quota.set_limit(used * 100 // 85)  # 85% used: past the 80% mark
    board = QuotaDashboard(tk)
    assert board.status is not None
    assert board.status.used == used and board.status.state == "warning"
    assert f"<b>{used:,}</b> of <b>{used * 100 // 85:,}</b> tasks used" in board.quota_html.value
    assert ">warning<" in board.quota_html.value and "80%" in board.quota_html.value
    assert board.chart.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Forecast for the month's end" in board.forecast_html.value
    assert "contacts" in board.breakdown.value and "leads" in board.breakdown.value
    assert re.search(r"\d[\d,]* of 100,000", board.api_html.value)  # B3: the sandbox's daily allowance
    assert "Salesforce poll" not in board.api_html.value  # no toolkit serve polled this state
    poll = poll_salesforce(tk, "contacts")  # as toolkit serve does every minute
    assert (poll.calls, poll.changed) == (1, 0)
    board.refresh()
    assert re.search(r"Salesforce poll.*>contacts<.*>1<.*>1<.*>0<", board.api_html.value, re.S)
    assert all(f">{r.id}<" in board.runs_html.value for r in tk.store.list_runs())

    everything = board.rejections_frame()
    assert set(everything["integration"]) == {"contacts", "leads"}
    rules = [value for _, value in board.rule_filter.options if value]
    assert sorted(rules) == sorted(set(everything["rule"]))
    board.integration_filter.value = "leads"
    assert board.integration == "leads" and set(board.rejections_frame()["integration"]) == {"leads"}
    rule = board.rejections_frame()["rule"].iloc[0]
    board.rule_filter.value = rule
    frame = board.rejections_frame()
    assert len(frame) > 0 and set(frame["rule"]) == {rule} and set(frame["integration"]) == {"leads"}
    assert f"{len(frame):,} rejected record(s)" in board.rejections_html.value
    link = re.search(r'download="([^"]+)" href="data:text/csv;base64,([^"]+)"', board.download.value)
    assert link and link.group(1) == f"rejections-leads-{rule.lower()}-open.csv"
    csv_text = base64.b64decode(link.group(2)).decode("utf-8-sig")
    assert csv_text == board.csv_text() and len(csv_text.splitlines()) == len(frame) + 1
    assert csv_text.splitlines()[0].startswith("integration,run_id,direction,record_id")
    monkeypatch.setattr(dashboard, "CSV_INLINE_ROWS", 1)  # a big selection: the link is made on request
    board.rule_filter.value = ""
    assert board.download.value == "" and board.prepare_csv.layout.display is None
    board.prepare_csv.click()
    assert "Download these" in board.download.value and board.prepare_csv.layout.display == "none"
    board.state_filter.value = "resolved"
    assert "No rejected record matches." in board.rejections_html.value

    tk.quota.set_limit(used)  # Q3: the limit reached; the page says the integrations stopped
    board.refresh_button.click()
    assert board.status.state == "exhausted" and "integrations stopped" in board.quota_html.value
    assert "every integration is stopped" in board.forecast_html.value
    assert {i.status for i in tk.integrations()} == {"stopped"}


def test_pages_on_an_empty_state_say_so(env_factory: Any) -> None:
    env = env_factory()
    page = IntegrationsPage(env.tk)
    assert "No integration yet" in page.table.value and page.run_button.disabled
    page.run_now()
    assert "Choose an integration first" in page.message.text
    board = QuotaDashboard(env.tk)
    assert board.status is not None
    assert board.status.used == 0 and "No task used this month yet" in board.breakdown.value
    assert "No run yet" in board.runs_html.value and "No Salesforce API reading yet" in board.api_html.value
    assert "0 rejected record(s)" in board.rejections_html.value and board.message.text == ""


def test_the_integrations_page_edits_each_integrations_schedule(env_factory: Any) -> None:
    env = env_factory(contacts=10, seed=3)
    tk = env.tk
    setup_integration(tk, "contacts")
    tk.create_integration("draft", "Lead")
    page = IntegrationsPage(tk)
    assert {r["name"]: r["schedule"] for r in page.rows()} == {
        "contacts": "every 15 minutes",
        "draft": "every 15 minutes",
    }
    page.choice.value = "contacts"
    assert page.schedule.value == "every 15 minutes" and not page.schedule.disabled

    page.schedule.value = "every now and then"  # refused, in words, next to the field
    page.schedule_button.click()
    assert page.schedule_message.level == "error" and "write an interval" in page.schedule_message.text
    assert tk.store.get_integration("contacts").schedule == "every 15 minutes"
    page.schedule.value = "1s"
    page.schedule_button.click()
    assert "5 seconds or more" in page.schedule_message.text

    page.schedule.value = "  0 6 * * MON-FRI "  # a cron expression, kept in its canonical form
    page.schedule_button.click()
    assert page.schedule_message.level == "ok" and "runs 0 6 * * mon-fri" in page.schedule_message.text
    assert tk.store.get_integration("contacts").schedule == "0 6 * * mon-fri"
    assert page.schedule.value == "0 6 * * mon-fri" and ">0 6 * * mon-fri<" in page.table.value
    page.schedule.value = "2h"
    page.schedule_button.click()
    assert tk.store.get_integration("contacts").schedule == "every 2 hours" == page.schedule.value

    page.choice.value = "draft"  # the field follows the drop-down
    assert page.schedule.value == "every 15 minutes" and page.schedule_message.text == ""
    page.choice.value = "contacts"
    assert page.schedule.value == "every 2 hours"


def test_the_wizards_save_step_takes_a_checked_schedule(env_factory: Any) -> None:
    env = env_factory(contacts=10, seed=3)
    tk = env.tk
    setup_integration(tk, "contacts")
    tk.deactivate("contacts")
    step = SaveStep(tk)
    step.integration = "contacts"
    step.enter()
    assert step.schedule.value == "every 15 minutes"  # the default, as the draft has it
    assert "every 15 minutes" in step.summary.value and step.schedule_message.text == ""

    step.schedule.value = "every blue moon"  # checked as it is typed, the error next to it
    assert step.schedule_message.level == "error" and "write an interval" in step.schedule_message.text
    step.activate.click()
    assert step.state == FAIL and "Correct the schedule" in step.message.text
    assert tk.store.get_integration("contacts").status == "draft"

    step.schedule.value = "30 7 * * *"
    assert step.schedule_message.text == ""
    step.activate.click()
    assert step.state == SUCCESS, step.message.text
    integ = tk.store.get_integration("contacts")
    assert (integ.status, integ.schedule) == ("active", "30 7 * * *")
    assert "30 7 * * *" in step.summary.value


def test_ui_exports_are_sorted_and_documented() -> None:
    assert toolkit.ui.__all__ == sorted(toolkit.ui.__all__)
    for name in toolkit.ui.__all__:
        item = getattr(toolkit.ui, name)
        assert not inspect.isclass(item) or inspect.getdoc(item), name
