"""Records people can recognise: a name beside each Id, and links to the record in both services.

Pure functions (no store, no API): the reports, the dashboard and the held-deletions views build
their "Record" cells with them.

- Salesforce opens any record at ``<instance URL>/<record Id>`` (15 or 18 characters), the
  Salesforce Classic record URL, which the org resolves for each user's interface (Lightning
  Experience users land on ``/lightning/r/<Object>/<Id>/view``). Sources: Salesforce Help,
  "Gotchas If Users Switch Between Lightning Experience and Salesforce Classic"
  (https://help.salesforce.com/s/articleView?id=xcloud.lex_switching_considerations.htm: how
  links resolve per user's default interface); Salesforce Developers blog, "Here's What You Need
  To Know About The New URL Format For Lightning"
  (https://developer.salesforce.com/blogs/2018/01/heres-need-know-new-url-format-lightning.html:
  the record view formats, and a warning that UI URLs are not an official API). The instance
  URL is the connection's ``instance_url``, the org's My Domain host learnt at sign-in.
- Brevo's web app shows a contact at ``https://app.brevo.com/contact/index/<contact id>``, the
  numeric ``id`` of ``GET /v3/contacts/{identifier}`` (``Settings.brevo_app_url`` is the host).
  Brevo's API reference does not document its app's pages; this is the address its app uses
  and that integrations in public code link to (``f"https://app.brevo.com/contact/index/{id}"``).

Every function here returns ``None`` for what it cannot build (no instance URL, no Brevo id);
the HTML ones escape every value they are given.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from toolkit.rules.rejection import person_name

__all__ = [
    "BREVO_APP_URL",
    "MarkupCells",
    "SALESFORCE_ID",
    "brevo_url",
    "name_from_values",
    "with_links",
    "record_html",
    "record_label",
    "salesforce_url",
]

BREVO_APP_URL = "https://app.brevo.com"
"""Brevo's web app (``Settings.brevo_app_url``'s default)."""

SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
"""A Salesforce record Id: 15 characters (case-sensitive) or 18 (with the case-safe suffix)."""


def _base(url: str | None) -> str | None:
    """``url`` without its trailing ``/``, when it is an http(s) URL; else ``None``."""
    text = (url or "").strip().rstrip("/")
    return text if text.lower().startswith(("https://", "http://")) else None


def salesforce_url(instance_url: str | None, sf_id: str | None) -> str | None:
    """Where a Salesforce record opens: ``<instance_url>/<sf_id>``.

    Args:
        instance_url: the org's instance URL (``Connection.instance_url``).
        sf_id: the record's 15- or 18-character Id.

    Returns:
        The URL, or ``None`` without an instance URL or with something that is not a record Id
        (a Brevo-only contact's reference, an empty Id).
    """
    base = _base(instance_url)
    if base is None or not sf_id or not SALESFORCE_ID.fullmatch(sf_id):
        return None
    return f"{base}/{sf_id}"


def brevo_url(app_url: str | None, brevo_id: object) -> str | None:
    """Where a Brevo contact opens in Brevo's web app: ``<app_url>/contact/index/<brevo_id>``.

    Args:
        app_url: Brevo's web app (``Settings.brevo_app_url``, by default :data:`BREVO_APP_URL`).
        brevo_id: the contact's numeric id (``Link.brevo_id``); ``None`` until the toolkit learnt it.

    Returns:
        The URL, or ``None`` without an app URL or a positive whole contact id.
    """
    base = _base(app_url)
    if base is None or brevo_id is None or isinstance(brevo_id, bool):
        return None
    try:
        number = float(str(brevo_id)) if not isinstance(brevo_id, (int, float)) else float(brevo_id)
    except ValueError:
        return None
    if number != number or number <= 0 or not number.is_integer():  # NaN (a DataFrame's gap), 0, 1.5
        return None
    return f"{base}/contact/index/{quote(str(int(number)))}"


def name_from_values(values: Mapping[str, object] | None) -> str | None:
    """A person's name from Brevo attributes (``FIRSTNAME``, ``LASTNAME``), e.g. a link's synced values.

    Returns:
        ``"First Last"``, or ``None`` when neither is there (never an e-mail, see
        :func:`toolkit.rules.rejection.person_name`).
    """
    if not values:
        return None
    return person_name(values.get("FIRSTNAME"), values.get("LASTNAME"))


def with_links(row: dict[str, Any], brevo_app_url: str | None = BREVO_APP_URL) -> dict[str, Any]:
    """Add ``salesforce_url`` and ``brevo_url`` to a report row (in place) and return it.

    Args:
        row: a reporting row with ``record_id``, ``instance_url`` and ``brevo_id`` (the store's
            :meth:`~toolkit.store.Store.report_rejections` rows; missing keys count as unknown).
        brevo_app_url: Brevo's web app (``Settings.brevo_app_url``).
    """
    row["salesforce_url"] = salesforce_url(row.get("instance_url"), row.get("record_id"))
    row["brevo_url"] = brevo_url(brevo_app_url, row.get("brevo_id"))
    return row


def record_label(record_id: str, name: str | None) -> str:
    """A record as plain text: ``"Ann Lee (003...)"``, or the Id alone without a name."""
    return f"{name} ({record_id})" if name else record_id


def _link(url: str, text: str, title: str) -> str:
    return (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener" '
        f'title="{html.escape(title, quote=True)}">{html.escape(text)}</a>'
    )


def record_html(
    record_id: str, name: str | None, sf_url: str | None = None, brevo_link: str | None = None
) -> str:
    """A record as an HTML cell: ``Ann Lee (<a>003…</a>) · <a>Brevo</a>``, every value escaped.

    Without a name or a link it is the escaped Id alone.

    Args:
        record_id: the Salesforce Id (shown even without a name or a link).
        name: the person's name, if known.
        sf_url: :func:`salesforce_url` of the record: the Id links there (a new tab).
        brevo_link: :func:`brevo_url` of its contact: a "Brevo" link follows.
    """
    if not (name or sf_url or brevo_link):
        return html.escape(record_id)  # nothing to add: the Id as it is
    shown = (
        _link(sf_url, record_id, "Open the record in Salesforce")
        if sf_url
        else f'<span class="toolkit-record-id">{html.escape(record_id)}</span>'
    )
    text = f"{html.escape(name)} ({shown})" if name else shown
    if brevo_link:
        text += " · " + _link(brevo_link, "Brevo", "Open the contact in Brevo")
    return f'<span class="toolkit-record">{text}</span>'


class MarkupCells:
    """Ready-made HTML cells for a table drawn by a function that escapes every cell.

    :func:`toolkit.ui.common.html_table` escapes what it is given (rightly); a "Record" cell
    with its links is HTML already. Put :meth:`add`'s placeholder in the row instead, draw the
    table, then :meth:`fill` it: each placeholder (letters and digits, which escaping leaves
    alone, with a random part no data can guess) becomes its HTML.

    Example:
        >>> cells = MarkupCells()
        >>> token = cells.add("<b>x</b>")
        >>> cells.fill(f"<td>{token}</td>")
        '<td><b>x</b></td>'
    """

    def __init__(self) -> None:
        self._prefix = f"toolkitcell{secrets.token_hex(8)}n"
        self._cells: dict[str, str] = {}

    def add(self, markup: str) -> str:
        """A placeholder for ``markup`` (already escaped HTML), to put in a row."""
        token = f"{self._prefix}{len(self._cells)}x"
        self._cells[token] = markup
        return token

    def fill(self, text: str) -> str:
        """``text`` with each placeholder replaced by its HTML."""
        if not self._cells:
            return text
        return re.sub(
            re.escape(self._prefix) + r"\d+x", lambda m: self._cells.get(m.group(), m.group()), text
        )
