"""``ezhifu monitor``: fund monitoring (资金监控) with a rule pack, from the command line.

``ezhifu monitor run [--rules RULES] [--context CTX] [--stage STAGE] [--json] FILES_OR_DIRS...``
checks every voucher of every envelope (files, or the ``*.xml`` under directories, in path
order) and prints the alerts with their evidence. Without ``--rules`` the first argument is the
rule pack; ``--rules example`` is the pack shipped with ezhifu. Exit codes (docs/monitor.md):

====  ============================================
0     no alert
10    prompt only (PROMPT 自动提示)
20    at least one HOLD (先提示后冻结)
30    at least one BLOCK (拦截)
2     usage error, or a rule / context file refused
1     an envelope could not be read
====  ============================================

``ezhifu monitor check-rules RULES [--json]`` loads and checks a pack and lists its rules; a pack
that is refused prints its line and reason and exits 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ezhifu.cli.common import echo_json, fail_usage, handle_errors, iter_input_files, json_option, read_input
from ezhifu.document.envelope import Envelope
from ezhifu.errors import ContextFileError, RuleFileError
from ezhifu.monitor import Monitor, MonitorContext, RuleSet, exit_code
from ezhifu.monitor.rules import STAGES

__all__ = ["command"]


def _rules(spec: str) -> RuleSet:
    return RuleSet.example() if spec == "example" else RuleSet.load(spec)


@click.group("monitor")
def command() -> None:
    """Fund monitoring: run a rule pack over envelopes, check a rule pack."""


@command.command("run")
@click.option("--rules", "rules_path", metavar="RULES", help="Rule pack (TOML), or 'example'.")
@click.option("--context", "context_path", type=click.Path(dir_okay=False), help="Context file (TOML).")
@click.option("--stage", type=click.Choice(STAGES), default="batch", show_default=True)
@json_option
@click.argument("inputs", nargs=-1, required=True)
@handle_errors
def run_cmd(
    rules_path: str | None, context_path: str | None, stage: str, as_json: bool, inputs: tuple[str, ...]
) -> None:
    """Check the vouchers of FILES_OR_DIRS with a rule pack; exit 0/10/20/30 by the strongest action."""
    targets = list(inputs)
    if rules_path is None:
        if len(targets) < 2:
            fail_usage(
                "monitor run: give --rules RULES (or RULES as the first argument) and at least one file"
            )
        rules_path = targets.pop(0)
    try:
        rules = _rules(rules_path)
        context = MonitorContext.load(context_path) if context_path else MonitorContext()
    except (RuleFileError, ContextFileError) as exc:
        fail_usage(str(exc))
    monitor = Monitor(rules, context)
    alerts = []
    checked = 0
    for path in iter_input_files(targets):
        envelope = Envelope.from_bytes(read_input(path))
        for body in envelope.bodies:
            alerts.extend(monitor.check(body.voucher, stage=stage))
            checked += 1
    code = exit_code(alerts)
    if as_json:
        echo_json(
            {
                "pack": {"id": rules.info.id, "version": rules.info.version},
                "stage": stage,
                "vouchers": checked,
                "alerts": [a.to_dict() for a in alerts],
                "exit_code": code,
            }
        )
    else:
        for alert in alerts:
            click.echo(alert.explain())
        click.echo(f"{checked} voucher(s), {len(alerts)} alert(s), exit {code}")
    sys.exit(code)


@command.command("check-rules")
@json_option
@click.argument("rules_path", metavar="RULES")
@handle_errors
def check_rules_cmd(as_json: bool, rules_path: str) -> None:
    """Load and check a rule pack; list its rules (refusals print the line and reason, exit 1)."""
    try:
        rules = _rules(rules_path)
    except RuleFileError as exc:
        if as_json:
            echo_json({"ok": False, "line": exc.line, "reason": exc.reason, "error": str(exc)})
        else:
            click.echo(f"ezhifu: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    rows = [
        {
            "id": r.id,
            "version": r.version,
            "level": r.level,
            "action": r.action,
            "applies_to": sorted(r.applies_to),
            "scope": r.scope,
            "line": r.line,
            "source": r.source,
        }
        for r in rules.rules
    ]
    if as_json:
        echo_json({"ok": True, "pack": rules.info.id, "version": rules.info.version, "rules": rows})
        return
    click.echo(
        f"{rules.info.id} {rules.info.version} ({Path(rules.info.origin).name}): {len(rows)} rule(s) OK"
    )
    for r in rows:
        click.echo(
            f"  line {r['line']:>4}  {r['id']:<26} v{r['version']}  "
            f"L{r['level']}  {r['action']:<6} {r['scope']}"
        )
