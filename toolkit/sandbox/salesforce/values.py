"""Field values as Salesforce stores and prints them, and the JSON deserializer for writes.

Stored forms: datetimes ``2026-11-27T09:37:04.000+0000`` (UTC), dates ``YYYY-MM-DD``, booleans,
floats for numbers, ``"A;B"`` for multi-select picklists, None for null (an empty string is
stored as null, as Salesforce does).

A value of the wrong JSON type or format fails the whole request with JSON_PARSER_ERROR, the
way Salesforce's deserializer does before any record is looked at.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from toolkit.sandbox.salesforce.errors import ApiError
from toolkit.sandbox.salesforce.schema import NUMBER_TYPES, TEXT_TYPES, FieldDef, ObjectDef

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def format_datetime(moment: datetime) -> str:
    """``2026-11-27T09:37:04.000+0000`` (UTC, milliseconds), as the REST API prints datetimes."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """Parse the ISO 8601 forms Salesforce accepts (``Z``, ``+0000``, ``+00:00``, no zone = UTC).

    Raises:
        ValueError: not a datetime.
    """
    m = _DATETIME_RE.match(text.strip())
    if not m:
        raise ValueError(text)
    day, hour, minute, second, fraction, zone = m.groups()
    base = datetime.fromisoformat(f"{day}T{hour}:{minute}:{second or '00'}")
    micro = int((fraction or "0").ljust(6, "0")[:6])
    offset = timedelta(0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return (base.replace(microsecond=micro) - offset).replace(tzinfo=UTC)


def to_bulk_datetime(stored: str, *, milliseconds: bool = True) -> str:
    """Bulk API CSV form of a stored datetime: ``2026-11-27T09:37:04.000Z``, or ``...04Z``.

    Bulk API 2.0 calls the milliseconds optional; the form without them cuts them.
    """
    if not stored.endswith("+0000"):
        return stored
    return stored[:-5] + "Z" if milliseconds else stored[:19] + "Z"


def valid_date(text: str) -> bool:
    """True for a real calendar date written ``YYYY-MM-DD``."""
    if not _DATE_RE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _token(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    return "VALUE_STRING"


def _position(raw: str | None, key: str, value: Any) -> tuple[int, int]:
    """Best-effort (line, column) just after ``value`` in the raw JSON body, as Jackson reports."""
    if not raw:
        return 1, 1
    key_at = raw.find(json.dumps(key))
    token = (
        json.dumps(value, ensure_ascii=False)
        if not isinstance(value, (dict, list))
        else ("{" if isinstance(value, dict) else "[")
    )
    at = raw.find(token, max(key_at, 0))
    if at < 0:
        return 1, 1
    end = at + len(token)
    line = raw.count("\n", 0, end) + 1
    return line, end - (raw.rfind("\n", 0, end) + 1) + 1


def parser_error(type_name: str, key: str, value: Any, raw: str | None) -> ApiError:
    """The JSON_PARSER_ERROR Salesforce returns for a value it cannot deserialize."""
    shown = (
        value
        if isinstance(value, str)
        else ("{" if isinstance(value, dict) else "[" if isinstance(value, list) else json.dumps(value))
    )
    line, column = _position(raw, key, value)
    return ApiError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {type_name} from {_token(value)} value {shown} "
        f"or request may be missing a required field at [line:{line}, column:{column}]",
    )


def coerce(field: FieldDef, key: str, value: Any, raw: str | None = None) -> Any:
    """Deserialize one JSON value for ``field`` into its stored form.

    Raises:
        ApiError: JSON_PARSER_ERROR for a value of the wrong JSON type or format.
    """
    kind = field.type
    if value is None:
        return False if kind == "boolean" else None
    if isinstance(value, (dict, list)):
        raise parser_error(kind if kind not in TEXT_TYPES else "string", key, value, raw)
    if kind in TEXT_TYPES or kind in ("id", "reference"):
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, float):
            value = repr(value)
        text = str(value)
        if kind == "multipicklist":
            parts = [p.strip() for p in text.split(";")]
            text = ";".join(dict.fromkeys(p for p in parts if p))
        return text or None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise parser_error("boolean", key, value, raw)
    if kind in NUMBER_TYPES:
        if isinstance(value, bool):
            raise parser_error("double", key, value, raw)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            if value.strip() == "":
                return None
            if _NUMBER_RE.match(value.strip()):
                return float(value)
        raise parser_error("double", key, value, raw)
    if kind == "date":
        if isinstance(value, str):
            if value == "":
                return None
            if valid_date(value):
                return value
        raise parser_error("date", key, value, raw)
    if kind == "datetime":
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return format_datetime(parse_datetime(value))
            except ValueError:
                pass
        raise parser_error("datetime", key, value, raw)
    return value


def deserialize(
    obj: ObjectDef, body: dict[str, Any], raw: str | None = None, *, skip: tuple[str, ...] = ("attributes",)
) -> dict[str, Any]:
    """Turn a JSON record body into ``{canonical field name: stored value}``.

    Keys are matched case-insensitively; ``attributes`` (and other ``skip`` keys) are ignored.

    Raises:
        ApiError: INVALID_FIELD for an unknown field, JSON_PARSER_ERROR for a bad value.
    """
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in skip:
            continue
        field = obj.field(key)
        if field is None:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
        out[field.name] = coerce(field, key, value, raw)
    return out
