"""Context files, history seeding, hostile values, and windows against a brute-force count."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from monitor_support import COMPANY, MONDAY, fired, v8202

from ezhifu.document.envelope import Envelope
from ezhifu.errors import ContextFileError
from ezhifu.monitor import Monitor, MonitorContext, RuleSet

PACK = """
[pack]
id = "w"
version = "1"

[[rule]]
id = "WINDOW"
version = 1
level = 3
action = "PROMPT"
source = "test"
applies_to = ["8202"]
scope = "voucher"
when = "sum_over(PayAmt, by=[PayeeAcctNo], days=5) >= 0"
message = "{agg1}"
"""


def test_context_file_with_history(tmp_path: Path) -> None:
    history = tmp_path / "history"
    history.mkdir()
    old = v8202(amount="8800.00", day=MONDAY - timedelta(days=1))
    (history / "old.xml").write_bytes(Envelope.build([old]).to_bytes())
    ctx_file = tmp_path / "ctx.toml"
    ctx_file.write_text(
        'history = ["history"]\n[accounts]\n"101001" = ["1"]\n'
        '[[quota]]\nkey = ["101001", "P001"]\nremaining = "5.00"\n'
        '[calendar]\nholidays = ["2026-03-03"]\nworkdays = []\n[payees]\n"某" = ["2"]\n',
        encoding="utf-8",
    )
    ctx = MonitorContext.load(ctx_file)
    assert ctx.accounts == {"101001": frozenset({"1"})}
    assert ctx.quotas == {("101001", "P001"): Decimal("5.00")}
    assert not ctx.calendar.is_working_day(date(2026, 3, 3))
    assert [v.voucher_no for v in ctx.history] == [old.voucher_no]
    # yesterday's payment from the history makes today's the duplicate
    hits = fired("DUPLICATE_PAYMENT", [v8202(amount="8800.00")], ctx)
    assert len(hits) == 1 and f"8202/{old.voucher_no}" in hits[0].evidence.aggregates[0].vouchers


@pytest.mark.parametrize(
    "text",
    [
        "[accounts\n",
        "[unknown]\na = 1\n",
        '[accounts]\n"1" = "not a list"\n',
        '[[quota]]\nkey = ["1"]\n',
        '[[quota]]\nkey = ["1"]\nremaining = "lots"\n',
        '[calendar]\nholidays = ["03/03/2026"]\n',
        'history = ["does-not-exist"]\n',
    ],
)
def test_bad_context_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "ctx.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContextFileError):
        MonitorContext.load(path)


def test_unreadable_values_are_absent_not_crashes() -> None:
    bad = v8202().replace(PayAmt="12,000.00", VouDate="2026-13-45")  # not an amount, not a date
    rules = RuleSet.example()
    alerts = Monitor(rules).run([bad])
    assert all(a.voucher.voucher_no == bad.voucher_no for a in alerts)
    assert not [
        a for a in alerts if a.rule_id in ("CASH_SINGLE", "DUPLICATE_PAYMENT", "SPLIT_UNDER_THRESHOLD")
    ]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 20), st.integers(1, 3), st.integers(1, 9999)),
        min_size=1,
        max_size=25,
    )
)
def test_window_sums_match_brute_force(payments: list[tuple[int, int, int]]) -> None:
    """In any order of dates, each voucher's 5-day window sum is the brute-force sum."""
    vouchers = [
        v8202(day=MONDAY + timedelta(days=d), amount=f"{a}.00", payee=(COMPANY[0], f"62{p}"))
        for d, p, a in payments
    ]
    alerts = Monitor(RuleSet.from_text(PACK)).run(vouchers)
    assert len(alerts) == len(vouchers)
    for i, (alert, (d, p, _)) in enumerate(zip(alerts, payments, strict=True)):
        seen = payments[: i + 1]
        expected = sum(a for dd, pp, a in seen if pp == p and d - 4 <= dd <= d)
        assert Decimal(alert.evidence.aggregates[0].value) == Decimal(expected)
