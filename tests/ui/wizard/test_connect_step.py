"""The wizard's connect step on :class:`~toolkit.connections.BrowserSignIn`, headless against the sandbox.

What the connect step adds around the shared sign-in: the callback URL the app must have, shown
by the Client ID; disconnected connections marked and refused before any sign-in; the listener
closed when the step closes or a new sign-in replaces it; the time limit said in the step's
words; an edit's sign-in recorded without being given to the integration; and the new connection
recorded as made by the wizard's actor, from the listener's thread.
"""

from __future__ import annotations

import html
import re
import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.sync import setup_integration
from tests.support.ui import named
from tests.ui.wizard.test_wizard import log_in, wait_for
from toolkit.store import ChangeAction
from toolkit.ui import IntegrationsPage, SetupWizard
from toolkit.ui.common import SUCCESS
from toolkit.ui.wizard import connect

TOKEN = "/services/oauth2/token"


def listening(url: str) -> bool:
    """Whether something accepts connections at the host and port of ``url``."""
    parts = urlsplit(url)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((parts.hostname or "", parts.port or 80)) == 0


def redirect_uri(authorize_url: str) -> str:
    return parse_qs(urlsplit(authorize_url).query)["redirect_uri"][0]


def test_the_callback_url_to_register_is_shown_by_the_client_id(env_factory: Any) -> None:
    env = env_factory()
    wizard = SetupWizard(env.tk, callback_port=38080)
    hint = wizard.connect_step.callback_hint
    children = list(wizard.connect_step.children)
    assert children.index(hint) == children.index(wizard.connect_step.client_id) + 1
    assert "<code>http://127.0.0.1:38080/callback</code>" in hint.value  # to copy as it is
    text = html.unescape(re.sub("<[^>]+>", "", hint.value))
    assert "the app's Callback URL must be exactly http://127.0.0.1:38080/callback (" in text

    random_port = named(env).connect_step  # salesforce_callback_port = 0: a real org needs a fixed one
    text = random_port.callback_hint.value
    assert (
        "salesforce_callback_port is 0" in text
        and "set salesforce_callback_port to a fixed free port" in text
    )
    assert "http://127.0.0.1:&lt;that port&gt;/callback" in text


def test_a_disconnected_connection_is_marked_and_refused_before_any_sign_in(env_factory: Any) -> None:
    env = env_factory()
    env.tk.disconnect("sandbox-org")
    step = named(env).connect_step
    label = {value: text for text, value in step.existing.options}["sandbox-org"]
    assert label.endswith("(disconnected: reconnect it on the connections page)")
    sign_ins = env.sandbox.log.count("salesforce", "POST", TOKEN)
    step.use_existing.click()
    assert step.state == "fail"
    assert "“sandbox-org” is disconnected: reconnect it on the connections page" in step.message.text
    assert env.sandbox.log.count("salesforce", "POST", TOKEN) == sign_ins  # no sign-in tried
    assert env.tk.store.get_integration("newsletter").connection_id is None

    step.connect.click()  # a new connection is still made through the login page
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "success", step.message.text
    offered = [value for _, value in step.existing.options]
    assert (
        offered == ["newsletter-salesforce", "sandbox-org"] and step.existing.value == "newsletter-salesforce"
    )


def test_a_connected_connection_is_preselected_before_a_disconnected_one(env_factory: Any) -> None:
    env = env_factory()
    wizard = named(env)
    step = wizard.connect_step
    step.connect.click()
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "success"
    env.tk.disconnect("newsletter-salesforce")  # a draft does not hold its connection
    again = named(env, "second").connect_step
    assert [value for _, value in again.existing.options] == ["newsletter-salesforce", "sandbox-org"]
    assert again.existing.value == "sandbox-org"


def test_closing_the_step_closes_the_listener_and_records_nothing(env_factory: Any) -> None:
    env = env_factory()
    step = named(env).connect_step
    step.connect.click()
    assert step.waiting
    callback = redirect_uri(step.authorize_url)
    assert listening(callback)
    answer = log_in(env, step.authorize_url)  # signed in at Salesforce, the redirect not yet followed
    step.close()
    assert not step.waiting and not listening(callback)
    with pytest.raises(requests.ConnectionError):
        requests.get(answer.headers["Location"], timeout=5)
    assert [c.name for c in env.tk.store.list_connections()] == ["sandbox-org"]


def test_a_new_sign_in_replaces_the_one_in_progress(env_factory: Any) -> None:
    env = env_factory()
    step = named(env).connect_step
    step.connect.click()
    first_url = step.authorize_url
    first = log_in(env, first_url)
    step.connect.click()  # again: the first sign-in's listener closes, its link is replaced
    assert step.authorize_url != first_url and step.waiting
    if redirect_uri(first_url) != redirect_uri(step.authorize_url):  # port 0: each one its own
        assert not listening(redirect_uri(first_url))
    step.complete(first.headers["Location"])  # the first one's redirect does not belong to this one
    assert step.state == "fail" and "state mismatch" in step.message.text and step.waiting
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "success"


def test_a_sign_in_that_never_comes_back_is_said_in_the_step_s_words(
    env_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_factory()
    monkeypatch.setattr(connect, "SIGN_IN_TIMEOUT", 0.6)
    step = named(env).connect_step
    step.connect.click()
    callback = redirect_uri(step.authorize_url)
    wait_for(lambda: step.state == "fail")
    assert step.message.text.startswith("Salesforce sign-in failed: no sign-in came back within ")
    assert step.message.text.endswith("press “Connect account” again")
    assert not step.waiting and step.login_link.value == "" and step.paste_box.layout.display == "none"
    assert not listening(callback)


def test_an_edit_s_sign_in_is_recorded_but_given_to_the_integration_only_by_the_save_step(
    env_factory: Any,
) -> None:
    env = env_factory()
    setup_integration(env.tk, "contacts")
    before = env.tk.store.get_integration("contacts").connection_id
    page = IntegrationsPage(env.tk)
    page.selected = "contacts"
    wizard = page.edit()
    assert wizard is not None
    step = wizard.connect_step
    assert step.state == SUCCESS and "sandbox-org" in step.message.text
    step.client_id.value = env.sandbox.info["salesforce"]["client_id"]
    step.connection_name.value = "contacts-person"
    step.connect.click()
    landing = requests.get(log_in(env, step.authorize_url).headers["Location"], timeout=10)
    assert landing.status_code == 200  # through the listener's thread
    wait_for(lambda: step.state == SUCCESS and step.connection == "contacts-person")
    assert step.message.text.endswith("It is used once you save the changes.")
    assert env.tk.store.get_connection("contacts-person").username
    assert env.tk.store.get_integration("contacts").connection_id == before  # not given yet
    assert wizard.collect_edit().connection == "contacts-person"  # what the save step stores
    page.close()


def test_an_edit_of_an_integration_on_a_disconnected_connection_says_so(env_factory: Any) -> None:
    env = env_factory()
    setup_integration(env.tk, "contacts")
    env.tk.pause("contacts")
    env.tk.disconnect("sandbox-org")
    page = IntegrationsPage(env.tk)
    page.selected = "contacts"
    wizard = page.edit()
    assert wizard is not None
    step = wizard.connect_step
    assert step.state == SUCCESS and step.existing.value == "sandbox-org"
    assert step.message.text.endswith(
        "It is disconnected: reconnect it on the connections page before the integration runs."
    )
    page.close()


def test_the_new_connection_is_recorded_as_made_in_the_wizard_by_its_actor(env_factory: Any) -> None:
    env = env_factory()
    env.tk.store.actor, env.tk.store.via = "jane@example.com", "setup wizard"
    step = named(env).connect_step
    step.connect.click()
    requests.get(log_in(env, step.authorize_url).headers["Location"], timeout=10)  # the listener's thread
    wait_for(lambda: step.state == SUCCESS)
    conn = env.tk.store.get_connection("newsletter-salesforce")
    made = [c for c in env.tk.store.list_changes(connection_id=conn.id) if c.action == ChangeAction.CONNECTED]
    assert [(c.actor, c.via) for c in made] == [("jane@example.com", "setup wizard")]
