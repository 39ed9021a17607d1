"""``ezhifu validate FILE... [--schema-version V] [--json]``.

Exit 0 when every file is valid, 1 when any is invalid or unreadable (hostile, bad bytes,
not well-formed), 2 on usage errors (missing file, unknown schema version). Never a
traceback: every problem is printed as one line with its path and line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ezhifu.cli.common import EXIT_FAILED, EXIT_OK, echo_json, handle_errors
from ezhifu.document.fields import DEFAULT_SCHEMA_VERSION, SCHEMA_VERSIONS
from ezhifu.document.validation import iter_errors
from ezhifu.errors import DecodingError, InvalidInput, ValidationIssue

__all__ = ["command", "validate_file"]

_INNER_NOTE = "note: lines of paths under /MOF/VoucherBody[n]/Voucher/ are lines of the decoded inner voucher"


def validate_file(path: Path, schema_version: str | None) -> dict[str, Any]:
    """Validate one file; a dict with ``file``, ``valid``, ``issues`` and ``error``."""
    data = path.read_bytes()
    try:
        issues: list[ValidationIssue] = list(iter_errors(data, schema_version))
    except InvalidInput as exc:  # hostile, undecodable or not well-formed: unreadable
        error: dict[str, Any] = {"kind": type(exc).__name__, "message": str(exc)}
        if isinstance(exc, DecodingError) and exc.offset is not None:
            error["offset"] = exc.offset
        return {"file": str(path), "valid": False, "issues": [], "error": error}
    return {
        "file": str(path),
        "valid": not issues,
        "issues": [
            {"path": i.path, "line": i.line, "code": i.code, "reason": i.reason, "value": i.value}
            for i in issues
        ],
        "error": None,
    }


@click.command("validate")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
)
@click.option(
    "--schema-version",
    type=click.Choice(SCHEMA_VERSIONS),
    default=None,
    help=f"Schema version to validate against (default {DEFAULT_SCHEMA_VERSION}).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@handle_errors
def command(files: tuple[Path, ...], schema_version: str | None, as_json: bool) -> None:
    """Validate envelopes (<MOF>) or inner vouchers (<Voucher>) against the bundled schemas.

    Reports every issue with its path and line. Exit 0 all valid, 1 any invalid, 2 usage error.
    """
    reports = [validate_file(path, schema_version) for path in files]
    if as_json:
        echo_json({"schema_version": schema_version or DEFAULT_SCHEMA_VERSION, "files": reports})
    else:
        noted = False
        for report in reports:
            name = report["file"]
            if report["error"] is not None:
                click.echo(f"{name}: unreadable: {report['error']['kind']}: {report['error']['message']}")
                continue
            if report["valid"]:
                click.echo(f"{name}: valid")
                continue
            count = len(report["issues"])
            click.echo(f"{name}: invalid, {count} issue{'s' if count != 1 else ''}")
            for issue in report["issues"]:
                where = f"line {issue['line']}" if issue["line"] is not None else "line ?"
                text = f"  {name}:{where}: {issue['path']}: [{issue['code']}] {issue['reason']}"
                if issue["value"] is not None:
                    text += f" (value {issue['value']!r})"
                click.echo(text)
                noted = noted or ("/Voucher" in issue["path"] and issue["path"].startswith("/MOF/"))
        if noted:
            click.echo(_INNER_NOTE)
    sys.exit(EXIT_OK if all(r["valid"] for r in reports) else EXIT_FAILED)
