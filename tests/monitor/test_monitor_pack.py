"""Each rule of the example pack: a voucher that fires it and one that does not (issue 18 "Must show")."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from monitor_support import AGENCY, COMPANY, MONDAY, PAY_ACCT, example_with, fired, v8202

from ezhifu.monitor import MonitorContext, RuleSet, WorkCalendar

CASH = ("3", "现金")
PERSON = ("张三", "6217000000000123")


def test_example_pack_loads_with_every_rule_the_issue_names() -> None:
    rules = RuleSet.example()
    ids = {r.id for r in rules.rules}
    assert {
        "SELF_ACCOUNT",
        "CASH_SINGLE",
        "CASH_DAILY",
        "CASH_ANNUAL",
        "PERSONAL_PAYEE_LARGE",
        "SPLIT_UNDER_THRESHOLD",
        "NON_WORKING_DAY",
        "OVER_QUOTA",
        "NEW_OR_CHANGED_PAYEE",
        "DUPLICATE_PAYMENT",
        "RECEIPT_MISMATCH",
    } <= ids
    assert all(r.source and r.action in ("PROMPT", "HOLD", "BLOCK") for r in rules.rules)
    assert "not official" in rules.info.notice


def test_self_account_by_register_and_by_name() -> None:
    ctx = MonitorContext(accounts={AGENCY[0]: frozenset({"11001010100000009"})})
    own = v8202(payee=("某某市教育局基本户", "11001010100000009"))
    same_name = v8202(payee=(AGENCY[1], "6222999900000001"))
    hits = fired("SELF_ACCOUNT", [own, same_name], ctx)
    assert [a.voucher.voucher_no for a in hits] == [own.voucher_no, same_name.voucher_no]
    assert hits[0].evidence.lookups == ((f"own_account({AGENCY[0]}, 11001010100000009)", "true"),)
    assert hits[0].voucher.detail == 1
    assert hits[0].action == "HOLD"
    assert fired("SELF_ACCOUNT", [v8202()], ctx) == []


def test_cash_single() -> None:
    hit = fired("CASH_SINGLE", [v8202(amount="60000.00", set_mode=CASH)])
    assert len(hit) == 1
    assert hit[0].evidence.field("PayAmt") == "60000.00"
    assert hit[0].message == "单笔提现 60000.00 元超过 50000.00 元 (结算方式 现金)"
    assert fired("CASH_SINGLE", [v8202(amount="40000.00", set_mode=CASH)]) == []
    assert fired("CASH_SINGLE", [v8202(amount="60000.00")]) == []  # transfer, not cash


def test_cash_daily_sums_the_same_day_only() -> None:
    same_day = [v8202(amount="40000.00", set_mode=CASH) for _ in range(3)]
    hits = fired("CASH_DAILY", same_day)
    assert [a.voucher.voucher_no for a in hits] == [same_day[2].voucher_no]
    agg = hits[0].evidence.aggregates[0]
    assert (agg.value, agg.count, agg.window) == ("120000.00", 3, "1 days 2026-03-02..2026-03-02")
    spread = [v8202(amount="40000.00", set_mode=CASH, day=MONDAY + timedelta(days=i)) for i in range(3)]
    assert fired("CASH_DAILY", spread) == []


def test_cash_annual() -> None:
    days = [date(2026, 1, 5) + timedelta(days=i) for i in range(21)]
    year = [v8202(amount="49000.00", set_mode=CASH, day=d) for d in days]
    hits = fired("CASH_ANNUAL", year)
    assert [a.voucher.voucher_no for a in hits] == [year[20].voucher_no]
    assert hits[0].evidence.aggregates[0].value == "1029000.00"
    assert hits[0].evidence.aggregates[0].window == "year 2026"
    assert fired("CASH_ANNUAL", year[:20]) == []


def test_personal_payee_large() -> None:
    assert len(fired("PERSONAL_PAYEE_LARGE", [v8202(amount="60000.00", payee=PERSON)])) == 1
    assert fired("PERSONAL_PAYEE_LARGE", [v8202(amount="60000.00")]) == []  # a company
    assert fired("PERSONAL_PAYEE_LARGE", [v8202(amount="40000.00", payee=PERSON)]) == []
    assert fired("PERSONAL_PAYEE_LARGE", [v8202(amount="60000.00", payee=("市财政局", "1"))]) == []


def test_split_payments_under_threshold() -> None:
    three = [v8202(amount="40000.00", day=MONDAY + timedelta(days=i * 2)) for i in range(3)]
    hits = fired("SPLIT_UNDER_THRESHOLD", three)
    assert [a.voucher.voucher_no for a in hits] == [three[2].voucher_no]
    count, total = hits[0].evidence.aggregates
    assert (count.value, total.value) == ("3", "120000.00")
    assert count.group == (("PayAcctNo", PAY_ACCT[0]), ("PayeeAcctNo", COMPANY[1]))
    assert set(count.vouchers) == {f"8202/{v.voucher_no}" for v in three}
    assert fired("SPLIT_UNDER_THRESHOLD", three[:2]) == []
    spread = [v8202(amount="40000.00", day=MONDAY + timedelta(days=i * 5)) for i in range(3)]
    assert fired("SPLIT_UNDER_THRESHOLD", spread) == []
    # one large payment among small ones does not count towards the split
    mixed = [v8202(amount="40000.00"), v8202(amount="150000.00"), v8202(amount="40000.00")]
    assert fired("SPLIT_UNDER_THRESHOLD", mixed) == []


def test_non_working_day_with_the_callers_calendar() -> None:
    saturday = MONDAY - timedelta(days=2)
    holiday = date(2026, 10, 1)
    workday_saturday = date(2026, 9, 26)
    ctx = MonitorContext(
        calendar=WorkCalendar(holidays=frozenset({holiday}), workdays=frozenset({workday_saturday}))
    )
    hits = fired("NON_WORKING_DAY", [v8202(day=saturday), v8202(day=holiday), v8202(day=MONDAY)], ctx)
    assert [a.evidence.field("VouDate") for a in hits] == [saturday.isoformat(), holiday.isoformat()]
    assert fired("NON_WORKING_DAY", [v8202(day=workday_saturday)], ctx) == []
    assert len(fired("NON_WORKING_DAY", [v8202(XPayDate=saturday)], ctx)) == 1  # paid on a weekend


def test_over_plan_against_the_quota_table() -> None:
    ctx = MonitorContext(quotas={(AGENCY[0], "P001"): __import__("decimal").Decimal("100000.00")})
    hits = fired("OVER_PLAN", [v8202(amount="60000.00"), v8202(amount="50000.00")], ctx)
    assert len(hits) == 1
    assert hits[0].evidence.aggregates[0].value == "110000.00"
    assert fired("OVER_PLAN", [v8202(amount="60000.00")], ctx) == []
    assert fired("OVER_PLAN", [v8202(amount="600000.00")]) == []  # no quota known: no alert


def test_new_or_changed_payee() -> None:
    ctx = MonitorContext(payees={COMPANY[0]: frozenset({COMPANY[1]})})
    changed = v8202(payee=(COMPANY[0], "6222000000000777"))
    hits = fired("NEW_OR_CHANGED_PAYEE", [v8202(), changed], ctx)
    assert [a.voucher.voucher_no for a in hits] == [changed.voucher_no]
    assert hits[0].evidence.lookups[0][1] == "changed"
    # the changed account is learnt: the next payment to it is known
    assert (
        fired("NEW_OR_CHANGED_PAYEE", [changed, v8202(payee=(COMPANY[0], "6222000000000777"))], ctx)[1:] == []
    )


def test_duplicate_payment_window_is_not_chained() -> None:
    first, second = v8202(amount="8800.00"), v8202(amount="8800.00", day=MONDAY + timedelta(days=2))
    hits = fired("DUPLICATE_PAYMENT", [first, second])
    assert [a.voucher.voucher_no for a in hits] == [second.voucher_no]
    assert set(hits[0].evidence.aggregates[0].vouchers) == {
        f"8202/{first.voucher_no}",
        f"8202/{second.voucher_no}",
    }
    # 0, 3 and 6 days: each later payment pairs only with the one 3 days before, never "6 days within 3"
    chain = [v8202(amount="9900.00", day=MONDAY + timedelta(days=d)) for d in (0, 6)]
    assert fired("DUPLICATE_PAYMENT", chain) == []
    other_purpose = [v8202(amount="8800.00"), v8202(amount="8800.00", summary="差旅费")]
    assert fired("DUPLICATE_PAYMENT", other_purpose) == []


def test_receipt_mismatch_and_unpaid_detail() -> None:
    receipt = v8202(amount="5000.00", XPayAmt="4500.00", XPayeeAcctNo=COMPANY[1])
    hits = fired("RECEIPT_MISMATCH", [receipt], stage="on_receipt")
    assert len(hits) == 1
    assert hits[0].evidence.field("XPayAmt") == "4500.00"
    assert (
        fired("RECEIPT_MISMATCH", [v8202(amount="5000.00", XPayAmt="5000.00", XPayeeAcctNo=COMPANY[1])]) == []
    )
    wrong_acct = v8202(amount="5000.00", XPayAmt="5000.00", XPayeeAcctNo="6222000000000999")
    assert len(fired("RECEIPT_MISMATCH", [wrong_acct])) == 1
    assert fired("RECEIPT_MISMATCH", [receipt], stage="pre_sign") == []  # not a pre-sign rule
    rows = [
        {
            "Id": "D1",
            "PayeeAcctName": COMPANY[0],
            "PayeeAcctNo": COMPANY[1],
            "PayAmt": "100.00",
            "XPayAmt": "100.00",
        },
        {
            "Id": "D2",
            "PayeeAcctName": "李四",
            "PayeeAcctNo": "1",
            "PayAmt": "200.00",
            "XPayAmt": "0.00",
            "XAddWord": "账户不存在",
        },
    ]
    unpaid = fired("RECEIPT_DETAIL_UNPAID", [v8202(amount="300.00", details=rows)])
    assert [(a.voucher.detail, a.voucher.detail_id, a.message) for a in unpaid] == [
        (2, "D2", "明细未支付: 账户不存在")
    ]


def test_purpose_too_short_and_large_authorized() -> None:
    assert len(fired("PURPOSE_TOO_SHORT", [v8202(summary="购")])) == 1
    assert fired("PURPOSE_TOO_SHORT", [v8202()]) == []
    assert len(fired("LARGE_AUTHORIZED_PAYMENT", [v8202(amount="5000000.00")])) == 1
    assert fired("LARGE_AUTHORIZED_PAYMENT", [v8202(amount="4999999.99")]) == []
    assert fired("LARGE_AUTHORIZED_PAYMENT", [v8202(amount="5000000.00", vt="5201")]) == []  # 8202 only


def test_blacklist_reads_detail_rows() -> None:
    rules = example_with({"params = { accounts = [] }": 'params = { accounts = ["6222000000000666"] }'})
    rows = [
        {"Id": "D1", "PayeeAcctName": COMPANY[0], "PayeeAcctNo": COMPANY[1], "PayAmt": "100.00"},
        {"Id": "D2", "PayeeAcctName": "某公司", "PayeeAcctNo": "6222000000000666", "PayAmt": "200.00"},
    ]
    hits = fired("PAYEE_BLACKLIST", [v8202(amount="300.00", details=rows)], rules=rules)
    assert [(a.voucher.detail, a.action) for a in hits] == [(2, "BLOCK")]
    assert fired("PAYEE_BLACKLIST", [v8202()], rules=rules) == []


@pytest.mark.parametrize("stage", ["pre_sign", "on_receipt", "batch"])
def test_alert_json_is_stable(stage: str) -> None:
    alert = fired("CASH_SINGLE", [v8202(amount="60000.00", set_mode=CASH)], stage=stage)[0]
    data = alert.to_dict()
    assert data["stage"] == stage
    assert data["voucher"]["VtCode"] == "8202"
    assert data["evidence"]["fields"]["PayAmt"] == "60000.00"
    assert alert.to_json() == __import__("json").dumps(data, ensure_ascii=False, sort_keys=True)
    assert "CASH_SINGLE" in alert.explain()
