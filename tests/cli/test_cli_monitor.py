"""``ezhifu monitor run`` / ``check-rules``: alerts, JSON, exit codes, refused packs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope

sys.path.insert(0, str(Path(__file__).parent.parent / "monitor"))
from monitor_support import AGENCY, v8202


def _write(path: Path, *vouchers: object) -> Path:
    path.write_bytes(Envelope.build(list(vouchers)).to_bytes())  # type: ignore[arg-type]
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    quiet = _write(tmp_path / "quiet.xml", v8202())
    prompt = _write(tmp_path / "prompt.xml", v8202(summary="购"))
    hold = _write(tmp_path / "hold.xml", v8202(amount="60000.00", set_mode=("3", "现金")))
    block_dir = tmp_path / "blocked"
    block_dir.mkdir()
    _write(block_dir / "b.xml", v8202(amount="1.00"))
    rules = tmp_path / "rules.toml"
    from ezhifu.monitor.rules import example_pack_path

    rules.write_text(
        example_pack_path()
        .read_text("utf-8")
        .replace("params = { accounts = [] }", 'params = { accounts = ["6222000000000001"] }'),
        encoding="utf-8",
    )
    ctx = tmp_path / "ctx.toml"
    ctx.write_text(
        f'[payees]\n"某某科技有限公司" = ["6222000000000001"]\n[accounts]\n"{AGENCY[0]}" = ["1"]\n',
        encoding="utf-8",
    )
    return {"quiet": quiet, "prompt": prompt, "hold": hold, "block": block_dir, "rules": rules, "ctx": ctx}


@pytest.mark.parametrize(("name", "code"), [("quiet", 0), ("prompt", 10), ("hold", 20)])
def test_exit_code_by_strongest_action(files: dict[str, Path], name: str, code: int) -> None:
    result = CliRunner().invoke(cli, ["monitor", "run", "--rules", "example", str(files[name])])
    assert result.exit_code == code, result.output
    assert f"exit {code}" in result.output


def test_block_json_and_directory(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "monitor",
            "run",
            "--rules",
            str(files["rules"]),
            "--context",
            str(files["ctx"]),
            "--json",
            str(files["block"]),
        ],
    )
    assert result.exit_code == 30, result.output
    data = json.loads(result.output)
    assert data["exit_code"] == 30 and data["vouchers"] == 1
    [alert] = [a for a in data["alerts"] if a["rule_id"] == "PAYEE_BLACKLIST"]
    assert alert["voucher"]["detail"] == 1 and alert["action"] == "BLOCK"
    assert alert["evidence"]["fields"] == {"PayeeAcctNo": "6222000000000001"}


def test_rules_as_first_argument(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["monitor", "run", str(files["rules"]), str(files["quiet"])])
    assert result.exit_code == 30  # the blacklist of this pack names the quiet file's payee


def test_check_rules(files: dict[str, Path], tmp_path: Path) -> None:
    ok = CliRunner().invoke(cli, ["monitor", "check-rules", str(files["rules"])])
    assert ok.exit_code == 0 and "16 rule(s) OK" in ok.output
    bad = tmp_path / "bad.toml"
    bad.write_text(
        files["rules"].read_text("utf-8").replace("len(PaySummaryName)", "len(PaySummary)"), "utf-8"
    )
    refused = CliRunner().invoke(cli, ["monitor", "check-rules", "--json", str(bad)])
    assert refused.exit_code == 1
    data = json.loads(refused.output)
    assert data["ok"] is False and data["reason"] == "unknown field PaySummary"
    assert bad.read_text("utf-8").splitlines()[data["line"] - 1].startswith("when = ")
    usage = CliRunner().invoke(cli, ["monitor", "run", "--rules", str(bad), str(files["quiet"])])
    assert usage.exit_code == 2 and "PaySummary" in usage.output


def test_cases_from_the_command_line(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EZHIFU_CASE_KEY", "ab" * 20)
    db = tmp_path / "cases.db"
    run = CliRunner().invoke(
        cli, ["monitor", "run", "--rules", "example", "--cases", str(db), str(files["hold"])]
    )
    assert run.exit_code == 20, run.output
    listed = CliRunner().invoke(cli, ["monitor", "cases", str(db), "--json"])
    assert listed.exit_code == 0, listed.output
    [case] = [c for c in json.loads(listed.output)["cases"] if c["rule_id"] == "CASH_SINGLE"]
    step = CliRunner().invoke(
        cli,
        [
            "monitor",
            "case",
            str(db),
            case["case_id"],
            "dismiss",
            "--actor",
            "王审核",
            "--reason",
            "备用金, 已审批",
        ],
    )
    assert step.exit_code == 0 and "dismissed" in step.output
    again = CliRunner().invoke(
        cli, ["monitor", "case", str(db), case["case_id"], "confirm", "--actor", "王审核", "--reason", "x"]
    )
    assert again.exit_code == 1 and "IllegalCaseTransition" in again.output
    text = CliRunner().invoke(cli, ["monitor", "cases", str(db), "--state", "dismissed"])
    assert "备用金, 已审批" in text.output and "chain of" in text.output
    monkeypatch.delenv("EZHIFU_CASE_KEY")
    assert CliRunner().invoke(cli, ["monitor", "cases", str(db)]).exit_code == 2
