"""The Salesforce poll: one ``SELECT COUNT()`` a minute says whether a run has anything to read.

``toolkit serve`` asks, for each active integration, how many records changed since the run's
cursor (``SystemModstamp`` after the last record the last run read, through ``queryAll`` so that
deletions count too). One API call; when the answer is not 0, the integration runs at once (an
incremental run, trigger ``poll``). Each poll is counted per hour in the state
(:meth:`toolkit.store.Store.record_poll`), and the pages show that cost beside the API usage (B3).
"""

from __future__ import annotations

from dataclasses import dataclass

from toolkit.api import Toolkit
from toolkit.salesforce import soql_datetime
from toolkit.sync.outbound import CURSOR
from toolkit.timestamps import parse_salesforce_datetime

__all__ = ["PollResult", "poll_salesforce"]


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll: the API calls it made and whether records changed since the last run's cursor."""

    integration: str
    calls: int
    changed: int


def poll_salesforce(tk: Toolkit, name: str) -> PollResult:
    """Count the records of ``name``'s object changed since its cursor, and record the poll.

    An integration that never ran has no cursor: it counts as changed (its first run loads
    everything) without a call.
    """
    integ = tk.store.get_integration(name)
    cursor = tk.store.get_cursor(integ.id, CURSOR)
    if cursor is None:
        return PollResult(name, 0, 1)
    since = soql_datetime(parse_salesforce_datetime(cursor))
    changed = tk.salesforce(integ).count(integ.object, f"SystemModstamp > {since}", include_deleted=True)
    tk.store.record_poll(integ.id, calls=1, found=changed > 0)
    return PollResult(name, 1, changed)
