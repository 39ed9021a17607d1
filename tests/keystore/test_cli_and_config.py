"""``ezhifu keystore init|import|list|export-cert`` and TOML configuration loading."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezhifu.cli.demo import seal_picture_png
from ezhifu.cli.main import cli
from ezhifu.errors import ConfigurationError
from ezhifu.keystore import load_config, open_keystore
from ezhifu.keystore.base import available_backends, secret_from_config
from ezhifu.pki.keys import load_certificates
from ezhifu.pki.signer import verify_signature
from ezhifu.seal.make import make_seal
from ezhifu.testing.pki import TestPKI


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "conf" / "store.toml"
    path.parent.mkdir()
    path.write_text(
        '[keystore]\ntype = "file"\npath = "../keys"\npassword_env = "EZHIFU_TEST_KS_PW"\nscrypt_n = 1024\n'
    )
    return path


def _real_seal(pki: TestPKI) -> bytes:
    now = datetime.now(UTC)
    return make_seal(
        pki.signer(),
        seal_id="S-1",
        name="测试章",
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=30),
        holder_certs=[pki.leaf_cert],
        picture=seal_picture_png(),
        width_mm=40,
        height_mm=40,
    )


def test_cli_round_trip(tmp_path: Path, pkis: dict[str, TestPKI], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EZHIFU_TEST_KS_PW", "cli password")
    config = _config(tmp_path)
    files = pkis["sm2"].write_pem(tmp_path / "pki")
    runner = CliRunner()
    result = runner.invoke(cli, ["keystore", "init", str(config)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "keys" / "keystore.json").is_file()  # resolved against the config file
    result = runner.invoke(
        cli,
        ["keystore", "import", str(config), "--alias", "head", "--key", str(files["leaf.key.pem"]),
         "--cert", str(files["chain.pem"])],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "imported key 'head' (sm2, 2 certificate(s))" in result.output
    (tmp_path / "seal.der").write_bytes(b"\x30\x03\x02\x01\x07")
    result = runner.invoke(
        cli, ["keystore", "import", str(config), "--seal-id", "S-1", "--seal", str(tmp_path / "seal.der")]
    )
    assert result.exit_code == 1 and "not a seal" in result.output  # issue 13 item 5: refused
    (tmp_path / "seal.der").write_bytes(_real_seal(pkis["sm2"]))
    result = runner.invoke(
        cli, ["keystore", "import", str(config), "--seal-id", "S-1", "--seal", str(tmp_path / "seal.der")]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["keystore", "list", str(config), "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    assert [k["alias"] for k in listing["keys"]] == ["head"] and listing["keys"][0]["kind"] == "sm2"
    assert listing["seals"] == ["S-1"]
    assert listing["keys"][0]["serial"] == format(pkis["sm2"].leaf_cert.serial_number, "x")
    out = tmp_path / "head.pem"
    result = runner.invoke(
        cli, ["keystore", "export-cert", str(config), "--alias", "head", "--chain", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert [c.dump() for c in load_certificates(out.read_bytes())] == [c.dump() for c in pkis["sm2"].chain]
    with open_keystore(load_config(config)) as store:  # the store the CLI made signs
        verify_signature(pkis["sm2"].leaf_cert, b"m", store.signer("head").sign(b"m"))


def test_cli_errors_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["keystore", "init", str(config)])
    assert result.exit_code == 2 and "EZHIFU_TEST_KS_PW" in result.output  # the variable is unset
    monkeypatch.setenv("EZHIFU_TEST_KS_PW", "right")
    assert runner.invoke(cli, ["keystore", "init", str(config)]).exit_code == 0
    monkeypatch.setenv("EZHIFU_TEST_KS_PW", "S3cr3t-wrong-value")
    result = runner.invoke(cli, ["keystore", "list", str(config)])
    # A wrong password is a credential error: exit 2 (issue 15 item 6, docs/cli.md "Exit codes").
    assert result.exit_code == 2 and "BadPassword" in result.output
    assert "S3cr3t" not in result.output  # the secret is never echoed
    result = runner.invoke(cli, ["keystore", "import", str(config)])
    assert result.exit_code == 2 and "nothing to import" in result.output
    monkeypatch.setenv("EZHIFU_TEST_KS_PW", "right")
    result = runner.invoke(cli, ["keystore", "export-cert", str(config), "--alias", "ghost"])
    assert result.exit_code == 2 and "KeyNotFound" in result.output  # unknown alias: exit 2


def test_load_config_resolves_paths_and_refuses_bad_files(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('type = "pkcs12"\npath = "x/y.p12"\npassword_file = "pw.txt"\n')
    config = load_config(tmp_path / "a.toml")
    assert config["path"] == str(tmp_path.resolve() / "x" / "y.p12")
    assert config["password_file"] == str(tmp_path.resolve() / "pw.txt")
    (tmp_path / "b.toml").write_text('type = "pkcs11"\nmodule = "libsofthsm2.so"\n')
    assert load_config(tmp_path / "b.toml")["module"] == "libsofthsm2.so"  # left to the loader
    (tmp_path / "c.toml").write_text("type = \n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_config(tmp_path / "c.toml")
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_secrets_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pw").write_text("from-file\n")
    (tmp_path / "pw").chmod(0o644)
    with pytest.raises(ConfigurationError, match="readable by others"):
        secret_from_config({"password_file": str(tmp_path / "pw")}, "password")
    (tmp_path / "pw").chmod(0o600)
    monkeypatch.setenv("EZHIFU_TEST_SECRET", "from-env")
    assert secret_from_config({"password_file": str(tmp_path / "pw")}, "password") == "from-file"
    assert secret_from_config({"password_env": "EZHIFU_TEST_SECRET"}, "password") == "from-env"
    assert secret_from_config({}, "pin") is None
    with pytest.raises(ConfigurationError, match="only one"):
        secret_from_config({"pin": "1", "pin_env": "X"}, "pin")


def test_entry_points_register_every_backend() -> None:
    assert {"memory", "file", "pkcs12", "pkcs11"} <= set(available_backends())
