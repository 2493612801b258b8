"""The setup wizard (SPEC S1-S8): a small state machine of steps.

Each step is a widget with a ``state`` trait (``init`` -> ``ready`` -> ``success`` or
``fail``); the wizard enables **Next** only while the shown step's state is ``success``, and a
step that fails says why in place. Steps share what they need through traitlets: the name
step's ``integration`` is ``dlink``-ed to every later step, the connect step's ``connection``
to the mapping step (a new connection reloads the fields on offer).

The steps live in their own modules and know only :class:`~toolkit.ui.wizard.step.WizardStep`; this
module lines them up and links them.

Example (JupyterLab or a Voilà notebook; ``Toolkit()`` on ``$TOOLKIT_STATE_DIR``, login URL and
client id from its settings):
    >>> from toolkit.ui import SetupWizard                                     # doctest: +SKIP
    >>> SetupWizard()                                                          # doctest: +SKIP

Editing a live integration (issue 15): the same steps, pre-filled with what is saved, and a save
step that previews the change (B1) before it is stored:
    >>> SetupWizard(edit="newsletter")                                         # doctest: +SKIP

Headless (tests):
    >>> wizard = SetupWizard(tk)                                               # doctest: +SKIP
    >>> wizard.name_step.name.value = "newsletter"                             # doctest: +SKIP
    >>> wizard.name_step.create.click()                                        # doctest: +SKIP
    >>> wizard.name_step.state, wizard.next_button.disabled                    # doctest: +SKIP
    ('success', False)
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import traitlets

from toolkit.api import Toolkit
from toolkit.sync import IntegrationEdit

from ..common import FAIL, INIT, READY, SUCCESS, Message, guarded, open_toolkit
from .connect import ConnectStep
from .mapping import MappingStep
from .step import WizardStep
from .steps import ListStep, NameStep, OptInStep, SaveStep

__all__ = ["SetupWizard"]

_MARKS = {SUCCESS: "✓", FAIL: "✗", READY: "•", INIT: ""}


class SetupWizard(widgets.VBox):
    """Create an integration step by step: name, connect, opt-in, mapping, list, save (S1-S8).

    Args:
        tk: the toolkit (default: ``Toolkit()`` on ``$TOOLKIT_STATE_DIR``).
        login_url: the Salesforce login URL offered (default: ``settings.salesforce_login_url``).
        client_id: the connected app's consumer key (default: ``settings.salesforce_client_id``).
        callback_port: the sign-in redirect's port on 127.0.0.1 (default:
            ``settings.salesforce_callback_port``; 0 = any free port).
        edit: the name of an integration to change instead of creating one: its connection,
            mapping, list and schedule, pre-filled; nothing is stored until the save step's
            "Save changes", after its preview (:meth:`toolkit.api.Toolkit.preview_edit`).

    Attributes:
        index: the step shown (0-based).
        steps: the steps in order; also as ``name_step``, ``connect_step``, ``opt_in_step``,
            ``mapping_step``, ``list_step``, ``save_step`` (editing: connect, mapping, list, save).
        editing: the integration edited, or ``""`` when creating one.
        next_button, back_button: the navigation (Next enabled only after a step succeeded).
        tk: the toolkit; absent when it could not be opened (``problem`` then says why).
        problem: why the toolkit could not be opened (e.g. a broken ``toolkit.toml``).
    """

    index = traitlets.Int(0)

    def __init__(
        self,
        tk: Toolkit | None = None,
        *,
        login_url: str | None = None,
        client_id: str | None = None,
        callback_port: int | None = None,
        edit: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.add_class("toolkit-wizard")
        self.editing = edit or ""
        self.problem = Message()
        self.steps: list[WizardStep] = []
        opened = guarded(self.problem, lambda: open_toolkit(tk))
        if opened is None:  # e.g. a broken toolkit.toml: say so instead of a traceback
            self.children = [self.problem]
            return
        self.tk = opened
        if tk is None:  # the app's own toolkit: its changes are recorded as made in the wizard
            self.tk.store.via = "setup wizard"
        settings = self.tk.settings
        self.name_step = NameStep(self.tk)
        self.connect_step = ConnectStep(
            self.tk,
            login_url=login_url or settings.salesforce_login_url,
            client_id=client_id if client_id is not None else settings.salesforce_client_id,
            callback_port=settings.salesforce_callback_port if callback_port is None else callback_port,
        )
        self.opt_in_step = OptInStep(self.tk)
        self.mapping_step = MappingStep(self.tk)
        self.list_step = ListStep(self.tk)
        self.save_step = SaveStep(self.tk)
        if self.editing:
            integ = guarded(self.problem, lambda: self.tk.store.get_integration(self.editing))
            if integ is None:  # e.g. deleted meanwhile
                self.children = [self.problem]
                return
            self.steps = [self.connect_step, self.mapping_step, self.list_step, self.save_step]
            self.add_class("toolkit-wizard-edit")
            for step in self.steps:
                step.editing = True
                step.integration = integ.name
            self.mapping_step.object = integ.object
            self.save_step.collect = self.collect_edit
        else:
            self.steps = [
                self.name_step,
                self.connect_step,
                self.opt_in_step,
                self.mapping_step,
                self.list_step,
                self.save_step,
            ]
            for step in self.steps[1:]:
                widgets.dlink((self.name_step, "integration"), (step, "integration"))
            widgets.dlink((self.name_step, "object"), (self.mapping_step, "object"))
        widgets.dlink((self.connect_step, "connection"), (self.mapping_step, "connection"))
        for step in self.steps:
            step.observe(self._refresh, names="state")

        self.header = widgets.HTML()
        self.header.add_class("toolkit-wizard-header")
        self.back_button = widgets.Button(description="Back", icon="arrow-left")
        self.next_button = widgets.Button(description="Next", icon="arrow-right", button_style="primary")
        self.back_button.on_click(lambda _: self.go(self.index - 1))
        self.next_button.on_click(lambda _: self.go(self.index + 1))
        self.body = widgets.VBox()
        nav = widgets.HBox([self.back_button, self.next_button], layout=widgets.Layout(margin="12px 0 0 0"))
        self.children = [self.header, self.body, nav]
        self.observe(self._show, names="index")
        self._show()

    def collect_edit(self) -> IntegrationEdit:
        """What the steps of an edit hold now, as one edit (the save step previews and stores it)."""
        mapping = self.mapping_step
        return IntegrationEdit(
            mapping=mapping.pairs if mapping.dropdowns else None,
            booleans_and_picklists=mapping.b4.value if mapping.dropdowns else None,
            sync_unsubscribes=mapping.b8.value if mapping.dropdowns else None,
            sms_optout_field=(mapping.sms_optout_field or "") if mapping.dropdowns else None,
            default_region=mapping.default_region if mapping.dropdowns else None,
            list_id=self.list_step.chosen_list,
            move_contacts=self.list_step.move.value,
            connection=self.connect_step.connection or None,
            schedule=self.save_step.schedule.value,
        )

    @property
    def step(self) -> WizardStep:
        """The step shown."""
        return self.steps[self.index]

    def go(self, index: int) -> None:
        """Show step ``index``; moving forward needs every step before it to have succeeded."""
        if not 0 <= index < len(self.steps):
            return
        if index > self.index and any(s.state != SUCCESS for s in self.steps[:index]):
            return
        self.index = index

    def _show(self, _change: traitlets.Bunch | None = None) -> None:
        step = self.step
        self.body.children = [step]
        step.enter()
        self._refresh()

    def _refresh(self, _change: traitlets.Bunch | None = None) -> None:
        last = self.index == len(self.steps) - 1
        self.back_button.disabled = self.index == 0
        self.next_button.disabled = last or self.step.state != SUCCESS
        self.next_button.layout.visibility = "hidden" if last else "visible"
        items = []
        for i, step in enumerate(self.steps):
            mark = _MARKS[step.state]
            style = (
                "font-weight:bold;color:#1f4e79;border-bottom:3px solid #1f4e79"
                if i == self.index
                else "color:#555"
            )
            items.append(
                f'<span class="toolkit-wizard-tab toolkit-state-{step.state}" style="{style};'
                f'padding:2px 6px;margin-right:6px">{i + 1}. {html.escape(step.title)} {mark}</span>'
            )
        editing = (
            f'<h2 style="margin:0 0 8px">Edit “{html.escape(self.editing)}”</h2>' if self.editing else ""
        )
        self.header.value = (
            f'{editing}<div style="font-size:14px;margin-bottom:8px">{"".join(items)}</div>'
            f'<h3 style="margin:4px 0">{html.escape(self.step.title)}</h3>'
        )
