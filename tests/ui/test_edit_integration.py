"""Issue 15 on the integrations page, headless against the sandbox: edit a live integration through
the wizard's steps (pre-filled, a preview before saving), pause and resume, delete (asked first),
and the history of who changed what."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.sync import Env, setup_integration
from toolkit.store import IntegrationStatus, RunStatus
from toolkit.ui import IntegrationsPage, SetupWizard
from toolkit.ui.common import READY, SUCCESS

NAME = "contacts"
BASE = {"EMAIL": "Email", "FIRSTNAME": "FirstName", "LASTNAME": "LastName"}


@pytest.fixture
def live(env_factory: Any) -> Env:
    env = env_factory(contacts=25, seed=41)
    setup_integration(env.tk, NAME, mapping=BASE)
    assert env.tk.run(NAME).status == RunStatus.SUCCEEDED
    return env


def editing(env: Env) -> tuple[IntegrationsPage, SetupWizard]:
    """The integrations page with the integration chosen, and its Edit button's wizard."""
    page = IntegrationsPage(env.tk)
    page.selected = NAME
    wizard = page.edit()
    assert wizard is not None and wizard.editing == NAME
    return page, wizard


def test_editing_the_mapping_previews_then_saves_and_the_next_run_fills_the_attribute(live: Env) -> None:
    tk = live.tk
    page, wizard = editing(live)
    assert [s.title for s in wizard.steps] == [
        "Connect Salesforce",
        "Field mapping",
        "Brevo list",
        "Review and save",
    ]
    assert "Edit “contacts”" in wizard.header.value
    # Pre-filled: the connection and the mapping are the saved ones; nothing is asked again.
    assert wizard.connect_step.state == SUCCESS and "sandbox-org" in wizard.connect_step.message.value
    wizard.go(1)
    mapping = wizard.mapping_step
    assert dict(mapping.pairs) == BASE and mapping.state == SUCCESS
    mapping.dropdowns["SMS"].value = "MobilePhone"
    assert mapping.state == SUCCESS and "SMS ← MobilePhone" in mapping.message.value
    assert "SMS" not in str(tk.store.get_integration(NAME).mapping)  # not saved by the step
    wizard.go(2)
    assert (
        wizard.list_step.state == SUCCESS
        and wizard.list_step.chosen_list == tk.store.get_integration(NAME).list_id
    )
    wizard.go(3)
    save = wizard.save_step
    assert save.preview_button in save.buttons.children and save.activate not in save.buttons.children

    preview = save.preview()
    assert preview is not None and preview.plan.added == ("SMS",)
    shown = save.preview_html.value
    assert "Newly synced: SMS" in shown and "Field mapping" in shown and "What this dry run would do" in shown
    assert not tk.store.get_integration(NAME).backfill_pending  # a preview saves nothing
    save.save_button.click()
    assert save.state == SUCCESS and "fills in SMS" in save.message.value
    integ = tk.store.get_integration(NAME)
    assert integ.backfill_pending and "SMS" in str(integ.mapping)
    assert "mapping:" in page.history.value and "SMS &lt;- MobilePhone" in page.history.value

    result = tk.run(NAME)
    assert (
        result.status == RunStatus.SUCCEEDED and result.counts.get("to_brevo.update", 0) == preview.tasks > 0
    )


def test_a_list_change_is_offered_with_the_choice_to_leave_the_contacts(live: Env) -> None:
    tk = live.tk
    _page, wizard = editing(live)
    wizard.go(1)
    wizard.go(2)
    step = wizard.list_step
    assert step.move.layout.display is None and step.move.value  # editing: the choice is shown
    step.choice.value = step.NEW
    step.new_name.value = "Newsletter 2027"
    step.move.value = False
    step.use.click()
    assert step.state == SUCCESS and "left on list" in step.message.value
    new = step.chosen_list
    assert new is not None and new != tk.store.get_integration(NAME).list_id
    wizard.go(3)
    preview = wizard.save_step.preview()
    assert preview is not None and preview.plan.moves_list and preview.linked == len(tk.links(NAME))
    assert f"put on list #{new}" in wizard.save_step.preview_html.value
    wizard.save_step.save_changes()
    integ = tk.store.get_integration(NAME)
    assert integ.list_id == new and integ.list_move_from is not None and not integ.list_move_remove


def test_pause_resume_and_delete_from_the_page(live: Env) -> None:
    tk = live.tk
    page = IntegrationsPage(tk)
    page.selected = NAME
    assert not page.pause_button.disabled and page.resume_button.disabled and page.activate_button.disabled
    page.pause_button.click()
    assert "paused" in page.message.value and tk.store.get_integration(NAME).paused
    assert page.pause_button.disabled and not page.resume_button.disabled
    assert next(r for r in page.rows() if r["name"] == NAME)["status"] == "stopped (paused)"
    page.resume_button.click()
    assert tk.store.get_integration(NAME).status == IntegrationStatus.ACTIVE

    page.delete_button.click()
    assert page.delete_box.layout.display is None
    assert "never deletes a contact" in page.delete_question.value
    page.cancel_delete.click()
    assert page.delete_box.layout.display == "none" and NAME in [i.name for i in tk.integrations()]
    page.delete_button.click()
    page.confirm_delete.click()
    assert "untouched" in page.message.value and NAME not in [i.name for i in tk.integrations()]
    assert NAME not in page.choice.options


def test_the_viewer_page_offers_no_edit_pause_or_delete(live: Env) -> None:
    page = IntegrationsPage(live.tk, viewer=True)
    shown = {id(w) for w in _walk(page)}
    for button in (page.edit_button, page.pause_button, page.resume_button, page.delete_button):
        assert id(button) not in shown
    page.selected = NAME
    page.pause()
    assert "read-only" in page.message.value and not live.tk.store.get_integration(NAME).paused
    assert page.wizard is None and page.edit() is None


def _walk(widget: Any) -> list[Any]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _walk(child)
    return found


def test_a_wrong_schedule_or_mapping_is_said_in_place_and_nothing_is_saved(live: Env) -> None:
    tk = live.tk
    _page, wizard = editing(live)
    wizard.go(1)
    for box in wizard.mapping_step.dropdowns.values():
        box.value = ""
    assert wizard.mapping_step.state != SUCCESS  # S5: EMAIL or SMS must be mapped
    wizard.go(3)
    assert wizard.index == 1  # not past a failed step
    wizard.mapping_step.dropdowns["EMAIL"].value = "Email"
    wizard.go(2)
    wizard.go(3)
    save = wizard.save_step
    save.schedule.value = "every now and then"
    save.save_changes()
    assert save.state != SUCCESS and save.schedule_message.value
    assert tk.store.get_integration(NAME).schedule == "every 15 minutes"
    save.schedule.value = "2h"
    save.save_changes()
    assert save.state == SUCCESS and tk.store.get_integration(NAME).schedule == "every 2 hours"
    assert save.state != READY
