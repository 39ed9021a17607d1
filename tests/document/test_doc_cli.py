"""CLI verbs ``ezhifu validate`` and ``ezhifu inspect``: exit codes, reports, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from doc_support import INVALID

from ezhifu.cli.inspect_cmd import command as inspect_command
from ezhifu.cli.validate_cmd import command as validate_command
from ezhifu.document.envelope import Envelope, SignatureElement, SignStampElement, VoucherBody
from ezhifu.document.samples import sample_voucher


def _write_valid(tmp_path: Path) -> Path:
    path = tmp_path / "valid.xml"
    path.write_bytes(Envelope.build([sample_voucher("5214", details=2), sample_voucher("8202")]).to_bytes())
    return path


def test_validate_valid_file_exits_0(tmp_path: Path) -> None:
    result = CliRunner().invoke(validate_command, [str(_write_valid(tmp_path))])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(": valid")


def test_validate_must_show_lists_five_issues_without_traceback() -> None:
    path = INVALID / "must_show.xml"
    # the real console entry point, as a user runs it
    proc = subprocess.run(
        [sys.executable, "-m", "ezhifu", "validate", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "invalid, 5 issues" in proc.stdout
    for code, where in (
        ("missing-element", "/Voucher/AgencyCode"),
        ("amount-format", "/Voucher/DetailList/Detail[1]/ForeignAmt"),
        ("date-format", "/Voucher/VouDate"),
        ("unknown-element", "/Voucher/PayNote"),
        ("sum-mismatch", "/Voucher/PayAmt"),
    ):
        lines = [line for line in proc.stdout.splitlines() if f"[{code}]" in line]
        assert len(lines) == 1 and where in lines[0] and ":line " in lines[0], proc.stdout


def test_validate_json_report_and_mixed_results(tmp_path: Path) -> None:
    valid = _write_valid(tmp_path)
    result = CliRunner().invoke(validate_command, ["--json", str(valid), str(INVALID / "sum_mismatch.xml")])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["schema_version"] == "2024"
    assert [f["valid"] for f in report["files"]] == [True, False]
    assert report["files"][1]["issues"][0]["code"] == "sum-mismatch"
    assert report["files"][1]["issues"][0]["line"] > 0


def test_validate_envelope_notes_inner_lines() -> None:
    result = CliRunner().invoke(validate_command, [str(INVALID / "envelope_inner_amount.xml")])
    assert result.exit_code == 1
    assert "lines of the decoded inner voucher" in result.output


def test_validate_unreadable_file_exits_1_with_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="GBK"?><MOF>\xff</MOF>')
    hostile = tmp_path / "hostile.xml"
    hostile.write_bytes(b'<!DOCTYPE MOF [<!ENTITY x SYSTEM "file:///etc/passwd">]><MOF>&x;</MOF>')
    result = CliRunner().invoke(validate_command, ["--json", str(path), str(hostile)])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["files"][0]["error"]["kind"] == "DecodingError"
    assert report["files"][0]["error"]["offset"] == 41
    assert report["files"][1]["error"]["kind"] == "HostileInputError"


def test_validate_usage_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(validate_command, [str(tmp_path / "missing.xml")]).exit_code == 2
    assert (
        runner.invoke(validate_command, ["--schema-version", "1999", str(_write_valid(tmp_path))]).exit_code
        == 2
    )
    assert runner.invoke(validate_command, []).exit_code == 2


def test_validate_schema_version_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(validate_command, ["--schema-version", "2014", str(_write_valid(tmp_path))])
    assert result.exit_code == 1
    assert "[unknown-vtcode]" in result.output


def test_inspect_envelope_text_and_json(tmp_path: Path) -> None:
    body = VoucherBody.from_voucher(sample_voucher("5214", details=2))
    body.signatures.append(SignatureElement("cz_dwfz", "3f38e4aaee0c2acb", "AAAA"))
    body.stamps.append(SignStampElement("cz_dwgz", "ab" * 16, "BBBB"))
    path = tmp_path / "env.xml"
    path.write_bytes(Envelope.build([body]).to_bytes())
    runner = CliRunner()
    result = runner.invoke(inspect_command, [str(path)])
    assert result.exit_code == 0, result.output
    assert "VtCode=5214" in result.output
    assert "signature at cz_dwfz SN=3f38e4aaee0c2acb" in result.output
    assert f"stamp at cz_dwgz SN={'ab' * 16}" in result.output
    assert "基层预算单位代码" in result.output
    assert ": equal" in result.output
    report = json.loads(runner.invoke(inspect_command, ["--json", str(path)]).output)
    voucher = report["bodies"][0]["voucher"]
    assert voucher["detail_count"] == 2 and voucher["sums"]["equal"] is True
    labels = {h["name"]: h["label"] for h in voucher["header"]}
    assert labels["PayAmt"] == "支付金额"
    text = path.read_bytes().decode("gbk")
    line = text[: text.index("<Signature ")].count("\n") + 1
    assert report["bodies"][0]["signatures"] == [
        {"position": "cz_dwfz", "sn": "3f38e4aaee0c2acb", "line": line}
    ]


def test_inspect_inner_voucher_and_sum_difference() -> None:
    result = CliRunner().invoke(inspect_command, [str(INVALID / "sum_mismatch.xml")])
    assert result.exit_code == 0
    assert "DIFFERENT" in result.output


def test_inspect_hostile_file_exits_1_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "h.xml"
    path.write_bytes(b"<!DOCTYPE MOF><MOF/>")
    result = CliRunner().invoke(inspect_command, [str(path)])
    assert result.exit_code == 1
    assert "HostileInputError" in result.output
    assert "Traceback" not in result.output


def test_inspect_warns_about_relabelled_envelope() -> None:
    result = CliRunner().invoke(inspect_command, [str(INVALID / "envelope_attribute_mismatch.xml")])
    assert result.exit_code == 0
    assert "WARNING: envelope VoucherNo='PLACEHOLDER' but the signed voucher has" in result.output
    count = CliRunner().invoke(inspect_command, [str(INVALID / "envelope_count_mismatch.xml")])
    assert count.exit_code == 0 and "VoucherCount 2 (DIFFERS from the bodies found)" in count.output
