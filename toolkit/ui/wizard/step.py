"""One step of the setup wizard: the base class every step derives from.

The steps (:mod:`~toolkit.ui.wizard.steps`, :mod:`~toolkit.ui.wizard.connect`,
:mod:`~toolkit.ui.wizard.mapping`) import this module only; :mod:`~toolkit.ui.wizard` imports the
steps and lines them up. So the wizard depends on its steps and the steps on nothing of the
wizard's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as widgets
import traitlets

from toolkit.api import Toolkit

from ..common import FAIL, INIT, READY, STATES, SUCCESS, Message, guarded

__all__ = ["WizardStep"]

T = TypeVar("T")


class WizardStep(widgets.VBox):
    """One step of the wizard: its inputs, a message line and a ``state``.

    Subclasses build their inputs in ``__init__`` (and put them in ``children`` before
    ``self.message``), load what they show in :meth:`enter`, and call :meth:`succeed` or
    :meth:`fail`.

    Args:
        tk: the toolkit the step acts through.

    Attributes:
        state: ``init``, ``ready``, ``success`` or ``fail``.
        integration: the integration being set up (empty until the name step created it).
        editing: the wizard edits a live integration (issue 15): the step shows the saved
            settings and keeps what is chosen until the save step stores it all at once, after a
            preview, instead of storing each choice as it is made.
        title: the step's name in the wizard's header.
    """

    state = traitlets.Enum(STATES, default_value=INIT)
    integration = traitlets.Unicode("")
    editing = traitlets.Bool(False)
    title = "Step"

    def __init__(self, tk: Toolkit, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tk = tk
        self.message = Message()
        self.add_class("toolkit-step")

    def enter(self) -> None:
        """Called each time the step is shown; the default makes a new step ``ready``."""
        if self.state == INIT:
            self.state = READY

    def reset(self) -> None:
        """Back to ``init`` (what it showed depends on an earlier step that changed)."""
        self.state = INIT
        self.message.say("")

    def succeed(self, text: str) -> None:
        """Mark the step done and say what was done."""
        self.state = SUCCESS
        self.message.say(text, "ok")

    def fail(self, text: str) -> None:
        """Mark the step failed and say why, in place."""
        self.state = FAIL
        self.message.say(text, "error")

    def attempt(self, action: Callable[[], T]) -> T | None:
        """Run ``action``; on an error the step fails with the error in plain words."""
        return guarded(self.message, action, on_error=lambda _: setattr(self, "state", FAIL))
