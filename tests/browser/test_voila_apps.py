"""The Voilà apps in Debian's Chromium, as a person uses them (issue 5).

One walk through the setup wizard (logged in to Voilà with the apps token), including the
sandbox's Salesforce login page in its own tab (the loopback redirect completes the step), the
schedule on the save step, a screenshot per step (into ``docs/screenshots/`` with TOOLKIT_UPDATE_SCREENSHOTS=1);
then the integrations page runs the new integration for real, and the quota dashboard shows it
and its tasks. Last, deletions held by the mass-delete guard (B6) show on the integrations page
with their Confirm button, which carries them out.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import ROOT, Served, open_login_tab
from tests.support.sync import setup_integration

# The README's screenshots are refreshed with TOOLKIT_UPDATE_SCREENSHOTS=1; otherwise a run of the
# suite keeps its screenshots apart, so that `make test` leaves the working tree unchanged.
SHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("TOOLKIT_UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "toolkit-browser-screenshots"
)
NAME = "browser-newsletter"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def button(page: Any, name: str) -> Any:
    return page.get_by_role("button", name=re.compile(rf"^\W*{re.escape(name)}$"))  # icons come first


def next_step(page: Any, title: str) -> None:
    button(page, "Next").click()
    expect(page.locator(".toolkit-wizard h3")).to_have_text(title)


def test_the_wizard_then_the_integrations_page_and_the_dashboard(page: Any, served: Served) -> None:
    sf = served.sandbox.info["salesforce"]
    page.goto(served.app("setup_wizard.ipynb"))
    wizard = page.locator(".toolkit-wizard")
    expect(wizard).to_be_visible(timeout=60_000)
    message = page.locator(".toolkit-step .toolkit-message")

    # 1. Name (S1): Next stays disabled until the draft exists.
    expect(button(page, "Next")).to_be_disabled()
    page.get_by_label("Integration name").fill(NAME)
    button(page, "Create integration").click()
    expect(message).to_contain_text(f"Created the draft integration “{NAME}”")
    shot(page, "wizard-1-name")

    # 2. Connect (S2): Salesforce's own login page in a new tab, back through the loopback redirect.
    next_step(page, "Connect Salesforce")
    expect(page.get_by_label("Login URL")).to_have_value(sf["login_url"])
    expect(page.get_by_label("Client ID")).to_have_value(sf["client_id"])
    button(page, "Connect account").click()
    link = page.get_by_role("link", name="Open the Salesforce login page")
    expect(link).to_be_visible()
    shot(page, "wizard-2-connect")
    login = open_login_tab(page, link, sf)
    login.screenshot(path=str(SHOTS / "wizard-2b-salesforce-login.png"))
    login.locator("#Login").click()
    expect(login.locator("body")).to_contain_text("Signed in", timeout=30_000)
    login.close()
    expect(message).to_contain_text(f"Connected to Salesforce as {sf['username']}", timeout=30_000)
    shot(page, "wizard-2c-connected")

    # 3. Opt-in (S4).
    next_step(page, "Opt-in")
    expect(button(page, "Next")).to_be_disabled()
    page.get_by_label(re.compile("opt-in agreement")).check()
    expect(message).to_contain_text("Opt-in agreement accepted.")
    shot(page, "wizard-3-opt-in")

    # 4. Mapping (S5/S6): a drop-down per Brevo attribute, EMAIL proposed from Email.
    button(page, "Next").click()
    email = page.locator(".toolkit-map-email select")
    expect(email).to_have_value("Email (Email)")  # ipywidgets keeps the labels as option values
    expect(button(page, "Next")).to_be_enabled()
    shot(page, "wizard-4-mapping")

    # 5. List (S7): a new list.
    button(page, "Next").click()
    page.get_by_label("New list name").fill("Newsletter (browser)")
    button(page, "Use this list").click()
    expect(message).to_contain_text("Newsletter (browser)")
    shot(page, "wizard-5-list")

    # 6. Save and activate (S8), with a schedule, checked as it is typed.
    button(page, "Next").click()
    schedule, said = page.get_by_label("Schedule", exact=True), page.locator(".toolkit-schedule-message")
    expect(schedule).to_have_value("every 15 minutes")
    schedule.fill("every blue moon")
    expect(said).to_contain_text("write an interval")
    schedule.fill("every 2 hours")
    expect(said).to_have_text("")
    button(page, "Save and activate").click()
    expect(message).to_contain_text("active", timeout=30_000)
    shot(page, "wizard-6-saved")
    integ = served.tk.store.get_integration(NAME)
    assert integ.status == "active" and integ.list_id and integ.schedule == "every 2 hours"

    # The integrations page: the new integration, run for real.
    page.goto(served.app("integrations.ipynb"))
    table = page.locator(".toolkit-integrations-table")
    expect(table).to_contain_text(NAME, timeout=60_000)
    page.get_by_label("Integration").select_option(NAME)
    page.get_by_label(re.compile("^Dry run")).uncheck()
    button(page, "Run now").click()
    result = page.locator(".toolkit-run-result")
    expect(result).to_contain_text("created in Brevo", timeout=60_000)
    run = served.tk.store.list_runs(integ.id)[0]
    assert run.status == "succeeded" and not run.dry_run and run.counts["tasks"] > 0
    button(page, "Refresh").click()
    expect(table).to_contain_text("active")
    shot(page, "integrations")

    # The quota dashboard: this month's tasks and the integration's share, its rejections.
    page.goto(served.app("quota_dashboard.ipynb"))
    expect(page.locator(".toolkit-dashboard")).to_be_visible(timeout=60_000)
    quota = page.locator(".toolkit-quota")
    used = served.tk.quota.status().used  # this run's tasks and those of other tests' runs this month
    assert used >= run.counts["tasks"]
    expect(quota).to_contain_text(f"{used:,} of", timeout=60_000)
    expect(page.locator(".toolkit-dashboard")).to_contain_text(NAME)
    expect(page.locator("img.toolkit-usage-chart")).to_be_visible()
    expect(page.locator(".toolkit-rejections")).to_contain_text("Y6")
    page.set_viewport_size({"width": 1280, "height": 2400})  # Voila scrolls inside its page: show it all
    shot(page, "dashboard")


def test_the_integrations_page_shows_held_deletions_with_a_confirm_button(page: Any, served: Served) -> None:
    tk, name = served.tk, "browser-held"
    setup_integration(tk, name)
    assert tk.run(name).status == "succeeded"
    tk.store.update_integration(name, mass_delete_min=2)  # B6: 3 deletions of ~40 links wait
    with_case = {c["ContactId"] for c in served.sandbox.salesforce.records("Case")}
    gone = [link.sf_id for link in tk.links(name) if link.sf_id not in with_case][:3]
    assert all(r["success"] for r in served.sandbox.salesforce.delete_many(gone))
    assert tk.run(name).status == "blocked" and len(tk.held_deletions(name)) == 3

    page.goto(served.app("integrations.ipynb"))
    held = page.locator(".toolkit-held-deletions")
    expect(held).to_contain_text(f"{name}: 3 deleted in Salesforce", timeout=60_000)
    expect(page.locator(".toolkit-integrations-table")).to_contain_text("3 (deleted in Salesforce)")
    confirm = button(page, "Confirm 3 deletions")
    expect(confirm).to_be_visible()
    shot(page, "integrations-held-deletions")
    confirm.click()
    expect(held).to_contain_text("3 record(s) taken off the Brevo list", timeout=60_000)
    assert tk.held_deletions(name) == []
    assert tk.store.list_runs(tk.store.get_integration(name).id)[0].status == "succeeded"
