"""What ``toolkit/notebooks/audit_report.ipynb`` shows: one run's rejected records grouped by rule.

Every part is an HTML, PNG or DataFrame output, so the executed notebook exports to a
stakeholders' page without code: ``jupyter nbconvert --to html --no-input audit_report.ipynb``.

Example:
    >>> view = AuditView.load()            # the latest finished run    # doctest: +SKIP
    >>> view.heading(); view.counts_html(); view.chart(); view.tables()
    >>> export_html("audit.ipynb")         # audit.html, outputs only          # doctest: +SKIP
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
from IPython.display import HTML, Image

from toolkit.api import Toolkit
from toolkit.audit import held_records
from toolkit.audit.links import BREVO_APP_URL, MarkupCells, record_html, with_links
from toolkit.audit.meanings import describe_rule, rule_title
from toolkit.audit.reports import RunSummary, run_summary
from toolkit.exceptions import ConfigError
from toolkit.store import ReportRow, RunStatus

from .charts import rules_chart
from .common import DIRECTIONS, frame_rows, html_table, open_toolkit

__all__ = ["AuditView", "ROWS_PER_RULE", "export_html"]

ROWS_PER_RULE = 200
"""Records listed per rule (the run's CSV report lists them all)."""


class AuditView:
    """One run's audit: a heading, counts by rule, a chart, and a table per rule (SPEC A1-A3).

    Each record shows as ``Name (Id)``, the Id linking to the record in Salesforce, with a
    "Brevo" link to its contact where it is linked (:mod:`toolkit.audit.links`).

    Args:
        summary: :func:`toolkit.audit.reports.run_summary` of the run.
        rejected: the rejections the run recorded (store reporting rows, values redacted).
        resolved: the rejections the run resolved (A3).
        held: the integration's deletions held by the mass-delete guard (B6), as of now
            (:func:`toolkit.audit.held_records` rows).
        brevo_app_url: Brevo's web app, for the contacts' links (``Settings.brevo_app_url``).
    """

    def __init__(
        self,
        summary: RunSummary,
        rejected: list[ReportRow],
        resolved: list[ReportRow],
        *,
        held: list[ReportRow] | None = None,
        brevo_app_url: str | None = BREVO_APP_URL,
    ) -> None:
        self.summary = summary
        self.rejected = [with_links(dict(r), brevo_app_url) for r in rejected]
        self.resolved = [with_links(dict(r), brevo_app_url) for r in resolved]
        self.held = list(held or ())

    @classmethod
    def load(
        cls, run_id: int | None = None, integration: str | None = None, *, tk: Toolkit | None = None
    ) -> AuditView:
        """Read one run's audit from the state (the latest finished real run when ``run_id`` is None).

        Raises:
            ConfigError: no such run, or no finished run yet.
        """
        own = tk is None
        tk = open_toolkit(tk)
        try:
            if run_id is None:
                iid = tk.store.get_integration(integration).id if integration else None
                runs = [
                    r
                    for r in tk.store.list_runs(iid, limit=50)
                    if not r.dry_run and r.status != RunStatus.RUNNING
                ]
                if not runs:
                    raise ConfigError("no finished run to report on yet")
                run_id = int(runs[0].id)
            summary = run_summary(tk.store, run_id)
            app_url = tk.settings.brevo_app_url
            held = held_records(
                tk.store,
                tk.store.get_integration(summary["integration"]),
                limit=ROWS_PER_RULE,
                brevo_app_url=app_url,
            )
            return cls(
                summary,
                tk.store.report_rejections(run_id=run_id),
                tk.store.report_rejections(resolved_run_id=run_id),
                held=held,
                brevo_app_url=app_url,
            )
        finally:
            if own:
                tk.close()

    def heading(self) -> HTML:
        """Which run, how it ended, and its totals."""
        s = self.summary
        facts = [
            ("Integration", f"{s['integration']} (Salesforce {s['object']}s)"),
            ("Run", f"{s['run_id']}, {s['status']}, started {s['started_at'][:16].replace('T', ' ')} UTC"),
            ("Records written (tasks)", f"{s['tasks']:,}"),
            ("Records rejected in this run", f"{s['rejected']:,}"),
            ("Rejections resolved by this run", f"{s['resolved']:,}"),
            ("Older rejections still open", f"{s['still_open']:,}"),
        ]
        if s["error"]:
            facts.append(("Error", s["error"]))
        rows = "".join(
            f"<tr><th style='text-align:left;padding:2px 14px 2px 0'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in facts
        )
        title = f"{s['integration']}: run {s['run_id']}"
        return _html(f"<h2>{html.escape(title)}</h2><table>{rows}</table>")

    def counts(self) -> pd.DataFrame:
        """Records per rule: rejected in this run and resolved by it, with what the rule means."""
        rejected = pd.Series([r["rule"] for r in self.rejected], dtype="object").value_counts()
        resolved = pd.Series([r["rule"] for r in self.resolved], dtype="object").value_counts()
        rules = sorted(set(rejected.index) | set(resolved.index), key=lambda r: (-int(rejected.get(r, 0)), r))
        frame = pd.DataFrame(
            {
                "rule": rules,
                "title": [rule_title(r) for r in rules],
                "rejected": [int(rejected.get(r, 0)) for r in rules],
                "resolved": [int(resolved.get(r, 0)) for r in rules],
                "meaning": [describe_rule(r) for r in rules],
            },
            columns=["rule", "title", "rejected", "resolved", "meaning"],
        )
        return frame.set_index("rule")

    def counts_html(self) -> HTML:
        """:meth:`counts` as a plain table for the page (rule, what it is, rejected, resolved)."""
        return _html(
            html_table(
                frame_rows(self.counts().reset_index()),
                (
                    ("rule", "Rule"),
                    ("title", "What"),
                    ("rejected", "Rejected in this run"),
                    ("resolved", "Resolved by this run"),
                ),
                empty="No record was rejected.",
            )
        )

    def chart(self) -> Image:
        """Rejected records by rule, as a bar chart (PNG)."""
        counts = self.counts()
        rejected = counts[counts["rejected"] > 0]
        return _png(
            rules_chart({f"{rule} {row['title']}": int(row["rejected"]) for rule, row in rejected.iterrows()})
        )

    def tables(self, rows_per_rule: int = ROWS_PER_RULE) -> HTML:
        """A table of records per rule (rejected, then resolved), largest group first."""
        parts = [self._groups(self.rejected, "Rejected in this run", rows_per_rule)]
        if self.resolved:
            parts.append(self._groups(self.resolved, "Resolved by this run (A3)", rows_per_rule))
        if self.held:
            parts.append(self._held(rows_per_rule))
        return _html("".join(parts))

    def _held(self, limit: int) -> str:
        cells = MarkupCells()
        rows = [
            {
                **h,
                "record": cells.add(
                    record_html(h["record_id"], h["record_name"], h["salesforce_url"], h["brevo_url"])
                ),
            }
            for h in self.held[:limit]
        ]
        table = html_table(
            rows,
            (("record", "Record"), ("deleted_in", "Deleted in"), ("waiting", "Waiting")),
            css_class="toolkit-held-table",
        )
        return (
            "<h2>Deletions waiting for a confirmation (B6)</h2><p>As of now: more records were deleted on one "
            "side than the integration allows without a confirmation; these wait until someone who manages "
            "the integration confirms them.</p>" + cells.fill(table)
        )

    @staticmethod
    def _groups(rows: list[ReportRow], title: str, limit: int) -> str:
        by_rule: dict[str, list[ReportRow]] = {}
        for row in rows:
            by_rule.setdefault(row["rule"], []).append(row)
        out = [f"<h2>{html.escape(title)}</h2>"]
        if not by_rule:
            out.append("<p>No record.</p>")
        for rule, items in sorted(by_rule.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            items = sorted(items, key=lambda r: (r["record_id"], r["field"] or ""))
            cells = MarkupCells()  # the "Record" cells: the name, the Id linking to Salesforce, Brevo
            shown = [
                {
                    **r,
                    "record": cells.add(
                        record_html(
                            r["record_id"], r.get("record_name"), r.get("salesforce_url"), r.get("brevo_url")
                        )
                    ),
                    "direction": DIRECTIONS.get(r["direction"], r["direction"]),
                }
                for r in items[:limit]
            ]
            more = f" (the first {limit} listed; the CSV has all)" if len(items) > limit else ""
            out.append(
                f"<h3 id='rule-{html.escape(rule)}'>{html.escape(rule)} — {html.escape(rule_title(rule))}: "
                f"{len(items):,} record(s){more}</h3><p>{html.escape(describe_rule(rule))}</p>"
            )
            out.append(
                cells.fill(
                    html_table(
                        shown,
                        (
                            ("record", "Record"),
                            ("direction", "Direction"),
                            ("field", "Field"),
                            ("value", "Value"),
                            ("reason", "Reason"),
                            ("service_code", "Service code"),
                        ),
                        css_class="toolkit-audit-table",
                    )
                )
            )
        return "".join(out)


def _html(markup: str) -> HTML:
    """An HTML output of the notebook."""
    return HTML(markup)  # type: ignore[no-untyped-call]  # IPython's display classes are unannotated


def _png(data: bytes) -> Image:
    """A PNG output of the notebook."""
    return Image(data=data, format="png")  # type: ignore[no-untyped-call]  # as above


def export_html(notebook: Path | str, html_path: Path | str | None = None) -> Path:
    """Export an executed notebook to one HTML page without code or prompts, for stakeholders.

    The same as ``jupyter nbconvert --to html --no-input --no-prompt``.

    Args:
        notebook: the executed ``.ipynb``.
        html_path: where to write (default: beside the notebook, ``.html``).

    Returns:
        The HTML file's path.
    """
    from nbconvert import HTMLExporter  # slow to import, and only this export needs it

    source = Path(notebook)
    target = Path(html_path) if html_path is not None else source.with_suffix(".html")
    exporter = HTMLExporter(  # type: ignore[no-untyped-call]  # nbconvert's exporters are unannotated
        exclude_input=True, exclude_output_prompt=True, exclude_input_prompt=True
    )
    body, _ = exporter.from_filename(str(source))
    target.write_text(body, encoding="utf-8")
    return target
