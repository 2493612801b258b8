"""Links (Salesforce Id <-> Brevo contact, last synced hashes) and cursors, in bulk.

Bulk methods use ``executemany`` and ``IN`` lists of at most 500 keys, so 100,000 links are
written or looked up in about a second.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from toolkit.store.base import StoreBase, chunks, member
from toolkit.store.records import Link, LinkKey, LinkState, from_ts, to_ts

__all__ = ["LinksMixin"]

_COLUMNS = "integration_id, sf_id, brevo_id, email, sf_hash, brevo_hash, state, synced, synced_at, detail"
_UPSERT = (
    f"INSERT INTO links ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (integration_id, sf_id) DO UPDATE SET "
    # An unknown Brevo id (imports do not return ids) never erases a known one.
    "brevo_id = COALESCE(excluded.brevo_id, links.brevo_id), email = excluded.email, "
    "sf_hash = excluded.sf_hash, brevo_hash = excluded.brevo_hash, state = excluded.state, "
    "synced = excluded.synced, synced_at = excluded.synced_at, detail = excluded.detail"
)


_STATES = {state.value: state for state in LinkState}  # faster than LinkState(text) per row


def _link(row: tuple[Any, ...]) -> Link:
    integration_id, sf_id, brevo_id, email, sf_hash, brevo_hash, state, synced, synced_at, detail = row
    return Link(
        integration_id,
        sf_id,
        brevo_id,
        email,
        sf_hash,
        brevo_hash,
        _STATES[state],
        None if synced is None else json.loads(synced),
        from_ts(synced_at),
        detail,
    )


class LinksMixin(StoreBase):
    """Methods on ``links`` and ``cursors``."""

    def upsert_links(self, links: Iterable[Link]) -> int:
        """Insert or replace links (keyed by integration and Salesforce Id); returns how many.

        A link whose ``synced_at`` is ``None`` gets the current time; one whose ``brevo_id``
        is ``None`` keeps the Brevo id already stored.
        """
        now = self._now()

        def rows() -> Iterator[tuple[Any, ...]]:
            for link in links:
                if link.state not in _STATES:
                    member(LinkState, link.state, "link state")
                yield (
                    link.integration_id,
                    link.sf_id,
                    link.brevo_id,
                    link.email,
                    link.sf_hash,
                    link.brevo_hash,
                    link.state,
                    None
                    if link.synced is None
                    else json.dumps(link.synced, sort_keys=True, ensure_ascii=False),
                    now if link.synced_at is None else to_ts(link.synced_at),
                    link.detail,
                )

        return self._write_many(_UPSERT, rows())

    def set_brevo_ids(self, integration_id: int, brevo_ids: Mapping[str, int]) -> int:
        """Record Brevo contact ids learnt after an import (Salesforce Id -> Brevo id)."""
        return self._write_many(
            "UPDATE links SET brevo_id = ? WHERE integration_id = ? AND sf_id = ?",
            ((brevo_id, integration_id, sf_id) for sf_id, brevo_id in brevo_ids.items()),
        )

    def set_link_state(
        self, integration_id: int, sf_ids: Iterable[str], state: LinkState, detail: str | None = None
    ) -> int:
        """Suspend (Y6), keep (Y10), supersede, hold or re-activate links; returns how many rows changed.

        Args:
            detail: what the state refers to (a superseded Lead: the Contact's Id); cleared when ``None``.
        """
        state = member(LinkState, state, "link state")
        return self._write_many(
            "UPDATE links SET state = ?, detail = ? WHERE integration_id = ? AND sf_id = ?",
            ((state, detail, integration_id, sf_id) for sf_id in sf_ids),
        )

    def links_by_emails(
        self, emails: Iterable[str], *, integration_ids: Iterable[int] | None = None
    ) -> dict[str, list[Link]]:
        """Links whose e-mail is one of ``emails`` (any case), by lower-cased e-mail.

        Args:
            integration_ids: only these integrations' links (all when ``None``): duplicates are
                looked for within one integration (D1) and across the integrations of one Brevo
                account (a Lead and a Contact of one person, D2).
        """
        wanted = {e.strip().lower() for e in emails if e and e.strip()}
        sql = f"SELECT {_COLUMNS} FROM links WHERE lower(email) IN ({{marks}})"
        found: dict[str, list[Link]] = {}
        allowed = None if integration_ids is None else set(integration_ids)
        for row in self._in_chunks(sql, (), wanted):
            link = _link(row)
            if allowed is None or link.integration_id in allowed:
                found.setdefault(str(link.email).lower(), []).append(link)
        return found

    def links_by_sf_ids(self, integration_id: int, sf_ids: Iterable[str]) -> dict[str, Link]:
        """Return the links of these Salesforce Ids (missing ones are absent from the dict)."""
        sql = f"SELECT {_COLUMNS} FROM links WHERE integration_id = ? AND sf_id IN ({{marks}})"
        return {row[1]: _link(row) for row in self._in_chunks(sql, (integration_id,), sf_ids)}

    def links_by_brevo_ids(self, integration_id: int, brevo_ids: Iterable[int]) -> dict[int, Link]:
        """Return the links of these Brevo contact ids (missing ones are absent from the dict)."""
        sql = f"SELECT {_COLUMNS} FROM links WHERE integration_id = ? AND brevo_id IN ({{marks}})"
        return {row[2]: _link(row) for row in self._in_chunks(sql, (integration_id,), brevo_ids)}

    def iter_links(
        self, integration_id: int, *, state: LinkState | None = None, batch: int = 5_000
    ) -> Iterator[Link]:
        """Yield an integration's links, by Salesforce Id, fetching ``batch`` rows at a time."""
        where, params = "integration_id = ?", list[Any]([integration_id])
        if state is not None:
            where += " AND state = ?"
            params.append(member(LinkState, state, "state"))
        sql = f"SELECT {_COLUMNS} FROM links WHERE {where} ORDER BY sf_id"
        for rows in self.dialect.stream(self.db, sql, params, batch):
            yield from map(_link, rows)

    def iter_link_keys(self, integration_id: int, *, batch: int = 5_000) -> Iterator[LinkKey]:
        """Yield an integration's links' keys and states, by Salesforce Id: a scan of every link
        without reading (and parsing) their synced values, three to four times quicker."""
        sql = "SELECT sf_id, brevo_id, state FROM links WHERE integration_id = ? ORDER BY sf_id"
        for rows in self.dialect.stream(self.db, sql, [integration_id], batch):
            for sf_id, brevo_id, state in rows:
                yield LinkKey(sf_id, brevo_id, _STATES[state])

    def all_links(self, integration_id: int, *, state: LinkState | None = None) -> list[Link]:
        """Return every link of an integration (see :meth:`iter_links` to stream them)."""
        return list(self.iter_links(integration_id, state=state))

    def count_links(self, integration_id: int, *, state: LinkState | None = None) -> int:
        """Count an integration's links (B6 compares planned deletions with this)."""
        if state is None:
            rows = self._rows("SELECT COUNT(*) FROM links WHERE integration_id = ?", (integration_id,))
        else:
            rows = self._rows(
                "SELECT COUNT(*) FROM links WHERE integration_id = ? AND state = ?", (integration_id, state)
            )
        return int(rows[0][0])

    def delete_links(self, integration_id: int, sf_ids: Iterable[str]) -> int:
        """Delete links by Salesforce Id; returns how many were deleted."""
        deleted = 0
        with self.transaction():
            for batch in chunks(dict.fromkeys(sf_ids)):
                marks = ", ".join("?" * len(batch))
                deleted += self.db.execute(
                    f"DELETE FROM links WHERE integration_id = ? AND sf_id IN ({marks})",
                    (integration_id, *batch),
                ).rowcount
        return deleted

    # -- cursors ----------------------------------------------------------------------------

    def get_cursor(self, integration_id: int, name: str, default: str | None = None) -> str | None:
        """Return a named cursor's value (``default`` when never set)."""
        rows = self._rows(
            "SELECT value FROM cursors WHERE integration_id = ? AND name = ?", (integration_id, name)
        )
        return rows[0][0] if rows else default

    def set_cursor(self, integration_id: int, name: str, value: str) -> None:
        """Set a named cursor (commit it in the same transaction as the batch it follows)."""
        self._write(
            "INSERT INTO cursors (integration_id, name, value, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (integration_id, name) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (integration_id, name, value, self._now()),
        )

    def cursors(self, integration_id: int) -> dict[str, str]:
        """Return all cursors of an integration."""
        return dict(self._rows("SELECT name, value FROM cursors WHERE integration_id = ?", (integration_id,)))

    def clear_cursors(self, integration_id: int, names: Iterable[str] | None = None) -> int:
        """Forget cursors (all, or the named ones), e.g. before a full resync."""
        if names is None:
            return self._write("DELETE FROM cursors WHERE integration_id = ?", (integration_id,)).rowcount
        return self._write_many(
            "DELETE FROM cursors WHERE integration_id = ? AND name = ?",
            ((integration_id, name) for name in names),
        )
