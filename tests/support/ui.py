"""Helpers of the headless UI tests: a setup wizard walked to its connect step."""

from __future__ import annotations

from tests.support.sync import Env
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
