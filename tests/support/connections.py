"""Helpers of the connection tests (issue 15): a person's Salesforce connection and what checks it.

A person signs in through the sandbox's real login page (authorization code + PKCE, a plain HTTP
client playing the browser), so that the connection holds a refresh token; an integration of
Contacts is then set up on it and activated. Also: a call of Salesforce's REST API with an access
token (to see whether a token still works), and a bare sandbox (no records, no Brevo rate limit).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests

from tests.support.salesforce import post_login_form
from tests.support.sync import MAPPING
from toolkit.api import Toolkit
from toolkit.connections import connect_salesforce
from toolkit.salesforce import AuthorizationCodeFlow, TokenSet, make_session
from toolkit.sandbox import Sandbox, SandboxConfig
from toolkit.store import Connection

__all__ = ["activate_contacts", "bare_sandbox", "connect_person", "limits_call", "log_in", "person_sign_in"]


def log_in(sf: dict[str, Any], authorize_url: str) -> None:
    """Sign in on the sandbox's login page and follow its redirect to the loopback listener.

    Args:
        sf: the sandbox's ``info["salesforce"]``.
        authorize_url: the sign-in's authorize URL (the toolkit's listener waits for the redirect).
    """
    browser = requests.Session()
    browser.trust_env = False
    answer = post_login_form(browser, sf, authorize_url)
    assert answer.status_code == 302, answer.text
    assert requests.get(answer.headers["Location"], timeout=10).status_code == 200


def person_sign_in(sf: dict[str, Any]) -> TokenSet:
    """The authorization-code flow through the sandbox's login page: the person's tokens."""
    session = make_session(sf["ca_bundle"])
    try:
        with AuthorizationCodeFlow(sf["login_url"], sf["client_id"], session=session) as flow:
            log_in(sf, flow.authorize_url)
            return flow.wait(timeout=30)
    finally:
        session.close()


def connect_person(tk: Toolkit, sf: dict[str, Any], name: str) -> Connection:
    """Connection ``name`` made with a person's sign-in (:func:`person_sign_in`): it holds a refresh token."""
    return connect_salesforce(
        tk.store,
        tk.credentials,
        tk.settings,
        name=name,
        tokens=person_sign_in(sf),
        client_id=sf["client_id"],
        flow="authorization_code",
    )


def activate_contacts(tk: Toolkit, integration: str, connection: str) -> None:
    """An active integration of Contacts through ``connection``, with the usual mapping and a new list."""
    tk.create_integration(integration, "Contact")
    tk.use_connection(integration, connection)
    tk.accept_opt_in(integration)
    tk.set_mapping(integration, MAPPING)
    tk.choose_list(integration, new_list="Salesforce Contacts")
    tk.activate(integration)


def limits_call(sf: Mapping[str, Any], api_version: str, tokens: TokenSet) -> requests.Response:
    """``GET /limits`` of Salesforce's REST API with ``tokens``' access token (200 while it works, else 401)."""
    return requests.get(
        f"{tokens.instance_url}/services/data/v{api_version}/limits",
        headers={"Authorization": f"Bearer {tokens.access_token.reveal()}"},
        verify=sf["ca_bundle"],
        timeout=10,
    )


@contextmanager
def bare_sandbox() -> Iterator[Sandbox]:
    """A started sandbox without records or Brevo rate limit, stopped afterwards."""
    box = Sandbox(SandboxConfig(contacts=0, leads=0, brevo_rate_limit=0))
    box.start()
    try:
        yield box
    finally:
        box.stop()
