"""The case log: alerts opened as cases, handled with who/when/why, tamper-evident (audit chain)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from monitor_support import fired, v8202

from ezhifu.errors import AuditChainBroken, CaseLogError, IllegalCaseTransition
from ezhifu.monitor import CaseLog

KEY = b"case-log-test-key-0123456789"


def _alert(amount: str = "60000.00"):  # type: ignore[no-untyped-def]
    return fired("CASH_SINGLE", [v8202(amount=amount, set_mode=("3", "现金"))])[0]


def test_open_confirm_correct_close_with_who_when_why(tmp_path: Path) -> None:
    clock = iter(datetime(2026, 3, 2, 9, m, tzinfo=UTC) for m in range(10))
    log = CaseLog(tmp_path / "cases.db", KEY, clock=lambda: next(clock))
    alert = _alert()
    case = log.open(alert)
    assert case.state == "open" and case.case_id == alert.alert_id
    assert case.alert["evidence"]["fields"]["PayAmt"] == "60000.00"
    assert log.open(alert) == case  # idempotent: the same alert is one case
    log.confirm(case.case_id, actor="王审核", reason="核实: 单位未说明提现用途")
    log.correct(case.case_id, actor="王审核", reason="凭证退回, 改为转账")
    closed = log.close_case(case.case_id, actor="李科长", reason="整改完成")
    assert closed.state == "closed"
    assert [(e.step, e.actor) for e in closed.events] == [
        ("open", "monitor"),
        ("confirm", "王审核"),
        ("correct", "王审核"),
        ("close", "李科长"),
    ]
    assert closed.events[1].time.startswith("2026-03-02T09:01")
    assert closed.events[1].reason == "核实: 单位未说明提现用途"
    log.close()
    again = CaseLog(tmp_path / "cases.db", KEY)  # persisted in SQLite
    assert again.case(case.case_id).state == "closed"
    assert again.verify().count == 4
    assert [c.case_id for c in again.cases(state="closed")] == [case.case_id]
    again.close()


def test_illegal_steps_are_refused(tmp_path: Path) -> None:
    log = CaseLog(tmp_path / "c.db", KEY)
    case = log.open(_alert())
    with pytest.raises(IllegalCaseTransition):
        log.correct(case.case_id, actor="a", reason="not confirmed yet")
    log.dismiss(case.case_id, actor="a", reason="误报: 阈值设置过低")
    with pytest.raises(IllegalCaseTransition):
        log.confirm(case.case_id, actor="a", reason="too late")
    with pytest.raises(CaseLogError):
        log.step(case.case_id, "note", actor="", reason="anonymous")
    with pytest.raises(CaseLogError):
        log.step(case.case_id, "note", actor="a", reason="x" * 5000)
    with pytest.raises(CaseLogError):
        log.case("no-such-case")
    with pytest.raises(IllegalCaseTransition):
        log.step(case.case_id, "delete", actor="a", reason="b")
    log.close()


def test_an_edited_case_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    log = CaseLog(path, KEY)
    case = log.open(_alert())
    log.dismiss(case.case_id, actor="王审核", reason="误报")
    log.close()
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        table = next(t for t in tables if "entr" in t or "audit" in t)
        db.execute(f"update {table} set reason = '确认违规' where reason = '误报'")
    tampered = CaseLog(path, KEY)
    with pytest.raises(AuditChainBroken):
        tampered.verify()
    tampered.close()
