"""Salesforce connections, and the S3 rule: one account is used by at most 5 integrations.

A Salesforce *account* is one user of one org (org id + user id, the identity of every token
answer). SPEC S3 allows one account to be connected at most 5 times in total across Contacts and
Leads integrations: what counts is the integrations whose connection belongs to that account,
whatever their status (draft, active, stopped, error; a deleted integration, gone or kept for its
history, frees its place), not the connection rows. Several integrations may share one stored connection, and one
account may have several connections (e.g. a new sign-in replacing a revoked one): a connection
that no integration uses is not a use.

:func:`check_account_use` refuses the 6th use before anything is written; the store calls it in
the transaction that sets an integration's ``connection_id``, so that two processes cannot both
take the last place.

A connection may be *disconnected* (issue 15: its token revoked at Salesforce, its secrets
removed, ``disconnected_at`` set) and later *reconnected* (a new sign-in of the same account).
:meth:`ConnectionsMixin.mark_disconnected` refuses while an integration that runs by itself uses
it (active, or stopped by the quota: it resumes by itself); each of these changes, and the
connection's creation, is recorded in the ``changes`` table in the transaction that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from toolkit.exceptions import ConfigError, ConnectionLimitError
from toolkit.store.base import StoreBase, one_of
from toolkit.store.changes import ChangesMixin
from toolkit.store.records import (
    FLOWS,
    ChangeAction,
    Connection,
    IntegrationStatus,
    StopReason,
    from_ts,
)

__all__ = [
    "Account",
    "ApiUsage",
    "ConnectionsMixin",
    "MAX_CONNECTIONS_PER_ACCOUNT",
    "check_account_use",
    "integrations_of_account",
    "same_account",
]

MAX_CONNECTIONS_PER_ACCOUNT = 5
"""Integrations (Contacts and Leads together) that may use one Salesforce account (SPEC S3)."""

_COLUMNS = (
    "id, name, login_url, instance_url, org_id, user_id, username, client_id, flow, created_at, updated_at, "
    "disconnected_at"
)
_UPDATABLE = ("login_url", "instance_url", "org_id", "user_id", "username", "client_id", "flow")


def _url(url: str | None) -> str:
    return (url or "").strip().rstrip("/").lower()


@dataclass(frozen=True, slots=True)
class Account:
    """Who a connection signs in as: a user of an org (ids may be unknown for old rows).

    Attributes:
        username: the Salesforce username. org_id, user_id: the org's and the user's Ids.
        login_url: the login URL the connection signs in at.
    """

    username: str
    org_id: str | None = None
    user_id: str | None = None
    login_url: str | None = None

    @classmethod
    def of(cls, connection: Connection) -> Account:
        """The account a stored connection signs in as."""
        return cls(connection.username, connection.org_id, connection.user_id, connection.login_url)

    def __str__(self) -> str:
        ids = ", ".join(
            f"{what} {value}" for what, value in (("org", self.org_id), ("user", self.user_id)) if value
        )
        return f"{self.username!r}" + (f" ({ids})" if ids else "")


def _id15(value: str) -> str:
    """A Salesforce Id's case-sensitive 15-character form (the 18-character form adds a suffix)."""
    return value[:15]


def same_account(a: Account, b: Account) -> bool:
    """Whether two connections sign in the same Salesforce account (SPEC S3).

    When both org ids and both user ids are known they decide (on their 15-character form), so
    a renamed user is still the same account. Otherwise the usernames must match
    (case-insensitively, as Salesforce usernames do) and then the org ids decide when both are
    known, else the login URLs when both are known; with neither, the username alone decides.
    """
    if a.org_id and b.org_id and a.user_id and b.user_id:
        return _id15(a.org_id) == _id15(b.org_id) and _id15(a.user_id) == _id15(b.user_id)
    if a.username.strip().lower() != b.username.strip().lower():
        return False
    if a.org_id and b.org_id:
        return _id15(a.org_id) == _id15(b.org_id)
    if a.login_url and b.login_url:
        return _url(a.login_url) == _url(b.login_url)
    return True


def integrations_of_account(store: StoreBase, account: Account, *, besides: int | None = None) -> list[str]:
    """The names of the integrations using ``account`` through any connection (``besides`` left out)."""
    rows = store._rows(  # one row per integration that has a connection: a few dozen at most
        "SELECT i.id, i.name, c.username, c.org_id, c.user_id, c.login_url FROM integrations i "
        "JOIN connections c ON c.id = i.connection_id WHERE i.deleted_at IS NULL ORDER BY i.name"
    )
    return [name for id_, name, *who in rows if id_ != besides and same_account(account, Account(*who))]


def check_account_use(store: StoreBase, connection_id: int, integration_id: int | None) -> None:
    """Refuse an integration's use of a connection whose account 5 other integrations use (S3).

    Call it in the transaction that sets the integration's ``connection_id``.

    Args:
        store: the state database.
        connection_id: the connection the integration is to use.
        integration_id: the integration (``None`` for one being created). Its own current use
            is not counted: moving it to another connection of the same account adds nothing.

    Raises:
        ConnectionLimitError: the account is used by 5 other integrations; the message names
            the limit and them.
        ConfigError: there is no such connection.
    """
    rows = store._rows(
        "SELECT username, org_id, user_id, login_url FROM connections WHERE id = ?", (connection_id,)
    )
    if not rows:
        raise ConfigError(f"there is no Salesforce connection with id {connection_id}")
    account = Account(*rows[0])
    users = integrations_of_account(store, account, besides=integration_id)
    if len(users) >= MAX_CONNECTIONS_PER_ACCOUNT:
        raise ConnectionLimitError(
            f"the Salesforce account {account} is already used by {len(users)} integrations "
            f"({', '.join(map(repr, users))}); one account can be connected to at most "
            f"{MAX_CONNECTIONS_PER_ACCOUNT} integrations in total, Contacts and Leads together (S3): "
            "delete one of them or connect them to another Salesforce user first"
        )


def _connection(row: tuple[Any, ...]) -> Connection:
    id_, name, login_url, instance_url, org_id, user_id, username, client_id, flow, created, updated = row[
        :11
    ]
    return Connection(
        id_,
        name,
        login_url,
        instance_url,
        org_id,
        user_id,
        username,
        client_id,
        flow,
        from_ts(created),
        from_ts(updated),
        from_ts(row[11]),
    )


def _signed_in_as(connection: Connection) -> str:
    """Who a connection signs in as, for the change log: ``"user@example.com (org 00D...)"``."""
    return connection.username + (f" (org {connection.org_id})" if connection.org_id else "")


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """The Salesforce org's daily API usage as the newest run through a connection saw it (B3).

    Attributes:
        used, limit: API calls of the last 24 hours and the org's daily allowance.
        seen_at: when that run started.
    """

    used: int
    limit: int
    seen_at: datetime

    def __str__(self) -> str:
        share = f" ({self.used / self.limit:.0%})" if self.limit else ""
        return f"{self.used:,} of {self.limit:,}{share}, {self.seen_at:%Y-%m-%d %H:%M} UTC"


class ConnectionsMixin(ChangesMixin, StoreBase):
    """Methods on ``connections``."""

    def add_connection(
        self,
        name: str,
        *,
        login_url: str,
        username: str,
        client_id: str,
        flow: str,
        instance_url: str | None = None,
        org_id: str | None = None,
        user_id: str | None = None,
    ) -> Connection:
        """Record a signed-in Salesforce account (its secrets go to the credential store), and the
        change (:attr:`~toolkit.store.records.ChangeAction.CONNECTED`) in the same transaction.

        A connection is not yet a use of the account (S3 counts integrations): see
        :func:`check_account_use`, which ``create_integration``/``update_integration`` apply.

        Raises:
            ConfigError: a connection with this name exists.
            ValueError: ``flow`` is not one of :data:`~toolkit.store.records.FLOWS`.
        """
        one_of(flow, FLOWS, "flow")
        with self.transaction():
            now = self._now()
            try:
                new_id = self._insert(
                    "INSERT INTO connections (name, login_url, instance_url, org_id, user_id, "
                    "username, client_id, flow, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (name, login_url, instance_url, org_id, user_id, username, client_id, flow, now, now),
                )
            except self.integrity_error:
                raise ConfigError(f"a connection named {name!r} already exists") from None
            connection = self.get_connection(new_id)
            self.record_change(
                ChangeAction.CONNECTED,
                name,
                connection_id=connection.id,
                new=f"{_signed_in_as(connection)} via {flow}",
            )
            return connection

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
            self._write(
                f"UPDATE connections SET {sets}, updated_at = ? WHERE id = ?",
                (*changes.values(), self._now(), current.id),
            )
        return self.get_connection(current.id)

    def delete_connection(self, name_or_id: str | int) -> None:
        """Delete a connection that no integration uses.

        Raises:
            ConfigError: integrations still use it (they are named in the message).
        """
        with self.transaction():
            connection = self.get_connection(name_or_id)
            users = [
                r[0]
                for r in self._rows(
                    "SELECT name FROM integrations WHERE connection_id = ? ORDER BY name", (connection.id,)
                )
            ]
            if users:
                raise ConfigError(
                    f"connection {connection.name!r} is used by integration(s) "
                    f"{', '.join(map(repr, users))}: delete them or connect them elsewhere first"
                )
            self.db.execute("DELETE FROM connections WHERE id = ?", (connection.id,))

    def running_users(self, connection: str | int) -> list[tuple[str, str]]:
        """The integrations using ``connection`` that run by themselves: ``(name, status)`` pairs.

        Active integrations, and those stopped by the quota (they resume by themselves, Q3);
        paused, draft, failed and deleted integrations do not run. While there is one, the
        connection may not be disconnected (:meth:`mark_disconnected`).
        """
        rows = self._rows(
            "SELECT name, status, stop_reason FROM integrations WHERE connection_id = ? AND deleted_at IS NULL "
            "AND (status = ? OR (status = ? AND stop_reason = ?)) ORDER BY name",
            (
                self.get_connection(connection).id,
                IntegrationStatus.ACTIVE.value,
                IntegrationStatus.STOPPED.value,
                StopReason.QUOTA.value,
            ),
        )
        return [
            (str(name), "active" if status == IntegrationStatus.ACTIVE else "stopped by the quota")
            for name, status, _reason in rows
        ]

    def mark_disconnected(self, name_or_id: str | int) -> Connection:
        """Mark a connection disconnected (``disconnected_at``) and record the change, in one transaction.

        The caller revokes its token and removes its secrets
        (:func:`toolkit.connections.disconnect_salesforce`); from now on nothing signs in
        through it, and no integration using it can be activated, until it is reconnected
        (:meth:`mark_connected`).

        Raises:
            ConfigError: it is disconnected already, or integrations that run by themselves use it
                (named in the message with their status: pause or deactivate them first).
        """
        with self.transaction():
            current = self.get_connection(name_or_id)
            if current.disconnected_at is not None:
                raise ConfigError(
                    f"connection {current.name!r} was disconnected already "
                    f"({current.disconnected_at:%Y-%m-%d %H:%M} UTC)"
                )
            running = self.running_users(current.id)
            if running:
                named = ", ".join(f"{name!r} ({status})" for name, status in running)
                raise ConfigError(
                    f"connection {current.name!r} cannot be disconnected while "
                    f"{'an integration runs' if len(running) == 1 else 'integrations run'} through it: "
                    f"{named}; pause or deactivate {'it' if len(running) == 1 else 'them'} first"
                )
            now = self._now()
            self.db.execute(
                "UPDATE connections SET disconnected_at = ?, updated_at = ? WHERE id = ?",
                (now, now, current.id),
            )
            self.record_change(
                ChangeAction.DISCONNECTED,
                current.name,
                connection_id=current.id,
                old=_signed_in_as(current),
            )
            return self.get_connection(current.id)

    def mark_connected(self, name_or_id: str | int, **identity: Any) -> Connection:
        """Record a new sign-in of a stored connection (a reconnection), in one transaction.

        The identity fields (``login_url``, ``instance_url``, ``org_id``, ``user_id``,
        ``username``, ``client_id``, ``flow``) are replaced, ``disconnected_at`` is cleared, and
        the change (:attr:`~toolkit.store.records.ChangeAction.RECONNECTED`) is recorded.

        Raises:
            ConfigError: the new sign-in is another Salesforce account (:func:`same_account`):
                a connection keeps its account; make a new connection for another one.
            ValueError: an unknown identity field.
        """
        unknown = set(identity) - set(_UPDATABLE)
        if unknown:
            raise ValueError(f"cannot update connection field(s) {sorted(unknown)}")
        if "flow" in identity:
            one_of(identity["flow"], FLOWS, "flow")
        with self.transaction():
            current = self.get_connection(name_or_id)
            now_as = Account(
                identity.get("username", current.username),
                identity.get("org_id", current.org_id),
                identity.get("user_id", current.user_id),
                identity.get("login_url", current.login_url),
            )
            if not same_account(Account.of(current), now_as):
                raise ConfigError(
                    f"this sign-in is the Salesforce account {now_as}, but connection {current.name!r} "
                    f"is {Account.of(current)}: sign in as that user of that org, or make a new "
                    "connection for the other account"
                )
            sets = "".join(f"{key} = ?, " for key in identity)
            now = self._now()
            self.db.execute(
                f"UPDATE connections SET {sets}disconnected_at = NULL, updated_at = ? WHERE id = ?",
                (*identity.values(), now, current.id),
            )
            updated = self.get_connection(current.id)
            self.record_change(
                ChangeAction.RECONNECTED,
                current.name,
                connection_id=current.id,
                old="disconnected" if current.disconnected_at is not None else "connected",
                new=f"{_signed_in_as(updated)} via {updated.flow}",
            )
            return updated

    def api_usage(self, connection: str | int) -> ApiUsage | None:
        """The org's daily Salesforce API usage the newest run through ``connection`` recorded (B3)."""
        rows = self._rows(
            "SELECT r.sf_api_used, r.sf_api_limit, r.started_at FROM runs r "
            "JOIN integrations i ON i.id = r.integration_id "
            "WHERE i.connection_id = ? AND r.sf_api_used IS NOT NULL AND r.sf_api_limit IS NOT NULL "
            "ORDER BY r.started_at DESC, r.id DESC LIMIT 1",
            (self.get_connection(connection).id,),
        )
        if not rows:
            return None
        used, limit, started = rows[0]
        return ApiUsage(int(used), int(limit), from_ts(started))

    def count_for_account(
        self,
        *,
        username: str,
        org_id: str | None = None,
        user_id: str | None = None,
        login_url: str | None = None,
    ) -> int:
        """How many integrations use one Salesforce account (S3; see :func:`same_account`)."""
        return len(integrations_of_account(self, Account(username, org_id, user_id, login_url)))

    def account_users(self, connection: str | int, *, besides: str | int | None = None) -> list[str]:
        """The names of the integrations using the account of ``connection`` through any connection.

        Args:
            connection: a connection's name or id.
            besides: an integration (name or id) to leave out.
        """
        skip = None if besides is None else self._integration_id(besides)
        return integrations_of_account(self, Account.of(self.get_connection(connection)), besides=skip)

    def check_connection_use(self, connection: str | int, integration: str | int | None = None) -> None:
        """Raise :class:`ConnectionLimitError` if ``integration`` may not use ``connection`` (S3).

        Nothing is signed in and nothing is written: the wizard calls it before reusing a
        stored connection, so that a 6th use is refused before any sign-in.
        """
        skip = None if integration is None else self._integration_id(integration)
        check_account_use(self, self.get_connection(connection).id, skip)

    def _integration_id(self, name_or_id: str | int) -> int | None:
        column = "id" if isinstance(name_or_id, int) else "name"
        rows = self._rows(f"SELECT id FROM integrations WHERE {column} = ?", (name_or_id,))
        return int(rows[0][0]) if rows else None
