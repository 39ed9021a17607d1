"""``ezhifu contingency drill`` and ``verify-package``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ezhifu.cli.main import cli
from ezhifu.contingency import export_offline
from ezhifu.document.samples import sample_voucher
from ezhifu.testing.network import demo_network


def test_drill_writes_a_passing_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["contingency", "drill", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] is True and len(data["steps"]) == 10
    assert all(Path(f).is_file() for f in data["files"])
    assert (tmp_path / "register.db").is_file()


def test_drill_key_from_environment(tmp_path: Path) -> None:
    bad = CliRunner().invoke(
        cli, ["contingency", "drill", "--out", str(tmp_path), "--key-env", "EZHIFU_NO_SUCH_VAR"]
    )
    assert bad.exit_code == 2


def test_verify_package(tmp_path: Path) -> None:
    net = demo_network()
    fin = net["finance"]
    net.set_link(False)
    voucher = sample_voucher("5201", details=1, seed=3)
    fin.save(voucher, to="bank")
    fin.send("5201", [voucher.voucher_no], adm_div_code=voucher.adm_div_code, st_year=voucher.st_year)
    package = tmp_path / "pkg.zip"
    package.write_bytes(export_offline(fin, "bank").package)
    cert = tmp_path / "finance.pem"
    cert.write_bytes(fin.link_signer.certificate.dump())  # type: ignore[union-attr]
    ok = CliRunner().invoke(cli, ["contingency", "verify-package", "--sender-cert", str(cert), str(package)])
    assert ok.exit_code == 0, ok.output
    assert f"5201/{voucher.voucher_no}" in ok.output
    other = tmp_path / "bank.pem"
    other.write_bytes(net["bank"].link_signer.certificate.dump())  # type: ignore[union-attr]
    bad = CliRunner().invoke(
        cli, ["contingency", "verify-package", "--json", "--sender-cert", str(other), str(package)]
    )
    assert bad.exit_code == 1 and json.loads(bad.output)["ok"] is False
    net.close()
