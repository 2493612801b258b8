"""The integrations page (SPEC S8): every integration with its state, and what to do with it.

A table (object, status, schedule, Brevo list, last run and what started it, tasks this month,
open rejections, deletions held by the mass-delete guard), the held deletions with a "Confirm N
deletions" button per integration (B6, :class:`~toolkit.ui.held.HeldDeletions`), then one
integration chosen in a drop-down: its schedule (an interval or a cron expression, run by
``toolkit serve``; :func:`toolkit.schedules.parse_schedule`), activate, deactivate, or run now (a
dry run, B1, or a real run) with the result shown underneath.

For a viewer (``TOOLKIT_ROLE=viewer``, :func:`~toolkit.ui.common.viewer_mode`) the page is
read-only: the table and the held deletions, no button that acts and no field to edit.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any, TypedDict

import ipywidgets as widgets
import traitlets

from toolkit.api import Toolkit
from toolkit.schedules import DEFAULT_SCHEDULE
from toolkit.store import LinkState, Run, RunStatus
from toolkit.sync import RunResult

from .common import ACTION_LABELS, Message, guarded, html_table, open_toolkit, viewer_mode
from .held import HELD_STATES, HeldDeletions, held_counts

__all__ = [
    "COLUMNS",
    "TRIGGER_WORDS",
    "IntegrationRow",
    "IntegrationsPage",
    "last_run_words",
    "trigger_words",
]

COLUMNS = (
    ("name", "Integration"),
    ("object", "Object"),
    ("status", "Status"),
    ("schedule", "Schedule"),
    ("list", "Brevo list"),
    ("last_run", "Last run"),
    ("trigger", "Started by"),
    ("tasks_this_month", "Tasks this month"),
    ("open_rejections", "Open rejections"),
    ("held_deletions", "Held deletions"),
)
"""The table's ``(key, header)`` columns, as :meth:`IntegrationsPage.rows` returns them."""


class IntegrationRow(TypedDict):
    """One integration as the page's table shows it (keyed as :data:`COLUMNS`)."""

    name: str
    object: str  # "Contacts" or "Leads"
    status: str  # with the stop reason and the last error, if any
    schedule: str  # "every 15 minutes", or a cron expression
    list: str  # "#12 Salesforce Contacts", or "-"
    last_run: str  # "succeeded, 2026-01-31 09:15 UTC" ("failed, ...: why"), or "never"
    trigger: str  # what started the last run: "schedule", "manual", ... ("" when none)
    tasks_this_month: int
    open_rejections: int
    held_deletions: str  # "3 (deleted in Salesforce)", or ""


TRIGGER_WORDS = {
    "manual": "manual",
    "schedule": "schedule",
    "retry": "retry of a failed scheduled run",
    "event": "Brevo webhook events",
    "poll": "Salesforce poll",
    "reconcile": "periodic reconciliation",
}
"""What started a run (:class:`~toolkit.store.RunTrigger`), in words."""


def trigger_words(run: Run | None) -> str:
    """The "Started by" cell: ``"schedule"``, ``"manual"``...; ``""`` with no run or no trigger recorded."""
    if run is None or run.trigger is None:
        return ""
    trigger = str(run.trigger)
    return TRIGGER_WORDS.get(trigger, trigger)


def last_run_words(run: Run | None) -> str:
    """The "Last run" cell: ``"succeeded, 2026-01-31 09:15 UTC"``; a failed run says why; ``"never"``."""
    if run is None:
        return "never"
    text = f"{run.status}{' (dry run)' if run.dry_run else ''}, {run.started_at:%Y-%m-%d %H:%M} UTC"
    if run.status == RunStatus.FAILED and run.error:
        error = run.error if len(run.error) <= 120 else run.error[:119] + "…"
        text += f": {error}"
    return text


class IntegrationsPage(widgets.VBox):
    """Every integration, with its schedule, activate / deactivate / run now.

    Args:
        tk: the toolkit (default: ``Toolkit()`` on ``$TOOLKIT_STATE_DIR``).
        viewer: read-only, for stakeholders: the table and the held deletions, no action button
            and no editable field (default: :func:`~toolkit.ui.common.viewer_mode`).

    Attributes:
        viewer: whether the page is read-only.
        selected: the integration the buttons act on (linked to the drop-down).
        schedule: the selected integration's schedule, editable (``schedule_button`` saves it;
            ``schedule_message`` says what was saved, or why not).
        last_result: the :class:`~toolkit.sync.RunResult` of the last "Run now" or confirmation, if any.
        held: the deletions held by the mass-delete guard (B6), each integration's with its
            "Confirm N deletions" button (``held.buttons[name]``).
        tk: the toolkit; absent when it could not be opened (``message`` then says why).
    """

    selected = traitlets.Unicode("", allow_none=True)

    def __init__(self, tk: Toolkit | None = None, *, viewer: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("toolkit-integrations-page")
        self.viewer = viewer_mode() if viewer is None else viewer
        if self.viewer:
            self.add_class("toolkit-viewer")
        self.message = Message()
        self.last_result: RunResult | None = None
        opened = guarded(self.message, lambda: open_toolkit(tk))
        if opened is None:  # e.g. a broken toolkit.toml: say so instead of a traceback
            self.children = [self.message]
            return
        self.tk = opened
        self.table = widgets.HTML()
        self.table.add_class("toolkit-integrations-table")
        self.choice = widgets.Dropdown(description="Integration", options=[])
        widgets.link((self.choice, "value"), (self, "selected"))
        self.dry_run = widgets.Checkbox(
            value=True,
            indent=False,
            layout=widgets.Layout(width="auto"),
            description="Dry run: show what would be written, write nothing",
        )
        self.full = widgets.Checkbox(
            value=False,
            indent=False,
            layout=widgets.Layout(width="auto"),
            description="Compare every record (full resync)",
        )
        self.run_button = widgets.Button(description="Run now", button_style="primary", icon="play")
        self.activate_button = widgets.Button(description="Activate", button_style="success")
        self.deactivate_button = widgets.Button(description="Deactivate", button_style="warning")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.run_button.on_click(lambda _: self.run_now())
        self.activate_button.on_click(lambda _: self.set_active(True))
        self.deactivate_button.on_click(lambda _: self.set_active(False))
        self.refresh_button.on_click(lambda _: self.refresh())
        self.result = widgets.HTML()
        self.result.add_class("toolkit-run-result")
        self.schedule = widgets.Text(
            value=DEFAULT_SCHEDULE,
            description="Schedule",
            placeholder="every 15 minutes, 2h, or cron: 0 6 * * mon-fri",
            layout=widgets.Layout(width="26em"),
        )
        self.schedule.add_class("toolkit-schedule")
        self.schedule_button = widgets.Button(description="Save schedule", icon="clock-o")
        self.schedule_button.on_click(lambda _: self.save_schedule())
        self.schedule_message = Message()
        self.schedule_message.add_class("toolkit-schedule-message")
        self.schedule_message.remove_class("toolkit-message")  # the step's or page's own stays unique
        self.observe(lambda _: self._load_schedule(), names="selected")
        self.held = HeldDeletions(
            self.tk, on_confirmed=self._confirmed, hide_when_empty=True, viewer=self.viewer
        )
        self.held_title = widgets.HTML(
            "<h3 style='margin:14px 0 4px'>Deletions waiting for a confirmation</h3>"
        )
        if self.viewer:  # read-only: what is there, nothing that acts or edits
            self.children = [
                widgets.HTML(
                    "<p class='toolkit-read-only' style='color:#555;margin:4px 0'>Read-only view: "
                    "the integrations, their schedules and last runs.</p>"
                ),
                self.table,
                self.refresh_button,
                self.held_title,
                self.held,
                self.message,
            ]
        else:
            self.children = [
                self.table,
                self.refresh_button,
                self.held_title,
                self.held,
                widgets.HTML("<h3 style='margin:14px 0 4px'>Act on one integration</h3>"),
                self.choice,
                widgets.HBox([self.schedule, self.schedule_button]),
                self.schedule_message,
                widgets.HBox([self.activate_button, self.deactivate_button]),
                widgets.HBox([self.run_button, widgets.VBox([self.dry_run, self.full])]),
                self.message,
                self.result,
            ]
        self.refresh()

    def rows(self) -> list[IntegrationRow]:
        """One dict per integration, keyed as :data:`COLUMNS`."""
        tk = self.tk
        tasks = {row["integration_id"]: row["tasks"] for row in tk.quota.usage_by_integration()}
        names = self._list_names()
        rows: list[IntegrationRow] = []
        for integ in tk.integrations():
            runs = tk.store.list_runs(integ.id, limit=1)
            last = runs[0] if runs else None
            status = str(integ.status)
            if integ.stop_reason:
                status += f" ({integ.stop_reason})"
            if integ.last_error:
                status += f": {integ.last_error}"
            listed = (
                "-" if integ.list_id is None else f"#{integ.list_id} {names.get(integ.list_id, '')}".strip()
            )
            rows.append(
                {
                    "name": integ.name,
                    "object": f"{integ.object}s",
                    "status": status,
                    "schedule": integ.schedule,
                    "list": listed,
                    "last_run": last_run_words(last),
                    "trigger": trigger_words(last),
                    "tasks_this_month": tasks.get(integ.id, 0),
                    "open_rejections": tk.store.report_open_count(integ.id),
                    "held_deletions": held_cell(held_counts(tk, integ)),
                }
            )
        return rows

    def _list_names(self) -> dict[int, str]:
        try:
            return {int(lst["id"]): str(lst["name"]) for lst in self.tk.brevo().lists()}
        except Exception:
            return {}

    def refresh(self) -> None:
        """Reload the table and the drop-down."""
        rows = guarded(self.message, self.rows)
        if rows is None:
            return
        self.table.value = html_table(
            rows,
            COLUMNS,
            css_class="toolkit-integrations",
            empty="No integration yet."
            if self.viewer
            else "No integration yet: create one with the setup wizard.",
        )
        current = self.choice.value
        self.choice.options = [r["name"] for r in rows]
        if rows:  # keep the choice; else the first integration (a drop-down never shows empty)
            self.choice.value = current if current in self.choice.options else rows[0]["name"]
        has = bool(rows) and not self.viewer
        for widget in (
            self.run_button,
            self.activate_button,
            self.deactivate_button,
            self.schedule,
            self.schedule_button,
        ):
            widget.disabled = not has
        self.held.refresh()
        self.held_title.layout.display = self.held.layout.display

    def _confirmed(self, _name: str, result: RunResult) -> None:
        """After a Confirm button's run: show what it did and reload the page."""
        self.last_result = result
        self.result.value = run_result_html(result)
        self.refresh()

    def _read_only(self) -> bool:
        """In viewer mode, say that the page does not act (a click that reached the kernel anyway)."""
        if self.viewer:
            self.message.say("This page is read-only.", "warn")
        return self.viewer

    def _load_schedule(self) -> None:
        """Show the selected integration's schedule in the field (and clear the last message)."""
        name = self.selected
        if not name:
            return
        integ = guarded(self.schedule_message, lambda: self.tk.store.get_integration(name))
        if integ is not None:
            self.schedule.value = integ.schedule
            self.schedule_message.say("")

    def save_schedule(self) -> None:
        """Store the schedule typed for the selected integration, or say in place why it is refused."""
        name = self.selected
        if self._read_only():
            return
        if not name:
            self.schedule_message.say("Choose an integration first.", "warn")
            return
        integ = guarded(
            self.schedule_message,
            lambda: self.tk.store.update_integration(name, schedule=self.schedule.value),
        )
        if integ is None:
            return
        self.refresh()
        self.schedule.value = integ.schedule  # in its canonical form
        self.schedule_message.say(
            f"“{name}” runs {integ.schedule} (UTC) while `toolkit serve` runs and the integration is active.",
            "ok",
        )

    def set_active(self, active: bool) -> None:
        """Activate or deactivate the selected integration."""
        name = self.selected
        if self._read_only():
            return
        if not name:
            self.message.say("Choose an integration first.", "warn")
            return
        integ = guarded(self.message, lambda: self.tk.activate(name) if active else self.tk.deactivate(name))
        if integ is not None:
            self.message.say(f"“{name}” is now {integ.status}.", "ok")
            self.refresh()

    def run_now(self) -> None:
        """Run the selected integration (a dry run unless the box is unticked) and show the result."""
        name = self.selected
        if self._read_only():
            return
        if not name:
            self.message.say("Choose an integration first.", "warn")
            return
        dry = self.dry_run.value
        self.message.say(f"{'Planning' if dry else 'Running'} “{name}”…", "info")
        self.result.value = ""
        self.run_button.disabled = True
        try:
            result = guarded(self.message, lambda: self.tk.run(name, dry_run=dry, full=self.full.value))
        finally:
            self.run_button.disabled = False
        if result is None:
            return
        self.last_result = result
        verb = "would write" if result.dry_run else "wrote"
        level = {RunStatus.SUCCEEDED: "ok", RunStatus.BLOCKED: "warn"}.get(result.status, "error")
        text = f"Run {result.run_id} of “{name}” {result.status}: {verb} {result.tasks:,} records."
        if result.message:
            text += f"\n{result.message}"
        self.message.say(text, level)
        self.result.value = run_result_html(result)
        self.refresh()


def held_cell(counts: Mapping[LinkState, int]) -> str:
    """The table's "Held deletions" cell: ``"3 (deleted in Salesforce)"``, or ``""`` when none."""
    total = sum(counts.values())
    if not total:
        return ""
    return f"{total:,} ({', '.join(HELD_STATES[state][0] for state in counts)})"


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
