"""README "Going live", tried on the sandbox: the errors a user meets and the unattended set-up.

Each error is made on the sandbox the way an administrator makes it in Salesforce Setup
(``PUT /_sandbox/salesforce/connected-app``, ``POST /_sandbox/salesforce/api-enabled``); the
wizard's connect step must then say, word for word, what the README quotes (both are checked
against the constants below, so neither can drift). The client-credentials and JWT snippets are
the README's own code blocks, run as written on a fresh state directory.
"""

from __future__ import annotations

import re
import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.sync import Env
from tests.support.ui import named
from tests.ui.wizard.test_wizard import log_in, set_api
from toolkit import Toolkit
from toolkit.exceptions import AuthError
from toolkit.salesforce import AuthorizationCodeFlow, make_session
from toolkit.ui import SetupWizard

README = Path(__file__).resolve().parents[3] / "README.md"
README_PORT = 38080  # the port of the README's example

WRONG_CALLBACK = (
    "Salesforce sign-in failed: Salesforce refused the sign-in with redirect_uri_mismatch "
    "(redirect_uri must match configuration): the app's Callback URL must be exactly "
    "http://127.0.0.1:38080/callback. Add it to the Callback URL of the external client app (or "
    "connected app) in Salesforce Setup, save, and connect again (a change can take a few minutes "
    "to apply)"
)
API_DISABLED = (
    "This Salesforce org does not allow API access (API_DISABLED_FOR_ORG). Ask your Salesforce "
    'administrator to enable "API Enabled" for your profile or edition, then connect again.'
)
SCOPE_REFUSED = (
    "Salesforce sign-in failed: Salesforce refused the scopes the toolkit asks for (api "
    "refresh_token) with invalid_scope (the requested scope is not allowed): the app's Selected "
    "OAuth Scopes must include “Manage user data via APIs (api)” and “Perform requests at any time "
    "(refresh_token, offline_access)”. Add them to the external client app (or connected app) in "
    "Salesforce Setup, save, and connect again"
)
NO_REFRESH_TOKEN = (
    "Salesforce sign-in failed: Salesforce signed you in but gave no refresh token, so scheduled "
    "runs could not sign in again: the app's Selected OAuth Scopes must include “Perform requests "
    "at any time (refresh_token, offline_access)”. Add it to the external client app (or connected "
    "app) in Salesforce Setup, save, and connect again"
)
SECRET_REQUIRED = (
    "Salesforce sign-in failed: Salesforce wants the consumer secret for this sign-in (invalid_client"
)


def going_live() -> str:
    """The README's "Going live" section, its lines joined as a reader reads them."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## Going live")
    section = text[start : text.index("\n## ", start + 1)]
    return re.sub(r"\s*\n\s*", " ", section)


def code_blocks() -> list[str]:
    """The README section's Python blocks, dedented."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## Going live")
    section = text[start : text.index("\n## ", start + 1)]
    return [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", section, flags=re.S)]


@pytest.mark.parametrize(
    "quote", [WRONG_CALLBACK, API_DISABLED, SCOPE_REFUSED, NO_REFRESH_TOKEN, SECRET_REQUIRED]
)
def test_the_readme_quotes_the_wizards_messages(quote: str) -> None:
    assert quote in going_live()


def connected_app(env: Env, **settings: Any) -> dict[str, Any]:
    """Set the sandbox app as Setup would (``PUT /_sandbox/salesforce/connected-app``)."""
    sf = env.sandbox.info["salesforce"]
    answer = requests.put(
        f"{sf['login_url']}/_sandbox/salesforce/connected-app",
        json=settings,
        verify=sf["ca_bundle"],
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_wrong_callback_url_is_said_at_once_with_the_url_to_register(env_factory: Any) -> None:
    env = env_factory()
    connected_app(env, callback_urls=["http://127.0.0.1:1717/callback"])  # registered: another one
    port = free_port()  # salesforce_callback_port
    wizard = SetupWizard(env.tk, client_id=env.sandbox.info["salesforce"]["client_id"], callback_port=port)
    wizard.name_step.name.value = "callback"
    wizard.name_step.create.click()
    wizard.next_button.click()
    connect = wizard.connect_step
    connect.connect.click()
    assert connect.state == "fail" and not connect.waiting  # said on the click, before any login
    assert connect.message.text == WRONG_CALLBACK.replace(str(README_PORT), str(port))
    assert "Traceback" not in connect.message.text

    connected_app(env, callback_urls=[f"http://127.0.0.1:{port}/callback"])  # fixed in Setup
    connect.connect.click()
    assert connect.state == "ready" and connect.waiting
    connect.complete(log_in(env, connect.authorize_url).headers["Location"])
    assert connect.state == "success", connect.message.text
    wizard.close()


def test_a_random_port_is_said_to_need_a_fixed_one(env_factory: Any) -> None:
    env = env_factory()
    connected_app(env, callback_urls=["http://127.0.0.1:1717/callback"])
    step = named(env).connect_step  # salesforce_callback_port = 0
    step.connect.click()
    assert step.state == "fail" and "redirect_uri_mismatch" in step.message.text
    assert "salesforce_callback_port is 0" in step.message.text


def test_api_disabled_is_said_with_what_to_enable(env_factory: Any) -> None:
    env = env_factory()
    step = named(env).connect_step
    set_api(env, False)
    step.connect.click()
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "fail" and step.message.text == API_DISABLED
    assert [c.name for c in env.tk.store.list_connections()] == ["sandbox-org"]  # nothing recorded


def test_missing_scope_refused_by_salesforce_is_said_at_once(env_factory: Any) -> None:
    env = env_factory()
    assert connected_app(env, scopes=["api"])["scopes"] == ["api"]
    step = named(env).connect_step
    step.connect.click()
    assert step.state == "fail" and step.message.text == SCOPE_REFUSED


def test_missing_scope_granted_without_it_is_said_and_its_tokens_revoked(env_factory: Any) -> None:
    env = env_factory()
    connected_app(env, scopes=["api"], unselected_scopes="omit")
    step = named(env).connect_step
    before = env.sandbox.oauth.store.counts()
    step.connect.click()
    assert step.state == "ready"
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "fail" and step.message.text == NO_REFRESH_TOKEN
    assert env.sandbox.oauth.store.counts() == before  # the sign-in's access token is revoked
    assert [c.name for c in env.tk.store.list_connections()] == ["sandbox-org"]

    connected_app(env, scopes=["api", "refresh_token"])  # fixed in Setup
    step.connect.click()
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "success", step.message.text


def test_required_secret_is_said_then_the_stored_secret_is_used(
    env_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_factory()
    connected_app(env, require_secret=True)
    step = named(env).connect_step
    step.connect.click()
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "fail" and step.message.text.startswith(SECRET_REQUIRED)
    assert "TOOLKIT_SALESFORCE_<CONNECTION>_CLIENT_SECRET" in step.message.text

    monkeypatch.setenv(
        "TOOLKIT_SALESFORCE_NEWSLETTER_SALESFORCE_CLIENT_SECRET",
        env.sandbox.info["salesforce"]["client_secret"],
    )
    step.connect.click()
    step.complete(log_in(env, step.authorize_url).headers["Location"])
    assert step.state == "success", step.message.text


def test_the_readmes_unattended_connections_from_nothing(
    env_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = env_factory()  # only for its sandbox: the state below starts empty
    sf, brevo = env.sandbox.info["salesforce"], env.sandbox.info["brevo"]
    state = tmp_path / "live-state"
    state.mkdir()
    (state / "toolkit.toml").write_text(  # step 1, with the sandbox's URLs and CA
        f'salesforce_login_url = "{sf["login_url"]}"\n'
        f'salesforce_client_id = "{sf["client_id"]}"\n'
        f"salesforce_callback_port = {free_port()}\n"
        f'brevo_api_url = "{brevo["base_url"]}"\n'
        f'ca_bundle = "{sf["ca_bundle"]}"\n'
    )
    monkeypatch.setenv("TOOLKIT_STATE_DIR", str(state))
    monkeypatch.setenv("TOOLKIT_SALESFORCE_PROD_CLIENT_SECRET", sf["client_secret"])  # step 4
    monkeypatch.setenv("TOOLKIT_BREVO_DEFAULT_API_KEY", brevo["api_key"])
    monkeypatch.chdir(tmp_path)
    Path("salesforce.key").write_text(Path(sf["jwt_private_key_file"]).read_text())

    client_credentials, jwt_bearer = code_blocks()
    exec(
        compile(client_credentials, "README client credentials", "exec"), {}
    )  # the README's code, as written
    printed = capsys.readouterr().out.split()
    assert len(printed) == 2 and printed[0] == sf["username"] and "@" in printed[1]
    exec(  # the README's code, with the sandbox's user for the example's
        compile(jwt_bearer.replace("integration@acme.example.com", sf["username"]), "README JWT", "exec"), {}
    )

    with Toolkit() as tk:
        assert {c.name: c.flow for c in tk.store.list_connections()} == {
            "prod": "client_credentials",
            "prod-jwt": "jwt_bearer",
        }
        tk.create_integration("newsletter", "Contact")  # step 6, in Python
        tk.use_connection("newsletter", "prod")
        tk.accept_opt_in("newsletter")
        tk.set_mapping("newsletter", tk.suggest_mapping("newsletter"))
        tk.choose_list("newsletter", new_list="Newsletter")
        tk.activate("newsletter")
        assert tk.run("newsletter").status == "succeeded"
        tk.use_connection("newsletter", "prod-jwt")
        assert tk.run("newsletter").status == "succeeded"
    assert (state / "credentials.json").stat().st_mode & 0o777 == 0o600


def test_a_pasted_error_page_address_says_the_same(env_factory: Any) -> None:
    """Where the check on "Connect account" could not run, the error page's address pasted says it."""
    env = env_factory()
    sf = env.sandbox.info["salesforce"]
    session = make_session(sf["ca_bundle"])
    port = free_port()
    with (
        AuthorizationCodeFlow(
            sf["login_url"], sf["client_id"], session=session, port=port, check=False
        ) as flow,
        pytest.raises(AuthError) as caught,
    ):
        flow.complete(
            f"{sf['login_url']}/services/oauth2/authorize?error=redirect_uri_mismatch"
            "&error_description=redirect_uri%20must%20match%20configuration"
        )
    session.close()
    assert caught.value.code == "redirect_uri_mismatch"
    assert f"Salesforce sign-in failed: {caught.value}" == WRONG_CALLBACK.replace(str(README_PORT), str(port))
