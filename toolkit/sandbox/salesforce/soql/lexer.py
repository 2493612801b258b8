"""SOQL errors (in Salesforce's wording and layout) and the tokenizer."""

from __future__ import annotations

import re
from dataclasses import dataclass


class SoqlError(Exception):
    """A query Salesforce would refuse, with Salesforce's ``errorCode`` and ``message``.

    Attributes:
        error_code: Salesforce's code, e.g. ``MALFORMED_QUERY``, ``INVALID_FIELD``,
            ``INVALID_TYPE``, ``INVALID_QUERY_FILTER_OPERATOR``, ``NUMBER_OUTSIDE_VALID_RANGE``.
        message: the text Salesforce puts in the error body's ``message``.
    """

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


def located(text: str, pos: int, detail: str) -> str:
    """Format ``detail`` the way Salesforce does: the query line, a caret, Row and Column.

    Args:
        text: the whole SOQL text.
        pos: 0-based offset of the offending token in ``text``.
        detail: the explanation, e.g. ``unexpected token: 'OR'``.
    """
    pos = max(0, min(pos, len(text)))
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    if line_end < 0:
        line_end = len(text)
    row = text.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    caret = " " * (column - 1) + "^"
    return f"\n{text[line_start:line_end]}\n{caret}\nERROR at Row:{row}:Column:{column}\n{detail}"


def query_error(code: str, text: str, pos: int, detail: str) -> SoqlError:
    """A :class:`SoqlError` whose message points at ``pos`` in ``text``."""
    return SoqlError(code, located(text, pos, detail))


def malformed(text: str, pos: int, detail: str) -> SoqlError:
    """A MALFORMED_QUERY error pointing at ``pos``."""
    return query_error("MALFORMED_QUERY", text, pos, detail)


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token.

    Attributes:
        kind: STRING, NUMBER, DATE, DATETIME, RELDATE, IDENT, OP, LPAREN, RPAREN, COMMA,
            COLON or EOF.
        text: the token exactly as written.
        pos: 0-based offset in the query text.
    """

    kind: str
    text: str
    pos: int

    @property
    def upper(self) -> str:
        """The text upper-cased, for case-insensitive keyword checks."""
        return self.text.upper()


_TOKEN_RE = re.compile(
    r"""
    (?P<WS>\s+)
  | (?P<DATETIME>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<BADDATETIME>\d{4}-\d{2}-\d{2}T[\w:.+-]*)
  | (?P<DATE>\d{4}-\d{2}-\d{2})
  | (?P<NUMBER>[+-]?(?:\d+(?:\.\d*)?|\.\d+))
  | (?P<STRING>'(?:[^'\\]|\\.)*')
  | (?P<RELDATE>[A-Za-z_]\w*:\d+)
  | (?P<IDENT>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)
  | (?P<OP><=|>=|!=|<>|=|<|>)
  | (?P<LPAREN>\()
  | (?P<RPAREN>\))
  | (?P<COMMA>,)
  | (?P<COLON>:)
    """,
    re.VERBOSE,
)


def _char_error(text: str, pos: int, detail: str) -> SoqlError:
    # Salesforce's lexer errors carry an extra "line R:C" prefix with a 0-based column.
    line_start = text.rfind("\n", 0, pos) + 1
    row = text.count("\n", 0, pos) + 1
    return malformed(text, pos, f"line {row}:{pos - line_start} {detail}")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with one EOF token.

    Raises:
        SoqlError: MALFORMED_QUERY for a character no SOQL token starts with, an unterminated
            string, or a datetime literal without its time zone.
    """
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            if text[pos] == "'":
                raise _char_error(text, len(text), "mismatched character '<EOF>' expecting '''")
            raise _char_error(text, pos, f"no viable alternative at character '{text[pos]}'")
        kind = match.lastgroup or ""
        if kind == "BADDATETIME":
            raise _char_error(
                text,
                match.end(),
                "no viable alternative at character "
                f"'{text[match.end()] if match.end() < len(text) else '<EOF>'}'",
            )
        if kind != "WS":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("EOF", "", len(text)))
    return tokens
