"""The safe expression language of monitoring rules: tokenizer, parser and syntax tree.

A rule's ``when`` is one expression, parsed here into a tree of frozen nodes; nothing is ever
handed to ``eval`` or ``compile``. The language (docs/monitor.md has the full table):

* literals: numbers (``50000``, ``0.5``, read as :class:`~decimal.Decimal`), strings in ``'…'`` or
  ``"…"``, ``true``, ``false``, ``null``, lists ``[a, b]``;
* names: a voucher field (``PayAmt``: read from the detail row when the row has it and it is not
  empty, else from the header), ``voucher.PayAmt`` (the header only), ``param.limit`` (a parameter
  of the rule);
* operators: ``or``, ``and``, ``not``, ``== != < <= > >=``, ``in``, ``not in``, ``matches``
  (a regular expression search), ``+ - *``;
* calls of the functions in :data:`FUNCTIONS` only (``len``, ``present``, ``own_account``,
  ``working_day``, ``quota``, ``payee_status``, and the aggregates ``sum_over`` / ``count_over``).

Anything else (attribute access, subscripts, ``__`` names, lambdas, unknown functions) is refused
at load time with :class:`~ezhifu.errors.ForbiddenExpression` naming the column. Limits:
:data:`MAX_EXPRESSION_CHARS` characters, :data:`MAX_DEPTH` nesting levels, :data:`MAX_NODES` nodes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ezhifu.errors import ForbiddenExpression, RuleLimitExceeded, RuleSyntaxError

__all__ = [
    "AGGREGATES",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPRESSION_CHARS",
    "MAX_NODES",
    "Aggregate",
    "BinOp",
    "BoolOp",
    "Call",
    "Compare",
    "Field",
    "ListLit",
    "Literal_",
    "Node",
    "Not",
    "Param",
    "parse",
    "walk",
]

#: An expression longer than this many characters is refused.
MAX_EXPRESSION_CHARS = 4000
#: Nesting deeper than this (parentheses, operators, calls) is refused.
MAX_DEPTH = 32
#: An expression with more syntax nodes than this is refused.
MAX_NODES = 500

#: Plain functions: name -> (min args, max args).
FUNCTIONS: dict[str, tuple[int, int]] = {
    "len": (1, 1),
    "present": (1, 1),
    "own_account": (2, 2),
    "working_day": (1, 1),
    "quota": (1, 6),
    "payee_status": (2, 2),
}
#: Window aggregates over the payment history and their keyword arguments.
AGGREGATES: dict[str, frozenset[str]] = {
    "sum_over": frozenset({"by", "days", "period", "where", "vt"}),
    "count_over": frozenset({"by", "days", "period", "where", "vt"}),
}
PERIODS = ("day", "month", "year")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<str>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\+|-|\*|=)
    """,
    re.VERBOSE,
)
_KEYWORDS = frozenset({"and", "or", "not", "in", "matches", "true", "false", "null"})
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True, slots=True)
class Node:
    """Base of the syntax tree; ``col`` is the 1-based column in the expression."""

    col: int


@dataclass(frozen=True, slots=True)
class Literal_(Node):
    value: Decimal | str | bool | None


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Field(Node):
    """A voucher field; ``header_only`` for ``voucher.X``."""

    name: str
    header_only: bool = False


@dataclass(frozen=True, slots=True)
class Param(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    op: Literal["and", "or"]
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare(Node):
    op: str  # one of _COMPARE, "in", "not in", "matches"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class BinOp(Node):
    op: Literal["+", "-", "*"]
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Aggregate(Node):
    """``sum_over(field, by=[...], days=N | period=..., where=..., vt=[...])`` or ``count_over(...)``.

    Compared by identity: each occurrence in a rule keeps its own window state.
    """

    name: str
    field: Field | None
    by: tuple[Field, ...]
    days: int | None
    period: str | None
    where: Node | None
    vt: tuple[str, ...]
    days_param: str | None = None


def walk(node: Node, *, into_foreign: bool = True) -> list[Node]:
    """``node`` and every node below it, depth first.

    With ``into_foreign=False`` the insides of aggregates over other VtCodes (``vt=``) are skipped.
    """
    out: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        if isinstance(current, ListLit):
            stack.extend(current.items)
        elif isinstance(current, Not):
            stack.append(current.operand)
        elif isinstance(current, BoolOp):
            stack.extend(current.operands)
        elif isinstance(current, (Compare, BinOp)):
            stack.extend((current.left, current.right))
        elif isinstance(current, Call):
            stack.extend(current.args)
        elif isinstance(current, Aggregate) and (into_foreign or not current.vt):
            stack.extend(current.by)
            if current.field is not None:
                stack.append(current.field)
            if current.where is not None:
                stack.append(current.where)
    return out


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # num, str, name, op, kw, end
    text: str
    col: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ForbiddenExpression(
                f"第 {pos + 1} 列: 不允许的字符 {text[pos]!r} / "
                f"column {pos + 1}: character {text[pos]!r} is not allowed",
                reason=f"character {text[pos]!r} not allowed",
            )
        kind = m.lastgroup or ""
        if kind != "ws":
            value = m.group()
            if kind == "name" and value in _KEYWORDS:
                kind = "kw"
            out.append(_Tok(kind, value, pos + 1))
        pos = m.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        self.nodes = 0

    # --- helpers --------------------------------------------------------------------------

    def peek(self, offset: int = 0) -> _Tok:
        return self.toks[min(self.i + offset, len(self.toks) - 1)]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def accept(self, text: str) -> bool:
        tok = self.peek()
        if tok.kind in ("op", "kw") and tok.text == text:
            self.take()
            return True
        return False

    def expect(self, text: str) -> _Tok:
        tok = self.peek()
        if tok.kind in ("op", "kw") and tok.text == text:
            return self.take()
        raise _syntax(tok, f"expected {text!r}")

    def enter(self, tok: _Tok) -> None:
        self.depth += 1
        self.nodes += 1
        if self.depth > MAX_DEPTH:
            raise RuleLimitExceeded(
                f"第 {tok.col} 列: 嵌套超过 {MAX_DEPTH} 层 / "
                f"column {tok.col}: nesting deeper than {MAX_DEPTH}",
                reason=f"nesting deeper than {MAX_DEPTH}",
            )
        if self.nodes > MAX_NODES:
            raise RuleLimitExceeded(
                f"表达式超过 {MAX_NODES} 个节点 / expression has more than {MAX_NODES} nodes",
                reason=f"more than {MAX_NODES} nodes",
            )

    # --- grammar --------------------------------------------------------------------------

    def expression(self) -> Node:
        tok = self.peek()
        self.enter(tok)
        try:
            return self.or_()
        finally:
            self.depth -= 1

    def or_(self) -> Node:
        return self._chain("or", self.and_)

    def and_(self) -> Node:
        return self._chain("and", self.not_)

    def _chain(self, op: Literal["and", "or"], operand: Callable[[], Node]) -> Node:
        """``operand (op operand)*``: one operand as itself, several as one :class:`BoolOp`."""
        first = operand()
        items = [first]
        while self.accept(op):
            items.append(operand())
        return first if len(items) == 1 else BoolOp(first.col, op, tuple(items))

    def not_(self) -> Node:
        tok = self.peek()
        if (
            tok.kind == "kw"
            and tok.text == "not"
            and not (self.peek(1).kind == "kw" and self.peek(1).text == "in")
        ):
            self.take()
            self.enter(tok)
            try:
                return Not(tok.col, self.not_())
            finally:
                self.depth -= 1
        return self.compare()

    def compare(self) -> Node:
        left = self.sum_()
        tok = self.peek()
        if tok.kind == "op" and tok.text in _COMPARE:
            self.take()
            return Compare(tok.col, tok.text, left, self.sum_())
        if tok.kind == "kw" and tok.text in ("in", "matches"):
            self.take()
            return Compare(tok.col, tok.text, left, self.sum_())
        if tok.kind == "kw" and tok.text == "not" and self.peek(1).text == "in":
            self.take()
            self.take()
            return Compare(tok.col, "not in", left, self.sum_())
        return left

    def sum_(self) -> Node:
        left = self.term()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            tok = self.take()
            op: Literal["+", "-"] = "+" if tok.text == "+" else "-"
            left = BinOp(tok.col, op, left, self.term())
        return left

    def term(self) -> Node:
        left = self.unary()
        while self.peek().kind == "op" and self.peek().text == "*":
            tok = self.take()
            left = BinOp(tok.col, "*", left, self.unary())
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text == "-":
            self.take()
            return BinOp(tok.col, "-", Literal_(tok.col, Decimal(0)), self.unary())
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Literal_(tok.col, Decimal(tok.text))
        if tok.kind == "str":
            return Literal_(tok.col, _unquote(tok.text))
        if tok.kind == "kw" and tok.text in ("true", "false", "null"):
            return Literal_(tok.col, {"true": True, "false": False, "null": None}[tok.text])
        if tok.kind == "op" and tok.text == "(":
            self.enter(tok)
            try:
                inner = self.expression()
            finally:
                self.depth -= 1
            self.expect(")")
            return inner
        if tok.kind == "op" and tok.text == "[":
            items: list[Node] = []
            if not self.accept("]"):
                items.append(self.expression())
                while self.accept(","):
                    items.append(self.expression())
                self.expect("]")
            return ListLit(tok.col, tuple(items))
        if tok.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(tok)
            return _name(tok)
        raise _syntax(tok, "expected a value" if tok.kind != "end" else "unexpected end of expression")

    def call(self, tok: _Tok) -> Node:
        name = tok.text
        if name not in FUNCTIONS and name not in AGGREGATES:
            raise ForbiddenExpression(
                f"第 {tok.col} 列: 不允许调用 {name}() / column {tok.col}: call of {name}() is not allowed "
                f"(allowed: {', '.join(sorted({*FUNCTIONS, *AGGREGATES}))})",
                reason=f"call of {name}() not allowed",
            )
        self.expect("(")
        self.enter(tok)
        try:
            args: list[Node] = []
            kwargs: dict[str, Node] = {}
            if not self.accept(")"):
                while True:
                    if self.peek().kind == "name" and self.peek(1).kind == "op" and self.peek(1).text == "=":
                        key = self.take()
                        self.take()
                        if key.text in kwargs:
                            raise _syntax(key, f"keyword {key.text!r} given twice")
                        kwargs[key.text] = self.expression()
                    elif kwargs:
                        raise _syntax(self.peek(), "positional argument after a keyword argument")
                    else:
                        args.append(self.expression())
                    if self.accept(")"):
                        break
                    self.expect(",")
        finally:
            self.depth -= 1
        if name in AGGREGATES:
            return _aggregate(tok, args, kwargs)
        low, high = FUNCTIONS[name]
        if kwargs:
            raise _syntax(tok, f"{name}() takes no keyword arguments")
        if not low <= len(args) <= high:
            raise _syntax(tok, f"{name}() takes {low}..{high} arguments, got {len(args)}")
        return Call(tok.col, name, tuple(args))


def _syntax(tok: _Tok, what: str) -> RuleSyntaxError:
    near = tok.text or "end"
    return RuleSyntaxError(
        f"第 {tok.col} 列 ({near!r} 处) 语法错误 / column {tok.col} near {near!r}: {what}",
        reason=what,
    )


def _name(tok: _Tok) -> Node:
    text = tok.text
    if "__" in text:
        raise ForbiddenExpression(
            f"第 {tok.col} 列: 不允许的名称 {text!r} / column {tok.col}: name {text!r} is not allowed",
            reason=f"name {text!r} not allowed",
        )
    parts = text.split(".")
    if len(parts) == 1:
        return Field(tok.col, text)
    if len(parts) == 2 and parts[0] == "param":
        return Param(tok.col, parts[1])
    if len(parts) == 2 and parts[0] == "voucher":
        return Field(tok.col, parts[1], header_only=True)
    raise ForbiddenExpression(
        f"第 {tok.col} 列: 不允许的属性访问 {text!r} / "
        f"column {tok.col}: attribute access {text!r} is not allowed "
        "(only param.NAME and voucher.FIELD)",
        reason=f"attribute access {text!r} not allowed",
    )


def _aggregate(tok: _Tok, args: list[Node], kwargs: dict[str, Node]) -> Aggregate:
    name = tok.text
    unknown = sorted(set(kwargs) - AGGREGATES[name])
    if unknown:
        raise _syntax(tok, f"{name}() has no keyword {', '.join(unknown)}")
    wanted = 1 if name == "sum_over" else 0
    if len(args) != wanted:
        raise _syntax(tok, f"{name}() takes {wanted} positional argument(s) (the field summed)")
    field = args[0] if args else None
    if field is not None and not isinstance(field, Field):
        raise _syntax(tok, f"{name}(): the first argument must be a voucher field")
    by_node = kwargs.get("by", ListLit(tok.col, ()))
    by_items = by_node.items if isinstance(by_node, ListLit) else (by_node,)
    if not all(isinstance(b, Field) for b in by_items):
        raise _syntax(tok, f"{name}(): by= must be a list of voucher fields")
    days_node = kwargs.get("days")
    days_param = days_node.name if isinstance(days_node, Param) else None
    days = None if days_param else _const_int(days_node, tok, "days")
    period = _const_str(kwargs.get("period"), tok, "period")
    if (days is None and days_param is None) == (period is None):
        raise _syntax(tok, f"{name}(): give exactly one of days=N or period='day'|'month'|'year'")
    if period is not None and period not in PERIODS:
        raise _syntax(tok, f"{name}(): period must be one of {', '.join(PERIODS)}")
    vt_node = kwargs.get("vt")
    vts: tuple[str, ...] = ()
    if vt_node is not None:
        items = vt_node.items if isinstance(vt_node, ListLit) else (vt_node,)
        if not all(isinstance(i, Literal_) and isinstance(i.value, str) for i in items):
            raise _syntax(tok, f"{name}(): vt= must be a list of VtCode strings")
        vts = tuple(str(i.value) for i in items if isinstance(i, Literal_))
    where = kwargs.get("where")
    if where is not None and any(isinstance(n, Aggregate) for n in walk(where)):
        raise _syntax(tok, f"{name}(): where= cannot contain another aggregate")
    return Aggregate(
        tok.col,
        name,
        field if isinstance(field, Field) else None,
        tuple(b for b in by_items if isinstance(b, Field)),
        days,
        period,
        where,
        vts,
        days_param,
    )


def _const_int(node: Node | None, tok: _Tok, what: str) -> int | None:
    if node is None:
        return None
    if (
        isinstance(node, Literal_)
        and isinstance(node.value, Decimal)
        and node.value == node.value.to_integral()
    ):
        return int(node.value)
    raise _syntax(tok, f"{what}= must be a whole number or a param.NAME")


def _const_str(node: Node | None, tok: _Tok, what: str) -> str | None:
    if node is None:
        return None
    if isinstance(node, Literal_) and isinstance(node.value, str):
        return node.value
    raise _syntax(tok, f"{what}= must be a string literal")


def parse(text: str) -> Node:
    """Parse one expression; raises a :class:`~ezhifu.errors.RuleFileError` subclass naming the column."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise RuleLimitExceeded(
            f"表达式超过 {MAX_EXPRESSION_CHARS} 个字符 / "
            f"expression longer than {MAX_EXPRESSION_CHARS} characters",
            reason=f"expression longer than {MAX_EXPRESSION_CHARS} characters",
        )
    parser = _Parser(text)
    node = parser.expression()
    tail = parser.peek()
    if tail.kind != "end":
        raise _syntax(tail, "unexpected text after the expression")
    return node
