"""Monitoring assertions for partner test suites: "this voucher triggers rule X".

The pytest plugin's ``monitor_rules`` fixture is a :class:`MonitorRules` over the pack named by
``--ezhifu-monitor-rules`` (default: the example pack shipped with ezhifu)::

    def test_cash_limit(monitor_rules):
        voucher = build_my_8202(amount="60000.00", set_mode="现金")
        alert = monitor_rules.assert_fires("CASH_SINGLE", voucher)
        assert alert.evidence.field("PayAmt") == "60000.00"
        monitor_rules.assert_quiet("CASH_SINGLE", build_my_8202(amount="100.00"))

Each check starts from fresh windows (plus ``context``), so tests do not depend on each other;
pass several vouchers to test window rules (split payments, duplicates, over quota).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ezhifu.document.envelope import Envelope
from ezhifu.document.models import Voucher
from ezhifu.errors import InvalidInput
from ezhifu.monitor import Alert, Monitor, MonitorContext, RuleSet

__all__ = ["MonitorRules"]

VoucherInput = Voucher | bytes | str | Path


def _vouchers(items: Iterable[VoucherInput]) -> list[Voucher]:
    out: list[Voucher] = []
    for item in items:
        if isinstance(item, Voucher):
            out.append(item)
            continue
        data = item if isinstance(item, bytes) else Path(item).read_bytes()
        out.extend(body.voucher for body in Envelope.from_bytes(data).bodies)
    return out


class MonitorRules:
    """A rule pack with assertion helpers (see the module documentation)."""

    def __init__(self, rules: RuleSet, context: MonitorContext | None = None) -> None:
        self.rules = rules
        self.context = context or MonitorContext()

    def check(
        self, *vouchers: VoucherInput, stage: str = "batch", context: MonitorContext | None = None
    ) -> list[Alert]:
        """Every alert over ``vouchers`` (vouchers, envelope bytes or envelope files), in order."""
        return Monitor(self.rules, context or self.context).run(_vouchers(vouchers), stage=stage)

    def alerts_of(self, rule_id: str, *vouchers: VoucherInput, stage: str = "batch") -> list[Alert]:
        self.rules.rule(rule_id)  # KeyError for a rule id the pack does not have
        return [a for a in self.check(*vouchers, stage=stage) if a.rule_id == rule_id]

    def assert_fires(self, rule_id: str, *vouchers: VoucherInput, stage: str = "batch") -> Alert:
        """The alert of ``rule_id`` on the last voucher; fails listing what fired instead."""
        found = self.check(*vouchers, stage=stage)
        last = _vouchers(vouchers[-1:])
        mine = [
            a for a in found if a.rule_id == rule_id and last and a.voucher.voucher_no == last[-1].voucher_no
        ]
        if not mine:
            fired = sorted({a.rule_id for a in found}) or ["nothing"]
            raise AssertionError(
                f"rule {rule_id} did not fire on the last voucher (fired: {', '.join(fired)})"
            )
        return mine[0]

    def assert_quiet(self, rule_id: str, *vouchers: VoucherInput, stage: str = "batch") -> None:
        hits = self.alerts_of(rule_id, *vouchers, stage=stage)
        if hits:
            raise AssertionError(
                f"rule {rule_id} fired: " + "; ".join(f"{a.voucher}: {a.message}" for a in hits)
            )

    @classmethod
    def load(cls, rules: str | Path | None, context: str | Path | None = None) -> MonitorRules:
        if rules is not None and not str(rules):
            raise InvalidInput("monitor rules: empty path")
        pack = RuleSet.example() if rules in (None, "example") else RuleSet.load(str(rules))
        return cls(pack, MonitorContext.load(context) if context else None)

    @property
    def rule_ids(self) -> Sequence[str]:
        return [r.id for r in self.rules.rules]
