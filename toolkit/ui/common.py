"""Shared bits of the apps: step states, in-place messages, HTML tables, plain error text.

Nothing here talks to an API: the widgets call :class:`toolkit.api.Toolkit` and show what
comes back. Errors are shown in plain words where they happened, never as a traceback (a
Voilà page shows no code and no stack).

The apps run in Voilà and in JupyterLab. JupyterLab (4.4 and later) sends widget events to a
kernel *subshell* when the kernel has them (ipykernel 7): a button's callback then runs in
another thread than the cell that built the page. The toolkit :func:`open_toolkit` opens for
an app may therefore be used from several threads; its store keeps one SQLite connection per thread
(:class:`~toolkit.store.base.StoreBase`).
"""

from __future__ import annotations

import html
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

import ipywidgets as widgets
import pandas as pd

from toolkit.api import Toolkit
from toolkit.config import ROLE_ENV, VIEWER_ROLE
from toolkit.exceptions import (
    ApiDisabledError,
    AuthError,
    ConnectionLimitError,
    MappingError,
    ToolkitError,
)
from toolkit.store import Direction

__all__ = [
    "ACTION_LABELS",
    "AppPage",
    "DIRECTIONS",
    "FAIL",
    "INIT",
    "READY",
    "ROLE_ENV",
    "STATES",
    "SUCCESS",
    "VIEWER_ROLE",
    "Message",
    "frame_rows",
    "friendly_error",
    "guarded",
    "html_table",
    "open_toolkit",
    "viewer_mode",
]

log = logging.getLogger(__name__)

INIT, READY, SUCCESS, FAIL = "init", "ready", "success", "fail"
STATES = (INIT, READY, SUCCESS, FAIL)
"""A step's states: not started, waiting for input, done, failed (the message says why)."""

ACTION_LABELS = {
    "to_brevo.create": "created in Brevo",
    "to_brevo.update": "updated in Brevo",
    "to_brevo.delete": "removed from the Brevo list",
    "to_salesforce.update": "updated in Salesforce",
    "to_salesforce.delete": "deleted in Salesforce",
    "unchanged": "unchanged",
    "conflicts": "changed on both sides (settled)",
    "brevo_only": "only in Brevo (never created in Salesforce, Y1)",
    "still_rejected": "still rejected (unchanged since)",
    "suspended": "no longer synced: e-mail removed (Y6)",
    "blocked_deletes": "deletions held back by the mass-delete guard (B6)",
    "held_delete": "deletions newly held, waiting for a confirmation (B6)",
    "to_brevo.handover": "Brevo contact handed over from a Lead to its Contact",
    "cleared": "attribute values cleared in Brevo (emptied in Salesforce)",
    "left_list": "taken off the list in Brevo (not put back, B9)",
    "back_on_list": "put back on the list in Brevo",
    "deleted_in_brevo": "found deleted in Brevo",
    "converted": "converted Leads (their Contact is synced instead)",
    "superseded": "Leads whose person is a Contact (the Contact is synced)",
    "cursor_replaced": "unreadable cursor replaced (read again from a safe point)",
}
"""Plain words for the engine's counters (:attr:`toolkit.sync.RunResult.counts`)."""

DIRECTIONS = {Direction.TO_BREVO: "Salesforce → Brevo", Direction.TO_SALESFORCE: "Brevo → Salesforce"}

_LEVELS = {
    "info": ("#1f4e79", "#eef4fb"),
    "ok": ("#1e5e2f", "#edf7ef"),
    "error": ("#8a1c1c", "#fbeeee"),
    "warn": ("#6b4e00", "#fff7e0"),
}

T = TypeVar("T")


def viewer_mode(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the apps run read-only, for stakeholders: ``TOOLKIT_ROLE=viewer`` in the environment.

    A Voilà server started with ``running_voila(..., viewer=True)`` sets it in its kernels'
    environment; the pages then show no action button and no editable field.

    Args:
        environ: the environment to read (default: this process's).
    """
    env = os.environ if environ is None else environ
    return env.get(ROLE_ENV, "").strip().lower() == VIEWER_ROLE


def open_toolkit(tk: Toolkit | None) -> Toolkit:
    """The given :class:`~toolkit.api.Toolkit`, or one on the state directory of the environment.

    ``Toolkit()`` reads ``TOOLKIT_STATE_DIR`` and its ``toolkit.toml``: that is how a notebook
    finds the state without any parameter or secret. A given ``tk`` is returned as it is. Either
    may be used from the app's callbacks in any thread (JupyterLab's kernel subshells): the store
    gives each thread its own connection (:class:`~toolkit.store.base.StoreBase`).
    """
    return tk if tk is not None else Toolkit()


class AppPage(widgets.VBox):
    """What every app page starts with: its CSS class, the viewer mode, a message line, the toolkit.

    A subclass calls ``super().__init__(...)`` first, then returns at once when ``opened`` is
    false (the page then shows only the message saying why, e.g. a broken ``toolkit.toml``).

    Args:
        tk: the toolkit (default: ``Toolkit()`` on ``$TOOLKIT_STATE_DIR``, whose changes are then
            recorded as made ``via`` this page).
        viewer: read-only, for stakeholders (default: :func:`viewer_mode`).
        css_class: the page's CSS class (the browser tests find the page by it).
        via: where the changes made through the page's own toolkit are recorded as made.

    Attributes:
        viewer: whether the page is read-only. message: what the last action did, or why not.
        opened: whether the toolkit could be opened. tk: the toolkit (when ``opened``).
    """

    def __init__(
        self, tk: Toolkit | None, *, viewer: bool | None, css_class: str, via: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.add_class(css_class)
        self.viewer = viewer_mode() if viewer is None else viewer
        if self.viewer:
            self.add_class("toolkit-viewer")
        self.message = Message()
        opened = guarded(self.message, lambda: open_toolkit(tk))
        self.opened = opened is not None
        if opened is None:  # e.g. a broken toolkit.toml: say so instead of a traceback
            self.children = [self.message]
            return
        self.tk = opened
        if tk is None:  # the page's own toolkit: its changes are recorded as made here
            self.tk.store.via = via


def friendly_error(exc: BaseException) -> str:
    """One plain sentence for an error, fit to show a person (no traceback, no secret).

    The toolkit's own messages never carry secrets (see :mod:`toolkit.exceptions`); anything
    else is reduced to its type, since its text might quote a request.
    """
    if isinstance(exc, ApiDisabledError):
        return (
            "This Salesforce org does not allow API access (API_DISABLED_FOR_ORG). Ask your "
            'Salesforce administrator to enable "API Enabled" for your profile or edition, then '
            "connect again."
        )
    if isinstance(exc, AuthError):
        return f"Salesforce sign-in failed: {exc}"
    if isinstance(exc, ConnectionLimitError):
        return f"Connection refused: {exc}"
    if isinstance(exc, MappingError):
        return f"{exc.field}: {exc.reason}"
    if isinstance(exc, ToolkitError):
        text = str(exc)
        return text[:1].upper() + text[1:]
    if isinstance(exc, ValueError):
        return str(exc)
    return f"Something went wrong ({type(exc).__name__}); the log has the details."


class Message(widgets.HTML):
    """A line of text shown in place: ``say(text, "ok" | "info" | "warn" | "error")``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("toolkit-message")
        self.text = ""
        self.level = ""

    def say(self, text: str, level: str = "info") -> None:
        """Show ``text`` (escaped) with the colours of ``level``; an empty text hides the box."""
        self.text, self.level = text, level
        if not text:
            self.value = ""
            return
        fg, bg = _LEVELS.get(level, _LEVELS["info"])
        self.value = (
            f'<div class="toolkit-message-{level}" role="status" style="color:{fg};background:{bg};'
            f'border-left:4px solid {fg};padding:6px 10px;margin:4px 0;white-space:pre-wrap">'
            f"{html.escape(text)}</div>"
        )


def guarded(
    message: Message, action: Callable[[], T], *, on_error: Callable[[str], None] | None = None
) -> T | None:
    """Run ``action``; on an error show it in ``message`` (and tell ``on_error``) instead of raising.

    Returns:
        What ``action`` returned, or ``None`` when it failed.
    """
    try:
        return action()
    except Exception as exc:  # a page shows every failure in words, never a traceback
        if not isinstance(exc, (ToolkitError, ValueError)):
            log.warning("unexpected error in the app", exc_info=True)
        text = friendly_error(exc)
        message.say(text, "error")
        if on_error is not None:
            on_error(text)
        return None


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame's rows as dicts keyed by column name (the toolkit's frames name columns by text)."""
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def html_table(
    rows: Iterable[Mapping[str, object]],
    columns: Sequence[tuple[str, str]],
    *,
    css_class: str = "",
    empty: str = "Nothing to show yet.",
) -> str:
    """An escaped HTML table of ``rows``; ``columns`` are ``(key, header)`` pairs."""
    rows = list(rows)
    if not rows:
        return f'<p class="toolkit-empty" style="color:#555">{html.escape(empty)}</p>'
    head = "".join(
        f'<th style="text-align:left;padding:4px 10px;border-bottom:2px solid #999">{html.escape(title)}</th>'
        for _, title in columns
    )
    body = []
    for row in rows:
        texts = [_cell(row.get(key)) for key, _ in columns]
        cells = "".join(
            f'<td style="text-align:left;padding:3px 10px;border-bottom:1px solid #ddd;vertical-align:top'
            f'{";white-space:nowrap" if len(text) <= 40 else ";min-width:22em"}">{html.escape(text)}</td>'
            for text in texts
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<table class="toolkit-table {html.escape(css_class)}" style="border-collapse:collapse;'
        f'font-size:13px"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)
