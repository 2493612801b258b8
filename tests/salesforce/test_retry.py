"""The one retry of every Salesforce request (toolkit/salesforce/retry.py), over HTTPS against the sandbox.

The org is served here with the sandbox's own app, request log and fault injection; only its fault
answers are given a ``Retry-After`` header (the sandbox's own carry none). Waits go through a
recording ``sleep``, so that what the retry waited is checked without waiting it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import requests
from requests.adapters import HTTPAdapter
from werkzeug.wrappers import Response

from toolkit.exceptions import AuthError, RetriableApiError
from toolkit.salesforce import (
    RetryPolicy,
    SalesforceClient,
    SalesforceRetry,
    TokenSet,
    client_credentials,
    make_session,
)
from toolkit.salesforce.retry import one_call
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.middleware import FaultInjector, FaultPlan, RequestLog, Service
from toolkit.sandbox.salesforce import control_routes, fault_body, make_app
from toolkit.sandbox.salesforce.oauth import Credentials, OAuthServer
from toolkit.sandbox.salesforce.org import SalesforceOrg
from toolkit.sandbox.tls import SandboxTLS

V = "/services/data/v62.0"
TOKEN = "/services/oauth2/token"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=60.0)


@dataclass
class Org:
    """A served sandbox org whose 429 and 503 fault answers say ``Retry-After: <retry_after>``."""

    org: SalesforceOrg
    oauth: OAuthServer
    url: str
    ca_bundle: str
    credentials: Credentials
    faults: FaultInjector
    log: RequestLog
    retry_after: str | None = "2"
    waits: list[float] = field(default_factory=list)

    def fault(self, status: int) -> Response:
        response = fault_body(status)
        if status in (429, 503) and self.retry_after is not None:
            response.headers["Retry-After"] = self.retry_after
        return response

    def session(self, policy: RetryPolicy = FAST) -> requests.Session:
        return make_session(self.ca_bundle, retry=policy, sleep=self.waits.append)

    def sign_in(self, session: requests.Session) -> TokenSet:
        return client_credentials(
            self.url, self.credentials.client_id, self.credentials.client_secret, session=session
        )

    def client(self, policy: RetryPolicy = FAST) -> SalesforceClient:
        session = self.session(policy)
        return SalesforceClient(self.sign_in(session), lambda: self.sign_in(session), session=session)

    def statuses(self, method: str, path: str) -> list[int]:
        """Statuses of the logged requests to exactly ``path`` (0 = connection reset)."""
        return [
            e.status
            for e in self.log.entries("salesforce")
            if e.method == method and e.path.rstrip("/") == path
        ]


def _retry_of(session: requests.Session) -> SalesforceRetry:
    adapter = session.adapters["https://"]
    assert isinstance(adapter, HTTPAdapter) and isinstance(adapter.max_retries, SalesforceRetry)
    return adapter.max_retries


@pytest.fixture
def served(
    serve: Callable[[Service], str],
    clock: Clock,
    request_log: RequestLog,
    sf_credentials: Credentials,
    tls: SandboxTLS,
) -> Iterator[Org]:
    org = SalesforceOrg(clock, seed=5)
    oauth = OAuthServer(sf_credentials, clock, org_id=org.org_id, user_id=org.user_id)
    faults = FaultInjector()
    holder = Org(org, oauth, "", str(tls.ca_bundle), sf_credentials, faults, request_log)
    service = Service(
        "salesforce",
        make_app(org, oauth),
        clock=clock,
        log=request_log,
        faults=faults,
        fault_body=holder.fault,
        control=control_routes(org, oauth),
    )
    holder.url = serve(service)
    oauth.instance_url = holder.url
    assert all(r["success"] for r in org.create_many("Contact", [{"LastName": f"L{i}"} for i in range(3)]))
    yield holder


@pytest.mark.parametrize(
    ("fault", "header", "waited"),
    [("503", "2", 2.0), ("429", "1", 1.0), ("503", "900", 60.0)],  # 60 = the policy's max_retry_after
)
def test_a_query_answered_503_with_retry_after_is_retried_after_that_wait(
    served: Org, fault: str, header: str, waited: float
) -> None:
    client = served.client()
    served.retry_after = header
    served.faults.set_plan(FaultPlan(script=[fault]))
    assert client.count("Contact") == 3
    assert served.statuses("GET", f"{V}/query") == [int(fault), 200]
    assert served.waits == [waited] and client.funnel.retries == 1


def test_without_retry_after_the_wait_is_a_bounded_backoff(served: Org) -> None:
    served.retry_after = None
    client = served.client()
    served.faults.set_plan(FaultPlan(script=["503", "500", "reset"]))
    assert client.count("Contact") == 3
    assert served.statuses("GET", f"{V}/query") == [503, 500, 0, 200]
    assert len(served.waits) == 3 and all(0.005 <= w <= 0.05 for w in served.waits)


def test_a_create_whose_connection_was_reset_after_sending_is_not_sent_again(served: Org) -> None:
    client = served.client()
    before = len(served.org.records("Contact"))
    for fault, status in (("reset", 0), ("500", 500)):  # Salesforce may have created it
        served.faults.set_plan(FaultPlan(script=[fault]))
        with pytest.raises(RetriableApiError) as caught:
            client.create_records("Contact", [{"LastName": "Once"}])
        assert caught.value.status == status and "not sent again" in str(caught.value)
    assert served.statuses("POST", f"{V}/composite/sobjects") == [0, 500]
    assert served.waits == [] and client.funnel.retries == 0

    served.faults.set_plan(FaultPlan(script=["503", "429"]))  # refused without being run
    assert client.create_records("Contact", [{"LastName": "Once"}])[0].success
    assert served.statuses("POST", f"{V}/composite/sobjects") == [0, 500, 503, 429, 200]
    # The reset and the 500 came before the sandbox ran the request: only the last create is there.
    assert len(served.org.records("Contact")) == before + 1


def test_an_update_whose_connection_was_reset_is_sent_again(served: Org) -> None:
    client = served.client()
    rid = served.org.records("Contact")[0]["Id"]
    served.faults.set_plan(FaultPlan(script=["reset", "500"]))
    assert client.update_records("Contact", [{"Id": rid, "FirstName": "Again"}])[0].success
    assert served.statuses("PATCH", f"{V}/composite/sobjects") == [0, 500, 200]
    assert (served.org.get("Contact", rid) or {}).get("FirstName") == "Again"


def test_a_token_request_that_hit_a_503_is_retried_by_the_same_mechanism(served: Org) -> None:
    session = served.session()
    served.faults.set_plan(FaultPlan(script=["503", "reset"], path_prefix=TOKEN))
    tokens = served.sign_in(session)
    assert tokens.org_id == served.org.org_id
    assert served.statuses("POST", TOKEN) == [503, 0, 200]
    assert served.waits[0] == 2.0 and len(served.waits) == 2  # Retry-After honoured, then backoff

    served.faults.set_plan(FaultPlan(script=["503"] * 4, path_prefix=TOKEN))
    with pytest.raises(AuthError) as caught:
        served.sign_in(session)
    assert caught.value.code == "http_503"
    assert served.statuses("POST", TOKEN)[3:] == [503] * 4  # the policy's 4 tries, then given up


def test_a_session_renewal_during_a_call_survives_a_flaky_token_endpoint(served: Org) -> None:
    client = served.client()
    served.oauth.expire_sessions()
    served.faults.set_plan(FaultPlan(script=["503", "reset"], path_prefix=TOKEN))
    assert client.count("Contact") == 3
    assert served.statuses("GET", f"{V}/query") == [401, 200]
    assert served.statuses("POST", TOKEN)[-3:] == [503, 0, 200]
    assert client.funnel.reauthentications == 1 and client.funnel.retries == 0  # the query was not retried


def test_which_failures_are_sent_again_by_method_and_call() -> None:
    retry = _retry_of(make_session(None))
    assert retry.is_retry("GET", 500) and retry.is_retry("PATCH", 502) and retry.is_retry("DELETE", 504)
    assert not any(retry.is_retry("GET", status) for status in (400, 401, 403, 404))
    assert not retry.is_retry("POST", 500)  # a POST by default: Salesforce may have acted on it
    assert retry.is_retry("POST", 503) and retry.is_retry("POST", 429)  # refused without being run
    with one_call(replay_safe=True):
        assert retry.is_retry("POST", 500)
    with one_call(replay_safe=False):
        assert not retry.is_retry("PATCH", 500) and retry.is_retry("PATCH", 503)


def test_a_plain_session_handed_to_the_client_is_given_the_retry(served: Org) -> None:
    plain = requests.Session()
    plain.trust_env = False
    plain.verify = served.ca_bundle
    tokens = served.sign_in(plain)  # the token request itself mounts it
    assert _retry_of(plain).policy == RetryPolicy()  # the default policy
    client = SalesforceClient(tokens, lambda: tokens, session=plain, retry=FAST, sleep=served.waits.append)
    served.faults.set_plan(FaultPlan(script=["503"]))
    assert client.count("Contact") == 3 and served.waits == [2.0]
