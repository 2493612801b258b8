"""Where the quota e-mails go, on the wizard's save step (SPEC Q2, Q3): shown, and changeable.

Without any setting the e-mails go to the Brevo account's e-mail from one of its active senders
(:mod:`toolkit.notify.addresses`). The box shows those two addresses; a person may change them,
and a change is stored in ``toolkit.toml`` (``notify_to``, ``notify_from``) when the integration
is saved. An address fixed by an environment variable is shown but cannot be changed here.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from toolkit.api import Toolkit
from toolkit.exceptions import ConfigError
from toolkit.notify.addresses import FROM_BREVO, fixed_by_environment, resolve_addresses, save_addresses

from ..common import friendly_error

__all__ = ["NotifyBox"]

_WIDE = {"description_width": "10em"}


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace(";", ",").split(",") if part.strip())


class NotifyBox(widgets.VBox):
    """The quota e-mails' recipients (``to``) and sender (``sender``), as the save step shows them.

    Args:
        tk: the toolkit; its ``settings`` are replaced by the stored ones after :meth:`keep`.

    Attributes:
        to: the recipients' input (comma-separated addresses).
        sender: the sender's input, offering the account's active senders.
        note: where the shown addresses come from, or why they could not be found.
    """

    def __init__(self, tk: Toolkit, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tk = tk
        self.add_class("toolkit-notify")
        self.to = widgets.Text(
            description="Send to",
            style=_WIDE,
            layout=widgets.Layout(width="40em"),
            placeholder="e-mail addresses, separated by commas",
        )
        self.sender = widgets.Combobox(
            description="From",
            style=_WIDE,
            layout=widgets.Layout(width="40em"),
            placeholder="a sender validated in Brevo",
            ensure_option=False,
        )
        self.note = widgets.HTML()
        self._shown: tuple[tuple[str, ...], str] = ((), "")
        self._senders: tuple[str, ...] = ()
        intro = widgets.HTML(
            "<b>Quota e-mails</b><p>One e-mail when this month's tasks reach 80%, one when "
            "they are used up and the integrations stop.</p>"
        )
        self.children = [intro, self.to, self.sender, self.note]

    def load(self) -> None:
        """Show the addresses the e-mails would use now (settings first, else the Brevo account's)."""
        settings = self.tk.settings
        self.to.value, self.sender.value = ", ".join(settings.notify_to), settings.notify_from
        lines: list[str] = []
        try:
            brevo = self.tk.brevo() if settings.notify_transport == "brevo" else None
            found = resolve_addresses(settings, brevo, list_senders=True)
        except Exception as exc:
            found = None
            lines.append(f"Not found: {friendly_error(exc)}")
        if found is not None:
            self.to.value, self.sender.value = ", ".join(found.to), found.sender
            self._senders = found.senders
            self.sender.options = found.senders
            lines += [
                self._source("Recipients", found.to_source),
                self._source("Sender", found.sender_source),
            ]
        self._shown = (_split(self.to.value), self.sender.value.strip())
        fixed = fixed_by_environment()
        for key, box in (("notify_to", self.to), ("notify_from", self.sender)):
            box.disabled = key in fixed
            if key in fixed:
                lines.append(f"{box.description}: set by the environment variable {fixed[key]}.")
        self.note.value = "".join(
            f'<p style="margin:2px 0;color:#555">{html.escape(line)}</p>' for line in lines
        )

    @staticmethod
    def _source(what: str, source: str) -> str:
        if source == FROM_BREVO:
            return f"{what}: from the Brevo account (nothing to set up; change it here if you like)."
        return f"{what}: from the settings (toolkit.toml or TOOLKIT_* variables)."

    @property
    def changed(self) -> bool:
        """Whether the person changed what was shown."""
        return (_split(self.to.value), self.sender.value.strip()) != self._shown

    def keep(self) -> None:
        """Store changed addresses in ``toolkit.toml`` (nothing when unchanged).

        Raises:
            ConfigError: an address that is not one, no recipient, a sender that is not an
                active sender of the Brevo account, or ``toolkit.toml`` cannot be written.
        """
        if not self.changed:
            return
        to, sender = _split(self.to.value), self.sender.value.strip()
        if not to:
            raise ConfigError("Give at least one address to send the quota e-mails to.")
        if not sender:
            raise ConfigError("Give the address the quota e-mails are sent from.")
        if self._senders and sender.lower() not in {s.lower() for s in self._senders}:
            raise ConfigError(
                f"{sender} is not an active sender of the Brevo account; choose one of: "
                f"{', '.join(self._senders)}"
            )
        shown_to, shown_sender = self._shown
        self.tk.settings = save_addresses(
            self.tk.settings,
            to=None if to == shown_to else to,
            sender=None if sender == shown_sender else sender,
        )
        self._shown = (to, sender)
