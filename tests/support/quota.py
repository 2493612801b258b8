"""Fixtures for the quota and notification tests: a movable clock, a store, the Brevo sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.connections import bare_sandbox
from toolkit.brevo import BrevoClient
from toolkit.config import Settings
from toolkit.notify import BrevoSender
from toolkit.quota import Quota
from toolkit.sandbox import Sandbox
from toolkit.store import IntegrationStatus, OutboxStatus, Store

START = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)


class MovingClock:
    """A UTC clock that tests move by hand (the store takes it as ``clock=``)."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def moving_clock() -> MovingClock:
    return MovingClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The quota and notification tests' settings, on each state backend (issue 16)."""
    state_url = request.getfixturevalue("pg_url") if request.param == "postgresql" else ""
    return Settings(
        state_dir=tmp_path / "state",
        state_url=state_url,
        quota_limit=100,
        notify_from="quota@toolkit.example",
        notify_to=("ops@example.com", "cfo@example.com"),
    )


@pytest.fixture
def store(settings: Settings, moving_clock: MovingClock) -> Iterator[Store]:
    opened = Store.from_settings(settings, clock=moving_clock)
    yield opened
    opened.close()


@pytest.fixture
def quota(store: Store, settings: Settings) -> Quota:
    return Quota(store, settings)


def active_integration(
    store: Store, name: str, *, status: IntegrationStatus = IntegrationStatus.ACTIVE
) -> int:
    """An integration ready to run (connection, opt-in, mapping, list) with the given status."""
    connection = store.add_connection(
        f"org-{name}",
        login_url="https://login.salesforce.com",
        username=f"{name}@example.com",
        client_id="3MVG9-client",
        flow="client_credentials",
    )
    integ = store.create_integration(
        name, "Contact", connection_id=connection.id, opt_in=True, mapping={"EMAIL": "Email"}, list_id=7
    )
    if status != IntegrationStatus.DRAFT:
        store.set_status(integ.id, status)
    return integ.id


def write(quota: Quota, integration_id: int, run_id: int, n: int) -> int:
    """What the engine does for one batch: reserve, then count what was written in the commit."""
    granted = quota.reserve(integration_id, run_id, n)
    with quota.store.transaction():
        quota.record(integration_id, run_id, granted)
    return granted


def pending_ids(store: Store) -> list[int]:
    """The outbox's pending messages' ids (PostgreSQL's identity columns leave gaps: never assume 1, 2, ...)."""
    return [m.id for m in store.list_notifications(status=OutboxStatus.PENDING)]


def statuses(store: Store) -> dict[str, tuple[IntegrationStatus, str | None]]:
    return {i.name: (i.status, i.stop_reason) for i in store.list_integrations()}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with bare_sandbox() as box:
        yield box


@pytest.fixture
def brevo(sandbox: Sandbox) -> Iterator[BrevoClient]:
    info = sandbox.info["brevo"]
    client = BrevoClient(
        info["base_url"], info["api_key"], ca_bundle=info["ca_bundle"], max_retries=1, backoff_factor=0
    )
    yield client
    client.close()


@pytest.fixture
def sender(brevo: BrevoClient, settings: Settings) -> BrevoSender:
    return BrevoSender(
        brevo, sender={"email": settings.notify_from, "name": "Toolkit"}, to=settings.notify_to
    )
