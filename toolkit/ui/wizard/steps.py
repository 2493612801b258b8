"""The wizard's plain steps: name (S1, S9), opt-in (S4), Brevo list (S7), save (S8)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import traitlets

from toolkit.api import Toolkit
from toolkit.schedules import DEFAULT_SCHEDULE, parse_schedule
from toolkit.store import Integration
from toolkit.sync import EditPreview, IntegrationEdit

from ..common import INIT, READY, SUCCESS, Message, guarded
from ..runs import run_result_html
from .notify_box import NotifyBox
from .step import WizardStep

__all__ = ["ListStep", "NameStep", "OptInStep", "SaveStep", "preview_html"]

_WIDE = {"description_width": "10em"}
OBJECTS = (("Salesforce Contacts", "Contact"), ("Salesforce Leads", "Lead"))


def _field() -> widgets.Layout:
    """A layout of its own for each input (a shared one would hide them all with one)."""
    return widgets.Layout(width="32em")


class NameStep(WizardStep):
    """S1/S9: name the integration and pick Contacts or Leads; creates a draft integration.

    Attributes:
        object: ``"Contact"`` or ``"Lead"``, set when the draft is created.
    """

    title = "Name"
    object = traitlets.Unicode("")

    def __init__(self, tk: Toolkit, **kwargs: Any) -> None:
        super().__init__(tk, **kwargs)
        self.name = widgets.Text(
            description="Integration name", placeholder="e.g. newsletter", style=_WIDE, layout=_field()
        )
        self.object_choice = widgets.ToggleButtons(
            options=OBJECTS, value="Contact", description="Sync", style=_WIDE
        )
        self.create = widgets.Button(description="Create integration", button_style="primary")
        self.create.on_click(lambda _: self.submit())
        intro = widgets.HTML(
            "<p>Give the integration a name (shown on the integrations page) and choose which "
            "Salesforce records it keeps in sync with Brevo.</p>"
        )
        self.children = [intro, self.name, self.object_choice, self.create, self.message]

    def submit(self) -> None:
        """Create the draft integration (or say why not)."""
        name = self.name.value.strip()
        if not name:
            self.fail("Give the integration a name first.")
            return
        integ = self.attempt(lambda: self.tk.create_integration(name, self.object_choice.value))
        if integ is None:
            return
        for box in (self.name, self.object_choice, self.create):
            box.disabled = True
        self.object = integ.object
        self.integration = integ.name
        self.succeed(
            f"Created the draft integration “{integ.name}” for Salesforce {integ.object}s. "
            "Next: connect your Salesforce account."
        )


class OptInStep(WizardStep):
    """S4: the opt-in agreement must be ticked before going on."""

    title = "Opt-in"

    def __init__(self, tk: Toolkit, **kwargs: Any) -> None:
        super().__init__(tk, **kwargs)
        self.agree = widgets.Checkbox(
            value=False,
            indent=False,
            layout=widgets.Layout(width="auto"),
            description="I confirm that the contacts I sync have agreed to receive my "
            "e-mails and messages (opt-in agreement)",
        )
        self.agree.observe(self._changed, names="value")
        intro = widgets.HTML(
            "<p>Brevo only allows contacts who opted in. Please confirm before going on.</p>"
        )
        self.children = [intro, self.agree, self.message]

    def _changed(self, change: traitlets.Bunch) -> None:
        accepted = bool(change["new"])
        if self.attempt(lambda: self.tk.accept_opt_in(self.integration, accepted)) is None:
            return
        if accepted:
            self.succeed("Opt-in agreement accepted.")
        else:
            self.state = READY
            self.message.say("Tick the opt-in agreement to go on.", "warn")


class ListStep(WizardStep):
    """S7: an existing Brevo list, or a new one (created in the "Salesforce" folder)."""

    title = "Brevo list"
    NEW, EXISTING = "new", "existing"
    chosen_list: int | None = None
    """Editing: the list chosen (stored by the save step); ``None`` until one is chosen."""

    def __init__(self, tk: Toolkit, **kwargs: Any) -> None:
        super().__init__(tk, **kwargs)
        self.choice = widgets.RadioButtons(
            options=[("Create a new list", self.NEW), ("Use an existing list", self.EXISTING)],
            value=self.NEW,
            description="Brevo list",
            style=_WIDE,
        )
        self.new_name = widgets.Text(description="New list name", style=_WIDE, layout=_field())
        self.existing = widgets.Dropdown(
            description="Existing list", options=[], style=_WIDE, layout=_field()
        )
        self.use = widgets.Button(description="Use this list", button_style="primary")
        self.use.on_click(lambda _: self.submit())
        self.move = widgets.Checkbox(
            value=True,
            indent=False,
            layout=widgets.Layout(width="auto", display="none"),
            description="Take the linked contacts off the old list (untick to leave them on it too; "
            "they join the new list either way)",
        )
        self.move.add_class("toolkit-move-contacts")
        for box in (self.choice, self.new_name, self.existing, self.move):
            box.observe(self._edited, names="value")
        self.choice.observe(self._toggle, names="value")
        self._loading = False
        intro = widgets.HTML(
            "<p>The Salesforce records are imported into this Brevo list and kept in sync with it.</p>"
        )
        self.children = [intro, self.choice, self.new_name, self.existing, self.move, self.use, self.message]
        self._toggle()

    def enter(self) -> None:
        """Load the account's lists; propose a new list's name (editing: choose the saved list)."""
        if not self.new_name.value and self.integration:
            self.new_name.value = f"Salesforce {self.integration}"
        if self.editing and self.state == INIT:
            self._enter_edit()
            return
        self.enter_lists()
        super().enter()

    def _enter_edit(self) -> None:
        """Editing: the saved list chosen, the step done until another list is chosen."""
        integ = self.attempt(lambda: self.tk.store.get_integration(self.integration))
        if integ is None:
            return
        self._loading = True
        try:
            self.choice.value = self.EXISTING
        finally:
            self._loading = False
        self._toggle()
        self.enter_lists()
        if integ.list_id is not None and integ.list_id in {v for _, v in self.existing.options}:
            self._loading = True
            try:
                self.existing.value = integ.list_id
            finally:
                self._loading = False
            self.chosen_list = integ.list_id
            self.succeed(f"Records go to list #{integ.list_id}, as now. Choose another list to move them.")
        else:
            self.state = READY

    def enter_lists(self) -> None:
        """Offer the account's lists in the drop-down (the choice kept where it still exists)."""
        lists = self.attempt(lambda: self.tk.brevo(self._account()).lists())
        if lists is None:
            return
        current, self._loading = self.existing.value, True
        try:
            self.existing.options = [
                (f"#{lst['id']} {lst['name']} ({lst.get('totalSubscribers', 0):,} contacts)", int(lst["id"]))
                for lst in lists
            ]
            ids = [int(lst["id"]) for lst in lists]
            if ids:  # keep the choice, else the first list (never an empty drop-down)
                self.existing.value = current if current in ids else ids[0]
        finally:
            self._loading = False

    def _account(self) -> str:
        return str(self.tk.store.get_integration(self.integration).brevo_account)

    def _toggle(self, _change: traitlets.Bunch | None = None) -> None:
        new = self.choice.value == self.NEW
        self.new_name.layout.display = None if new else "none"
        self.existing.layout.display = "none" if new else None
        self.move.layout.display = None if self.editing else "none"

    def _edited(self, _change: traitlets.Bunch) -> None:
        if self.state == SUCCESS and not self._loading:
            self.state = READY
            self.message.say("Press “Use this list” to keep the new choice.", "info")

    def submit(self) -> None:
        """Create or check the list and attach it to the integration (editing: keep the choice)."""
        if self.editing:
            self._choose_for_edit()
            return
        if self.choice.value == self.NEW:
            name = self.new_name.value.strip()
            if not name:
                self.fail("Name the new list.")
                return
            list_id = self.attempt(lambda: self.tk.choose_list(self.integration, new_list=name))
            what = f"the new list “{name}”"
        else:
            if self.existing.value is None:
                self.fail("Brevo has no list yet: create a new one.")
                return
            list_id = self.attempt(
                lambda: self.tk.choose_list(self.integration, list_id=int(self.existing.value))
            )
            what = "the list"
        if list_id is not None:
            if self.choice.value == self.NEW:  # a second click must not create a second list
                self.choice.value = self.EXISTING
                self.enter()
                self.existing.value = list_id
            self.succeed(f"Records go to {what} (#{list_id}).")

    def _choose_for_edit(self) -> None:
        """Editing: a new list is created in Brevo now; the move is stored by the save step."""
        self._toggle()
        if self.choice.value == self.NEW:
            name = self.new_name.value.strip()
            if not name:
                self.fail("Name the new list.")
                return
            client = self.tk.brevo(self._account())
            list_id = self.attempt(lambda: client.create_list(name, client.ensure_folder("Salesforce")))
            if list_id is None:
                return
            self.choice.value = self.EXISTING
            self.enter_lists()
            self.existing.value = list_id
        elif self.existing.value is None:
            self.fail("Brevo has no list yet: create a new one.")
            return
        self.chosen_list = int(self.existing.value)
        current = self.tk.store.get_integration(self.integration).list_id
        if self.chosen_list == current:
            self.succeed(f"Records go to list #{current}, as now.")
            return
        where = "taken off" if self.move.value else "left on"
        self.succeed(
            f"Records go to list #{self.chosen_list} once you save the changes; the linked contacts are put on it "
            f"by the next run and {where} list #{current}."
        )


class SaveStep(WizardStep):
    """S8: a summary, the schedule, where the quota e-mails go (Q2, Q3), then "Save and activate" or
    "Save without activating" (a draft).

    Attributes:
        schedule: when ``toolkit serve`` runs the integration: an interval or a 5-field cron
            expression in UTC (:func:`toolkit.schedules.parse_schedule`), ``every 15 minutes`` by
            default; checked as it is typed, stored when the integration is saved.
        schedule_message: why the schedule is refused, next to it.
        notify: the quota e-mails' recipients and sender (see :class:`~toolkit.ui.wizard.notify_box.NotifyBox`);
            a change is stored when the integration is saved.
    """

    title = "Save"

    def __init__(self, tk: Toolkit, **kwargs: Any) -> None:
        super().__init__(tk, **kwargs)
        self.summary = widgets.HTML()
        self.summary.add_class("toolkit-summary")
        self.activate = widgets.Button(
            description="Save and activate", button_style="success", layout=widgets.Layout(width="auto")
        )
        self.draft = widgets.Button(
            description="Save without activating", layout=widgets.Layout(width="auto")
        )
        self.activate.on_click(lambda _: self.save(activate=True))
        self.draft.on_click(lambda _: self.save(activate=False))
        self.schedule = widgets.Text(
            value=DEFAULT_SCHEDULE,
            description="Schedule",
            placeholder="every 15 minutes, 2h, or cron: 0 6 * * mon-fri",
            style=_WIDE,
            layout=_field(),
        )
        self.schedule.add_class("toolkit-schedule")
        self.schedule_message = Message()
        self.schedule_message.add_class("toolkit-schedule-message")
        self.schedule_message.remove_class("toolkit-message")  # the step's or page's own stays unique
        self.schedule.observe(lambda _: self.check_schedule(), names="value")
        schedule_help = widgets.HTML(
            "<p style='color:#555;font-size:12px;margin:0 0 4px 10em'>How often <code>toolkit serve</code> "
            "runs it: an interval (every 15 minutes, 2h) or a cron expression in UTC "
            "(minute hour day month weekday, e.g. 0 6 * * mon-fri).</p>"
        )
        self.notify = NotifyBox(tk)
        self.collect: Callable[[], IntegrationEdit] | None = None
        self.last_preview: EditPreview | None = None
        self.preview_button = widgets.Button(
            description="Preview changes",
            button_style="primary",
            icon="eye",
            layout=widgets.Layout(width="auto"),
        )
        self.save_button = widgets.Button(
            description="Save changes",
            button_style="success",
            icon="check",
            layout=widgets.Layout(width="auto"),
        )
        self.preview_button.on_click(lambda _: self.preview())
        self.save_button.on_click(lambda _: self.save_changes())
        self.preview_html = widgets.HTML()
        self.preview_html.add_class("toolkit-edit-preview")
        self.buttons = widgets.HBox([self.activate, self.draft])
        self.summary_title = widgets.HTML()
        self.children = [
            self.summary_title,
            self.summary,
            self.schedule,
            schedule_help,
            self.schedule_message,
            self.notify,
            self.buttons,
            self.message,
            self.preview_html,
        ]
        self.observe(self._edit_mode, names="editing")

    def _edit_mode(self, _change: traitlets.Bunch | None = None) -> None:
        self.title = "Review and save" if self.editing else "Save"
        self.summary_title.value = (
            "<h4 style='margin:4px 0'>As saved now</h4><p style='color:#555;margin:0 0 4px'>Change the schedule "
            "here; press “Preview changes” to see what your changes will do before you save them.</p>"
            if self.editing
            else ""
        )
        self.buttons.children = (
            [self.preview_button, self.save_button] if self.editing else [self.activate, self.draft]
        )

    def enter(self) -> None:
        """Show what was chosen, the integration's schedule, and where the quota e-mails will go."""
        self.attempt(self._summarise)
        integ = self.attempt(lambda: self.tk.store.get_integration(self.integration))
        if integ is not None and (not self.editing or self.state == INIT):
            self.schedule.value = integ.schedule
        self.notify.load()
        super().enter()

    def _edit(self) -> IntegrationEdit | None:
        """The edit the steps hold, with this step's schedule; ``None`` (said in place) if the schedule is wrong."""
        if self.collect is None:
            self.fail("Nothing to save: this wizard creates an integration.")
            return None
        if self.check_schedule() is None:
            self.fail("Correct the schedule first.")
            return None
        return self.collect()

    def preview(self) -> EditPreview | None:
        """Editing: show what the change will do (B1: a dry run of the next run with the new
        settings) before anything is saved."""
        edit = self._edit()
        if edit is None:
            return None
        self.message.say(f"Planning the next run of “{self.integration}” with the new settings…", "info")
        preview = self.attempt(lambda: self.tk.preview_edit(self.integration, edit))
        if preview is None:
            return None
        self.last_preview = preview
        self.preview_html.value = preview_html(preview)
        self.state = READY
        self.message.say(
            "Nothing is saved yet. Press “Save changes” to keep them."
            if preview.plan.fields
            else "Nothing changes: the settings are as saved.",
            "info",
        )
        return preview

    def save_changes(self) -> None:
        """Editing: store the change (every setting in the change log) and the quota e-mail addresses."""
        edit = self._edit()
        if edit is None:
            return
        before = self.attempt(lambda: self.tk.plan_edit(self.integration, edit))
        if before is None:
            return
        if self.attempt(lambda: self.tk.save_edit(self.integration, before)) is None:
            return
        if self.attempt(self._keep_addresses) is None:
            return
        self._summarise()
        follows = []
        if before.backfill:
            follows.append(f"fills in {', '.join(before.added)} for every linked contact (a full run)")
        if before.moves_list:
            follows.append(f"moves the linked contacts to list #{before.list_to}")
        tail = f" The next run {' and '.join(follows)}." if follows else ""
        changed = "Changes saved." if before.fields else "Nothing changed."
        self.succeed(f"{changed}{tail}")

    def check_schedule(self) -> str | None:
        """Check the typed schedule; say next to it why it is refused.

        Returns:
            Its canonical text (``"every 15 minutes"``), or ``None`` when it is not a schedule.
        """
        checked = guarded(self.schedule_message, lambda: parse_schedule(self.schedule.value))
        if checked is None:
            return None
        self.schedule_message.say("")
        return checked.text

    def _summarise(self) -> None:
        integ = self.tk.store.get_integration(self.integration)
        conn = self.tk.store.get_connection(integ.connection_id) if integ.connection_id else None
        pairs = (integ.mapping or {}).get("pairs", [])
        rows = [
            ("Integration", integ.name),
            ("Salesforce object", f"{integ.object}s"),
            ("Salesforce account", f"{conn.username} ({conn.name})" if conn else "not connected"),
            ("Opt-in agreement", "accepted" if integ.opt_in else "not accepted"),
            ("Field mapping", ", ".join(f"{a} ← {f}" for a, f in pairs) or "none"),
            ("Booleans and picklists (B4)", "synced" if integ.sync_booleans_picklists else "not synced"),
            ("Brevo list", self._list_name(integ)),
            ("Schedule", integ.schedule),
            ("Status now", integ.status),
        ]
        cells = "".join(
            f'<tr><th style="text-align:left;padding:3px 12px 3px 0">{html.escape(k)}</th>'
            f"<td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        self.summary.value = f'<table class="toolkit-table">{cells}</table>'

    def _list_name(self, integ: Integration) -> str:
        if integ.list_id is None:
            return "none"
        try:
            names = {int(lst["id"]): lst["name"] for lst in self.tk.brevo(integ.brevo_account).lists()}
        except Exception:
            names = {}
        return f"#{integ.list_id} {names.get(integ.list_id, '')}".strip()

    def _keep_addresses(self) -> bool:
        self.notify.keep()
        return True

    def _keep_schedule(self) -> bool:
        """Store the schedule; a bad one is said next to the field and the step fails."""
        if self.check_schedule() is None:
            self.fail("Correct the schedule to save the integration.")
            return False
        integ = guarded(
            self.schedule_message,
            lambda: self.tk.store.update_integration(self.integration, schedule=self.schedule.value),
        )
        if integ is None:
            self.fail("Correct the schedule to save the integration.")
            return False
        self.schedule.value = integ.schedule
        return True

    def save(self, *, activate: bool) -> None:
        """Keep the schedule and changed quota e-mail addresses, then activate the integration or
        leave it a draft."""
        if not self._keep_schedule():
            return
        if self.attempt(self._keep_addresses) is None:
            return
        integ = self.attempt(
            lambda: self.tk.activate(self.integration) if activate else self.tk.deactivate(self.integration)
        )
        if integ is None:
            return
        self._summarise()
        if activate:
            self.succeed(
                f"“{integ.name}” is saved and active: it syncs on its next run. Use the integrations "
                "page to run it now."
            )
        else:
            self.succeed(
                f"“{integ.name}” is saved as a draft; activate it on the integrations page when ready."
            )


def preview_html(preview: EditPreview) -> str:
    """An edit's preview: the settings changed, what follows in words, and the dry run's counts."""
    rows = "".join(
        f"<tr><th style='text-align:left;padding:3px 12px 3px 0'>{html.escape(setting)}</th>"
        f"<td style='padding:3px 12px 3px 0;color:#777'>{html.escape(before)}</td><td>→ {html.escape(after)}</td></tr>"
        for setting, before, after in preview.changes
    )
    table = f"<table class='toolkit-table toolkit-edit-changes'>{rows}</table>" if rows else ""
    items = "".join(f"<li>{html.escape(sentence)}</li>" for sentence in preview.sentences())
    planned = run_result_html(preview.dry_run) if preview.dry_run is not None else ""
    return (
        "<h4 style='margin:10px 0 4px'>Preview: what this change does</h4>"
        f"{table}<ul class='toolkit-edit-consequences'>{items}</ul>{planned}"
    )
