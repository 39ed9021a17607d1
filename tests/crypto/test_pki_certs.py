"""ezhifu.pki.certs: the one certificate loader, describer, key kind and validity/usage check.

OpenSSL (the CLI) writes the bundles: ``pkcs12 -nokeys`` (``Bag Attributes`` text), ``x509
-subject -issuer`` (``subject=`` / ``issuer=`` lines), ``crl2pkcs7`` (PKCS#7, PEM and DER), and
gives the reference fingerprints and serials.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, keys, pem, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.errors import (
    CertificateError,
    CertificateInputTooLarge,
    EzhifuError,
    HostileInputError,
    InvalidInput,
    KeyUsageError,
    MalformedCertificate,
    UnsupportedAlgorithm,
)
from ezhifu.pki import certs
from ezhifu.pki import keys as ekeys
from ezhifu.pki.trust import TrustStore
from ezhifu.testing.pki import TestPKI, make_pki

RunOpenSSL = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture(scope="module")
def rsa3() -> TestPKI:
    return make_pki("rsa2048", depth=3)


@pytest.fixture(scope="module")
def sm2_3() -> TestPKI:
    return make_pki("sm2", depth=3)


def _ders(found: list[x509.Certificate]) -> list[bytes]:
    return [c.dump() for c in found]


# --- the one loader -----------------------------------------------------------------------------


def test_openssl_bag_attributes_bundle_loads_everywhere(
    rsa3: TestPKI, openssl: RunOpenSSL, tmp_path: Path
) -> None:
    """The bundle ``openssl pkcs12 -nokeys`` writes: TrustStore accepted it, and now
    ``keys.load_certificates`` does too (issue 12: it refused it before)."""
    paths = rsa3.write_pem(tmp_path)
    p12 = tmp_path / "bundle.p12"
    openssl(
        "pkcs12", "-export", "-inkey", paths["leaf.key.pem"], "-in", paths["leaf.pem"],
        "-certfile", paths["chain.pem"], "-passout", "pass:secret", "-out", p12,
    )  # fmt: skip
    text = openssl("pkcs12", "-in", p12, "-nokeys", "-passin", "pass:secret").stdout
    assert b"Bag Attributes" in text and b"subject=" in text and b"issuer=" in text
    loaded = ekeys.load_certificates(text)
    assert set(_ders(loaded)) == set(_ders(list(rsa3.chain)))
    store = TrustStore.from_pem_bytes(text)
    assert _ders(list(store.roots)) == [rsa3.root_cert.dump()]
    assert {c.dump() for c in store.all_certificates} == set(_ders(list(rsa3.chain)))


def test_subject_issuer_lines_before_each_block(sm2_3: TestPKI, openssl: RunOpenSSL, tmp_path: Path) -> None:
    parts = []
    for index, cert in enumerate(sm2_3.chain):
        path = tmp_path / f"c{index}.pem"
        path.write_bytes(pem.armor("CERTIFICATE", cert.dump()))
        parts.append(openssl("x509", "-in", path, "-subject", "-issuer").stdout)
    text = b"".join(parts)
    assert text.startswith(b"subject=")
    assert _ders(certs.load_certificates(text)) == _ders(list(sm2_3.chain))


@pytest.mark.parametrize("outform", ["PEM", "DER"])
def test_pkcs7_certificate_bundle(rsa3: TestPKI, openssl: RunOpenSSL, tmp_path: Path, outform: str) -> None:
    paths = rsa3.write_pem(tmp_path)
    data = openssl("crl2pkcs7", "-nocrl", "-certfile", paths["chain.pem"], "-outform", outform).stdout
    if outform == "PEM":
        assert data.startswith(b"-----BEGIN PKCS7-----")
    assert set(_ders(certs.load_certificates(data))) == set(_ders(list(rsa3.chain)))
    store = TrustStore.from_pem_bytes(data)
    assert _ders(list(store.roots)) == [rsa3.root_cert.dump()]


def test_der_bundle_and_single_forms(sm2_3: TestPKI) -> None:
    der = b"".join(c.dump() for c in sm2_3.chain)
    assert _ders(certs.load_certificates(der)) == _ders(list(sm2_3.chain))
    assert certs.load_certificate(sm2_3.leaf_cert.dump()).dump() == sm2_3.leaf_cert.dump()
    assert certs.load_certificate(sm2_3.leaf_cert) is sm2_3.leaf_cert
    # keys re-exports the same loader (one loader, importable where it was)
    assert ekeys.load_certificates is certs.load_certificates
    assert ekeys.load_certificate is certs.load_certificate


def test_der_holding_pem_text_is_still_der(sm2_3: TestPKI) -> None:
    der = sm2_3.leaf_cert.dump() + b"\n-----BEGIN CERTIFICATE-----\n"
    with pytest.raises(MalformedCertificate, match="malformed DER at offset"):
        certs.load_certificates(der)


def test_other_pem_blocks_refused_or_skipped(rsa3: TestPKI) -> None:
    key_pem = ekeys.dump_private_key(rsa3.leaf_key)
    mixed = key_pem + pem.armor("CERTIFICATE", rsa3.leaf_cert.dump())
    with pytest.raises(MalformedCertificate, match=r"PEM block 1 is 'PRIVATE KEY', not CERTIFICATE"):
        certs.load_certificates(mixed)
    assert _ders(certs.load_certificates(mixed, skip_other_blocks=True)) == [rsa3.leaf_cert.dump()]
    store = TrustStore.from_pem_bytes(mixed)  # a trust file may hold a key too
    assert _ders(list(store.pinned)) == [rsa3.leaf_cert.dump()]
    with pytest.raises(MalformedCertificate, match="no CERTIFICATE block"):
        certs.load_certificates(key_pem, skip_other_blocks=True)


def test_keys_stay_strict_about_text_outside_blocks(rsa3: TestPKI) -> None:
    key_pem = ekeys.dump_private_key(rsa3.leaf_key)
    with pytest.raises(InvalidInput, match="outside PEM blocks"):
        ekeys.load_private_key(key_pem + b"Bag Attributes\n")


def test_size_limits_are_named_errors(sm2_3: TestPKI) -> None:
    der = sm2_3.leaf_cert.dump()
    big = b"\x30" * (certs.MAX_CERTIFICATE_BYTES + 1)
    with pytest.raises(CertificateInputTooLarge, match="exceeds the 1048576-byte limit") as caught:
        certs.load_certificate(big)
    assert isinstance(caught.value, MalformedCertificate) and isinstance(caught.value, HostileInputError)
    with pytest.raises(CertificateInputTooLarge, match="byte limit"):
        certs.load_certificates(b"\x30" * (certs.MAX_BUNDLE_BYTES + 1))
    with pytest.raises(CertificateInputTooLarge, match=f"more than {certs.MAX_BUNDLE_CERTS}"):
        certs.load_certificates(der * (certs.MAX_BUNDLE_CERTS + 1))
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [],
            "encap_content_info": {"content_type": "data"},
            "certificates": [sm2_3.leaf_cert] * (certs.MAX_BUNDLE_CERTS + 1),
            "signer_infos": [],
        }
    )
    p7 = cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
    with pytest.raises(CertificateInputTooLarge, match=f"more than {certs.MAX_BUNDLE_CERTS}"):
        certs.load_certificates(p7)
    with pytest.raises(MalformedCertificate, match="empty input"):
        certs.load_certificates(b"")


def test_pkcs7_without_certificates_or_with_other_content(sm2_3: TestPKI) -> None:
    empty = cms.ContentInfo(
        {
            "content_type": "signed_data",
            "content": {
                "version": "v1",
                "digest_algorithms": [],
                "encap_content_info": {"content_type": "data"},
                "signer_infos": [],
            },
        }
    ).dump()
    with pytest.raises(MalformedCertificate, match="holds no certificate"):
        certs.load_certificates(empty)
    data = cms.ContentInfo({"content_type": "data", "content": b"x"}).dump()
    with pytest.raises(MalformedCertificate, match="not signedData"):
        certs.load_certificates(data)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_loader_raises_only_its_own_errors(data: bytes) -> None:
    for load in (certs.load_certificate, certs.load_certificates):
        with contextlib.suppress(MalformedCertificate):
            load(data)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2000), st.integers(0, 255))
def test_mutated_bundle_never_escapes(position: int, value: int) -> None:
    pki = _SHARED_PKI
    data = bytearray(b"Bag Attributes\n" + ekeys.dump_certificates(pki.chain))
    data[position % len(data)] = value
    try:
        found = certs.load_certificates(bytes(data))
    except EzhifuError as exc:
        assert isinstance(exc, CertificateError | InvalidInput)
    else:
        assert 1 <= len(found) <= 2


_SHARED_PKI = make_pki("p256")


# --- the one describer ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind, bits", [("sm2", 256), ("rsa2048", 2048), ("p256", 256)])
def test_describe_agrees_with_openssl(
    kind: str, bits: int, openssl: RunOpenSSL, tmp_path: Path
) -> None:
    pki = make_pki(kind)
    path = tmp_path / "leaf.pem"
    path.write_bytes(pem.armor("CERTIFICATE", pki.leaf_cert.dump()))
    out = openssl("x509", "-in", path, "-noout", "-serial", "-fingerprint", "-sha256").stdout.decode()
    serial = re.search(r"serial=([0-9A-F]+)", out)
    fingerprint = re.search(r"Fingerprint=([0-9A-F:]+)", out)
    assert serial is not None and fingerprint is not None
    info = certs.describe(pki.leaf_cert)
    assert int(info.serial_hex, 16) == int(serial.group(1), 16)
    assert info.sha256 == fingerprint.group(1).replace(":", "").lower()
    assert info.key_kind == {"p256": "ec", "rsa2048": "rsa"}.get(kind, kind)
    assert info.key_bits == bits
    assert not info.is_ca and certs.describe(pki.root_cert).is_ca
    assert info.label == certs.certificate_label(pki.leaf_cert)
    assert info.signer_info() == certs.cert_info(pki.leaf_cert)
    as_dict = info.to_dict()
    assert as_dict["serial"] == info.serial_hex and as_dict["not_after"] == info.not_after.isoformat()
    assert certs.describe(pki.leaf_cert.dump()) == info  # bytes describe the same


def test_describe_names_an_unsupported_key(tmp_path: Path) -> None:
    cert = _dsa_certificate()
    info = certs.describe(cert)
    assert info.key_kind == "dsa"
    with pytest.raises(UnsupportedAlgorithm, match=r"unsupported public key 1\.2\.840\.10040\.4\.1"):
        certs.key_kind(cert)


def _dsa_certificate() -> x509.Certificate:
    key = dsa.generate_private_key(key_size=1024)
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "dsa")])
    now = datetime.now(UTC)
    built = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certs.load_certificate(built.public_bytes(serialization.Encoding.DER))


# --- the one key kind --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, expected", [("sm2", "sm2"), ("rsa2048", "rsa"), ("p256", "ec")])
def test_key_kind_of_every_form(kind: str, expected: str) -> None:
    pki = make_pki(kind)
    key = pki.leaf_key
    spki = keys.PublicKeyInfo.load(ekeys.public_key_der(key))
    pkcs8 = keys.PrivateKeyInfo.load(pem.unarmor(ekeys.dump_private_key(key))[2])
    for obj in (key, key.public_key(), pki.leaf_cert, spki, pkcs8):
        assert certs.key_kind(obj) == expected, type(obj).__name__
    assert ekeys.key_kind is certs.key_kind
    with pytest.raises(InvalidInput, match="not a key ezhifu knows: str"):
        certs.key_kind("sm2")


# --- the one validity and key-usage check ---------------------------------------------------------


def test_validity_refusal_and_check_validity_say_the_same() -> None:
    past = datetime.now(UTC) - timedelta(days=30)
    pki = make_pki("p256", not_before=past - timedelta(days=10), not_after=past)
    now = datetime.now(UTC)
    reason = certs.validity_refusal(pki.leaf_cert, now, role="signer")
    assert reason is not None and reason.startswith("signer certificate '") and " expired at " in reason
    with pytest.raises(certs.CertificateExpired) as caught:
        certs.check_validity(pki.leaf_cert, now)
    assert str(caught.value) == certs.validity_refusal(pki.leaf_cert, now)
    assert certs.validity_refusal(pki.leaf_cert, now, skew=timedelta(days=31)) is None
    early = past - timedelta(days=11)
    assert "is not yet valid" in str(certs.validity_refusal(pki.leaf_cert, early))
    assert "not valid before" in str(certs.validity_refusal(pki.leaf_cert, early))


def test_key_usage_refusal_and_check_key_usage_say_the_same(sm2_3: TestPKI) -> None:
    root = sm2_3.root_cert
    reason = certs.key_usage_refusal(root, ("digital_signature", "non_repudiation"), role="signer")
    assert reason is not None and "allows neither digitalSignature nor nonRepudiation" in reason
    single = certs.key_usage_refusal(root, ("digital_signature",))
    assert single is not None and single.endswith("does not allow digitalSignature")
    with pytest.raises(KeyUsageError) as caught:
        certs.check_key_usage(root, ("digital_signature",))
    assert str(caught.value) == single
    assert certs.key_usage_refusal(root, ("key_cert_sign",)) is None
    assert certs.key_usage_refusal(sm2_3.leaf_cert, ("digital_signature", "non_repudiation")) is None


def test_fingerprint_is_sha256_of_der(sm2_3: TestPKI) -> None:
    assert certs.describe(sm2_3.root_cert).sha256 == hashlib.sha256(sm2_3.root_cert.dump()).hexdigest()


def test_docs_pki_example_runs(tmp_path: Path) -> None:
    """The example of docs/pki.md runs as printed."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "pki.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert blocks
    proc = subprocess.run(
        [sys.executable, "-c", blocks[0]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "trusted"
    assert " sm2 " in proc.stdout.splitlines()[0]
