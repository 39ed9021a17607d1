"""Fund monitoring (资金监控): small rules over a library's payment records, returning alerts.

The notice on 国库集中支付电子化管理 asks the parties to watch the funds that flow through the
electronic vouchers.  These rules are deliberately simple and explicit so that an auditor can
read each one: an amount above a threshold, a payee account on a blacklist, and the same amount
paid to the same payee account more than once within a window of days (a duplicate payment,
the classic 重复支付).  Rules run over :class:`~ezhifu.flow.store.Record` objects, which carry the
amount (``PayAmt``), the voucher date and the payee account copied out of each voucher.

Discarded vouchers (作废) are ignored: they never paid anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Protocol

from ezhifu.errors import InvalidInput
from ezhifu.flow.status import RecordKey, State
from ezhifu.flow.store import Record

__all__ = [
    "Alert",
    "AmountThreshold",
    "DuplicatePayment",
    "PayeeBlacklist",
    "Rule",
    "run_rules",
]


@dataclass(frozen=True, slots=True)
class Alert:
    """One finding: which rule, which voucher(s), and a sentence saying why."""

    rule: str
    keys: tuple[RecordKey, ...]
    message: str


class Rule(Protocol):
    """A monitoring rule: looks at records and returns alerts."""

    @property
    def name(self) -> str: ...

    def check(self, records: Sequence[Record]) -> list[Alert]: ...


def _amount(record: Record) -> Decimal | None:
    if record.amount is None:
        return None
    try:
        return Decimal(record.amount)
    except InvalidOperation:
        return None


def _live(records: Iterable[Record]) -> list[Record]:
    return [r for r in records if r.state is not State.DISCARDED and r.key.voucher_flag == "0"]


@dataclass(frozen=True, slots=True)
class AmountThreshold:
    """Alert on every payment whose amount is above ``limit`` (yuan)."""

    limit: Decimal
    name: str = "amount-threshold"

    def check(self, records: Sequence[Record]) -> list[Alert]:
        alerts = []
        for record in _live(records):
            amount = _amount(record)
            if amount is not None and amount > self.limit:
                alerts.append(
                    Alert(
                        self.name,
                        (record.key,),
                        f"{record.key}: amount {amount} exceeds the limit {self.limit}",
                    )
                )
        return alerts


@dataclass(frozen=True, slots=True)
class PayeeBlacklist:
    """Alert on every payment to a payee account in ``accounts``."""

    accounts: frozenset[str]
    name: str = "payee-blacklist"

    def check(self, records: Sequence[Record]) -> list[Alert]:
        return [
            Alert(
                self.name,
                (r.key,),
                f"{r.key}: payee account {r.payee_acct_no} ({r.payee_name or '?'}) is on the blacklist",
            )
            for r in _live(records)
            if r.payee_acct_no and r.payee_acct_no in self.accounts
        ]


@dataclass(frozen=True, slots=True)
class DuplicatePayment:
    """Alert when the same amount goes to the same payee account twice within ``window_days``.

    Vouchers are grouped by (payee account, amount); within a group, any two whose ``VouDate``
    lie at most ``window_days`` apart are reported together.
    """

    window_days: int = 3
    name: str = "duplicate-payment"

    def __post_init__(self) -> None:
        if self.window_days < 0:
            raise InvalidInput(f"duplicate-payment window must be ≥ 0 days, got {self.window_days}")

    def check(self, records: Sequence[Record]) -> list[Alert]:
        groups: dict[tuple[str, Decimal], list[tuple[date, Record]]] = defaultdict(list)
        for record in _live(records):
            amount = _amount(record)
            day = _parse_date(record.vou_date)
            if amount is None or day is None or not record.payee_acct_no:
                continue
            groups[(record.payee_acct_no, amount)].append((day, record))
        alerts = []
        for (account, amount), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            items.sort(key=lambda item: (item[0], item[1].key))
            cluster = [items[0]]
            for item in items[1:]:
                if (item[0] - cluster[-1][0]).days <= self.window_days:
                    cluster.append(item)
                    continue
                alerts.extend(self._alert(account, amount, cluster))
                cluster = [item]
            alerts.extend(self._alert(account, amount, cluster))
        return alerts

    def _alert(self, account: str, amount: Decimal, cluster: list[tuple[date, Record]]) -> list[Alert]:
        if len(cluster) < 2:
            return []
        nos = ", ".join(f"{r.key.vt_code}/{r.key.voucher_no} ({d.isoformat()})" for d, r in cluster)
        return [
            Alert(
                self.name,
                tuple(r.key for _, r in cluster),
                f"{len(cluster)} payments of {amount} to account {account} "
                f"within {self.window_days} days: {nos}",
            )
        ]


def _parse_date(value: str | None) -> date | None:
    if not value or len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def run_rules(rules: Iterable[Rule], records: Sequence[Record]) -> list[Alert]:
    """Every alert of every rule, rule by rule."""
    return [alert for rule in rules for alert in rule.check(records)]
