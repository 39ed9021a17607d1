"""Reconciliation (对账): statements 3507 / 3502, answers 2507 / 5507, and the matching behind them.

spec.md §4.8 (S1 templates, S3 constants):

* **3507 清算信息对账** — the People's Bank lists the clearings (申请划款 2301 it cleared) of a date
  range (``BeginDate``/``EndDate``) for 财政 and for the agent bank: header ``VoucherCheckNo``,
  ``ChildPackNum``/``CurPackNo`` (multi-package), ``TreCode``, ``AllNum``, ``AllAmt``; one detail
  per voucher (``VoucherNo``, ``PayAmt`` …).
* **2507 / 5507** — the answers (回执) of the agent bank and of 财政: the statement's content plus
  ``XCheckResult`` (``0`` 相符, ``1`` 不符, S3), ``XCheckReason`` and ``XDiffNum``.
* **3502 人民银行与代理银行凭证对账** — the daily check with a bank: ``CheckDate``,
  ``EVoucherType`` (the VtCode reconciled), ``AllNum``, ``AllAmt``; details ``VoucherNo``,
  ``Amt``, ``ProState`` (``0`` 正常, ``1`` 退回).

[I] How the answer travels is not documented; ezhifu sends the 2507/5507 as its own voucher
(``VoucherFlag=0``) with the statement's ``VoucherNo``, back to the People's Bank.

Matching is by ``VoucherNo``; the report lists vouchers **missing** from the statement (in our
records only), **extra** in the statement (not in our records), **amount mismatches**,
vouchers listed twice, and statement header totals that disagree with its details.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ezhifu.document.models import FieldValue, Voucher
from ezhifu.errors import InvalidInput
from ezhifu.flow.status import State
from ezhifu.flow.store import Record

__all__ = [
    "ANSWER_TYPES",
    "AmountMismatch",
    "CheckEntry",
    "ReconciliationReport",
    "answer_statement",
    "build_statement",
    "entries_from_records",
    "match",
    "statement_entries",
]

#: Statement VtCode -> the answer VtCodes (spec.md §3: 3507 → 5507 财政回执, 2507 商行回执).
ANSWER_TYPES: Mapping[str, tuple[str, ...]] = {"3507": ("2507", "5507")}

_AMOUNT_FIELD = {"3507": "PayAmt", "2507": "PayAmt", "5507": "PayAmt", "3502": "Amt"}
_REASON_MAX = 200


@dataclass(frozen=True, slots=True, order=True)
class CheckEntry:
    """One voucher as a party sees it: number, amount, and (3502) ``ProState`` 0 正常 / 1 退回."""

    voucher_no: str
    amount: Decimal
    pro_state: str = "0"


@dataclass(frozen=True, slots=True)
class AmountMismatch:
    voucher_no: str
    ours: Decimal
    theirs: Decimal


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """The outcome of matching a statement against our records.

    ``missing``: in our records, absent from the statement; ``extra``: in the statement, not in
    our records; ``mismatched``: in both with different amounts (or ``ProState``);
    ``duplicates``: voucher numbers the statement lists more than once; ``header_problems``:
    ``AllNum``/``AllAmt`` that disagree with the statement's own details.
    """

    missing: tuple[CheckEntry, ...] = ()
    extra: tuple[CheckEntry, ...] = ()
    mismatched: tuple[AmountMismatch, ...] = ()
    duplicates: tuple[str, ...] = ()
    header_problems: tuple[str, ...] = ()
    matched: int = 0

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.extra or self.mismatched or self.duplicates or self.header_problems)

    @property
    def check_result(self) -> str:
        """``XCheckResult``: ``"0"`` 相符, ``"1"`` 不符 (S3)."""
        return "0" if self.consistent else "1"

    @property
    def diff_num(self) -> int:
        """``XDiffNum``: how many vouchers differ (missing + extra + mismatched + duplicated)."""
        return len(self.missing) + len(self.extra) + len(self.mismatched) + len(self.duplicates)

    def reason(self, *, max_length: int = _REASON_MAX) -> str:
        """``XCheckReason``: ``相符`` or the differences, shortened to ``max_length`` characters."""
        if self.consistent:
            return "相符"
        parts: list[str] = []
        if self.missing:
            parts.append(f"对账单缺少{len(self.missing)}笔: " + ",".join(e.voucher_no for e in self.missing))
        if self.extra:
            parts.append(f"本方无记录{len(self.extra)}笔: " + ",".join(e.voucher_no for e in self.extra))
        if self.mismatched:
            parts.append(
                f"金额不符{len(self.mismatched)}笔: "
                + ",".join(f"{m.voucher_no}(本方{m.ours}/对方{m.theirs})" for m in self.mismatched)
            )
        if self.duplicates:
            parts.append(f"重复{len(self.duplicates)}笔: " + ",".join(self.duplicates))
        parts.extend(self.header_problems)
        text = "; ".join(parts)
        return text if len(text) <= max_length else text[: max_length - 1] + "…"


def match(
    statement: Iterable[CheckEntry],
    ours: Iterable[CheckEntry],
    *,
    all_num: int | None = None,
    all_amt: Decimal | None = None,
) -> ReconciliationReport:
    """Match the counterparty's ``statement`` against ``ours`` by voucher number."""
    theirs_by_no: dict[str, CheckEntry] = {}
    duplicates: list[str] = []
    listed = list(statement)
    for entry in listed:
        if entry.voucher_no in theirs_by_no:
            duplicates.append(entry.voucher_no)
        else:
            theirs_by_no[entry.voucher_no] = entry
    ours_by_no = {e.voucher_no: e for e in ours}
    missing = tuple(sorted(e for no, e in ours_by_no.items() if no not in theirs_by_no))
    extra = tuple(sorted(e for no, e in theirs_by_no.items() if no not in ours_by_no))
    mismatched = tuple(
        AmountMismatch(no, ours_by_no[no].amount, theirs_by_no[no].amount)
        for no in sorted(set(ours_by_no) & set(theirs_by_no))
        if ours_by_no[no].amount != theirs_by_no[no].amount
        or ours_by_no[no].pro_state != theirs_by_no[no].pro_state
    )
    header: list[str] = []
    if all_num is not None and all_num != len(listed):
        header.append(f"AllNum {all_num} 与明细笔数 {len(listed)} 不符")
    total = sum((e.amount for e in listed), Decimal("0.00"))
    if all_amt is not None and all_amt != total:
        header.append(f"AllAmt {all_amt} 与明细合计 {total} 不符")
    matched = len(set(ours_by_no) & set(theirs_by_no)) - len(mismatched)
    return ReconciliationReport(
        missing, extra, mismatched, tuple(sorted(set(duplicates))), tuple(header), matched
    )


def entries_from_records(records: Iterable[Record]) -> list[CheckEntry]:
    """Our view: one entry per record given, except discarded ones (they never happened).

    The caller chooses the records: the 2301 it sent (a bank), received (人民银行), or the
    2301 receipts it holds as a copy (财政).  A returned voucher (退回) is kept with
    ``ProState`` ``1`` (3502 semantics); records without an amount are refused, since
    reconciliation without amounts would hide differences.
    """
    out: list[CheckEntry] = []
    for record in records:
        if record.state is State.DISCARDED:
            continue
        if record.amount is None:
            raise InvalidInput(f"{record.key}: no amount recorded; cannot reconcile")
        state = "1" if record.state is State.RETURNED else "0"
        out.append(CheckEntry(record.key.voucher_no, Decimal(record.amount), state))
    return out


def statement_entries(voucher: Voucher) -> list[CheckEntry]:
    """The entries a statement (3507/2507/5507/3502) lists, from its detail rows."""
    field = _AMOUNT_FIELD.get(voucher.vt_code)
    if field is None:
        raise InvalidInput(f"VtCode {voucher.vt_code} is not a reconciliation voucher (3507/2507/5507/3502)")
    out: list[CheckEntry] = []
    for i, row in enumerate(voucher.details, 1):
        no = row.get("VoucherNo")
        amount = row.amount(field)
        if not no or amount is None:
            raise InvalidInput(
                f"{voucher.vt_code} {voucher.voucher_no}: Detail[{i}] lacks VoucherNo or {field}"
            )
        out.append(CheckEntry(no, amount, row.get("ProState") or "0"))
    return out


def build_statement(
    entries: Sequence[CheckEntry],
    *,
    vt_code: str = "3507",
    voucher_no: str,
    adm_div_code: str,
    st_year: str,
    vou_date: date,
    begin_date: date | None = None,
    end_date: date | None = None,
    tre_code: str | None = None,
    reconciled_vt_code: str = "2301",
    header: Mapping[str, FieldValue] | None = None,
) -> Voucher:
    """A reconciliation voucher listing ``entries`` (3507 for a date range, or 3502 for a day).

    A 3507 needs ``begin_date``, ``end_date`` and ``tre_code`` (国库主体代码, required by the
    field data); a 3502 reconciles ``reconciled_vt_code`` (``EVoucherType``) on ``end_date`` or
    ``vou_date``.  ``header`` adds or overrides fields (``ClearBankCode`` …).  Single package:
    ``ChildPackNum`` = ``CurPackNo`` = 1.
    """
    total = sum((e.amount for e in entries), Decimal("0.00"))
    fields: dict[str, FieldValue] = {
        "AdmDivCode": adm_div_code,
        "StYear": st_year,
        "VouDate": vou_date,
        "VoucherNo": voucher_no,
        "AllNum": len(entries),
        "AllAmt": total,
    }
    details: list[dict[str, FieldValue]]
    if vt_code == "3507":
        if begin_date is None or end_date is None:
            raise InvalidInput("a 3507 statement needs begin_date and end_date")
        if not tre_code:
            raise InvalidInput("a 3507 statement needs tre_code (TreCode 国库主体代码)")
        if begin_date > end_date:
            raise InvalidInput(f"3507 date range is empty: {begin_date} > {end_date}")
        fields.update(
            VoucherCheckNo=voucher_no,
            ChildPackNum=1,
            CurPackNo=1,
            BeginDate=begin_date,
            EndDate=end_date,
            TreCode=tre_code,
        )
        details = [
            {"Id": f"{voucher_no}-{i:04d}", "VoucherNo": e.voucher_no, "PayAmt": e.amount}
            for i, e in enumerate(entries, 1)
        ]
    elif vt_code == "3502":
        fields.update(CheckDate=end_date or vou_date, EVoucherType=reconciled_vt_code)
        details = [
            {
                "Id": f"{voucher_no}-{i:04d}",
                "VoucherNo": e.voucher_no,
                "Amt": e.amount,
                "ProState": e.pro_state,
            }
            for i, e in enumerate(entries, 1)
        ]
    else:
        raise InvalidInput(f"cannot build a statement of VtCode {vt_code} (3507 or 3502)")
    fields.update(header or {})
    return Voucher.build(vt_code, fields, details)


def answer_statement(
    statement: Voucher, ours: Iterable[CheckEntry], *, answer_vt_code: str
) -> tuple[Voucher, ReconciliationReport]:
    """Match ``statement`` against ``ours`` and build the answer (2507 bank, 5507 财政).

    The answer repeats the statement's header and details and fills ``XCheckResult``,
    ``XCheckReason`` and ``XDiffNum`` from the report.
    """
    if answer_vt_code not in ANSWER_TYPES.get(statement.vt_code, ()):
        raise InvalidInput(f"{answer_vt_code} does not answer a {statement.vt_code} statement")
    entries = statement_entries(statement)
    all_num = statement.get("AllNum")
    report = match(
        entries,
        ours,
        all_num=int(all_num) if all_num and all_num.isdigit() else None,
        all_amt=statement.amount("AllAmt"),
    )
    header: dict[str, FieldValue] = {n: v for n, v in statement.fields if n != "VtCode"}
    header.update(XCheckResult=report.check_result, XCheckReason=report.reason(), XDiffNum=report.diff_num)
    details = [dict(row.fields) for row in statement.details]
    answer = Voucher.build(answer_vt_code, header, details)
    return answer, report
