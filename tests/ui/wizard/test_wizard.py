"""The setup wizard, headless: built in Python against a sandbox-backed Toolkit, clicked, asserted.

The sign-in goes through the sandbox's real login page: a plain HTTP client plays the browser
(opens the authorize URL the wizard shows, posts the login form, follows the redirect to the
wizard's loopback listener), exactly what a person's browser does.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.salesforce import post_login_form
from tests.support.sync import Env, setup_integration
from tests.support.ui import named
from toolkit.ui import SetupWizard
from toolkit.ui.wizard.mapping import NOT_SYNCED


def log_in(env: Env, authorize_url: str, *, password: str | None = None) -> requests.Response:
    """Open the login page the wizard links to and submit it, as a browser would (no redirect followed)."""
    browser = requests.Session()
    browser.trust_env = False
    return post_login_form(browser, env.sandbox.info["salesforce"], authorize_url, password=password)


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def set_api(env: Env, enabled: bool) -> None:
    sf = env.sandbox.info["salesforce"]
    answer = requests.post(
        f"{sf['login_url']}/_sandbox/salesforce/api-enabled",
        json={"enabled": enabled},
        verify=sf["ca_bundle"],
        timeout=10,
    )
    assert answer.status_code == 200


def test_s1_s8_through_the_login_page_and_the_loopback_redirect(env_factory: Any) -> None:
    env = env_factory(contacts=20, seed=21)
    wizard = named(env)
    step = wizard.connect_step
    step.connect.click()
    assert step.state == "ready" and step.waiting
    assert "Open the Salesforce login page" in step.login_link.value and step.authorize_url
    assert step.authorize_url.startswith(
        env.sandbox.info["salesforce"]["login_url"] + "/services/oauth2/authorize?"
    )
    wizard.go(2)
    assert wizard.index == 1  # no skipping ahead while the step has not succeeded

    answer = log_in(env, step.authorize_url)
    assert answer.status_code == 302
    landing = requests.get(
        answer.headers["Location"], timeout=10
    )  # the browser reaches the loopback listener
    assert landing.status_code == 200 and "Signed in to Salesforce" in landing.text
    wait_for(lambda: step.state == "success")
    assert "Connected to Salesforce as integration@sandbox.example.com" in step.message.text
    conn = env.tk.store.get_connection("newsletter-salesforce")
    assert conn.flow == "authorization_code"
    assert env.tk.credentials.find("salesforce", conn.name, "refresh_token") is not None
    assert env.tk.store.get_integration("newsletter").connection_id == conn.id
    assert not wizard.next_button.disabled

    wizard.next_button.click()  # S4: no going on before the opt-in is ticked
    assert wizard.step is wizard.opt_in_step and wizard.next_button.disabled
    wizard.opt_in_step.agree.value = True
    assert wizard.opt_in_step.state == "success" and not wizard.next_button.disabled
    assert env.tk.store.get_integration("newsletter").opt_in

    wizard.next_button.click()  # S5: the mapping is loaded through the new connection (refresh token)
    mapping = wizard.mapping_step
    assert mapping.state == "success", mapping.message.text
    assert mapping.dropdowns["EMAIL"].value == "Email" and mapping.dropdowns["LASTNAME"].value == "LastName"

    wizard.next_button.click()  # S7: a new list
    lists = wizard.list_step
    assert lists.state == "ready" and wizard.next_button.disabled
    lists.new_name.value = "Newsletter (Salesforce)"
    lists.use.click()
    assert lists.state == "success", lists.message.text
    list_id = env.tk.store.get_integration("newsletter").list_id
    assert {"id": list_id, "name": "Newsletter (Salesforce)"}.items() <= next(
        lst for lst in env.tk.brevo().lists() if lst["id"] == list_id
    ).items()

    wizard.next_button.click()  # S8
    save = wizard.save_step
    assert wizard.next_button.layout.visibility == "hidden"
    assert "integration@sandbox.example.com" in save.summary.value and "EMAIL ← Email" in save.summary.value
    save.activate.click()
    assert save.state == "success" and "active" in save.message.text
    assert env.tk.store.get_integration("newsletter").status == "active"
    assert "✓" in wizard.header.value
    result = env.tk.run("newsletter")  # the integration the wizard made really syncs
    assert result.status == "succeeded" and result.counts["to_brevo.create"] > 0


def test_s2_a_refused_login_is_said_on_the_step(env_factory: Any) -> None:
    env = env_factory()
    wizard = named(env)
    step = wizard.connect_step
    step.connect.click()
    wrong = log_in(env, step.authorize_url, password="not-the-password")
    assert (
        wrong.status_code == 200 and "check your username and password" in wrong.text
    )  # Salesforce's page says it
    assert step.state == "ready" and step.waiting  # the wizard keeps waiting for a good login
    query = parse_qs(urlsplit(step.authorize_url).query)  # Salesforce redirects a refusal to the listener
    requests.get(
        query["redirect_uri"][0],
        timeout=10,
        params={
            "error": "access_denied",
            "error_description": "end-user denied authorization",
            "state": query["state"][0],
        },
    )
    wait_for(lambda: step.state == "fail")
    assert step.message.text.startswith("Salesforce sign-in failed")
    assert "access_denied" in step.message.text and "Traceback" not in step.message.text
    assert wizard.next_button.disabled and env.tk.store.get_integration("newsletter").connection_id is None

    step.connect.click()  # try again: a new sign-in, completed by pasting the redirect URL
    step.complete("http://127.0.0.1:1/callback?code=x&state=someone-else")
    assert step.state == "fail" and "state mismatch" in step.message.text and step.waiting
    answer = log_in(env, step.authorize_url)
    step.redirect_url.value = answer.headers["Location"]
    step.finish.click()
    assert step.state == "success" and not wizard.next_button.disabled


def test_s2_api_disabled_for_org_is_said_on_the_step(env_factory: Any) -> None:
    env = env_factory()
    wizard = named(env)
    step = wizard.connect_step
    set_api(env, False)
    step.connect.click()
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "fail" and "API_DISABLED_FOR_ORG" in step.message.text
    assert "administrator" in step.message.text and wizard.next_button.disabled
    assert [c.name for c in env.tk.store.list_connections()] == ["sandbox-org"]  # nothing recorded
    step.existing.value = "sandbox-org"  # an existing connection is checked the same way
    step.use_existing.click()
    assert step.state == "fail" and "API_DISABLED_FOR_ORG" in step.message.text
    assert env.tk.store.get_integration("newsletter").connection_id is None

    set_api(env, True)
    step.connect.click()
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "success" and not wizard.next_button.disabled


def test_s3_a_sixth_use_of_one_account_is_refused_on_the_step(env_factory: Any) -> None:
    env = env_factory()
    for n in range(5):  # five integrations on the sandbox's one account, Contacts and Leads
        env.tk.create_integration(f"use-{n}", ("Contact", "Lead")[n % 2])
        env.tk.use_connection(f"use-{n}", "sandbox-org")
    wizard = named(env)
    step = wizard.connect_step
    sign_ins = env.sandbox.log.count("salesforce", "POST", "/services/oauth2/token")
    step.existing.value = "sandbox-org"  # reusing the stored connection: refused before any sign-in
    step.use_existing.click()
    assert step.state == "fail" and "already used by 5 integrations" in step.message.text
    assert "'use-0', 'use-1', 'use-2', 'use-3', 'use-4'" in step.message.text and "(S3)" in step.message.text
    assert env.sandbox.log.count("salesforce", "POST", "/services/oauth2/token") == sign_ins

    step.connect.click()  # a fresh sign-in through the login page: refused once the account is known
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "fail" and "already used by 5 integrations" in step.message.text
    assert wizard.next_button.disabled and env.tk.store.get_integration("newsletter").connection_id is None
    assert [c.name for c in env.tk.store.list_connections()] == ["sandbox-org"]  # nothing kept
    assert env.tk.credentials.find("salesforce", "newsletter-salesforce", "refresh_token") is None
    assert env.sandbox.log.count("salesforce", "POST", "/services/oauth2/revoke") == 1  # its tokens revoked
    oauth = env.sandbox.oauth.store.counts()
    assert oauth["refresh_tokens"] == 0  # the sign-in's refresh token (and its access token) are gone

    env.tk.store.delete_integration("use-0")  # room again: the same sign-in now connects
    step.connect.click()
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "success" and not wizard.next_button.disabled


def test_s5_s6_b4_mapping_offers_compatible_fields_and_says_why_a_choice_is_invalid(env_factory: Any) -> None:
    env = env_factory()
    wizard = named(env, "leads", "Lead")
    step = wizard.connect_step
    step.existing.value = "sandbox-org"
    step.use_existing.click()
    assert step.state == "success"
    wizard.next_button.click()
    wizard.opt_in_step.agree.value = True
    wizard.next_button.click()
    mapping = wizard.mapping_step
    assert mapping.state == "success"
    describe = env.tk.salesforce("leads").describe("Lead")
    formulas = {f["name"] for f in describe["fields"] if f.get("calculated")}
    assert formulas  # the sandbox's Lead has formula fields: none is ever offered (S6, Y4)
    offered = {f for name in mapping.dropdowns for f in mapping.options_for(name)}
    assert not offered & formulas
    assert mapping.options_for("EMAIL") == ["Email"]  # only e-mail fields for Brevo's EMAIL
    booleans = {
        f["name"] for f in describe["fields"] if f["type"] in ("boolean", "picklist") and f.get("updateable")
    }
    assert not offered & booleans  # Y11 without B4

    mapping.dropdowns["EMAIL"].value = NOT_SYNCED
    mapping.dropdowns["SMS"].value = NOT_SYNCED
    assert mapping.state == "fail" and "at least one EMAIL or SMS" in mapping.message.text
    assert wizard.next_button.disabled
    mapping.dropdowns["SMS"].value = "MobilePhone"
    assert mapping.state == "success" and not wizard.next_button.disabled
    assert dict(env.tk.store.get_integration("leads").mapping["pairs"])["SMS"] == "MobilePhone"

    mapping.b4.value = True  # B4: booleans and picklists appear, the saved mapping says so
    offered_b4 = {f for name in mapping.dropdowns for f in mapping.options_for(name)}
    assert offered_b4 & booleans and not offered_b4 & formulas
    assert mapping.state == "success" and env.tk.store.get_integration("leads").sync_booleans_picklists


def test_a_taken_name_an_existing_list_and_save_as_draft(env_factory: Any) -> None:
    env = env_factory()
    list_id = setup_integration(env.tk, "contacts")
    wizard = SetupWizard(env.tk)
    wizard.name_step.name.value = "contacts"
    wizard.name_step.create.click()
    assert wizard.name_step.state == "fail" and "contacts" in wizard.name_step.message.text
    assert wizard.next_button.disabled
    wizard.name_step.name.value = "second"
    wizard.name_step.create.click()
    wizard.next_button.click()
    wizard.connect_step.existing.value = "sandbox-org"
    wizard.connect_step.use_existing.click()
    wizard.next_button.click()
    wizard.opt_in_step.agree.value = True
    wizard.opt_in_step.agree.value = False  # unticking takes the agreement back
    assert wizard.opt_in_step.state == "ready" and wizard.next_button.disabled
    assert not env.tk.store.get_integration("second").opt_in
    wizard.opt_in_step.agree.value = True
    wizard.next_button.click()
    wizard.next_button.click()
    lists = wizard.list_step
    lists.choice.value = lists.EXISTING
    assert lists.existing.value is not None
    assert list_id in [value for _, value in lists.existing.options]
    lists.existing.value = list_id
    lists.use.click()
    assert lists.state == "success" and env.tk.store.get_integration("second").list_id == list_id
    wizard.next_button.click()
    wizard.save_step.draft.click()
    assert wizard.save_step.state == "success" and "draft" in wizard.save_step.message.text
    assert env.tk.store.get_integration("second").status == "draft"
    wizard.back_button.click()
    assert wizard.step is lists and lists.state == "success"  # going back keeps what was done


@pytest.mark.parametrize("bad", ["token = 'x'", "quota_limit = 'lots'"])
def test_a_broken_configuration_is_said_instead_of_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    (tmp_path / "toolkit.toml").write_text(bad + "\n")
    monkeypatch.setenv("TOOLKIT_STATE_DIR", str(tmp_path))
    wizard = SetupWizard()
    assert wizard.steps == [] and list(wizard.children) == [wizard.problem]
    assert "toolkit.toml" in wizard.problem.text and wizard.problem.level == "error"
