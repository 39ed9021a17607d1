"""The flow hook: fund monitoring inside the voucher library (事前 before signing, 事中 on receipt).

::

    monitor = Monitor(RuleSet.load("rules.toml"), MonitorContext.load("ctx.toml"))
    hook = FlowMonitor(monitor, caselog=CaseLog("cases.db", key))
    library = VoucherLibrary(party, ..., hooks=[hook])

Each voucher that the library is about to sign, or has verified on arrival, is checked with the
rules for that stage (``pre_sign`` / ``on_receipt``); every alert is kept in :attr:`alerts` and,
with a case log, opened as a case. When the strongest action is in ``refuse`` for the stage
(default: HOLD and BLOCK before signing — 先提示后冻结 stops the payment; BLOCK on receipt) the
hook raises :class:`~ezhifu.errors.HookRefused` and the library stops the send or rejects the
voucher (:mod:`ezhifu.flow.hooks`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ezhifu.document.envelope import VoucherBody
from ezhifu.errors import HookRefused
from ezhifu.flow.hooks import HookStage
from ezhifu.flow.status import RecordKey
from ezhifu.monitor.alerts import Alert, worst_action
from ezhifu.monitor.caselog import CaseLog
from ezhifu.monitor.engine import Monitor

__all__ = ["DEFAULT_REFUSE", "FlowMonitor"]

DEFAULT_REFUSE: Mapping[str, frozenset[str]] = {
    "pre_sign": frozenset({"HOLD", "BLOCK"}),
    "on_receipt": frozenset({"BLOCK"}),
}


class FlowMonitor:
    """A :class:`~ezhifu.flow.hooks.VoucherHook` running a :class:`Monitor`."""

    def __init__(
        self,
        monitor: Monitor,
        *,
        caselog: CaseLog | None = None,
        refuse: Mapping[str, Collection[str]] | None = None,
        stages: Collection[str] = ("pre_sign", "on_receipt"),
    ) -> None:
        self.monitor = monitor
        self.caselog = caselog
        self.refuse = {k: frozenset(v) for k, v in (refuse or DEFAULT_REFUSE).items()}
        self.stages = frozenset(stages)
        self.alerts: list[Alert] = []

    def __call__(self, stage: HookStage, key: RecordKey, body: VoucherBody) -> None:
        if stage not in self.stages:
            return
        alerts = self.monitor.check(body.voucher, stage=stage)
        self.alerts.extend(alerts)
        if self.caselog is not None:
            for alert in alerts:
                self.caselog.open(alert)
        action = worst_action(alerts)
        if action is not None and action in self.refuse.get(stage, frozenset()):
            stopping = [a for a in alerts if a.action == action]
            text = "; ".join(f"{a.rule_id}: {a.message}" for a in stopping[:3])
            raise HookRefused(f"资金监控 {action} / fund monitoring {action}: {text}")
