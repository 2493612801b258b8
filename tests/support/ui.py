"""Helpers of the headless UI tests: a setup wizard walked to its connect step, held deletions,
and what a page shows (its buttons and editable fields)."""

from __future__ import annotations

from collections.abc import Iterator

import ipywidgets as widgets

from tests.support.sync import Env, setup_integration
from toolkit.ui import SetupWizard


def named(env: Env, name: str = "newsletter", obj: str = "Contact") -> SetupWizard:
    """A wizard past its first step, on the connect step, with the sandbox's client id in the form."""
    wizard = SetupWizard(env.tk, client_id=env.sandbox.info["salesforce"]["client_id"])
    assert wizard.index == 0 and wizard.next_button.disabled and wizard.back_button.disabled
    assert wizard.name_step.name.layout.display is None  # visible (hiding one input hides no other)
    wizard.name_step.name.value = name
    wizard.name_step.object_choice.value = obj
    wizard.name_step.create.click()
    assert wizard.name_step.state == "success", wizard.name_step.message.text
    wizard.next_button.click()
    assert wizard.step is wizard.connect_step and wizard.connect_step.state == "ready"
    assert (
        wizard.connect_step.existing.value is not None
    )  # a connection is preselected, never a blank drop-down
    assert wizard.next_button.disabled
    return wizard


def held_deletions(env: Env, name: str = "contacts") -> int:
    """Set up ``name``, sync it, then make the mass-delete guard (B6) hold 3 deletions in Salesforce.

    Returns:
        How many deletions are held.
    """
    setup_integration(env.tk, name)
    assert env.tk.run(name).status == "succeeded"
    env.tk.store.update_integration(name, mass_delete_min=2)  # 3 of 40: above 5% and above 2 records
    with_case = {c["ContactId"] for c in env.sandbox.salesforce.records("Case")}  # Y10: those stay
    gone = [link.sf_id for link in env.tk.links(name) if link.sf_id not in with_case][:3]
    assert all(r["success"] for r in env.sandbox.salesforce.delete_many(gone))
    assert env.tk.run(name).status == "blocked"
    return len(env.tk.held_deletions(name))


def shown(widget: widgets.Widget) -> Iterator[widgets.Widget]:
    """Every widget shown in ``widget``'s tree (itself included), skipping hidden boxes."""
    layout = getattr(widget, "layout", None)
    if layout is not None and layout.display == "none":
        return
    yield widget
    for child in getattr(widget, "children", ()):
        yield from shown(child)


def shown_buttons(widget: widgets.Widget) -> set[str]:
    """The labels of the buttons ``widget`` shows (toggle buttons included)."""
    labels = {w.description for w in shown(widget) if isinstance(w, widgets.Button)}
    for toggles in (w for w in shown(widget) if isinstance(w, widgets.ToggleButtons)):
        labels |= {str(label) for label in toggles._options_labels}
    return labels


def editable(widget: widgets.Widget) -> list[widgets.Widget]:
    """The enabled input fields ``widget`` shows that change something (text, check boxes)."""
    kinds = (widgets.Text, widgets.Textarea, widgets.Checkbox, widgets.IntText)
    return [w for w in shown(widget) if isinstance(w, kinds) and not w.disabled]
