"""The Salesforce poll's cost, per integration and UTC hour (issue 14; shown beside B3's API usage)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from toolkit.store.base import StoreBase

__all__ = ["PollHour", "PollsMixin"]


@dataclass(frozen=True, slots=True)
class PollHour:
    """One integration's polls in one UTC hour.

    Attributes:
        hour: the hour's start, ``YYYY-MM-DDTHH`` in UTC.
        polls: polls made; calls: Salesforce API calls they used; found: polls that found changes.
    """

    integration_id: int
    hour: str
    polls: int
    calls: int
    found: int


class PollsMixin(StoreBase):
    """Methods on ``polls``."""

    def record_poll(self, integration_id: int, *, calls: int, found: bool) -> None:
        """Count one poll of Salesforce in the current UTC hour."""
        hour = self._now()[:13]
        self._write(
            "INSERT INTO polls (integration_id, hour, polls, calls, found) VALUES (?, ?, 1, ?, ?) "
            "ON CONFLICT (integration_id, hour) DO UPDATE SET polls = polls.polls + 1, "
            "calls = polls.calls + excluded.calls, found = polls.found + excluded.found",
            (integration_id, hour, calls, int(found)),
        )

    def poll_hours(
        self, integration_id: int | None = None, *, since: datetime | None = None
    ) -> list[PollHour]:
        """The polls per integration and hour, oldest first (all integrations when ``None``)."""
        sql = "SELECT integration_id, hour, polls, calls, found FROM polls WHERE 1 = 1"
        params: list[object] = []
        if integration_id is not None:
            sql += " AND integration_id = ?"
            params.append(integration_id)
        if since is not None:
            sql += " AND hour >= ?"
            params.append(since.strftime("%Y-%m-%dT%H"))
        return [PollHour(*row) for row in self._rows(sql + " ORDER BY hour, integration_id", params)]
