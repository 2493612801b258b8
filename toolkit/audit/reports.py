"""Per-run audit reports (SPEC A2, A3): CSV for analysts, HTML for stakeholders.

Both list the rejections a run recorded and, separately, those it resolved (A3). Values of
secret-like fields are redacted by the store's reporting queries before they get here.

- CSV: UTF-8 with a byte-order mark (Excel opens it as UTF-8), one row per rejection; a cell
  that starts with ``= + - @``, a tab or a carriage return gets a leading apostrophe, so a
  spreadsheet never runs it as a formula (CSV injection).
- HTML: one self-contained page (inline CSS, no script, no external asset) rendered by jinja2
  with autoescaping: a ``<script>`` in a first name shows as text.

Example:
    >>> paths = write_run_report(tk.store, run_id=42, directory="reports")  # doctest: +SKIP
    >>> paths.html                                                          # doctest: +SKIP
    PosixPath('reports/audit-newsletter-run-42.html')
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

import jinja2
from markupsafe import Markup

from toolkit.audit import HELD_WORDS, held_records
from toolkit.audit.links import BREVO_APP_URL, record_html, with_links
from toolkit.audit.meanings import describe_rule, rule_title
from toolkit.exceptions import ConfigError
from toolkit.store import Direction, ReportRow, Store

__all__ = [
    "CSV_COLUMNS",
    "HTML_ROWS_PER_RULE",
    "ReportPaths",
    "RunSummary",
    "csv_cell",
    "file_slug",
    "render_html",
    "run_summary",
    "write_run_report",
]

CSV_COLUMNS = (
    "in_this_run",
    "integration",
    "run_id",
    "direction",
    "record_id",
    "record_name",
    "field",
    "value",
    "rule",
    "rule_meaning",
    "reason",
    "service_code",
    "service_message",
    "permanent",
    "seen_count",
    "first_seen",
    "last_seen",
    "resolved_at",
    "resolved_run_id",
    "salesforce_url",
    "brevo_url",
)
"""The CSV's header; ``in_this_run`` is ``rejected`` or ``resolved``; ``record_name`` is the
person's name (never an e-mail), ``salesforce_url`` and ``brevo_url`` open the record in each
service (empty when unknown)."""

HTML_ROWS_PER_RULE = 500
"""Records shown per rule in the HTML (the CSV has them all)."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DIRECTIONS = {Direction.TO_BREVO: "Salesforce → Brevo", Direction.TO_SALESFORCE: "Brevo → Salesforce"}


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`write_run_report` wrote a run's reports."""

    csv: Path
    html: Path


class RunSummary(TypedDict):
    """What one run did (:func:`run_summary`): the head of its report, the notebooks' summary.

    Times are stored UTC text (``2026-01-31T09:15:00.000000Z``); ``tasks`` are the records
    written (SPEC Q1); ``rejected`` counts the rejections recorded in this run, ``resolved`` those
    it resolved (A3), each also by rule; ``still_open`` the open rejections this run did not see,
    as of now; ``sf_api_used`` and ``sf_api_limit`` the Salesforce API reading at its end (B3).
    """

    run_id: int
    integration: str
    object: str
    status: str
    dry_run: bool
    full: bool
    started_at: str
    finished_at: str | None
    error: str | None
    tasks: int
    counts: dict[str, int]
    rejected: int
    rejected_by_rule: dict[str, int]
    resolved: int
    resolved_by_rule: dict[str, int]
    still_open: int
    sf_api_used: int | None
    sf_api_limit: int | None


def csv_cell(value: object) -> str:
    """A value as a CSV cell, neutralised against formula injection (leading apostrophe)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _when(text: str | None) -> str:
    """Stored UTC text as ``2026-01-31 09:15 UTC``."""
    if not text:
        return ""
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _run(store: Store, run_id: int) -> ReportRow:
    found = store.report_runs(run_id=run_id)
    if not found:
        raise ConfigError(f"no run {run_id}")
    return found[0]


def run_summary(store: Store, run_id: int) -> RunSummary:
    """What one run did, for a report's head or a notebook.

    Args:
        store: the state database.
        run_id: the run.

    Returns:
        The run's :class:`RunSummary`.

    Raises:
        ConfigError: no such run.
    """
    run = _run(store, run_id)
    rejected = Counter(r["rule"] for r in store.report_rejections(run_id=run_id))
    resolved = Counter(r["rule"] for r in store.report_rejections(resolved_run_id=run_id))
    stored = run["counts"] or {}
    return {
        "run_id": run_id,
        "integration": run["integration"],
        "object": run["object"],
        "status": run["status"],
        "dry_run": run["dry_run"],
        "full": run["full"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "error": run["error"],
        "tasks": int(stored.get("tasks", 0)),
        "counts": dict(stored.get("counts") or {}),
        "rejected": sum(rejected.values()),
        "rejected_by_rule": dict(sorted(rejected.items())),
        "resolved": sum(resolved.values()),
        "resolved_by_rule": dict(sorted(resolved.items())),
        "still_open": store.report_open_count(run["integration_id"], before_run=run_id),
        "sf_api_used": run["sf_api_used"],
        "sf_api_limit": run["sf_api_limit"],
    }


def _record_cell(row: ReportRow) -> Markup:
    """A row's "Record" cell: ``Name (Id)``, the Id linking to Salesforce, then a Brevo link."""
    return Markup(  # record_html escapes every value it is given
        record_html(
            str(row["record_id"]), row.get("record_name"), row.get("salesforce_url"), row.get("brevo_url")
        )
    )


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("toolkit.audit", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["direction"] = lambda d: _DIRECTIONS.get(d, d)
    env.filters["record"] = _record_cell
    return env


def _groups(rows: list[ReportRow], limit: int) -> list[dict[str, Any]]:
    by_rule: dict[str, list[ReportRow]] = {}
    for row in rows:
        by_rule.setdefault(row["rule"], []).append(row)
    ordered = sorted(by_rule.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        {
            "rule": rule,
            "title": rule_title(rule),
            "meaning": describe_rule(rule),
            "count": len(items),
            "rows": sorted(items, key=lambda r: (r["record_id"], r["field"]))[:limit],
            "hidden": max(0, len(items) - limit),
        }
        for rule, items in ordered
    ]


def render_html(
    summary: RunSummary,
    rejected: list[ReportRow],
    resolved: list[ReportRow],
    *,
    rows_per_rule: int = HTML_ROWS_PER_RULE,
    generated_at: datetime | None = None,
    held: list[ReportRow] | None = None,
    held_total: int = 0,
    brevo_app_url: str | None = BREVO_APP_URL,
) -> str:
    """The stakeholders' page: summary, rejections grouped by rule with counts, then resolved ones.

    Each record shows as ``Name (Id)``, its Id linking to the record in Salesforce and, where it
    is linked to a Brevo contact, a "Brevo" link (:mod:`toolkit.audit.links`).

    Args:
        summary: :func:`run_summary`'s dict.
        rejected: the rejections the run recorded (store reporting rows).
        resolved: the rejections the run resolved.
        rows_per_rule: records listed per rule; the rest are counted (the CSV lists them all).
        generated_at: the time printed in the footer (now by default).
        held: the integration's deletions held by the mass-delete guard, as of now
            (:func:`toolkit.audit.held_records` rows; at most ``rows_per_rule`` are listed).
        held_total: how many deletions are held in all (``len(held)`` when smaller).
        brevo_app_url: Brevo's web app, for the contacts' links (``Settings.brevo_app_url``).

    Returns:
        The HTML document; every value is escaped.
    """
    moment = generated_at or datetime.now(UTC)
    template = _environment().get_template("audit_report.html.j2")
    waiting = list(held or ())
    return template.render(
        s=summary,
        groups=_groups(_linked(rejected, brevo_app_url), rows_per_rule),
        resolved=_groups(_linked(resolved, brevo_app_url), rows_per_rule),
        held=waiting[:rows_per_rule],
        held_total=max(held_total, len(waiting)),
        generated=moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _linked(rows: list[ReportRow], brevo_app_url: str | None) -> list[ReportRow]:
    """Copies of reporting rows with their ``salesforce_url`` and ``brevo_url``."""
    return [with_links(dict(row), brevo_app_url) for row in rows]


def _write_csv(
    path: Path, rejected: list[ReportRow], resolved: list[ReportRow], brevo_app_url: str | None
) -> None:
    rejected, resolved = _linked(rejected, brevo_app_url), _linked(resolved, brevo_app_url)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(CSV_COLUMNS)
        for label, rows in (("rejected", rejected), ("resolved", resolved)):
            for row in sorted(rows, key=lambda r: (r["rule"], r["record_id"], r["field"])):
                values = {**row, "in_this_run": label, "rule_meaning": describe_rule(row["rule"])}
                writer.writerow([csv_cell(values.get(column)) for column in CSV_COLUMNS])
    tmp.replace(path)


def _held(store: Store, name: str, limit: int, brevo_app_url: str | None) -> tuple[list[ReportRow], int]:
    """The integration's held deletions (at most ``limit``) and how many there are (B6)."""
    try:
        integration = store.get_integration(name)
    except ConfigError:  # deleted since the run: nothing is held any more
        return [], 0
    held = held_records(store, integration, limit=limit, brevo_app_url=brevo_app_url)
    if not held:
        return [], 0
    return held, sum(store.count_links(integration.id, state=state) for state in HELD_WORDS)


def file_slug(text: str, *, fallback: str, limit: int = 60) -> str:
    """``text`` as a file-name part: ASCII letters and digits joined by ``-``, lower case, at most
    ``limit`` characters; ``fallback`` when nothing is left."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:limit] or fallback


def write_run_report(
    store: Store,
    run_id: int,
    directory: Path | str,
    *,
    rows_per_rule: int = HTML_ROWS_PER_RULE,
    brevo_app_url: str | None = BREVO_APP_URL,
) -> ReportPaths:
    """Write a run's audit report as CSV and HTML (SPEC A2, A3).

    The HTML also lists the integration's deletions held by the mass-delete guard (B6), as of
    now; the CSV lists the rejections only.

    Args:
        store: the state database.
        run_id: the run to report on.
        directory: where to write (created if missing); files are named
            ``audit-<integration>-run-<id>.csv`` and ``.html`` and replaced if they exist.
        rows_per_rule: records listed per rule in the HTML.
        brevo_app_url: Brevo's web app, for the contacts' links (``Settings.brevo_app_url``).

    Returns:
        The two paths.

    Raises:
        ConfigError: no such run.
    """
    summary = run_summary(store, run_id)
    rejected = store.report_rejections(run_id=run_id)
    resolved = store.report_rejections(resolved_run_id=run_id)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"audit-{file_slug(summary['integration'], fallback='integration')}-run-{run_id}"
    paths = ReportPaths(folder / f"{stem}.csv", folder / f"{stem}.html")
    _write_csv(paths.csv, rejected, resolved, brevo_app_url)
    held, held_total = _held(store, summary["integration"], rows_per_rule, brevo_app_url)
    html = render_html(
        summary,
        rejected,
        resolved,
        rows_per_rule=rows_per_rule,
        held=held,
        held_total=held_total,
        brevo_app_url=brevo_app_url,
    )
    tmp = paths.html.with_name(paths.html.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(paths.html)
    return paths
