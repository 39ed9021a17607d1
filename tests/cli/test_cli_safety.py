"""CLI conventions and safety (issue 14 items 3-4, issue 15 item 6): the exit-code table,
outputs that never overwrite the input or an existing file without --force, ``-o -``, a closed
pipe, configuration files checked like ssh checks its own, messages in CLI terms."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ezhifu.cli.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_TABLE, EXIT_USAGE, cli_wording, exit_code_for
from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import (
    AliasExists,
    BadPassword,
    ConfigurationError,
    InvalidSignature,
    KeyNotFound,
    OutputRefused,
    TokenError,
)
from ezhifu.testing.pki import TestPKI, make_pki

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("rsa2048")


@pytest.fixture
def files(tmp_path: Path, pki: TestPKI) -> dict[str, Path]:
    paths = pki.write_pem(tmp_path / "pki")
    env = tmp_path / "in.xml"
    env.write_bytes(Envelope.build([sample_voucher("5201", seed="safety")]).to_bytes())
    return {**paths, "envelope": env}


def _sign(files: dict[str, Path], output: str, *extra: str) -> Result:
    key = ["--key", str(files["leaf.key.pem"]), "--cert", str(files["leaf.pem"])]
    args = ["sign", str(files["envelope"]), *key, "--position", "cz_dwfz", "-o", output, *extra]
    return CliRunner().invoke(cli, args)


# --- the exit-code table ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (BadPassword("wrong password"), EXIT_USAGE),
        (KeyNotFound("no key 'ghost'"), EXIT_USAGE),
        (AliasExists("alias 'a' exists"), EXIT_USAGE),
        (TokenError("PKCS#11 module x: cannot load"), EXIT_USAGE),
        (ConfigurationError("bad"), EXIT_USAGE),
        (OutputRefused("exists"), EXIT_USAGE),
        (FileNotFoundError(2, "No such file", "x"), EXIT_USAGE),
        (InvalidSignature("digest mismatch"), EXIT_FAILED),
        (RuntimeError("bug"), EXIT_FAILED),
    ],
)
def test_exit_code_for_each_kind(exc: Exception, code: int) -> None:
    assert exit_code_for(exc) == code


def test_docs_cli_has_the_one_exit_code_table() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = doc.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (\d) \| (.+?) \|$", section, flags=re.MULTILINE))
    assert {int(k) for k in rows} == set(EXIT_TABLE) == {EXIT_OK, EXIT_FAILED, EXIT_USAGE}
    assert "password" in rows["2"] and "alias" in rows["2"] and "PKCS#11" in rows["2"]


def test_messages_name_cli_options_not_python() -> None:
    assert cli_wording("RSA-1024; use VerifyPolicy.legacy() for legacy partners") == (
        "RSA-1024; use --policy legacy for legacy partners"
    )
    assert "--allow-weak" in cli_wording("is weak; pass allow_weak=True to use it")


def test_weak_key_through_sign_names_the_option(tmp_path: Path) -> None:
    weak = make_pki("rsa1024")
    paths = weak.write_pem(tmp_path / "weak")
    env = tmp_path / "in.xml"
    env.write_bytes(Envelope.build([sample_voucher("5201", seed="weak")]).to_bytes())
    key = ["--key", str(paths["leaf.key.pem"]), "--cert", str(paths["leaf.pem"])]
    result = CliRunner().invoke(
        cli, ["sign", str(env), *key, "--position", "cz_dwfz", "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == EXIT_FAILED
    assert "--allow-weak" in result.output and "allow_weak=True" not in result.output


# --- outputs ----------------------------------------------------------------------------


def test_sign_never_writes_over_its_input(files: dict[str, Path]) -> None:
    before = files["envelope"].read_bytes()
    result = _sign(files, str(files["envelope"]), "--force")
    assert result.exit_code == EXIT_USAGE
    assert "output is the input file" in result.output
    assert files["envelope"].read_bytes() == before


def test_sign_over_the_input_through_another_name_is_refused(files: dict[str, Path], tmp_path: Path) -> None:
    alias = tmp_path / "hard.xml"
    os.link(files["envelope"], alias)
    result = _sign(files, str(alias), "--force")
    assert result.exit_code == EXIT_USAGE and "input file" in result.output


def test_existing_output_needs_force(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.xml"
    out.write_bytes(b"keep me")
    result = _sign(files, str(out))
    assert result.exit_code == EXIT_USAGE
    assert "--force" in result.output and "already exists" in result.output
    assert out.read_bytes() == b"keep me"
    assert _sign(files, str(out), "--force").exit_code == EXIT_OK
    assert len(Envelope.from_bytes(out.read_bytes()).bodies[0].signatures) == 1


def test_output_symlink_is_refused_even_with_force(files: dict[str, Path], tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    link = tmp_path / "link.xml"
    link.symlink_to(victim)
    result = _sign(files, str(link), "--force")
    assert result.exit_code == EXIT_USAGE and "symbolic link" in result.output
    assert victim.read_bytes() == b"precious" and link.is_symlink()


def test_missing_output_folder_is_named(files: dict[str, Path], tmp_path: Path) -> None:
    result = _sign(files, str(tmp_path / "nowhere" / "out.xml"))
    assert result.exit_code == EXIT_USAGE
    assert "output folder does not exist" in result.output
    assert str(tmp_path / "nowhere") in result.output and ".tmp-" not in result.output


def test_written_output_is_0644_and_no_temporary_left(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "signed.xml"
    assert _sign(files, str(out)).exit_code == EXIT_OK
    assert out.stat().st_mode & 0o777 == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_sign_dash_output_is_stdout(files: dict[str, Path], tmp_path: Path) -> None:
    result = _sign(files, "-")
    assert result.exit_code == EXIT_OK
    assert not (Path.cwd() / "-").exists()
    assert Envelope.from_bytes(result.stdout_bytes).bodies[0].signatures


def test_view_dash_output_is_stdout(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["view", str(files["envelope"]), "-o", "-"])
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.lstrip().lower().startswith("<!doctype html")
    assert not (tmp_path / "-").exists()


def test_keystore_export_cert_dash_is_stdout_and_existing_needs_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pki: TestPKI
) -> None:
    monkeypatch.setenv("EZHIFU_TEST_SAFE_PW", "pw")
    config = tmp_path / "store.toml"
    config.write_text('type = "file"\npath = "keys"\npassword_env = "EZHIFU_TEST_SAFE_PW"\nscrypt_n = 1024\n')
    paths = pki.write_pem(tmp_path / "pki")
    runner = CliRunner()
    assert runner.invoke(cli, ["keystore", "init", str(config)]).exit_code == EXIT_OK
    add = ["keystore", "import", str(config), "--alias", "a"]
    add += ["--key", str(paths["leaf.key.pem"]), "--cert", str(paths["leaf.pem"])]
    assert runner.invoke(cli, add).exit_code == EXIT_OK, runner.invoke(cli, add).output
    again = runner.invoke(cli, add)
    assert again.exit_code == EXIT_USAGE and "AliasExists" in again.output  # alias exists: exit 2
    result = runner.invoke(cli, ["keystore", "export-cert", str(config), "--alias", "a", "-o", "-"])
    assert result.exit_code == EXIT_OK and "BEGIN CERTIFICATE" in result.stdout
    out = tmp_path / "a.pem"
    out.write_text("old")
    refused = runner.invoke(cli, ["keystore", "export-cert", str(config), "--alias", "a", "-o", str(out)])
    assert refused.exit_code == EXIT_USAGE and out.read_text() == "old"
    monkeypatch.delenv("EZHIFU_TEST_SAFE_PW")
    missing = runner.invoke(cli, ["keystore", "list", str(config)])
    assert missing.exit_code == EXIT_USAGE and "EZHIFU_TEST_SAFE_PW" in missing.output


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``ezhifu ... | head`` with the reader gone: no traceback, no message, exit 1 every time."""
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    big = tmp_path / "many.xml"
    big.write_bytes(Envelope.build([sample_voucher("5201", seed=f"p{i}") for i in range(40)]).to_bytes())
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "ezhifu", "inspect", str(big)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(10)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.stderr.close()
        assert proc.wait(timeout=120) == EXIT_FAILED, err
        assert "Traceback" not in err and "Broken pipe" not in err and err == ""


# --- configuration checked like ssh ------------------------------------------------------


def _store_config(tmp_path: Path) -> Path:
    config = tmp_path / "conf" / "store.toml"
    config.parent.mkdir()
    config.write_text(
        'type = "file"\npath = "../keys"\npassword_env = "EZHIFU_TEST_SAFE_PW"\nscrypt_n = 1024\n'
    )
    return config


def test_world_writable_keystore_config_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EZHIFU_TEST_SAFE_PW", "pw")
    config = _store_config(tmp_path)
    config.chmod(0o666)
    result = CliRunner().invoke(cli, ["keystore", "init", str(config)])
    assert result.exit_code == EXIT_USAGE
    assert "writable by group or others" in result.output and "--insecure-config-ok" in result.output
    assert not (tmp_path / "keys").exists()  # nothing was created
    ok = CliRunner().invoke(cli, ["--insecure-config-ok", "keystore", "init", str(config)])
    assert ok.exit_code == EXIT_OK, ok.output


def test_pkcs11_module_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    module = tmp_path / "libplanted.so"
    module.write_bytes(b"\x7fELF not really")
    os.chown(module, 4242, 4242)
    config = tmp_path / "token.toml"
    config.write_text(f'type = "pkcs11"\nmodule = "{module}"\ntoken_label = "t"\npin = "1"\n')
    config.chmod(0o600)
    result = CliRunner().invoke(cli, ["keystore", "list", str(config)])
    assert result.exit_code == EXIT_USAGE
    assert "owned by another user" in result.output and "PKCS#11 module" in result.output


def test_group_writable_pkcs11_module_is_refused(tmp_path: Path) -> None:
    module = tmp_path / "libplanted.so"
    module.write_bytes(b"\x7fELF not really")
    module.chmod(0o664)
    config = tmp_path / "token.toml"
    config.write_text(f'type = "pkcs11"\nmodule = "{module}"\ntoken_label = "t"\npin = "1"\n')
    config.chmod(0o600)
    result = CliRunner().invoke(cli, ["keystore", "list", str(config)])
    assert result.exit_code == EXIT_USAGE and "writable by group or others" in result.output
    # With the explicit option the module is tried (and fails to load: a token error, exit 2).
    forced = CliRunner().invoke(cli, ["--insecure-config-ok", "keystore", "list", str(config)])
    assert forced.exit_code == EXIT_USAGE and "TokenError" in forced.output


def test_writable_key_file_is_refused(files: dict[str, Path], tmp_path: Path) -> None:
    files["leaf.key.pem"].chmod(0o646)
    result = _sign(files, str(tmp_path / "o.xml"))
    assert result.exit_code == EXIT_USAGE and "the key file (--key)" in result.output
    assert not (tmp_path / "o.xml").exists()


def test_writable_trust_file_is_refused(files: dict[str, Path], tmp_path: Path) -> None:
    files["root.pem"].chmod(0o666)
    result = CliRunner().invoke(
        cli,
        ["view", str(files["envelope"]), "--trust", str(files["root.pem"]), "-o", str(tmp_path / "v.html")],
    )
    assert result.exit_code == EXIT_USAGE and "trust file" in result.output
    assert not (tmp_path / "v.html").exists()


def test_demo_takes_dash_o(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "-o", str(tmp_path / "d")])
    assert result.exit_code == EXIT_OK, result.output
    assert (tmp_path / "d" / "envelope.xml").is_file()


def test_gbk_decoding_error_gives_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(
        b'<?xml version="1.0" encoding="GBK"?>\n<MOF>\n  <VoucherCount>\xff\xff</VoucherCount>\n</MOF>\n'
    )
    result = CliRunner().invoke(cli, ["validate", str(bad)])
    assert result.exit_code == EXIT_FAILED
    assert "line 3, column 17" in result.output, result.output


def test_writable_trust_file_is_refused_by_verify(files: dict[str, Path]) -> None:
    files["root.pem"].chmod(0o666)
    result = CliRunner().invoke(cli, ["verify", str(files["envelope"]), "--trust", str(files["root.pem"])])
    assert result.exit_code == EXIT_USAGE and "trust file" in result.output
