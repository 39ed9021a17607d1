"""Fund monitoring rules over library records."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ezhifu.errors import InvalidInput
from ezhifu.flow.monitoring import AmountThreshold, DuplicatePayment, PayeeBlacklist, run_rules
from ezhifu.flow.status import RecordKey, State
from ezhifu.flow.store import Record


def _payment(
    no: str, amount: str, day: str, payee: str = "6222000000000001", state: State = State.SENT
) -> Record:
    key = RecordKey("out", "0", "420000", "2024", "5201", no)
    return Record(
        key, state, "bank", b"", amount=amount, vou_date=day, payee_acct_no=payee, payee_name="某公司"
    )


def test_amount_threshold() -> None:
    records = [_payment("A", "100.00", "20240501"), _payment("B", "100.01", "20240501")]
    [alert] = AmountThreshold(Decimal("100.00")).check(records)
    assert alert.keys[0].voucher_no == "B" and "100.01" in alert.message


def test_blacklist() -> None:
    records = [_payment("A", "1.00", "20240501", payee="BAD"), _payment("B", "1.00", "20240501")]
    [alert] = PayeeBlacklist(frozenset({"BAD"})).check(records)
    assert alert.keys[0].voucher_no == "A" and "blacklist" in alert.message


def test_duplicate_payment_within_window() -> None:
    records = [
        _payment("A", "500.00", "20240501"),
        _payment("B", "500.00", "20240503"),  # 2 days later: duplicate
        _payment("C", "500.00", "20240520"),  # far later: not
        _payment("D", "500.00", "20240501", payee="OTHER"),  # other payee
        _payment("E", "499.99", "20240501"),  # other amount
        _payment("F", "500.00", "20240502", state=State.DISCARDED),  # discarded: never paid
    ]
    [alert] = DuplicatePayment(window_days=3).check(records)
    assert [k.voucher_no for k in alert.keys] == ["A", "B"]
    assert DuplicatePayment(window_days=1).check(records) == []
    assert len(DuplicatePayment(window_days=30).check(records)[0].keys) == 3


def test_run_rules_and_bad_window() -> None:
    records = [_payment("A", "900.00", "20240501"), _payment("B", "900.00", "20240501")]
    alerts = run_rules([AmountThreshold(Decimal("800.00")), DuplicatePayment()], records)
    assert [a.rule for a in alerts] == ["amount-threshold", "amount-threshold", "duplicate-payment"]
    with pytest.raises(InvalidInput):
        DuplicatePayment(window_days=-1)
