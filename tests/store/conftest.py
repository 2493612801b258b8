"""The store's tests' fixtures: a state store on a real SQLite file, timed by a clock they move."""

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
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    opened = Store.open(tmp_path, clock=clock)
    yield opened
    opened.close()
