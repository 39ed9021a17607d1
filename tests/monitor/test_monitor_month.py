"""A generated month of 5106/5108 quotas, 2301 applications and 8202 payments (issue 18 "Must show").

The month is built so that the over-quota and split-payment alerts are known in advance; the
test checks that exactly those fire, and that their evidence carries the right aggregates.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from monitor_support import COMPANY, apply_2301, fired, quota_5106, quota_5108, v8202

from ezhifu.document.envelope import Envelope
from ezhifu.document.models import Voucher
from ezhifu.monitor import Monitor, RuleSet

MARCH = [date(2026, 3, 1) + timedelta(days=i) for i in range(31)]
DEPTS = [("101001", "2050101"), ("101002", "2080201"), ("101003", "2100301")]


def month() -> tuple[list[Voucher], list[tuple[int, str, Decimal]]]:
    """Vouchers in date order, and the (day index, dept, cumulative) where 2301 goes over quota."""
    rng = random.Random(18)
    out: list[Voucher] = [
        quota_5106(MARCH[0], [(d, e, "300000.00") for d, e in DEPTS]),
        quota_5108(MARCH[0], [(d, e, "200000.00") for d, e in DEPTS]),
    ]
    used = dict.fromkeys(DEPTS, Decimal(0))
    overs: list[tuple[int, str, Decimal]] = []
    for i, day in enumerate(MARCH[1:], 1):
        rows = []
        for dept in DEPTS:
            # dept 101003 spends fast and passes its 500,000 quota mid-month
            amount = Decimal(rng.randint(50, 120) * 100) if dept[0] != "101003" else Decimal(45000)
            used[dept] += amount
            rows.append((dept[0], dept[1], f"{amount:.2f}"))
            if used[dept] > 500000:
                overs.append((i, dept[0], used[dept]))
        out.append(apply_2301(day, rows))
        if i == 15:  # a top-up of the 5108 quota for 101003 half-way through
            out.append(quota_5108(day, [("101003", "2100301", "100000.00")]))
        out.append(
            v8202(day=day, amount=f"{rng.randint(1, 90) * 1000}.00", payee=(f"供应商{i}", f"62220{i:011d}"))
        )
    return out, overs


def test_over_quota_over_a_month() -> None:
    vouchers, overs = month()
    hits = fired("OVER_QUOTA", vouchers)
    # after the top-up the quota is 600,000: the first crossing of 500,000 (day 12) alerts until the top-up,
    # then again once 600,000 is passed
    expected = [(i, d, u) for i, d, u in overs if u > (600000 if i >= 15 else 500000)]
    assert [(a.voucher.detail, a.evidence.aggregates[0].value) for a in hits] == [
        (3, f"{u:.2f}") for _, _, u in expected
    ]
    first = hits[0]
    used, plan, direct = first.evidence.aggregates
    assert used.group == (("SupDepCode", "101003"), ("ExpFuncCode", "2100301"))
    assert used.window == "month 2026-03"
    assert (plan.value, plan.vt, direct.value, direct.vt) == ("300000.00", ("5106",), "200000.00", ("5108",))
    assert first.action == "BLOCK"
    assert "超过本月清算额度 300000.00 + 200000.00" in first.message
    after_top_up = [a for a in hits if a.evidence.aggregates[2].value == "300000.00"]
    assert after_top_up and all(Decimal(a.evidence.aggregates[0].value) > 600000 for a in after_top_up)
    assert all(a.voucher.vt_code == "2301" for a in hits)


def test_split_payments_in_the_month() -> None:
    vouchers, _ = month()
    # a supplier paid 4 × 30,000 on days 20, 22, 23 and 25: the 4th-day window of 7 days holds all
    splits = [
        v8202(day=MARCH[d], amount="30000.00", payee=COMPANY, summary=f"维修{d}") for d in (20, 22, 23, 25)
    ]
    merged = sorted(vouchers + splits, key=lambda v: v.vou_date or date.min)
    hits = fired("SPLIT_UNDER_THRESHOLD", merged)
    assert [a.voucher.voucher_no for a in hits] == [splits[3].voucher_no]
    count, total = hits[0].evidence.aggregates
    assert (count.value, total.value) == ("4", "120000.00")
    assert count.window == "7 days 2026-03-20..2026-03-26"
    assert sorted(count.vouchers) == sorted(f"8202/{v.voucher_no}" for v in splits)
    assert "合计 120000.00 元" in hits[0].message


def test_the_month_through_envelopes_and_history() -> None:
    """Windows seeded from history give the same alerts as a straight run."""
    vouchers, _ = month()
    envelopes = [Envelope.from_bytes(Envelope.build([v]).to_bytes()).bodies[0].voucher for v in vouchers]
    straight = [a.alert_id for a in Monitor(RuleSet.example()).run(envelopes) if a.rule_id == "OVER_QUOTA"]
    from ezhifu.monitor import MonitorContext

    half = len(envelopes) // 2
    seeded = Monitor(RuleSet.example(), MonitorContext(history=tuple(envelopes[:half])))
    later = [a.alert_id for a in seeded.run(envelopes[half:]) if a.rule_id == "OVER_QUOTA"]
    assert later and set(later) <= set(straight)
    checked_twice = Monitor(RuleSet.example())
    once = [a for a in checked_twice.run(envelopes) if a.rule_id == "OVER_QUOTA"]
    twice = [a for a in checked_twice.run(envelopes) if a.rule_id == "OVER_QUOTA"]
    # already counted: the windows do not grow, so the month total is the same the second time
    assert once[-1].evidence.aggregates[0].value == twice[-1].evidence.aggregates[0].value == "1350000.00"
