"""Turn WHERE conditions into Python closures, with Salesforce's comparison semantics.

Field values are stored as described in ``soql.py``: datetimes as fixed-width UTC strings
``YYYY-MM-DDTHH:MM:SS.mmm+0000`` and dates as ``YYYY-MM-DD``, so both compare as strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, TypeAlias

from toolkit.sandbox.salesforce.soql.lexer import SoqlError, query_error
from toolkit.sandbox.salesforce.soql.literals import Literal, date_literal_range
from toolkit.sandbox.salesforce.soql.nodes import Condition

Record: TypeAlias = dict[str, Any]
"""A stored record: canonical field name -> stored value."""

Value: TypeAlias = Any
"""A stored field value (str, int, float, bool or None, see ``soql.py``) or its comparison key.

Any rather than a union: one condition only ever compares the values of one field's type with
literals of that type (:meth:`ConditionCompiler.check_literal` refuses others), which no static
type can say; a union would make every comparison a type error.
"""

Predicate: TypeAlias = Callable[[Record], bool]
Getter: TypeAlias = Callable[[Record], Value]
Key: TypeAlias = Callable[[str], Value]

STRING_TYPES = frozenset(
    {"string", "email", "phone", "picklist", "textarea", "url", "combobox", "encryptedstring"}
)
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"double", "int", "currency", "percent", "long"})
_ORDERING = frozenset({"<", "<=", ">", ">="})
_ID_RE = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")


def category(sf_type: str) -> str:
    """Group a describe type into the comparison family used here."""
    if sf_type in ID_TYPES:
        return "id"
    if sf_type in NUMBER_TYPES:
        return "number"
    if sf_type in ("boolean", "date", "datetime", "multipicklist"):
        return sf_type
    return "string"


def getter(field: str, cat: str) -> Getter:
    """Read a field; for text families an empty string counts as null, as in Salesforce."""
    if cat in ("string", "id", "multipicklist"):
        return lambda r: r.get(field) or None
    return lambda r: r.get(field)


def _string_key(value: str) -> str:
    return value.casefold()


def _id_key(value: str) -> str:
    # The first 15 characters are the record key; the 3-character suffix only encodes their case.
    return value[:15]


def _multi_key(value: str) -> frozenset[str]:
    return frozenset(part.strip().casefold() for part in value.split(";") if part.strip())


_KEYS: dict[str, Key | None] = {
    "string": _string_key,
    "id": _id_key,
    "multipicklist": _multi_key,
    "number": None,
    "boolean": None,
}

_TYPE_WORDS = {
    "string": "string",
    "id": "id",
    "multipicklist": "string",
    "number": "double",
    "boolean": "boolean",
    "date": "date",
    "datetime": "dateTime",
}
_ACCEPTS = {
    "string": {"string"},
    "id": {"string"},
    "multipicklist": {"string"},
    "number": {"number"},
    "boolean": {"boolean"},
    "date": {"date", "reldate"},
    "datetime": {"datetime", "reldate"},
}


class ConditionCompiler:
    """Compiles :class:`Condition` nodes against one object's field types."""

    def __init__(self, text: str, today: date) -> None:
        self.text = text
        self.today = today

    def error(self, code: str, pos: int, detail: str) -> SoqlError:
        """A :class:`SoqlError` pointing at ``pos`` in this query."""
        return query_error(code, self.text, pos, detail)

    def check_operator(self, cond: Condition, field: str, cat: str, sf_type: str) -> None:
        """Refuse an operator the field's type does not support (INVALID_QUERY_FILTER_OPERATOR)."""
        op = cond.op
        if op == "LIKE" and cat != "string":
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR", cond.pos, f"invalid operator on {sf_type} field"
            )
        if op in ("INCLUDES", "EXCLUDES") and cat != "multipicklist":
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR",
                cond.pos,
                "includes or excludes operator only valid on multipicklist field",
            )
        if op in _ORDERING and cat in ("boolean", "multipicklist"):
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR", cond.pos, f"invalid operator on {sf_type} field"
            )

    def check_literal(self, lit: Literal, field: str, cat: str) -> None:
        """Refuse a literal of the wrong type (INVALID_FIELD) or a malformed Id."""
        if lit.kind == "null" or lit.kind in _ACCEPTS[cat]:
            if cat == "id" and lit.kind == "string" and lit.value and not _ID_RE.fullmatch(str(lit.value)):
                raise self.error("INVALID_QUERY_FILTER_OPERATOR", lit.pos, f"invalid ID field: {lit.value}")
            return
        quoted = cat in ("string", "id", "multipicklist")
        raise self.error(
            "INVALID_FIELD",
            lit.pos,
            f"value of filter criterion for field '{field}' must be of type "
            f"{_TYPE_WORDS[cat]} and should {'' if quoted else 'not '}be enclosed "
            "in quotes",
        )

    def compile(self, cond: Condition, field: str, sf_type: str) -> Predicate:
        """Check ``cond`` against the field's type and return its predicate."""
        cat = category(sf_type)
        self.check_operator(cond, field, cat, sf_type)
        for lit in cond.values:
            self.check_literal(lit, field, cat)
        get = getter(field, cat)
        if cat in ("date", "datetime"):
            return self._temporal(cond, get, cat)
        if cond.op == "LIKE":
            return _like(cond.values[0], get)
        if cond.op in ("INCLUDES", "EXCLUDES"):
            return _includes(cond, get)
        key = _KEYS[cat]
        values = [_lit_key(lit, key, cat) for lit in cond.values]
        if cond.op in ("IN", "NOT_IN"):
            return _membership(get, key, values, cond.op == "NOT_IN")
        return _compare(get, key, cond.op, values[0])

    def _range(self, lit: Literal, cat: str) -> tuple[str, str] | None:
        if lit.kind == "null":
            return None
        if lit.kind != "reldate":
            return str(lit.value), str(lit.value)
        value = lit.value
        if not isinstance(value, tuple):
            raise TypeError(f"a date literal's value is (name, n), not {value!r}")
        name, n = value
        first, last = date_literal_range(name, n, self.today)
        if cat == "date":
            return first.isoformat(), last.isoformat()
        return f"{first.isoformat()}T00:00:00.000+0000", f"{last.isoformat()}T23:59:59.999+0000"

    def _temporal(self, cond: Condition, get: Getter, cat: str) -> Predicate:
        ranges = [self._range(lit, cat) for lit in cond.values]
        op = cond.op
        if op in ("IN", "NOT_IN"):
            want_null = None in ranges
            spans = [r for r in ranges if r is not None]

            def inside(r: Record) -> bool:
                v = get(r)
                if v is None:
                    return want_null
                return any(lo <= v <= hi for lo, hi in spans)

            return (lambda r: not inside(r)) if op == "NOT_IN" else inside
        span = ranges[0]
        if span is None:
            return _null_compare(get, op)
        lo, hi = span
        table: dict[str, Predicate] = {
            "=": lambda r: (v := get(r)) is not None and lo <= v <= hi,
            "!=": lambda r: (v := get(r)) is None or not lo <= v <= hi,
            "<": lambda r: (v := get(r)) is not None and v < lo,
            "<=": lambda r: (v := get(r)) is not None and v <= hi,
            ">": lambda r: (v := get(r)) is not None and v > hi,
            ">=": lambda r: (v := get(r)) is not None and v >= lo,
        }
        return table[op]


def _lit_key(lit: Literal, key: Key | None, cat: str) -> Value:
    value = lit.value
    if value is None or (cat in ("string", "id", "multipicklist") and value == ""):
        return None
    if key is None:
        return value
    if not isinstance(value, str):  # check_literal admits only strings for the keyed families
        raise TypeError(f"a {cat} literal is a string, not {value!r}")
    return key(value)


def _null_compare(get: Getter, op: str) -> Predicate:
    if op == "=":
        return lambda r: get(r) is None
    if op == "!=":
        return lambda r: get(r) is not None
    return lambda r: False  # an ordering comparison with null matches nothing


def _compare(get: Getter, key: Key | None, op: str, lit: Value) -> Predicate:
    if lit is None:
        return _null_compare(get, op)
    k = key or (lambda v: v)
    table: dict[str, Predicate] = {
        "=": lambda r: (v := get(r)) is not None and k(v) == lit,
        "!=": lambda r: (v := get(r)) is None or k(v) != lit,
        "<": lambda r: (v := get(r)) is not None and k(v) < lit,
        "<=": lambda r: (v := get(r)) is not None and k(v) <= lit,
        ">": lambda r: (v := get(r)) is not None and k(v) > lit,
        ">=": lambda r: (v := get(r)) is not None and k(v) >= lit,
    }
    return table[op]


def _membership(get: Getter, key: Key | None, values: list[Value], negate: bool) -> Predicate:
    want_null = None in values
    wanted = [v for v in values if v is not None]
    try:
        pool: set[Value] | list[Value] = set(wanted)
    except TypeError:
        pool = wanted
    k = key or (lambda v: v)

    def inside(r: Record) -> bool:
        v = get(r)
        if v is None:
            return want_null
        return k(v) in pool

    return (lambda r: not inside(r)) if negate else inside


def _like(lit: Literal, get: Getter) -> Predicate:
    if lit.kind == "null":
        return lambda r: False
    pattern = re.compile(lit.like or "", re.IGNORECASE | re.DOTALL)
    return lambda r: (v := get(r)) is not None and pattern.fullmatch(str(v)) is not None


def _includes(cond: Condition, get: Getter) -> Predicate:
    # INCLUDES ('A;B', 'C') means: (A and B) or C.
    wanted = [_multi_key(str(lit.value)) for lit in cond.values if lit.value]

    def includes(r: Record) -> bool:
        v = get(r)
        if v is None:
            return False
        have = _multi_key(str(v))
        return any(w <= have for w in wanted)

    return (lambda r: not includes(r)) if cond.op == "EXCLUDES" else includes
