"""Issue 15 in Debian's Chromium on the Voilà integrations page, as a person does it: edit the mapping
of a live integration through the wizard's steps (preview, save, run, the new attribute filled in
Brevo for the linked contacts); pause and resume with no change lost; delete, the Brevo contacts
untouched. Screenshots go to ``docs/screenshots/`` with TOOLKIT_UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import ROOT, Served
from tests.support.sync import setup_integration
from toolkit.store import IntegrationStatus, RunStatus

SHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("TOOLKIT_UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "toolkit-browser-screenshots"
)
BASE = {"EMAIL": "Email", "FIRSTNAME": "FirstName", "LASTNAME": "LastName"}


def shot(page: Any, name: str, height: int = 2400) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": height})  # Voilà scrolls inside its page: show it all
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def button(page: Any, name: str) -> Any:
    return page.get_by_role("button", name=re.compile(rf"^\W*{re.escape(name)}$"))  # icons come first


def open_page(page: Any, served: Served, name: str) -> Any:
    """The integrations page with ``name`` chosen; returns its own message line."""
    page.goto(served.app("integrations.ipynb"))
    expect(page.locator(".toolkit-integrations-table")).to_contain_text(name, timeout=60_000)
    page.locator(".toolkit-integration-choice select").select_option(name)
    return page.locator(".toolkit-page-message")


def sms_values(served: Served, name: str) -> dict[str, str]:
    """Salesforce Id -> the SMS attribute of the linked contacts that have one in Brevo."""
    found = {}
    for link in served.tk.links(name):
        contact = served.tk.brevo().get_contact(link.sf_id, identifier_type="ext_id") or {}
        sms = (contact.get("attributes") or {}).get("SMS")
        if sms:
            found[link.sf_id] = str(sms)
    return found


def test_edit_the_mapping_of_a_live_integration_preview_save_and_run(page: Any, served: Served) -> None:
    tk, name = served.tk, "browser-edit"
    setup_integration(tk, name, mapping=BASE)
    assert tk.run(name).status == RunStatus.SUCCEEDED
    assert sms_values(served, name) == {}
    said = open_page(page, served, name)

    button(page, "Edit").click()
    editor = page.locator(".toolkit-editor")
    expect(editor).to_contain_text(f"Edit “{name}”", timeout=30_000)
    step_message = editor.locator(".toolkit-step .toolkit-message")
    expect(step_message).to_contain_text("Uses the connection")
    button(page, "Next").click()
    expect(editor.locator(".toolkit-wizard h3")).to_have_text("Field mapping")
    expect(editor.locator(".toolkit-map-email select")).to_have_value("Email (Email)", timeout=30_000)
    sms = editor.locator(".toolkit-map-sms select")
    expect(sms).to_have_value("— not synced —")
    sms.select_option(label=sms.locator("option", has_text="(MobilePhone)").inner_text().strip())
    expect(step_message).to_contain_text("SMS ← MobilePhone")
    button(page, "Next").click()
    expect(step_message).to_contain_text("as now")
    button(page, "Next").click()
    expect(editor.locator(".toolkit-wizard h3")).to_have_text("Review and save")
    button(page, "Preview changes").click()
    preview = editor.locator(".toolkit-edit-preview")
    expect(preview).to_contain_text("Newly synced: SMS", timeout=60_000)
    expect(preview).to_contain_text("What this dry run would do")
    expect(step_message).to_contain_text("Nothing is saved yet")
    found = re.search(r"([\d,]+) contacts would be updated", preview.inner_text())
    assert found is not None
    planned = int(found.group(1).replace(",", ""))
    assert planned > 0 and not tk.store.get_integration(name).backfill_pending
    shot(page, "integrations-edit-preview")
    button(page, "Save changes").click()
    expect(step_message).to_contain_text("Changes saved", timeout=30_000)
    assert tk.store.get_integration(name).backfill_pending

    page.get_by_label(re.compile("^Dry run")).uncheck()
    button(page, "Run now").click()
    expect(page.locator(".toolkit-run-result")).to_contain_text("What this run did", timeout=60_000)
    expect(said).to_contain_text(f"wrote {planned:,} records")
    filled = sms_values(served, name)
    assert len(filled) == planned and all(value.lstrip("+").isdigit() for value in filled.values())
    history = page.locator(".toolkit-history")
    expect(history).to_contain_text("SMS <- MobilePhone")
    shot(page, "integrations-history")


def test_pause_and_resume_lose_no_change(page: Any, served: Served) -> None:
    tk, name = served.tk, "browser-pause"
    setup_integration(tk, name, mapping=BASE)
    assert tk.run(name).status == RunStatus.SUCCEEDED
    said = open_page(page, served, name)
    button(page, "Pause").click()
    expect(said).to_contain_text("is paused")
    expect(page.locator(".toolkit-integrations-table")).to_contain_text("stopped (paused)")
    assert tk.store.get_integration(name).paused

    sf_id = tk.links(name)[0].sf_id
    served.sandbox.salesforce.update_many("Contact", [{"Id": sf_id, "LastName": "Pausenbrot"}])
    page.get_by_label(re.compile("^Dry run")).uncheck()
    button(page, "Run now").click()
    expect(said).to_contain_text("paused")  # refused: a paused integration does not run
    assert (tk.brevo().get_contact(sf_id, identifier_type="ext_id") or {})["attributes"][
        "LASTNAME"
    ] != "Pausenbrot"

    button(page, "Resume").click()
    expect(said).to_contain_text("active again")
    assert tk.store.get_integration(name).status == IntegrationStatus.ACTIVE
    button(page, "Run now").click()
    expect(page.locator(".toolkit-run-result")).to_contain_text("updated in Brevo", timeout=60_000)
    assert (tk.brevo().get_contact(sf_id, identifier_type="ext_id") or {})["attributes"][
        "LASTNAME"
    ] == "Pausenbrot"


def test_delete_an_integration_and_its_brevo_contacts_stay(page: Any, served: Served) -> None:
    tk, name = served.tk, "browser-delete"
    list_id = setup_integration(tk, name, mapping=BASE)
    assert tk.run(name).status == RunStatus.SUCCEEDED
    members = {c["id"] for p in tk.brevo().iter_list_contacts(list_id, 500) for c in p}
    assert members
    said = open_page(page, served, name)
    button(page, "Delete…").click()
    box = page.locator(".toolkit-delete-box")
    expect(box).to_contain_text("never deletes a contact")
    expect(box).to_contain_text(f"Its {len(tk.links(name)):,} Brevo contacts stay")
    shot(page, "integrations-delete")
    button(page, f"Delete “{name}”").click()
    expect(said).to_contain_text("untouched", timeout=30_000)
    expect(page.locator(".toolkit-integrations-table")).not_to_contain_text(name)
    assert name not in [i.name for i in tk.integrations()]
    assert {c["id"] for p in tk.brevo().iter_list_contacts(list_id, 500) for c in p} == members
