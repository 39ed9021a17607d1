"""Fund monitoring inside the flow: run before signing (事前) and on receipt (事中) via the hooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow_support import ADM, IDS, YEAR, Network

from ezhifu.document.models import Voucher
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import HookRefused
from ezhifu.flow.status import RecordKey, State
from ezhifu.monitor import CaseLog, FlowMonitor, Monitor, RuleSet

PACK = """
[pack]
id = "flow-test"
version = "1"

[[rule]]
id = "HOLD_MARKED"
version = 1
level = 2
action = "HOLD"
source = "test"
applies_to = ["5201"]
scope = "voucher"
when = "Hold1 == 'hold-me'"
message = "held: {Hold1}"

[[rule]]
id = "BLACKLIST"
version = 1
level = 1
action = "BLOCK"
source = "test"
applies_to = ["5201"]
scope = "voucher"
stages = ["on_receipt"]
when = "PayeeAcctNo in param.accounts"
message = "blacklisted {PayeeAcctNo}"
params = { accounts = ["6222000000000666"] }

[[rule]]
id = "NOTE_ALL"
version = 1
level = 3
action = "PROMPT"
source = "test"
applies_to = ["5201"]
scope = "voucher"
when = "present(VoucherNo)"
message = "seen"
"""


def _voucher(seed: int, **header: str) -> Voucher:
    voucher = sample_voucher("5201", details=1, seed=seed)
    return voucher.replace(**header) if header else voucher


def test_pre_sign_hold_stops_the_send_and_opens_a_case(net: Network, tmp_path: Path) -> None:
    fin = net["finance"]
    cases = CaseLog(tmp_path / "cases.db", b"0123456789abcdef-key")
    hook = FlowMonitor(Monitor(RuleSet.from_text(PACK)), caselog=cases)
    fin.hooks = (hook,)
    held = _voucher(1, Hold1="hold-me")
    key = fin.save(held, to="bank")
    with pytest.raises(HookRefused, match="HOLD_MARKED"):
        fin.send("5201", [held.voucher_no], **IDS)
    record = fin.record(key)
    assert record is not None and record.state is State.DRAFT
    assert fin.body(key).signatures == []  # nothing was signed
    assert {c.rule_id for c in cases.cases()} == {"HOLD_MARKED", "NOTE_ALL"}
    clean = _voucher(2)
    fin.save(clean, to="bank")
    fin.send("5201", [clean.voucher_no], **IDS)  # PROMPT only: proceeds
    net.pump()
    assert fin.status(RecordKey("out", "0", ADM, YEAR, "5201", clean.voucher_no))[0] == 1
    assert [a.rule_id for a in hook.alerts].count("NOTE_ALL") == 2
    assert all(a.stage == "pre_sign" for a in hook.alerts)
    cases.close()


def test_on_receipt_block_rejects_the_voucher(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    hook = FlowMonitor(Monitor(RuleSet.from_text(PACK)), stages=("on_receipt",))
    bank.hooks = (hook,)
    bad = _voucher(3, PayeeAcctNo="6222000000000666")
    fin.save(bad, to="bank")
    fin.send("5201", [bad.voucher_no], **IDS)
    net.pump()
    assert bank.record(RecordKey("in", "0", ADM, YEAR, "5201", bad.voucher_no)) is None
    [rejection] = bank.rejections()
    assert "BLACKLIST" in rejection.reason and "6222000000000666" in rejection.reason
    assert fin.status(RecordKey("out", "0", ADM, YEAR, "5201", bad.voucher_no))[0] == 2  # 对方接收失败
    good = _voucher(4)
    fin.save(good, to="bank")
    fin.send("5201", [good.voucher_no], **IDS)
    net.pump()
    assert bank.record(RecordKey("in", "0", ADM, YEAR, "5201", good.voucher_no)) is not None
    assert {a.stage for a in hook.alerts} == {"on_receipt"}


def test_history_from_the_store_seeds_the_windows(net: Network) -> None:
    from ezhifu.monitor import MonitorContext
    from ezhifu.monitor.context import history_from_store

    fin = net["finance"]
    sent = [_voucher(10), _voucher(11)]
    for v in sent:
        fin.save(v, to="bank")
    fin.send("5201", [v.voucher_no for v in sent], **IDS)
    history = history_from_store(fin.store, vt_codes=["5201"])
    assert {v.voucher_no for v in history} == {v.voucher_no for v in sent}
    monitor = Monitor(RuleSet.from_text(PACK), MonitorContext(history=history))
    assert monitor.observe(sent[0]) is False  # already counted from the store


def test_receipt_mismatch_is_raised_on_receipt(net: Network) -> None:
    """The bank's 回单 pays less than the voucher: 财政's hook raises RECEIPT_MISMATCH on receipt."""
    fin, bank = net["finance"], net["bank"]
    hook = FlowMonitor(Monitor(RuleSet.example()), stages=("on_receipt",))
    fin.hooks = (hook,)
    voucher = _voucher(20)
    fin.save(voucher, to="bank")
    fin.send("5201", [voucher.voucher_no], **IDS)
    net.pump()
    bank.confirm("5201", [voucher.voucher_no], **IDS)
    net.pump()
    paid = voucher.pay_amt
    assert paid is not None
    short = f"{paid - 1:.2f}"
    bank.send_receipt("5201", voucher.voucher_no, **IDS, fields={"XPayAmt": short, "XPayDate": "20240506"})
    net.pump()
    [alert] = [a for a in hook.alerts if a.rule_id == "RECEIPT_MISMATCH"]
    assert alert.stage == "on_receipt" and alert.evidence.field("XPayAmt") == short
    assert fin.record(RecordKey("in", "1", ADM, YEAR, "5201", voucher.voucher_no)) is not None  # HOLD: kept
