"""Builders of realistic vouchers for the monitoring tests (all built with ezhifu's models)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal

from ezhifu.document.models import FieldValue, Voucher
from ezhifu.monitor import Alert, Monitor, MonitorContext, RuleSet

ADM, YEAR = "420000", "2026"
AGENCY = ("101001", "某某市教育局")
PAY_ACCT = ("11001010100000001", "某某市教育局零余额账户")
COMPANY = ("某某科技有限公司", "6222000000000001")
MONDAY = date(2026, 3, 2)

_counter = iter(range(1, 10**9))


def v8202(
    *,
    day: date = MONDAY,
    amount: str = "1000.00",
    payee: tuple[str, str] = COMPANY,
    summary: str = "办公用品",
    set_mode: tuple[str, str] = ("1", "电子转账支付"),
    agency: tuple[str, str] = AGENCY,
    pay_acct: tuple[str, str] = PAY_ACCT,
    details: Sequence[Mapping[str, FieldValue]] | None = None,
    vt: str = "8202",
    **extra: FieldValue,
) -> Voucher:
    """A 8202 (or 5201 with ``vt``) payment; one detail mirroring the header unless ``details``."""
    n = next(_counter)
    header: dict[str, FieldValue] = {
        "Id": f"ID{n:08d}",
        "AdmDivCode": ADM,
        "StYear": YEAR,
        "VouDate": day,
        "VoucherNo": f"{vt}{n:08d}",
        "AgencyCode": agency[0],
        "AgencyName": agency[1],
        "PayAcctNo": pay_acct[0],
        "PayAcctName": pay_acct[1],
        "PayeeAcctName": payee[0],
        "PayeeAcctNo": payee[1],
        "SetModeCode": set_mode[0],
        "SetModeName": set_mode[1],
        "PaySummaryName": summary,
        "PayAmt": Decimal(amount),
        "DepProCode": "P001",
    }
    header.update(extra)
    rows = (
        list(details)
        if details is not None
        else [
            {
                "Id": f"D{n:08d}",
                "AgencyCode": agency[0],
                "AgencyName": agency[1],
                "PayeeAcctName": payee[0],
                "PayeeAcctNo": payee[1],
                "PayAmt": Decimal(amount),
                "DepProCode": "P001",
            }
        ]
    )
    return Voucher.build(vt, header, rows)


def quota_5106(day: date, rows: Iterable[tuple[str, str, str]]) -> Voucher:
    """A 5106 授权支付清算额度通知单 with one detail per (SupDepCode, ExpFuncCode, PlanAmt)."""
    n = next(_counter)
    details = [
        {"Id": f"Q{n}-{i}", "SupDepCode": s, "ExpFuncCode": e, "PlanAmt": Decimal(a)}
        for i, (s, e, a) in enumerate(rows)
    ]
    total = sum((Decimal(a) for _, _, a in rows), Decimal(0))
    return Voucher.build(
        "5106",
        {
            "Id": f"Q{n:08d}",
            "AdmDivCode": ADM,
            "StYear": YEAR,
            "VouDate": day,
            "VoucherNo": f"5106{n:08d}",
            "PlanAmt": total,
        },
        details,
    )


def quota_5108(day: date, rows: Iterable[tuple[str, str, str]]) -> Voucher:
    n = next(_counter)
    details = [{"SupDepCode": s, "ExpFuncCode": e, "PayAmt": Decimal(a)} for s, e, a in rows]
    total = sum((Decimal(a) for _, _, a in rows), Decimal(0))
    return Voucher.build(
        "5108",
        {
            "Id": f"R{n:08d}",
            "AdmDivCode": ADM,
            "StYear": YEAR,
            "VouDate": day,
            "VoucherNo": f"5108{n:08d}",
            "PayAmt": total,
        },
        details,
    )


def apply_2301(day: date, rows: Iterable[tuple[str, str, str]]) -> Voucher:
    """A 2301 申请划款凭证 with one detail per (SupDepCode, ExpFuncCode, PayAmt)."""
    n = next(_counter)
    details = [
        {"Id": f"A{n}-{i}", "SupDepCode": s, "ExpFuncCode": e, "PayAmt": Decimal(a)}
        for i, (s, e, a) in enumerate(rows)
    ]
    total = sum((Decimal(a) for _, _, a in rows), Decimal(0))
    return Voucher.build(
        "2301",
        {
            "Id": f"A{n:08d}",
            "AdmDivCode": ADM,
            "StYear": YEAR,
            "VouDate": day,
            "VoucherNo": f"2301{n:08d}",
            "PayAmt": total,
        },
        details,
    )


def fired(
    rule_id: str,
    vouchers: Iterable[Voucher],
    ctx: MonitorContext | None = None,
    rules: RuleSet | None = None,
    stage: str = "batch",
) -> list[Alert]:
    monitor = Monitor(rules or RuleSet.example(), ctx)
    return [a for a in monitor.run(vouchers, stage=stage) if a.rule_id == rule_id]


def example_with(replacements: Mapping[str, str]) -> RuleSet:
    """The example pack with text replaced (``{old: new}``)."""
    from ezhifu.monitor.rules import example_pack_path

    text = example_pack_path().read_text("utf-8")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return RuleSet.from_text(text)
