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

Case log (``--cases DB`` on ``run`` opens a case per alert): ``ezhifu monitor cases DB [--state S]
[--json]`` lists the cases and checks the chain; ``ezhifu monitor case DB CASE_ID
confirm|dismiss|correct|close|note --actor WHO --reason WHY`` records a handling step. The case
log's HMAC key comes from the environment variable named by ``--key-env`` (hex, default
``EZHIFU_CASE_KEY``), never from the command line.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ezhifu.cli.common import echo_json, fail_usage, handle_errors, iter_input_files, read_input
from ezhifu.cli.options import json_option
from ezhifu.document.envelope import Envelope
from ezhifu.errors import ContextFileError, RuleFileError
from ezhifu.monitor import CaseLog, Monitor, MonitorContext, RuleSet, exit_code
from ezhifu.monitor.rules import STAGES

__all__ = ["command"]


def _rules(spec: str) -> RuleSet:
    return RuleSet.example() if spec == "example" else RuleSet.load(spec)


_KEY_ENV = "EZHIFU_CASE_KEY"
key_env_option = click.option(
    "--key-env",
    default=_KEY_ENV,
    show_default=True,
    metavar="NAME",
    help="Variable with the case log key (hex).",
)


def _case_log(path: str, key_env: str) -> CaseLog:
    try:
        key = bytes.fromhex(os.environ[key_env])
    except (KeyError, ValueError):
        fail_usage(f"--key-env {key_env}: 环境变量未设置或不是十六进制 / not set or not hex")
    return CaseLog(path, key)


@click.group("monitor")
def command() -> None:
    """Fund monitoring: run a rule pack over envelopes, check a rule pack."""


@command.command("run")
@click.option("--rules", "rules_path", metavar="RULES", help="Rule pack (TOML), or 'example'.")
@click.option("--context", "context_path", type=click.Path(dir_okay=False), help="Context file (TOML).")
@click.option("--stage", type=click.Choice(STAGES), default="batch", show_default=True)
@click.option(
    "--cases", "cases_path", type=click.Path(dir_okay=False), help="Open a case per alert in this log."
)
@key_env_option
@json_option
@click.argument("inputs", nargs=-1, required=True)
@handle_errors
def run_cmd(
    rules_path: str | None,
    context_path: str | None,
    stage: str,
    cases_path: str | None,
    key_env: str,
    as_json: bool,
    inputs: tuple[str, ...],
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
    if cases_path:
        log = _case_log(cases_path, key_env)
        try:
            for alert in alerts:
                log.open(alert)
        finally:
            log.close()
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


@command.command("cases")
@click.argument("db", type=click.Path(dir_okay=False, exists=True))
@click.option("--state", type=click.Choice(("open", "confirmed", "dismissed", "corrected", "closed")))
@key_env_option
@json_option
@handle_errors
def cases_cmd(db: str, state: str | None, key_env: str, as_json: bool) -> None:
    """List the cases of a case log and verify its chain."""
    log = _case_log(db, key_env)
    try:
        report = log.verify()
        found = log.cases(state=state)
    finally:
        log.close()
    if as_json:
        echo_json({"entries": report.count, "cases": [c.to_dict() for c in found]})
        return
    for c in found:
        last = c.events[-1]
        head = f"{c.case_id}  {c.state:<10} {c.action:<6} {c.rule_id:<24} {c.voucher}"
        click.echo(f"{head}  {last.actor}: {last.reason}")
    click.echo(f"{len(found)} case(s); chain of {report.count} entries verified")


@command.command("case")
@click.argument("db", type=click.Path(dir_okay=False, exists=True))
@click.argument("case_id")
@click.argument("step", type=click.Choice(("confirm", "dismiss", "correct", "close", "note")))
@click.option("--actor", required=True, help="Who handles the case.")
@click.option("--reason", required=True, help="Why (the finding, the correction ...).")
@key_env_option
@json_option
@handle_errors
def case_cmd(db: str, case_id: str, step: str, actor: str, reason: str, key_env: str, as_json: bool) -> None:
    """Record a handling step of a case (who, why; the time is now)."""
    log = _case_log(db, key_env)
    try:
        case = log.step(case_id, step, actor=actor, reason=reason)
    finally:
        log.close()
    if as_json:
        echo_json(case.to_dict())
    else:
        click.echo(f"{case.case_id}: {case.state}")
