"""The reliability suite's sizes and figures.

Tests marked ``soak`` run the large sizes; they are skipped unless selected with ``-m soak``
(``make soak``). Figures (faults injected, kill trials, records checked...) are kept as JUnit
properties and printed in a "reliability figures" section at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

FIGURES: dict[str, Any] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: large sizes, run by `make soak` (pytest -m soak)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    markexpr = str(config.getoption("markexpr") or "")
    if "soak" in markexpr and "not soak" not in markexpr:
        return
    skip = pytest.mark.skip(reason="soak size: run it with `make soak` (pytest -m soak)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture
def figures(record_property: Callable[[str, object], None]) -> Iterator[Callable[[str, Any], None]]:
    """``figures(name, value)``: keep a figure for the end-of-run summary and the JUnit report."""

    def add(name: str, value: Any) -> None:
        FIGURES[name] = value
        record_property(name, value)

    yield add
