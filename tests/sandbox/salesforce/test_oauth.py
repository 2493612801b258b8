"""The Salesforce sandbox's OAuth 2.0 server, driven over real HTTPS like a client would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from werkzeug.wrappers import Request, Response

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.http import json_response
from toolkit.sandbox.middleware import FaultInjector, RequestLog, Service
from toolkit.sandbox.salesforce.oauth import INVALID_SESSION_BODY, Credentials, OAuthServer
from toolkit.sandbox.salesforce.oauth.client import salesforce_session
from toolkit.sandbox.tls import SandboxTLS

ORG_ID = "00D5g000004XyZ1EAK"
USER_ID = "0055g000001AbCdAAE"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_ERROR = (
    "Please check your username and password. If you still can't log in, "
    "contact your Salesforce administrator."
)
REDIRECT = "http://127.0.0.1:53682/callback"


@pytest.fixture(scope="module")
def creds() -> Credentials:
    return Credentials.generate()


@pytest.fixture
def oauth(creds: Credentials, clock: Clock) -> OAuthServer:
    return OAuthServer(creds, clock, org_id=ORG_ID, user_id=USER_ID)


@pytest.fixture
def base(oauth: OAuthServer, clock: Clock, request_log: RequestLog, serve: Callable[[Service], str]) -> str:
    """The OAuth server plus one protected REST path that answers only with a live token."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"].startswith("/services/data/"):
            refusal = oauth.authenticate(Request(environ))
            return (refusal or json_response({"ok": True}))(environ, start_response)
        return oauth.wsgi_app(environ, start_response)

    def fault_body(status: int) -> Response:
        return json_response([{"message": "fault", "errorCode": "SERVER_UNAVAILABLE"}], status)

    service = Service(
        "salesforce",
        app,
        clock=clock,
        log=request_log,
        faults=FaultInjector(),
        fault_body=fault_body,
        control=oauth.control_routes(),
    )
    url = serve(service)
    oauth.instance_url = url
    return url


def token(http: requests.Session, base: str, **form: str) -> requests.Response:
    return http.post(f"{base}/services/oauth2/token", data=form)


def password_login(http: requests.Session, base: str, creds: Credentials) -> dict[str, Any]:
    resp = token(
        http,
        base,
        grant_type="password",
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        username=creds.username,
        password=creds.password,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def api_status(http: requests.Session, base: str, access_token: str) -> requests.Response:
    return http.get(f"{base}/services/data/v62.0/limits", headers={"Authorization": f"Bearer {access_token}"})


# -- the login page, parsed as a browser would --------------------------------------------------


class FormParser(HTMLParser):
    """Collects the login form's inputs, labels, error box and action."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.inputs: dict[str, dict[str, str]] = {}
        self.labels: dict[str, str] = {}
        self.error = ""
        self._label_for: str | None = None
        self._in_error = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input":
            self.inputs[a.get("name", "")] = a
        elif tag == "label":
            self._label_for = a.get("for")
        elif tag == "div" and a.get("id") == "error":
            self._in_error = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_for = None
        elif tag == "div":
            self._in_error = False

    def handle_data(self, data: str) -> None:
        if self._label_for:
            self.labels[self._label_for] = self.labels.get(self._label_for, "") + data
        if self._in_error:
            self.error += data

    def hidden(self) -> dict[str, str]:
        return {n: a["value"] for n, a in self.inputs.items() if a.get("type") == "hidden"}


def parse_form(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_params(creds: Credentials, challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": creds.client_id,
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st-42",
        "scope": "api refresh_token",
        **extra,
    }


def log_in_through_page(
    http: requests.Session, base: str, creds: Credentials, challenge: str, password: str | None = None
) -> requests.Response:
    page = http.get(f"{base}/services/oauth2/authorize", params=authorize_params(creds, challenge))
    assert page.status_code == 200
    form = parse_form(page.text)
    data = {**form.hidden(), "username": creds.username, "pw": password or creds.password}
    return http.post(base + form.action, data=data, allow_redirects=False)


def code_from(resp: requests.Response) -> dict[str, list[str]]:
    assert resp.status_code == 302, resp.text
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return parse_qs(location.query)


# -- password grant and token answers ------------------------------------------------------------


def test_password_grant_answers_like_salesforce(
    http: requests.Session, base: str, creds: Credentials, clock: Clock
) -> None:
    before = int(clock.now().timestamp() * 1000)
    resp = token(
        http,
        base,
        grant_type="password",
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        username=creds.username,
        password=creds.password,
    )
    body = resp.json()
    assert resp.status_code == 200
    assert "no-store" in resp.headers["Cache-Control"]
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == base
    assert body["id"] == f"{base}/id/{ORG_ID}/{USER_ID}"
    assert body["access_token"].startswith(ORG_ID[:15] + "!")
    assert "refresh_token" not in body  # the username-password flow never issues one
    assert body["issued_at"].isdigit() and int(body["issued_at"]) >= before
    expected = hmac.new(
        creds.client_secret.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
    )
    assert base64.b64decode(body["signature"]) == expected.digest()
    assert api_status(http, base, body["access_token"]).json() == {"ok": True}


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        ({"password": "wrong"}, "invalid_grant", "authentication failure"),
        ({"username": "nobody@example.com"}, "invalid_grant", "authentication failure"),
        ({"client_id": "3MVG9unknown"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "0" * 64}, "invalid_client", "invalid client credentials"),
        ({"grant_type": "device_code"}, "unsupported_grant_type", "grant type not supported"),
    ],
)
def test_token_errors_use_salesforce_codes_and_echo_no_secret(
    http: requests.Session,
    base: str,
    creds: Credentials,
    change: dict[str, str],
    error: str,
    description: str,
) -> None:
    form = {
        "grant_type": "password",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "username": creds.username,
        "password": creds.password,
        **change,
    }
    resp = token(http, base, **form)
    assert resp.status_code == 400
    assert resp.json() == {"error": error, "error_description": description}
    assert creds.password not in resp.text and creds.client_secret not in resp.text


def test_token_endpoint_refuses_get(http: requests.Session, base: str) -> None:
    resp = http.get(f"{base}/services/oauth2/token", params={"grant_type": "password"})
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_request"


# -- client credentials ------------------------------------------------------------------------------


def test_client_credentials_in_form_or_basic_auth(
    http: requests.Session, base: str, creds: Credentials
) -> None:
    in_form = token(
        http,
        base,
        grant_type="client_credentials",
        client_id=creds.client_id,
        client_secret=creds.client_secret,
    )
    basic = http.post(
        f"{base}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.client_id, creds.client_secret),
    )
    wrong = http.post(
        f"{base}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.client_id, "nope"),
    )
    assert in_form.status_code == 200 and basic.status_code == 200
    assert "refresh_token" not in basic.json()
    assert api_status(http, base, basic.json()["access_token"]).status_code == 200
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"


def test_simple_salesforce_client_credentials_login(
    base: str, creds: Credentials, tls: SandboxTLS, request_log: RequestLog
) -> None:
    session = salesforce_session(base, tls.ca_bundle)
    sf = Salesforce(
        consumer_key=creds.client_id,
        consumer_secret=creds.client_secret,
        domain="sandbox.my",
        session=session,
    )
    assert sf.sf_instance == base.removeprefix("https://")
    assert request_log.count("salesforce", "POST", "/services/oauth2/token") == 1
    resp = session.get(
        f"{base}/services/data/v62.0/limits", headers={"Authorization": f"Bearer {sf.session_id}"}
    )
    assert resp.status_code == 200


def test_simple_salesforce_jwt_login_with_its_string_exp(
    base: str, creds: Credentials, tls: SandboxTLS
) -> None:
    session = salesforce_session(base, tls.ca_bundle)
    sf = Salesforce(
        username=creds.username,
        consumer_key=creds.client_id,
        privatekey=creds.jwt_private_key_pem,
        domain="login",
        session=session,
    )
    assert sf.sf_instance == base.removeprefix("https://")
    assert sf.session_id.startswith(ORG_ID[:15] + "!")


# -- authorization code + PKCE ---------------------------------------------------------------------


def test_login_page_has_labelled_fields_and_carries_oauth_params(
    http: requests.Session, base: str, creds: Credentials
) -> None:
    _, challenge = pkce_pair()
    page = http.get(f"{base}/services/oauth2/authorize", params=authorize_params(creds, challenge))
    form = parse_form(page.text)
    assert page.headers["Content-Type"].startswith("text/html")
    assert form.labels == {"username": "Username", "password": "Password"}
    assert form.inputs["username"]["id"] == "username" and form.inputs["pw"]["id"] == "password"
    assert form.inputs["pw"]["type"] == "password"
    assert form.inputs["Login"]["value"] == "Log In"
    assert form.hidden() == authorize_params(creds, challenge)
    assert "http" not in page.text.split("<body", 1)[1].replace(REDIRECT, "")  # no external assets


def test_authorization_code_pkce_flow_end_to_end(
    http: requests.Session, base: str, creds: Credentials
) -> None:
    verifier, challenge = pkce_pair()
    query = code_from(log_in_through_page(http, base, creds, challenge))
    assert query["state"] == ["st-42"]
    resp = token(
        http,
        base,
        grant_type="authorization_code",
        code=query["code"][0],
        client_id=creds.client_id,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    body = resp.json()
    assert resp.status_code == 200, body
    assert body["refresh_token"].startswith("5Aep861")
    assert body["scope"] == "api refresh_token"
    userinfo = http.get(
        f"{base}/services/oauth2/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    ).json()
    assert userinfo["user_id"] == USER_ID and userinfo["organization_id"] == ORG_ID
    assert userinfo["preferred_username"] == creds.username
    identity = http.get(body["id"], headers={"Authorization": f"Bearer {body['access_token']}"})
    assert identity.status_code == 200 and identity.json()["username"] == creds.username


def test_wrong_password_on_login_page_shows_message_and_does_not_redirect(
    http: requests.Session, base: str, creds: Credentials
) -> None:
    _, challenge = pkce_pair()
    resp = log_in_through_page(http, base, creds, challenge, password="not-the-password")
    assert resp.status_code == 200
    assert "Location" not in resp.headers
    form = parse_form(resp.text)
    assert form.error == LOGIN_ERROR
    assert form.inputs["username"]["value"] == creds.username
    assert form.inputs["pw"]["value"] == ""
    assert form.hidden()["code_challenge"] == challenge


def test_authorization_code_is_single_use(http: requests.Session, base: str, creds: Credentials) -> None:
    verifier, challenge = pkce_pair()
    code = code_from(log_in_through_page(http, base, creds, challenge))["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": creds.client_id,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    assert token(http, base, **form).status_code == 200
    again = token(http, base, **form)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "expired authorization code"}


def test_wrong_code_verifier_is_refused(http: requests.Session, base: str, creds: Credentials) -> None:
    _, challenge = pkce_pair()
    code = code_from(log_in_through_page(http, base, creds, challenge))["code"][0]
    resp = token(
        http,
        base,
        grant_type="authorization_code",
        code=code,
        client_id=creds.client_id,
        redirect_uri=REDIRECT,
        code_verifier=pkce_pair()[0],
    )
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_grant", "error_description": "invalid code verifier"}


def test_authorization_code_expires_after_15_minutes(
    http: requests.Session, base: str, creds: Credentials, clock: Clock
) -> None:
    verifier, challenge = pkce_pair()
    code = code_from(log_in_through_page(http, base, creds, challenge))["code"][0]
    clock.advance(timedelta(minutes=15, seconds=1))
    resp = token(
        http,
        base,
        grant_type="authorization_code",
        code=code,
        client_id=creds.client_id,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert resp.json()["error_description"] == "expired authorization code"


def test_code_exchange_needs_the_same_redirect_uri(
    http: requests.Session, base: str, creds: Credentials
) -> None:
    verifier, challenge = pkce_pair()
    code = code_from(log_in_through_page(http, base, creds, challenge))["code"][0]
    resp = token(
        http,
        base,
        grant_type="authorization_code",
        code=code,
        client_id=creds.client_id,
        redirect_uri="http://127.0.0.1:9/other",
        code_verifier=verifier,
    )
    assert resp.json()["error"] == "redirect_uri_mismatch"


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"client_id": "3MVG9unknown"}, "error=invalid_client_id"),
        ({"redirect_uri": "https://evil.example.com/cb"}, "error=redirect_uri_mismatch"),
        ({"redirect_uri": "http://127.0.0.1@evil.example.com/cb"}, "error=redirect_uri_mismatch"),
        ({"redirect_uri": "myapp://callback"}, "error=redirect_uri_mismatch"),
    ],
)
def test_untrusted_client_or_redirect_gets_error_page_never_a_redirect(
    http: requests.Session, base: str, creds: Credentials, change: dict[str, str], text: str
) -> None:
    params = authorize_params(creds, pkce_pair()[1], **change)
    for resp in (
        http.get(f"{base}/services/oauth2/authorize", params=params, allow_redirects=False),
        http.post(
            f"{base}/services/oauth2/authorize",
            allow_redirects=False,
            data={**params, "username": creds.username, "pw": creds.password},
        ),
    ):
        assert resp.status_code == 400
        assert "Location" not in resp.headers
        assert text in resp.text


def test_bad_scope_is_redirected_back_as_an_oauth_error(
    http: requests.Session, base: str, creds: Credentials
) -> None:
    params = authorize_params(creds, pkce_pair()[1], scope="api full")
    resp = http.get(f"{base}/services/oauth2/authorize", params=params, allow_redirects=False)
    query = code_from(resp)
    assert query["error"] == ["invalid_scope"] and query["state"] == ["st-42"]
    assert "code" not in query


def test_login_page_escapes_echoed_parameters(http: requests.Session, base: str, creds: Credentials) -> None:
    evil = '"><script>alert(1)</script>'
    params = authorize_params(creds, pkce_pair()[1], state=evil, login_hint=evil)
    page = http.get(f"{base}/services/oauth2/authorize", params=params)
    assert "<script>" not in page.text
    form = parse_form(page.text)
    assert form.hidden()["state"] == evil and form.inputs["username"]["value"] == evil


# -- sessions: expiry, refresh, revoke ----------------------------------------------------------------


def code_flow_tokens(http: requests.Session, base: str, creds: Credentials) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    code = code_from(log_in_through_page(http, base, creds, challenge))["code"][0]
    resp = token(
        http,
        base,
        grant_type="authorization_code",
        code=code,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    return resp.json()


def test_expired_session_gets_invalid_session_id_and_refresh_recovers(
    http: requests.Session, base: str, creds: Credentials, clock: Clock
) -> None:
    tokens = code_flow_tokens(http, base, creds)
    clock.advance(timedelta(seconds=7201))
    expired = api_status(http, base, tokens["access_token"])
    assert expired.status_code == 401
    assert expired.json() == INVALID_SESSION_BODY
    refreshed = token(
        http,
        base,
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        client_id=creds.client_id,
    )
    assert refreshed.status_code == 200
    assert "refresh_token" not in refreshed.json()
    assert api_status(http, base, refreshed.json()["access_token"]).status_code == 200


def test_session_timeout_counts_from_last_activity(
    http: requests.Session, base: str, creds: Credentials, clock: Clock
) -> None:
    access = password_login(http, base, creds)["access_token"]
    clock.advance(timedelta(seconds=5000))
    assert api_status(http, base, access).status_code == 200
    clock.advance(timedelta(seconds=5000))
    assert api_status(http, base, access).status_code == 200
    clock.advance(timedelta(seconds=7200))
    assert api_status(http, base, access).status_code == 401


def test_oauth_prefix_is_accepted_and_missing_token_refused(
    http: requests.Session, base: str, creds: Credentials
) -> None:
    access = password_login(http, base, creds)["access_token"]
    ok = http.get(f"{base}/services/data/v62.0/", headers={"Authorization": f"OAuth {access}"})
    missing = http.get(f"{base}/services/data/v62.0/")
    assert ok.status_code == 200
    assert missing.status_code == 401 and missing.json() == INVALID_SESSION_BODY


def test_expire_sessions_control_route_keeps_refresh_tokens(
    http: requests.Session, base: str, creds: Credentials, request_log: RequestLog
) -> None:
    tokens = code_flow_tokens(http, base, creds)
    resp = http.post(f"{base}/_sandbox/salesforce/expire-sessions")
    assert resp.status_code == 200 and resp.json()["expired_sessions"] >= 1
    assert api_status(http, base, tokens["access_token"]).status_code == 401
    assert (
        token(
            http,
            base,
            grant_type="refresh_token",
            refresh_token=tokens["refresh_token"],
            client_id=creds.client_id,
        ).status_code
        == 200
    )
    assert request_log.count(path_prefix="/_sandbox/") == 0


def test_revoking_a_refresh_token_ends_it_and_its_sessions(
    http: requests.Session, base: str, creds: Credentials
) -> None:
    tokens = code_flow_tokens(http, base, creds)
    revoke = http.post(f"{base}/services/oauth2/revoke", data={"token": tokens["refresh_token"]})
    assert revoke.status_code == 200
    assert api_status(http, base, tokens["access_token"]).status_code == 401
    again = token(
        http,
        base,
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        client_id=creds.client_id,
    )
    assert again.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    unknown = http.post(f"{base}/services/oauth2/revoke", data={"token": tokens["refresh_token"]})
    assert unknown.status_code == 400 and unknown.json()["error"] == "unsupported_token_type"


def test_revoking_an_access_token_ends_that_session(
    http: requests.Session, base: str, creds: Credentials
) -> None:
    access = password_login(http, base, creds)["access_token"]
    assert http.post(f"{base}/services/oauth2/revoke", data={"token": access}).status_code == 200
    assert api_status(http, base, access).status_code == 401
    userinfo = http.get(f"{base}/services/oauth2/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert userinfo.status_code == 403 and userinfo.text == "Bad_OAuth_Token"


# -- JWT bearer -----------------------------------------------------------------------------------------


def assertion(creds: Credentials, key_pem: str | None = None, **claims: Any) -> str:
    payload = {
        "iss": creds.client_id,
        "sub": creds.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
        **claims,
    }
    return jwt.encode(payload, key_pem or creds.jwt_private_key_pem, algorithm="RS256")


@pytest.fixture(scope="module")
def other_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_jwt_bearer_with_good_signature(http: requests.Session, base: str, creds: Credentials) -> None:
    resp = token(http, base, grant_type=JWT_BEARER, assertion=assertion(creds, aud=base))
    body = resp.json()
    assert resp.status_code == 200, body
    assert set(body) == {"access_token", "scope", "instance_url", "id", "token_type"}
    assert api_status(http, base, body["access_token"]).status_code == 200


@pytest.mark.parametrize(
    ("claims", "use_other_key", "error", "description"),
    [
        ({}, True, "invalid_grant", "invalid assertion"),
        ({"aud": "https://evil.example.com"}, False, "invalid_grant", "audience is invalid"),
        ({"exp": int(time.time()) - 10}, False, "invalid_grant", "expired authorization code"),
        ({"iss": "3MVG9unknown"}, False, "invalid_client_id", "client identifier invalid"),
        ({"sub": "someone@else.example.com"}, False, "invalid_grant", "authentication failure"),
    ],
)
def test_jwt_bearer_refusals(
    http: requests.Session,
    base: str,
    creds: Credentials,
    other_key_pem: str,
    claims: dict[str, Any],
    use_other_key: bool,
    error: str,
    description: str,
) -> None:
    signed = assertion(creds, other_key_pem if use_other_key else None, **claims)
    resp = token(http, base, grant_type=JWT_BEARER, assertion=signed)
    assert resp.status_code == 400
    assert resp.json() == {"error": error, "error_description": description}


# -- credentials ----------------------------------------------------------------------------------------


def test_generated_credentials_look_real_and_summary_hides_secrets(creds: Credentials) -> None:
    assert creds.client_id.startswith("3MVG9") and len(creds.client_id) == 85
    assert creds.username == "integration@sandbox.example.com"
    assert "BEGIN CERTIFICATE" in creds.jwt_public_key_pem
    assert creds.jwt_public_key().key_size == 2048
    summary = creds.public_summary()
    assert summary == {"client_id": creds.client_id, "username": creds.username}
    for secret in (creds.client_secret, creds.password, creds.jwt_private_key_pem):
        assert secret not in repr(creds) and secret not in str(summary)
