"""Recursive-descent parser for the SOQL subset the sandbox serves (syntax only, no schema)."""

from __future__ import annotations

from toolkit.sandbox.salesforce.soql.lexer import SoqlError, Token, malformed, tokenize
from toolkit.sandbox.salesforce.soql.literals import (
    FIXED_DATE_LITERALS,
    N_DATE_LITERALS,
    Literal,
    decode_string,
    parse_date,
    parse_datetime,
)
from toolkit.sandbox.salesforce.soql.nodes import BoolOp, Condition, Expr, FieldRef, OrderItem, Query

_UNSUPPORTED_CLAUSES = {
    "WITH": "WITH clauses are not supported by the sandbox",
    "GROUP": "GROUP BY is not supported by the sandbox",
    "HAVING": "HAVING is not supported by the sandbox",
    "USING": "USING SCOPE is not supported by the sandbox",
    "FOR": "FOR VIEW/REFERENCE/UPDATE is not supported by the sandbox",
    "UPDATE": "UPDATE TRACKING/VIEWSTAT is not supported by the sandbox",
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers -------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "EOF":
            self.i += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "IDENT" and self.tok.upper in words

    def unexpected(self, tok: Token | None = None) -> SoqlError:
        tok = tok or self.tok
        shown = "<EOF>" if tok.kind == "EOF" else tok.text
        return malformed(self.text, tok.pos, f"unexpected token: '{shown}'")

    def expect_kw(self, word: str) -> Token:
        if not self.is_kw(word):
            raise self.unexpected()
        return self.advance()

    def expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            raise self.unexpected()
        return self.advance()

    def reject_unsupported(self) -> None:
        if self.tok.kind == "IDENT" and self.tok.upper in _UNSUPPORTED_CLAUSES:
            raise malformed(self.text, self.tok.pos, _UNSUPPORTED_CLAUSES[self.tok.upper])

    # -- grammar -------------------------------------------------------------------------
    def query(self) -> Query:
        self.expect_kw("SELECT")
        fields, is_count = self.select_list()
        self.expect_kw("FROM")
        obj = self.expect("IDENT")
        if "." in obj.text:
            raise self.unexpected(obj)
        self.reject_unsupported()
        where = None
        if self.is_kw("WHERE"):
            self.advance()
            where = self.expr()
        self.reject_unsupported()
        order: tuple[OrderItem, ...] = ()
        if self.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            order = self.order_list()
        limit, limit_pos = self.count_clause("LIMIT")
        offset, offset_pos = self.count_clause("OFFSET")
        self.reject_unsupported()
        if self.tok.kind != "EOF":
            raise self.unexpected()
        return Query(
            self.text,
            obj.text,
            obj.pos,
            tuple(fields),
            is_count,
            where,
            order,
            limit,
            limit_pos,
            offset,
            offset_pos,
        )

    def field_ref(self) -> FieldRef:
        tok = self.tok
        if tok.kind != "IDENT" or tok.upper in ("FROM", "WHERE", "ORDER", "SELECT"):
            raise self.unexpected()
        if tok.upper == "TYPEOF":
            raise malformed(self.text, tok.pos, "TYPEOF is not supported by the sandbox")
        self.advance()
        if self.tok.kind == "LPAREN":
            raise malformed(
                self.text,
                tok.pos,
                f"Function {tok.text}() is not supported by the sandbox (only SELECT COUNT() FROM ...)",
            )
        if "." in tok.text:
            raise malformed(
                self.text,
                tok.pos,
                f"Relationship field '{tok.text}' is not "
                "supported by the sandbox; select fields of the queried object only",
            )
        return FieldRef(tok.text, tok.pos)

    def select_list(self) -> tuple[list[FieldRef], bool]:
        if self.is_kw("COUNT") and self.tokens[self.i + 1].kind == "LPAREN":
            count_tok = self.advance()
            self.advance()
            if self.tok.kind != "RPAREN":
                raise malformed(
                    self.text,
                    count_tok.pos,
                    "Aggregate functions other than COUNT() are not supported by the sandbox",
                )
            self.advance()
            if self.tok.kind == "COMMA":
                raise self.unexpected()
            return [], True
        fields: list[FieldRef] = []
        while True:
            if self.tok.kind == "LPAREN":
                raise malformed(self.text, self.tok.pos, "Sub-queries are not supported by the sandbox")
            fields.append(self.field_ref())
            if self.tok.kind != "COMMA":
                return fields, False
            self.advance()

    def expr(self) -> Expr:
        items = [self.unary()]
        joiner: str | None = None
        while self.is_kw("AND", "OR"):
            word = self.tok.upper
            if joiner is not None and word != joiner:
                # Salesforce requires parentheses when AND and OR meet at one level.
                raise self.unexpected()
            joiner = word
            self.advance()
            items.append(self.unary())
        return items[0] if joiner is None else BoolOp(joiner, tuple(items))

    def unary(self) -> Expr:
        if self.is_kw("NOT"):
            self.advance()
            return BoolOp("NOT", (self.unary(),))
        if self.tok.kind == "LPAREN":
            self.advance()
            inner = self.expr()
            self.expect("RPAREN")
            return inner
        return self.condition()

    def condition(self) -> Condition:
        field = self.field_ref()
        tok = self.tok
        if tok.kind == "OP":
            self.advance()
            op = "!=" if tok.text == "<>" else tok.text
            return Condition(field, op, (self.value(),), tok.pos)
        if self.is_kw("LIKE"):
            self.advance()
            return Condition(field, "LIKE", (self.value(),), tok.pos)
        if self.is_kw("NOT"):
            self.advance()
            self.expect_kw("IN")
            return Condition(field, "NOT_IN", self.value_list(), tok.pos)
        if self.is_kw("IN", "INCLUDES", "EXCLUDES"):
            op = self.advance().upper
            return Condition(field, op, self.value_list(), tok.pos)
        raise self.unexpected()

    def value_list(self) -> tuple[Literal, ...]:
        if self.tok.kind == "COLON":
            self.value()  # raises the bind-variable error
        self.expect("LPAREN")
        if self.is_kw("SELECT"):
            raise malformed(self.text, self.tok.pos, "Semi-join sub-selects are not supported by the sandbox")
        values = [self.value()]
        while self.tok.kind == "COMMA":
            self.advance()
            values.append(self.value())
        self.expect("RPAREN")
        return tuple(values)

    def value(self) -> Literal:
        tok = self.tok
        kind = tok.kind
        if kind == "COLON":
            raise malformed(self.text, tok.pos, "Bind variables only allowed in Apex code")
        if kind == "STRING":
            self.advance()
            return decode_string(tok.text, self.text, tok.pos)
        if kind == "NUMBER":
            self.advance()
            number: float | int = float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
            return Literal("number", number, tok.text, tok.pos)
        if kind == "DATETIME":
            self.advance()
            return Literal("datetime", parse_datetime(tok.text, self.text, tok.pos), tok.text, tok.pos)
        if kind == "DATE":
            self.advance()
            return Literal("date", parse_date(tok.text, self.text, tok.pos), tok.text, tok.pos)
        if kind == "RELDATE":
            name, _, n = tok.text.partition(":")
            if name.upper() not in N_DATE_LITERALS:
                raise self.unexpected()
            self.advance()
            return Literal("reldate", (name.upper(), int(n)), tok.text, tok.pos)
        if kind == "IDENT":
            word = tok.upper
            if word in ("TRUE", "FALSE"):
                self.advance()
                return Literal("boolean", word == "TRUE", tok.text, tok.pos)
            if word == "NULL":
                self.advance()
                return Literal("null", None, tok.text, tok.pos)
            if word in FIXED_DATE_LITERALS:
                self.advance()
                return Literal("reldate", (word, None), tok.text, tok.pos)
        raise self.unexpected()

    def order_list(self) -> tuple[OrderItem, ...]:
        items: list[OrderItem] = []
        while True:
            field = self.field_ref()
            descending = False
            if self.is_kw("ASC", "DESC"):
                descending = self.advance().upper == "DESC"
            nulls_first = not descending
            if self.is_kw("NULLS"):
                self.advance()
                if not self.is_kw("FIRST", "LAST"):
                    raise self.unexpected()
                nulls_first = self.advance().upper == "FIRST"
            items.append(OrderItem(field, descending, nulls_first))
            if self.tok.kind != "COMMA":
                return tuple(items)
            self.advance()

    def count_clause(self, word: str) -> tuple[int | None, int]:
        if not self.is_kw(word):
            return None, -1
        self.advance()
        tok = self.tok
        if tok.kind != "NUMBER" or not tok.text.isdigit():
            raise self.unexpected()
        self.advance()
        return int(tok.text), tok.pos


def parse(soql: str) -> Query:
    """Parse SOQL text (syntax only; field and object names are checked by ``compile_query``).

    Raises:
        SoqlError: MALFORMED_QUERY for anything outside the supported grammar.
    """
    return _Parser(soql).query()
