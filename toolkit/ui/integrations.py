"""The integrations page (SPEC S8): every integration with its state, and what to do with it.

A table (object, status, schedule, Brevo list, last run and what started it, tasks this month,
open rejections, deletions held by the mass-delete guard), the held deletions with a "Confirm N
deletions" button per integration (B6, :class:`~toolkit.ui.held.HeldDeletions`), then one
integration chosen in a drop-down: its schedule (an interval or a cron expression, run by
``toolkit serve``; :func:`toolkit.schedules.parse_schedule`), activate, deactivate, or run now (a
dry run, B1, or a real run) with the result shown underneath; edit it (the setup wizard's steps,
pre-filled, with a preview before saving: :class:`~toolkit.ui.wizard.SetupWizard` ``edit=``), pause
and resume it, delete it (asked first; its history kept for the month's report unless asked
otherwise; the Brevo contacts stay), and read its history: who changed what, and when.

For a viewer (``TOOLKIT_ROLE=viewer``, :func:`~toolkit.ui.common.viewer_mode`) the page is
read-only: the table and the held deletions, no button that acts and no field to edit.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

import ipywidgets as widgets
import traitlets

from toolkit.api import Toolkit
from toolkit.schedules import DEFAULT_SCHEDULE
from toolkit.store import Change, IntegrationStatus, LinkState, Run, RunStatus
from toolkit.sync import RunResult

from .common import AppPage, Message, guarded, html_table
from .held import HELD_STATES, HeldDeletions, held_counts
from .runs import run_result_html
from .wizard import SetupWizard

__all__ = [
    "COLUMNS",
    "TRIGGER_WORDS",
    "IntegrationRow",
    "IntegrationsPage",
    "change_words",
    "history_html",
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


class IntegrationsPage(AppPage):
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
        super().__init__(
            tk, viewer=viewer, css_class="toolkit-integrations-page", via="integrations page", **kwargs
        )
        self.last_result: RunResult | None = None
        if not self.opened:
            return
        self.table = widgets.HTML()
        self.table.add_class("toolkit-integrations-table")
        self.message.add_class("toolkit-page-message")
        self.choice = widgets.Dropdown(description="Integration", options=[])
        self.choice.add_class("toolkit-integration-choice")
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
        self.edit_button = widgets.Button(description="Edit", icon="pencil")
        self.pause_button = widgets.Button(description="Pause", icon="pause")
        self.resume_button = widgets.Button(description="Resume", icon="play-circle", button_style="success")
        self.delete_button = widgets.Button(description="Delete…", icon="trash", button_style="danger")
        self.run_button.on_click(lambda _: self.run_now())
        self.activate_button.on_click(lambda _: self.set_active(True))
        self.deactivate_button.on_click(lambda _: self.set_active(False))
        self.edit_button.on_click(lambda _: self.edit())
        self.pause_button.on_click(lambda _: self.pause())
        self.resume_button.on_click(lambda _: self.resume())
        self.delete_button.on_click(lambda _: self.ask_delete())
        self.remove_history = widgets.Checkbox(
            value=False,
            indent=False,
            layout=widgets.Layout(width="auto"),
            description="Also remove its links, runs and audit (otherwise kept for this month's report)",
        )
        self.confirm_delete = widgets.Button(
            description="Delete", button_style="danger", icon="trash", layout=widgets.Layout(width="auto")
        )
        self.cancel_delete = widgets.Button(description="Cancel")
        self.confirm_delete.on_click(lambda _: self.delete())
        self.cancel_delete.on_click(lambda _: self._close_delete())
        self.delete_question = widgets.HTML()
        self.delete_box = widgets.VBox(
            [
                self.delete_question,
                self.remove_history,
                widgets.HBox([self.confirm_delete, self.cancel_delete]),
            ],
            layout=widgets.Layout(
                display="none", border="1px solid #c62828", padding="6px 10px", margin="6px 0"
            ),
        )
        self.delete_box.add_class("toolkit-delete-box")
        self.editor = widgets.VBox(layout=widgets.Layout(display="none", margin="8px 0"))
        self.editor.add_class("toolkit-editor")
        self.wizard: SetupWizard | None = None
        self.history = widgets.HTML()
        self.history.add_class("toolkit-history")
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
        self.observe(lambda _: self._selected(), names="selected")
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
                widgets.HBox(
                    [
                        self.activate_button,
                        self.pause_button,
                        self.resume_button,
                        self.deactivate_button,
                        self.edit_button,
                        self.delete_button,
                    ]
                ),
                self.delete_box,
                widgets.HBox([self.run_button, widgets.VBox([self.dry_run, self.full])]),
                self.message,
                self.result,
                self.editor,
                widgets.HTML("<h3 style='margin:14px 0 4px'>History: who changed what</h3>"),
                self.history,
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
            self.edit_button,
            self.delete_button,
        ):
            widget.disabled = not has
        self._enable_status_buttons()
        self.held.refresh()
        self.held_title.layout.display = self.held.layout.display
        self._load_history()

    def _selected(self) -> None:
        """Another integration chosen: its schedule, its history, the buttons its status allows."""
        self._load_schedule()
        self._close_delete()
        self._enable_status_buttons()
        self._load_history()

    def _enable_status_buttons(self) -> None:
        """Activate a draft or a failed integration, pause an active one, resume a paused one."""
        integ = None
        if self.selected and not self.viewer:
            integ = guarded(self.message, lambda: self.tk.store.get_integration(str(self.selected)))
        status = integ.status if integ else None
        self.activate_button.disabled = status not in (IntegrationStatus.DRAFT, IntegrationStatus.ERROR)
        self.pause_button.disabled = status != IntegrationStatus.ACTIVE
        self.resume_button.disabled = not (integ and integ.paused)
        self.deactivate_button.disabled = status is None or status == IntegrationStatus.DRAFT

    def _load_history(self) -> None:
        if self.viewer or not self.selected:
            self.history.value = ""
            return
        changes = guarded(self.message, lambda: self.tk.changes(str(self.selected), limit=50))
        if changes is not None:
            self.history.value = history_html(changes)

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

    def _chosen(self) -> str | None:
        """The selected integration's name; ``None`` (said in place) in viewer mode or when none is chosen."""
        if self._read_only():
            return None
        if not self.selected:
            self.message.say("Choose an integration first.", "warn")
            return None
        return str(self.selected)

    def edit(self) -> SetupWizard | None:
        """Open the setup wizard on the selected integration, pre-filled; it previews before saving."""
        name = self._chosen()
        if name is None:
            return None
        wizard = SetupWizard(self.tk, edit=name)
        wizard.save_step.observe(lambda _: self.refresh(), names="state")
        close = widgets.Button(description="Close the editor", icon="times")
        close.on_click(lambda _: self.close_editor())
        self.wizard = wizard
        self.editor.children = [close, wizard]
        self.editor.layout.display = None
        self.message.say(
            f"Editing “{name}”: change what you need, then preview and save in the last step.", "info"
        )
        return wizard

    def close_editor(self) -> None:
        """Close the wizard opened by :meth:`edit` (what it did not save is dropped)."""
        if self.wizard is not None:
            self.wizard.connect_step.close()
        self.wizard = None
        self.editor.children = []
        self.editor.layout.display = "none"
        self.refresh()

    def pause(self) -> None:
        """Pause the selected integration: it does not run until resumed; nothing is lost."""
        self._act(
            self.tk.pause,
            "“{name}” is paused: it does not run until you resume it. Its next run then catches up with "
            "everything changed meanwhile.",
        )

    def resume(self) -> None:
        """Resume the selected (paused) integration."""
        self._act(self.tk.resume, "“{name}” is active again: its next run catches up.")

    def _act(self, action: Callable[[str], object], done: str) -> None:
        """Do ``action`` to the selected integration; say ``done`` (``{name}`` filled in) and reload."""
        name = self._chosen()
        if name is None:
            return
        if guarded(self.message, lambda: action(name)) is not None:
            self.message.say(done.format(name=name), "ok")
            self.refresh()

    def ask_delete(self) -> None:
        """Ask before deleting: what is deleted, what stays (the Brevo contacts always do)."""
        name = self._chosen()
        if name is None:
            return
        linked = guarded(self.message, lambda: len(self.tk.links(name)))
        if linked is None:
            return
        self.delete_question.value = (
            f"<b>Delete “{html.escape(name)}”?</b> It stops syncing for good. Its {linked:,} Brevo contacts "
            "stay in Brevo, on their list: deleting an integration never deletes a contact."
        )
        self.confirm_delete.description = f"Delete “{name}”"
        self.remove_history.value = False
        self.delete_box.layout.display = None

    def _close_delete(self) -> None:
        self.delete_box.layout.display = "none"

    def delete(self) -> None:
        """Delete the selected integration, as asked in the box :meth:`ask_delete` opened."""
        name = self._chosen()
        if name is None:
            return
        keep = not self.remove_history.value
        gone = guarded(self.message, lambda: self.tk.delete_integration(name, keep_history=keep))
        if gone is None:
            return
        self._close_delete()
        kept = (
            "Its runs, rejections and links are kept for this month's report."
            if keep
            else "Its runs, rejections and links were removed."
        )
        self.message.say(f"“{name}” is deleted; its Brevo contacts are untouched. {kept}", "ok")
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


def history_html(changes: list[Change]) -> str:
    """The change log of one integration as a table: when, who, where, what (newest first)."""
    rows = [
        {
            "at": f"{change.at:%Y-%m-%d %H:%M} UTC",
            "actor": change.actor,
            "via": change.via,
            "what": change_words(change),
        }
        for change in changes
    ]
    return html_table(
        rows,
        (("at", "When"), ("actor", "Who"), ("via", "Where"), ("what", "What")),
        css_class="toolkit-history-table",
        empty="No change recorded yet.",
    )


def change_words(change: Change) -> str:
    """One change in words: ``"schedule: every 15 minutes → every 2 hours"``, ``"created (Contacts)"``."""
    if change.field:
        return f"{change.field.replace('_', ' ')}: {change.old or 'none'} → {change.new or 'none'}"
    return f"{change.action}" + (f" ({change.new})" if change.new else "")
