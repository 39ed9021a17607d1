"""``ezhifu validate FILE_OR_DIR... [--strict] [--schema-version V] [--json]``.

The level is ``partner`` (what real partners send: amounts ``0``, ``2.0``; any element order)
unless ``--strict`` (what ezhifu writes: two decimals, the field-table order); every report
names it (a first line ``level partner, schema version 2024``; ``"level"`` in JSON).

Directories are expanded to the ``*.xml`` files below them (recursively, sorted; see
:func:`ezhifu.cli.common.iter_input_files`). With more than one file a progress bar is shown
while validating (only when stderr is a terminal), then the details of every file that is not
valid and a summary table (file, ✓/✗, issue count).

Exit 0 when every file is valid, 1 when any is invalid or unreadable (hostile, bad bytes,
not well-formed), 2 on usage errors (missing file, empty directory, unknown schema version).
Never a traceback: every problem is printed as one line with its path and line.

``--json`` prints ``{"schema_version": V, "level": L, "files": [report, ...]}`` whatever the number of
files, each report being :func:`validate_file`'s dict (``file``, ``valid``, ``issues``, ``error``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ezhifu._fileio import MAX_RUN_BYTES, MAX_RUN_FILES
from ezhifu.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    JsonListWriter,
    handle_errors,
    mark,
    print_table,
    progress,
    read_input,
)
from ezhifu.cli.i18n import _
from ezhifu.cli.options import json_option, run_inputs, run_limit_options
from ezhifu.document.fields import DEFAULT_SCHEMA_VERSION, SCHEMA_VERSIONS
from ezhifu.document.issues import UNREADABLE_CODES, unreadable_of
from ezhifu.document.validation import Level, check
from ezhifu.document.xmlparse import DEFAULT_MAX_BYTES
from ezhifu.errors import InvalidInput

__all__ = ["command", "summary_rows", "validate_file"]

_INNER_NOTE = "note: lines of paths under /MOF/VoucherBody[n]/Voucher/ are lines of the decoded inner voucher"
_TABLE_HEADERS = ("file", "result", "issues")


def validate_file(path: Path, schema_version: str | None, level: Level = "partner") -> dict[str, Any]:
    """Validate one file at ``level``; a dict with ``file``, ``valid``, ``issues`` and ``error``."""
    try:
        data = read_input(path, max_bytes=DEFAULT_MAX_BYTES)
    except InvalidInput as exc:  # over the size limit: refused before reading
        return _unreadable(path, type(exc).__name__, str(exc), None)
    report = check(data, schema_version, level=level)
    refused = unreadable_of(report.issues)
    if refused is not None:  # hostile, undecodable or not well-formed: unreadable
        return _unreadable(path, UNREADABLE_CODES[refused.code].__name__, refused.reason, refused.offset)
    result = report.to_dict()
    return {
        "file": str(path),
        "valid": result["valid"],
        "issues": result["issues"],
        "error": None,
    }


def _unreadable(path: Path, kind: str, message: str, offset: int | None) -> dict[str, Any]:
    error: dict[str, Any] = {"kind": kind, "message": message}
    if offset is not None:
        error["offset"] = offset
    return {"file": str(path), "valid": False, "issues": [], "error": error}


def summary_rows(reports: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Rows of the summary table: file, ✓/✗, number of issues (or ``unreadable: Kind``)."""
    rows: list[tuple[str, str, str]] = []
    for report in reports:
        error = report["error"]
        count = f"unreadable: {error['kind']}" if error is not None else str(len(report["issues"]))
        rows.append((report["file"], mark(bool(report["valid"])), count))
    return rows


def _print_report(report: dict[str, Any]) -> bool:
    """Print one file's result; True when an issue lies in a decoded inner voucher."""
    name = report["file"]
    if report["error"] is not None:
        error = report["error"]
        click.echo(_("{name}: unreadable: {kind}: {message}").format(name=name, **error))
        return False
    if report["valid"]:
        click.echo(_("{name}: valid").format(name=name))
        return False
    count = len(report["issues"])
    click.echo(
        (_("{name}: invalid, {count} issue") if count == 1 else _("{name}: invalid, {count} issues")).format(
            name=name, count=count
        )
    )
    noted = False
    for issue in report["issues"]:
        where = f"line {issue['line']}" if issue["line"] is not None else "line ?"
        text = f"  {name}:{where}: {issue['path']}: [{issue['code']}] {issue['reason']}"
        if issue["value"] is not None:
            text += f" (value {issue['value']!r})"
        click.echo(text)
        noted = noted or ("/Voucher" in issue["path"] and issue["path"].startswith("/MOF/"))
    return noted


@click.command("validate")
@click.argument(
    "inputs",
    metavar="FILE_OR_DIR...",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=True, dir_okay=True, readable=True, path_type=Path),
)
@click.option(
    "--schema-version",
    type=click.Choice(SCHEMA_VERSIONS),
    default=None,
    help=f"Schema version to validate against (default {DEFAULT_SCHEMA_VERSION}).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Strict level: amounts with two decimals and the field-table order (what ezhifu writes). "
    "Default: the partner level (amounts 0, 2.0 accepted; any element order).",
)
@run_limit_options
@json_option
@handle_errors
def command(
    inputs: tuple[Path, ...],
    schema_version: str | None,
    strict: bool,
    as_json: bool,
    max_files: int = MAX_RUN_FILES,
    max_run_bytes: int = MAX_RUN_BYTES,
) -> None:
    """Validate envelopes (<MOF>) or inner vouchers (<Voucher>) against the bundled schemas.

    A directory stands for every *.xml file below it. Reports every issue with its path and
    line, and a summary table for several files. Exit 0 all valid, 1 any invalid, 2 usage error.
    """
    files = run_inputs(inputs, max_files, max_run_bytes, unknown_size=DEFAULT_MAX_BYTES)
    level: Level = "strict" if strict else "partner"
    version = schema_version or DEFAULT_SCHEMA_VERSION
    # Each file's report is printed when it is done; only its summary row is kept.
    rows: list[tuple[str, str, str]] = []
    listing: JsonListWriter | None = None
    if as_json:
        listing = JsonListWriter("files", head={"schema_version": version, "level": level})
    else:
        click.echo(_("level {level}, schema version {version}").format(level=level, version=version))
    noted = False
    with progress(files, label="validating") as items:
        for path in items:
            report = validate_file(path, schema_version, level)
            rows.extend(summary_rows([report]))
            if listing is not None:
                listing.add(report)
            elif len(files) == 1 or not report["valid"]:  # several files: details only if wrong
                noted = _print_report(report) or noted
    all_valid = all(row[1] == mark(True) for row in rows)
    if listing is not None:
        listing.close()
        sys.exit(EXIT_OK if all_valid else EXIT_FAILED)
    if noted:
        click.echo(_INNER_NOTE)
    if len(files) > 1:
        if not all_valid:
            click.echo("")
        print_table(_TABLE_HEADERS, rows)
        valid = sum(1 for row in rows if row[1] == mark(True))
        click.echo(
            _("{files} files: {valid} valid, {invalid} not valid").format(
                files=len(rows), valid=valid, invalid=len(rows) - valid
            )
        )
    sys.exit(EXIT_OK if all_valid else EXIT_FAILED)
