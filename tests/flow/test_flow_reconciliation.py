"""Reconciliation (spec.md §4.8): statements, matching, answers; planted faults are found."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flow_support import ADM, IDS, YEAR, Network
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.document.envelope import Envelope
from ezhifu.document.models import Voucher
from ezhifu.document.samples import sample_voucher
from ezhifu.document.validation import iter_errors
from ezhifu.errors import InvalidInput
from ezhifu.flow.reconciliation import (
    CheckEntry,
    answer_statement,
    build_statement,
    entries_from_records,
    match,
    statement_entries,
)


def _statement(
    entries: list[CheckEntry],
    voucher_no: str,
    *,
    begin: date = date(2024, 5, 1),
    end: date = date(2024, 5, 31),
    tre_code: str = "4200000000",
) -> Voucher:
    """A 3507 for May 2024 issued on 1 June."""
    return build_statement(
        entries,
        voucher_no=voucher_no,
        adm_div_code=ADM,
        st_year=YEAR,
        vou_date=date(2024, 6, 1),
        begin_date=begin,
        end_date=end,
        tre_code=tre_code,
    )


def _entries(*pairs: tuple[str, str]) -> list[CheckEntry]:
    return [CheckEntry(no, Decimal(amount)) for no, amount in pairs]


def test_statement_is_a_valid_3507_and_reads_back() -> None:
    entries = _entries(("A1", "10.00"), ("A2", "20.50"))
    statement = _statement(entries, "R1")
    assert statement.vt_code == "3507"
    assert statement.get("AllNum") == "2" and statement.get("AllAmt") == "30.50"
    assert statement.get("BeginDate") == "20240501" and statement.get("EndDate") == "20240531"
    assert statement.get("ChildPackNum") == "1" and statement.get("CurPackNo") == "1"
    assert statement_entries(statement) == entries
    assert list(iter_errors(Envelope.build([statement]).to_bytes())) == []


def test_3502_daily_statement_with_returned_voucher() -> None:
    entries = [CheckEntry("A1", Decimal("10.00")), CheckEntry("A2", Decimal("5.00"), "1")]
    statement = build_statement(
        entries,
        vt_code="3502",
        voucher_no="D1",
        adm_div_code=ADM,
        st_year=YEAR,
        vou_date=date(2024, 5, 6),
        reconciled_vt_code="5201",
    )
    assert statement.get("EVoucherType") == "5201" and statement.get("CheckDate") == "20240506"
    assert statement_entries(statement) == entries
    assert list(iter_errors(Envelope.build([statement]).to_bytes())) == []
    report = match(
        statement_entries(statement), [CheckEntry("A1", Decimal("10.00")), CheckEntry("A2", Decimal("5.00"))]
    )
    assert [m.voucher_no for m in report.mismatched] == ["A2"]  # returned on one side only


def test_planted_missing_and_amount_mismatch_are_found() -> None:
    ours = _entries(("A1", "10.00"), ("A2", "20.00"), ("A3", "30.00"), ("A4", "40.00"))
    # the counterparty's statement misses A3 and has A2 at a wrong amount
    theirs = _entries(("A1", "10.00"), ("A2", "20.01"), ("A4", "40.00"))
    statement = _statement(theirs, "R2")
    answer, report = answer_statement(statement, ours, answer_vt_code="2507")
    assert [e.voucher_no for e in report.missing] == ["A3"]
    assert [(m.voucher_no, m.ours, m.theirs) for m in report.mismatched] == [
        ("A2", Decimal("20.00"), Decimal("20.01"))
    ]
    assert report.extra == () and report.matched == 2
    assert answer.vt_code == "2507"
    assert answer.get("XCheckResult") == "1" and answer.get("XDiffNum") == "2"
    reason = answer.get("XCheckReason") or ""
    assert "A3" in reason and "A2" in reason and "金额不符" in reason
    assert statement_entries(answer) == theirs  # the answer repeats the statement
    assert list(iter_errors(Envelope.build([answer]).to_bytes())) == []


def test_extra_duplicate_and_header_problems() -> None:
    report = match(
        _entries(("A1", "1.00"), ("A1", "1.00"), ("B9", "2.00")),
        _entries(("A1", "1.00")),
        all_num=2,
        all_amt=Decimal("3.00"),
    )
    assert [e.voucher_no for e in report.extra] == ["B9"]
    assert report.duplicates == ("A1",)
    assert len(report.header_problems) == 2
    assert report.check_result == "1" and report.diff_num == 2
    assert "AllNum" in report.reason()


def test_consistent_round() -> None:
    entries = _entries(("A1", "1.00"), ("A2", "2.00"))
    statement = _statement(entries, "R3")
    answer, report = answer_statement(statement, list(reversed(entries)), answer_vt_code="5507")
    assert report.consistent and answer.get("XCheckResult") == "0" and answer.get("XCheckReason") == "相符"
    assert answer.get("XDiffNum") == "0"


def test_reason_is_bounded() -> None:
    many = [CheckEntry(f"V{i:05d}", Decimal("1.00")) for i in range(200)]
    report = match([], many)
    assert len(report.reason()) <= 200 and report.reason().endswith("…")
    assert report.diff_num == 200


def test_refusals() -> None:
    with pytest.raises(InvalidInput, match="begin_date"):
        build_statement([], voucher_no="R", adm_div_code=ADM, st_year=YEAR, vou_date=date(2024, 1, 1))
    with pytest.raises(InvalidInput, match="tre_code"):
        _statement([], "R", tre_code="")
    with pytest.raises(InvalidInput, match="empty"):
        _statement([], "R", begin=date(2024, 6, 2))
    statement = _statement([], "R")
    with pytest.raises(InvalidInput, match="does not answer"):
        answer_statement(statement, [], answer_vt_code="2301")
    with pytest.raises(InvalidInput, match="not a reconciliation voucher"):
        statement_entries(sample_voucher("5201"))


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)
ledgers = st.dictionaries(st.text("0123456789", min_size=1, max_size=8), amounts, max_size=30)


@settings(deadline=None)  # no timing in tests; CI machines are shared
@given(ledgers, st.randoms())
def test_matching_a_ledger_with_itself_in_any_order_is_consistent(ledger: dict[str, Decimal], rnd) -> None:  # type: ignore[no-untyped-def]
    entries = [CheckEntry(no, amount) for no, amount in ledger.items()]
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    report = match(
        shuffled, entries, all_num=len(entries), all_amt=sum((e.amount for e in entries), Decimal("0.00"))
    )
    assert report.consistent and report.matched == len(entries)


@settings(deadline=None)  # no timing in tests; CI machines are shared
@given(ledgers, ledgers)
def test_matching_partitions_the_voucher_numbers(
    ours: dict[str, Decimal], theirs: dict[str, Decimal]
) -> None:
    report = match([CheckEntry(n, a) for n, a in theirs.items()], [CheckEntry(n, a) for n, a in ours.items()])
    assert {e.voucher_no for e in report.missing} == set(ours) - set(theirs)
    assert {e.voucher_no for e in report.extra} == set(theirs) - set(ours)
    both = set(ours) & set(theirs)
    assert {m.voucher_no for m in report.mismatched} == {n for n in both if ours[n] != theirs[n]}
    assert report.matched + len(report.mismatched) == len(both)


def test_reconciliation_round_between_libraries_finds_planted_faults(net: Network) -> None:
    """Three 2301 cleared through the libraries; 人民银行's statement loses one and misstates one."""
    bank, pbc = net["bank"], net["pbc"]
    numbers = []
    for seed in (11, 12, 13):
        voucher = sample_voucher("2301", details=1, seed=seed, StYear=YEAR, VouDate=date(2024, 5, 6))
        bank.save(voucher, to="pbc")
        numbers.append(voucher.voucher_no)
    bank.send("2301", numbers, **IDS)
    net.pump()
    pbc.confirm("2301", numbers, **IDS)
    cleared = pbc.records(direction="in", vt_code="2301", date_from="20240501", date_to="20240531")
    assert sorted(r.key.voucher_no for r in cleared) == sorted(numbers)
    entries = entries_from_records(cleared)
    planted = [e for e in entries if e.voucher_no != numbers[0]]  # a voucher goes missing
    planted = [
        CheckEntry(e.voucher_no, e.amount + Decimal("100.00")) if e.voucher_no == numbers[1] else e
        for e in planted
    ]
    statement = _statement(planted, "3507B")
    pbc.save(statement, to="bank")
    pbc.send("3507", ["3507B"], **IDS)
    net.pump()
    received = bank.read("3507", **IDS)
    assert received is not None
    own = bank.records(direction="out", vt_code="2301")
    answer, report = answer_statement(
        received.bodies[0].voucher, entries_from_records(own), answer_vt_code="2507"
    )
    assert [e.voucher_no for e in report.missing] == [numbers[0]]
    assert [m.voucher_no for m in report.mismatched] == [numbers[1]]
    assert answer.get("XCheckResult") == "1" and answer.get("XDiffNum") == "2"
    bank.confirm("3507", ["3507B"], **IDS)
    bank.save(answer, to="pbc")
    bank.send("2507", [answer.voucher_no], **IDS)
    net.pump()
    [got] = pbc.records(direction="in", vt_code="2507")
    assert Envelope.from_bytes(got.envelope).bodies[0].voucher.get("XCheckResult") == "1"
    assert not any(lib.rejections() for lib in net.libs.values())
