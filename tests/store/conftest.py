"""The store's tests' fixtures: a state store on each backend, timed by a clock they move.

``store`` is parametrised: every test that takes it runs on a real SQLite file (``[sqlite]``) and
on a fresh database of the session's real PostgreSQL server (``[postgresql]``, see
``tests/support/postgres.py``, whose ``state_location`` fixture gives the location). Tests about one backend's own machinery (SQLite's pragmas, its
file, migrating an old SQLite file) open their store themselves and run on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.store import FakeClock
from toolkit.store import Store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(state_location: Path | str, clock: FakeClock) -> Iterator[Store]:
    opened = Store.open(state_location, clock=clock)
    yield opened
    opened.close()
