"""Fund monitoring with rules as data: a province's pack, a context, alerts and the case log.

Run it with ``python examples/fund_monitoring.py`` (writes ``rules.toml``, ``cases.db`` and
``alerts.json`` in the current folder). The pack is the example pack shipped with ezhifu with one
threshold changed, as a province would adapt it; the vouchers are 8202 payments built with
ezhifu's models: a cash withdrawal, three payments split under a threshold, a payee whose
account changed, and an ordinary payment that raises nothing.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from ezhifu.document.models import Voucher
from ezhifu.monitor import CaseLog, Monitor, MonitorContext, RuleSet, example_pack_path, exit_code

AGENCY = ("101001", "某某市教育局")
MONDAY = date(2026, 3, 2)


def payment(
    n: int, amount: str, payee: tuple[str, str], *, day: date = MONDAY, mode: str = "电子转账支付"
) -> Voucher:
    header = {
        "Id": f"ID{n:06d}",
        "AdmDivCode": "420000",
        "StYear": "2026",
        "VouDate": day,
        "VoucherNo": f"8202{n:08d}",
        "AgencyCode": AGENCY[0],
        "AgencyName": AGENCY[1],
        "PayAcctNo": "11001010100000001",
        "PayAcctName": "某某市教育局零余额账户",
        "PayeeAcctName": payee[0],
        "PayeeAcctNo": payee[1],
        "SetModeName": mode,
        "PaySummaryName": "办公用品",
        "PayAmt": Decimal(amount),
    }
    detail = {"PayeeAcctName": payee[0], "PayeeAcctNo": payee[1], "PayAmt": Decimal(amount)}
    return Voucher.build("8202", header, [detail])


def main() -> None:
    # 1. the province's pack: the example with a lower cash limit (every threshold is a parameter)
    text = example_pack_path().read_text("utf-8").replace('limit = "50000.00" }', 'limit = "20000.00" }', 1)
    Path("rules.toml").write_text(text, encoding="utf-8")
    rules = RuleSet.load("rules.toml")
    print(f"pack {rules.info.id} {rules.info.version}: {len(rules.rules)} rules")

    # 2. the context: payees already known (from the store, here given by hand)
    ctx = MonitorContext(payees={"某某科技有限公司": frozenset({"6222000000000001"})})
    vouchers = [
        payment(1, "1200.00", ("某某科技有限公司", "6222000000000001")),
        payment(2, "30000.00", ("某某科技有限公司", "6222000000000001"), mode="现金"),
        *[
            payment(
                3 + i, "40000.00", ("某某建筑有限公司", "6222000000000555"), day=MONDAY + timedelta(days=i)
            )
            for i in range(3)
        ],
        payment(6, "800.00", ("某某科技有限公司", "6222000000000999")),
    ]
    alerts = Monitor(rules, ctx).run(vouchers)
    for alert in alerts:
        print(alert.explain())

    # 3. the case log: each alert a case, handled with who/when/why on the audit chain
    Path("cases.db").unlink(missing_ok=True)  # a fresh log for each run of the example
    cases = CaseLog("cases.db", secrets.token_bytes(32))
    for alert in alerts:
        cases.open(alert)
    split = next(c for c in cases.cases() if c.rule_id == "SPLIT_UNDER_THRESHOLD")
    cases.confirm(split.case_id, actor="王审核", reason="同一工程拆分支付, 已要求单位说明")
    confirmed = len(cases.cases(state="confirmed"))
    print(f"cases: {len(cases.cases())}, confirmed: {confirmed}, chain ok: {cases.verify().count} entries")
    cases.close()
    Path("alerts.json").write_text(
        json.dumps([a.to_dict() for a in alerts], ensure_ascii=False, indent=2), "utf-8"
    )
    print(f"exit code a CLI run would give: {exit_code(alerts)}")


if __name__ == "__main__":
    main()
