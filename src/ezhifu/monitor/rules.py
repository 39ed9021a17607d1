"""Monitoring rules as data: a TOML rule pack, validated against a JSON Schema, then checked.

A pack (docs/monitor.md; the example pack is ``ezhifu/monitor/packs/example.toml``)::

    [pack]
    id = "example"
    version = "2026.1"

    [[rule]]
    id = "CASH_SINGLE"
    version = 1
    level = 2                      # 1 一级 … 3 三级
    action = "HOLD"                # PROMPT 自动提示 | HOLD 先提示后冻结 | BLOCK 拦截
    source = "…the local 办法 and article…"
    applies_to = ["5201", "8202"]  # VtCodes; empty or absent: every modelled type
    scope = "detail"               # evaluate per detail row (header fields visible) or per voucher
    when = "SetModeCode in param.cash_codes and PayAmt > param.limit"
    message = "单笔提现 {PayAmt} 元超过 {param.limit} 元"
    params = { cash_codes = ["3"], limit = "50000.00" }

Loading refuses, each with the line and the reason (:class:`~ezhifu.errors.RuleFileError`):
bad TOML (:class:`~ezhifu.errors.RuleSyntaxError`), a pack that breaks the schema
(:class:`~ezhifu.errors.RuleSchemaError`), an expression naming a field that the rule's
voucher types do not have (:class:`~ezhifu.errors.UnknownRuleField`), anything outside the
safe expression set (:class:`~ezhifu.errors.ForbiddenExpression`) and anything over a limit
(:class:`~ezhifu.errors.RuleLimitExceeded`: :data:`MAX_RULES` rules, :data:`MAX_WINDOW_DAYS`
days of window, :data:`MAX_FILE_BYTES` bytes). Fields are those of spec.md §4 as modelled in
:mod:`ezhifu.document.fields`.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ezhifu.document.fields import SCHEMA_VERSIONS, known_vt_codes, spec_for
from ezhifu.errors import (
    ForbiddenExpression,
    RuleFileError,
    RuleLimitExceeded,
    RuleSchemaError,
    RuleSyntaxError,
    UnknownRuleField,
)
from ezhifu.monitor.expr import Aggregate, Compare, Field, Literal_, Node, Param, parse, walk

__all__ = [
    "ACTIONS",
    "MAX_FILE_BYTES",
    "MAX_PATTERN_CHARS",
    "MAX_RULES",
    "MAX_WINDOW_DAYS",
    "STAGES",
    "PackInfo",
    "ParamValue",
    "Rule",
    "RuleSet",
    "example_pack_path",
]

#: A pack with more rules is refused.
MAX_RULES = 200
#: A ``days=`` window wider than this is refused (one year and a day).
MAX_WINDOW_DAYS = 366
#: A rule file larger than this is refused before parsing.
MAX_FILE_BYTES = 1 << 20
#: A ``matches`` pattern longer than this is refused.
MAX_PATTERN_CHARS = 300

#: Actions, mildest first (M4 自动提示 / 先提示后冻结, M7 拦截并退回).
ACTIONS: tuple[str, ...] = ("PROMPT", "HOLD", "BLOCK")
STAGES: tuple[str, ...] = ("pre_sign", "on_receipt", "batch")

ParamValue = Decimal | str | bool | tuple[Decimal | str, ...]
_AMOUNT = re.compile(r"^-?[0-9]+(\.[0-9]{1,2})?$")


@dataclass(frozen=True, slots=True)
class PackInfo:
    id: str
    version: str
    title: str = ""
    notice: str = ""
    origin: str = "<string>"


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """One checked rule; ``when`` is the parsed expression, ``line`` where it starts in the file."""

    id: str
    version: int
    level: int
    category: str
    action: Literal["PROMPT", "HOLD", "BLOCK"]
    source: str
    applies_to: frozenset[str]
    scope: Literal["voucher", "detail"]
    stages: frozenset[str]
    when: Node
    when_text: str
    message: str
    params: Mapping[str, ParamValue]
    line: int
    aggregates: tuple[Aggregate, ...] = ()
    patterns: Mapping[str, re.Pattern[str]] = field(default_factory=dict)

    def window_days(self, agg: Aggregate) -> int | None:
        """The ``days=`` of ``agg`` with a ``param.NAME`` resolved."""
        if agg.days_param is not None:
            return int(self.params[agg.days_param])  # type: ignore[arg-type]  # checked at load
        return agg.days

    def applies(self, vt_code: str, stage: str) -> bool:
        return (not self.applies_to or vt_code in self.applies_to) and stage in self.stages


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A loaded, checked rule pack."""

    info: PackInfo
    rules: tuple[Rule, ...]

    @classmethod
    def load(cls, path: str | Path) -> RuleSet:
        """Read and check a TOML rule pack (see the module documentation)."""
        p = Path(path)
        try:
            size = p.stat().st_size
            if size > MAX_FILE_BYTES:
                raise RuleLimitExceeded(
                    f"{p}: 规则文件超过 {MAX_FILE_BYTES} 字节 / rule file larger than {MAX_FILE_BYTES} bytes",
                    reason="file too large",
                )
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleSyntaxError(f"{p}: 无法读取规则文件 / cannot read the rule file: {exc}") from exc
        return cls.from_text(text, origin=str(p))

    @classmethod
    def example(cls) -> RuleSet:
        """The example pack shipped with ezhifu (thresholds are parameters, none official)."""
        return cls.load(example_pack_path())

    @classmethod
    def from_text(cls, text: str, *, origin: str = "<string>") -> RuleSet:
        if len(text.encode("utf-8")) > MAX_FILE_BYTES:
            raise RuleLimitExceeded(
                f"{origin}: 规则文件过大 / rule file larger than {MAX_FILE_BYTES} bytes",
                reason="file too large",
            )
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            line = int(m.group(1)) if m else None
            raise RuleSyntaxError(
                f"{origin}:{line or '?'}: TOML 语法错误 / TOML syntax error: {exc}",
                line=line,
                reason=str(exc),
            ) from exc
        lines = _LineMap(text)
        _validate_schema(data, lines, origin)
        raw_rules = data["rule"]
        if len(raw_rules) > MAX_RULES:
            raise RuleLimitExceeded(
                f"{origin}: {len(raw_rules)} 条规则超过上限 {MAX_RULES} / more than {MAX_RULES} rules",
                line=lines.rule_line(MAX_RULES),
                reason=f"more than {MAX_RULES} rules",
            )
        rules: list[Rule] = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_rules):
            where = f"{origin}:{lines.rule_line(index)}"
            if raw["id"] in seen:
                raise RuleSchemaError(
                    f"{where}: 规则 {raw['id']} 重复 / rule id {raw['id']} given twice",
                    line=lines.rule_line(index),
                    reason="duplicate rule id",
                )
            seen.add(raw["id"])
            if raw.get("enabled", True):
                rules.append(_build_rule(raw, index, lines, origin))
        pack = data["pack"]
        info = PackInfo(pack["id"], pack["version"], pack.get("title", ""), pack.get("notice", ""), origin)
        return cls(info, tuple(rules))

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def example_pack_path() -> Path:
    """Path of the shipped example pack ``packs/example.toml``."""
    return Path(str(resources.files("ezhifu.monitor") / "packs" / "example.toml"))


class _LineMap:
    """Line numbers of ``[[rule]]`` tables and keys in them (tomllib keeps no positions)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.starts = [i + 1 for i, ln in enumerate(self.lines) if ln.strip().startswith("[[rule]]")]

    def rule_line(self, index: int) -> int | None:
        return self.starts[index] if 0 <= index < len(self.starts) else None

    def key_line(self, index: int, key: str) -> int | None:
        start = self.rule_line(index)
        if start is None:
            return None
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.lines) + 1
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=|[{{,]\s*{re.escape(key)}\s*=")
        for number in range(start, end):
            if pattern.search(self.lines[number - 1]):
                return number
        return start


def _validate_schema(data: Mapping[str, Any], lines: _LineMap, origin: str) -> None:
    # reason: jsonschema is an optional dependency (extra "monitor"), loaded only to check a pack
    import jsonschema

    schema = json.loads((resources.files("ezhifu.monitor") / "rules.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    error = errors[0]
    path = list(error.absolute_path)
    line: int | None = None
    if len(path) >= 2 and path[0] == "rule" and isinstance(path[1], int):
        line = lines.key_line(path[1], str(path[2])) if len(path) >= 3 else lines.rule_line(path[1])
    shown = "/".join(str(p) for p in path) or "(top)"
    raise RuleSchemaError(
        f"{origin}:{line or '?'}: 规则文件不符合模式 / "
        f"rule file breaks the schema at {shown}: {error.message}",
        line=line,
        reason=f"{shown}: {error.message}",
    )


def _params(raw: Mapping[str, Any]) -> dict[str, ParamValue]:
    out: dict[str, ParamValue] = {}
    for name, value in raw.items():
        out[name] = _param_value(value) if not isinstance(value, list) else tuple(_scalar(v) for v in value)
    return out


def _param_value(value: Any) -> ParamValue:
    return value if isinstance(value, bool) else _scalar(value)


def _scalar(value: Any) -> Decimal | str:
    if isinstance(value, int):
        return Decimal(value)
    text = str(value)
    return Decimal(text) if _AMOUNT.match(text) and "." in text else text


def _fields_of(vt_codes: Sequence[str]) -> tuple[set[str], set[str]]:
    """(header fields, all fields) of the given VtCodes over every schema version."""
    header: set[str] = set()
    every: set[str] = set()
    for vt in vt_codes:
        for version in SCHEMA_VERSIONS:
            spec = spec_for(vt, version)
            if spec is None:
                continue
            header.update(f.name for f in spec.header)
            every.update(f.name for f in spec.header)
            every.update(f.name for f in spec.detail)
    return header, every


def _build_rule(raw: Mapping[str, Any], index: int, lines: _LineMap, origin: str) -> Rule:
    rule_id = raw["id"]
    when_line = lines.key_line(index, "when")
    applies = tuple(raw.get("applies_to", ()))
    modelled = set(known_vt_codes())
    for vt in applies:
        if vt not in modelled:
            line = lines.key_line(index, "applies_to")
            raise UnknownRuleField(
                f"{origin}:{line}: 规则 {rule_id}: 未建模的凭证类型 {vt} / "
                f"rule {rule_id}: VtCode {vt} is not modelled",
                line=line,
                reason=f"VtCode {vt} not modelled",
            )
    try:
        node = parse(raw["when"])
    except RuleFileError as exc:
        raise type(exc)(
            f"{origin}:{when_line}: 规则 {rule_id}: {exc}", line=when_line, reason=exc.reason
        ) from exc
    params = _params(raw.get("params", {}))
    scope = raw.get("scope", "detail")
    _check_names(
        node, rule_id, applies or tuple(sorted(modelled)), params, scope, f"{origin}:{when_line}", when_line
    )
    aggregates = tuple(n for n in walk(node) if isinstance(n, Aggregate))
    for agg in aggregates:
        days = agg.days
        if agg.days_param is not None:
            value = params[agg.days_param]
            days = int(value) if isinstance(value, Decimal) and value == value.to_integral() else -1
        if days is not None and not 1 <= days <= MAX_WINDOW_DAYS:
            raise RuleLimitExceeded(
                f"{origin}:{when_line}: 规则 {rule_id}: 窗口 {days} 天超出 1..{MAX_WINDOW_DAYS} / "
                f"window of {days} days outside 1..{MAX_WINDOW_DAYS} (a whole number)",
                line=when_line,
                reason=f"window of {days} days",
            )
    patterns = _patterns(node, params, rule_id, f"{origin}:{when_line}", when_line)
    _check_message(raw["message"], params, rule_id, origin, lines.key_line(index, "message"))
    return Rule(
        id=rule_id,
        version=raw["version"],
        level=raw["level"],
        category=raw.get("category", ""),
        action=raw["action"],
        source=raw["source"],
        applies_to=frozenset(applies),
        scope=scope,
        stages=frozenset(raw.get("stages", STAGES)),
        when=node,
        when_text=raw["when"],
        message=raw["message"],
        params=params,
        line=lines.rule_line(index) or 0,
        aggregates=aggregates,
        patterns=patterns,
    )


def _check_names(
    node: Node,
    rule_id: str,
    vts: Sequence[str],
    params: Mapping[str, ParamValue],
    scope: str,
    where: str,
    line: int | None,
) -> None:
    header, every = _fields_of(vts)
    checks: list[tuple[list[Node], set[str], set[str]]] = [(walk(node, into_foreign=False), header, every)]
    for agg in (n for n in walk(node) if isinstance(n, Aggregate)):
        if agg.vt:
            h, e = _fields_of(agg.vt)
            parts: list[Node] = [
                *agg.by,
                *([agg.field] if agg.field else []),
                *([agg.where] if agg.where else []),
            ]
            checks.append(([x for p in parts for x in walk(p)], h, e))
        if agg.days_param is not None and agg.days_param not in params:
            checks.append(([Param(agg.col, agg.days_param)], header, every))
    for nodes, h, e in checks:
        for n in nodes:
            if isinstance(n, Field):
                known = h if (n.header_only or scope == "voucher") else e
                if n.name not in known:
                    raise UnknownRuleField(
                        f"{where}: 规则 {rule_id}: 第 {n.col} 列: 未知字段 {n.name} / "
                        f"rule {rule_id}, column {n.col}: "
                        f"unknown field {n.name} for VtCode {', '.join(vts)}"
                        + (" (scope=voucher reads header fields only)" if scope == "voucher" else ""),
                        line=line,
                        reason=f"unknown field {n.name}",
                    )
            elif isinstance(n, Param) and n.name not in params:
                raise UnknownRuleField(
                    f"{where}: 规则 {rule_id}: 第 {n.col} 列: 未定义参数 param.{n.name} / rule {rule_id}, "
                    f"column {n.col}: parameter param.{n.name} is not defined",
                    line=line,
                    reason=f"undefined parameter {n.name}",
                )


def _patterns(
    node: Node, params: Mapping[str, ParamValue], rule_id: str, where: str, line: int | None
) -> dict[str, re.Pattern[str]]:
    out: dict[str, re.Pattern[str]] = {}
    for n in walk(node):
        if not (isinstance(n, Compare) and n.op == "matches"):
            continue
        right = n.right
        if isinstance(right, Literal_) and isinstance(right.value, str):
            text = right.value
        elif isinstance(right, Param) and isinstance(params.get(right.name), str):
            text = str(params[right.name])
        else:
            raise ForbiddenExpression(
                f"{where}: 规则 {rule_id}: 第 {n.col} 列: matches 右侧须为字符串 / column {n.col}: "
                "the right side of matches must be a string literal or string parameter",
                line=line,
                reason="matches needs a constant pattern",
            )
        if len(text) > MAX_PATTERN_CHARS:
            raise RuleLimitExceeded(
                f"{where}: 规则 {rule_id}: 正则过长 / pattern longer than {MAX_PATTERN_CHARS}",
                line=line,
                reason="pattern too long",
            )
        try:
            out[text] = re.compile(text)
        except re.error as exc:
            raise RuleSyntaxError(
                f"{where}: 规则 {rule_id}: 正则错误 / bad pattern {text!r}: {exc}", line=line, reason=str(exc)
            ) from exc
    return out


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}")


def _check_message(
    message: str, params: Mapping[str, ParamValue], rule_id: str, origin: str, line: int | None
) -> None:
    for name in _PLACEHOLDER.findall(message):
        if name.startswith("param.") and name[6:] not in params:
            raise UnknownRuleField(
                f"{origin}:{line}: 规则 {rule_id}: 消息引用未定义参数 {name} / "
                f"message names undefined {name}",
                line=line,
                reason=f"message names undefined {name}",
            )
