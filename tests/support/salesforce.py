"""Fixtures shared by the Salesforce sandbox tests (this module holds no tests itself).

``sf_env`` serves a fresh org over real HTTPS and hands back a simple-salesforce client built
the way the toolkit builds it (``session_id`` + ``instance_url`` + a CA-trusting session).
:class:`SandboxSalesforce` is that client with the types of what it returns, and
:func:`error_body` reads the errors it raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.bulk import SFBulkHandler
from simple_salesforce.bulk2 import DEFAULT_QUERY_PAGE_SIZE, SFBulk2Handler, SFBulk2Type
from simple_salesforce.exceptions import SalesforceError

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.middleware import FaultInjector, RequestLog, Service
from toolkit.sandbox.salesforce.app import make_service
from toolkit.sandbox.salesforce.ids import make_id
from toolkit.sandbox.salesforce.oauth import Credentials, OAuthServer
from toolkit.sandbox.salesforce.org import SalesforceOrg

API = "/services/data/v59.0"
UNKNOWN_CONTACT_ID = make_id("003", 987_654_321)  # well-formed, never issued


class SandboxSalesforce(Salesforce):
    """simple-salesforce's client, typed as it behaves.

    simple-salesforce annotates ``sf.<name>`` as ``SFBulkHandler | SFBulk2Handler | SFType``
    whatever the name: here ``sf.Contact`` is an :class:`SFType` and ``sf.bulk``/``sf.bulk2``
    are the Bulk API handlers. ``describe()`` and ``restful()`` return the decoded JSON (None
    only for an empty answer), not ``Optional[Any]``, so that tests may index them.
    """

    def __getattr__(self, name: str) -> SFType:
        found = super().__getattr__(name)
        if not isinstance(found, SFType):
            raise AttributeError(name)
        return found

    @property
    def bulk(self) -> SFBulkHandler:
        """The Bulk API 1.0 handler (``sf.bulk.Contact...``)."""
        handler = super().__getattr__("bulk")
        assert isinstance(handler, SFBulkHandler)
        return handler

    @property
    def bulk2(self) -> SFBulk2Handler:
        """The Bulk API 2.0 handler (``sf.bulk2.Contact.query(...)``)."""
        handler = super().__getattr__("bulk2")
        assert isinstance(handler, SFBulk2Handler)
        return handler

    def bulk2_query(
        self, sobject: str, soql: str, *, max_records: int = DEFAULT_QUERY_PAGE_SIZE, wait: float = 0.01
    ) -> list[str]:
        """The CSV pages of a Bulk API 2.0 query (``sf.bulk2.<sobject>.query``), polled every ``wait`` s."""
        job: SFBulk2Type = getattr(self.bulk2, sobject)
        pages = []
        # simple-salesforce annotates wait as int, yet only sleeps it (and its own default poll is 0.5 s)
        for page in job.query(soql, max_records=max_records, wait=wait):  # type: ignore[arg-type]
            assert isinstance(page, str), (
                "simple-salesforce annotates the pages as str | int; they are CSV text"
            )
            pages.append(page)
        return pages

    def describe(self, **kwargs: Any) -> Any:
        """The global describe (``GET /sobjects``)."""
        return super().describe(**kwargs)

    def restful(
        self, path: str, params: dict[str, Any] | None = None, method: str = "GET", **kwargs: Any
    ) -> Any:
        """A REST call to ``path`` under the API version's root, as :meth:`Salesforce.restful`."""
        return super().restful(path, params, method, **kwargs)


def error_body(exc: SalesforceError) -> list[dict[str, Any]]:
    """The error answer a simple-salesforce exception carries, ``[{"message", "errorCode", ...}]``.

    simple-salesforce annotates ``SalesforceError.content`` as bytes, but stores the decoded JSON.
    """
    content: object = exc.content
    assert isinstance(content, list), content
    return content


@dataclass
class SfEnv:
    """A served sandbox org and clients for it."""

    org: SalesforceOrg
    oauth: OAuthServer
    service: Service
    url: str
    token: str
    http: requests.Session
    clock: Clock
    log: RequestLog
    credentials: Credentials

    def renew(self) -> None:
        """Log in again (sessions expire when a test moves the clock on by hours)."""
        self.token = get_token(self.http, self.url, self.credentials)

    @property
    def sf(self) -> SandboxSalesforce:
        """A simple-salesforce client (default API version 59.0)."""
        return SandboxSalesforce(instance_url=self.url, session_id=self.token, session=self.http)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url + path, headers={**self.headers(), **kw.pop("headers", {})}, **kw)

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.http.request(
            method, self.url + path, headers={**self.headers(), **kw.pop("headers", {})}, **kw
        )

    def contacts(self, n: int, **extra: Any) -> list[str]:
        """Create ``n`` valid contacts through the Python API; returns their Ids."""
        results = self.org.create_many(
            "Contact",
            [
                {"FirstName": f"First{i}", "LastName": f"Last{i}", "Email": f"person{i}@example.com", **extra}
                for i in range(n)
            ],
        )
        assert all(r["success"] for r in results)
        return [r["id"] for r in results]


class LoginForm(HTMLParser):
    """The sandbox login page's form, read from its HTML: where it posts and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")


def post_login_form(
    browser: requests.Session, sf: dict[str, Any], authorize_url: str, *, password: str | None = None
) -> requests.Response:
    """Open the authorize URL and submit the sandbox login form, as a browser would (no redirect followed).

    ``sf`` is the sandbox's ``info["salesforce"]``; ``password`` replaces the sandbox user's own.
    """
    page = browser.get(authorize_url, verify=sf["ca_bundle"])
    assert page.status_code == 200 and "Log In" in page.text, page.text
    form = LoginForm()
    form.feed(page.text)
    return browser.post(
        sf["login_url"] + form.action,
        verify=sf["ca_bundle"],
        allow_redirects=False,
        data={**form.hidden, "username": sf["username"], "pw": password or sf["password"]},
    )


def get_token(http: requests.Session, url: str, credentials: Credentials) -> str:
    """An access token from the client-credentials grant."""
    resp = http.post(
        f"{url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        },
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


@pytest.fixture(scope="session")
def sf_credentials() -> Credentials:
    """One connected app for the session (generating its RSA key takes a moment)."""
    return Credentials.generate()


@pytest.fixture
def sf_env(
    serve: Callable[[Service], str],
    http: requests.Session,
    clock: Clock,
    request_log: RequestLog,
    sf_credentials: Credentials,
) -> SfEnv:
    """A fresh org (API limit 100,000) served over HTTPS, with a live access token."""
    org = SalesforceOrg(clock, seed=7)
    credentials = sf_credentials
    oauth = OAuthServer(credentials, clock, org_id=org.org_id, user_id=org.user_id)
    service = make_service(org, oauth, log=request_log, faults=FaultInjector())
    url = serve(service)
    oauth.instance_url = url
    return SfEnv(
        org, oauth, service, url, get_token(http, url, credentials), http, clock, request_log, credentials
    )
