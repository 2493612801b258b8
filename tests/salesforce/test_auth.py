"""Salesforce OAuth flows against the sandbox's login URL, over real HTTPS (no mocking)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.salesforce import post_login_form
from toolkit.credentials import Secret
from toolkit.exceptions import AuthError
from toolkit.salesforce import (
    AuthorizationCodeFlow,
    RetryPolicy,
    TokenSet,
    client_credentials,
    default_audience,
    jwt_bearer,
    make_session,
    password,
    refresh,
)
from toolkit.sandbox.runner import Sandbox, SandboxConfig

TOKEN_PATH = "/services/oauth2/token"
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(SandboxConfig(contacts=0, brevo_rate_limit=0))
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def sf(sandbox: Sandbox) -> dict[str, Any]:
    return dict(sandbox.info["salesforce"])


@pytest.fixture
def session(sf: dict[str, Any]) -> Iterator[requests.Session]:
    s = make_session(sf["ca_bundle"], retry=FAST)
    yield s
    s.close()


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    """A plain HTTP client standing in for the person's browser (trusts the sandbox CA only)."""
    s = requests.Session()
    s.trust_env = False
    yield s
    s.close()


def api_works(sf: dict[str, Any], session: requests.Session, tokens: TokenSet) -> bool:
    resp = session.get(
        f"{tokens.instance_url}/services/data/v62.0/limits",
        headers={"Authorization": f"Bearer {tokens.access_token.reveal()}"},
    )
    return resp.status_code == 200


def assert_token_set(tokens: TokenSet, sandbox: Sandbox, flow: str) -> None:
    assert tokens.flow == flow
    assert tokens.instance_url == sandbox.info["salesforce"]["instance_url"]
    assert tokens.org_id == sandbox.salesforce.org_id
    assert tokens.user_id == sandbox.salesforce.user_id
    assert tokens.id_url.endswith(f"/id/{tokens.org_id}/{tokens.user_id}")
    assert isinstance(tokens.access_token, Secret)
    assert tokens.access_token.reveal() not in repr(tokens)


# -- the login page, filled in by the "browser" ------------------------------------------------


def sign_in_on_login_page(browser: requests.Session, sf: dict[str, Any], authorize_url: str) -> str:
    """Open the authorize URL, submit the login form; returns the redirect's Location."""
    answer = post_login_form(browser, sf, authorize_url)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def state_of(flow: AuthorizationCodeFlow) -> str:
    return parse_qs(urlsplit(flow.authorize_url).query)["state"][0]


# -- client credentials, JWT bearer, password, refresh -------------------------------------------


def test_client_credentials_signs_in_and_the_token_works(
    sandbox: Sandbox, sf: dict[str, Any], session: requests.Session
) -> None:
    tokens = client_credentials(sf["login_url"], sf["client_id"], sf["client_secret"], session=session)
    assert_token_set(tokens, sandbox, "client_credentials")
    assert tokens.refresh_token is None
    assert api_works(sf, session, tokens)


def test_jwt_bearer_with_the_sandbox_key_file(
    sandbox: Sandbox, sf: dict[str, Any], session: requests.Session
) -> None:
    pem = Path(sf["jwt_private_key_file"]).read_text(encoding="utf-8")
    tokens = jwt_bearer(sf["login_url"], sf["client_id"], sf["username"], Secret(pem), session=session)
    assert_token_set(tokens, sandbox, "jwt_bearer")
    assert api_works(sf, session, tokens)


def test_jwt_bearer_refusals_are_auth_errors(sf: dict[str, Any], session: requests.Session) -> None:
    pem = Path(sf["jwt_private_key_file"]).read_text(encoding="utf-8")
    with pytest.raises(AuthError) as wrong_user:
        jwt_bearer(sf["login_url"], sf["client_id"], "nobody@example.com", pem, session=session)
    assert wrong_user.value.code == "invalid_grant"
    with pytest.raises(AuthError) as wrong_aud:
        jwt_bearer(
            sf["login_url"],
            sf["client_id"],
            sf["username"],
            pem,
            session=session,
            audience="https://elsewhere.example",
        )
    assert wrong_aud.value.code == "invalid_grant" and "audience" in str(wrong_aud.value)
    with pytest.raises(AuthError) as bad_key:
        jwt_bearer(sf["login_url"], sf["client_id"], sf["username"], "not a key", session=session)
    assert bad_key.value.code == "invalid_private_key"


@pytest.mark.parametrize(
    ("login_url", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://acme.my.salesforce.com/", "https://login.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("https://127.0.0.1:4431", "https://127.0.0.1:4431"),
    ],
)
def test_jwt_audience_follows_the_login_url(login_url: str, audience: str) -> None:
    assert default_audience(login_url) == audience


def test_password_flow(sandbox: Sandbox, sf: dict[str, Any], session: requests.Session) -> None:
    tokens = password(
        sf["login_url"], sf["client_id"], sf["client_secret"], sf["username"], sf["password"], session=session
    )
    assert_token_set(tokens, sandbox, "password")
    assert api_works(sf, session, tokens)


def test_wrong_password_is_an_auth_error_without_the_password(
    sf: dict[str, Any], session: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "Wr0ng-Passw0rd-" + sf["password"][::-1]
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as caught:
        password(
            sf["login_url"], sf["client_id"], sf["client_secret"], sf["username"], wrong, session=session
        )
    assert caught.value.code == "invalid_grant"
    assert "authentication failure" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), caplog.text):
        assert wrong not in text and sf["client_secret"] not in text


def test_bad_client_secret_is_an_auth_error_without_the_secret(
    sf: dict[str, Any], session: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    bad = "S3cret-" + sf["client_secret"][:20][::-1]
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as caught:
        client_credentials(sf["login_url"], sf["client_id"], bad, session=session)
    assert caught.value.code == "invalid_client"
    assert "invalid client credentials" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), repr(caught.value.__cause__), caplog.text):
        assert bad not in text


def test_unreachable_login_url_is_an_auth_error_after_the_retries() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    session = make_session(None, retry=FAST, sleep=waits.append)
    with pytest.raises(AuthError) as caught:
        client_credentials(f"https://127.0.0.1:{port}", "id", "secret-value", session=session)
    assert caught.value.code == "unreachable" and "secret-value" not in str(caught.value)
    assert len(waits) == FAST.attempts - 1  # a connection never opened is tried again, even for a POST


def test_plain_http_login_url_is_refused(session: requests.Session) -> None:
    with pytest.raises(AuthError) as caught:
        client_credentials("http://login.salesforce.com", "id", "secret", session=session)
    assert caught.value.code == "invalid_login_url"


# -- authorization code + PKCE through the loopback listener ------------------------------------


def test_authorization_code_flow_through_the_listener_then_refresh(
    sandbox: Sandbox, sf: dict[str, Any], session: requests.Session, browser: requests.Session
) -> None:
    with AuthorizationCodeFlow(sf["login_url"], sf["client_id"], session=session) as flow:
        query = parse_qs(urlsplit(flow.authorize_url).query)
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
        assert query["redirect_uri"] == [flow.redirect_uri]
        assert flow.redirect_uri == f"http://127.0.0.1:{flow.port}/callback"
        location = sign_in_on_login_page(browser, sf, flow.authorize_url)
        assert location.startswith(flow.redirect_uri + "?")
        landing = browser.get(location)  # the browser follows the redirect to the listener
        assert landing.status_code == 200 and "You can close this window" in landing.text
        tokens = flow.wait(timeout=5)
    assert_token_set(tokens, sandbox, "authorization_code")
    assert tokens.refresh_token is not None and "refresh_token" in tokens.scope
    assert api_works(sf, session, tokens)

    renewed = refresh(sf["login_url"], sf["client_id"], tokens.refresh_token, session=session)
    assert_token_set(renewed, sandbox, "refresh_token")
    assert renewed.access_token != tokens.access_token
    assert renewed.refresh_token == tokens.refresh_token
    assert api_works(sf, session, renewed)

    sandbox.oauth.revoke_refresh_tokens()
    with pytest.raises(AuthError) as revoked:
        refresh(sf["login_url"], sf["client_id"], tokens.refresh_token, session=session)
    assert revoked.value.code == "invalid_grant"
    assert tokens.refresh_token.reveal() not in str(revoked.value)


def test_pasted_redirect_url_completes_the_flow(
    sandbox: Sandbox, sf: dict[str, Any], session: requests.Session, browser: requests.Session
) -> None:
    with AuthorizationCodeFlow(sf["login_url"], sf["client_id"], session=session) as flow:
        location = sign_in_on_login_page(browser, sf, flow.authorize_url)
        tokens = flow.complete(location)
    assert_token_set(tokens, sandbox, "authorization_code")
    assert api_works(sf, session, tokens)


def test_callback_error_becomes_auth_error(
    sf: dict[str, Any], session: requests.Session, browser: requests.Session
) -> None:
    with AuthorizationCodeFlow(sf["login_url"], sf["client_id"], session=session) as flow:
        page = browser.get(
            flow.redirect_uri,
            params={
                "error": "access_denied",
                "error_description": "end-user denied authorization",
                "state": state_of(flow),
            },
        )
        assert page.status_code == 400 and "access_denied" in page.text
        with pytest.raises(AuthError) as caught:
            flow.wait(timeout=5)
    assert caught.value.code == "access_denied"
    assert "end-user denied authorization" in str(caught.value)


def test_callback_with_wrong_state_is_refused_and_its_code_never_exchanged(
    sandbox: Sandbox, sf: dict[str, Any], session: requests.Session, browser: requests.Session
) -> None:
    with AuthorizationCodeFlow(sf["login_url"], sf["client_id"], session=session) as flow:
        location = sign_in_on_login_page(browser, sf, flow.authorize_url)
        genuine = parse_qs(urlsplit(location).query)
        token_calls = sandbox.log.count("salesforce", "POST", TOKEN_PATH)
        forged = browser.get(flow.redirect_uri, params={"code": genuine["code"][0], "state": "forged-state"})
        assert forged.status_code == 400
        with pytest.raises(AuthError) as timed_out:
            flow.wait(timeout=0.3)  # the forged callback did not complete the flow
        assert timed_out.value.code == "timeout"
        with pytest.raises(AuthError) as pasted:
            flow.complete(location.replace(genuine["state"][0], "other-state"))
        assert pasted.value.code == "state_mismatch"
        assert sandbox.log.count("salesforce", "POST", TOKEN_PATH) == token_calls
        assert browser.get(location).status_code == 200  # the genuine redirect still works
        assert flow.wait(timeout=5).flow == "authorization_code"


def test_listener_answers_only_the_callback_path_and_stops_on_close(
    sf: dict[str, Any], session: requests.Session, browser: requests.Session
) -> None:
    flow = AuthorizationCodeFlow(sf["login_url"], sf["client_id"], session=session)
    assert browser.get(f"http://127.0.0.1:{flow.port}/other").status_code == 404
    flow.close()
    with pytest.raises(requests.ConnectionError):
        browser.get(flow.redirect_uri, params={"code": "x", "state": state_of(flow)}, timeout=2)


def test_taken_listener_port_is_an_auth_error(sf: dict[str, Any], session: requests.Session) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(AuthError) as caught:
            AuthorizationCodeFlow(
                sf["login_url"], sf["client_id"], session=session, port=taken.getsockname()[1]
            )
    assert caught.value.code == "listener_unavailable"


def test_make_session_trusts_only_the_given_bundle(sf: dict[str, Any]) -> None:
    s = make_session(sf["ca_bundle"])
    assert s.trust_env is False and s.verify == sf["ca_bundle"]
    assert str(s.headers["User-Agent"]).startswith("sf-brevo-toolkit/")
    assert make_session(None).trust_env is True
