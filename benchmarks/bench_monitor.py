"""Speed and memory of fund monitoring with the example pack, against two references in one run.

Usage::

    python benchmarks/bench_monitor.py [--vouchers 100000] [--details 2] [--seed 18]

Generates ``--vouchers`` 8202 payments (``--details`` rows each) over one year, for 40 agencies
and 3,000 payees, with a share of cash, personal payees, split and duplicate payments, and a
quota table and account register in the context; writes them as envelopes of 100 bodies. Prints:

* ``parse``: :meth:`Envelope.from_bytes` and the inner vouchers (what any check costs first);
* ``monitor``: :class:`ezhifu.monitor.Monitor` with ``RuleSet.example()`` over the parsed vouchers,
  vouchers/s, alerts/s, and the ratio to parsing;
* ``plain``: a hand-written Python loop computing the same conditions on the same vouchers (the
  cost of rules-as-data over code), with a check that both give the same alerts;
* memory: peak RSS of the process and the rows held in the monitor's windows.

Times are CPU seconds (``time.process_time``) on a shared machine; the references are timed in
the same run so the ratios mean something.
"""

from __future__ import annotations

import argparse
import bisect
import random
import re
import resource
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from ezhifu.document.envelope import Envelope
from ezhifu.document.models import FieldValue, Voucher
from ezhifu.monitor import Monitor, MonitorContext, RuleSet

__all__ = ["main"]

PERSON = re.compile("^[\u4e00-\u9fa5·]{2,5}$")
ORG = re.compile("公司|局|厅|委|院|校|中心|银行|医院|学校|大学|协会|所|站|部|处|办|社|馆|队|厂|店|集团")
CASH = re.compile("现金|备用金")
D = Decimal


def generate(count: int, details: int, seed: int) -> Iterator[Voucher]:
    rng = random.Random(seed)
    payees = [(f"供应商{i}有限公司", f"6222{i:012d}") for i in range(2900)]
    payees += [
        (rng.choice("张王李赵刘陈") + rng.choice(["伟", "芳", "娜", "强", "磊"]), f"6217{i:012d}")
        for i in range(100)
    ]
    start = date(2026, 1, 1)
    for n in range(count):
        day = start + timedelta(days=n * 365 // count)
        agency = rng.randrange(40)
        payee = payees[rng.randrange(len(payees))] if rng.random() > 0.02 else (payees[0][0], f"6299{n:012d}")
        cash = rng.random() < 0.03
        amount = D(rng.choice([rng.randint(1, 900) * 100, rng.randint(1, 30) * 10000, 45000, 88000]))
        header: dict[str, FieldValue] = {
            "Id": f"B{n:010d}",
            "AdmDivCode": "420000",
            "StYear": "2026",
            "VouDate": day,
            "VoucherNo": f"8202{n:012d}",
            "AgencyCode": f"1{agency:05d}",
            "AgencyName": f"第{agency}局",
            "PayAcctNo": f"1100{agency:012d}",
            "PayAcctName": f"第{agency}局零余额账户",
            "PayeeAcctName": payee[0],
            "PayeeAcctNo": payee[1],
            "SetModeName": "现金" if cash else "电子转账支付",
            "PaySummaryName": rng.choice(["办公用品", "维修", "差旅费", "购"]),
            "DepProCode": f"P{agency % 7}",
            "PayAmt": amount * details,
        }
        rows = [
            {
                "PayeeAcctName": payee[0],
                "PayeeAcctNo": payee[1],
                "PayAmt": amount,
                "AgencyCode": header["AgencyCode"],
                "DepProCode": header["DepProCode"],
            }
            for _ in range(details)
        ]
        yield Voucher.build("8202", header, rows)


def context() -> MonitorContext:
    accounts = {f"1{a:05d}": frozenset({f"6222{a * 7:012d}"}) for a in range(40)}
    quotas = {(f"1{a:05d}", f"P{a % 7}"): D(20_000_000) for a in range(40)}
    return MonitorContext(accounts=accounts, quotas=quotas)


class _Win:
    """Rows per group with their dates: the same windows the plain loop needs."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, ...], tuple[list[int], list[Decimal]]] = defaultdict(lambda: ([], []))

    def add(self, group: tuple[str, ...], day: date, value: Decimal) -> None:
        ords, values = self.rows[group]
        pos = bisect.bisect_right(ords, day.toordinal())
        ords.insert(pos, day.toordinal())
        values.insert(pos, value)

    def query(self, group: tuple[str, ...], day: date, days: int) -> tuple[Decimal, int]:
        ords, values = self.rows.get(group, ([], []))
        lo = bisect.bisect_left(ords, day.toordinal() - days + 1)
        hi = bisect.bisect_right(ords, day.toordinal())
        return sum(values[lo:hi], D(0)), hi - lo


def plain(vouchers: list[Voucher], ctx: MonitorContext) -> set[tuple[str, str, int | None]]:
    """The example pack's conditions written as a Python loop (rules whose inputs this data has)."""
    out: set[tuple[str, str, int | None]] = set()
    cash_day, cash_year = defaultdict(D), defaultdict(D)
    split, dup = _Win(), _Win()
    plan: defaultdict[tuple[str, ...], Decimal] = defaultdict(D)
    payees: dict[str, set[str]] = {}
    for v in vouchers:
        day, no = v.vou_date, v.voucher_no
        assert day is not None
        amt = v.pay_amt or D(0)
        g = v.get
        agency, payee_no, mode = g("AgencyCode") or "", g("PayeeAcctNo") or "", g("SetModeName") or ""
        is_cash = bool(CASH.search(mode))
        if is_cash:
            cash_day[(agency, day)] += amt
            cash_year[(agency, day.year)] += amt
        key = (g("PayAcctNo") or "", payee_no)
        if amt < 100000:
            split.add(key, day, amt)
        dup.add((payee_no, f"{amt:.2f}", g("PaySummaryName") or ""), day, D(1))
        rows = [(i, d) for i, d in enumerate(v.details, 1)]
        for _, d in rows:
            damt = D(d.get("PayAmt") or "0")
            plan[(d.get("AgencyCode") or "", d.get("DepProCode") or "")] += damt
        # --- evaluate (same order as the pack)
        for i, d in rows:
            pname, pno = d.get("PayeeAcctName") or "", d.get("PayeeAcctNo") or ""
            if pno in ctx.accounts.get(d.get("AgencyCode") or "", ()) or (
                g("AgencyName") and pname == g("AgencyName")
            ):
                out.add(("SELF_ACCOUNT", no, i))
        if is_cash and amt > 50000:
            out.add(("CASH_SINGLE", no, None))
        if is_cash and cash_day[(agency, day)] > 100000:
            out.add(("CASH_DAILY", no, None))
        if is_cash and cash_year[(agency, day.year)] > 1000000:
            out.add(("CASH_ANNUAL", no, None))
        for i, d in rows:
            pname, damt = d.get("PayeeAcctName") or "", D(d.get("PayAmt") or "0")
            if damt > 50000 and PERSON.search(pname) and not ORG.search(pname):
                out.add(("PERSONAL_PAYEE_LARGE", no, i))
        if amt < 100000:
            total, count = split.query(key, day, 7)
            if count >= 3 and total >= 100000:
                out.add(("SPLIT_UNDER_THRESHOLD", no, None))
        if day.weekday() >= 5:
            out.add(("NON_WORKING_DAY", no, None))
        for i, d in rows:
            quota = ctx.quotas.get((d.get("AgencyCode") or "", d.get("DepProCode") or ""))
            if quota is not None and plan[(d.get("AgencyCode") or "", d.get("DepProCode") or "")] > quota:
                out.add(("OVER_PLAN", no, i))
        for i, d in rows:
            pname, pno = d.get("PayeeAcctName") or "", d.get("PayeeAcctNo") or ""
            if pname and pname in payees and pno not in payees[pname]:
                out.add(("NEW_OR_CHANGED_PAYEE", no, i))
        if dup.query((payee_no, f"{amt:.2f}", g("PaySummaryName") or ""), day, 3)[1] >= 2:
            out.add(("DUPLICATE_PAYMENT", no, None))
        if len(g("PaySummaryName") or "") < 2:
            out.add(("PURPOSE_TOO_SHORT", no, None))
        if amt >= 5000000:
            out.add(("LARGE_AUTHORIZED_PAYMENT", no, None))
        for item in (v, *v.details):
            name, acct = item.get("PayeeAcctName"), item.get("PayeeAcctNo")
            if name and acct:
                payees.setdefault(name, set()).add(acct)
    return out


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vouchers", type=int, default=100_000)
    parser.add_argument("--details", type=int, default=2)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    made = list(generate(args.vouchers, args.details, args.seed))
    envelopes = [Envelope.build(made[i : i + 100]).to_bytes() for i in range(0, len(made), 100)]
    del made
    rss_before = _rss_mb()

    t0 = time.process_time()
    vouchers = [body.voucher for data in envelopes for body in Envelope.from_bytes(data).bodies]
    t_parse = time.process_time() - t0

    ctx = context()
    t0 = time.process_time()
    monitor = Monitor(RuleSet.example(), ctx)
    alerts = monitor.run(vouchers)
    t_monitor = time.process_time() - t0
    rss_after = _rss_mb()

    t0 = time.process_time()
    expected = plain(vouchers, ctx)
    t_plain = time.process_time() - t0

    got = {(a.rule_id, a.voucher.voucher_no, a.voucher.detail) for a in alerts}
    held = sum(len(g.ords) for w in monitor.windows.values() for g in w.groups.values())
    held += sum(len(w.buckets) for w in monitor.windows.values())
    n = len(vouchers)
    print(
        f"vouchers {n}, details {args.details}, envelopes {len(envelopes)}, rules {len(monitor.rules.rules)}"
    )
    print(f"{'step':<10}{'cpu s':>10}{'vouchers/s':>14}{'ratio':>10}")
    print(f"{'parse':<10}{t_parse:>10.2f}{n / t_parse:>14.0f}{1.0:>10.2f}")
    print(f"{'monitor':<10}{t_monitor:>10.2f}{n / t_monitor:>14.0f}{t_monitor / t_parse:>10.2f}")
    print(f"{'plain':<10}{t_plain:>10.2f}{n / t_plain:>14.0f}{t_plain / t_parse:>10.2f}")
    rate = len(alerts) / t_monitor
    print(f"alerts {len(alerts)} ({rate:.0f} alerts/s); monitor/plain = {t_monitor / t_plain:.1f}")
    print(f"same alerts as the plain loop: {got == expected} (monitor {len(got)}, plain {len(expected)})")
    print(f"peak RSS {rss_after:.0f} MB (before monitoring {rss_before:.0f} MB); window rows held {held}")


if __name__ == "__main__":
    main()
