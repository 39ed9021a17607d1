"""ezhifu.monitor: fund monitoring (资金监控) with rules as data, explainable alerts and a case log.

* :mod:`~ezhifu.monitor.expr`: the safe expression language (no ``eval``);
* :mod:`~ezhifu.monitor.rules`: TOML rule packs checked against a JSON Schema
  (``rules.schema.json``), :class:`RuleSet`; the example pack ``packs/example.toml``;
* :mod:`~ezhifu.monitor.context`: caller tables (accounts, quotas, calendar, payees, history);
* :mod:`~ezhifu.monitor.engine`: :class:`Monitor`, windows over the payment history;
* :mod:`~ezhifu.monitor.alerts`: :class:`Alert` with its evidence, exit codes;
* :mod:`~ezhifu.monitor.caselog`: :class:`CaseLog`, handling of alerts on the audit chain;
* :mod:`~ezhifu.monitor.hook`: :class:`FlowMonitor`, the flow hook (before signing, on receipt).

See docs/monitor.md.
"""

from __future__ import annotations

from ezhifu.monitor.alerts import (
    EXIT_CODES,
    AggregateEvidence,
    Alert,
    Evidence,
    VoucherRef,
    exit_code,
    worst_action,
)
from ezhifu.monitor.caselog import Case, CaseLog
from ezhifu.monitor.context import MonitorContext, WorkCalendar
from ezhifu.monitor.engine import Monitor
from ezhifu.monitor.hook import FlowMonitor
from ezhifu.monitor.rules import Rule, RuleSet, example_pack_path

__all__ = [
    "EXIT_CODES",
    "AggregateEvidence",
    "Alert",
    "Case",
    "CaseLog",
    "Evidence",
    "FlowMonitor",
    "Monitor",
    "MonitorContext",
    "Rule",
    "RuleSet",
    "VoucherRef",
    "WorkCalendar",
    "example_pack_path",
    "exit_code",
    "worst_action",
]
