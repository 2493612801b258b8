"""Deletions held by the mass-delete guard (SPEC B6), each integration's with a Confirm button.

A run that would delete more than the integration's share and count of its links holds the
deletions (creates and updates still go through): the links wait in state ``held_delete``
(deleted in Salesforce, not yet taken off the Brevo list) or ``held_brevo_delete`` (deleted in
Brevo, not yet deleted in Salesforce). :class:`HeldDeletions` lists them, with a few examples to
check, and its "Confirm N deletions" button carries them out through
:meth:`toolkit.api.Toolkit.confirm_deletions`. The integrations page and the quota dashboard
both show it; for a viewer (:func:`~toolkit.ui.common.viewer_mode`) it lists them without the
buttons, and :meth:`HeldDeletions.confirm` refuses.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from itertools import islice
from typing import Any

import ipywidgets as widgets

from toolkit.api import Toolkit
from toolkit.audit import HELD_WORDS, held_records
from toolkit.audit.links import record_html
from toolkit.store import Integration, Link, LinkState, RunStatus
from toolkit.sync import RunResult

from .common import Message, guarded, viewer_mode

__all__ = [
    "EXAMPLES",
    "HELD_STATES",
    "HeldDeletions",
    "confirm_label",
    "confirmation_text",
    "held_counts",
    "held_examples",
    "held_record_html",
    "held_words",
]

HELD_STATES = HELD_WORDS
"""Link state of a held deletion -> (where the record was deleted, what waits)."""

EXAMPLES = 5
"""Held records named per integration, so that someone can check them before confirming."""


def held_counts(tk: Toolkit, integration: Integration) -> dict[LinkState, int]:
    """Held deletions of one :class:`~toolkit.store.Integration` per link state (states with none left out)."""
    counts = {state: tk.store.count_links(integration.id, state=state) for state in HELD_STATES}
    return {state: n for state, n in counts.items() if n}


def held_examples(tk: Toolkit, integration: Integration, limit: int = EXAMPLES) -> list[Link]:
    """The first ``limit`` held links (by Salesforce Id, Salesforce-side deletions first)."""
    found: list[Link] = []
    for state in HELD_STATES:
        found += islice(tk.store.iter_links(integration.id, state=state, batch=limit), limit - len(found))
        if len(found) >= limit:
            break
    return found


def held_words(counts: Mapping[LinkState, int]) -> str:
    """``{LinkState.HELD_DELETE: 3}`` as ``"3 deleted in Salesforce (to be taken off the Brevo list)"``."""
    return (
        "; ".join(
            f"{n:,} {HELD_STATES[state][0]} ({HELD_STATES[state][1]})" for state, n in counts.items() if n
        )
        or "none"
    )


def held_record_html(row: Mapping[str, Any]) -> str:
    """One held deletion (a :func:`toolkit.audit.held_records` row) as ``Name (Id) · Brevo``, escaped.

    The Id links to the record in Salesforce, "Brevo" to its contact while it exists; the name
    comes from the link's synced ``FIRSTNAME``/``LASTNAME`` (a record without one shows its Id).
    """
    return record_html(row["record_id"], row["record_name"], row["salesforce_url"], row["brevo_url"])


def confirm_label(total: int) -> str:
    """The Confirm button's text: ``"Confirm 3 deletions"``."""
    return f"Confirm {total:,} deletion{'' if total == 1 else 's'}"


class HeldDeletions(widgets.VBox):
    """Every integration with held deletions: how many, on which side, examples, and a Confirm button.

    Args:
        tk: the toolkit.
        message: where the outcome of a confirmation (or an error) is said; by default a line of
            the box's own, under its rows.
        on_confirmed: called with the integration's name and the :class:`~toolkit.sync.RunResult`
            after a confirmation ran; it reloads what the page shows, this box included (without
            it, the box reloads itself).
        hide_when_empty: show nothing at all while no deletion is held and nothing is to be said
            (else a line saying that none is held).
        viewer: read-only: the held deletions are listed without a Confirm button (default:
            :func:`~toolkit.ui.common.viewer_mode`).

    Attributes:
        held: integration name -> held deletions per link state, as last loaded.
        buttons: integration name -> its "Confirm N deletions" button.
        last_result: the :class:`~toolkit.sync.RunResult` of the last confirmation, if any.
    """

    def __init__(
        self,
        tk: Toolkit,
        message: Message | None = None,
        *,
        on_confirmed: Callable[[str, RunResult], None] | None = None,
        hide_when_empty: bool = False,
        viewer: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.add_class("toolkit-held-deletions")
        self.tk = tk
        self.viewer = viewer_mode() if viewer is None else viewer
        self.own_message = message is None
        self.message = Message() if message is None else message
        self.on_confirmed = on_confirmed
        self.hide_when_empty = hide_when_empty
        self.held: dict[str, dict[LinkState, int]] = {}
        self.buttons: dict[str, widgets.Button] = {}
        self.last_result: RunResult | None = None
        self.refresh()

    def refresh(self) -> None:
        """Reload the held deletions and redraw one row per integration."""
        held = guarded(self.message, self._rows)
        if held is None:
            return
        quiet = not held and not (self.own_message and self.message.text)
        self.layout.display = "none" if self.hide_when_empty and quiet else None

    def _rows(self) -> dict[str, dict[LinkState, int]]:
        found = [(integ, held_counts(self.tk, integ)) for integ in self.tk.integrations()]
        self.held = {integ.name: counts for integ, counts in found if counts}
        self.buttons = {}
        rows: list[widgets.Widget] = []
        for integ, counts in found:
            if not counts:
                continue
            name = integ.name
            total = sum(counts.values())
            examples = held_records(
                self.tk.store, integ, limit=EXAMPLES, brevo_app_url=self.tk.settings.brevo_app_url
            )
            shown = ", ".join(held_record_html(example) for example in examples)
            more = f" and {total - len(examples):,} more" if total > len(examples) else ""
            text = widgets.HTML(
                f'<div class="toolkit-held-row" style="margin:2px 0"><b>{html.escape(name)}</b>: '
                f"{html.escape(held_words(counts))}.<br><span style='color:#555;font-size:12px'>"
                f"{'Examples' if self.viewer else 'Check them first'}: {shown}{more}.</span></div>",
                layout=widgets.Layout(width="auto", flex="1 1 auto"),
            )
            if self.viewer:  # read-only: the rows, no button
                rows.append(text)
                continue
            button = widgets.Button(
                description=confirm_label(total),
                button_style="danger",
                icon="trash",
                tooltip=f"Carry out the {total} held deletions of “{name}” (a run that also "
                "syncs everything else)",
                layout=widgets.Layout(width="auto", min_width="13em"),
            )
            button.add_class("toolkit-confirm-deletions")
            button.on_click(lambda _, name=name: self.confirm(name))
            self.buttons[name] = button
            rows.append(widgets.HBox([button, text], layout=widgets.Layout(align_items="center")))
        intro = (
            "The mass-delete guard (B6) holds these deletions: more records were deleted on one side than "
            "the integration allows without a confirmation. Everything else was synced."
        )
        if self.viewer:
            intro += " Someone who manages the integrations confirms them."
        head = widgets.HTML(
            f"<p style='margin:4px 0'>{html.escape(intro)}</p>"
            if self.held
            else "<p class='toolkit-empty' style='color:#555;margin:4px 0'>"
            "No deletion is waiting for a confirmation.</p>"
        )
        self.children = [head, *rows, *([self.message] if self.own_message else [])]
        return self.held

    def confirm(self, name: str) -> RunResult | None:
        """Carry out ``name``'s held deletions (:meth:`~toolkit.api.Toolkit.confirm_deletions`), then reload.

        Returns:
            The confirming run's :class:`~toolkit.sync.RunResult`, or ``None`` when it could not run
            (the message says why).
        """
        if self.viewer:
            self.message.say(
                "This page is read-only: deletions are confirmed by someone who manages it.", "warn"
            )
            return None
        button = self.buttons.get(name)
        if button is not None:
            button.disabled = True
        self.message.say(f"Confirming the held deletions of “{name}”…", "info")
        try:
            result = guarded(self.message, lambda: self.tk.confirm_deletions(name))
        finally:
            if button is not None:
                button.disabled = False
        if result is not None:
            self.last_result = result
            self.message.say(
                confirmation_text(name, result), "ok" if result.status == RunStatus.SUCCEEDED else "warn"
            )
        if result is not None and self.on_confirmed is not None:
            self.on_confirmed(name, result)  # the page reloads what it shows, this box included
        else:
            self.refresh()
        return result


def confirmation_text(name: str, result: RunResult) -> str:
    """What a confirming run did, in words."""
    removed = result.counts.get("to_brevo.delete", 0)
    deleted = result.counts.get("to_salesforce.delete", 0)
    text = (
        f"Run {result.run_id} of “{name}” {result.status}: {removed:,} record(s) taken off the Brevo list, "
        f"{deleted:,} deleted in Salesforce; {result.tasks:,} records written in all."
    )
    if result.message:
        text += f"\n{result.message}"
    return text
