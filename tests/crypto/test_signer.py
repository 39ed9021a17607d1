"""SoftwareSigner and verify_signature, checked against the openssl CLI in both directions."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import pem
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.crypto import SignatureAlgorithm, Signer
from ezhifu.crypto.sm2 import SM2PrivateKey
from ezhifu.errors import CertificateError, InvalidInput, InvalidSignature, WeakAlgorithm
from ezhifu.pki import keys
from ezhifu.pki.signer import SoftwareSigner, default_algorithm, verify_signature
from ezhifu.testing.pki import TestPKI, make_pki

RunOpenSSL = Callable[..., subprocess.CompletedProcess[bytes]]  # the 'openssl' fixture (conftest.py)
SM2_ID = "1234567812345678"
MESSAGE = "国库集中支付 voucher 0001".encode("gbk") * 50


def test_signer_protocol_and_defaults(sm2_pki: TestPKI, rsa_pki3: TestPKI, p256_pki: TestPKI) -> None:
    for pki, algorithm in (
        (sm2_pki, SignatureAlgorithm.SM2_SM3),
        (rsa_pki3, SignatureAlgorithm.RSA_SHA256),
        (p256_pki, SignatureAlgorithm.ECDSA_SHA256),
    ):
        signer = pki.signer()
        assert isinstance(signer, Signer)
        assert signer.algorithm is algorithm
        assert default_algorithm(signer.key_kind) is algorithm
        assert signer.certificate is not None
        assert signer.certificate.dump() == pki.leaf_cert.dump()
        signature = signer.sign(MESSAGE)
        assert signature[0] == 0x30 or algorithm is SignatureAlgorithm.RSA_SHA256
        verify_signature(pki.leaf_cert, MESSAGE, signature)
        verify_signature(pki.leaf_cert.dump(), MESSAGE, signature, algorithm=algorithm)
        verify_signature(pem.armor("CERTIFICATE", pki.leaf_cert.dump()), MESSAGE, signature)
        verify_signature(keys.public_key_of(pki.leaf_key), MESSAGE, signature)
        with pytest.raises(InvalidSignature):
            verify_signature(pki.leaf_cert, MESSAGE + b"!", signature)
        with pytest.raises(InvalidSignature):
            verify_signature(pki.root_cert, MESSAGE, signature)
        assert "PRIVATE" not in repr(signer)


@pytest.mark.parametrize(
    "algorithm", [SignatureAlgorithm.RSA_SHA256, SignatureAlgorithm.RSA_SHA384, SignatureAlgorithm.RSA_SHA512]
)
def test_rsa_algorithms(rsa_pki3: TestPKI, algorithm: SignatureAlgorithm) -> None:
    signer = SoftwareSigner(rsa_pki3.leaf_key, rsa_pki3.leaf_cert, algorithm=algorithm)
    signature = signer.sign(MESSAGE)
    verify_signature(rsa_pki3.leaf_cert, MESSAGE, signature, algorithm=algorithm)
    other = (
        SignatureAlgorithm.RSA_SHA512
        if algorithm is not SignatureAlgorithm.RSA_SHA512
        else SignatureAlgorithm.RSA_SHA256
    )
    with pytest.raises(InvalidSignature, match="does not verify"):
        verify_signature(rsa_pki3.leaf_cert, MESSAGE, signature, algorithm=other)


def test_weak_rsa_refused_without_opt_in() -> None:
    pki = make_pki("rsa1024")
    with pytest.raises(WeakAlgorithm, match="1024 bits"):
        SoftwareSigner(pki.leaf_key, pki.leaf_cert)
    signer = pki.signer()  # allow_weak for the rsa1024 test PKI
    verify_signature(pki.leaf_cert, b"x", signer.sign(b"x"))
    key = keys.generate_private_key("rsa2048")
    with pytest.raises(WeakAlgorithm, match="rsa-sha1"):
        SoftwareSigner(key, algorithm=SignatureAlgorithm.RSA_SHA1)
    sha1 = SoftwareSigner(key, algorithm=SignatureAlgorithm.RSA_SHA1, allow_weak=True)
    verify_signature(key.public_key(), b"x", sha1.sign(b"x"), algorithm=SignatureAlgorithm.RSA_SHA1)


def test_misuse(sm2_pki: TestPKI, rsa_pki3: TestPKI) -> None:
    with pytest.raises(InvalidInput, match="cannot be used with a sm2 key"):
        SoftwareSigner(sm2_pki.leaf_key, algorithm=SignatureAlgorithm.RSA_SHA256)
    with pytest.raises(CertificateError, match="does not carry this signer's public key"):
        SoftwareSigner(sm2_pki.leaf_key, sm2_pki.root_cert)
    with pytest.raises(InvalidInput, match="needs a private key"):
        SoftwareSigner(keys.public_key_of(sm2_pki.leaf_key))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        sm2_pki.signer().sign("text")  # type: ignore[arg-type]
    signature = sm2_pki.signer().sign(b"x")
    with pytest.raises(InvalidSignature, match="does not fit"):
        verify_signature(sm2_pki.leaf_cert, b"x", signature, algorithm=SignatureAlgorithm.RSA_SHA256)
    with pytest.raises(InvalidSignature):
        verify_signature(rsa_pki3.leaf_cert, b"x", b"\x00" * 256)
    # the certificate may be given as PEM bytes
    assert (
        SoftwareSigner(sm2_pki.leaf_key, pem.armor("CERTIFICATE", sm2_pki.leaf_cert.dump())).certificate
        is not None
    )


def test_sm2_uid(sm2_pki: TestPKI) -> None:
    signer = SoftwareSigner(sm2_pki.leaf_key, uid=b"ALICE123@YAHOO.COM")
    signature = signer.sign(b"m")
    verify_signature(sm2_pki.leaf_cert, b"m", signature, uid=b"ALICE123@YAHOO.COM")
    with pytest.raises(InvalidSignature):
        verify_signature(sm2_pki.leaf_cert, b"m", signature)


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=300))
def test_hypothesis_sign_verify(data: bytes) -> None:
    key = SM2PrivateKey.from_private_value(0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8)
    signer = SoftwareSigner(key)
    signature = signer.sign(data)
    verify_signature(key.public_key(), data, signature)
    with pytest.raises(InvalidSignature):
        verify_signature(key.public_key(), data + b"\x00", signature)


# --- interop with the openssl CLI ------------------------------------------------------------------


@pytest.mark.interop
def test_sm2_signature_verified_by_openssl(sm2_pki: TestPKI, openssl: RunOpenSSL, tmp_path: Path) -> None:
    paths = sm2_pki.write_pem(tmp_path)
    (tmp_path / "m").write_bytes(MESSAGE)
    (tmp_path / "m.sig").write_bytes(sm2_pki.signer().sign(MESSAGE))
    common = ["pkeyutl", "-verify", "-certin", "-inkey", paths["leaf.pem"], "-rawin", "-digest", "sm3"]
    ok = openssl(
        *common, "-pkeyopt", f"distid:{SM2_ID}", "-in", tmp_path / "m", "-sigfile", tmp_path / "m.sig"
    )
    assert b"Signature Verified Successfully" in ok.stdout
    # Negative controls: the empty ID (OpenSSL's default) and a changed message fail.
    assert (
        openssl(*common, "-in", tmp_path / "m", "-sigfile", tmp_path / "m.sig", check=False).returncode != 0
    )
    (tmp_path / "m2").write_bytes(MESSAGE + b"x")
    bad = openssl(
        *common,
        "-pkeyopt",
        f"distid:{SM2_ID}",
        "-in",
        tmp_path / "m2",
        "-sigfile",
        tmp_path / "m.sig",
        check=False,
    )
    assert bad.returncode != 0


@pytest.mark.interop
def test_openssl_sm2_signature_verified_by_ezhifu(
    openssl_keys: dict[str, Path], openssl: RunOpenSSL, tmp_path: Path
) -> None:
    (tmp_path / "m").write_bytes(MESSAGE)
    key_path = openssl_keys["sm2.pkcs8.pem"]
    openssl(
        "pkeyutl",
        "-sign",
        "-inkey",
        key_path,
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        f"distid:{SM2_ID}",
        "-in",
        tmp_path / "m",
        "-out",
        tmp_path / "m.sig",
    )
    public = keys.load_public_key(openssl_keys["sm2.pub.pem"].read_bytes())
    verify_signature(public, MESSAGE, (tmp_path / "m.sig").read_bytes())
    # signed with the empty ID: refused
    openssl(
        "pkeyutl",
        "-sign",
        "-inkey",
        key_path,
        "-rawin",
        "-digest",
        "sm3",
        "-in",
        tmp_path / "m",
        "-out",
        tmp_path / "e.sig",
    )
    with pytest.raises(InvalidSignature):
        verify_signature(public, MESSAGE, (tmp_path / "e.sig").read_bytes())


@pytest.mark.interop
@pytest.mark.parametrize(("kind", "digest"), [("rsa2048", "sha256"), ("p256", "sha256")])
def test_rsa_ecdsa_signatures_and_openssl_dgst(
    kind: str, digest: str, openssl: RunOpenSSL, tmp_path: Path
) -> None:
    pki = make_pki(kind)
    paths = pki.write_pem(tmp_path)
    pub = tmp_path / "pub.pem"
    pub.write_bytes(keys.dump_public_key(pki.leaf_key))
    (tmp_path / "m").write_bytes(MESSAGE)
    (tmp_path / "m.sig").write_bytes(pki.signer().sign(MESSAGE))
    ok = openssl("dgst", f"-{digest}", "-verify", pub, "-signature", tmp_path / "m.sig", tmp_path / "m")
    assert ok.stdout.strip() == b"Verified OK"
    openssl("dgst", f"-{digest}", "-sign", paths["leaf.key.pem"], "-out", tmp_path / "o.sig", tmp_path / "m")
    verify_signature(pki.leaf_cert, MESSAGE, (tmp_path / "o.sig").read_bytes())
    with pytest.raises(InvalidSignature):
        verify_signature(pki.leaf_cert, MESSAGE[:-1], (tmp_path / "o.sig").read_bytes())
