"""Shared fixtures: real sandbox servers on 127.0.0.1, reached over real sockets and TLS."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from toolkit.sandbox.brevo import BrevoAccount
from toolkit.sandbox.brevo import make_service as brevo_service
from toolkit.sandbox.clock import Clock
from toolkit.sandbox.http import ServerThread
from toolkit.sandbox.middleware import RequestLog, Service
from toolkit.sandbox.tls import SandboxTLS, make_tls

# Fixtures that live beside their helpers: the Salesforce sandbox's (sf_env), the engine's (env_factory)
# the quota and notification tests' (moving_clock, settings, store, quota, sandbox, brevo, sender)
# and PostgreSQL's (pg_server: one real server a session; pg_url: a fresh database a test).
pytest_plugins = [
    "tests.support.postgres",
    "tests.support.salesforce",
    "tests.support.sync",
    "tests.support.quota",
]


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    """One CA and server certificate for the whole test session."""
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def request_log() -> RequestLog:
    return RequestLog()


@pytest.fixture
def serve(tls: SandboxTLS) -> Iterator[Callable[[Service], str]]:
    """Serve a sandbox ``Service`` over HTTPS; returns its base URL (``https://127.0.0.1:PORT``)."""
    servers: list[ServerThread] = []

    def _serve(service: Service) -> str:
        server = ServerThread(service, ssl_context=tls.ssl_context).start()
        servers.append(server)
        return f"https://127.0.0.1:{server.port}"

    yield _serve
    for server in servers:
        server.stop()


@pytest.fixture
def http(tls: SandboxTLS) -> Iterator[requests.Session]:
    """A requests session that trusts the sandbox CA (and ignores REQUESTS_CA_BUNDLE)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tls.ca_bundle)
    yield session
    session.close()


@pytest.fixture
def account(clock: Clock) -> BrevoAccount:
    """A new sandbox Brevo account (its first folder and list, the default attributes)."""
    return BrevoAccount(clock)


@pytest.fixture
def base(
    account: BrevoAccount, request_log: RequestLog, serve: Callable[[Service], str], http: requests.Session
) -> str:
    """The Brevo sandbox's root ``https://127.0.0.1:PORT`` (no rate limit); ``http`` carries its api-key."""
    url = serve(brevo_service(account, log=request_log, rate_limit_per_second=0))
    http.headers["api-key"] = account.api_key
    return url


@pytest.fixture
def api(base: str) -> str:
    """The Brevo sandbox's API base URL, ``https://127.0.0.1:PORT/v3``."""
    return base + "/v3"
