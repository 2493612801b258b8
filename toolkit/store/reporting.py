"""Read-only queries for the audit reports and the dashboard (SPEC A1-A3, B3), with redaction.

Rows come back as plain dicts (ready for a DataFrame, see :mod:`toolkit.audit`), every value of
a secret-like field already redacted: a Salesforce field or Brevo attribute whose name contains
one of :data:`SECRET_WORDS` (``Password__c``, ``API_TOKEN``, ``Bank_IBAN__c``...) shows
:data:`REDACTED` instead of its value, and the value is masked in the reason and the service's
message as well. The match is on the name only and errs on the side of hiding (``Keyword__c``
contains "key").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from toolkit.store.base import StoreBase, loads, member
from toolkit.store.records import Direction, JsonObject, RejectionState

__all__ = [
    "Query",
    "REDACTED",
    "ReportRow",
    "ReportingMixin",
    "SECRET_WORDS",
    "is_secret_name",
    "redact_row",
    "redact_value",
    "rejection_query",
]

REDACTED = "***"
SECRET_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "key",
    "ssn",
    "iban",
    "credential",
    "cvv",
    "cvc",
    "cardnumber",
    "creditcard",
    "socialsecurity",
    "passport",
)
"""Parts of a field or attribute name (compared without case, ``_``, ``-``, ``.`` or spaces)."""


class Query(NamedTuple):
    """An SQL statement and its parameters (a named pair: callers unpack it)."""

    sql: str
    params: list[Any]


ReportRow = dict[str, Any]
"""One row of a report, ready for a DataFrame: column name -> value.

The columns are fixed per query (see each method), but :mod:`toolkit.audit` adds computed ones
to the rows it is given, so they stay plain dicts."""
_REJECTION_COLUMNS = (
    "r.id",
    "r.integration_id",
    "i.name",
    "i.object",
    "r.run_id",
    "r.first_run_id",
    "r.direction",
    "r.record_id",
    "r.record_name",
    "c.instance_url",
    "l.brevo_id",
    "r.field",
    "r.value",
    "r.rule",
    "r.reason",
    "r.service_code",
    "r.service_message",
    "r.permanent",
    "r.seen_count",
    "r.first_seen",
    "r.last_seen",
    "r.resolved_at",
    "r.resolved_run_id",
)
_REJECTION_KEYS = tuple(c.split(".")[1] if c != "i.name" else "integration" for c in _REJECTION_COLUMNS)
_RUN_COLUMNS = (
    "ru.id",
    "ru.integration_id",
    "i.name",
    "i.object",
    "i.connection_id",
    "c.name",
    "c.org_id",
    "ru.started_at",
    "ru.finished_at",
    "ru.status",
    "ru.dry_run",
    "ru.full_sync",
    "ru.counts",
    "ru.error",
    "ru.sf_api_used",
    "ru.sf_api_limit",
)
_RUN_KEYS = (
    "run_id",
    "integration_id",
    "integration",
    "object",
    "connection_id",
    "connection",
    "org_id",
    "started_at",
    "finished_at",
    "status",
    "dry_run",
    "full",
    "counts",
    "error",
    "sf_api_used",
    "sf_api_limit",
)


def _squash(name: str) -> str:
    return re.sub(r"[\s_.\-]", "", name.lower())


def is_secret_name(name: str | None) -> bool:
    """Whether a field or attribute name looks like it holds a secret (see :data:`SECRET_WORDS`).

    A comma-separated list of names (as Salesforce reports the fields of one error) is secret
    when any of its names is.
    """
    if not name:
        return False
    return any(word in _squash(part) for part in name.split(",") for word in SECRET_WORDS)


def redact_value(value: str | None, *names: str | None) -> str | None:
    """``value``, or :data:`REDACTED` when any of ``names`` is secret-like (``None`` stays ``None``)."""
    if value is None or value == "":
        return value
    return REDACTED if any(is_secret_name(n) for n in names) else value


def _mask(text: str | None, secret: str) -> str | None:
    if text is None or not secret:
        return text
    return text.replace(secret, REDACTED)


def redact_row(row: ReportRow, attributes: Sequence[str] = ()) -> ReportRow:
    """Redact one rejection dict in place and return it.

    Args:
        row: with ``field``, ``value``, ``reason`` and ``service_message`` keys.
        attributes: the Brevo attributes mapped to ``row["field"]`` (their names count too).
    """
    value = row.get("value")
    hidden = redact_value(value, row.get("field"), *attributes)
    if hidden == REDACTED and value:
        row["value"] = REDACTED
        row["reason"] = _mask(row.get("reason"), value)
        row["service_message"] = _mask(row.get("service_message"), value)
    return row


def _attributes_by_field(mapping: JsonObject) -> dict[str, list[str]]:
    """Salesforce field -> the Brevo attributes mapped to it, from a stored mapping."""
    found: dict[str, list[str]] = {}
    for pair in mapping.get("pairs") or ():
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            found.setdefault(str(pair[1]), []).append(str(pair[0]))
    return found


def _check_filters(state: RejectionState, direction: Direction | None) -> None:
    """Raise ``ValueError`` for a ``state`` or ``direction`` filter that is not one of the known values."""
    member(RejectionState, state, "state")
    if direction is not None:
        member(Direction, direction, "direction")


def _rejection_where(
    *,
    integration_id: int | None = None,
    rules: Iterable[str] = (),
    direction: Direction | None = None,
    state: RejectionState = RejectionState.ALL,
    run_id: int | None = None,
    resolved_run_id: int | None = None,
    since: str | None = None,
) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (with a leading space, or empty) and parameters of a rejections query."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("r.integration_id", integration_id),
        ("r.direction", direction),
        ("r.run_id", run_id),
        ("r.resolved_run_id", resolved_run_id),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if state != RejectionState.ALL:
        where.append(f"r.resolved_at IS {'' if state == RejectionState.OPEN else 'NOT '}NULL")
    if since is not None:
        where.append("r.last_seen >= ?")
        params.append(since)
    wanted = list(dict.fromkeys(rules))
    if wanted:
        exact = [r for r in wanted if not r.endswith(":")]
        tests = [f"r.rule IN ({', '.join('?' * len(exact))})"] if exact else []
        tests += ["substr(r.rule, 1, ?) = ?"] * (len(wanted) - len(exact))
        where.append("(" + " OR ".join(tests) + ")")
        params += exact
        for family in (r for r in wanted if r.endswith(":")):
            params += [len(family), family]
    return (" WHERE " + " AND ".join(where) if where else ""), params


def rejection_query(
    columns: Iterable[str],
    *,
    integration_id: int | None = None,
    rules: Iterable[str] = (),
    direction: Direction | None = None,
    state: RejectionState = RejectionState.ALL,
    run_id: int | None = None,
    resolved_run_id: int | None = None,
    since: str | None = None,
    limit: int | None = None,
) -> Query:
    """The ``SELECT`` of ``columns`` from ``rejections r`` joined to ``integrations i``, newest sighting first.

    Takes the filters of :meth:`ReportingMixin.report_rejections` and checks none of them (the
    callers check ``state`` and ``direction`` as they document).

    Returns:
        The SQL and its parameters (unpack as ``sql, params = rejection_query(...)``).
    """
    where, params = _rejection_where(
        integration_id=integration_id,
        rules=rules,
        direction=direction,
        state=state,
        run_id=run_id,
        resolved_run_id=resolved_run_id,
        since=since,
    )
    sql = (
        f"SELECT {', '.join(columns)} FROM rejections r JOIN integrations i ON i.id = r.integration_id"
        # Where to find the record: its org's instance URL, and its Brevo contact when linked.
        " LEFT JOIN connections c ON c.id = i.connection_id"
        " LEFT JOIN links l ON l.integration_id = r.integration_id AND l.sf_id = r.record_id"
        + where
        + " ORDER BY r.last_seen DESC, r.id DESC"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return Query(sql, params)


class ReportingMixin(StoreBase):
    """Read-only queries across ``rejections``, ``runs``, ``integrations`` and ``connections``."""

    def _mapped_attributes(self) -> dict[int, dict[str, list[str]]]:
        rows = self._rows("SELECT id, mapping FROM integrations")
        return {int(id_): _attributes_by_field(loads(mapping)) for id_, mapping in rows}

    def report_rejections(
        self,
        *,
        integration_id: int | None = None,
        rules: Iterable[str] = (),
        direction: Direction | None = None,
        state: RejectionState = RejectionState.ALL,
        run_id: int | None = None,
        resolved_run_id: int | None = None,
        since: str | None = None,
        limit: int | None = None,
    ) -> list[ReportRow]:
        """Rejections with their integration's name and object, redacted, newest sighting first.

        Args:
            integration_id: one integration's, or all.
            rules: rule ids to keep; an id ending in ``:`` (``"SF:"``, ``"BREVO:"``) keeps a family.
            direction: only those of one direction.
            state: open, resolved or all of them.
            run_id: only those the run saw (recorded or seen again with changed data).
            resolved_run_id: only those the run resolved (A3).
            since: only those last seen at or after this ISO-8601 UTC text.
            limit: at most this many.

        Returns:
            One dict per rejection, keys as in :data:`toolkit.audit.REJECTION_COLUMNS` (but the
            links, which :mod:`toolkit.audit` builds from ``instance_url`` and ``brevo_id``: the
            org's instance URL and the linked contact's id, ``None`` when unknown);
            ``record_name`` is the person's name the source gave, never an e-mail.
        """
        _check_filters(state, direction)
        sql, params = rejection_query(
            _REJECTION_COLUMNS,
            integration_id=integration_id,
            rules=rules,
            direction=direction,
            state=state,
            run_id=run_id,
            resolved_run_id=resolved_run_id,
            since=since,
            limit=limit,
        )
        attributes = self._mapped_attributes()
        found = []
        for row in self._rows(sql, params):
            item = dict(zip(_REJECTION_KEYS, row))
            item["permanent"] = bool(item["permanent"])
            item["state"] = (
                RejectionState.OPEN if item["resolved_at"] is None else RejectionState.RESOLVED
            ).value
            fields = [f.strip() for f in str(item["field"] or "").split(",")]
            names = [a for f in fields for a in attributes.get(item["integration_id"], {}).get(f, [])]
            found.append(redact_row(item, names))
        return found

    def report_rejection_counts(
        self,
        *,
        integration_id: int | None = None,
        rules: Iterable[str] = (),
        direction: Direction | None = None,
        state: RejectionState = RejectionState.ALL,
        since: str | None = None,
    ) -> list[ReportRow]:
        """Rejections counted per integration, rule, direction and state, in SQL (for dashboards).

        Takes the filters of :meth:`report_rejections`; returns one dict per group with the keys
        ``integration_id``, ``integration``, ``rule``, ``direction``, ``state`` and ``count``.
        """
        _check_filters(state, direction)
        where, params = _rejection_where(
            integration_id=integration_id, rules=rules, direction=direction, state=state, since=since
        )
        # Grouped in the order of the rejections_counts index, which then answers alone.
        sql = (
            "SELECT r.integration_id, r.rule, r.direction, COUNT(*), COUNT(r.resolved_at) FROM rejections r"
            + where
            + " GROUP BY r.integration_id, r.rule, r.direction"
        )
        names = dict(self._rows("SELECT id, name FROM integrations"))
        found = []
        for iid, rule, direction_, total, resolved in self._rows(sql, params):
            for state_, count in (
                (RejectionState.OPEN, total - resolved),
                (RejectionState.RESOLVED, resolved),
            ):
                if count:
                    found.append(
                        {
                            "integration_id": iid,
                            "integration": names.get(iid),
                            "rule": rule,
                            "direction": direction_,
                            "state": state_.value,
                            "count": count,
                        }
                    )
        return sorted(found, key=lambda g: (str(g["integration"]), g["rule"], g["direction"], g["state"]))

    def report_runs(
        self,
        *,
        integration_id: int | None = None,
        run_id: int | None = None,
        since: str | None = None,
        limit: int | None = None,
    ) -> list[ReportRow]:
        """Runs with their integration, connection and org, newest first.

        Args:
            integration_id: one integration's, or all.
            run_id: just this run.
            since: only runs started at or after this ISO-8601 UTC text.
            limit: at most this many.

        Returns:
            One dict per run; ``counts`` is the parsed JSON the engine stored.
        """
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("ru.integration_id", integration_id), ("ru.id", run_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("ru.started_at >= ?")
            params.append(since)
        sql = (
            f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs ru "
            "JOIN integrations i ON i.id = ru.integration_id "
            "LEFT JOIN connections c ON c.id = i.connection_id"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ru.started_at DESC, ru.id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        found = []
        for row in self._rows(sql, params):
            item = dict(zip(_RUN_KEYS, row))
            item["dry_run"], item["full"] = bool(item["dry_run"]), bool(item["full"])
            item["counts"] = loads(item["counts"])
            found.append(item)
        return found

    def report_open_count(self, integration_id: int, *, before_run: int | None = None) -> int:
        """Open rejections of an integration, as of now.

        Args:
            integration_id: the integration.
            before_run: only those first recorded by an earlier run and not seen by this one
                (a report's "still open from earlier runs").
        """
        sql = "SELECT COUNT(*) FROM rejections WHERE integration_id = ? AND resolved_at IS NULL"
        params: list[Any] = [integration_id]
        if before_run is not None:
            sql += " AND (first_run_id IS NULL OR first_run_id < ?) AND (run_id IS NULL OR run_id <> ?)"
            params += [before_run, before_run]
        return int(self._rows(sql, params)[0][0])
