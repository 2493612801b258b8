"""Syntax tree of a parsed SOQL query (names as written, positions for error messages)."""

from __future__ import annotations

from dataclasses import dataclass

from toolkit.sandbox.salesforce.soql.literals import Literal


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field name as written in the query, with its position."""

    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Condition:
    """``field op value`` or ``field [NOT] IN / INCLUDES / EXCLUDES (values)``.

    ``op`` is one of ``= != < <= > >= LIKE IN NOT_IN INCLUDES EXCLUDES`` (``<>`` becomes ``!=``).
    """

    field: FieldRef
    op: str
    values: tuple[Literal, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``AND``/``OR`` of two or more expressions, or ``NOT`` of one."""

    op: str
    items: tuple[Expr, ...]


Expr = Condition | BoolOp


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One ``ORDER BY`` term; ``nulls_first`` already resolved from the SOQL defaults."""

    field: FieldRef
    descending: bool
    nulls_first: bool


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed SOQL query (names not yet checked against any object).

    Attributes:
        text: the SOQL text as received.
        sobject: the object name as written after FROM; ``sobject_pos`` its offset.
        fields: selected fields (empty for ``COUNT()``).
        is_count: True for ``SELECT COUNT() FROM ...``.
        where: the WHERE expression, or None.
        order_by: ORDER BY terms, in order.
        limit, offset: as written, or None.
    """

    text: str
    sobject: str
    sobject_pos: int
    fields: tuple[FieldRef, ...]
    is_count: bool
    where: Expr | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    limit_pos: int
    offset: int | None
    offset_pos: int
