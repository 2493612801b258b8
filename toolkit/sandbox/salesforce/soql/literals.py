"""SOQL literal values: string escapes, LIKE patterns, datetimes, dates and date literals."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TypeAlias

from toolkit.sandbox.salesforce.soql.lexer import malformed

SF_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

RelativeDate: TypeAlias = tuple[str, int | None]
"""A date literal such as ``TODAY`` (``("TODAY", None)``) or ``LAST_N_DAYS:7`` (``("LAST_N_DAYS", 7)``)."""

LiteralValue: TypeAlias = str | int | float | bool | RelativeDate | None
"""The decoded value of a :class:`Literal` (see its ``value``)."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal value in a WHERE clause.

    Attributes:
        kind: ``string``, ``number``, ``boolean``, ``null``, ``date``, ``datetime`` or ``reldate``.
        value: decoded value: str for string; int/float for number; bool; None; ``YYYY-MM-DD``
            for date; the UTC Salesforce form ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` for datetime;
            ``(NAME, n or None)`` for a date literal such as ``TODAY`` or ``LAST_N_DAYS:7``.
        text: the literal exactly as written.
        pos: offset in the query text.
        like: for strings only, the equivalent regular expression if used with LIKE.
    """

    kind: str
    value: LiteralValue
    text: str
    pos: int
    like: str | None = None


_SIMPLE_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def decode_string(token_text: str, query: str, pos: int) -> Literal:
    """Decode a quoted SOQL string token, keeping what LIKE needs to know about ``\\%``/``\\_``.

    Raises:
        SoqlError: MALFORMED_QUERY for an escape sequence SOQL does not define.
    """
    body = token_text[1:-1]
    value: list[str] = []
    like: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            value.append(ch)
            like.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
            i += 1
            continue
        nxt = body[i + 1]  # the tokenizer guarantees a character after a backslash
        if nxt in _SIMPLE_ESCAPES:
            decoded = _SIMPLE_ESCAPES[nxt]
            i += 2
        elif nxt in "%_":
            decoded = nxt
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            decoded = chr(int(body[i + 2 : i + 6], 16))
            i += 6
        else:
            raise malformed(
                query,
                pos,
                f"Invalid string literal '{body}'. Illegal character sequence '\\{nxt}' in string literal.",
            )
        value.append(decoded)
        like.append(re.escape(decoded))
    return Literal("string", "".join(value), token_text, pos, like="".join(like))


_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):?(\d{2}))$"
)


def format_sf_datetime(moment: datetime) -> str:
    """Format an aware datetime as Salesforce returns it: UTC, milliseconds, ``+0000``."""
    utc = moment.astimezone(UTC)
    return f"{utc.strftime(SF_DATETIME_FORMAT)}.{utc.microsecond // 1000:03d}+0000"


def parse_datetime(text: str, query: str, pos: int) -> str:
    """Normalise a datetime literal (any offset) to Salesforce's stored UTC string.

    Raises:
        SoqlError: MALFORMED_QUERY when the datetime does not exist (e.g. month 13).
    """
    match = _DATETIME_RE.match(text)
    if match is None:
        raise malformed(query, pos, f"Invalid datetime: {text}")
    year, month, day, hour, minute, second, frac, sign, off_h, off_m = match.groups()
    millis = int((frac or "0")[:3].ljust(3, "0"))
    try:
        offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
        tz = timezone(-offset if sign == "-" else offset)
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), millis * 1000, tzinfo=tz
        )
    except ValueError:
        raise malformed(query, pos, f"Invalid datetime: {text}") from None
    return format_sf_datetime(moment)


def parse_date(text: str, query: str, pos: int) -> str:
    """Validate a ``YYYY-MM-DD`` literal and return it unchanged.

    Raises:
        SoqlError: MALFORMED_QUERY when the date does not exist.
    """
    try:
        date.fromisoformat(text)
    except ValueError:
        raise malformed(query, pos, f"Invalid date: {text}") from None
    return text


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _week_start(day: date) -> date:
    # The first day of the week follows the user's locale; the sandbox assumes en_US (Sunday).
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _fixed_range(name: str, today: date) -> tuple[date, date] | None:
    day = timedelta(days=1)
    if name == "TODAY":
        return today, today
    if name == "YESTERDAY":
        return today - day, today - day
    if name == "TOMORROW":
        return today + day, today + day
    if name in ("LAST_WEEK", "THIS_WEEK", "NEXT_WEEK"):
        start = _week_start(today) + timedelta(days={"LAST_WEEK": -7, "THIS_WEEK": 0, "NEXT_WEEK": 7}[name])
        return start, start + timedelta(days=6)
    if name in ("LAST_MONTH", "THIS_MONTH", "NEXT_MONTH"):
        first = _add_months(today, {"LAST_MONTH": -1, "THIS_MONTH": 0, "NEXT_MONTH": 1}[name])
        return first, _month_end(first)
    if name in ("LAST_YEAR", "THIS_YEAR", "NEXT_YEAR"):
        year = today.year + {"LAST_YEAR": -1, "THIS_YEAR": 0, "NEXT_YEAR": 1}[name]
        return date(year, 1, 1), date(year, 12, 31)
    if name == "LAST_90_DAYS":
        return today - 90 * day, today
    if name == "NEXT_90_DAYS":
        return today + day, today + 90 * day
    return None


FIXED_DATE_LITERALS = frozenset(
    {
        "TODAY",
        "YESTERDAY",
        "TOMORROW",
        "LAST_WEEK",
        "THIS_WEEK",
        "NEXT_WEEK",
        "LAST_MONTH",
        "THIS_MONTH",
        "NEXT_MONTH",
        "LAST_YEAR",
        "THIS_YEAR",
        "NEXT_YEAR",
        "LAST_90_DAYS",
        "NEXT_90_DAYS",
    }
)
N_DATE_LITERALS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"})


def date_literal_range(name: str, n: int | None, today: date) -> tuple[date, date]:
    """The inclusive day range a SOQL date literal covers, relative to ``today`` (UTC).

    ``LAST_N_DAYS:n`` includes today and the n days before it; ``NEXT_N_DAYS:n`` starts
    tomorrow; ``N_DAYS_AGO:n`` is the single day n days ago.
    """
    if n is None:
        fixed = _fixed_range(name, today)
        if fixed is None:
            raise ValueError(name)
        return fixed
    if name == "LAST_N_DAYS":
        return today - timedelta(days=n), today
    if name == "NEXT_N_DAYS":
        return today + timedelta(days=1), today + timedelta(days=n)
    if name == "N_DAYS_AGO":
        return today - timedelta(days=n), today - timedelta(days=n)
    raise ValueError(name)


__all__ = [
    "FIXED_DATE_LITERALS",
    "Literal",
    "LiteralValue",
    "N_DATE_LITERALS",
    "RelativeDate",
    "date_literal_range",
    "decode_string",
    "format_sf_datetime",
    "parse_date",
    "parse_datetime",
]
