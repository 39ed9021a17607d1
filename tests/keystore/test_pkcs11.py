"""PKCS#11 against a real SoftHSM2 token: mechanisms, SM2 refusal, PIN handling, openssl interop."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from asn1crypto import algos, pem
from keystore_fixtures import SoftHSM

from ezhifu.errors import BadPassword, ConfigurationError, SigningError, TokenError, UnsupportedMechanism
from ezhifu.keystore import load_config, open_keystore
from ezhifu.keystore.pkcs11 import CKM_VENDOR_DEFINED, PKCS11KeyStore, TokenSigningError
from ezhifu.pki.signer import verify_signature
from ezhifu.testing.pki import TestPKI

OPENSSL = shutil.which("openssl") or "openssl"


def test_token_keys_kinds_and_chains(softhsm: SoftHSM) -> None:
    with PKCS11KeyStore(softhsm.module, softhsm.label, softhsm.pin) as store:
        assert store.aliases() == ["ec-signer", "rsa-signer", "sm2-on-token"]
        assert [store.key_kind(a) for a in store.aliases()] == ["ec", "rsa", "sm2"]
        assert softhsm.root is not None
        assert store.chain("ec-signer")[-1].dump() == softhsm.root.dump()


def test_sm2_key_without_vendor_mechanism_is_unsupported(softhsm: SoftHSM) -> None:
    with PKCS11KeyStore(softhsm.module, softhsm.label, softhsm.pin) as store:
        with pytest.raises(UnsupportedMechanism, match="sm2_mechanism") as info:
            store.signer("sm2-on-token")
        assert "not an SM2 signature" in str(info.value)


def test_configured_sm2_mechanism_missing_on_token(softhsm: SoftHSM) -> None:
    vendor = CKM_VENDOR_DEFINED | 0x5301
    with (
        open_keystore(softhsm.config(sm2_mechanism=vendor)) as store,
        pytest.raises(UnsupportedMechanism, match=f"0x{vendor:08x}"),
    ):
        store.signer("sm2-on-token")


def test_ecdsa_raw_signature_becomes_der_and_openssl_verifies(softhsm: SoftHSM, tmp_path: Path) -> None:
    with PKCS11KeyStore(softhsm.module, softhsm.label, softhsm.pin) as store:
        signature = store.signer("ec-signer").sign(b"token message")
        cert = store.certificate("ec-signer")
    assert cert is not None
    algos.DSASignature.load(signature, strict=True)  # X9.62 DER, not the token's raw r || s
    (tmp_path / "cert.pem").write_bytes(pem.armor("CERTIFICATE", cert.dump()))
    (tmp_path / "msg").write_bytes(b"token message")
    (tmp_path / "sig").write_bytes(signature)
    pub = subprocess.run(
        [OPENSSL, "x509", "-in", str(tmp_path / "cert.pem"), "-pubkey", "-noout"],
        check=True,
        capture_output=True,
    ).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    for message, expect in ((b"token message", 0), (b"token messagE", 1)):
        (tmp_path / "msg").write_bytes(message)
        run = subprocess.run(
            [OPENSSL, "dgst", "-sha256", "-verify", str(tmp_path / "pub.pem"),
             "-signature", str(tmp_path / "sig"), str(tmp_path / "msg")],
            capture_output=True,
        )  # fmt: skip
        assert run.returncode == expect, run.stdout


def test_threads_share_one_session(softhsm: SoftHSM) -> None:
    with PKCS11KeyStore(softhsm.module, softhsm.label, softhsm.pin) as store:
        signer = store.signer("rsa-signer")
        cert = store.certificate("rsa-signer")
        assert cert is not None
        results: list[bytes] = []
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(10):
                    results.append(signer.sign(f"{n}-{i}".encode()))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors and len(results) == 40
        verify_signature(cert, b"0-0", signer.sign(b"0-0"))


def test_pin_later_and_wrong_pin(softhsm: SoftHSM) -> None:
    store = PKCS11KeyStore(softhsm.module, softhsm.label, None)
    assert store.locked
    with pytest.raises(BadPassword, match="locked"):
        store.aliases()
    with pytest.raises(BadPassword, match="wrong PIN"):
        store.signer("ec-signer", pin="000000")
    signer = store.signer("ec-signer", pin=softhsm.pin)
    assert signer.sign(b"x")
    store.close()
    with pytest.raises(SigningError):  # a signer outliving its store refuses
        signer.sign(b"y")
    assert issubclass(TokenSigningError, TokenError)


def test_config_from_toml_with_pin_env(
    softhsm: SoftHSM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EZHIFU_TEST_PIN", softhsm.pin)
    config_file = tmp_path / "token.toml"
    config_file.write_text(
        f'[keystore]\ntype = "pkcs11"\nmodule = "{softhsm.module}"\ntoken_label = "{softhsm.label}"\n'
        'pin_env = "EZHIFU_TEST_PIN"\n'
    )
    with open_keystore(load_config(config_file)) as store:
        assert "rsa-signer" in store.aliases()
    with pytest.raises(ConfigurationError, match="sm2_mechanism"):
        open_keystore(softhsm.config(sm2_mechanism="SM2"))
    with pytest.raises(TokenError, match="no such token"):
        PKCS11KeyStore(softhsm.module, "no-such-token", softhsm.pin)


def test_sm2_vendor_output_raw_or_der_becomes_der(pkis: dict[str, TestPKI]) -> None:
    """Vendor SM2 mechanisms return r || s (64 bytes) or DER; both leave the boundary as DER."""
    from ezhifu.crypto.sm2 import der_to_rs
    from ezhifu.keystore.pkcs11 import _sm2_signature_der

    signer = pkis["sm2"].signer()
    der = signer.sign(b"vendor token")
    r, s = der_to_rs(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert _sm2_signature_der(raw, "test") == der
    assert _sm2_signature_der(der, "test") == der
    verify_signature(pkis["sm2"].leaf_cert, b"vendor token", _sm2_signature_der(raw, "test"))
    with pytest.raises(TokenSigningError, match="unreadable"):
        _sm2_signature_der(b"\x01" * 63, "test")
