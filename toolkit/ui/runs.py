"""What ``toolkit/notebooks/sync.ipynb`` runs (papermill, on a schedule): one sync, its summary, its report.

The notebook takes an integration's name and three switches as papermill parameters; the
state and the credentials come from ``$TOOLKIT_STATE_DIR`` (``Toolkit()``), never from a
parameter, so nothing secret is saved in the executed notebook.

Example:
    >>> outcome = run_sync("newsletter", dry_run=False, report_dir="reports")   # doctest: +SKIP
    >>> outcome                             # what the run did, one row per figure (HTML or text)
    >>> outcome.table()                     # the same as a DataFrame
    >>> outcome.raise_for_status()          # a failed run fails the notebook: papermill exits 1
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from toolkit.api import Toolkit
from toolkit.audit.meanings import rule_title
from toolkit.audit.reports import ReportPaths, RunSummary, run_summary, write_run_report
from toolkit.exceptions import ConfigError, ToolkitError
from toolkit.store import RunStatus, RunTrigger
from toolkit.sync import RunResult

from .common import ACTION_LABELS, html_table, open_toolkit

__all__ = ["SyncOutcome", "run_result_html", "run_sync"]


@dataclass(frozen=True)
class SyncOutcome:
    """One run as the notebook shows it.

    Attributes:
        result: the engine's :class:`~toolkit.sync.RunResult`.
        summary: :func:`toolkit.audit.reports.run_summary` of the run.
        report: where the audit report (HTML, CSV) was written; ``None`` for a dry run, which
            records no rejection.
    """

    result: RunResult
    summary: RunSummary
    report: ReportPaths | None

    def table(self) -> pd.DataFrame:
        """The run's figures, one per row (``figure``, ``value``)."""
        r, s = self.result, self.summary
        rows: list[tuple[str, str | int]] = [
            ("integration", r.integration),
            ("run", r.run_id),
            ("status", r.status),
            (
                "kind",
                "dry run (nothing written)" if r.dry_run else ("full resync" if s["full"] else "incremental"),
            ),
            ("records that would be written" if r.dry_run else "records written (tasks)", r.tasks),
        ]
        rows += [(ACTION_LABELS.get(k, k), v) for k, v in sorted(r.counts.items()) if v]
        rows += [(f"rejected: {rule} ({rule_title(rule)})", n) for rule, n in sorted(r.rejected.items())]
        if s["resolved"]:
            rows.append(("rejections resolved by this run (A3)", s["resolved"]))
        if s["sf_api_used"] is not None:
            rows.append(
                ("Salesforce API calls in the last 24 h", f"{s['sf_api_used']:,} of {s['sf_api_limit']:,}")
            )
        if self.report is not None:
            rows += [
                ("audit report (HTML)", str(self.report.html)),
                ("audit report (CSV)", str(self.report.csv)),
            ]
        if r.message:
            rows.append(("message", r.message))
        return pd.DataFrame(rows, columns=["figure", "value"]).set_index("figure")

    def _repr_html_(self) -> str:
        rows = [{"figure": k, "value": v} for k, v in self.table()["value"].items()]
        return html_table(rows, (("figure", "Figure"), ("value", "Value")), css_class="toolkit-run-summary")

    def __repr__(self) -> str:
        figures = self.table()["value"]
        width = max(len(str(k)) for k in figures.index)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in figures.items())

    def raise_for_status(self) -> None:
        """Raise unless the run succeeded, so that papermill marks the notebook failed (exit 1).

        Raises:
            ToolkitError: the run failed, was blocked (B6) or stopped by the quota (Q3).
        """
        r = self.result
        if r.status != RunStatus.SUCCEEDED:
            raise ToolkitError(
                f"run {r.run_id} of {r.integration!r} {r.status}: {r.message or 'see the summary'}"
            )


def run_sync(
    integration: str,
    *,
    dry_run: bool = True,
    full: bool = False,
    report_dir: str | Path = "reports",
    tk: Toolkit | None = None,
    trigger: str = RunTrigger.MANUAL,
) -> SyncOutcome:
    """Run one integration with tqdm progress bars and write its audit report (SPEC A2).

    Args:
        integration: the integration's name.
        dry_run: plan only, write nothing (B1).
        full: compare every record, not only the changes since the last run.
        report_dir: where the report's HTML and CSV go (created if missing).
        tk: the toolkit (default: ``Toolkit()`` on ``$TOOLKIT_STATE_DIR``, closed afterwards).
        trigger: what started the run (a :class:`toolkit.store.RunTrigger` value), kept with it.

    Returns:
        The outcome; a failed run is returned too (its report written), see
        :meth:`SyncOutcome.raise_for_status`.

    Raises:
        ConfigError: no integration named, an unknown one, or one not set up.
        RunLockedError: another run of it is in progress.
    """
    if not integration:
        raise ConfigError("set the notebook's `integration` parameter (papermill -p integration NAME)")
    own = tk is None
    tk = open_toolkit(tk)
    bars: dict[str, tqdm[Any]] = {}

    def progress(phase: str, n: int) -> None:
        if phase not in bars:
            bars[phase] = tqdm(desc=phase, unit=" records")
        bars[phase].update(n)

    try:
        result = tk.run(
            integration, dry_run=dry_run, full=full, progress=progress, trigger=RunTrigger(trigger)
        )
        report = (
            None
            if result.dry_run
            else write_run_report(
                tk.store, result.run_id, report_dir, brevo_app_url=tk.settings.brevo_app_url
            )
        )
        summary = run_summary(tk.store, result.run_id)
    finally:
        for bar in bars.values():
            bar.close()
        if own:
            tk.close()
    if any(type(bar).__module__ == "tqdm.notebook" for bar in bars.values()):
        # A widget bar is saved at its first state; leave the final counts as text in the notebook.
        print("\n".join(f"{phase}: {bar.n:,} records" for phase, bar in bars.items()))
    return SyncOutcome(result, summary, report)


def run_result_html(result: RunResult) -> str:
    """A run's counts and rejections by rule as two small tables."""
    counts = [
        {"what": ACTION_LABELS.get(k, k.replace("_", " ")), "records": v}
        for k, v in sorted(result.counts.items())
        if v
    ]
    rejected = [{"rule": k, "records": v} for k, v in sorted(result.rejected.items())]
    title = "What this dry run would do" if result.dry_run else "What this run did"
    return (
        f"<h4 style='margin:8px 0 4px'>{html.escape(title)}</h4>"
        + html_table(counts, (("what", "Records"), ("records", "Count")), empty="No change found.")
        + "<h4 style='margin:8px 0 4px'>Rejected by rule</h4>"
        + html_table(rejected, (("rule", "Rule"), ("records", "Records")), empty="No record rejected.")
    )
