"""``ezhifu verify``: verify every signature and seal of one or more envelopes.

Example::

    ezhifu verify a.xml b.xml --trust ca.pem --trust partner.pem --policy legacy --json

Trust files (PEM, several certificates each allowed) are sorted by
:meth:`ezhifu.trust.TrustStore.from_pem_bytes`: self-signed CA certificates are roots, other CA
certificates help build chains, and end-entity certificates are *pinned* (trusted directly;
partners whose private CA root is not handed out).

``--positions FILE`` is a JSON or TOML table ``{VtCode: [position, ...]}``; a signature or
seal at any other position then fails.

Exit status: 0 when everything verifies, 1 when anything fails, 2 on usage errors.

``--json`` output: for one FILE, the :meth:`ezhifu.results.EnvelopeResult.to_dict` object
(``{"valid", "problems", "bodies": [{"vt_code", "voucher_no", "valid", "problems", "items":
[{"kind", "position", "valid", "reason", "signer", ...}]}]}``) with an added ``"file"`` key;
for several, ``{"valid": all valid, "files": [{"file": name, **result}, ...]}``.
"""

from __future__ import annotations

import json
import sys
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ezhifu.cli.common import EXIT_FAILED, EXIT_OK, echo_json, handle_errors
from ezhifu.errors import ConfigurationError

__all__ = ["command", "load_positions"]


def load_positions(path: Path) -> dict[str, frozenset[str]]:
    """Read a position table (JSON or TOML): ``{VtCode: [position, ...]}``."""
    raw = path.read_bytes()
    data: Any
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: not a valid position table ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: a position table maps VtCode to a list of positions")
    table: dict[str, frozenset[str]] = {}
    for vt_code, positions in data.items():
        if not isinstance(positions, list) or not all(isinstance(p, str) for p in positions):
            raise ConfigurationError(f"{path}: positions of VtCode {vt_code!r} must be a list of strings")
        table[str(vt_code)] = frozenset(positions)
    return table


def _parse_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 date/time: {value!r}", param_hint="--at") from exc


def _print_text(name: str, result: Any) -> None:
    status = "OK" if result.valid else "FAILED"
    click.echo(f"{name}: {status}")
    for problem in result.problems:
        click.echo(f"  envelope: {problem}")
    for body in result.bodies:
        verdict = "ok" if body.valid else "FAILED"
        click.echo(f"  VoucherBody VtCode={body.vt_code} VoucherNo={body.voucher_no}: {verdict}")
        for problem in body.problems:
            click.echo(f"    problem: {problem}")
        if not body.items:
            click.echo("    no signature or seal")
        for item in body.items:
            who = f" by {item.signer.subject} (serial {item.signer.serial_hex})" if item.signer else ""
            verdict = "ok" if item.valid else f"FAILED: {item.reason}"
            click.echo(f"    {item.kind} at {item.position}{who}: {verdict}")


@click.command(name="verify")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--trust",
    "trust_files",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM file of trusted roots, intermediates or pinned partner certificates (repeatable).",
)
@click.option(
    "--policy",
    "policy_name",
    type=click.Choice(["default", "legacy"]),
    default="default",
    show_default=True,
    help="legacy also accepts SHA-1 and RSA-1024 (the deployed partners, spec.md §5.3).",
)
@click.option(
    "--positions",
    "positions_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Position table (JSON or TOML): {VtCode: [position, ...]}.",
)
@click.option("--at", "at_text", metavar="ISO-TIME", help="Validate certificates at this time (default now).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@handle_errors
def command(
    files: tuple[Path, ...],
    trust_files: tuple[Path, ...],
    policy_name: str,
    positions_file: Path | None,
    at_text: str | None,
    as_json: bool,
) -> None:
    """Verify the signatures and seals of envelope FILE(s)."""
    from ezhifu.trust import TrustStore, VerifyPolicy
    from ezhifu.verify import verify_envelope

    trust = TrustStore.from_pem_files(trust_files)
    policy = VerifyPolicy.legacy() if policy_name == "legacy" else VerifyPolicy()
    positions = load_positions(positions_file) if positions_file is not None else None
    at = _parse_at(at_text)

    results = [
        (str(f), verify_envelope(f.read_bytes(), trust=trust, policy=policy, positions=positions, at=at))
        for f in files
    ]
    all_valid = all(r.valid for _, r in results)
    if as_json:
        if len(results) == 1:
            name, result = results[0]
            echo_json({**result.to_dict(), "file": name})
        else:
            echo_json({"valid": all_valid, "files": [{"file": name, **r.to_dict()} for name, r in results]})
    else:
        for name, result in results:
            _print_text(name, result)
    sys.exit(EXIT_OK if all_valid else EXIT_FAILED)
