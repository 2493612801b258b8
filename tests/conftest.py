"""Shared fixtures: real sandbox servers on 127.0.0.1, reached over real sockets and TLS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from toolkit.sandbox.clock import Clock
from toolkit.sandbox.http import ServerThread
from toolkit.sandbox.middleware import FaultInjector, RequestLog, Service
from toolkit.sandbox.tls import SandboxTLS, make_tls


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


def new_injector() -> FaultInjector:
    return FaultInjector()


__all__ = ["new_injector", "Path"]
