"""Building SOQL safely: every literal escaped, every name checked.

Values never go into SOQL unescaped: strings through :func:`soql_quote`, datetimes through
:func:`soql_datetime`. Field and object names come from describe and are checked with
:func:`soql_name` so that nothing but an identifier can reach a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

__all__ = ["soql_date", "soql_datetime", "soql_in", "soql_name", "soql_quote"]

# Salesforce's quoted-string escape sequences (SOQL and SOSL reference, "Quoted String Escape
# Sequences"); other control characters are written as \uXXXX.
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_LIKE_ESCAPES = {"%": "\\%", "_": "\\_"}
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")


def _escape_char(ch: str, like: bool) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if like and ch in _LIKE_ESCAPES:
        return _LIKE_ESCAPES[ch]
    if ord(ch) < 0x20 or ch == "\x7f" or 0x2028 <= ord(ch) <= 0x2029:
        return f"\\u{ord(ch):04x}"
    return ch


def soql_quote(value: str, *, like: bool = False) -> str:
    """Return ``value`` as a quoted SOQL string literal.

    Args:
        value: any text (quotes, backslashes, newlines and control characters are escaped).
        like: also escape ``%`` and ``_`` so that a LIKE pattern matches them literally (add
            your own wildcards around the result's content yourself).

    Example:
        >>> soql_quote("O'Brien")
        "'O\\\\'Brien'"
        >>> soql_quote("' OR Name != '")
        "'\\\\' OR Name != \\\\''"
    """
    if not isinstance(value, str):
        raise TypeError(f"soql_quote takes a str, not {type(value).__name__}")
    return "'" + "".join(_escape_char(ch, like) for ch in value) + "'"


def soql_datetime(moment: datetime) -> str:
    """Return an aware datetime as a SOQL datetime literal in UTC with milliseconds.

    ``2026-01-31T09:05:00.120Z``. Milliseconds are kept because SystemModstamp has them: a
    cursor compared with ``>=`` and an Id tie-break must not lose them.

    Raises:
        ValueError: ``moment`` is naive (its time zone would be a guess).
    """
    if not isinstance(moment, datetime):
        raise TypeError(f"soql_datetime takes a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("soql_datetime needs a timezone-aware datetime (e.g. datetime.now(timezone.utc))")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"


def soql_date(day: date) -> str:
    """Return a date as a SOQL date literal (``YYYY-MM-DD``, unquoted)."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError("soql_date takes a date (use soql_datetime for a datetime)")
    return day.isoformat()


def soql_name(name: str) -> str:
    """Return ``name`` if it is a plain (possibly dotted) SOQL identifier.

    Raises:
        ValueError: anything else (spaces, quotes, operators...).
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(f"not a Salesforce field or object name: {name!r}")
    return name


def soql_in(values: Iterable[str]) -> str:
    """Return ``('a','b',...)`` for ``IN`` with every value quoted.

    Raises:
        ValueError: no values (``IN ()`` is not valid SOQL).
    """
    quoted = [soql_quote(v) for v in values]
    if not quoted:
        raise ValueError("soql_in needs at least one value")
    return "(" + ",".join(quoted) + ")"
