"""What a validation issue says: its reason (the real rule), its bounded value excerpt, and the
element-order check of the ``strict`` level.

Kept apart from :mod:`ezhifu.document.validation` (which walks the documents) so the wording of
every rule lives in one place:

* a value is quoted as at most :data:`MAX_EXCERPT` characters followed by ``…`` (a
  ``VoucherBody`` holds kilobytes of Base64: an issue never quotes it whole);
* envelope attribute issues name the attribute (``/MOF/VoucherBody[1]/@StYear``) and the
  rule of spec.md §2.1 (``StYear``: 4 digits; ``AdmDivCode``: 6 digits, or 9);
* at the ``strict`` level an element out of the type's order (spec.md §4; for 5214 the order
  of the real messages, spec.md §4.4) is one ``element-order`` issue per parent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ezhifu.document.fields import FieldDef
from ezhifu.document.xsdgen import AMOUNT, PARTNER_AMOUNT, Level, field_pattern

__all__ = [
    "ATTRIBUTE_RULES",
    "MAX_EXCERPT",
    "attribute_of",
    "attribute_reason",
    "classify",
    "excerpt",
    "order_violation",
]

#: Longest value excerpt an issue quotes (characters), then ``…``.
MAX_EXCERPT = 64

#: The rule of each ``VoucherBody`` attribute (spec.md §2.1), as a report states it.
ATTRIBUTE_RULES: dict[str, tuple[str, str]] = {
    "AdmDivCode": ("6 位数字（或 9 位）的行政区划代码", "6 ASCII digits (or 9), the administrative division"),
    "StYear": ("4 位数字的业务年度", "4 ASCII digits (yyyy), the budget year"),
    "VtCode": ("4 位字母或数字的凭证类型", "4 ASCII letters or digits, the voucher type"),
    "VoucherNo": ("1 至 60 个字符的凭证号", "1 to 60 characters, the voucher number"),
}

_ATTRIBUTE = re.compile(r"attribute ([A-Za-z_][A-Za-z0-9_:.-]*)=")
# xmlschema's wording for a missing and for an undeclared attribute
_MISSING = re.compile(r"missing required attribute '([^']{1,64})'")
_UNKNOWN = re.compile(r"'([^']{1,64})' attribute not allowed")

_AMOUNT_RULE = {
    "partner": "an amount of at most 15 integer digits and at most two decimals (0, 2.0, 2.00)",
    "strict": "an amount with exactly two decimals and at most 15 integer digits (2.00)",
}


def excerpt(value: str | None, limit: int = MAX_EXCERPT) -> str | None:
    """``value`` cut to ``limit`` characters plus ``…`` (``None`` stays ``None``)."""
    if value is None or len(value) <= limit:
        return value
    return value[:limit] + "…"


def attribute_of(reason: str) -> tuple[str, str] | None:
    """(attribute name, problem) of an xmlschema reason about an attribute, problem being
    ``"value"`` (``attribute StYear='…': …``), ``"missing"`` or ``"unknown"``; else ``None``."""
    for regex, problem in ((_ATTRIBUTE, "value"), (_MISSING, "missing"), (_UNKNOWN, "unknown")):
        match = regex.match(reason)
        if match:
            return match.group(1), problem
    return None


def attribute_reason(name: str, problem: str = "value") -> str:
    """The reason for a ``VoucherBody`` attribute that is missing, unknown or breaks its rule."""
    rule = ATTRIBUTE_RULES.get(name)
    if rule is None or problem == "unknown":
        return f"VoucherBody 不允许属性 {name} / attribute {name} is not allowed on VoucherBody"
    if problem == "missing":
        return f"缺少必需属性 {name}（{rule[0]}）/ required attribute {name} ({rule[1]}) is missing"
    return f"{name} 应为{rule[0]} / {name} must be {rule[1]}"


def classify(f: FieldDef, value: str, level: Level = "partner") -> tuple[str, str]:
    """(code, reason) for a value the XSD of ``level`` refused; the reason states the rule."""
    label = f"{f.name} ({f.label})"
    if value == "" and f.required:
        return "required-empty", f"{label} is required and must not be empty"
    if f.name == "VtCode":
        return "vtcode-mismatch", f"{label} does not match the schema's VtCode"
    if f.name in ("StYear", "AdmDivCode"):
        return "value-format", f"{label} must be {ATTRIBUTE_RULES[f.name][1]}"
    if f.type == "amount":
        unsigned = value[1:] if value.startswith("-") else value
        negative = not f.negative and value.startswith("-")
        # "-2.00": only the sign is wrong; "-1" is reported as a format issue (stable codes)
        if negative and unsigned and _amount_ok(unsigned, "strict"):
            return "negative-amount", f"{label} must not be negative in this voucher type"
        pattern = field_pattern(f, level)
        sign = "; negative amounts are not allowed in this voucher type" if negative else ""
        return "amount-format", f"{label} is not {_AMOUNT_RULE[level]} ({pattern}, level {level}){sign}"
    if f.type == "date":
        return "date-format", f"{label} is not a date yyyyMMdd of 8 ASCII digits"
    if f.type == "int":
        return "int-format", f"{label} is not an integer of at most 10 ASCII digits"
    pattern = field_pattern(f, level)
    if pattern is not None:
        return "value-format", f"{label} does not match {pattern}"
    if len(value) > f.limit():
        return "max-length", f"{label} is {len(value)} characters long, more than {f.limit()}"
    return "value-format", f"{label} is not a valid value"


def _amount_ok(text: str, level: Level) -> bool:
    return re.fullmatch(AMOUNT if level == "strict" else PARTNER_AMOUNT, text) is not None


def order_violation(tags: Sequence[str], defs: Sequence[FieldDef]) -> tuple[int, str] | None:
    """The first child out of the type's order: (its index in ``tags``, reason), or ``None``.

    Only known, first occurrences count (unknown and duplicated elements are their own issues).
    """
    rank = {f.name: i for i, f in enumerate(defs)}
    seen: set[str] = set()
    last_rank = -1
    last_tag = ""
    for index, tag in enumerate(tags):
        position = rank.get(tag)
        if position is None or tag in seen:
            continue
        seen.add(tag)
        if position < last_rank:
            return index, (
                f"<{tag}> stands after <{last_tag}>; the strict level wants the order of the field "
                f"table (docs/fields.md), where {tag} comes first"
            )
        last_rank, last_tag = position, tag
    return None
