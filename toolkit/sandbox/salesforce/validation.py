"""Per-record validation with Salesforce's status codes and message texts.

Runs after :func:`values.deserialize` (which handles request-level errors); every check here
yields a :class:`RecordError` for one record while the other records of the call go on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from toolkit.sandbox.salesforce import ids
from toolkit.sandbox.salesforce.errors import RecordError
from toolkit.sandbox.salesforce.schema import NUMBER_TYPES, TEXT_TYPES, FieldDef, ObjectDef

_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)

# (sobject name, field) -> error or None, for reference fields: does the target exist?
ReferenceCheck = Callable[[FieldDef, str], RecordError | None]


def read_only_error(names: list[str]) -> RecordError:
    """INVALID_FIELD_FOR_INSERT_UPDATE for fields the API user may not write."""
    return RecordError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {', '.join(names)}. Please check the security settings of "
        "this field and verify that it is read/write for your profile or permission set.",
        names,
    )


# Writes to an object the API user may read but not write (User, Organization here), as a real
# org refuses them to a user without the object permission:
# - create/update: 400 CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY "entity type cannot be inserted: <label>" /
#   "entity type cannot be updated: <label>" (the code means "user does not have object level write
#   permissions on the given object": Adobe's Salesforce diagnostics cheat sheet,
#   https://experienceleague.adobe.com/en/docs/marketo/using/product-docs/marketo-sales-connect/crm/salesforce-integration/salesforce-diagnostics ;
#   the "entity type cannot be inserted: <object label>" form is also what forcedotcom/salesforcedx-vscode's
#   Apex Debugger tests expect for an object the user may not create; the PATCH wording was observed in
#   public QA evidence of a real org [3rd, no address]);
# - delete: INSUFFICIENT_ACCESS_OR_READONLY "insufficient access rights on object id" (observed as the answer
#   to a DELETE without delete access [3rd, no address]); REST answers it 403, "The request has been refused.
#   Verify that the logged-in user has appropriate permissions"
#   (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
READ_ONLY_ENTITY = "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
INSUFFICIENT_ACCESS = "INSUFFICIENT_ACCESS_OR_READONLY"


def read_only_entity_error(obj: ObjectDef, mode: str) -> RecordError:
    """The refusal of a create (``mode="create"``) or update of a read-only object's record."""
    verb = "inserted" if mode == "create" else "updated"
    return RecordError(READ_ONLY_ENTITY, f"entity type cannot be {verb}: {obj.label}")


def delete_refused_error() -> RecordError:
    """The refusal of a delete of a read-only object's record."""
    return RecordError(INSUFFICIENT_ACCESS, "insufficient access rights on object id")


# A converted Lead is read-only: "CANNOT_UPDATE_CONVERTED_LEAD ... you are trying to modify or update a lead
# that has been converted, or trying to reference the lead ID after it has been converted; once a lead is
# converted, only the convertedAccountId or convertedContactId fields can be referenced" (Salesforce Help
# 000384333, https://help.salesforce.com/s/articleView?id=000384333&type=1). The message text, with no
# fields, is what clients log from the REST API: simple-salesforce issue #341
# (https://github.com/simple-salesforce/simple-salesforce/issues/341, errorCode CANNOT_UPDATE_CONVERTED_LEAD
# from ``sf.Lead.update``), gravityplus/Gravity-Forms-Salesforce#342 ("cannot reference converted lead").
CANNOT_UPDATE_CONVERTED_LEAD = "CANNOT_UPDATE_CONVERTED_LEAD"


def converted_lead_error() -> RecordError:
    """The refusal of an update (or a second conversion) of a converted Lead."""
    return RecordError(CANNOT_UPDATE_CONVERTED_LEAD, "cannot reference converted lead")


def id_on_insert_error() -> RecordError:
    """What Salesforce answers when a record to create carries an Id."""
    return RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"])


def malformed_id_error(obj: ObjectDef, value: object) -> RecordError:
    """MALFORMED_ID for an Id that is not one of ``obj``'s."""
    return RecordError("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {value}", ["Id"])


def check_writable(obj: ObjectDef, values: dict[str, Any], *, creating: bool) -> RecordError | None:
    """INVALID_FIELD_FOR_INSERT_UPDATE if ``values`` sets a read-only or formula field."""
    names = []
    for name in values:
        fdef = obj.field(name)
        if fdef is not None and not (fdef.createable if creating else fdef.updateable):
            names.append(name)
    return read_only_error(names) if names else None


def _round(value: float, scale: int) -> float:
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP))


def check_value(field: FieldDef, value: Any, references: ReferenceCheck) -> tuple[Any, RecordError | None]:
    """Validate one stored value; returns the value as saved (Ids to 18 chars, numbers rounded)."""
    if value is None:
        return None, None
    kind = field.type
    if kind in TEXT_TYPES and field.length and len(value) > field.length:
        return value, RecordError(
            "STRING_TOO_LONG",
            f"{field.label}: data value too large: {value} (max length={field.length})",
            [field.name],
        )
    if kind == "email" and not _EMAIL_RE.match(value):
        return value, RecordError(
            "INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: {value}", [field.name]
        )
    if kind == "picklist" and field.restricted_picklist and value not in field.picklist:
        return value, RecordError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{field.label}: bad value for restricted picklist field: {value}",
            [field.name],
        )
    if kind in NUMBER_TYPES:
        if field.scale or field.precision:
            value = _round(value, field.scale)
            if field.precision and abs(value) >= 10 ** (field.precision - field.scale):
                return value, RecordError(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{field.label}: value outside of valid range on numeric field: {value}",
                    [field.name],
                )
        return value, None
    if kind == "reference":
        if not ids.is_id(value):
            return value, RecordError(
                "MALFORMED_ID", f"{field.label}: id value of incorrect type: {value}", [field.name]
            )
        value = ids.normalize(value)
        return value, references(field, value)
    return value, None


def check_values(
    obj: ObjectDef, values: dict[str, Any], references: ReferenceCheck
) -> tuple[dict[str, Any], RecordError | None]:
    """Validate every value of a record; stops at the first error, as Salesforce reports one."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        saved, error = check_value(obj.field(name), value, references)  # type: ignore[arg-type]
        if error is not None:
            return out, error
        out[name] = saved
    return out, None


def check_required(
    obj: ObjectDef, record: dict[str, Any], *, creating: bool, changed: dict[str, Any] | None = None
) -> RecordError | None:
    """REQUIRED_FIELD_MISSING if a required field is null after the write.

    On create every required field counts; on update only those the update sets to null.
    """
    missing = []
    for f in obj.fields:
        if f.nillable or not (f.createable if creating else f.updateable) or f.type == "boolean":
            continue
        if creating and f.defaulted_on_create:
            continue
        if not creating and (changed is None or f.name not in changed):
            continue
        if record.get(f.name) is None:
            missing.append(f.name)
    if not missing:
        return None
    return RecordError(
        "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
    )
