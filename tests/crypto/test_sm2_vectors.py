"""SM2 known-answer tests.

* GB/T 32918.5-2017 Annex A (= GM/T 0003.5-2012 Annex A), recommended curve, default ID:
  d, P, Z_A, e, k, x1, r, s and the DER value (seal_sm2.md §6.2; OpenSSL
  test/sm2_internal_test.c, duanhongyi/gmssl tests/test_SM2withSM3.py).
* GB/T 32918.2-2016 Annex A (= GM/T 0003.2-2012 Annex A, draft-shen-sm2-ecdsa-02) on the
  *example* curve with ID "ALICE123@YAHOO.COM" (seal_sm2.md §6.3): exercises the generic-curve
  arithmetic (a != -3) and a non-default ID.
* Z_A of the TopsecCA certificate key (GmSSL tests/sm3test.c #8/#9, OpenSSL evpmd_sm3.txt;
  seal_sm2.md §6.4).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sm2_fixtures import ANNEX_A2, ANNEX_A5, EXAMPLE_CURVE, each_provider, openssl, with_provider

from ezhifu.crypto import sm2
from ezhifu.crypto.sm2 import python as _sm2_python
from ezhifu.crypto.sm3 import sm3
from ezhifu.errors import InvalidSignature

__all__ = ["each_provider"]  # re-exported fixture


def test_recommended_curve_constants() -> None:
    """GB/T 32918.5-2017 clause 5: G is on the curve and has order n; a = p - 3."""
    curve = sm2.SM2_CURVE
    assert curve.contains(curve.gx, curve.gy)
    assert curve.a == curve.p - 3
    assert _sm2_python.base_mult(curve, curve.n) is None  # [n]G = O
    assert _sm2_python.base_mult(curve, curve.n - 1) == (curve.gx, curve.p - curve.gy)  # -G
    assert (curve.n, curve.p) == (sm2.SM2_N, sm2.SM2_P)


def test_annex_a5_public_key_and_z(each_provider: str) -> None:
    vec = ANNEX_A5
    key = sm2.SM2PrivateKey.from_private_value(vec.d)
    public = key.public_key()
    assert (public.x, public.y) == (vec.x, vec.y)
    assert sm2.compute_z(public, vec.uid) == vec.z
    assert sm2.compute_z(public) == vec.z  # the default ID is 1234567812345678
    assert int.from_bytes(sm3(vec.z + vec.message), "big") == vec.e


def test_annex_a5_signature_with_fixed_k() -> None:
    vec = ANNEX_A5
    assert _sm2_python.base_mult(sm2.SM2_CURVE, vec.k) is not None
    assert _sm2_python.base_mult(sm2.SM2_CURVE, vec.k)[0] == vec.x1  # type: ignore[index]
    r, s = _sm2_python.sign_with_nonce(sm2.SM2_CURVE, vec.d, vec.e, vec.k)
    assert (r, s) == (vec.r, vec.s)
    assert sm2.rs_to_der(r, s) == vec.der
    assert sm2.der_to_rs(vec.der) == (vec.r, vec.s)


def test_annex_a5_signature_verifies(each_provider: str) -> None:
    vec = ANNEX_A5
    public = sm2.SM2PublicKey(vec.x, vec.y)
    public.verify(vec.der, vec.message, uid=vec.uid)
    public.verify(vec.der, vec.message)


def test_annex_a5_der_verifies_with_openssl_cli(tmp_path: Path) -> None:
    """The published DER value also verifies with OpenSSL 3 given the same ID."""
    vec = ANNEX_A5
    spki = bytes.fromhex("3059301306072A8648CE3D020106082A811CCF5501822D03420004")
    spki += vec.x.to_bytes(32, "big") + vec.y.to_bytes(32, "big")
    (tmp_path / "pub.der").write_bytes(spki)
    (tmp_path / "sig.der").write_bytes(vec.der)
    (tmp_path / "msg").write_bytes(vec.message)
    result = openssl(
        "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", tmp_path / "pub.der",
        "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
        "-in", tmp_path / "msg", "-sigfile", tmp_path / "sig.der",
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert b"Signature Verified Successfully" in result.stdout


def test_example_curve_annex_a2() -> None:
    """Every intermediate value of the GB/T 32918.2 Annex A example (generic a, other ID)."""
    vec = ANNEX_A2
    curve = EXAMPLE_CURVE
    assert curve.contains(curve.gx, curve.gy)
    assert curve.a != curve.p - 3  # the generic doubling formula is exercised
    assert _sm2_python.public_point(curve, vec.d) == (vec.x, vec.y)
    assert curve.z_value(vec.uid, vec.x, vec.y) == vec.z
    e = int.from_bytes(sm3(vec.z + vec.message), "big")
    assert e == vec.e
    y1 = 0x1C65D68A4A08601DF24B431E0CAB4EBE084772B3817E85811A8510B2DF7ECA1A  # Annex A, (x1, y1) = [k]G
    assert _sm2_python.base_mult(curve, vec.k) == (vec.x1, y1)
    assert _sm2_python.sign_with_nonce(curve, vec.d, e, vec.k) == (vec.r, vec.s)
    assert _sm2_python.verify_digest(curve, vec.x, vec.y, e, vec.r, vec.s)
    assert not _sm2_python.verify_digest(curve, vec.x, vec.y, e ^ 1, vec.r, vec.s)
    assert not _sm2_python.verify_digest(curve, vec.x, vec.y, e, vec.s, vec.r)


def test_topsec_certificate_z() -> None:
    """Z_A with the default ID for a real certificate key (GmSSL sm3test.c vectors #8/#9)."""
    public = sm2.SM2PublicKey(
        0xD69C2F1EEC3BFB6B95B30C28085C77B125D77A9C39525D8190768F37D6B205B5,
        0x89DCD316BBE7D89A9DC21917F17799E698531F5E6E3E10BD31370B259C3F81C3,
    )
    expected = bytes.fromhex("4D38D2958CA7FD2CFAE3AF04486959CF92C8EF48E8B83A05C112E739D5F181D0")
    assert sm2.compute_z(public, b"1234567812345678") == expected


def test_providers_agree_both_directions() -> None:
    """A signature made by one provider verifies with the other, for several messages and IDs."""
    for signer, verifier in (("openssl", "python"), ("python", "openssl")):
        with with_provider(signer):
            key = sm2.SM2PrivateKey.generate()
            cases = [(bytes([i]) * (i * 37), b"id-%d" % i) for i in range(4)] + [(b"", b"")]
            signatures = [key.sign(m, uid=uid) for m, uid in cases]
            point = key.public_key().encoded_point
        with with_provider(verifier):
            public = sm2.SM2PublicKey.from_encoded_point(point)
            for (message, uid), signature in zip(cases, signatures, strict=True):
                public.verify(signature, message, uid=uid)
            assert sm2.SM2PrivateKey(key.private_value).public_key().encoded_point == point


def test_deterministic_nonce_is_stable_and_valid(each_provider: str) -> None:
    """RFC 6979 clause 3.2 with HMAC-SM3: same key and message give the same valid signature."""
    key = sm2.SM2PrivateKey.from_private_value(ANNEX_A5.d)
    first = key.sign(b"voucher 1", deterministic=True)
    assert key.sign(b"voucher 1", deterministic=True) == first
    assert key.sign(b"voucher 2", deterministic=True) != first
    assert key.sign(b"voucher 1", uid=b"other", deterministic=True) != first
    key.public_key().verify(first, b"voucher 1")
    nonces = _sm2_python.rfc6979_nonces(sm2.SM2_CURVE, ANNEX_A5.d, ANNEX_A5.e)
    k1, k2 = next(nonces), next(nonces)
    assert k1 != k2 and all(1 <= k < sm2.SM2_N for k in (k1, k2))


def test_python_verify_after_key_table_is_built() -> None:
    """A key verified often switches to a per-key comb table: results must not change."""
    with with_provider("python"):
        public = sm2.SM2PublicKey(ANNEX_A5.x, ANNEX_A5.y)
        tampered = ANNEX_A5.message + b"."
        for _ in range(3 * _sm2_python._KEY_COMB_AFTER):
            public.verify(ANNEX_A5.der, ANNEX_A5.message)
            with pytest.raises(InvalidSignature):
                public.verify(ANNEX_A5.der, tampered)
        handle = public._cache._handles["python"]
        assert isinstance(handle, _sm2_python._PublicHandle) and handle.comb is not None
