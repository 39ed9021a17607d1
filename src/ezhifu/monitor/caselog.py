"""The case log: what was done with each alert, who did it, when and why — tamper-evident.

Every alert opened as a case and every handling step is one entry of the keystore's audit chain
(:class:`~ezhifu.keystore.audit.AuditLog`: SM3 hash chain, HMAC-SM3 per entry, anchored head,
SQLite storage), so an edited, deleted or reordered step is detected by :meth:`CaseLog.verify`.
Entry mapping: ``operation`` = ``case.<step>``, ``alias`` = case id (the alert id), ``position``
= rule id, ``vt_code`` / ``voucher_no`` of the voucher, ``actor`` = who, ``time`` = when,
``reason`` = why (for ``open``: the alert as JSON, evidence included).

Life cycle (reference §1.4: 预警 → 核实 → 确认违规 / 排除 → 纠正 → 结案)::

    open ─confirm→ confirmed ─correct→ corrected ─close→ closed
    open ─dismiss→ dismissed ─close→ closed        (confirmed ─close→ closed as well)

``note`` adds a remark in any state but ``closed``. Anything else raises
:class:`~ezhifu.errors.IllegalCaseTransition`. Reasons are at most :data:`MAX_REASON_CHARS` characters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ezhifu.errors import CaseLogError, IllegalCaseTransition
from ezhifu.keystore.audit import AuditEntry, AuditJournal
from ezhifu.monitor.alerts import Alert
from ezhifu.results import record_dict

__all__ = ["CASE_STATES", "MAX_REASON_CHARS", "Case", "CaseEvent", "CaseLog"]

CASE_STATES = ("open", "confirmed", "dismissed", "corrected", "closed")
MAX_REASON_CHARS = 2000
_STEPS: dict[str, tuple[frozenset[str], str | None]] = {
    "confirm": (frozenset({"open"}), "confirmed"),
    "dismiss": (frozenset({"open"}), "dismissed"),
    "correct": (frozenset({"confirmed"}), "corrected"),
    "close": (frozenset({"confirmed", "dismissed", "corrected"}), "closed"),
    "note": (frozenset({"open", "confirmed", "dismissed", "corrected"}), None),
}


@dataclass(frozen=True, slots=True)
class CaseEvent:
    time: str
    actor: str
    step: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"time": self.time, "actor": self.actor, "step": self.step, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Case:
    """One alert under handling: its state and every step taken."""

    case_id: str
    rule_id: str
    action: str
    voucher: str
    state: str
    alert: dict[str, Any]
    events: tuple[CaseEvent, ...]

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


class CaseLog(AuditJournal):
    """Alerts and their handling on an authenticated audit chain (see the module documentation)."""

    ACTOR = "monitor"

    def open(self, alert: Alert, *, actor: str = "monitor") -> Case:
        """Open a case for ``alert``; an alert already open (same id) returns its case unchanged."""
        existing = self._cases().get(alert.alert_id)
        if existing is not None:
            return existing
        ref = alert.voucher
        self._log.record(
            "case.open",
            "ok",
            actor=actor,
            alias=alert.alert_id,
            position=alert.rule_id,
            vt_code=ref.vt_code,
            voucher_no=ref.voucher_no,
            reason=alert.to_json(),
        )
        return self.case(alert.alert_id)

    def step(self, case_id: str, step: str, *, actor: str, reason: str) -> Case:
        """Record a handling step (``confirm``, ``dismiss``, ``correct``, ``close``, ``note``)."""
        if step not in _STEPS:
            raise IllegalCaseTransition(
                f"未知处理步骤 {step!r} / unknown step {step!r} (known: {sorted(_STEPS)})"
            )
        if not actor.strip() or not reason.strip():
            raise CaseLogError(
                f"案件 {case_id}: 须写明处理人和理由 / case {case_id}: who and why are required"
            )
        if len(reason) > MAX_REASON_CHARS:
            raise CaseLogError(
                f"案件 {case_id}: 理由超过 {MAX_REASON_CHARS} 字 / reason longer than {MAX_REASON_CHARS}"
            )
        case = self.case(case_id)
        allowed, _ = _STEPS[step]
        if case.state not in allowed:
            raise IllegalCaseTransition(
                f"案件 {case_id} 处于 {case.state}, 不能 {step} / "
                f"case {case_id} is {case.state}: cannot {step}"
            )
        self._log.record(
            f"case.{step}",
            "ok",
            actor=actor,
            alias=case_id,
            position=case.rule_id,
            vt_code=case.alert.get("voucher", {}).get("VtCode", ""),
            voucher_no=case.alert.get("voucher", {}).get("VoucherNo", ""),
            reason=reason,
        )
        return self.case(case_id)

    def confirm(self, case_id: str, *, actor: str, reason: str) -> Case:
        return self.step(case_id, "confirm", actor=actor, reason=reason)

    def dismiss(self, case_id: str, *, actor: str, reason: str) -> Case:
        return self.step(case_id, "dismiss", actor=actor, reason=reason)

    def correct(self, case_id: str, *, actor: str, reason: str) -> Case:
        return self.step(case_id, "correct", actor=actor, reason=reason)

    def close_case(self, case_id: str, *, actor: str, reason: str) -> Case:
        return self.step(case_id, "close", actor=actor, reason=reason)

    def case(self, case_id: str) -> Case:
        found = self._cases().get(case_id)
        if found is None:
            raise CaseLogError(f"没有案件 {case_id} / no case {case_id}")
        return found

    def cases(self, *, state: str | None = None) -> list[Case]:
        return [c for c in self._cases().values() if state is None or c.state == state]

    def _cases(self) -> dict[str, Case]:
        cases: dict[str, Case] = {}
        for entry in self._log.entries():
            if not entry.operation.startswith("case."):
                continue
            cases[entry.alias] = _apply(cases.get(entry.alias), entry)
        return cases


def _apply(case: Case | None, entry: AuditEntry) -> Case:
    step = entry.operation[len("case.") :]
    event = CaseEvent(entry.time, entry.actor, step, entry.reason if step != "open" else "alert opened")
    if step == "open" or case is None:
        try:
            alert = json.loads(entry.reason) if step == "open" else {}
        except ValueError:
            alert = {}
        return Case(
            entry.alias,
            entry.position,
            str(alert.get("action", "")),
            f"{entry.vt_code}/{entry.voucher_no}",
            "open",
            alert,
            (event,),
        )
    target = _STEPS.get(step, (frozenset(), None))[1]
    return Case(
        case.case_id,
        case.rule_id,
        case.action,
        case.voucher,
        target or case.state,
        case.alert,
        (*case.events, event),
    )
