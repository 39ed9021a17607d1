"""Security review INFO-2: the command line refuses oversized inputs before reading them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezhifu.cli.common import read_input
from ezhifu.cli.main import cli
from ezhifu.errors import HostileInputError


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as handle:  # a hole: no data is written, the size is what counts
        handle.truncate(size)
    return path


def test_read_input_checks_the_size_before_reading(tmp_path: Path) -> None:
    big = _sparse(tmp_path / "big.xml", 10 * 1024 * 1024)
    with pytest.raises(HostileInputError, match="exceeds the limit of 1024 bytes"):
        read_input(big, max_bytes=1024)
    small = tmp_path / "small.xml"
    small.write_bytes(b"<a/>")
    assert read_input(small, max_bytes=1024) == b"<a/>"


def test_validate_reports_an_oversized_envelope_as_unreadable(tmp_path: Path) -> None:
    big = _sparse(tmp_path / "huge.xml", 65 * 1024 * 1024)
    result = CliRunner().invoke(cli, ["validate", str(big), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    error = report["files"][0]["error"]
    assert error["kind"] == "HostileInputError" and "exceeds the limit" in error["message"]


@pytest.mark.parametrize(
    "args",
    [
        ["inspect", "{big}"],
        ["seal", "show", "{big}"],
    ],
)
def test_verbs_refuse_oversized_files_with_one_line(tmp_path: Path, args: list[str]) -> None:
    big = _sparse(tmp_path / "big.der", 80 * 1024 * 1024)
    result = CliRunner().invoke(cli, [a.format(big=big) for a in args])
    assert result.exit_code == 1
    assert "exceeds the limit" in result.output and "Traceback" not in result.output
