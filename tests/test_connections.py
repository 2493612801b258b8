"""SPEC S3 over HTTPS: one Salesforce account (org id + user id) is used by at most 5 integrations.

What counts is the integrations whose connection belongs to the account (Contacts and Leads
together, any status), not connection rows. A 6th use is refused before any sign-in where the
account is known (a stored connection), and a fresh sign-in that is refused has its tokens
revoked at Salesforce (``POST /services/oauth2/revoke``), so that they answer 401
``INVALID_SESSION_ID``. The wizard's side of it is in tests/ui/wizard/test_wizard.py. The identity read
and the revocation, made outside the API funnel, are retried like every Salesforce request.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.sync import Env, setup_integration
from toolkit.connections import connect_salesforce, identity_username, revoke_sign_in
from toolkit.exceptions import ConfigError, ConnectionLimitError
from toolkit.salesforce import TokenSet, auth, make_session
from toolkit.sandbox.middleware import FaultPlan
from toolkit.sandbox.salesforce.oauth import INVALID_SESSION_BODY

TOKEN, REVOKE = "/services/oauth2/token", "/services/oauth2/revoke"


def _sign_in(env: Env) -> TokenSet:
    sf = env.sandbox.info["salesforce"]
    session = make_session(sf["ca_bundle"])
    try:
        return auth.client_credentials(sf["login_url"], sf["client_id"], sf["client_secret"], session=session)
    finally:
        session.close()


def _api(env: Env, tokens: TokenSet) -> requests.Response:
    """One REST call with the sign-in's access token."""
    sf = env.sandbox.info["salesforce"]
    return requests.get(
        f"{tokens.instance_url}/services/data/v{env.settings.salesforce_api_version}/limits",
        headers={"Authorization": f"Bearer {tokens.access_token.reveal()}"},
        verify=sf["ca_bundle"],
        timeout=10,
    )


def _five_users(env: Env) -> list[str]:
    names = [f"use-{n}" for n in range(5)]
    for n, name in enumerate(names):
        env.tk.create_integration(name, ("Contact", "Lead")[n % 2])
        env.tk.use_connection(name, "sandbox-org")
    return names


def test_s3_five_integrations_on_one_account_run_and_a_sixth_reuse_is_refused_before_any_sign_in(
    env_factory: Any,
) -> None:
    env = env_factory(contacts=6, leads=6, seed=3)
    for n in range(5):  # Contacts and Leads, all through the one stored connection
        setup_integration(env.tk, f"use-{n}", ("Contact", "Lead")[n % 2])
    for n in range(5):
        assert env.tk.run(f"use-{n}").status == "succeeded"
    env.tk.deactivate("use-4")  # a draft still uses the account

    env.tk.create_integration("sixth", "Lead")
    sign_ins = env.sandbox.log.count("salesforce", "POST", TOKEN)
    with pytest.raises(ConnectionLimitError) as refused:
        env.tk.use_connection("sixth", "sandbox-org")
    message = str(refused.value)
    assert "'integration@sandbox.example.com'" in message and "already used by 5 integrations" in message
    assert "('use-0', 'use-1', 'use-2', 'use-3', 'use-4')" in message
    assert "at most 5 integrations in total, Contacts and Leads together (S3)" in message
    assert env.sandbox.log.count("salesforce", "POST", TOKEN) == sign_ins  # refused without signing in
    assert env.tk.store.get_integration("sixth").connection_id is None

    env.tk.store.delete_integration("use-0")  # a deleted integration frees its place
    env.tk.use_connection("sixth", "sandbox-org")
    assert env.tk.store.account_users("sandbox-org") == ["sixth", "use-1", "use-2", "use-3", "use-4"]


def test_s3_a_sixth_use_through_a_fresh_sign_in_is_refused_and_its_token_revoked(env_factory: Any) -> None:
    env = env_factory()
    users = _five_users(env)
    env.tk.create_integration("sixth", "Contact")
    tokens = _sign_in(env)
    assert _api(env, tokens).status_code == 200
    sf = env.sandbox.info["salesforce"]
    with pytest.raises(ConnectionLimitError, match=r"already used by 5 integrations"):
        connect_salesforce(
            env.tk.store,
            env.tk.credentials,
            env.settings,
            name="sixth-org",
            tokens=tokens,
            client_id=sf["client_id"],
            flow="client_credentials",
            secrets={"client_secret": sf["client_secret"]},
            integration="sixth",
        )
    assert env.sandbox.log.count("salesforce", "POST", REVOKE) == 1
    gone = _api(env, tokens)
    assert gone.status_code == 401 and gone.json() == INVALID_SESSION_BODY  # the token no longer works
    assert [c.name for c in env.tk.store.list_connections()] == ["sandbox-org"]  # nothing half-saved
    assert env.tk.credentials.find("salesforce", "sixth-org", "client_secret") is None
    assert env.tk.store.get_integration("sixth").connection_id is None

    # A new connection of the same account that no integration uses is no use (e.g. replacing a
    # stale one): it is kept, and an integration of the five may move to it.
    spare = connect_salesforce(
        env.tk.store,
        env.tk.credentials,
        env.settings,
        name="spare",
        tokens=_sign_in(env),
        client_id=sf["client_id"],
        flow="client_credentials",
        secrets={"client_secret": sf["client_secret"]},
    )
    env.tk.use_connection(users[0], "spare")
    assert env.tk.store.get_integration(users[0]).connection_id == spare.id
    assert env.tk.store.account_users("spare") == users  # still five uses of the one account
    with pytest.raises(ConnectionLimitError):
        env.tk.use_connection("sixth", "spare")
    assert env.sandbox.log.count("salesforce", "POST", REVOKE) == 1  # kept sign-ins are not revoked


def test_s3_a_sign_in_refused_for_another_reason_is_revoked_too(env_factory: Any) -> None:
    env = env_factory()
    tokens = _sign_in(env)
    sf = env.sandbox.info["salesforce"]
    with pytest.raises(ConfigError, match="already exists"):  # the connection name is taken
        connect_salesforce(
            env.tk.store,
            env.tk.credentials,
            env.settings,
            name="sandbox-org",
            tokens=tokens,
            client_id=sf["client_id"],
            flow="client_credentials",
            secrets={"client_secret": sf["client_secret"]},
        )
    assert _api(env, tokens).status_code == 401
    assert env.tk.credentials.find("salesforce", "sandbox-org", "client_secret") is not None  # the old one's
    env.tk.create_integration("contacts", "Contact")
    env.tk.use_connection("contacts", "sandbox-org")
    assert env.tk.salesforce("contacts").limits()  # the stored connection still signs in


# -- outside the funnel: identity reads and revocations go through the same retry -------------------


def test_an_identity_read_goes_through_the_retry(env_factory: Any) -> None:
    env = env_factory()
    sf = env.sandbox.info["salesforce"]
    tokens = _sign_in(env)
    mark = len(env.sandbox.log.entries("salesforce"))
    env.sandbox.faults["salesforce"].set_plan(FaultPlan(script=["503"], path_prefix="/id/"))
    assert identity_username(tokens, env.settings) == sf["username"]
    identity = [e.status for e in env.sandbox.log.entries("salesforce")[mark:] if e.path.startswith("/id/")]
    assert identity == [503, 200]


def test_a_refused_sign_in_is_revoked_even_when_the_revoke_endpoint_answers_503_first(
    env_factory: Any,
) -> None:
    env = env_factory()
    tokens = _sign_in(env)
    mark = len(env.sandbox.log.entries("salesforce"))
    env.sandbox.faults["salesforce"].set_plan(FaultPlan(script=["503"], path_prefix=REVOKE))
    assert revoke_sign_in(tokens, env.sandbox.info["salesforce"]["login_url"], env.settings)
    revokes = [e.status for e in env.sandbox.log.entries("salesforce")[mark:] if e.path == REVOKE]
    assert revokes == [503, 200]
    assert _api(env, tokens).status_code == 401
