"""``ezhifu sign`` and ``ezhifu verify`` through click's CliRunner: outputs and exit codes 0/1/2."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope
from ezhifu.pki.keys import dump_private_key
from ezhifu.testing.pki import TestPKI, make_pki


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def files(tmp_path: Path, rsa_pki: TestPKI, envelope: Envelope) -> dict[str, Path]:
    paths = rsa_pki.write_pem(tmp_path / "pki")
    env = tmp_path / "in.xml"
    env.write_bytes(envelope.to_bytes())
    return {**paths, "envelope": env, "out": tmp_path / "out.xml"}


def _sign(runner: CliRunner, files: dict[str, Path], *extra: str) -> Result:
    key = ["--key", str(files["leaf.key.pem"]), "--cert", str(files["leaf.pem"])]
    return runner.invoke(
        cli, ["sign", str(files["envelope"]), *key, "--position", "cz_dwfz", "-o", str(files["out"]), *extra]
    )


def test_sign_then_verify_json(runner: CliRunner, files: dict[str, Path], rsa_pki: TestPKI) -> None:
    done = _sign(runner, files)
    assert done.exit_code == 0, done.output
    signed = Envelope.from_bytes(files["out"].read_bytes())
    assert all(len(b.signatures) == 1 and b.signatures[0].no == "cz_dwfz" for b in signed.bodies)
    original = Envelope.from_bytes(files["envelope"].read_bytes())
    assert [b.voucher_b64 for b in signed.bodies] == [b.voucher_b64 for b in original.bodies]
    result = runner.invoke(cli, ["verify", str(files["out"]), "--trust", str(files["root.pem"]), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["valid"] is True
    assert data["file"] == str(files["out"])
    assert len(data["bodies"]) == 2
    for body in data["bodies"]:
        assert {"vt_code", "voucher_no", "valid", "items"} <= set(body)
        (item,) = body["items"]
        assert (item["kind"], item["position"], item["valid"], item["reason"]) == (
            "signature",
            "cz_dwfz",
            True,
            None,
        )
        assert item["signer"]["serial"] == format(rsa_pki.leaf_cert.serial_number, "x")


def test_verify_text_output_and_failure_exit_code(runner: CliRunner, files: dict[str, Path]) -> None:
    assert _sign(runner, files).exit_code == 0
    ok = runner.invoke(cli, ["verify", str(files["out"]), "--trust", str(files["root.pem"])])
    assert ok.exit_code == 0
    assert "OK" in ok.stdout and "signature at cz_dwfz" in ok.stdout
    stranger = make_pki("rsa2048", subject_prefix="stranger")
    other_root = files["out"].parent / "other-root.pem"
    other_root.write_bytes(stranger.write_pem(files["out"].parent / "stranger")["root.pem"].read_bytes())
    bad = runner.invoke(cli, ["verify", str(files["out"]), "--trust", str(other_root), "--json"])
    assert bad.exit_code == 1
    data = json.loads(bad.stdout)
    assert data["valid"] is False
    assert data["bodies"][0]["items"][0]["reason"].startswith("no issuer certificate")


def test_verify_several_files_and_positions(
    runner: CliRunner, files: dict[str, Path], tmp_path: Path
) -> None:
    assert _sign(runner, files).exit_code == 0
    unsigned = files["envelope"]
    result = runner.invoke(
        cli, ["verify", str(files["out"]), str(unsigned), "--trust", str(files["root.pem"]), "--json"]
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert [(f["file"], f["valid"]) for f in data["files"]] == [
        (str(files["out"]), True),
        (str(unsigned), False),
    ]
    vt = Envelope.from_bytes(files["out"].read_bytes()).bodies[0].vt_code
    table = tmp_path / "positions.json"
    table.write_text(json.dumps({vt: ["cz_dwgz"]}))
    refused = runner.invoke(
        cli,
        ["verify", str(files["out"]), "--trust", str(files["root.pem"]), "--positions", str(table), "--json"],
    )
    assert refused.exit_code == 1
    reason = json.loads(refused.stdout)["bodies"][0]["items"][0]["reason"]
    assert reason == f"position 'cz_dwfz' is not configured for VtCode '{vt}' (configured: cz_dwgz)"
    toml = tmp_path / "positions.toml"
    toml.write_text(f'"{vt}" = ["cz_dwfz"]\n')
    accepted = runner.invoke(
        cli, ["verify", str(files["out"]), "--trust", str(files["root.pem"]), "--positions", str(toml)]
    )
    assert accepted.exit_code == 0, accepted.output


def test_verify_usage_errors_exit_2(runner: CliRunner, files: dict[str, Path], tmp_path: Path) -> None:
    assert runner.invoke(cli, ["verify", str(files["envelope"])]).exit_code == 2  # --trust missing
    missing = runner.invoke(cli, ["verify", str(tmp_path / "nope.xml"), "--trust", str(files["root.pem"])])
    assert missing.exit_code == 2
    bad_policy = ["verify", str(files["envelope"]), "--trust", str(files["root.pem"]), "--policy", "lax"]
    assert runner.invoke(cli, bad_policy).exit_code == 2
    table = tmp_path / "positions.json"
    table.write_text("[1, 2]")
    args = ["verify", str(files["envelope"]), "--trust", str(files["root.pem"]), "--positions", str(table)]
    assert runner.invoke(cli, args).exit_code == 2
    garbage_trust = tmp_path / "garbage.pem"
    garbage_trust.write_bytes(b"not a certificate")
    bad_trust = runner.invoke(cli, ["verify", str(files["envelope"]), "--trust", str(garbage_trust)])
    assert bad_trust.exit_code == 2
    assert "garbage.pem" in bad_trust.output


def test_verify_garbage_envelope_exit_1(runner: CliRunner, files: dict[str, Path], tmp_path: Path) -> None:
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"\x00\x01 not xml")
    result = runner.invoke(cli, ["verify", str(junk), "--trust", str(files["root.pem"]), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False and data["problems"][0].startswith("envelope cannot be read")


def test_sign_one_voucher_and_refuse_a_signed_position(runner: CliRunner, files: dict[str, Path]) -> None:
    target = Envelope.from_bytes(files["envelope"].read_bytes()).bodies[1].voucher_no
    assert _sign(runner, files, "--voucher-no", target).exit_code == 0
    signed = Envelope.from_bytes(files["out"].read_bytes())
    assert [len(b.signatures) for b in signed.bodies] == [0, 1]
    files["out"].replace(files["envelope"])
    again = _sign(runner, files, "--voucher-no", target)
    assert again.exit_code == 1
    assert "PositionAlreadySigned" in again.output
    assert not files["out"].exists()  # nothing written on failure


def test_sign_usage_errors_exit_2(runner: CliRunner, files: dict[str, Path]) -> None:
    base = ["sign", str(files["envelope"]), "--position", "cz_dwfz", "-o", str(files["out"])]
    assert runner.invoke(cli, base).exit_code == 2  # no key at all
    assert runner.invoke(cli, [*base, "--key", str(files["leaf.key.pem"])]).exit_code == 2  # no cert
    both = [*base, "--key", str(files["leaf.key.pem"]), "--cert", str(files["leaf.pem"]), "--alias", "x"]
    assert runner.invoke(cli, both).exit_code == 2
    no_env = [
        *base,
        "--key",
        str(files["leaf.key.pem"]),
        "--cert",
        str(files["leaf.pem"]),
        "--password-env",
        "NOPE",
    ]
    assert runner.invoke(cli, no_env, env={"NOPE": None}).exit_code == 2
    gbt = [
        *base,
        "--key",
        str(files["leaf.key.pem"]),
        "--cert",
        str(files["leaf.pem"]),
        "--oid-style",
        "gbt35275",
    ]
    assert runner.invoke(cli, gbt).exit_code == 2  # GB/T 35275 OIDs are SM2 only
    assert not files["out"].exists()


def test_sign_with_encrypted_key(runner: CliRunner, files: dict[str, Path], rsa_pki: TestPKI) -> None:
    key = files["out"].parent / "enc.key.pem"
    key.write_bytes(dump_private_key(rsa_pki.leaf_key, password=b"s3cret"))
    args = ["sign", str(files["envelope"]), "--key", str(key), "--cert", str(files["leaf.pem"]),
            "--password-env", "EZ_PW", "--position", "cz_dwfz", "-o", str(files["out"])]  # fmt: skip
    done = runner.invoke(cli, args, env={"EZ_PW": "s3cret"})
    assert done.exit_code == 0, done.output
    wrong = runner.invoke(cli, args, env={"EZ_PW": "wrong"})
    assert wrong.exit_code != 0
    assert "s3cret" not in wrong.output and "wrong" not in wrong.output.replace("wrong password", "")


def test_sign_sm2_with_signed_attributes(
    runner: CliRunner, tmp_path: Path, sm2_pki: TestPKI, envelope: Envelope
) -> None:
    paths = sm2_pki.write_pem(tmp_path / "pki")
    src = tmp_path / "in.xml"
    src.write_bytes(envelope.to_bytes())
    out = tmp_path / "out.xml"
    args = ["sign", str(src), "--key", str(paths["leaf.key.pem"]), "--cert", str(paths["leaf.pem"]),
            "--position", "cz_dwfz", "--signed-attributes", "-o", str(out)]  # fmt: skip
    assert runner.invoke(cli, args).exit_code == 0
    result = runner.invoke(cli, ["verify", str(out), "--trust", str(paths["root.pem"]), "--json"])
    assert result.exit_code == 0, result.output
    item = json.loads(result.stdout)["bodies"][0]["items"][0]
    assert item["signature_algorithm"] == "sm2-sm3" and item["signing_time"] is not None


def test_legacy_sha1_rsa1024_cli(
    runner: CliRunner, tmp_path: Path, weak_pki: TestPKI, envelope: Envelope
) -> None:
    paths = weak_pki.write_pem(tmp_path / "pki")
    src = tmp_path / "in.xml"
    src.write_bytes(envelope.to_bytes())
    out = tmp_path / "out.xml"
    base = ["sign", str(src), "--key", str(paths["leaf.key.pem"]), "--cert", str(paths["leaf.pem"]),
            "--position", "cz_dwfz", "--digest", "sha1", "-o", str(out)]  # fmt: skip
    refused = runner.invoke(cli, base)
    assert refused.exit_code == 1 and "WeakAlgorithm" in refused.output
    assert runner.invoke(cli, [*base, "--allow-weak"]).exit_code == 0
    verify = ["verify", str(out), "--trust", str(paths["root.pem"]), "--json"]
    default = runner.invoke(cli, verify)
    assert default.exit_code == 1
    reason = json.loads(default.stdout)["bodies"][0]["items"][0]["reason"]
    # issue 15 finding 2: a SHA-1 signature by an RSA-1024 key names both refusals
    assert reason == (
        "digest sha1 refused by policy and RSA key of 1024 bits refused by policy (minimum 2048) "
        "(use VerifyPolicy.legacy() for legacy partners)"
    )
    assert runner.invoke(cli, [*verify, "--policy", "legacy"]).exit_code == 0


def test_sign_with_a_keystore(runner: CliRunner, files: dict[str, Path]) -> None:
    """--keystore CONFIG --alias A --pin-env VAR through ezhifu.keystore.open_keystore (PKCS#12)."""
    p12 = files["out"].parent / "signer.p12"
    done = subprocess.run(
        ["openssl", "pkcs12", "-export", "-in", str(files["leaf.pem"]), "-inkey", str(files["leaf.key.pem"]),
         "-name", "signer", "-passout", "pass:pin123", "-out", str(p12)],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = files["out"].parent / "keystore.toml"
    config.write_text('type = "pkcs12"\npath = "signer.p12"\n')
    store = ["--keystore", str(config), "--alias", "signer", "--pin-env", "EZ_PIN"]
    args = ["sign", str(files["envelope"]), *store, "--position", "cz_dwfz", "-o", str(files["out"])]
    result = runner.invoke(cli, args, env={"EZ_PIN": "pin123"})
    assert result.exit_code == 0, result.output
    verify = runner.invoke(cli, ["verify", str(files["out"]), "--trust", str(files["root.pem"])])
    assert verify.exit_code == 0, verify.output
