"""Issue 13 build item 5, the keystore and signing parts: what the command line refuses to sign
with or to store. On the old main each of these succeeded (exit 0).

* ``ezhifu sign`` / ``seal apply`` with an expired or not-yet-valid signing certificate:
  ``CertificateExpired`` / ``CertificateNotYetValid``, exit 1, nothing written;
* ``ezhifu seal make`` with a maker certificate whose keyUsage cannot sign: ``KeyUsageError``;
* ``ezhifu keystore import --seal`` of a file that is not a seal (random DER, a seal signature).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ezhifu.cli.demo import seal_picture_png
from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.keystore import load_config, open_keystore
from ezhifu.keystore.encrypted_file import EncryptedFileKeyStore
from ezhifu.pki.keys import dump_certificates, dump_private_key
from ezhifu.seal.apply import apply_seal
from ezhifu.seal.make import make_seal
from ezhifu.testing.pki import TestPKI, make_pki

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


def _write_leaf(pki: TestPKI, folder: Path, name: str, **validity: datetime) -> tuple[Path, Path]:
    cert, key = pki.issue_leaf(name, **validity)  # type: ignore[arg-type]
    folder.mkdir(exist_ok=True)
    key_path, cert_path = folder / f"{name}.key.pem", folder / f"{name}.pem"
    key_path.write_bytes(dump_private_key(key))
    cert_path.write_bytes(dump_certificates([cert, pki.root_cert]))
    return key_path, cert_path


def _envelope(tmp_path: Path) -> Path:
    path = tmp_path / "in.xml"
    path.write_bytes(Envelope.build([sample_voucher("5201", seed=1)]).to_bytes())
    return path


def _sign(envelope: Path, key: Path, cert: Path, out: Path) -> Result:
    args = ["sign", str(envelope), "--key", str(key), "--cert", str(cert), "--position", "cz_dwfz"]
    return CliRunner().invoke(cli, [*args, "-o", str(out)])


@pytest.mark.parametrize(
    ("validity", "error", "words"),
    [
        (
            {"not_before": NOW - timedelta(days=60), "not_after": NOW - timedelta(days=1)},
            "CertificateExpired",
            "签名证书已过期 / signing certificate expired",
        ),
        (
            {"not_before": NOW + timedelta(days=2), "not_after": NOW + timedelta(days=60)},
            "CertificateNotYetValid",
            "签名证书尚未生效 / signing certificate not yet valid",
        ),
    ],
    ids=["expired", "not-yet-valid"],
)
def test_sign_refuses_a_certificate_outside_its_validity(
    tmp_path: Path, pki: TestPKI, validity: dict[str, datetime], error: str, words: str
) -> None:
    key, cert = _write_leaf(pki, tmp_path / "pki", "clerk", **validity)
    out = tmp_path / "out.xml"
    result = _sign(_envelope(tmp_path), key, cert, out)
    assert result.exit_code == 1, result.output
    assert f"ezhifu: {error}:" in result.output and words in result.output and str(cert) in result.output
    assert not out.exists()  # nothing signed, nothing written


def test_sign_accepts_a_valid_certificate(tmp_path: Path, pki: TestPKI) -> None:
    key, cert = _write_leaf(pki, tmp_path / "pki", "valid-clerk")
    result = _sign(_envelope(tmp_path), key, cert, tmp_path / "out.xml")
    assert result.exit_code == 0, result.output


def test_sign_through_a_keystore_refuses_an_expired_certificate(
    tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KS_PW", "keystore password")
    config = tmp_path / "store.toml"
    config.write_text('[keystore]\ntype = "file"\npath = "keys"\npassword_env = "KS_PW"\nscrypt_n = 1024\n')
    EncryptedFileKeyStore.init(tmp_path / "keys", "keystore password", scrypt_n=1024).close()
    cert, key = pki.issue_leaf("old", not_before=NOW - timedelta(days=9), not_after=NOW - timedelta(days=2))
    with open_keystore(load_config(config)) as store:
        assert isinstance(store, EncryptedFileKeyStore)
        store.import_key("old", key, [cert])
    args = ["sign", str(_envelope(tmp_path)), "--keystore", str(config), "--alias", "old"]
    result = CliRunner().invoke(cli, [*args, "--position", "cz_dwfz", "-o", str(tmp_path / "o.xml")])
    assert result.exit_code == 1 and "CertificateExpired" in result.output and "alias 'old'" in result.output


def test_seal_apply_refuses_an_expired_certificate(tmp_path: Path, pki: TestPKI) -> None:
    key, cert = _write_leaf(
        pki,
        tmp_path / "pki",
        "stamper",
        not_before=NOW - timedelta(days=9),
        not_after=NOW - timedelta(days=1),
    )
    seal = tmp_path / "seal.der"
    seal.write_bytes(_seal(pki))
    args = ["seal", "apply", str(_envelope(tmp_path)), "--seal", str(seal), "--key", str(key)]
    result = CliRunner().invoke(
        cli, [*args, "--cert", str(cert), "--position", "cz_dwgz", "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 1 and "CertificateExpired" in result.output


def _seal(pki: TestPKI, holder: object | None = None) -> bytes:
    return make_seal(
        pki.signer(),
        seal_id="S-1",
        name="测试章",
        valid_from=NOW - timedelta(days=1),
        valid_to=NOW + timedelta(days=30),
        holder_certs=[holder or pki.leaf_cert],  # type: ignore[list-item]
        picture=seal_picture_png(),
        width_mm=40,
        height_mm=40,
    )


@pytest.mark.parametrize(
    ("usage", "refused"),
    [
        (("key_cert_sign", "crl_sign"), True),
        (("key_encipherment",), True),
        (("digital_signature",), False),
        (("non_repudiation",), False),
        (None, False),  # no keyUsage extension: not restricted (RFC 5280 clause 4.2.1.3)
    ],
)
def test_seal_make_refuses_a_maker_that_cannot_sign(
    tmp_path: Path, pki: TestPKI, usage: tuple[str, ...] | None, refused: bool
) -> None:
    cert, key = pki.issue_leaf("maker", key_usage=usage)
    (tmp_path / "m.key").write_bytes(dump_private_key(key))
    (tmp_path / "m.pem").write_bytes(dump_certificates([cert]))
    (tmp_path / "h.pem").write_bytes(dump_certificates([pki.leaf_cert]))
    (tmp_path / "p.png").write_bytes(seal_picture_png())
    args = ["seal", "make", "--maker-key", str(tmp_path / "m.key"), "--maker-cert", str(tmp_path / "m.pem")]
    args += ["--holder-cert", str(tmp_path / "h.pem"), "--id", "S-1", "--name", "章", "--image"]
    args += [str(tmp_path / "p.png"), "--width-mm", "40", "--height-mm", "40", "--valid-from", "2020-01-01"]
    args += ["--valid-to", "2099-01-01", "-o", str(tmp_path / "s.der")]
    result = CliRunner().invoke(cli, args)
    if refused:
        assert result.exit_code == 1 and "KeyUsageError" in result.output
        assert (
            "制章者证书的密钥用法不允许签名 / the maker certificate's key usage cannot sign" in result.output
        )
        assert not (tmp_path / "s.der").exists()
    else:
        assert result.exit_code == 0, result.output


def _import_seal(config: Path, seal: Path) -> Result:
    return CliRunner().invoke(
        cli, ["keystore", "import", str(config), "--seal-id", "S-1", "--seal", str(seal)]
    )


def test_keystore_import_refuses_what_is_not_a_seal(
    tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KS_PW", "keystore password")
    config = tmp_path / "store.toml"
    config.write_text('[keystore]\ntype = "file"\npath = "keys"\npassword_env = "KS_PW"\nscrypt_n = 1024\n')
    EncryptedFileKeyStore.init(tmp_path / "keys", "keystore password", scrypt_n=1024).close()
    real = _seal(pki)
    body = Envelope.build([sample_voucher("5201", seed=1)]).bodies[0]
    stamp = apply_seal(body, real, pki.signer(), "cz_dwgz")
    candidates = {
        "der-integer": b"\x02\x01\x05",
        "short-sequence": b"\x30\x03\x02\x01\x07",
        "certificate": pki.leaf_cert.dump(),
        "text": b"this is not a seal",
        "truncated-seal": real[:-10],
        "seal-signature": base64.b64decode(stamp.value),
    }
    for name, data in candidates.items():
        path = tmp_path / f"{name}.der"
        path.write_bytes(data)
        result = _import_seal(config, path)
        assert result.exit_code == 1, (name, result.output)
        assert "不是印章文件 / not a seal file" in result.output, name
    (tmp_path / "real.der").write_bytes(real)
    assert _import_seal(config, tmp_path / "real.der").exit_code == 0
    with open_keystore(load_config(config)) as store:
        assert store.seal_ids() == ["S-1"] and store.seal("S-1") == real
