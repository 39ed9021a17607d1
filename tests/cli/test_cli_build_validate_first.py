"""CLI of issue 15: ``ezhifu build``, ``validate --strict`` (the level in text and JSON), ``sign`` and
``seal apply`` validating first (``--no-validate``), the position vocabulary, ``demo --test-keys``."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezhifu.cli.checks import check_position
from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import UnknownPosition

REPO = Path(__file__).resolve().parents[2]
LEGACY = REPO / "samples" / "legacy" / "envelope.xml"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "--out", str(out / "demo"), "--test-keys", str(out / "keys")])
    assert result.exit_code == 0, result.output
    return out / "keys"


def _envelope(tmp_path: Path, name: str, **header: str) -> Path:
    path = tmp_path / name
    path.write_bytes(Envelope.build([sample_voucher("5201", details=2, **header)]).to_bytes())
    return path


def _sign_args(keys: Path, src: Path, out: Path, position: str = "cz_dwfz") -> list[str]:
    return [
        "sign", str(src), "--key", str(keys / "signer.key.pem"), "--cert", str(keys / "signer-chain.pem"),
        "--position", position, "-o", str(out),
    ]  # fmt: skip


def _seal_args(keys: Path, src: Path, out: Path, position: str = "cz_dwgz") -> list[str]:
    return [
        "seal", "apply", str(src), "--seal", str(keys / "seal.der"), "--key", str(keys / "signer.key.pem"),
        "--cert", str(keys / "signer-chain.pem"), "--position", position, "-o", str(out),
    ]  # fmt: skip


def test_demo_writes_test_keys_only_when_asked(keys: Path) -> None:
    assert sorted(p.name for p in keys.iterdir()) == [
        "root.pem",
        "seal-maker-root.pem",
        "seal.der",
        "signer-chain.pem",
        "signer.key.pem",
    ]
    assert stat.S_IMODE((keys / "signer.key.pem").stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in (keys / "signer.key.pem").read_bytes()
    demo = keys.parent / "demo"
    assert b"PRIVATE KEY" not in b"".join(p.read_bytes() for p in demo.iterdir())


def test_sign_refuses_an_invalid_voucher(keys: Path, tmp_path: Path) -> None:
    bad = _envelope(tmp_path, "bad.xml", PayAmt="12,3145771.73")
    result = CliRunner().invoke(cli, _sign_args(keys, bad, tmp_path / "signed.xml"))
    assert result.exit_code == 1, result.output
    assert "refusing to sign" in result.stderr and "--no-validate" in result.stderr
    assert "/Voucher/PayAmt" in result.stderr and "12,3145771.73" in result.stderr
    assert "(level partner)" in result.stderr
    assert not (tmp_path / "signed.xml").exists()
    forced = CliRunner().invoke(cli, [*_sign_args(keys, bad, tmp_path / "signed.xml"), "--no-validate"])
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "signed.xml").exists()


def test_seal_apply_refuses_an_invalid_voucher(keys: Path, tmp_path: Path) -> None:
    bad = _envelope(tmp_path, "bad.xml", VouDate="20240230")
    result = CliRunner().invoke(cli, _seal_args(keys, bad, tmp_path / "sealed.xml"))
    assert result.exit_code == 1, result.output
    assert "refusing to seal" in result.stderr and "date-invalid" not in result.stdout
    assert "VouDate" in result.stderr
    assert not (tmp_path / "sealed.xml").exists()
    forced = CliRunner().invoke(cli, [*_seal_args(keys, bad, tmp_path / "sealed.xml"), "--no-validate"])
    assert forced.exit_code == 0, forced.output


def test_valid_voucher_signs_and_seals_and_verifies(keys: Path, tmp_path: Path) -> None:
    good = _envelope(tmp_path, "good.xml")
    runner = CliRunner()
    assert runner.invoke(cli, _sign_args(keys, good, tmp_path / "s.xml")).exit_code == 0
    assert runner.invoke(cli, _seal_args(keys, tmp_path / "s.xml", tmp_path / "ss.xml")).exit_code == 0
    trust = ["--trust", str(keys / "root.pem"), "--seal-maker-trust", str(keys / "seal-maker-root.pem")]
    verified = runner.invoke(cli, ["verify", str(tmp_path / "ss.xml"), *trust])
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("position", ["bad pos<>", "cz_", "", "x" * 100, "CZ_DWFZ", "cz_dwfz\n"])
def test_unknown_position_is_a_usage_error(keys: Path, tmp_path: Path, position: str) -> None:
    good = _envelope(tmp_path, "good.xml")
    for args in (
        _sign_args(keys, good, tmp_path / "o.xml", position),
        _seal_args(keys, good, tmp_path / "o.xml", position),
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert "unknown position" in result.output and "未知的签章位置" in result.output
    assert not (tmp_path / "o.xml").exists()


def test_position_vocabulary() -> None:
    for name in ("cz_dwfz", "cz_dwgz", "cz_dwsz", "rh_ywzqz", "rh_qm", "cz_jb", "yh_zqz", "rh_fhyqm"):
        assert check_position(name) == name
    for name in ("bad pos<>", "cz_dw", "rh-qm", "cz_dwgz<", "a_gz"):
        with pytest.raises(UnknownPosition):
            check_position(name)


def test_validate_strict_names_the_level_in_text_and_json() -> None:
    runner = CliRunner()
    partner = runner.invoke(cli, ["validate", str(LEGACY)])
    assert partner.exit_code == 0 and partner.stdout.startswith("level partner, schema version 2024\n")
    strict = runner.invoke(cli, ["validate", "--strict", str(LEGACY)])
    assert strict.exit_code == 1
    assert strict.stdout.startswith("level strict") and "invalid, 3 issues" in strict.stdout
    report = json.loads(runner.invoke(cli, ["validate", "--strict", "--json", str(LEGACY)]).stdout)
    assert report["level"] == "strict"
    assert [i["code"] for i in report["files"][0]["issues"]] == ["amount-format"] * 3
    assert json.loads(runner.invoke(cli, ["validate", "--json", str(LEGACY)]).stdout)["level"] == "partner"


def test_build_cli(tmp_path: Path) -> None:
    data = {
        "AdmDivCode": "420100",
        "VouDate": "20240315",
        "VoucherNo": "V1",
        "AgencyCode": "205001",
        "PayeeAcctNo": "3202001109000012345",
        "PayeeAcctName": "武汉市第一中学",
        "DetailList": [{"PayAmt": "10"}, {"PayAmt": "0.5"}],
    }
    (tmp_path / "d.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["build", "--type", "5201", str(tmp_path / "d.json"), "-o", str(tmp_path / "e.xml")]
    )
    assert result.exit_code == 0, result.output
    assert "PayAmt 10.50" in result.stderr
    envelope = Envelope.from_bytes((tmp_path / "e.xml").read_bytes())
    assert envelope.bodies[0].voucher.get("PayAmt") == "10.50"
    assert runner.invoke(cli, ["validate", "--strict", str(tmp_path / "e.xml")]).exit_code == 0
    inner = runner.invoke(
        cli, ["build", "--type", "5201", "--voucher-only", str(tmp_path / "d.json"), "-o", "-"]
    )
    assert inner.exit_code == 0 and inner.stdout_bytes.startswith(b'<?xml version="1.0" encoding="GBK"?>')
    # bad data: exit 1 naming field and row; unknown type: exit 2
    data["DetailList"] = [{"PayAmt": "10"}, {"PayAmt": "1,0"}]
    (tmp_path / "bad.json").write_text(json.dumps(data), encoding="utf-8")
    bad = runner.invoke(
        cli, ["build", "--type", "5201", str(tmp_path / "bad.json"), "-o", str(tmp_path / "x.xml")]
    )
    assert bad.exit_code == 1 and "DetailList row 2 PayAmt" in bad.stderr
    assert not (tmp_path / "x.xml").exists()
    unknown = runner.invoke(
        cli, ["build", "--type", "9999", str(tmp_path / "d.json"), "-o", str(tmp_path / "x.xml")]
    )
    assert unknown.exit_code == 2
