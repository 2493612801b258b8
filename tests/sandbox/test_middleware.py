"""Fault injection, the request log and the control routes, over real HTTPS sockets."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest
import requests

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.http import json_response
from toolkit.sandbox.middleware import FaultInjector, FaultPlan, RequestLog, Service
from toolkit.sandbox.tls import SandboxTLS


def _ok(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    return json_response({"ok": True})(environ, start_response)


@pytest.fixture
def service(clock: Clock, request_log: RequestLog) -> Service:
    return Service(
        "demo",
        _ok,
        clock=clock,
        log=request_log,
        faults=FaultInjector(),
        fault_body=lambda status: json_response({"fault": status}, status),
    )


@pytest.fixture
def base(serve: Callable[[Service], str], service: Service) -> str:
    return serve(service)


def test_scripted_faults_answer_in_order_then_pass(
    service: Service, base: str, http: requests.Session
) -> None:
    service.faults.set_plan(FaultPlan(script=["503", "429", "500", None], delay_seconds=0))
    assert [http.get(f"{base}/x").status_code for _ in range(5)] == [503, 429, 500, 200, 200]
    assert http.get(f"{base}/x").json() == {"ok": True}


def test_reset_fault_drops_the_connection_without_an_answer(
    service: Service, base: str, http: requests.Session
) -> None:
    service.faults.set_plan(FaultPlan(script=["reset"]))
    with pytest.raises(requests.ConnectionError):
        http.get(f"{base}/x")
    assert http.get(f"{base}/x").status_code == 200  # the server itself keeps serving
    assert [e.fault for e in service.log.entries()] == ["reset", None]


def test_fault_rates_are_reproducible_for_a_seed(service: Service, base: str, http: requests.Session) -> None:
    def run() -> list[int]:
        service.faults.set_plan(FaultPlan(rates={"429": 0.3, "503": 0.2}, seed=7))
        return [http.get(f"{base}/x").status_code for _ in range(40)]

    first = run()
    assert first == run()
    assert {429, 503, 200} == set(first)


def test_faults_only_hit_the_path_prefix(service: Service, base: str, http: requests.Session) -> None:
    service.faults.set_plan(FaultPlan(rates={"503": 1.0}, path_prefix="/v3/contacts"))
    assert http.get(f"{base}/v3/account").status_code == 200
    assert http.get(f"{base}/v3/contacts").status_code == 503


def test_fault_plan_rejects_unknown_kinds_and_overfull_rates() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultPlan(rates={"418": 0.1})
    with pytest.raises(ValueError, match="more than 1"):
        FaultPlan.parse("429=0.7,503=0.5")
    assert FaultPlan.parse("429=0.05, reset=0.01").rates == {"429": 0.05, "reset": 0.01}


def test_request_log_counts_api_calls_not_control_calls(base: str, http: requests.Session) -> None:
    http.get(f"{base}/a?q=1")
    http.post(f"{base}/b")
    log = http.get(f"{base}/_sandbox/requests").json()
    assert log["total"] == 2
    assert [(r["method"], r["path"], r["query"], r["status"]) for r in log["requests"]] == [
        ("GET", "/a", "q=1", 200),
        ("POST", "/b", "", 200),
    ]
    assert http.delete(f"{base}/_sandbox/requests").status_code == 204
    assert http.get(f"{base}/_sandbox/requests").json()["total"] == 0


def test_faults_can_be_set_over_http(base: str, http: requests.Session) -> None:
    r = http.put(f"{base}/_sandbox/faults", json={"script": ["503"]})
    assert r.status_code == 200 and r.json()["plan"]["script"] == ["503"]
    assert http.get(f"{base}/x").status_code == 503
    assert http.get(f"{base}/_sandbox/faults").json()["injected"] == {"503": 1}
    assert http.put(f"{base}/_sandbox/faults", json={"rates": {"teapot": 1}}).status_code == 400


def test_clock_moves_forward_only(base: str, http: requests.Session, clock: Clock) -> None:
    before = clock.now()
    r = http.post(f"{base}/_sandbox/clock", json={"advance_seconds": 86400 * 16})
    assert r.status_code == 200 and r.json()["offset_seconds"] == 86400 * 16
    assert (clock.now() - before).days == 16
    assert http.post(f"{base}/_sandbox/clock", json={"advance_seconds": -5}).status_code == 400


def test_unknown_control_route_lists_the_known_ones(base: str, http: requests.Session) -> None:
    r = http.get(f"{base}/_sandbox/nope")
    assert r.status_code == 404
    assert "GET /_sandbox/requests" in r.json()["routes"]


def test_request_log_never_keeps_secret_query_values(base: str, http: requests.Session) -> None:
    http.get(f"{base}/services/oauth2/token?grant_type=password&password=hunter2&client_secret=s3&q=SELECT")
    [entry] = http.get(f"{base}/_sandbox/requests").json()["requests"]
    assert entry["query"] == "grant_type=password&password=***&client_secret=***&q=SELECT"


def test_reset_faults_never_corrupt_the_next_tls_connections(
    service: Service, base: str, tls: SandboxTLS
) -> None:
    service.faults.set_plan(FaultPlan(script=["reset", None] * 20))
    failures, answers = 0, 0
    for _ in range(40):
        fresh = requests.Session()  # a new TLS connection each time, as retries after a reset do
        fresh.trust_env = False
        fresh.verify = str(tls.ca_bundle)
        try:
            answers += fresh.post(f"{base}/x", data=b"a" * 5000).status_code == 200
        except requests.ConnectionError:
            failures += 1
        fresh.close()
    assert (failures, answers) == (20, 20)


def test_a_reset_leaves_no_body_behind_to_be_logged_as_a_next_request(
    service: Service, base: str, http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    # A token request's form carries the client secret: the server must read it before the reset,
    # or its keep-alive loop parses it as a request line and logs it ("Bad request syntax").
    service.faults.set_plan(FaultPlan(script=["reset"]))
    secret = "client_secret=" + "s3cr3t" * 4
    with caplog.at_level("DEBUG"), pytest.raises(requests.ConnectionError):
        http.post(
            f"{base}/services/oauth2/token",
            data=f"grant_type=client_credentials&client_id=x&{secret}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    time.sleep(0.3)  # the server's thread finishes the connection
    assert "s3cr3t" not in caplog.text
