"""Y10/B9: the presence check weighs single look-ups against the list's members for the rest of the run."""

from __future__ import annotations

import pytest

from toolkit.sync.context import PresenceTally


@pytest.mark.parametrize(
    ("pages", "expected", "needed"),
    [
        ([], None, 0.0),  # nothing read yet
        ([(2000, 90)], None, 90.0),  # the total is unknown: this page's checks
        ([(2000, 0), (2000, 100)], 10_000, 100 + 6000 * 0.05),  # the rest at the latest page's rate
        ([(2000, 100), (2000, 0)], 10_000, 0.0),  # the latest page needed none: none projected
        ([(2000, 0)] * 4 + [(2000, 90)], 10_895, 90 + 895 * 0.045),  # the cursor's second re-read first
        ([(2000, 90), (895, 895)], 2895, 895.0),  # everything read: the latest page's own checks
        ([(2000, 10), (2000, 10)], 3000, 10.0),  # more than announced (rechecked records): no rest
    ],
)
def test_y10_checks_still_needed_are_projected_at_the_latest_rate(
    pages: list[tuple[int, int]], expected: int | None, needed: float
) -> None:
    tally = PresenceTally()
    if expected is not None:
        tally.expect(expected)
    for records, unknown in pages:
        tally.add_page(records, unknown)
    assert tally.still_needed() == pytest.approx(needed)
