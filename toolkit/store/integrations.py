"""Integrations: one Salesforce object kept in sync with one Brevo list (SPEC S1-S9)."""

from __future__ import annotations

from typing import Any

from toolkit.exceptions import ConfigError
from toolkit.schedules import parse_schedule
from toolkit.store.base import StoreBase, dumps, loads, member, one_of
from toolkit.store.changes import ChangesMixin
from toolkit.store.connections import check_account_use
from toolkit.store.dialect import constraint_kind
from toolkit.store.records import (
    OBJECTS,
    ChangeAction,
    Integration,
    IntegrationStatus,
    JsonObject,
    Side,
    StopReason,
    from_ts,
)

__all__ = ["IntegrationsMixin"]

_COLUMNS = (
    "id, name, object, connection_id, brevo_account, opt_in, mapping, list_id, status, "
    "last_error, stop_reason, conflict_winner, sync_booleans_picklists, mass_delete_share, "
    "created_at, updated_at, default_region, mass_delete_min, last_error_rule, schedule, sync_unsubscribes, "
    "sms_optout_field, webhook_id, webhook_url, backfill_pending, list_move_from, list_move_remove, deleted_at"
)
_SETTABLE = (
    "name",
    "object",
    "connection_id",
    "brevo_account",
    "opt_in",
    "mapping",
    "list_id",
    "conflict_winner",
    "sync_booleans_picklists",
    "mass_delete_share",
    "default_region",
    "mass_delete_min",
    "schedule",
    "sync_unsubscribes",
    "sms_optout_field",
    "webhook_id",
    "webhook_url",
    "backfill_pending",
    "list_move_from",
    "list_move_remove",
)
_UNAUDITED = frozenset(
    ("webhook_id", "webhook_url", "backfill_pending", "list_move_from", "list_move_remove")
)
"""Bookkeeping of ``toolkit serve`` and of the next run, not settings a person changes."""


def _integration(row: tuple[Any, ...]) -> Integration:
    (
        id_,
        name,
        obj,
        connection_id,
        brevo_account,
        opt_in,
        mapping,
        list_id,
        status,
        last_error,
        stop_reason,
        winner,
        b4,
        share,
        created,
        updated,
        region,
        delete_min,
        error_rule,
        schedule,
        unsubscribes,
        sms_field,
        webhook_id,
        webhook_url,
        backfill,
        move_from,
        move_remove,
        deleted,
    ) = row
    return Integration(
        id_,
        name,
        obj,
        connection_id,
        brevo_account,
        bool(opt_in),
        loads(mapping),
        list_id,
        IntegrationStatus(status),
        last_error,
        stop_reason,
        Side(winner),
        bool(b4),
        share,
        from_ts(created),
        from_ts(updated),
        region,
        delete_min,
        error_rule,
        schedule,
        bool(unsubscribes),
        sms_field,
        webhook_id,
        webhook_url,
        bool(backfill),
        move_from,
        bool(move_remove),
        from_ts(deleted) if deleted else None,
    )


def _audit_text(key: str, value: Any) -> str | None:
    """A setting's value as the change log shows it (a mapping as its pairs)."""
    if value is None:
        return None
    if key == "mapping":
        pairs = (value or {}).get("pairs", []) if isinstance(value, dict) else []
        return ", ".join(f"{attribute} <- {field}" for attribute, field in pairs) or None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _status_text(status: IntegrationStatus, stop_reason: str | None) -> str:
    return f"{status} ({stop_reason})" if stop_reason else str(status)


def _column_value(key: str, value: Any) -> Any:
    """Validate one settable field and turn it into its column value."""
    if key == "object":
        return one_of(value, OBJECTS, "object")
    if key == "conflict_winner":
        return member(Side, value, "conflict_winner")
    if key == "schedule":
        return parse_schedule(value).text
    if key in (
        "opt_in",
        "sync_booleans_picklists",
        "sync_unsubscribes",
        "backfill_pending",
        "list_move_remove",
    ):
        return int(bool(value))
    if key == "mapping":
        if not isinstance(value, dict):
            raise ValueError("mapping must be a dict (Brevo attribute -> Salesforce field)")
        return dumps(value)
    if key == "mass_delete_share" and value is not None and not 0 < value <= 1:
        raise ValueError("mass_delete_share must be a share between 0 and 1 (0.05 = 5%)")
    if key == "mass_delete_min" and value is not None and (not isinstance(value, int) or value < 0):
        raise ValueError("mass_delete_min must be a whole number of records, 0 or more")
    if key == "default_region" and value is not None:
        if not (isinstance(value, str) and len(value) == 2 and value.isalpha()):
            raise ValueError("default_region must be an ISO 3166 region code such as DE")
        return value.upper()
    return value


class IntegrationsMixin(ChangesMixin, StoreBase):
    """Methods on ``integrations``."""

    def create_integration(self, name: str, object: str, **fields: Any) -> Integration:
        """Create a draft integration (S1, S8).

        Args:
            name: unique, shown on the integrations page.
            object: ``"Contact"`` or ``"Lead"`` (S9).
            **fields: any of ``connection_id``, ``brevo_account``, ``opt_in``, ``mapping``,
                ``list_id``, ``conflict_winner``, ``sync_booleans_picklists``,
                ``mass_delete_share``, ``schedule``, ``sync_unsubscribes`` (B8: on unless
                given), ``sms_optout_field``...

        Raises:
            ConfigError: the name is taken or the connection does not exist.
            ConnectionLimitError: the connection's Salesforce account is used by 5 integrations
                already (SPEC S3).
            ValueError: an unknown field or a value outside its allowed set.
        """
        if not name or not name.strip():
            raise ConfigError("an integration needs a name")
        values = self._validated({"name": name, "object": object, "sync_unsubscribes": True, **fields})
        now = self._now()
        columns = ", ".join((*values, "created_at", "updated_at"))
        marks = ", ".join("?" * (len(values) + 2))
        with self.transaction():
            if values.get("connection_id") is not None:  # S3, under the write lock
                check_account_use(self, values["connection_id"], None)
            try:
                new_id = self._insert(
                    f"INSERT INTO integrations ({columns}) VALUES ({marks}) RETURNING id",
                    (*values.values(), now, now),
                )
            except self.integrity_error as exc:
                raise self._integrity(exc, name) from None
            created = self.get_integration(new_id)
            self.record_change(
                ChangeAction.CREATED, created.name, integration_id=created.id, new=f"{created.object}s"
            )
            return created

    def get_integration(self, name_or_id: str | int) -> Integration:
        """Return an integration by name or id.

        Raises:
            ConfigError: no such integration (the message lists the known names).
        """
        column = "id" if isinstance(name_or_id, int) else "name"
        rows = self._rows(f"SELECT {_COLUMNS} FROM integrations WHERE {column} = ?", (name_or_id,))
        if not rows:
            known = ", ".join(repr(i.name) for i in self.list_integrations()) or "none"
            raise ConfigError(f"no integration {name_or_id!r} (known: {known})")
        return _integration(rows[0])

    def list_integrations(
        self, *, status: IntegrationStatus | None = None, include_deleted: bool = False
    ) -> list[Integration]:
        """Return every integration (or those with one status), by name (S8).

        Args:
            include_deleted: also those deleted with their history kept (the month's report).
        """
        conditions, params = [], []  # type: list[str], list[Any]
        if status:
            conditions.append("status = ?")
            params.append(member(IntegrationStatus, status, "status"))
        if not include_deleted:
            conditions.append("deleted_at IS NULL")
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._rows(f"SELECT {_COLUMNS} FROM integrations {where} ORDER BY name", params)
        return [_integration(r) for r in rows]

    def update_integration(self, name_or_id: str | int, **fields: Any) -> Integration:
        """Change settable fields (mapping, list, opt-in, connection, ...); returns the new state.

        Raises:
            ValueError: an unknown field or a value outside its allowed set.
            ConfigError: no such integration, a taken name, or an unknown connection.
            ConnectionLimitError: the connection's Salesforce account is used by 5 other
                integrations already (SPEC S3).
        """
        current = self.get_integration(name_or_id)
        values = self._validated(fields)
        if not values:
            return current
        sets = ", ".join(f"{key} = ?" for key in values)
        with self.transaction():  # BEGIN IMMEDIATE: the S3 count and the change cannot interleave
            current = self.get_integration(current.id)
            if values.get("connection_id") is not None:
                check_account_use(self, values["connection_id"], current.id)
            try:
                self._write(
                    f"UPDATE integrations SET {sets}, updated_at = ? WHERE id = ?",
                    (*values.values(), self._now(), current.id),
                )
            except self.integrity_error as exc:
                raise self._integrity(exc, values.get("name", current.name)) from None
            after = self.get_integration(current.id)
            for key in values:
                old, new = getattr(current, key), getattr(after, key)
                if key not in _UNAUDITED and old != new:
                    if key == "connection_id":  # by name: ids mean nothing to a reader
                        old, new = self._connection_name(old), self._connection_name(new)
                    self.record_change(
                        ChangeAction.EDITED,
                        after.name,
                        integration_id=after.id,
                        field=key,
                        old=_audit_text(key, old),
                        new=_audit_text(key, new),
                    )
        return after

    def set_mapping(self, name_or_id: str | int, mapping: JsonObject) -> Integration:
        """Store the field mapping (validated beforehand by :mod:`toolkit.mapping`)."""
        return self.update_integration(name_or_id, mapping=mapping)

    def set_list(self, name_or_id: str | int, list_id: int) -> Integration:
        """Store the Brevo list the integration syncs with (S7)."""
        return self.update_integration(name_or_id, list_id=list_id)

    def set_opt_in(self, name_or_id: str | int, opt_in: bool = True) -> Integration:
        """Record the opt-in agreement (S4)."""
        return self.update_integration(name_or_id, opt_in=opt_in)

    def set_status(
        self,
        name_or_id: str | int,
        status: IntegrationStatus,
        *,
        last_error: str | None = None,
        last_error_rule: str | None = None,
        stop_reason: str | None = None,
        actor: str | None = None,
    ) -> Integration:
        """Set the status; ``last_error``, ``last_error_rule`` and ``stop_reason`` are replaced
        (cleared when omitted).

        Args:
            last_error: what a person should read on the integration (why it failed, a notice).
            last_error_rule: the SPEC rule whose notice ``last_error`` is (``"Y8"``), ``None``
                for a failure's message.
            stop_reason: why it is ``STOPPED`` (a :class:`~toolkit.store.records.StopReason`).
            actor: who is recorded as making a change of status (default: the store's ``actor``;
                :data:`~toolkit.store.changes.SYSTEM_ACTOR` for the toolkit's own).

        Raises:
            ValueError: ``status`` is not one of draft, active, stopped, error.
            ConfigError: activating an integration without opt-in, connection, list or mapping.
        """
        status = member(IntegrationStatus, status, "status")
        with self.transaction():
            current = self.get_integration(name_or_id)
            if status == IntegrationStatus.ACTIVE:
                missing = [
                    label
                    for label, ok in (
                        ("the opt-in agreement (S4)", current.opt_in),
                        ("a Salesforce connection", current.connection_id is not None),
                        (
                            "its Salesforce connection signed in again (it was disconnected: reconnect it)",
                            current.connection_id is None or not self._disconnected(current.connection_id),
                        ),
                        ("a field mapping (S5)", bool(current.mapping)),
                        ("a Brevo list (S7)", current.list_id is not None),
                    )
                    if not ok
                ]
                if missing:
                    raise ConfigError(
                        f"integration {current.name!r} cannot be activated without {', '.join(missing)}"
                    )
            if current.deleted_at is not None:
                raise ConfigError(f"integration {current.name!r} was deleted")
            self.db.execute(
                "UPDATE integrations SET status = ?, last_error = ?, last_error_rule = ?, stop_reason = ?, "
                "updated_at = ? WHERE id = ?",
                (status.value, last_error, last_error_rule, stop_reason, self._now(), current.id),
            )
            if (current.status, current.stop_reason) != (status, stop_reason):
                self.record_change(
                    ChangeAction.STATUS,
                    current.name,
                    integration_id=current.id,
                    field="status",
                    old=_status_text(current.status, current.stop_reason),
                    new=_status_text(status, stop_reason),
                    actor=actor,
                )
            return self.get_integration(current.id)

    def delete_integration(self, name_or_id: str | int, *, keep_history: bool = False) -> Integration:
        """Delete an integration.

        Args:
            keep_history: keep its links, runs, rejections and changes for the month's report:
                it is marked deleted (``deleted_at``), renamed ``"<name> (deleted <when>)"`` so
                that its name can be used again, no longer listed, run or counted for S3.
                Otherwise it is removed with its links, cursors, runs, rejections and conflicts
                (the tasks it used stay in the month's quota, and the change log keeps the deletion).

        Returns:
            The integration as it was before (its ``name`` the one it had).
        """
        with self.transaction():
            current = self.get_integration(name_or_id)
            if keep_history:
                stamp = self._clock().strftime("%Y-%m-%d %H:%M:%S")
                self.db.execute(
                    "UPDATE integrations SET name = ?, status = ?, stop_reason = NULL, deleted_at = ?, "
                    "updated_at = ? WHERE id = ?",
                    (
                        f"{current.name} (deleted {stamp})",
                        IntegrationStatus.DRAFT.value,
                        self._now(),
                        self._now(),
                        current.id,
                    ),
                )
            else:
                self.db.execute("DELETE FROM integrations WHERE id = ?", (current.id,))
            self.record_change(
                ChangeAction.DELETED,
                current.name,
                integration_id=current.id if keep_history else None,
                new="history kept" if keep_history else "history removed",
            )
            return current

    def pause(self, name_or_id: str | int) -> Integration:
        """Pause an active integration (``STOPPED``, :attr:`StopReason.PAUSED`): it does not run
        until :meth:`resume`; its cursors stay, so the next run catches up.

        Raises:
            ConfigError: it is not active (a draft, an error or an integration already stopped).
        """
        with self.transaction():
            current = self.get_integration(name_or_id)
            if current.status != IntegrationStatus.ACTIVE:
                raise ConfigError(
                    f"integration {current.name!r} is {current.status}, not active: nothing to pause"
                )
            return self.set_status(
                current.id,
                IntegrationStatus.STOPPED,
                stop_reason=StopReason.PAUSED,
                last_error=current.last_error,
                last_error_rule=current.last_error_rule,
            )

    def resume(self, name_or_id: str | int) -> Integration:
        """Make a paused integration active again (its next run catches up from the cursors).

        Raises:
            ConfigError: it is not paused.
        """
        with self.transaction():
            current = self.get_integration(name_or_id)
            if not current.paused:
                raise ConfigError(f"integration {current.name!r} is not paused")
            return self.set_status(
                current.id,
                IntegrationStatus.ACTIVE,
                last_error=current.last_error,
                last_error_rule=current.last_error_rule,
            )

    def settle_list_move(self, integration_id: int, *, moved_from: int, moved_to: int) -> None:
        """A run carried out the list move from ``moved_from`` to ``moved_to``: forget it, unless
        an edit made since then asks for another move (then the next run does that one)."""
        self._write(
            "UPDATE integrations SET list_move_from = NULL WHERE id = ? AND list_move_from = ? AND list_id = ?",
            (integration_id, moved_from, moved_to),
        )

    def settle_backfill(self, integration_id: int, *, mapping: JsonObject) -> None:
        """A full run wrote every linked contact with ``mapping``: the backfill is done, unless an
        edit made since then changed the mapping again (then the next run is a full one too)."""
        self._write(
            "UPDATE integrations SET backfill_pending = 0 WHERE id = ? AND mapping = ?",
            (integration_id, dumps(mapping)),
        )

    def _connection_name(self, connection_id: int | None) -> str | None:
        rows = self._rows("SELECT name FROM connections WHERE id = ?", (connection_id,))
        return str(rows[0][0]) if rows else None

    def _disconnected(self, connection_id: int) -> bool:
        rows = self._rows("SELECT disconnected_at FROM connections WHERE id = ?", (connection_id,))
        return bool(rows and rows[0][0])

    @staticmethod
    def _validated(fields: dict[str, Any]) -> dict[str, Any]:
        unknown = set(fields) - set(_SETTABLE)
        if unknown:
            raise ValueError(
                f"unknown integration field(s) {sorted(unknown)}; settable: {', '.join(_SETTABLE)}"
            )
        return {key: _column_value(key, value) for key, value in fields.items()}

    @staticmethod
    def _integrity(exc: Exception, name: str) -> ConfigError:
        kind = constraint_kind(exc)
        if kind == "unique":
            return ConfigError(f"an integration named {name!r} already exists")
        if kind == "foreign_key":
            return ConfigError("the integration names a Salesforce connection that does not exist")
        return ConfigError(f"integration {name!r} rejected by the database: {exc}")
