"""Salesforce connections, and the S3 rule: one account is connected at most 5 times."""

from __future__ import annotations

import sqlite3
from typing import Any

from toolkit.exceptions import ConfigError, ConnectionLimitError
from toolkit.store.base import StoreBase, one_of
from toolkit.store.records import FLOWS, Connection, from_ts

__all__ = ["MAX_CONNECTIONS_PER_ACCOUNT", "ConnectionsMixin", "same_account"]

MAX_CONNECTIONS_PER_ACCOUNT = 5
_COLUMNS = ("id, name, login_url, instance_url, org_id, user_id, username, client_id, flow, "
            "created_at, updated_at")
_UPDATABLE = ("login_url", "instance_url", "org_id", "user_id", "username", "client_id", "flow")


def _url(url: str | None) -> str:
    return (url or "").strip().rstrip("/").lower()


def same_account(a_username: str, a_org_id: str | None, a_login_url: str | None,
                 b_username: str, b_org_id: str | None, b_login_url: str | None) -> bool:
    """Whether two connections sign in the same Salesforce account (SPEC S3).

    Usernames compare case-insensitively (Salesforce usernames are). When both org ids are
    known they decide (compared on their 15-character case-sensitive form); otherwise the login
    URLs do, when both are known; with neither, the username alone decides.
    """
    if a_username.strip().lower() != b_username.strip().lower():
        return False
    if a_org_id and b_org_id:
        return a_org_id[:15] == b_org_id[:15]
    if a_login_url and b_login_url:
        return _url(a_login_url) == _url(b_login_url)
    return True


def _connection(row: tuple[Any, ...]) -> Connection:
    id_, name, login_url, instance_url, org_id, user_id, username, client_id, flow, created, \
        updated = row
    return Connection(id_, name, login_url, instance_url, org_id, user_id, username, client_id,
                      flow, from_ts(created), from_ts(updated))


class ConnectionsMixin(StoreBase):
    """Methods on ``connections``."""

    def add_connection(self, name: str, *, login_url: str, username: str, client_id: str,
                       flow: str, instance_url: str | None = None, org_id: str | None = None,
                       user_id: str | None = None) -> Connection:
        """Record a signed-in Salesforce account (its secrets go to the credential store).

        Raises:
            ConnectionLimitError: the account is already connected 5 times (SPEC S3).
            ConfigError: a connection with this name exists.
            ValueError: ``flow`` is not one of :data:`~toolkit.store.records.FLOWS`.
        """
        one_of(flow, FLOWS, "flow")
        with self.transaction():  # BEGIN IMMEDIATE: the count and the insert cannot interleave
            count = self.count_for_account(username=username, org_id=org_id, login_url=login_url)
            if count >= MAX_CONNECTIONS_PER_ACCOUNT:
                raise ConnectionLimitError(
                    f"the Salesforce account {username!r} is already connected {count} times "
                    f"(the maximum is {MAX_CONNECTIONS_PER_ACCOUNT}): remove a connection before "
                    "adding another")
            now = self._now()
            try:
                cursor = self.db.execute(
                    "INSERT INTO connections (name, login_url, instance_url, org_id, user_id, "
                    "username, client_id, flow, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, login_url, instance_url, org_id, user_id, username, client_id, flow,
                     now, now))
            except sqlite3.IntegrityError:
                raise ConfigError(f"a connection named {name!r} already exists") from None
            return self.get_connection(int(cursor.lastrowid or 0))

    def get_connection(self, name_or_id: str | int) -> Connection:
        """Return a connection by name or id.

        Raises:
            ConfigError: there is no such connection (the message lists the known names).
        """
        column = "id" if isinstance(name_or_id, int) else "name"
        rows = self._rows(f"SELECT {_COLUMNS} FROM connections WHERE {column} = ?", (name_or_id,))
        if not rows:
            known = ", ".join(repr(c.name) for c in self.list_connections()) or "none"
            raise ConfigError(f"no Salesforce connection {name_or_id!r} (known: {known})")
        return _connection(rows[0])

    def list_connections(self) -> list[Connection]:
        """Return every connection, by name."""
        rows = self._rows(f"SELECT {_COLUMNS} FROM connections ORDER BY name")
        return [_connection(r) for r in rows]

    def update_connection(self, name_or_id: str | int, **changes: Any) -> Connection:
        """Change identity fields learnt later (``instance_url``, ``org_id``, ``user_id``...).

        Raises:
            ValueError: an unknown or read-only field.
        """
        current = self.get_connection(name_or_id)
        unknown = set(changes) - set(_UPDATABLE)
        if unknown:
            raise ValueError(f"cannot update connection field(s) {sorted(unknown)}")
        if "flow" in changes:
            one_of(changes["flow"], FLOWS, "flow")
        if changes:
            sets = ", ".join(f"{key} = ?" for key in changes)
            self._write(f"UPDATE connections SET {sets}, updated_at = ? WHERE id = ?",
                        (*changes.values(), self._now(), current.id))
        return self.get_connection(current.id)

    def delete_connection(self, name_or_id: str | int) -> None:
        """Delete a connection that no integration uses.

        Raises:
            ConfigError: integrations still use it (they are named in the message).
        """
        with self.transaction():
            connection = self.get_connection(name_or_id)
            users = [r[0] for r in self._rows(
                "SELECT name FROM integrations WHERE connection_id = ? ORDER BY name",
                (connection.id,))]
            if users:
                raise ConfigError(
                    f"connection {connection.name!r} is used by integration(s) "
                    f"{', '.join(map(repr, users))}: delete them or connect them elsewhere first")
            self.db.execute("DELETE FROM connections WHERE id = ?", (connection.id,))

    def count_for_account(self, *, username: str, org_id: str | None = None,
                          login_url: str | None = None) -> int:
        """Count the connections of one Salesforce account (see :func:`same_account`)."""
        rows = self._rows("SELECT username, org_id, login_url FROM connections")  # a few rows
        return sum(same_account(username, org_id, login_url, *row) for row in rows)
