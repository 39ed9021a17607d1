"""The outage register, emergency (paper) payments and back-filled vouchers, and the drill."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flow_support import Network

from ezhifu.contingency import BACKFILL_MARK, ContingencyRegister, backfill_voucher, run_drill
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import AuditChainBroken, RegisterError

KEY = b"register-test-key-0123456789"


def _payment(register: ContingencyRegister, outage_id: str, serial: str = "P-0001"):  # type: ignore[no-untyped-def]
    return register.record_emergency_payment(
        outage_id,
        paper_serial=serial,
        vt_code="5201",
        amount="12345.60",
        payer_acct_no="11001010100000001",
        payee_acct_name="某某科技有限公司",
        payee_acct_no="6222000000000001",
        hand_signers=["经办 张三", "复核 李四"],
        seal_refs=["财务专用章(实物)"],
        approval_ref="应急审批-2026-001",
        bank_txn_no="TXN0001",
        paid_on=date(2026, 3, 2),
        recorded_by="张三",
    )


def test_outage_payment_and_backfill_linked_both_ways(tmp_path: Path) -> None:
    register = ContingencyRegister(tmp_path / "register.db", KEY)
    outage = register.declare_outage(
        "seal_service", declared_by="李科长", approval_ref="审批-1", notes="印章服务宕机"
    )
    assert outage.ended is None and outage.scope == "seal_service"
    payment = _payment(register, outage.outage_id)
    template = sample_voucher("5201", details=1, seed=5)
    rows = [dict(template.details[0].fields) | {"PayAmt": "12345.60", "PayeeAcctNo": "6222000000000001"}]
    voucher = backfill_voucher(payment, dict(template.fields) | {"VoucherNo": "5201BF0001"}, details=rows)
    assert voucher.get("Hold2") == BACKFILL_MARK + "P-0001"
    assert voucher.vou_date == date(2026, 3, 2) and voucher.pay_amt == Decimal("12345.60")
    linked = register.link_backfill(payment.payment_id, voucher, by="王补录")
    assert (linked.backfill_voucher_no, linked.backfilled_by) == (voucher.voucher_no, "王补录")
    found = register.payment_for_voucher(voucher)
    assert found is not None and found.payment_id == payment.payment_id
    assert register.payment_for_voucher(template) is None
    with pytest.raises(RegisterError, match="already"):
        register.link_backfill(payment.payment_id, voucher, by="王补录")
    ended = register.end_outage(outage.outage_id, ended_by="李科长")
    assert ended.ended is not None and ended.ended_by == "李科长"
    with pytest.raises(RegisterError):
        register.end_outage(outage.outage_id, ended_by="李科长")
    assert [e["operation"] for e in register.events()] == [
        "outage.declare",
        "payment.record",
        "payment.backfill",
        "outage.end",
    ]
    assert register.verify().count == 4
    register.close()


def test_refusals(tmp_path: Path) -> None:
    register = ContingencyRegister(tmp_path / "r.db", KEY)
    with pytest.raises(RegisterError):
        register.declare_outage("meteor", declared_by="a")
    with pytest.raises(RegisterError):
        _payment(register, "OUT-unknown")
    outage = register.declare_outage("network", declared_by="a")
    payment = _payment(register, outage.outage_id)
    with pytest.raises(RegisterError, match="already recorded"):
        _payment(register, outage.outage_id)  # the same paper slip twice
    wrong = backfill_voucher(payment, dict(sample_voucher("5201", details=1, seed=6).fields)).replace(
        PayAmt="1.00"
    )
    with pytest.raises(RegisterError, match="PayAmt"):
        register.link_backfill(payment.payment_id, wrong, by="b")
    unmarked = backfill_voucher(payment, dict(sample_voucher("5201", details=1, seed=6).fields)).replace(
        Hold2=""
    )
    with pytest.raises(RegisterError, match="Hold2"):
        register.link_backfill(payment.payment_id, unmarked, by="b")
    with pytest.raises(RegisterError):
        register.declare_outage("network", declared_by=" ")
    register.close()


def test_an_edited_register_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    register = ContingencyRegister(path, KEY)
    outage = register.declare_outage("network", declared_by="a")
    _payment(register, outage.outage_id)
    register.close()
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        table = next(t for t in tables if "entr" in t or "audit" in t)
        db.execute(f"update {table} set reason = replace(reason, '12345.60', '99999.99')")
    with pytest.raises(AuditChainBroken):
        ContingencyRegister(path, KEY).verify()


def test_drill_report(net: Network, tmp_path: Path) -> None:
    register = ContingencyRegister(tmp_path / "register.db", KEY)

    def set_link(up: bool) -> None:
        net.transport.link_up = up  # type: ignore[attr-defined]

    vouchers = [sample_voucher("5201", details=1, seed=90 + i) for i in range(4)]
    report = run_drill(net["finance"], net["bank"], set_link=set_link, register=register, vouchers=vouchers)
    assert [s.name for s in report.steps] == [
        "baseline",
        "outage_queued",
        "resync_during_outage",
        "offline_export",
        "offline_import",
        "duplicate_refused",
        "acknowledgement",
        "emergency_payment",
        "recovery",
        "no_duplicates",
    ]
    assert report.ok, report.to_markdown()
    json_path, md_path = report.write(tmp_path / "reports")
    data = json.loads(json_path.read_text("utf-8"))
    assert data["ok"] is True and data["steps"][2]["data"] == {"lost": 2, "delivered": 1}
    assert "通过 / PASSED" in md_path.read_text("utf-8")
    ops = [e["operation"] for e in register.events()]
    assert ops[0] == "outage.declare" and "package.export" in ops and "payment.backfill" in ops
    assert ops[-1] == "drill.run"
    assert register.outages()[0].ended is not None
    register.verify()
    register.close()
