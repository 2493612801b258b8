"""One write call against the org (a REST call, a collection or a ``create_many``).

Every record is checked first; then, unless ``allOrNone`` fails the call, the valid ones are
written to the org's :class:`~.org.store.RecordStore` with ONE shared timestamp, as a real org
stamps a DML batch. Runs under the org's lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from toolkit.sandbox.salesforce import ids
from toolkit.sandbox.salesforce.errors import ROLLED_BACK, RecordError, save_result
from toolkit.sandbox.salesforce.formulas import apply_stored, display_name
from toolkit.sandbox.salesforce.schema import FieldDef, ObjectDef
from toolkit.sandbox.salesforce.validation import (
    check_required,
    check_values,
    check_writable,
    converted_lead_error,
    delete_refused_error,
    id_on_insert_error,
    malformed_id_error,
    read_only_entity_error,
)
from toolkit.sandbox.salesforce.values import deserialize

if TYPE_CHECKING:
    from toolkit.sandbox.salesforce.org import SalesforceOrg

ENTITY_IS_DELETED = RecordError("ENTITY_IS_DELETED", "entity is deleted")
INVALID_CROSS_REFERENCE = RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")

# "If you import data into Salesforce and need to set the value for an audit field, such as CreatedDate,
# contact Salesforce [...] you can set audit fields on [...] Case, Contact [...] Lead [...]. The only audit
# field you can't set a value for is systemModstamp" (System Fields, Salesforce SOAP API Developer Guide,
# https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/system_fields.htm): the "Set Audit Fields
# upon Record Creation" permission. The sandbox's API user does not have it; only the Python API (seeding
# data shaped like a real org's, with old records) passes ``set_audit_fields=True``.
AUDIT_FIELDS_ON_CREATE = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById")


@dataclass
class Prepared:
    """A record checked and ready to write (or its error)."""

    obj: ObjectDef
    record_id: str | None
    record: dict[str, Any] | None = None
    error: RecordError | None = None
    creating: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _pop_id(body: dict[str, Any]) -> tuple[dict[str, Any], Any, bool]:
    """Split the Id (``id`` or ``Id``, any case) off a record body."""
    rest, value, present = {}, None, False
    for key, item in body.items():
        if key.lower() == "id":
            value, present = item, True
        else:
            rest[key] = item
    return rest, value, present


class WriteBatch:
    """Checks and writes the records of one call, sharing the timestamp ``stamp``."""

    def __init__(self, org: SalesforceOrg, stamp: str, *, set_audit_fields: bool = False) -> None:
        self.org = org
        self.stamp = stamp
        self.set_audit_fields = set_audit_fields
        self.staged: dict[str, dict[str, Any]] = {}

    def _current(self, record_id: str) -> tuple[ObjectDef, dict[str, Any]] | None:
        found = self.org.lookup(record_id)
        if found is None:
            return None
        return found[0], self.staged.get(record_id, found[1])

    def _reference(self, fdef: FieldDef, value: str) -> RecordError | None:
        label_error = RecordError(
            "FIELD_INTEGRITY_EXCEPTION", f"{fdef.label}: id value of incorrect type: {value}", [fdef.name]
        )
        if fdef.reference_to == ("User",):
            if not value.startswith("005"):
                return label_error
            return (
                None
                if value in self.org.users
                else RecordError(
                    "INVALID_CROSS_REFERENCE_KEY", f"{fdef.label}: invalid cross reference id", [fdef.name]
                )
            )
        target = self.org.schema.get(fdef.reference_to[0])
        if target is None or not value.startswith(target.key_prefix):
            return label_error
        current = self._current(value)
        if current is None:
            return RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [fdef.name])
        if current[1]["IsDeleted"]:
            return RecordError("ENTITY_IS_DELETED", "entity is deleted", [fdef.name])
        return None

    # -- create / update -------------------------------------------------------------------------

    def prepare(self, mode: str, obj: ObjectDef, body: dict[str, Any], raw: str | None) -> Prepared:
        """Deserialize (request-level errors raise ApiError) and check one record."""
        body, raw_id, has_id = _pop_id(body)
        if obj.read_only:  # refused before any field is looked at, as for a missing object permission
            return self._refuse(mode, obj, raw_id)
        values = deserialize(obj, body, raw)
        if mode == "create":
            return self._prepare_create(obj, values, has_id and raw_id is not None)
        if mode != "update":
            raise ValueError(f"unknown write mode {mode!r}")
        return self._prepare_update(obj, values, raw_id)

    @staticmethod
    def _refuse(mode: str, obj: ObjectDef, raw_id: Any) -> Prepared:
        if mode not in ("create", "update"):
            raise ValueError(f"unknown write mode {mode!r}")
        record_id = ids.normalize(raw_id) if mode == "update" and ids.is_id(raw_id) else None
        return Prepared(obj, record_id, error=read_only_entity_error(obj, mode), creating=mode == "create")

    def _prepare_create(self, obj: ObjectDef, values: dict[str, Any], has_id: bool) -> Prepared:
        audit: dict[str, Any] = {}
        if self.set_audit_fields:
            audit = {
                name: values.pop(name) for name in AUDIT_FIELDS_ON_CREATE if values.get(name) is not None
            }
            audit, error = check_values(obj, audit, self._reference)
            if error is not None:
                return Prepared(obj, None, error=error, creating=True)
        error = id_on_insert_error() if has_id else check_writable(obj, values, creating=True)
        if error is not None:
            return Prepared(obj, None, error=error, creating=True)
        values, error = check_values(obj, values, self._reference)
        if error is not None:
            return Prepared(obj, None, error=error, creating=True)
        record: dict[str, Any] = {}
        for f in obj.fields:
            value = values.get(f.name)
            if value is None and f.defaulted_on_create:
                value = f.default_picklist if f.picklist else f.default_value
            record[f.name] = value
        record["IsDeleted"] = False
        if obj.field("OwnerId") is not None and record.get("OwnerId") is None:
            record["OwnerId"] = self.org.user_id
        error = check_required(obj, record, creating=True)
        if error is not None:
            return Prepared(obj, None, error=error, creating=True)
        for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            record[name] = self.stamp
        record["CreatedById"] = record["LastModifiedById"] = self.org.user_id
        record.update(audit)
        apply_stored(obj.name, record)
        return Prepared(obj, None, record=record, creating=True)

    def _prepare_update(self, obj: ObjectDef, values: dict[str, Any], raw_id: Any) -> Prepared:
        if raw_id is None or raw_id == "":
            return Prepared(
                obj, None, error=RecordError("MISSING_ARGUMENT", "Id not specified in an update call")
            )
        try:
            record_id = ids.normalize(raw_id, obj.key_prefix)
        except ids.MalformedIdError:
            return Prepared(obj, None, error=malformed_id_error(obj, raw_id))
        current = self._current(record_id)
        if current is None:
            return Prepared(obj, record_id, error=INVALID_CROSS_REFERENCE)
        existing = current[1]
        if existing["IsDeleted"]:
            return Prepared(obj, record_id, error=ENTITY_IS_DELETED)
        if existing.get(
            "IsConverted"
        ):  # a converted Lead is read-only (validation.CANNOT_UPDATE_CONVERTED_LEAD)
            return Prepared(obj, record_id, error=converted_lead_error())
        error = check_writable(obj, values, creating=False)
        if error is None:
            values, error = check_values(obj, values, self._reference)
        if error is None:
            record = {**existing, **values}
            error = check_required(obj, record, creating=False, changed=values)
        if error is not None:
            return Prepared(obj, record_id, error=error)
        record["LastModifiedDate"] = record["SystemModstamp"] = self.stamp
        record["LastModifiedById"] = self.org.user_id
        apply_stored(obj.name, record)
        self.staged[record_id] = record
        return Prepared(obj, record_id, record=record)

    def commit(self, prepared: list[Prepared], all_or_none: bool) -> list[dict[str, Any]]:
        """Write the valid records (or none, under allOrNone) and return SaveResults in order."""
        if all_or_none and any(p.error for p in prepared):
            return self._rolled_back(prepared)
        results = []
        for p in prepared:
            if p.error is not None:
                results.append(save_result(p.record_id, [p.error]))
                continue
            assert p.record is not None
            if p.creating:
                p.record["Id"] = p.record_id = self.org.store.take_ids(p.obj.key_prefix, 1)[0]
                if p.obj.name == "Case":
                    p.record["CaseNumber"] = self.org.store.take_case_number()
            self.org.store.put(p.obj.name, p.record)
            results.append(save_result(p.record_id))
        return results

    @staticmethod
    def _rolled_back(prepared: list[Prepared]) -> list[dict[str, Any]]:
        return [save_result(None if p.creating else p.record_id, [p.error or ROLLED_BACK]) for p in prepared]

    # -- delete ----------------------------------------------------------------------------------

    def delete(self, raw_ids: list[Any], all_or_none: bool) -> list[dict[str, Any]]:
        """Move records to the Recycle Bin; DeleteResults in order."""
        prepared = [self._prepare_delete(raw) for raw in raw_ids]
        if all_or_none and any(p.error for p in prepared):
            return self._rolled_back(prepared)
        results = []
        for p in prepared:
            if p.error is None:
                assert p.record is not None
                self.org.store.put(p.obj.name, p.record, deleted_date=self.stamp)
            results.append(save_result(p.record_id, [p.error] if p.error else None))
        return results

    def _prepare_delete(self, raw: Any) -> Prepared:
        placeholder = self.org.schema.objects["Contact"]
        try:
            record_id = ids.normalize(raw)
        except ids.MalformedIdError:
            return Prepared(placeholder, None, error=RecordError("MALFORMED_ID", f"malformed id {raw}"))
        current = self._current(record_id)
        if current is None:
            return Prepared(placeholder, record_id, error=INVALID_CROSS_REFERENCE)
        obj, existing = current
        if obj.read_only:
            return Prepared(obj, record_id, error=delete_refused_error())
        if existing["IsDeleted"]:
            return Prepared(obj, record_id, error=ENTITY_IS_DELETED)
        if obj.name == "Contact":
            cases = [
                c
                for c in self.org.store.open_cases(record_id)
                if not self.staged.get(c["Id"], c)["IsDeleted"]
            ]
            if cases:
                numbers = ", ".join(c["CaseNumber"] for c in cases)
                return Prepared(
                    obj,
                    record_id,
                    error=RecordError(
                        "DELETE_FAILED",
                        f"Your attempt to delete {display_name(existing)} could not be completed because it is "
                        f"associated with the following cases.: {numbers}\n",
                    ),
                )
        record = {
            **existing,
            "IsDeleted": True,
            "LastModifiedDate": self.stamp,
            "SystemModstamp": self.stamp,
            "LastModifiedById": self.org.user_id,
        }
        self.staged[record_id] = record
        return Prepared(obj, record_id, record=record)
