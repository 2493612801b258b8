"""Issue 15 over HTTPS: a connection checked, disconnected (its grant revoked at Salesforce) and reconnected.

A person's connection is made through the sandbox's real login page (authorization code + PKCE,
a plain HTTP client playing the browser), so that it holds a refresh token. Disconnecting is
refused while an integration that runs by itself uses the connection (active, or stopped by the
quota); once it is paused, Salesforce revokes the refresh token (``POST /services/oauth2/revoke``)
and, with it, every access token issued from it: the refresh grant answers ``invalid_grant`` and
the REST API 401 ``INVALID_SESSION_ID``. A reconnection must be the same account; it brings the
integration back. Every change is in the change log with who made it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.support import connections
from tests.support.sync import Env
from toolkit.connections import TokenState, disconnect_salesforce, open_salesforce, reconnect_salesforce
from toolkit.exceptions import AuthError, ConfigError
from toolkit.salesforce import TokenSet, auth, make_session
from toolkit.sandbox.salesforce.oauth import INVALID_SESSION_BODY
from toolkit.store import ChangeAction, Connection, IntegrationStatus, RunStatus, StopReason

REVOKE = "/services/oauth2/revoke"
NAME = "person"


def log_in(env: Env, authorize_url: str) -> None:
    """Sign in on the sandbox's login page and follow its redirect to the loopback listener."""
    connections.log_in(env.sandbox.info["salesforce"], authorize_url)


def person_sign_in(env: Env) -> TokenSet:
    return connections.person_sign_in(env.sandbox.info["salesforce"])


def connect_person(env: Env, integration: str = "contacts") -> Connection:
    """A person's connection (with a refresh token) and an active integration using it."""
    conn = connections.connect_person(env.tk, env.sandbox.info["salesforce"], NAME)
    connections.activate_contacts(env.tk, integration, NAME)
    return conn


def api(env: Env, tokens: TokenSet) -> requests.Response:
    return connections.limits_call(
        env.sandbox.info["salesforce"], env.settings.salesforce_api_version, tokens
    )


def refresh(env: Env, refresh_token: Any) -> TokenSet:
    sf = env.sandbox.info["salesforce"]
    session = make_session(sf["ca_bundle"])
    try:
        return auth.refresh(sf["login_url"], sf["client_id"], refresh_token, session=session)
    finally:
        session.close()


def test_disconnect_is_refused_while_an_integration_runs_then_revokes_the_grant_at_salesforce(
    env_factory: Any,
) -> None:
    env = env_factory(contacts=8, seed=5)
    tk = env.tk
    connect_person(env)
    assert tk.run("contacts").status == RunStatus.SUCCEEDED
    view = next(v for v in tk.connections() if v.name == NAME)
    assert view.uses == "1 of 5" and view.integrations == (("contacts", "active"),)
    assert view.token_state == TokenState.NOT_CHECKED and view.connected
    assert view.api_usage is not None and view.api_usage.limit > 0  # B3, from the run
    assert view.username == env.sandbox.info["salesforce"]["username"] and view.org_id
    assert tk.check_connection(NAME) == TokenState.VALID
    assert next(v for v in tk.connections() if v.name == NAME).token_state == TokenState.VALID

    # The tokens as they are before the disconnection: the stored refresh token and an access token.
    old_refresh = tk.credentials.get("salesforce", NAME, "refresh_token")
    session = refresh(env, old_refresh)
    assert api(env, session).status_code == 200

    with pytest.raises(
        ConfigError,
        match=r"cannot be disconnected while an integration runs through it: 'contacts' \(active\)",
    ):
        tk.disconnect(NAME)
    tk.store.set_status("contacts", IntegrationStatus.STOPPED, stop_reason=StopReason.QUOTA)
    with pytest.raises(ConfigError, match=r"'contacts' \(stopped by the quota\)"):
        tk.disconnect(NAME)  # it resumes by itself: it holds the connection too
    assert next(v for v in tk.connections() if v.name == NAME).integrations == (
        ("contacts", "stopped by the quota"),
    )
    assert env.sandbox.log.count("salesforce", "POST", REVOKE) == 0
    assert tk.store.get_connection(NAME).connected

    tk.store.set_status("contacts", IntegrationStatus.ACTIVE)
    tk.pause("contacts")  # a paused integration does not run: the connection may go
    assert tk.disconnect(NAME) is True  # Salesforce confirmed the revocation
    assert env.sandbox.log.count("salesforce", "POST", REVOKE) == 1
    with pytest.raises(AuthError) as refused:
        refresh(env, old_refresh)
    assert refused.value.code == "invalid_grant"
    gone = api(env, session)
    assert gone.status_code == 401 and gone.json() == INVALID_SESSION_BODY  # revoked with its refresh token
    assert tk.credentials.find("salesforce", NAME, "refresh_token") is None

    conn = tk.store.get_connection(NAME)
    assert conn.disconnected_at is not None and not conn.connected
    assert tk.check_connection(NAME) == TokenState.DISCONNECTED
    view = next(v for v in tk.connections() if v.name == NAME)
    assert view.token_state == TokenState.DISCONNECTED and view.uses == "1 of 5"  # still its connection
    with pytest.raises(ConfigError, match="was disconnected"):
        open_salesforce(tk.store, tk.credentials, tk.settings, NAME)
    with pytest.raises(ConfigError, match="reconnect it"):
        tk.resume("contacts")
    with pytest.raises(ConfigError, match="disconnected already"):
        tk.disconnect(NAME)
    assert env.sandbox.log.count("salesforce", "POST", REVOKE) == 1

    changes = tk.connection_changes(NAME)
    assert [c.action for c in changes] == [ChangeAction.DISCONNECTED, ChangeAction.CONNECTED]
    assert changes[0].actor == tk.store.actor and changes[0].subject == NAME
    assert changes[1].new is not None and env.sandbox.info["salesforce"]["username"] in changes[1].new


def test_a_reconnection_through_the_login_page_brings_the_integration_back(env_factory: Any) -> None:
    env = env_factory(contacts=8, seed=6)
    tk = env.tk
    connect_person(env)
    tk.pause("contacts")
    assert tk.disconnect(NAME) is True

    outcomes: list[Connection | Exception] = []
    sign_in = tk.start_reconnect(NAME, on_done=outcomes.append, port=0)
    assert sign_in.waiting and sign_in.authorize_url.startswith(env.sandbox.info["salesforce"]["login_url"])
    log_in(env, sign_in.authorize_url)
    deadline = time.monotonic() + 30
    while not outcomes and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(outcomes) == 1 and isinstance(outcomes[0], Connection), outcomes
    conn = tk.store.get_connection(NAME)
    assert conn.connected and conn.flow == "authorization_code"
    assert tk.credentials.find("salesforce", NAME, "refresh_token") is not None
    assert tk.check_connection(NAME) == TokenState.VALID
    tk.resume("contacts")
    assert tk.run("contacts").status == RunStatus.SUCCEEDED
    assert [c.action for c in tk.connection_changes(NAME)] == [
        ChangeAction.RECONNECTED,
        ChangeAction.DISCONNECTED,
        ChangeAction.CONNECTED,
    ]
    assert tk.connection_changes(NAME)[0].old == "disconnected"


def test_a_reconnection_as_another_account_is_refused_and_its_tokens_revoked(env_factory: Any) -> None:
    env = env_factory()
    tk = env.tk
    connect_person(env)
    tk.pause("contacts")
    tk.disconnect(NAME)
    tk.store.update_connection(NAME, user_id="005000000000OTHER", username="someone.else@example.com")
    tokens = person_sign_in(env)
    revokes = env.sandbox.log.count("salesforce", "POST", REVOKE)
    with pytest.raises(ConfigError, match=r"but connection 'person' is 'someone\.else@example\.com'"):
        reconnect_salesforce(tk.store, tk.credentials, tk.settings, NAME, tokens=tokens, client_id=None)
    assert env.sandbox.log.count("salesforce", "POST", REVOKE) == revokes + 1
    assert api(env, tokens).status_code == 401  # the refused sign-in leaves no live token
    conn = tk.store.get_connection(NAME)
    assert not conn.connected and tk.credentials.find("salesforce", NAME, "refresh_token") is None
    assert tk.connection_changes(NAME)[0].action == ChangeAction.DISCONNECTED


def test_a_connection_reconnected_while_connected_has_its_old_grant_revoked(env_factory: Any) -> None:
    env = env_factory()
    tk = env.tk
    connect_person(env)
    old_refresh = tk.credentials.get("salesforce", NAME, "refresh_token")
    tk.reconnect(NAME, person_sign_in(env))  # e.g. after "sign-in refused": the active integration stays
    assert tk.store.get_integration("contacts").status == IntegrationStatus.ACTIVE
    with pytest.raises(AuthError):
        refresh(env, old_refresh)
    assert tk.credentials.get("salesforce", NAME, "refresh_token") != old_refresh
    assert tk.check_connection(NAME) == TokenState.VALID


def test_a_client_credentials_connection_revokes_the_live_session_and_forgets_its_secret(
    env_factory: Any,
) -> None:
    env = env_factory(contacts=4)
    tk = env.tk  # make_env's connection "sandbox-org": the client-credentials flow, no refresh token
    tk.create_integration("draft", "Contact")
    tk.use_connection("draft", "sandbox-org")  # a draft does not hold the connection
    live = tk.salesforce("draft").tokens
    assert api(env, live).status_code == 200
    assert tk.disconnect("sandbox-org") is True
    assert api(env, live).status_code == 401
    assert tk.credentials.find("salesforce", "sandbox-org", "client_secret") is None
    assert tk.check_connection("sandbox-org") == TokenState.DISCONNECTED
    with pytest.raises(ConfigError, match="reconnect it"):
        tk.activate("draft")


def test_without_a_live_session_there_is_nothing_to_revoke(env_factory: Any) -> None:
    env = env_factory()
    assert disconnect_salesforce(env.tk.store, env.tk.credentials, env.settings, "sandbox-org") is None
    assert env.sandbox.log.count("salesforce", "POST", REVOKE) == 0


def test_a_connection_whose_grant_was_revoked_elsewhere_checks_as_refused(env_factory: Any) -> None:
    env = env_factory()
    connect_person(env)
    sf = env.sandbox.info["salesforce"]
    done = requests.post(
        f"{sf['login_url']}/_sandbox/salesforce/revoke-refresh-tokens", verify=sf["ca_bundle"], timeout=10
    )
    assert done.status_code == 200
    assert env.tk.check_connection(NAME) == TokenState.REFUSED
    assert next(v for v in env.tk.connections() if v.name == NAME).token_state == TokenState.REFUSED
