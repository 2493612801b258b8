"""The quota dashboard: tasks against the limit (Q1-Q3), forecast (B2), deletions held by the
mass-delete guard with a Confirm button each (B6), Salesforce API usage (B3), recent runs, and
the rejected records (A1) filterable by rule and integration, with a CSV download.

Everything comes from :class:`toolkit.quota.Quota` and :mod:`toolkit.audit`; this module only
lays it out. For a viewer (``TOOLKIT_ROLE=viewer``, :func:`~toolkit.ui.common.viewer_mode`) it is
read-only: the held deletions are listed without their Confirm buttons.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from typing import Any

import ipywidgets as widgets
import pandas as pd
import traitlets

from toolkit import audit
from toolkit.api import Toolkit
from toolkit.audit.links import MarkupCells, record_html
from toolkit.audit.reports import csv_cell, file_slug
from toolkit.quota import QuotaState, QuotaStatus
from toolkit.store import RejectionState

from .charts import usage_chart
from .common import DIRECTIONS, AppPage, frame_rows, guarded, html_table
from .held import HeldDeletions

__all__ = ["CSV_COLUMNS", "CSV_INLINE_ROWS", "QuotaDashboard", "TABLE_ROWS"]

TABLE_ROWS = 200
"""Rejections shown in the table (the CSV download has every matching row)."""

CSV_INLINE_ROWS = 5_000
"""Up to this many rows the download link is ready at once; above, a button prepares it (the
link carries the whole file to the browser)."""

CSV_COLUMNS = (
    "integration",
    "run_id",
    "direction",
    "record_id",
    "record_name",
    "field",
    "value",
    "rule",
    "reason",
    "service_code",
    "first_seen",
    "last_seen",
    "state",
    "salesforce_url",
    "brevo_url",
)
"""The rejections CSV's columns (``record_name``: the person's name, never an e-mail; the URLs
open the record in Salesforce and its contact in Brevo, empty when unknown)."""

ALL = ""
_STATE_COLOURS = {QuotaState.OK: "#1e5e2f", QuotaState.WARNING: "#a15c00", QuotaState.EXHAUSTED: "#8a1c1c"}
_STATE_WORDS = {
    QuotaState.OK: "on track",
    QuotaState.WARNING: "warning",
    QuotaState.EXHAUSTED: "limit reached: integrations stopped",
}


def _section(title: str) -> widgets.HTML:
    return widgets.HTML(f"<h3 style='margin:16px 0 4px'>{html.escape(title)}</h3>")


class QuotaDashboard(AppPage):
    """This month's tasks, forecast, held deletions, API usage, recent runs and the rejections table.

    Args:
        tk: the toolkit (default: ``Toolkit()`` on ``$TOOLKIT_STATE_DIR``).
        viewer: read-only, for stakeholders: no Confirm button (default:
            :func:`~toolkit.ui.common.viewer_mode`); filtering and the CSV download stay.

    Attributes:
        viewer: whether the dashboard is read-only.
        rule, integration, state: the rejections table's filters (linked to its drop-downs;
            ``""`` means all).
        status: the :class:`~toolkit.quota.QuotaStatus` shown.
        held: the integrations with deletions held by the mass-delete guard (B6), each with its
            "Confirm N deletions" button (``held.buttons[name]``).
        tk: the toolkit; absent when it could not be opened (``message`` then says why).
    """

    rule = traitlets.Unicode(ALL)
    integration = traitlets.Unicode(ALL)
    state = traitlets.Unicode(RejectionState.OPEN)

    def __init__(self, tk: Toolkit | None = None, *, viewer: bool | None = None, **kwargs: Any) -> None:
        super().__init__(tk, viewer=viewer, css_class="toolkit-dashboard", via="quota dashboard", **kwargs)
        self.status: QuotaStatus | None = None
        if not self.opened:
            return
        self.quota_html = widgets.HTML()
        self.quota_html.add_class("toolkit-quota")
        self.chart = widgets.Image(format="png", layout=widgets.Layout(max_width="1000px", width="100%"))
        self.chart.add_class("toolkit-usage-chart")
        self.forecast_html = widgets.HTML()
        self.forecast_html.add_class("toolkit-forecast")
        self.breakdown = widgets.HTML()
        self.held = HeldDeletions(
            self.tk, on_confirmed=lambda _name, _result: self.refresh(), viewer=self.viewer
        )
        self.api_html = widgets.HTML()
        self.api_html.add_class("toolkit-api-usage")
        self.runs_html = widgets.HTML()
        self.runs_html.add_class("toolkit-recent-runs")
        self.rule_filter = widgets.Dropdown(description="Rule", options=[("All rules", ALL)])
        self.integration_filter = widgets.Dropdown(description="Integration", options=[("All", ALL)])
        self.state_filter = widgets.ToggleButtons(
            options=[
                ("Open", RejectionState.OPEN),
                ("Resolved", RejectionState.RESOLVED),
                ("All", RejectionState.ALL),
            ],
            value=RejectionState.OPEN,
        )
        widgets.link((self.rule_filter, "value"), (self, "rule"))
        widgets.link((self.integration_filter, "value"), (self, "integration"))
        widgets.link((self.state_filter, "value"), (self, "state"))
        self.observe(lambda _: self.show_rejections(), names=["rule", "integration", "state"])
        self.rejections_html = widgets.HTML()
        self.rejections_html.add_class("toolkit-rejections")
        self.download = widgets.HTML()
        self.download.add_class("toolkit-csv-download")
        self.prepare_csv = widgets.Button(
            description="Prepare the CSV download",
            icon="download",
            layout=widgets.Layout(width="auto", display="none"),
        )
        self.prepare_csv.on_click(lambda _: self._link(self.rejections_frame()))
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.children = [
            widgets.HTML("<h2 style='margin:4px 0'>Monthly tasks</h2>"),
            self.quota_html,
            self.chart,
            self.forecast_html,
            _section("Deletions waiting for a confirmation (B6)"),
            self.held,
            _section("Tasks per integration this month"),
            self.breakdown,
            _section("Salesforce API usage (last 24 hours)"),
            self.api_html,
            _section("Recent runs"),
            self.runs_html,
            _section("Rejected records"),
            widgets.HBox([self.rule_filter, self.integration_filter]),
            self.state_filter,
            self.prepare_csv,
            self.download,
            self.rejections_html,
            self.refresh_button,
            self.message,
        ]
        self.refresh()

    # -- the whole page --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload every section."""
        if guarded(self.message, self._load) is not None:
            self.message.say("")

    def _load(self) -> bool:
        quota = self.tk.quota
        self.status = status = quota.status()
        warn = self.tk.settings.quota_warning_share
        self.quota_html.value = quota_bar(status, warn)
        self.chart.value = usage_chart(
            quota.usage_by_day(),
            limit=status.limit,
            warning_share=warn,
            forecast=status.forecast,
            month_end=status.resets_at,
        )
        self.forecast_html.value = forecast_html(status, warn)
        self.held.refresh()
        self.breakdown.value = html_table(
            [{**r, "share": f"{r['share']:.0%}"} for r in quota.usage_by_integration()],
            (("integration", "Integration"), ("tasks", "Tasks"), ("share", "Share")),
            empty="No task used this month yet.",
        )
        since = pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(hours=23)
        self.api_html.value = api_usage_html(audit.api_usage(self.tk.store)) + poll_usage_html(
            audit.poll_usage(self.tk.store, since=since.to_pydatetime())
        )
        runs = audit.runs(self.tk.store, limit=10)
        self.runs_html.value = html_table(
            [_run_row(r) for r in frame_rows(runs)],
            (
                ("run_id", "Run"),
                ("integration", "Integration"),
                ("started_at", "Started"),
                ("kind", "Kind"),
                ("status", "Status"),
                ("tasks", "Tasks"),
                ("rejected", "Rejected"),
                ("duration_s", "Took"),
            ),
            empty="No run yet.",
        )
        self._filters()
        self.show_rejections()
        return True

    # -- rejections ------------------------------------------------------------------------------

    def _filters(self) -> None:
        counts = audit.rejection_counts(self.tk.store, state=RejectionState.ALL)
        rules = sorted(set(counts["rule"]))
        names = sorted({i.name for i in self.tk.integrations()} | set(counts["integration"].dropna()))
        rule, integration = self.rule, self.integration
        self.rule_filter.options = [("All rules", ALL)] + [(f"{r} — {audit.rule_title(r)}", r) for r in rules]
        self.integration_filter.options = [("All", ALL)] + [(n, n) for n in names]
        self.rule = rule if rule in rules else ALL
        self.integration = integration if integration in names else ALL

    def rejections_frame(self, limit: int | None = None) -> pd.DataFrame:
        """The rejections matching the filters (a DataFrame, newest sighting first; at most ``limit``)."""
        return audit.rejections(
            self.tk.store,
            integration=self.integration or None,
            rule=self.rule or None,
            state=self.state,
            limit=limit,
            brevo_app_url=self.tk.settings.brevo_app_url,
        )

    def rejections_count(self) -> int:
        """How many rejections match the filters (counted in SQL, nothing loaded)."""
        counts = audit.rejection_counts(
            self.tk.store, integration=self.integration or None, rule=self.rule or None, state=self.state
        )
        return int(counts["count"].sum())

    def csv_text(self, frame: pd.DataFrame | None = None) -> str:
        """The filtered rejections (or ``frame``'s) as CSV, cells neutralised against formula injection."""
        frame = self.rejections_frame() if frame is None else frame
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for row in frame_rows(frame):
            writer.writerow([csv_cell(_plain(row.get(c))) for c in CSV_COLUMNS])
        return out.getvalue()

    def show_rejections(self) -> None:
        """Redraw the rejections table and its download link for the current filters.

        Only the table's rows are read; the total is counted in SQL, and the whole set is read
        for the download when it is small (else on the button), so a year of history stays fast.
        """
        frame = guarded(self.message, lambda: self.rejections_frame(limit=TABLE_ROWS))
        total = guarded(self.message, self.rejections_count)
        if frame is None or total is None:
            return
        cells = MarkupCells()  # the "Record" cells: the name, the Id linking to Salesforce, Brevo
        rows = [
            {
                **{k: _plain(v) for k, v in r.items()},
                "record": cells.add(
                    record_html(
                        str(r["record_id"]),
                        _plain(r["record_name"]),
                        _plain(r["salesforce_url"]),
                        _plain(r["brevo_url"]),
                    )
                ),
                "rule": f"{r['rule']} — {audit.rule_title(r['rule'])}",
                "direction": DIRECTIONS.get(r["direction"], r["direction"]),
                "last_seen": f"{r['last_seen']:%Y-%m-%d %H:%M}",
            }
            for r in frame_rows(frame)
        ]
        shown = f"{total:,} rejected record(s)" + (
            f", the first {TABLE_ROWS} shown" if total > TABLE_ROWS else ""
        )
        self.rejections_html.value = f"<p style='margin:4px 0'>{shown}</p>" + cells.fill(
            html_table(
                rows,
                (
                    ("integration", "Integration"),
                    ("record", "Record"),
                    ("direction", "Direction"),
                    ("field", "Field"),
                    ("value", "Value"),
                    ("rule", "Rule"),
                    ("reason", "Reason"),
                    ("last_seen", "Last seen (UTC)"),
                    ("state", "State"),
                ),
                css_class="toolkit-rejections-table",
                empty="No rejected record matches.",
            )
        )
        if total <= CSV_INLINE_ROWS:
            self._link(frame if total <= TABLE_ROWS else self.rejections_frame())
        else:
            self.download.value = ""
            self.prepare_csv.layout.display = None

    def _link(self, frame: pd.DataFrame) -> None:
        """Put the rows in a download link (a data URL: the file never touches the server's disk)."""
        name = "-".join(p for p in ("rejections", self.integration, self.rule, self.state) if p)
        file_name = file_slug(name, fallback="rejections", limit=80) + ".csv"
        payload = base64.b64encode(self.csv_text(frame).encode("utf-8-sig")).decode()
        self.prepare_csv.layout.display = "none"
        self.download.value = (
            f'<a download="{html.escape(file_name)}" href="data:text/csv;base64,{payload}" '
            f'class="toolkit-download-link" style="font-weight:bold">Download these {len(frame):,} '
            f"rows as CSV</a>"
        )


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    return {
        **run,
        "started_at": f"{run['started_at']:%Y-%m-%d %H:%M} UTC",
        "kind": "dry run" if run["dry_run"] else ("full" if run["full"] else "incremental"),
        "duration_s": "" if pd.isna(run["duration_s"]) else f"{run['duration_s']:.1f} s",
    }


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, (str, bytes)) and pd.isna(value)):
        return None
    return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value


def quota_bar(status: QuotaStatus, warning_share: float) -> str:
    """The month's usage as a bar with the warning (80%) and limit (100%) marks."""
    colour = _STATE_COLOURS[status.state]
    fill = min(status.share, 1.0) * 100
    mark = warning_share * 100
    return (
        f'<div style="font-size:15px;margin:4px 0"><b>{status.used:,}</b> of <b>{status.limit:,}</b> tasks used '
        f'in {status.month} ({status.share:.1%}) — <span class="toolkit-quota-state" style="color:{colour};'
        f'font-weight:bold">{_STATE_WORDS[status.state]}</span></div>'
        f'<div style="position:relative;height:18px;max-width:720px;background:#eee;border-radius:3px;'
        f'margin:8px 0 20px">'
        f'<div style="width:{fill:.2f}%;height:100%;background:{colour};border-radius:3px"></div>'
        f'<div title="{mark:.0f}%" style="position:absolute;left:{mark:.0f}%;top:-4px;height:26px;'
        f'border-left:2px solid #e69500"></div>'
        f'<span style="position:absolute;left:{mark:.0f}%;top:22px;font-size:11px;transform:translateX(-50%)">'
        f"{mark:.0f}%</span>"
        f'<div style="position:absolute;right:0;top:-4px;height:26px;border-left:2px solid #c62828"></div>'
        f'<span style="position:absolute;right:0;top:22px;font-size:11px">100%</span></div>'
    )


def forecast_html(status: QuotaStatus, warning_share: float) -> str:
    """B2: where this month is heading, with a warning before the 80% mark is reached."""
    first = (
        f"Forecast for the month's end: <b>{status.forecast:,}</b> tasks ({status.forecast_share:.0%} of the "
        f"limit), {status.remaining:,} left now; the quota resets on {status.resets_at:%d %B %Y} (UTC)."
    )
    lines = [first]
    if status.state == QuotaState.EXHAUSTED:
        lines.append(
            "⛔ All tasks are used: every integration is stopped until the quota resets or the limit is "
            "raised (toolkit quota set-limit N). Nothing is lost."
        )
    elif status.share < warning_share <= status.forecast_share:
        lines.append(f"⚠ At this pace the month passes {warning_share:.0%} of the limit.")
    if status.exhausted_on is not None:
        lines.append(f"⚠ At this pace the limit is reached on {status.exhausted_on:%d %B}.")
    return "".join(f"<p style='margin:2px 0'>{line}</p>" for line in lines)


def api_usage_html(frame: pd.DataFrame) -> str:
    """B3: the latest Salesforce API reading per org (used / daily allowance)."""
    if frame.empty:
        return html_table([], (), empty="No Salesforce API reading yet (one is kept at the end of each run).")
    latest = frame.sort_values("finished_at").groupby("org", sort=False).tail(1)
    rows = [
        {
            "org": r["org"],
            "used": f"{int(r['sf_api_used']):,} of {int(r['sf_api_limit']):,}",
            "share": "" if pd.isna(r["sf_api_share"]) else f"{float(r['sf_api_share']):.1%}",
            "left": f"{int(r['sf_api_left']):,}",
            "as_of": f"{r['finished_at']:%Y-%m-%d %H:%M} UTC",
            "run": f"run {r['run_id']} ({r['integration']})",
        }
        for r in frame_rows(latest)
    ]
    return html_table(
        rows,
        (
            ("org", "Salesforce org"),
            ("used", "API calls used"),
            ("share", "Share"),
            ("left", "Left"),
            ("as_of", "As of"),
            ("run", "Read by"),
        ),
    )


def poll_usage_html(frame: pd.DataFrame) -> str:
    """Beside B3: what ``toolkit serve``'s Salesforce poll cost in the last 24 hours, per integration."""
    if frame.empty:
        return ""  # no server polls this state: nothing to show
    totals = frame.groupby("integration", sort=True)[["polls", "calls", "found"]].sum()
    rows = [
        {
            "integration": str(name),
            "polls": f"{int(r['polls']):,}",
            "calls": f"{int(r['calls']):,}",
            "found": f"{int(r['found']):,}",
        }
        for name, r in totals.iterrows()
    ]
    return "<h4>Salesforce poll (toolkit serve), last 24 hours</h4>" + html_table(
        rows,
        (
            ("integration", "Integration"),
            ("polls", "Polls"),
            ("calls", "API calls"),
            ("found", "Polls that found changes"),
        ),
    )
