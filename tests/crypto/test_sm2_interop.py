"""SM2 interoperability with independent implementations.

* The system `openssl` CLI (OpenSSL 3.0): keys from `openssl genpkey -algorithm EC -pkeyopt
  ec_paramgen_curve:SM2`, signatures with `pkeyutl -sign/-verify -rawin -digest sm3 -pkeyopt
  distid:...` in both directions (interop.md). Without distid OpenSSL 3.0 uses the empty ID; such a
  signature must fail under the default ID (backends.md §2).
* The `gmssl` package (duanhongyi/gmssl, pure Python) as a further independent check, never as
  a backend. Its public key is set as the 128-hex X||Y without "04" because gmssl
  `lstrip("04")`s a key starting with "04" (backends.md §2), and its nonce comes from `secrets`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from gmssl import sm2 as gmssl_sm2
from sm2_fixtures import ANNEX_A5, OpenSSLKey, each_provider, openssl, openssl_key

from ezhifu.crypto import sm2
from ezhifu.errors import InvalidSignature

__all__ = ["each_provider", "openssl_key"]  # re-exported fixtures

pytestmark = pytest.mark.interop

DEFAULT_ID = "1234567812345678"


def _openssl_sign(key: OpenSSLKey, message: Path, signature: Path, distid: str | None) -> bytes:
    options = ["-pkeyopt", f"distid:{distid}"] if distid is not None else []
    openssl(
        "pkeyutl", "-sign", "-inkey", key.private_pem, "-rawin", "-digest", "sm3", *options,
        "-in", message, "-out", signature,
    )  # fmt: skip
    return signature.read_bytes()


def _openssl_verify(key: OpenSSLKey, message: Path, signature: Path, distid: str) -> bool:
    result = openssl(
        "pkeyutl", "-verify", "-pubin", "-inkey", key.public_pem, "-rawin", "-digest", "sm3",
        "-pkeyopt", f"distid:{distid}", "-in", message, "-sigfile", signature,
        check=False,
    )  # fmt: skip
    return result.returncode == 0 and b"Signature Verified Successfully" in result.stdout


def test_openssl_key_values_match(openssl_key: OpenSSLKey, each_provider: str) -> None:
    """The point each provider derives from OpenSSL's private scalar is OpenSSL's public key."""
    key = sm2.SM2PrivateKey.from_private_value(openssl_key.private_value)
    assert key.public_key().encoded_point == openssl_key.encoded_point
    public = sm2.SM2PublicKey.from_encoded_point(openssl_key.encoded_point)
    assert public == key.public_key()


def test_ezhifu_signs_openssl_verifies(openssl_key: OpenSSLKey, each_provider: str, tmp_path: Path) -> None:
    key = sm2.SM2PrivateKey.from_private_value(openssl_key.private_value)
    for index, message in enumerate([b"", b"abc", secrets.token_bytes(3000)]):
        msg = tmp_path / f"m{index}"
        sig = tmp_path / f"m{index}.sig"
        msg.write_bytes(message)
        sig.write_bytes(key.sign(message))
        assert _openssl_verify(openssl_key, msg, sig, DEFAULT_ID), f"message {index}"
        # Negative control: the same signature under another ID is rejected by OpenSSL.
        assert not _openssl_verify(openssl_key, msg, sig, "ALICE123@YAHOO.COM")


def test_ezhifu_signs_with_custom_id_openssl_verifies(
    openssl_key: OpenSSLKey, each_provider: str, tmp_path: Path
) -> None:
    key = sm2.SM2PrivateKey.from_private_value(openssl_key.private_value)
    msg, sig = tmp_path / "m", tmp_path / "m.sig"
    msg.write_bytes(b"payment voucher 5201")
    sig.write_bytes(key.sign(b"payment voucher 5201", uid=b"ALICE123@YAHOO.COM"))
    assert _openssl_verify(openssl_key, msg, sig, "ALICE123@YAHOO.COM")
    assert not _openssl_verify(openssl_key, msg, sig, DEFAULT_ID)


def test_openssl_signs_ezhifu_verifies(openssl_key: OpenSSLKey, each_provider: str, tmp_path: Path) -> None:
    public = sm2.SM2PublicKey.from_encoded_point(openssl_key.encoded_point)
    message = secrets.token_bytes(777)
    msg = tmp_path / "m"
    msg.write_bytes(message)
    signature = _openssl_sign(openssl_key, msg, tmp_path / "m.sig", DEFAULT_ID)
    public.verify(signature, message)
    public.verify(signature, message, uid=DEFAULT_ID.encode())
    with pytest.raises(InvalidSignature, match="does not verify"):
        public.verify(signature, message + b"\x00")

    custom = _openssl_sign(openssl_key, msg, tmp_path / "c.sig", "ALICE123@YAHOO.COM")
    public.verify(custom, message, uid=b"ALICE123@YAHOO.COM")
    with pytest.raises(InvalidSignature, match="does not verify"):
        public.verify(custom, message)


def test_openssl_empty_id_signature_fails_with_default_id(
    openssl_key: OpenSSLKey, each_provider: str, tmp_path: Path
) -> None:
    """OpenSSL 3.0 without distid signs with ENTL = 0: valid only for the empty ID."""
    public = sm2.SM2PublicKey.from_encoded_point(openssl_key.encoded_point)
    msg = tmp_path / "m"
    msg.write_bytes(b"voucher without distid")
    signature = _openssl_sign(openssl_key, msg, tmp_path / "m.sig", None)
    with pytest.raises(InvalidSignature, match="does not verify"):
        public.verify(signature, b"voucher without distid")
    public.verify(signature, b"voucher without distid", uid=b"")


def _gmssl(private_value: int | None, point: bytes) -> gmssl_sm2.CryptSM2:
    private_hex = f"{private_value:064x}" if private_value is not None else None
    crypt = gmssl_sm2.CryptSM2(private_key=private_hex, public_key=point[1:].hex())
    # gmssl's constructor lstrip("04")s any key *starting with* "04", which also hits an
    # unprefixed X||Y whose X begins with hex 04 (1 key in 256): set the attribute directly.
    crypt.public_key = point[1:].hex()
    return crypt


def test_gmssl_verifies_ezhifu_signatures(each_provider: str) -> None:
    for _ in range(3):
        key = sm2.SM2PrivateKey.generate()
        message = secrets.token_bytes(secrets.randbelow(300))
        raw = sm2.der_to_raw(key.sign(message))
        gm = _gmssl(None, key.public_key().encoded_point)
        assert gm.verify_with_sm3(raw.hex(), message)
        assert not gm.verify_with_sm3(raw.hex(), message + b"x")


def test_ezhifu_verifies_gmssl_signatures(each_provider: str) -> None:
    for _ in range(3):
        key = sm2.SM2PrivateKey.generate()
        gm = _gmssl(key.private_value, key.public_key().encoded_point)
        message = secrets.token_bytes(secrets.randbelow(300))
        nonce = f"{secrets.randbelow(sm2.SM2_N - 1) + 1:064x}"
        raw_hex = gm.sign_with_sm3(message, nonce)
        der = sm2.raw_to_der(bytes.fromhex(raw_hex))
        key.public_key().verify(der, message)
        with pytest.raises(InvalidSignature):
            key.public_key().verify(der, message, uid=b"1234567812345679")


def test_gmssl_reproduces_annex_a5_with_fixed_k() -> None:
    """Three implementations agree on GB/T 32918.5 Annex A: gmssl, ezhifu python and the vector."""
    vec = ANNEX_A5
    point = b"\x04" + vec.x.to_bytes(32, "big") + vec.y.to_bytes(32, "big")
    raw_hex = _gmssl(vec.d, point).sign_with_sm3(vec.message, f"{vec.k:064x}")
    assert sm2.raw_to_der(bytes.fromhex(raw_hex)) == vec.der
