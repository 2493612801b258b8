"""The wizard's mapping step asks for the phone region, headless against the sandbox.

The region proposed is the org's (Salesforce's ``Organization``: the sandbox org is in
Germany); the drop-down offers every region phonenumbers knows, by country name; the choice is
stored with the mapping (``default_region``) and a run reads national numbers in it.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import phonenumbers

from tests.support.sync import Env
from tests.support.ui import named
from toolkit.ui import SetupWizard
from toolkit.ui.wizard.mapping import (
    NO_REGION,
    NOT_SYNCED,
    SMS_OPTOUT_NONE,
    MappingStep,
    region_choices,
    region_name,
)


def to_mapping(env: Env, name: str = "newsletter") -> SetupWizard:
    """A wizard on its mapping step, through an existing connection and the opt-in."""
    wizard = named(env, name)
    wizard.connect_step.existing.value = "sandbox-org"
    wizard.connect_step.use_existing.click()
    assert wizard.connect_step.state == "success", wizard.connect_step.message.text
    wizard.next_button.click()
    wizard.opt_in_step.agree.value = True
    wizard.next_button.click()
    assert wizard.step is wizard.mapping_step
    return wizard


def test_region_choices_are_every_supported_region_sorted_by_name() -> None:
    choices = region_choices()
    assert sorted(code for _, code in choices) == sorted(phonenumbers.SUPPORTED_REGIONS)
    labels = [label for label, _ in choices]
    assert labels[0].startswith("Afghanistan (AF, +93)") and "Germany (DE, +49)" in labels
    assert "Åland Islands (AX, +358)" in labels[:3]  # accents do not send a name to the end
    assert region_name("XK") == "Kosovo" and region_name("GB") == "United Kingdom"
    names = [
        unicodedata.normalize("NFKD", label.rsplit(" (", 1)[0].casefold()).encode("ascii", "ignore")
        for label in labels
    ]  # sorted as people read them: "Côte d'Ivoire" before "Croatia"
    assert names == sorted(names)


def test_mapping_step_proposes_the_org_region_and_stores_the_choice(env_factory: Any) -> None:
    env = env_factory(contacts=30, seed=5)
    wizard = to_mapping(env)
    step: MappingStep = wizard.mapping_step
    assert step.state == "success", step.message.text
    assert step.region.value == "DE" and step.default_region == "DE"  # Organization.Country "Germany"
    assert NO_REGION not in [code for _, code in step.region.options]  # a region is known: no blank choice
    assert [code for _, code in step.region.options] == [code for _, code in region_choices()]
    assert "Phone region: Germany (DE)." in step.message.text
    assert env.tk.store.get_integration("newsletter").default_region == "DE"

    step.region.value = "AT"  # another region: saved at once, with the mapping
    assert step.state == "success" and "Phone region: Austria (AT)." in step.message.text
    integ = env.tk.store.get_integration("newsletter")
    assert integ.default_region == "AT" and dict(integ.mapping["pairs"])["EMAIL"] == "Email"
    assert not wizard.next_button.disabled

    wizard.back_button.click()  # going back and forth keeps the choice (nothing reloaded)
    wizard.next_button.click()
    assert step.region.value == "AT" and env.tk.store.get_integration("newsletter").default_region == "AT"

    step.dropdowns["EMAIL"].value = ""  # an invalid mapping is not saved, whatever the region
    step.dropdowns["SMS"].value = ""
    step.region.value = "FR"
    assert step.state == "fail" and env.tk.store.get_integration("newsletter").default_region == "AT"
    step.dropdowns["EMAIL"].value = "Email"
    assert step.state == "success" and env.tk.store.get_integration("newsletter").default_region == "FR"


def test_mapping_step_proposes_another_org_country_and_none_when_unknown(env_factory: Any) -> None:
    env = env_factory()
    company = env.sandbox.salesforce.company
    company.country, company.default_locale = "France", "fr_FR"
    step = to_mapping(env, "french").mapping_step
    assert step.region.value == "FR" and env.tk.store.get_integration("french").default_region == "FR"

    company.country, company.default_locale = "", "en"  # nothing to go by: no region proposed
    step = to_mapping(env, "unknown").mapping_step
    assert step.state == "success", step.message.text
    assert step.region.options[0][1] == NO_REGION and step.region.value == NO_REGION
    assert step.default_region is None and "Phone region: none." in step.message.text
    assert env.tk.store.get_integration("unknown").default_region is None
    step.region.value = "DE"
    assert step.state == "success" and env.tk.store.get_integration("unknown").default_region == "DE"
    step.region.value = NO_REGION  # "none" cannot take a saved region back: the page shows what is kept
    assert step.region.value == "DE" and "Phone region: Germany (DE)." in step.message.text


def test_b8_mapping_step_syncs_unsubscribes_by_default_and_saves_the_sms_checkbox(env_factory: Any) -> None:
    env = env_factory(contacts=5, seed=5)
    wizard = to_mapping(env)
    step: MappingStep = wizard.mapping_step
    assert step.state == "success", step.message.text
    assert step.b8.value is True and "Sync unsubscribes (B8)" in step.b8.description
    assert "Unsubscribes: synced (B8)." in step.message.text
    integ = env.tk.store.get_integration("newsletter")
    assert (integ.sync_unsubscribes, integ.sms_optout_field) == (True, None)

    assert step.sms_mapped and step.sms_optout.layout.display == ""  # SMS <- MobilePhone is proposed
    offered = [v for _, v in step.sms_optout.options]
    assert offered[0] == SMS_OPTOUT_NONE and "DoNotCall" in offered
    assert "HasOptedOutOfEmail" not in offered  # synced with emailBlacklisted already
    step.sms_optout.value = "DoNotCall"
    assert step.state == "success" and "SMS ⟷ DoNotCall" in step.message.text
    assert env.tk.store.get_integration("newsletter").sms_optout_field == "DoNotCall"

    for phone in ("SMS", "WHATSAPP", "LANDLINE_NUMBER"):  # no SMS attribute mapped: no SMS unsubscribes
        if phone in step.dropdowns:
            step.dropdowns[phone].value = NOT_SYNCED
    assert not step.sms_mapped
    assert step.sms_optout.layout.display == "none"
    assert env.tk.store.get_integration("newsletter").sms_optout_field is None

    step.b8.value = False
    assert step.state == "success" and "Unsubscribes: not synced." in step.message.text
    assert env.tk.store.get_integration("newsletter").sync_unsubscribes is False


def test_b8_mapping_step_refuses_the_opt_out_mapped_to_an_attribute_too(env_factory: Any) -> None:
    env = env_factory(contacts=5, seed=5)
    env.tk.brevo().create_attribute("normal", "OPTED_OUT", "boolean")
    wizard = to_mapping(env)
    step: MappingStep = wizard.mapping_step
    step.b4.value = True
    step.dropdowns["OPTED_OUT"].value = "HasOptedOutOfEmail"
    assert step.state == "fail"
    assert "HasOptedOutOfEmail" in step.message.text and "B8" in step.message.text
    step.b8.value = False  # B8 off: the checkbox may map to an attribute
    assert step.state == "success", step.message.text
