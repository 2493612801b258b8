"""The Salesforce sandbox's SOQL engine: parse once, compile against a schema, run over dicts.

Records are plain dicts keyed by canonical field names. Values: datetime as the fixed-width UTC
string ``2026-11-27T09:37:04.000+0000``; date as ``YYYY-MM-DD``; boolean as bool; numbers as
int/float; text, id and picklist values as str (multipicklist ``"A;B;C"``); null as None.

Supported: ``SELECT f, ... | COUNT() FROM Obj [WHERE ...] [ORDER BY ...] [LIMIT n] [OFFSET n]``
with Salesforce's comparison semantics (case-insensitive text, null only with ``=``/``!=``,
parentheses required where AND and OR meet, date literals relative to the sandbox clock).

A ``CompiledQuery`` holds no mutable state, so one instance may run in many server threads.

Typical use::

    compiled = compile_query(parse(soql), {"Id": "id", "Email": "email"}, now=clock.now())
    rows = compiled.run(store.values())
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from toolkit.sandbox.salesforce.soql.lexer import SoqlError, query_error
from toolkit.sandbox.salesforce.soql.nodes import BoolOp, Expr, FieldRef, Query
from toolkit.sandbox.salesforce.soql.parser import parse
from toolkit.sandbox.salesforce.soql.predicates import (
    ConditionCompiler,
    Getter,
    Predicate,
    Record,
    category,
    getter,
)

MAX_OFFSET = 2000

__all__ = ["CompiledQuery", "Query", "SoqlError", "compile_query", "parse", "unknown_sobject_error"]

SortKey = Callable[[Record], tuple]


class CompiledQuery:
    """A query bound to one object's fields, ready to run over records.

    Attributes:
        sobject: the object name (canonical if given to ``compile_query``).
        fields: canonical selected field names, in SELECT order (empty for COUNT()).
        is_count: True for ``SELECT COUNT() FROM ...``.
        limit, offset: as in the query, or None.
    """

    def __init__(
        self,
        sobject: str,
        fields: list[str],
        is_count: bool,
        predicate: Predicate | None,
        sort_keys: list[tuple[SortKey, bool]],
        limit: int | None,
        offset: int | None,
    ) -> None:
        self.sobject = sobject
        self.fields = fields
        self.is_count = is_count
        self.limit = limit
        self.offset = offset
        self._predicate = predicate
        self._sort_keys = sort_keys

    def matches(self, record: Record) -> bool:
        """Whether ``record`` satisfies the WHERE clause (True when there is none)."""
        return self._predicate is None or self._predicate(record)

    def run(self, records: Iterable[Record]) -> list[Record]:
        """Filter, sort, skip OFFSET, cut at LIMIT, then project onto ``fields``.

        Returns:
            New dicts with keys in SELECT order; for COUNT() the matching records themselves.
        """
        pred = self._predicate
        rows = [r for r in records if pred(r)] if pred is not None else list(records)
        # Stable sorts from the last ORDER BY term to the first give the combined order; ties
        # on every term keep the input order.
        for key, descending in reversed(self._sort_keys):
            rows.sort(key=key, reverse=descending)
        start = self.offset or 0
        stop = None if self.limit is None else start + self.limit
        rows = rows[start:stop]
        if self.is_count:
            return rows
        fields = self.fields
        return [{f: r.get(f) for f in fields} for r in rows]


def unknown_sobject_error(query: Query) -> SoqlError:
    """The INVALID_TYPE error Salesforce returns when the FROM object does not exist."""
    return query_error(
        "INVALID_TYPE",
        query.text,
        query.sobject_pos,
        f"sObject type '{query.sobject}' is not supported. If you are attempting "
        "to use a custom object, be sure to append the '__c' after the entity "
        "name. Please reference your WSDL or the describe call for the "
        "appropriate names.",
    )


class _Compiler:
    def __init__(self, query: Query, field_types: Mapping[str, str], sobject: str, now: datetime) -> None:
        self.query = query
        self.types = dict(field_types)
        self.by_lower = {name.lower(): name for name in field_types}
        self.sobject = sobject
        self.conditions = ConditionCompiler(query.text, now.astimezone(UTC).date())

    def resolve(self, ref: FieldRef) -> str:
        name = self.by_lower.get(ref.name.lower())
        if name is None:
            raise query_error(
                "INVALID_FIELD",
                self.query.text,
                ref.pos,
                f"No such column '{ref.name}' on entity '{self.sobject}'. If you are attempting "
                "to use a custom field, be sure to append the '__c' after the custom field "
                "name. Please reference your WSDL or the describe call for the appropriate "
                "names.",
            )
        return name

    def select(self) -> list[str]:
        names: list[str] = []
        for ref in self.query.fields:
            name = self.resolve(ref)
            if name in names:
                raise query_error(
                    "MALFORMED_QUERY", self.query.text, ref.pos, f"duplicate field selected: {name}"
                )
            names.append(name)
        return names

    def expr(self, node: Expr) -> Predicate:
        if isinstance(node, BoolOp):
            parts = [self.expr(item) for item in node.items]
            if node.op == "NOT":
                inner = parts[0]
                return lambda r: not inner(r)
            if len(parts) == 2:
                a, b = parts
                return (lambda r: a(r) and b(r)) if node.op == "AND" else (lambda r: a(r) or b(r))
            if node.op == "AND":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        name = self.resolve(node.field)
        return self.conditions.compile(node, name, self.types[name])

    def sort_keys(self) -> list[tuple[SortKey, bool]]:
        keys: list[tuple[SortKey, bool]] = []
        for item in self.query.order_by:
            name = self.resolve(item.field)
            cat = category(self.types[name])
            if cat == "multipicklist":
                raise query_error(
                    "INVALID_FIELD",
                    self.query.text,
                    item.field.pos,
                    f"field '{name}' can not be sorted in a query call",
                )
            # Nulls sort below everything when they must end up first in ascending order or
            # last in descending order, above everything otherwise.
            null_key = (0,) if item.descending != item.nulls_first else (2,)
            keys.append((_sort_key(getter(name, cat), cat, null_key), item.descending))
        return keys


def _sort_key(get: Getter, cat: str, null_key: tuple) -> SortKey:
    if cat == "string":
        # Values differing only in case tie, as they are equal for "=": the next ORDER BY term
        # decides, so keyset paging on (text, Id) neither skips nor repeats records.
        def key(r: Record) -> tuple:
            v = get(r)
            return null_key if v is None else (1, v.casefold())

        return key

    def plain(r: Record) -> tuple:
        v = get(r)
        return null_key if v is None else (1, v)

    return plain


def compile_query(
    query: Query, field_types: Mapping[str, str], *, now: datetime, sobject: str | None = None
) -> CompiledQuery:
    """Check a parsed query against one object's fields and compile it.

    Args:
        query: the result of :func:`parse`.
        field_types: canonical field name -> describe type (``id``, ``string``, ``email``,
            ``datetime``, ``boolean``, ``multipicklist``, ``double``...). Names in the query are
            matched case-insensitively.
        now: the sandbox clock's time; date literals (TODAY, LAST_N_DAYS:n...) are UTC days.
        sobject: the object's canonical name for messages and ``CompiledQuery.sobject``
            (defaults to the name as written in the query).

    Raises:
        SoqlError: INVALID_FIELD (unknown field, literal of the wrong type),
            INVALID_QUERY_FILTER_OPERATOR (operator not valid for the field, malformed Id),
            NUMBER_OUTSIDE_VALID_RANGE (OFFSET above 2000), MALFORMED_QUERY (duplicate field).
    """
    name = sobject or query.sobject
    compiler = _Compiler(query, field_types, name, now)
    fields = compiler.select()
    predicate = compiler.expr(query.where) if query.where is not None else None
    sort_keys = compiler.sort_keys()
    if query.offset is not None and query.offset > MAX_OFFSET:
        raise query_error(
            "NUMBER_OUTSIDE_VALID_RANGE",
            query.text,
            query.offset_pos,
            f"Maximum SOQL offset allowed for apiName {name} is {MAX_OFFSET}",
        )
    return CompiledQuery(name, fields, query.is_count, predicate, sort_keys, query.limit, query.offset)
