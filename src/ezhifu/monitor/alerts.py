"""Explainable alerts: one result type, with the voucher, the detail row and the evidence.

An :class:`Alert` says which rule fired (id, version, level, action, its legal ``source``), at
which stage (``pre_sign`` 事前, ``on_receipt`` 事中, ``batch`` 事后), on which voucher and detail
row (:class:`VoucherRef`), why (:class:`Evidence`: every field value the expression read, every
window aggregate it computed with the vouchers in the window, every context table look-up) and
a Chinese message rendered from the rule's template. ``to_dict`` / ``to_json`` give a stable,
JSON-ready shape; :func:`exit_code` maps a list of alerts to the CLI exit code
(0 none, 10 prompt only, 20 hold, 30 block).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ezhifu.results import record_dict

__all__ = ["EXIT_CODES", "AggregateEvidence", "Alert", "Evidence", "VoucherRef", "exit_code", "worst_action"]

#: CLI exit code by the strongest action among the alerts (reference §1.6).
EXIT_CODES: Mapping[str | None, int] = {None: 0, "PROMPT": 10, "HOLD": 20, "BLOCK": 30}
_RANK = {"PROMPT": 1, "HOLD": 2, "BLOCK": 3}


def show(value: object) -> str | None:
    """A value as evidence text: amounts with two decimals, whole numbers as given, dates ISO."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:  # a whole number parameter or count: 3, not 3.00
            return str(value)
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list, frozenset, set)):
        return "[" + ", ".join(show(v) or "" for v in value) + "]"
    return str(value)


@dataclass(frozen=True, slots=True)
class VoucherRef:
    """Which voucher (the four envelope identifiers and ``Id``) and which detail row (1-based)."""

    adm_div_code: str
    st_year: str
    vt_code: str
    voucher_no: str
    id: str = ""
    detail: int | None = None
    detail_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "AdmDivCode": self.adm_div_code,
            "StYear": self.st_year,
            "VtCode": self.vt_code,
            "VoucherNo": self.voucher_no,
            "Id": self.id,
            "detail": self.detail,
            "detail_id": self.detail_id,
        }

    def __str__(self) -> str:
        row = f" detail {self.detail}" if self.detail is not None else ""
        return f"{self.vt_code}/{self.voucher_no}{row}"


@dataclass(frozen=True, slots=True)
class AggregateEvidence:
    """One ``sum_over`` / ``count_over``: its group, window, value and the vouchers counted."""

    function: str
    field: str | None
    group: tuple[tuple[str, str], ...]
    window: str
    value: str
    count: int
    vouchers: tuple[str, ...]
    vt: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "field": self.field,
            "group": dict(self.group),
            "window": self.window,
            "value": self.value,
            "count": self.count,
            "vouchers": list(self.vouchers),
            "vt": list(self.vt),
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """Field values read (``name -> text``), aggregates computed, context look-ups made."""

    fields: tuple[tuple[str, str | None], ...] = ()
    aggregates: tuple[AggregateEvidence, ...] = ()
    lookups: tuple[tuple[str, str | None], ...] = ()

    def field(self, name: str) -> str | None:
        for key, value in self.fields:
            if key == name:
                return value
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fields": dict(self.fields),
            "aggregates": [a.to_dict() for a in self.aggregates],
            "lookups": dict(self.lookups),
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """One rule firing on one voucher (row); see the module documentation."""

    rule_id: str
    rule_version: int
    level: int
    category: str
    action: str
    source: str
    stage: str
    voucher: VoucherRef
    message: str
    evidence: Evidence
    pack: str = ""

    @property
    def alert_id(self) -> str:
        """Stable id: the same rule version on the same voucher row gives the same id."""
        ref = self.voucher
        text = "|".join(
            (
                self.pack,
                self.rule_id,
                str(self.rule_version),
                ref.adm_div_code,
                ref.st_year,
                ref.vt_code,
                ref.voucher_no,
                ref.id,
                str(ref.detail or 0),
            )
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self, alert_id=self.alert_id)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    def explain(self) -> str:
        """A few lines for people: the message, the rule and the evidence."""
        lines = [
            f"[{self.action} L{self.level}] {self.rule_id} v{self.rule_version} "
            f"{self.voucher}: {self.message}"
        ]
        lines.append(f"  依据 / source: {self.source}")
        for name, value in self.evidence.fields:
            lines.append(f"  {name} = {value}")
        for agg in self.evidence.aggregates:
            group = ", ".join(f"{k}={v}" for k, v in agg.group)
            lines.append(
                f"  {agg.function}({agg.field or ''}) by {group or '-'} over {agg.window} = {agg.value} "
                f"({agg.count} rows: {', '.join(agg.vouchers)})"
            )
        for name, value in self.evidence.lookups:
            lines.append(f"  {name} -> {value}")
        return "\n".join(lines)


def worst_action(alerts: Iterable[Alert]) -> str | None:
    """The strongest action among ``alerts`` (``None`` when there is none)."""
    best: str | None = None
    for alert in alerts:
        if best is None or _RANK[alert.action] > _RANK[best]:
            best = alert.action
    return best


def exit_code(alerts: Iterable[Alert]) -> int:
    return EXIT_CODES[worst_action(alerts)]
