"""Y10/B9: the presence check chooses single look-ups or the list's members for the whole run."""

from __future__ import annotations

import pytest

from toolkit.sync.context import PresenceTally


@pytest.mark.parametrize(
    ("records", "unknown", "expected", "projected"),
    [
        (0, 0, None, 0.0),  # nothing read yet
        (2000, 90, None, 90.0),  # the total is unknown: what was seen
        (2000, 90, 10_000, 450.0),  # a fifth read: five times what was seen
        (10_000, 985, 10_000, 985.0),  # everything read: exactly what was seen
        (12_000, 50, 10_000, 50.0),  # more than announced (rechecked records): what was seen
        (2000, 0, 10_000, 0.0),  # no check so far: none projected
    ],
)
def test_y10_checks_are_projected_from_the_share_read(
    records: int, unknown: int, expected: int | None, projected: float
) -> None:
    tally = PresenceTally(records=records, unknown=unknown)
    if expected is not None:
        tally.expect(expected)
    assert tally.projected() == pytest.approx(projected)
