"""The compiled fast path and the recording evaluator agree on every rule of the example pack."""

from __future__ import annotations

import sys
import threading
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from monitor_support import COMPANY, MONDAY, v8202

from ezhifu.monitor import Monitor, MonitorContext, RuleSet
from ezhifu.monitor.compiled import truthy
from ezhifu.monitor.engine import _RowSet

NAMES = st.sampled_from([COMPANY[0], "张三", "某某市教育局", "", "李四有限公司"])
MODES = st.sampled_from(["现金", "电子转账支付", "备用金", ""])
AMOUNTS = st.sampled_from(["0.00", "1.00", "49999.99", "50000.01", "99999.99", "5000000.00"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 9), NAMES, MODES, AMOUNTS, st.sampled_from(["", "4500.00"])),
        min_size=1,
        max_size=12,
    )
)
def test_fast_path_equals_the_recording_evaluator(items: list[tuple[int, str, str, str, str]]) -> None:
    ctx = MonitorContext(accounts={"101001": frozenset({"6217000000000123"})})
    monitor = Monitor(RuleSet.example(), ctx)
    for day, name, mode, amount, xpay in items:
        voucher = v8202(
            day=MONDAY + timedelta(days=day),
            amount=amount,
            payee=(name, "6217000000000123" if name == "张三" else COMPANY[1]),
            set_mode=("9", mode),
            XPayAmt=xpay,
        )
        rows = _RowSet(voucher)
        monitor.observe(voucher)
        for rule in monitor.rules.rules:
            for row in rows.of(rule.scope):
                fast = truthy(monitor._fast[id(rule)](row))
                rec, recording = monitor._recorder(rule)  # the closures that note the evidence
                rec.reset()
                slow = truthy(recording(row))
                assert fast == slow, (rule.id, voucher.voucher_no)


def test_alerts_checked_from_several_threads_keep_their_own_evidence() -> None:
    """Each thread notes an alert's evidence in its own recorder: run together, the threads give
    exactly the alerts (with their evidence) that one thread gives alone."""
    ctx = MonitorContext(accounts={"101001": frozenset({"6217000000000123"})})
    monitor = Monitor(RuleSet.example(), ctx)
    vouchers = [
        v8202(
            day=MONDAY + timedelta(days=n % 5),
            amount=("50000.01", "1.00", "99999.99", "4500.00")[n % 4],
            payee=(("张三", "6217000000000123"), COMPANY, ("李四有限公司", f"62220000000{n:05d}"))[n % 3],
            set_mode=("9", ("现金", "备用金", "电子转账支付")[n % 3]),
            VoucherNo=f"T{n:04d}",
        )
        for n in range(24)
    ]
    monitor.run(vouchers)  # windows filled and payees learnt: from here on a run reads only
    expected = [a.to_dict() for a in monitor.run(vouchers)]
    assert expected and any(a["evidence"]["fields"] for a in expected)
    results: list[list[dict[str, object]]] = []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [
            threading.Thread(target=lambda: results.append([a.to_dict() for a in monitor.run(vouchers)]))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert len(results) == 4 and all(result == expected for result in results)
