"""The audit as DataFrames, for analysts and the dashboard: rejections, runs, Salesforce API usage.

SPEC A1: every record that was not written, with its integration, run, direction, record id,
field, value (secret-like fields redacted, see :mod:`toolkit.store.reporting`), rule id, a
plain-language reason, the service's own code and message, first and last seen, and when it
was resolved (A3). B3: the Salesforce API usage (``Sforce-Limit-Info``) kept per run.
Records people can recognise (issue 15): each rejected or held record carries the person's name
(``record_name``) and the URLs that open it in Salesforce and in Brevo (:mod:`.links`).

Example:
    >>> from toolkit import audit
    >>> df = audit.rejections(tk.store, integration="newsletter", rule="Y5")   # doctest: +SKIP
    >>> df.groupby("rule").size()                                           # doctest: +SKIP
    >>> audit.api_usage(tk.store).tail()                                    # doctest: +SKIP
    >>> audit.describe_rule("SF:STRING_TOO_LONG")                           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from toolkit.audit.links import BREVO_APP_URL, brevo_url, name_from_values, salesforce_url, with_links
from toolkit.audit.meanings import RULES, describe_rule, rule_descriptions, rule_title
from toolkit.exceptions import ConfigError
from toolkit.store.base import member
from toolkit.store.records import Direction, Integration, Link, LinkState, RejectionState, to_ts
from toolkit.store.reporting import ReportRow

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.store import Store

__all__ = [
    "API_USAGE_COLUMNS",
    "HELD_COLUMNS",
    "HELD_WORDS",
    "POLL_USAGE_COLUMNS",
    "REJECTION_COLUMNS",
    "REJECTION_COUNT_COLUMNS",
    "RULES",
    "RUN_COLUMNS",
    "api_usage",
    "describe_rule",
    "held_records",
    "held_row",
    "instance_url",
    "poll_usage",
    "rejection_counts",
    "rejections",
    "rule_descriptions",
    "rule_title",
    "runs",
]

REJECTION_COLUMNS = (
    "integration",
    "run_id",
    "direction",
    "record_id",
    "field",
    "value",
    "rule",
    "reason",
    "service_code",
    "service_message",
    "first_seen",
    "last_seen",
    "resolved_at",
    "record_name",
    "state",
    "resolved_run_id",
    "first_run_id",
    "seen_count",
    "permanent",
    "object",
    "integration_id",
    "id",
    "salesforce_url",
    "brevo_url",
)
"""Columns of :func:`rejections`, in order (the first thirteen are SPEC A1's); ``record_name`` is
the person's name (never an e-mail), ``salesforce_url`` and ``brevo_url`` open the record in each
service (:mod:`toolkit.audit.links`; empty when unknown)."""

REJECTION_COUNT_COLUMNS = ("integration", "rule", "direction", "state", "count", "integration_id")
"""Columns of :func:`rejection_counts`, in order."""

RUN_COLUMNS = (
    "run_id",
    "integration",
    "object",
    "status",
    "started_at",
    "finished_at",
    "duration_s",
    "dry_run",
    "full",
    "tasks",
    "rejected",
    "created",
    "updated",
    "deleted",
    "error",
    "sf_api_used",
    "sf_api_limit",
    "connection",
    "org_id",
    "integration_id",
    "counts",
)
"""Columns of :func:`runs`, in order."""

API_USAGE_COLUMNS = (
    "run_id",
    "integration",
    "org",
    "finished_at",
    "sf_api_used",
    "sf_api_limit",
    "sf_api_share",
    "sf_api_left",
    "calls_since_previous_run",
    "dry_run",
    "status",
)
"""Columns of :func:`api_usage`, in order."""

POLL_USAGE_COLUMNS = ("integration", "hour", "polls", "calls", "found")
"""Columns of :func:`poll_usage`, in order."""

HELD_COLUMNS = (
    "integration",
    "record_id",
    "record_name",
    "state",
    "deleted_in",
    "waiting",
    "salesforce_url",
    "brevo_url",
    "brevo_id",
    "integration_id",
)
"""Keys of :func:`held_records`' rows, in order."""

HELD_WORDS = {
    LinkState.HELD_DELETE: ("deleted in Salesforce", "to be taken off the Brevo list"),
    LinkState.HELD_BREVO_DELETE: ("deleted in Brevo", "to be deleted in Salesforce"),
}
"""Link state of a deletion held by the mass-delete guard (B6) -> (where it was deleted, what waits)."""

_TIMES = ("first_seen", "last_seen", "resolved_at")


def _integration_id(store: Store, integration: str | int | None) -> int | None:
    if integration is None:
        return None
    return store.get_integration(integration).id


def _since(since: datetime | str | None) -> str | None:
    if since is None or isinstance(since, str):
        return since
    return to_ts(since)


def _direction(direction: str | None) -> Direction | None:
    return None if direction is None else member(Direction, direction, "direction")


def _frame(rows: list[ReportRow], columns: tuple[str, ...], times: Iterable[str]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(columns))
    for column in times:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def rejections(
    store: Store,
    *,
    integration: str | int | None = None,
    rule: str | Iterable[str] | None = None,
    direction: str | None = None,
    state: str = RejectionState.ALL,
    run: int | None = None,
    resolved_in: int | None = None,
    since: datetime | str | None = None,
    limit: int | None = None,
    brevo_app_url: str | None = BREVO_APP_URL,
) -> pd.DataFrame:
    """Rejected records (A1), newest sighting first, one row per record, rule and field.

    Args:
        store: the state database (``Toolkit.store``).
        integration: an integration's name or id; all when omitted.
        rule: a rule id (``"Y5"``, ``"SF:STRING_TOO_LONG"``), a family (``"SF:"``, ``"BREVO:"``),
            or several of them.
        direction: ``"to_brevo"`` or ``"to_salesforce"``.
        state: ``"open"``, ``"resolved"`` or ``"all"``.
        run: only those this run recorded (new, or seen again after the data changed).
        resolved_in: only those this run resolved (A3).
        since: only those last seen at or after this moment (UTC).
        limit: at most this many rows.
        brevo_app_url: Brevo's web app, for ``brevo_url`` (``Settings.brevo_app_url``).

    Returns:
        A DataFrame with :data:`REJECTION_COLUMNS`; times are UTC ``datetime64``; ``value`` of
        secret-like fields is ``"***"``; ``record_name`` is the person's name (never an e-mail).

    Raises:
        ConfigError: no such integration.
        ValueError: ``state`` or ``direction`` is not one of the allowed values.
    """
    rules = [rule] if isinstance(rule, str) else list(rule or ())
    rows = store.report_rejections(
        integration_id=_integration_id(store, integration),
        rules=rules,
        direction=_direction(direction),
        state=member(RejectionState, state, "state"),
        run_id=run,
        resolved_run_id=resolved_in,
        since=_since(since),
        limit=limit,
    )
    return _frame([with_links(r, brevo_app_url) for r in rows], REJECTION_COLUMNS, _TIMES)


def rejection_counts(
    store: Store,
    *,
    integration: str | int | None = None,
    rule: str | Iterable[str] | None = None,
    direction: str | None = None,
    state: str = RejectionState.ALL,
    since: datetime | str | None = None,
) -> pd.DataFrame:
    """How many rejections there are per integration, rule, direction and state, counted in SQL.

    What a dashboard needs for its filters and totals without loading every rejected record
    (a year of history can hold millions); the filters are those of :func:`rejections`.

    Returns:
        A DataFrame with :data:`REJECTION_COUNT_COLUMNS`, one row per group.
    """
    import pandas as pd

    rules = [rule] if isinstance(rule, str) else list(rule or ())
    rows = store.report_rejection_counts(
        integration_id=_integration_id(store, integration),
        rules=rules,
        direction=_direction(direction),
        state=member(RejectionState, state, "state"),
        since=_since(since),
    )
    return pd.DataFrame(rows, columns=list(REJECTION_COUNT_COLUMNS))


def _run_row(row: ReportRow) -> ReportRow:
    stored = row["counts"] or {}
    counts = stored.get("counts") or {}
    rejected = stored.get("rejected") or {}
    started, finished = row["started_at"], row["finished_at"]

    def total(action: str) -> int:
        return sum(int(counts.get(f"{side}.{action}", 0)) for side in Direction)

    return {
        **row,
        "tasks": int(stored.get("tasks", 0)),
        "rejected": sum(int(n) for n in rejected.values()),
        "created": total("create"),
        "updated": total("update"),
        "deleted": total("delete"),
        "duration_s": None
        if finished is None
        else (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds(),
    }


def runs(
    store: Store,
    *,
    integration: str | int | None = None,
    since: datetime | str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Sync runs, newest first: status, records written (tasks, SPEC Q1), rejections, API usage.

    Args:
        store: the state database.
        integration: an integration's name or id; all when omitted.
        since: only runs started at or after this moment (UTC).
        limit: at most this many rows.

    Returns:
        A DataFrame with :data:`RUN_COLUMNS`; ``counts`` holds the engine's per-action and
        per-rule numbers as a dict.
    """
    rows = store.report_runs(
        integration_id=_integration_id(store, integration), since=_since(since), limit=limit
    )
    return _frame([_run_row(r) for r in rows], RUN_COLUMNS, ("started_at", "finished_at"))


def api_usage(
    store: Store, *, integration: str | int | None = None, since: datetime | str | None = None
) -> pd.DataFrame:
    """Salesforce API usage per run (SPEC B3), oldest first, from ``Sforce-Limit-Info``.

    ``sf_api_used`` is the org's rolling 24-hour count after the run, ``sf_api_limit`` its
    daily allowance. ``calls_since_previous_run`` is the growth of the count since the
    previous run on the same org: this run's calls plus any other client's in between
    (empty for an org's first run, or when the 24-hour window let the count fall).

    Args:
        store: the state database.
        integration: an integration's name or id; all when omitted. The growth is still
            computed against the previous run of any integration on the same org.
        since: only runs started at or after this moment (UTC).

    Returns:
        A DataFrame with :data:`API_USAGE_COLUMNS`; runs without a reading are left out.
    """
    import pandas as pd

    wanted = _integration_id(store, integration)
    rows = [r for r in store.report_runs(since=_since(since)) if r["sf_api_used"] is not None]
    for row in rows:
        row["org"] = row["org_id"] or row["connection"] or ""
    frame = _frame(rows, (*API_USAGE_COLUMNS, "integration_id", "started_at"), ("finished_at", "started_at"))
    frame = frame.sort_values(["finished_at", "run_id"], kind="stable").reset_index(drop=True)
    frame["sf_api_used"] = frame["sf_api_used"].astype("Int64")
    frame["sf_api_limit"] = frame["sf_api_limit"].astype("Int64")
    growth = frame.groupby("org", sort=False)["sf_api_used"].diff()
    frame["calls_since_previous_run"] = growth.where(growth >= 0).astype("Int64")
    frame["sf_api_left"] = frame["sf_api_limit"] - frame["sf_api_used"]
    share = frame["sf_api_used"].astype("Float64") / frame["sf_api_limit"].astype("Float64")
    frame["sf_api_share"] = share.where(frame["sf_api_limit"] > 0)
    if wanted is not None:
        frame = frame[frame["integration_id"] == wanted]
    return pd.DataFrame(frame[list(API_USAGE_COLUMNS)]).reset_index(drop=True)


def poll_usage(
    store: Store, *, integration: str | int | None = None, since: datetime | None = None
) -> pd.DataFrame:
    """The Salesforce poll of ``toolkit serve`` per integration and UTC hour (shown beside B3).

    ``calls`` are the Salesforce API calls the polls made (one ``SELECT COUNT()`` each), ``found``
    the polls that found changes (each then started a run, whose calls :func:`api_usage` shows).

    Returns:
        A DataFrame with :data:`POLL_USAGE_COLUMNS`, oldest hour first; ``hour`` is a UTC datetime.
    """
    import pandas as pd

    names = {i.id: i.name for i in store.list_integrations()}
    rows = [
        {
            "integration": names.get(h.integration_id, str(h.integration_id)),
            "hour": pd.Timestamp(h.hour + ":00", tz="UTC"),
            "polls": h.polls,
            "calls": h.calls,
            "found": h.found,
        }
        for h in store.poll_hours(_integration_id(store, integration), since=since)
    ]
    return pd.DataFrame(rows, columns=list(POLL_USAGE_COLUMNS))


def instance_url(store: Store, integration: Integration) -> str | None:
    """The instance URL of an integration's Salesforce org (its connection's), ``None`` when unknown."""
    if integration.connection_id is None:
        return None
    try:
        return store.get_connection(integration.connection_id).instance_url
    except ConfigError:  # the connection was removed: the records cannot be linked
        return None


def held_records(
    store: Store,
    integration: Integration,
    *,
    limit: int | None = None,
    brevo_app_url: str | None = BREVO_APP_URL,
) -> list[ReportRow]:
    """The deletions the mass-delete guard holds (B6), records people can recognise, by Salesforce Id.

    Records deleted in Salesforce come first. Each row has :data:`HELD_COLUMNS`: the person's
    name from the link's synced values (``FIRSTNAME``/``LASTNAME``, when mapped; never the
    e-mail), the link to the record in Salesforce, and the link to the Brevo contact while it
    exists (not for a contact deleted in Brevo).

    Args:
        store: the state database.
        integration: the integration (``store.get_integration(name)``).
        limit: at most this many rows.
        brevo_app_url: Brevo's web app (``Settings.brevo_app_url``).
    """
    base = instance_url(store, integration)
    rows: list[ReportRow] = []
    for state in HELD_WORDS:
        wanted = None if limit is None else max(0, limit - len(rows))
        if wanted == 0:
            break
        links = store.iter_links(integration.id, state=state, batch=min(wanted or 500, 500))
        rows += [held_row(integration, link, base, brevo_app_url) for link in islice(links, wanted)]
    return rows


def held_row(integration: Integration, link: Link, base: str | None, brevo_app_url: str | None) -> ReportRow:
    """One held deletion as a :func:`held_records` row."""
    deleted_in, waiting = HELD_WORDS.get(LinkState(link.state), (str(link.state), ""))
    gone_in_brevo = link.state == LinkState.HELD_BREVO_DELETE
    return {
        "integration": integration.name,
        "record_id": link.sf_id,
        "record_name": name_from_values(link.synced),
        "state": str(link.state),
        "deleted_in": deleted_in,
        "waiting": waiting,
        "salesforce_url": salesforce_url(base, link.sf_id),
        "brevo_url": None if gone_in_brevo else brevo_url(brevo_app_url, link.brevo_id),
        "brevo_id": link.brevo_id,
        "integration_id": integration.id,
    }
