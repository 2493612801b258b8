"""Quota e-mails with no setup (SPEC Q2, Q3): to the Brevo account's e-mail, from an active sender.

Everything over HTTPS against the sandbox: the engine crosses 80% of the quota, the e-mail goes
through ``POST /v3/smtp/email`` and the sandbox keeps it. The addresses come from
``GET /v3/account`` and ``GET /v3/senders`` unless ``notify_to``/``notify_from`` say otherwise;
the wizard's save step shows them and stores a change in ``toolkit.toml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.sync import Env, setup_integration
from toolkit.config import CONFIG_FILE, Settings
from toolkit.exceptions import ConfigError
from toolkit.notify import notify_pending
from toolkit.notify.addresses import FROM_BREVO, FROM_SETTINGS, resolve_addresses, save_addresses
from toolkit.sandbox.brevo.profile import SenderRecord
from toolkit.ui import SetupWizard

OWNER = "owner@brevo-sandbox.example.com"


def _senders(env: Env) -> None:
    """An inactive sender with the lowest id, then the active one the e-mails must come from."""
    env.sandbox.brevo.senders = [
        SenderRecord(1, "Old", "old@brevo-sandbox.example.com", active=False),
        SenderRecord(7, "Sync", "sync@brevo-sandbox.example.com"),
    ]


def _quota_mails(env: Env) -> list[dict[str, Any]]:
    return [m for m in env.sandbox.brevo.sent_emails() if "tasks" in m["subject"]]


def test_q2_without_notify_settings_the_80_percent_email_goes_to_the_brevo_account_from_its_sender(
    env_factory: Any,
) -> None:
    env = env_factory(contacts=9, seed=4, quota_limit=10)  # 9 of 10 tasks: 90%, the warning only
    _senders(env)
    assert env.settings.notify_to == () and env.settings.notify_from == ""
    setup_integration(env.tk)
    result = env.tk.run("contacts")
    assert result.status == "succeeded" and result.tasks == 9
    [mail] = _quota_mails(env)
    assert mail["subject"] == "Salesforce-Brevo sync: 90% of this month's tasks used"
    assert mail["to"] == [{"email": OWNER}]
    assert mail["sender"] == {
        "email": "sync@brevo-sandbox.example.com",
        "name": env.settings.notify_from_name,
    }
    assert env.tk.quota.notifications()[0]["status"] == "sent"
    assert env.brevo_calls("GET", "/v3/account") == 1 and env.brevo_calls("GET", "/v3/senders") == 1


def test_q2_configured_settings_still_win_over_the_brevo_account(env_factory: Any) -> None:
    env = env_factory(contacts=9, seed=4, quota_limit=10, notify_to=("ops@company.example",))
    _senders(env)
    found = resolve_addresses(env.settings, env.tk.brevo())
    assert (found.to, found.to_source) == (("ops@company.example",), FROM_SETTINGS)
    assert (found.sender, found.sender_source) == ("sync@brevo-sandbox.example.com", FROM_BREVO)
    both = env.settings.replace(notify_from="quota@company.example")
    calls = env.brevo_calls()
    assert resolve_addresses(both, env.tk.brevo()).sender == "quota@company.example"
    assert env.brevo_calls() == calls  # nothing left open: Brevo is not asked
    setup_integration(env.tk)
    env.tk.run("contacts")
    [mail] = _quota_mails(env)
    assert mail["to"] == [{"email": "ops@company.example"}]
    assert mail["sender"]["email"] == "sync@brevo-sandbox.example.com"


def test_q2_an_account_without_an_active_sender_keeps_the_email_waiting_and_says_why(
    env_factory: Any,
) -> None:
    env = env_factory(contacts=9, seed=4, quota_limit=10)
    env.sandbox.brevo.senders = [SenderRecord(1, "Old", "old@brevo-sandbox.example.com", active=False)]
    setup_integration(env.tk)
    assert env.tk.run("contacts").status == "succeeded"  # a notification problem never fails a run
    assert _quota_mails(env) == []
    report = notify_pending(env.tk.store, env.settings, env.tk.credentials)
    assert report.skipped is not None and "no active sender" in report.skipped
    assert [n["status"] for n in env.tk.quota.notifications()] == ["pending"]
    _senders(env)  # a sender validated later: the waiting e-mail goes out
    assert env.tk.notify().sent == [1] and len(_quota_mails(env)) == 1


def test_chosen_addresses_are_stored_in_toolkit_toml_and_the_environment_still_wins(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    (tmp_path / CONFIG_FILE).write_text("# kept\nquota_limit = 5000\n")
    saved = save_addresses(
        settings, to=["Boss@Company.example", "ops@company.example"], sender="quota@company.example"
    )
    assert saved.notify_to == ("Boss@company.example", "ops@company.example")
    assert Settings.from_env({}, state_dir=tmp_path).notify_to == saved.notify_to
    text = (tmp_path / CONFIG_FILE).read_text()
    assert text.startswith("# kept\nquota_limit = 5000\n") and 'notify_from = "quota@company.example"' in text
    env_wins = Settings.from_env({"TOOLKIT_NOTIFY_TO": "cfo@company.example"}, state_dir=tmp_path)
    assert env_wins.notify_to == ("cfo@company.example",)
    back = save_addresses(saved, sender="")  # empty: follow the Brevo account again
    assert back.notify_from == "" and "notify_from" not in (tmp_path / CONFIG_FILE).read_text()
    with pytest.raises(ConfigError, match="not an e-mail address"):
        save_addresses(saved, to=["not-an-address"])


def _wizard_to_save_step(env: Env, name: str) -> SetupWizard:
    wizard = SetupWizard(env.tk)
    wizard.name_step.name.value = name
    wizard.name_step.create.click()
    wizard.next_button.click()
    wizard.connect_step.existing.value = "sandbox-org"
    wizard.connect_step.use_existing.click()
    wizard.next_button.click()
    wizard.opt_in_step.agree.value = True
    wizard.next_button.click()
    assert wizard.mapping_step.state == "success", wizard.mapping_step.message.text
    wizard.next_button.click()
    wizard.list_step.new_name.value = f"Salesforce {name}"
    wizard.list_step.use.click()
    wizard.next_button.click()
    assert wizard.step is wizard.save_step
    return wizard


def test_q2_the_save_step_shows_recipient_and_sender_and_a_changed_recipient_is_used(
    env_factory: Any,
) -> None:
    env = env_factory(contacts=9, seed=4, quota_limit=10)
    _senders(env)
    save = _wizard_to_save_step(env, "newsletter").save_step
    box = save.notify
    assert box.to.value == OWNER and box.sender.value == "sync@brevo-sandbox.example.com"
    assert box.sender.options == ("sync@brevo-sandbox.example.com",)  # the active senders to choose from
    assert (
        "Recipients: from the Brevo account" in box.note.value
        and "Sender: from the Brevo account" in box.note.value
    )

    box.sender.value = "someone@elsewhere.example"  # not a sender Brevo would send from
    save.activate.click()
    assert save.state == "fail" and "not an active sender of the Brevo account" in save.message.text
    assert env.tk.store.get_integration("newsletter").status == "draft"
    box.sender.value = "sync@brevo-sandbox.example.com"
    box.to.value = "not-an-address"
    save.activate.click()
    assert save.state == "fail" and "not an e-mail address" in save.message.text

    box.to.value = "boss@company.example"
    save.activate.click()
    assert save.state == "success", save.message.text
    assert env.tk.store.get_integration("newsletter").status == "active"
    assert env.tk.settings.notify_to == ("boss@company.example",) and env.tk.settings.notify_from == ""
    stored = Settings.from_env({}, state_dir=env.settings.state_dir)
    assert (
        stored.notify_to == ("boss@company.example",) and stored.notify_from == ""
    )  # the sender still follows Brevo

    assert env.tk.run("newsletter").status == "succeeded"
    [mail] = _quota_mails(env)
    assert mail["to"] == [{"email": "boss@company.example"}]
    assert mail["sender"]["email"] == "sync@brevo-sandbox.example.com"


def test_the_save_step_says_when_the_environment_fixes_an_address(
    env_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_factory(notify_to=("ops@company.example",))
    monkeypatch.setenv("TOOLKIT_NOTIFY_TO", "ops@company.example")
    save = _wizard_to_save_step(env, "leads").save_step
    assert save.notify.to.value == "ops@company.example" and save.notify.to.disabled
    assert "TOOLKIT_NOTIFY_TO" in save.notify.note.value
    save.draft.click()
    assert save.state == "success" and not (env.settings.state_dir / CONFIG_FILE).exists()  # nothing changed
