"""The one evaluator of rule expressions: an expression tree turned into nested Python closures.

:func:`compile_expr` walks a parsed expression once (:mod:`ezhifu.monitor.expr`) and returns a
function of a row, without a per-node dispatch at each call. No source text is generated and
nothing is ``eval``-ed or ``compile``-d: each node becomes a closure over its children. Compiled
without a :class:`Recorder` it is the fast path :class:`~ezhifu.monitor.engine.Monitor` uses to
decide whether a rule fires and whether a row enters a window; compiled with one, the same
closures also note the evidence of an alert (the fields read, the aggregates computed, the context
looked up), so deciding and explaining cannot disagree (tests/monitor check it on the example pack
and on random vouchers). The value helpers (:func:`ordered`, :func:`arith`, :func:`truthy`) are here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from ezhifu.document.models import parse_date
from ezhifu.errors import InvalidInput
from ezhifu.monitor.alerts import AggregateEvidence, Evidence, show
from ezhifu.monitor.expr import (
    Aggregate,
    BinOp,
    BoolOp,
    Call,
    Compare,
    Field,
    ListLit,
    Literal_,
    Node,
    Not,
    Param,
)
from ezhifu.monitor.rules import Rule

__all__ = [
    "Fast",
    "Recorder",
    "RowLike",
    "arith",
    "coerce",
    "compile_expr",
    "ordered",
    "pattern_of",
    "truthy",
]

Value = Any


class RowLike(Protocol):
    def get(self, name: str, header_only: bool = False) -> Value: ...


class Recorder:
    """The evidence of one evaluation: field values read (``voucher.`` before a header-only
    name), aggregates computed, context look-ups made; :meth:`reset` before each evaluation."""

    def __init__(self) -> None:
        self.fields: dict[str, str | None] = {}
        self.aggregates: list[AggregateEvidence] = []
        self.lookups: dict[str, str | None] = {}

    def reset(self) -> None:
        self.fields.clear()
        self.aggregates.clear()
        self.lookups.clear()

    def evidence(self) -> Evidence:
        return Evidence(tuple(self.fields.items()), tuple(self.aggregates), tuple(self.lookups.items()))


class _Env(Protocol):
    def aggregate_value(self, agg: Aggregate, row: Any, rule: Rule, rec: Recorder | None) -> Value: ...

    def call_value(self, node: Call, args: list[Value], rec: Recorder | None) -> Value: ...


Fast = Callable[[Any], Value]


def compile_expr(node: Node, rule: Rule, env: _Env, rec: Recorder | None = None) -> Fast:
    """A closure computing ``node`` for a row, noting the evidence in ``rec`` when given
    (see the module documentation)."""
    if isinstance(node, Field):
        return _field(node, rec)
    if isinstance(node, Literal_):
        literal = node.value
        return lambda row: literal
    if isinstance(node, Param):
        param = rule.params[node.name]
        return lambda row: param
    if isinstance(node, BoolOp):
        return _boolop(node, rule, env, rec)
    if isinstance(node, Not):
        inner = compile_expr(node.operand, rule, env, rec)
        return lambda row: not truthy(inner(row))
    if isinstance(node, Compare):
        return _compare(node, rule, env, rec)
    if isinstance(node, BinOp):
        op = node.op
        left, right = compile_expr(node.left, rule, env, rec), compile_expr(node.right, rule, env, rec)
        return lambda row: arith(op, left(row), right(row))
    if isinstance(node, ListLit):
        items = [compile_expr(i, rule, env, rec) for i in node.items]
        return lambda row: tuple(f(row) for f in items)
    if isinstance(node, Aggregate):
        agg = node
        return lambda row: env.aggregate_value(agg, row, rule, rec)
    if isinstance(node, Call):
        call, args = node, [compile_expr(a, rule, env, rec) for a in node.args]
        return lambda row: env.call_value(call, [f(row) for f in args], rec)
    raise InvalidInput(f"unknown expression node {type(node).__name__}")  # pragma: no cover


def _field(node: Field, rec: Recorder | None) -> Fast:
    name, header_only = node.name, node.header_only
    if rec is None:
        return lambda row: row.get(name, header_only)
    fields, label = rec.fields, ("voucher." if header_only else "") + name

    def noted(row: Any) -> Value:
        value = row.get(name, header_only)
        fields[label] = show(value)
        return value

    return noted


def _boolop(node: BoolOp, rule: Rule, env: _Env, rec: Recorder | None) -> Fast:
    parts = [compile_expr(o, rule, env, rec) for o in node.operands]
    if node.op == "and":

        def all_of(row: Any) -> bool:
            return all(truthy(part(row)) for part in parts)

        return all_of

    def any_of(row: Any) -> bool:
        return any(truthy(part(row)) for part in parts)

    return any_of


def _compare(node: Compare, rule: Rule, env: _Env, rec: Recorder | None) -> Fast:
    left = compile_expr(node.left, rule, env, rec)
    op = node.op
    if op == "matches":
        pattern = pattern_of(node, rule)

        def matches(row: Any) -> bool:
            value = left(row)
            return isinstance(value, str) and pattern.search(value) is not None

        return matches
    right = compile_expr(node.right, rule, env, rec)
    if op in ("in", "not in"):
        member = _member(node.right, rule)
        if op == "in":
            return lambda row: member(left(row), right(row))
        return lambda row: not member(left(row), right(row))
    return lambda row: ordered(op, left(row), right(row))


def _member(right_node: Node, rule: Rule) -> Callable[[Value, Value], bool]:
    """Membership, with a parameter list turned into a set once for string look-ups."""
    as_set: frozenset[str] | None = None
    if isinstance(right_node, Param) and isinstance(rule.params[right_node.name], tuple):
        as_set = frozenset(show(v) or "" for v in rule.params[right_node.name])  # type: ignore[union-attr]

    def member(left: Value, right: Value) -> bool:
        return is_member(left, right, as_set)

    return member


def is_member(left: Value, right: Value, as_set: frozenset[str] | None = None) -> bool:
    """``left in right`` as the language defines it (see :mod:`ezhifu.monitor.expr`)."""
    if left is None:
        return False
    if isinstance(right, str):
        return isinstance(left, str) and left in right
    if not isinstance(right, tuple):
        return False
    if isinstance(left, str) and as_set is not None:
        return left in as_set
    return any(ordered("==", left, item) for item in right)


def pattern_of(node: Compare, rule: Rule) -> re.Pattern[str]:
    right = node.right
    text = (
        right.value
        if isinstance(right, Literal_)
        else rule.params[right.name]
        if isinstance(right, Param)
        else ""
    )
    return rule.patterns[str(text)]


def truthy(value: Value) -> bool:
    return bool(value) if not isinstance(value, Decimal) else value != 0


def coerce(left: Value, right: Value) -> tuple[Value, Value]:
    """Make a Decimal/date comparable with a string parameter (``"50000.00"``, ``"2026-01-01"``)."""
    if isinstance(left, str) and isinstance(right, (Decimal, date)):
        right, left = coerce(right, left)
        return left, right
    if isinstance(left, Decimal) and isinstance(right, str):
        try:
            return left, Decimal(right)
        except InvalidOperation:
            return str(left), right
    if isinstance(left, date) and isinstance(right, str):
        try:
            return left, date.fromisoformat(right) if "-" in right else parse_date(right)
        except (ValueError, InvalidInput):
            return left.isoformat(), right
    return left, right


def ordered(op: str, left: Value, right: Value) -> bool:
    left, right = coerce(left, right)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
        if op == ">":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        return False  # values of kinds that do not order (a code against an amount)


def arith(op: str, left: Value, right: Value) -> Value:
    left, right = coerce(left, right)
    if not isinstance(left, Decimal) or not isinstance(right, Decimal):
        return None
    return left + right if op == "+" else left - right if op == "-" else left * right
