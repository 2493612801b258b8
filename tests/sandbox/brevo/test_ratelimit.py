"""Brevo sandbox: authentication, the contacts rate limit, request ids and injected faults."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from toolkit.sandbox.brevo import BrevoAccount, make_service
from toolkit.sandbox.brevo.ratelimit import FixedWindowRateLimiter
from toolkit.sandbox.middleware import FaultInjector, FaultPlan, RequestLog, Service


@pytest.fixture
def faults() -> FaultInjector:
    return FaultInjector()


@pytest.fixture
def start(
    account: BrevoAccount, request_log: RequestLog, serve: Callable[[Service], str], faults: FaultInjector
) -> Callable[[float | None], str]:
    """Start the service with a given contacts rate; returns the server root URL."""

    def _start(rate: float | None) -> str:
        return serve(make_service(account, log=request_log, faults=faults, rate_limit_per_second=rate))

    return _start


def test_missing_and_wrong_api_key_are_401_with_brevo_bodies(
    start: Callable[[float | None], str], http: requests.Session
) -> None:
    base = start(None)
    missing = http.get(f"{base}/v3/contacts")
    wrong = http.get(f"{base}/v3/contacts", headers={"api-key": "xkeysib-" + "0" * 64 + "-AAAAAAAAAAAAAAAA"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.json() == {"code": "unauthorized", "message": "authentication not found in headers"}
    assert wrong.json() == {"code": "unauthorized", "message": "Key not found"}
    assert missing.headers["sib-request-id"] and wrong.headers["sib-request-id"]


def test_api_key_has_brevo_shape_and_is_not_in_repr(account: BrevoAccount) -> None:
    prefix, hex_part, tail = account.api_key.split("-")
    assert prefix == "xkeysib" and len(hex_part) == 64 and int(hex_part, 16) >= 0
    assert len(tail) == 16 and tail.isalnum()
    assert account.api_key not in repr(account)


def test_contacts_over_the_rate_get_429_with_ratelimit_headers(
    start: Callable[[float | None], str], http: requests.Session, account: BrevoAccount
) -> None:
    base = start(3)
    http.headers["api-key"] = account.api_key
    # 10 quick calls cross at most one window boundary, so at most 6 can pass.
    responses = [http.get(f"{base}/v3/contacts") for _ in range(10)]
    statuses = [r.status_code for r in responses]
    assert 429 in statuses and statuses.count(200) >= 3
    ok, limited = responses[0], responses[statuses.index(429)]
    assert ok.headers["x-sib-ratelimit-limit"] == "3"
    assert int(ok.headers["x-sib-ratelimit-remaining"]) in (0, 1, 2)
    assert limited.json() == {"code": "too_many_requests", "message": "The expected rate limit is exceeded."}
    assert limited.headers["x-sib-ratelimit-remaining"] == "0"
    assert limited.headers["x-sib-ratelimit-reset"] == "1"


def test_other_endpoints_are_not_counted(
    start: Callable[[float | None], str], http: requests.Session, account: BrevoAccount
) -> None:
    base = start(1)
    http.headers["api-key"] = account.api_key
    assert all(http.get(f"{base}/v3/processes").status_code == 200 for _ in range(5))
    assert "x-sib-ratelimit-limit" not in http.get(f"{base}/v3/processes").headers


def test_rate_is_configurable_at_run_time(
    start: Callable[[float | None], str], http: requests.Session, account: BrevoAccount
) -> None:
    base = start(1)
    http.headers["api-key"] = account.api_key
    assert http.put(f"{base}/_sandbox/brevo/rate-limit", json={"per_second": 0}).json() == {"per_second": 0}
    assert all(http.get(f"{base}/v3/contacts").status_code == 200 for _ in range(5))
    http.put(f"{base}/_sandbox/brevo/rate-limit", json={"per_second": 2})
    assert http.get(f"{base}/_sandbox/brevo/rate-limit").json() == {"per_second": 2}


def test_fixed_window_refills_each_second() -> None:
    now = [100.2]
    limiter = FixedWindowRateLimiter(2, now=lambda: now[0])
    assert [limiter.hit().allowed for _ in range(3)] == [True, True, False]
    now[0] = 100.9
    assert limiter.hit().headers["x-sib-ratelimit-reset"] == "1"
    now[0] = 101.0
    decision = limiter.hit()
    assert decision.allowed and decision.headers["x-sib-ratelimit-remaining"] == "1"


def test_injected_faults_use_brevo_error_bodies(
    start: Callable[[float | None], str], http: requests.Session, account: BrevoAccount, faults: FaultInjector
) -> None:
    base = start(None)
    http.headers["api-key"] = account.api_key
    faults.set_plan(FaultPlan(script=["429", "503"]))
    limited, unavailable = http.get(f"{base}/v3/contacts"), http.get(f"{base}/v3/contacts")
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_requests"
    assert limited.headers["x-sib-ratelimit-reset"] == "1"
    assert unavailable.status_code == 503 and set(unavailable.json()) == {"code", "message"}
    assert http.get(f"{base}/v3/contacts").status_code == 200


def test_unknown_route_and_method(
    start: Callable[[float | None], str], http: requests.Session, account: BrevoAccount
) -> None:
    base = start(None)
    http.headers["api-key"] = account.api_key
    assert http.get(f"{base}/v3/nothing-here").status_code == 404
    assert http.patch(f"{base}/v3/contacts").status_code == 405
