"""Changing a live integration (issue 15): what an edit changes, and what the next run then does.

:func:`plan_edit` is pure: from the integration as stored and the settings a person chose, the
fields to store and what follows from them:

- a **newly synced attribute** (a new pair, B4 or B8 switched on) is backfilled: the next run is
  a full one (``backfill_pending``), which compares every record with what was last synced and so
  writes the new attribute for every linked contact, as tasks within the quota;
- an attribute **no longer synced** stops syncing; the values already written stay on both sides;
- a **new Brevo list** is recorded as a move (``list_move_from``): the next run first puts the
  linked contacts on the new list and, if the person chose so, takes them off the old one
  (:mod:`toolkit.sync.lists`). They always join the new list: the integration keeps them in sync
  there, and a linked contact off the integration's list counts as one that left it (B9).

:class:`EditPreview` puts the plan beside a dry run (B1) of the next run with the new settings:
the preview the wizard shows before anything is saved (:meth:`toolkit.api.Toolkit.preview_edit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.mapping.types import Mapping

from ..store import Integration, JsonObject
from .model import RunResult

__all__ = ["EditPlan", "EditPreview", "IntegrationEdit", "plan_edit", "synced_attributes"]


@dataclass(frozen=True, slots=True)
class IntegrationEdit:
    """The settings a person changes on a live integration; ``None`` keeps a setting as it is.

    Attributes:
        mapping: the new ``(Brevo attribute, Salesforce field)`` pairs (validated when previewed).
        booleans_and_picklists: B4 on or off.
        sync_unsubscribes: B8 on or off.
        list_id: another Brevo list (S7).
        move_contacts: with a new list: take the linked contacts off the old list (``True``), or
            leave them on it too (``False``); they join the new list either way.
        connection: another stored Salesforce connection, by name (of the same org, S2/S3).
        schedule: when ``toolkit serve`` runs it (:func:`toolkit.schedules.parse_schedule`).
        default_region: the phone region of national numbers (``"DE"``).
        sms_optout_field: the checkbox ``smsBlacklisted`` syncs with (B8); ``""`` for none.
    """

    mapping: Sequence[tuple[str, str]] | None = None
    booleans_and_picklists: bool | None = None
    sync_unsubscribes: bool | None = None
    sms_optout_field: str | None = None
    default_region: str | None = None
    list_id: int | None = None
    move_contacts: bool = True
    connection: str | None = None
    schedule: str | None = None


@dataclass(frozen=True, slots=True)
class EditPlan:
    """What saving an edit stores and what the next run does because of it.

    Attributes:
        fields: the integration's fields to store (``update_integration`` keywords); empty
            when the edit changes nothing.
        added: Brevo attributes newly synced: the next run (a full one) backfills them.
        removed: Brevo attributes no longer synced (their values stay where they are).
        list_from, list_to: the list the linked contacts are on and the one they go to, when the
            list changes (``None`` otherwise); move_contacts: they leave ``list_from``.
    """

    fields: dict[str, Any]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    list_from: int | None = None
    list_to: int | None = None
    move_contacts: bool = True

    @property
    def backfill(self) -> bool:
        """Whether the next run is a full one that writes newly synced attributes."""
        return bool(self.fields.get("backfill_pending"))

    @property
    def moves_list(self) -> bool:
        """Whether the next run moves the linked contacts to another list."""
        return self.list_from is not None and self.list_to is not None and self.list_from != self.list_to


def synced_attributes(
    mapping: JsonObject, *, sync_unsubscribes: bool = False, sms_optout_field: str | None = None
) -> set[str]:
    """The Brevo attributes a run syncs with these settings (Y11/B4 and B8 applied)."""
    if not mapping:
        return set()
    parsed = Mapping.from_json(mapping)
    if sync_unsubscribes:
        parsed = parsed.with_unsubscribes(sms_optout_field)
    return {f.brevo_attribute for f in parsed.synced()}


def plan_edit(
    current: Integration,
    *,
    mapping: JsonObject | None = None,
    booleans_and_picklists: bool | None = None,
    sync_unsubscribes: bool | None = None,
    list_id: int | None = None,
    move_contacts: bool = True,
    connection_id: int | None = None,
    schedule: str | None = None,
    sms_optout_field: str | None = None,
    default_region: str | None = None,
) -> EditPlan:
    """The fields to store for an edit of ``current``, and the backfill and list move they need.

    Args:
        current: the integration as stored (a list move it has not carried out yet counts:
            its contacts are still on ``list_move_from``).
        mapping: the new mapping as stored JSON (already validated), or ``None``.
        booleans_and_picklists, sync_unsubscribes, list_id, connection_id, schedule,
            default_region: the new values, ``None`` to keep them.
        sms_optout_field: the new checkbox, ``""`` for none, ``None`` to keep it.
        move_contacts: see :attr:`IntegrationEdit.move_contacts`.
    """
    fields: dict[str, Any] = {}
    if mapping is not None and mapping != current.mapping:
        fields["mapping"] = mapping
    if booleans_and_picklists is not None and booleans_and_picklists != current.sync_booleans_picklists:
        fields["sync_booleans_picklists"] = booleans_and_picklists
    new_mapping = fields.get("mapping", current.mapping)
    if (
        booleans_and_picklists is not None
        and new_mapping
        and new_mapping.get("booleans_and_picklists") != (booleans_and_picklists)
    ):  # the runs read B4 from the mapping (validated with it by Toolkit.plan_edit)
        fields["mapping"] = {**new_mapping, "booleans_and_picklists": booleans_and_picklists}
    if sync_unsubscribes is not None and sync_unsubscribes != current.sync_unsubscribes:
        fields["sync_unsubscribes"] = sync_unsubscribes
    if connection_id is not None and connection_id != current.connection_id:
        fields["connection_id"] = connection_id
    if schedule is not None and schedule != current.schedule:
        fields["schedule"] = schedule
    if default_region is not None and default_region != current.default_region:
        fields["default_region"] = default_region
    if sms_optout_field is not None and (sms_optout_field or None) != current.sms_optout_field:
        fields["sms_optout_field"] = sms_optout_field or None

    before = synced_attributes(
        current.mapping,
        sync_unsubscribes=current.sync_unsubscribes,
        sms_optout_field=current.sms_optout_field,
    )
    after = synced_attributes(
        fields.get("mapping", current.mapping),
        sync_unsubscribes=fields.get("sync_unsubscribes", current.sync_unsubscribes),
        sms_optout_field=fields.get("sms_optout_field", current.sms_optout_field),
    )
    added, removed = tuple(sorted(after - before)), tuple(sorted(before - after))
    if added and not current.backfill_pending:
        fields["backfill_pending"] = True

    list_from = list_to = None
    if list_id is not None and list_id != current.list_id:
        fields["list_id"] = list_id
        origin = current.list_move_from if current.list_move_from is not None else current.list_id
        if origin is None or origin == list_id:  # no list yet, or back to where the contacts are
            if current.list_move_from is not None:
                fields["list_move_from"] = None
        else:
            fields["list_move_from"] = origin
            fields["list_move_remove"] = move_contacts
            list_from, list_to = origin, list_id
    elif list_id is not None and current.list_move_from is not None:
        if move_contacts != current.list_move_remove:  # the pending move, with the other choice
            fields["list_move_remove"] = move_contacts
        list_from, list_to = current.list_move_from, current.list_id
    return EditPlan(fields, added, removed, list_from, list_to, move_contacts)


@dataclass(frozen=True, slots=True)
class EditPreview:
    """What an edit will do, shown before it is saved.

    Attributes:
        integration: its name. plan: what is stored and what the next run does because of it.
        changes: ``(setting, before, after)`` in words, one per changed setting.
        dry_run: the next run planned with the new settings (B1; a full run when there is a
            backfill), ``None`` when the integration cannot run yet (no list or mapping).
        linked: the linked contacts a list change moves.
        quota_remaining: tasks left this month; the dry run's ``tasks`` must fit in it, or the
            rest is written after the quota resets (Q3).
    """

    integration: str
    plan: EditPlan
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    dry_run: RunResult | None = None
    linked: int = 0
    quota_remaining: int | None = None

    @property
    def tasks(self) -> int:
        """Tasks the next run would use (the dry run's count)."""
        return self.dry_run.tasks if self.dry_run else 0

    @property
    def fits_quota(self) -> bool:
        """Whether the next run's tasks fit in what is left of the month's quota."""
        return self.quota_remaining is None or self.tasks <= self.quota_remaining

    def sentences(self) -> list[str]:
        """The preview in plain words, one sentence per consequence (the wizard shows them)."""
        plan, out = self.plan, []
        if not plan.fields:
            return ["Nothing changes."]
        if plan.added:
            updates = self.dry_run.counts.get("to_brevo.update", 0) if self.dry_run else 0
            out.append(
                f"Newly synced: {', '.join(plan.added)}. The next run compares every record and fills "
                f"them in for the linked contacts: {updates:,} contacts would be updated in Brevo."
            )
        if plan.removed:
            out.append(
                f"No longer synced: {', '.join(plan.removed)}. The values already written stay in Brevo "
                "and Salesforce; later changes are not passed on."
            )
        if plan.moves_list:
            where = "taken off" if plan.move_contacts else "left on"
            out.append(
                f"The {self.linked:,} linked contacts are put on list #{plan.list_to} by the next run and "
                f"{where} list #{plan.list_from}."
            )
        if self.dry_run is not None:
            out.append(f"The next run would use {self.tasks:,} tasks.")
            if not self.fits_quota:
                out.append(
                    f"Only {self.quota_remaining:,} tasks are left this month: the rest is written after the "
                    "quota resets or is raised (Q3)."
                )
        return out
