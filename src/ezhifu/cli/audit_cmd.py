"""``ezhifu audit``: check an audit trail against the heads kept outside it; export its head.

Examples::

    ezhifu audit verify audit.db --key-env AUDIT_KEY                  # uses audit.db.head if present
    ezhifu audit verify audit.db --key-env AUDIT_KEY --head witness.txt --json
    ezhifu audit head audit.db --key-env AUDIT_KEY >> /mnt/witness/audit-heads.txt

``verify`` reads the trail read-only and checks the SM3 chain, every entry's HMAC-SM3 (with
``--key-env``; without it only the hash chain is checked and the report says so), the head
stored in the database, and every head given with ``--head`` (a head file or a file of
witness lines; the trail's own ``TRAIL.head`` is used when present unless ``--no-head-file``).
Exit codes: 0 the trail is intact and contains every head; 1 it was edited, truncated,
reordered, rolled back, rows were deleted, or a head is forged; 2 a usage or configuration
error (a missing trail, a head file others can write, an unset variable).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ezhifu.cli.common import EXIT_FAILED, EXIT_OK, echo_json, handle_errors
from ezhifu.cli.keyopts import hmac_key_from_env
from ezhifu.cli.options import FILE_PATH, env_option, json_option
from ezhifu.errors import AuditChainBroken, AuditTamperedError, ConfigurationError
from ezhifu.keystore.audit import AuditLog, SQLiteAuditStorage, verify_audit
from ezhifu.keystore.audit_head import (
    HeadRecord,
    check_head_file_current,
    default_head_path,
    read_head_file,
    read_heads,
)

__all__ = ["command"]

_KEY_ENV = env_option("--key-env", "the trail's HMAC key (checks the MACs)")
_WITNESS_KEY_ENV = env_option("--witness-key-env", "the key that authenticates witness lines (hmac-sm3=)")


def _trail(path: Path) -> SQLiteAuditStorage:
    if not path.is_file():
        raise ConfigurationError(f"{path}: 审计记录文件不存在 / no such audit trail")
    return SQLiteAuditStorage(path, read_only=True)


@click.group(name="audit")
def command() -> None:
    """Audit trails of key use (审计记录): verify against heads kept outside, export the head."""


def _anchors(
    trail: Path, heads: tuple[Path, ...], no_head_file: bool, key: bytes | None, witness_key: bytes | None
) -> list[HeadRecord]:
    """The heads to check against: the trail's head file (first, when used) and every --head."""
    anchors: list[HeadRecord] = []
    beside = default_head_path(trail)
    if not no_head_file and beside not in heads:
        record = read_head_file(beside, key)
        if record is not None:
            anchors.append(record)
    for path in heads:
        anchors.extend(read_heads(path, key=key, witness_key=witness_key))
    return anchors


def _report(trail: Path, outcome: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(outcome)
        return
    if outcome["valid"]:
        click.echo(
            f"✓ 审计记录完整 / audit trail intact: {trail}: {outcome['entries']} entries, "
            f"head {outcome['head_hash'][:16]}…"
        )
    else:
        problem = outcome["problem"]
        click.echo(f"✗ 审计记录被篡改 / audit trail tampered: {trail}: {problem['message']}")
    if not outcome["macs_checked"]:
        click.echo("  ! 未校验 MAC / MACs not checked (no --key-env): the hash chain alone can be rebuilt")
    if outcome["anchors"]:
        click.echo("  heads checked / 已核对的链头: " + ", ".join(outcome["anchors"]))
    elif outcome["valid"]:
        click.echo(
            "  ! 没有外部链头 / no head outside the trail: deleting every row or a rollback goes unseen"
        )


@command.command("verify")
@click.argument("trail", type=FILE_PATH)
@click.option(
    "--head",
    "heads",
    type=FILE_PATH,
    multiple=True,
    help="A head file or a file of witness lines the trail must contain (repeatable).",
)
@click.option("--no-head-file", is_flag=True, help="Do not use TRAIL.head automatically.")
@_KEY_ENV
@_WITNESS_KEY_ENV
@json_option
@handle_errors
def verify_command(
    trail: Path,
    heads: tuple[Path, ...],
    no_head_file: bool,
    key_env: str | None,
    witness_key_env: str | None,
    as_json: bool,
) -> None:
    """Check the audit trail TRAIL (exit 0 intact, 1 tampered or rolled back, 2 usage)."""
    key = hmac_key_from_env(key_env, "key")
    witness_key = hmac_key_from_env(witness_key_env, "witness-key")
    storage = _trail(trail)
    outcome: dict[str, Any] = {"trail": str(trail), "macs_checked": key is not None}
    anchors: list[HeadRecord] = []
    try:
        try:
            anchors = _anchors(trail, heads, no_head_file, key, witness_key)
            report = verify_audit(storage, key, anchors=anchors)
            beside = str(default_head_path(trail))
            if anchors and anchors[0].source == beside:  # a rolled-back head file hides a keystore rollback
                check_head_file_current(anchors[0], anchors[1:])
        except AuditTamperedError as exc:
            seq = exc.seq if isinstance(exc, AuditChainBroken) else None
            outcome.update(
                valid=False,
                anchors=[a.source for a in anchors],
                problem={"kind": type(exc).__name__, "seq": seq, "message": str(exc)},
            )
        else:
            outcome.update(valid=True, **report.to_dict())
    finally:
        storage.close()
    _report(trail, outcome, as_json)
    sys.exit(EXIT_OK if outcome["valid"] else EXIT_FAILED)


@command.command("head")
@click.argument("trail", type=FILE_PATH)
@_KEY_ENV
@_WITNESS_KEY_ENV
@handle_errors
def head_command(trail: Path, key_env: str | None, witness_key_env: str | None) -> None:
    """Print the trail's current head as one witness line (copy it to another system)."""
    key = hmac_key_from_env(key_env, "key")
    if key is None:
        raise click.UsageError("--key-env is needed to authenticate the head before exporting it")
    witness_key = hmac_key_from_env(witness_key_env, "witness-key")
    head = default_head_path(trail)
    log = AuditLog(_trail(trail), key, head_file=head if head.exists() else None)
    try:
        click.echo(log.witness_line(witness_key))
    finally:
        log.close()
