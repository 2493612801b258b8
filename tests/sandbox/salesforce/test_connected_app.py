"""``/_sandbox/salesforce/connected-app``: the sandbox app set as Salesforce Setup would set it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.support.connections import bare_sandbox
from tests.support.salesforce import post_login_form
from toolkit.exceptions import AuthError
from toolkit.salesforce import auth, make_session
from toolkit.sandbox import Sandbox

CALLBACK = "http://127.0.0.1:38080/callback"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with bare_sandbox() as box:
        yield box


@pytest.fixture
def sf(sandbox: Sandbox) -> Iterator[dict[str, Any]]:
    info = dict(sandbox.info["salesforce"])
    yield info
    sandbox.oauth.app.update({"reset": True})


@pytest.fixture
def http(sf: dict[str, Any]) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    session.verify = sf["ca_bundle"]
    yield session
    session.close()


def app(http: requests.Session, sf: dict[str, Any], **settings: Any) -> requests.Response:
    return http.put(f"{sf['login_url']}/_sandbox/salesforce/connected-app", json=settings)


def authorize_url(
    sf: dict[str, Any], redirect_uri: str = CALLBACK, scope: str = "api refresh_token"
) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": sf["client_id"],
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{sf['login_url']}/services/oauth2/authorize?{query}", verifier


def exchange(
    http: requests.Session, sf: dict[str, Any], code: str, verifier: str, **extra: str
) -> requests.Response:
    return http.post(
        f"{sf['login_url']}/services/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": sf["client_id"],
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
            **extra,
        },
    )


def test_defaults_are_lenient_and_shown(http: requests.Session, sf: dict[str, Any]) -> None:
    answer = http.get(f"{sf['login_url']}/_sandbox/salesforce/connected-app")
    assert answer.json() == {
        "callback_urls": [],
        "scopes": ["api", "refresh_token"],
        "unselected_scopes": "refuse",
        "require_secret": False,
        "jwt_preauthorized": True,
    }


def test_registered_callback_urls_are_matched_exactly(http: requests.Session, sf: dict[str, Any]) -> None:
    assert app(http, sf, callback_urls=[CALLBACK]).json()["callback_urls"] == [CALLBACK]
    for other in ("http://127.0.0.1:38081/callback", CALLBACK + "/", "http://localhost:38080/callback"):
        page = http.get(authorize_url(sf, other)[0], allow_redirects=False)
        assert page.status_code == 400 and "Location" not in page.headers
        assert "error=redirect_uri_mismatch" in page.text
    assert http.get(authorize_url(sf)[0]).status_code == 200  # the registered one gets the login page


def test_unselected_scope_refused_or_left_out(http: requests.Session, sf: dict[str, Any]) -> None:
    app(http, sf, scopes=["api"])
    refused = http.get(authorize_url(sf)[0], allow_redirects=False)
    query = parse_qs(urlsplit(refused.headers["Location"]).query)
    assert query["error"] == ["invalid_scope"] and query["error_description"] == [
        "the requested scope is not allowed"
    ]

    app(http, sf, unselected_scopes="omit")
    url, verifier = authorize_url(sf)
    code = parse_qs(urlsplit(post_login_form(http, sf, url).headers["Location"]).query)["code"][0]
    body = exchange(http, sf, code, verifier).json()
    assert body["scope"] == "api" and "refresh_token" not in body and body["access_token"]


def test_required_secret_for_the_web_server_and_refresh_flows(
    http: requests.Session, sf: dict[str, Any]
) -> None:
    app(http, sf, require_secret=True)
    url, verifier = authorize_url(sf)
    code = parse_qs(urlsplit(post_login_form(http, sf, url).headers["Location"]).query)["code"][0]
    refused = exchange(http, sf, code, verifier)
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}

    url, verifier = authorize_url(sf)
    code = parse_qs(urlsplit(post_login_form(http, sf, url).headers["Location"]).query)["code"][0]
    tokens = exchange(http, sf, code, verifier, client_secret=sf["client_secret"]).json()
    refresh = {
        "grant_type": "refresh_token",
        "client_id": sf["client_id"],
        "refresh_token": tokens["refresh_token"],
    }
    token_url = f"{sf['login_url']}/services/oauth2/token"
    assert http.post(token_url, data=refresh).json()["error"] == "invalid_client"
    assert http.post(token_url, data={**refresh, "client_secret": sf["client_secret"]}).status_code == 200


@pytest.mark.parametrize(
    "settings",
    [
        {"scopes": ["api", "bogus"]},
        {"unselected_scopes": "maybe"},
        {"callback_urls": "x"},
        {"require_secret": "yes"},
        {"jwt_preauthorized": 1},
        {"colour": 1},
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    http: requests.Session, sf: dict[str, Any], settings: dict[str, Any]
) -> None:
    before = http.get(f"{sf['login_url']}/_sandbox/salesforce/connected-app").json()
    answer = app(http, sf, **settings)
    assert answer.status_code == 400 and answer.json()["error"]
    assert http.get(f"{sf['login_url']}/_sandbox/salesforce/connected-app").json() == before


def test_a_user_not_preauthorized_for_jwt_is_refused(
    sandbox: Sandbox, http: requests.Session, sf: dict[str, Any]
) -> None:
    key = Path(sf["jwt_private_key_file"]).read_text()
    session = make_session(sf["ca_bundle"])
    app(http, sf, jwt_preauthorized=False)
    with pytest.raises(AuthError) as caught:
        auth.jwt_bearer(sf["login_url"], sf["client_id"], sf["username"], key, session=session)
    assert caught.value.code == "invalid_grant"
    assert "user hasn't approved this consumer" in str(caught.value)
    assert "Admin approved users are pre-authorized" in str(caught.value)
    app(http, sf, jwt_preauthorized=True)
    assert auth.jwt_bearer(
        sf["login_url"], sf["client_id"], sf["username"], key, session=session
    ).access_token
    session.close()
