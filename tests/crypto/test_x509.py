"""ezhifu.pki.certs: certificate signatures (against openssl and Bouncy Castle), validity,
key usage, cert_info and CertificateBuilder."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import algos, core, pem, x509

from ezhifu import pki as ex509
from ezhifu.crypto import SignatureAlgorithm
from ezhifu.errors import (
    CertificateError,
    InvalidInput,
    InvalidSignature,
    SigningError,
    UnsupportedAlgorithm,
    WeakAlgorithm,
)
from ezhifu.pki import keys
from ezhifu.pki.signer import SoftwareSigner, verify_signature
from ezhifu.testing.pki import TestPKI, make_pki

RunOpenSSL = Callable[..., subprocess.CompletedProcess[bytes]]  # the 'openssl' fixture (conftest.py)
SM2_ID = "1234567812345678"


def _write(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(pem.armor("CERTIFICATE", cert.dump()))
    return path


# --- certificates made by openssl -------------------------------------------------------------


@pytest.mark.interop
def test_openssl_sm2_certificate_with_distid_verifies(
    openssl_keys: dict[str, Path], openssl: RunOpenSSL, tmp_path: Path
) -> None:
    cert_path = tmp_path / "c.pem"
    openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        openssl_keys["sm2.pkcs8.pem"],
        "-sm3",
        "-sigopt",
        f"distid:{SM2_ID}",
        "-subj",
        "/C=CN/O=ezhifu/CN=openssl sm2",
        "-days",
        "30",
        "-out",
        cert_path,
    )
    cert = keys.load_certificate(cert_path.read_bytes())
    assert ex509.certificate_signature_algorithm(cert) is SignatureAlgorithm.SM2_SM3
    ex509.verify_certificate_signature(cert, cert)
    ex509.check_validity(cert)
    info = ex509.cert_info(cert)
    assert "openssl sm2" in info.subject
    serial = openssl("x509", "-in", cert_path, "-noout", "-serial").stdout.decode().strip()
    assert serial == f"serial={info.serial_hex.upper().zfill(len(serial) - 7)}"
    assert keys.same_public_key(
        keys.public_key_of(cert), keys.load_private_key(openssl_keys["sm2.pkcs8.pem"].read_bytes())
    )


@pytest.mark.interop
def test_openssl_sm2_certificate_without_distid_rejected(
    openssl_keys: dict[str, Path], openssl: RunOpenSSL, tmp_path: Path
) -> None:
    cert_path = tmp_path / "c.pem"
    openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        openssl_keys["sm2.pkcs8.pem"],
        "-sm3",
        "-subj",
        "/CN=no distid",
        "-days",
        "30",
        "-out",
        cert_path,
    )
    cert = keys.load_certificate(cert_path.read_bytes())
    with pytest.raises(InvalidSignature) as info:
        ex509.verify_certificate_signature(cert, cert)
    message = str(info.value)
    assert "does not verify under the default SM2 ID 1234567812345678" in message
    assert "empty ID" in message
    assert "no distid" in message  # names the certificate


@pytest.mark.interop
def test_openssl_sha1_certificate_is_weak(
    openssl_keys: dict[str, Path], openssl: RunOpenSSL, tmp_path: Path
) -> None:
    cert_path = tmp_path / "c.pem"
    openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        openssl_keys["rsa.pkcs8.pem"],
        "-sha1",
        "-subj",
        "/CN=sha1 root",
        "-days",
        "30",
        "-out",
        cert_path,
    )
    cert = keys.load_certificate(cert_path.read_bytes())
    with pytest.raises(WeakAlgorithm, match="rsa-sha1"):
        ex509.verify_certificate_signature(cert, cert)
    ex509.verify_certificate_signature(cert, cert, allow_weak=True)


@pytest.mark.interop
def test_openssl_rsa_pss_certificate_unsupported(
    openssl_keys: dict[str, Path], openssl: RunOpenSSL, tmp_path: Path
) -> None:
    cert_path = tmp_path / "c.pem"
    openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        openssl_keys["rsa.pkcs8.pem"],
        "-sha256",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-subj",
        "/CN=pss",
        "-days",
        "30",
        "-out",
        cert_path,
    )
    with pytest.raises(UnsupportedAlgorithm, match="rsassa_pss"):
        ex509.verify_certificate_signature(cert_path.read_bytes(), cert_path.read_bytes())


# --- certificates made by ezhifu, checked by openssl ---------------------------------------------


@pytest.mark.interop
def test_sm2_two_level_chain_accepted_by_openssl(
    sm2_pki: TestPKI, openssl: RunOpenSSL, tmp_path: Path
) -> None:
    paths = sm2_pki.write_pem(tmp_path)
    ok = openssl("verify", "-vfyopt", f"distid:{SM2_ID}", "-CAfile", paths["root.pem"], paths["leaf.pem"])
    assert ok.stdout.strip().endswith(b": OK")
    text = openssl("x509", "-in", paths["leaf.pem"], "-noout", "-text").stdout.decode()
    assert "Signature Algorithm: SM2-with-SM3" in text
    assert "ASN1 OID: SM2" in text
    assert "Digital Signature, Non Repudiation" in text
    root_text = openssl("x509", "-in", paths["root.pem"], "-noout", "-text").stdout.decode()
    assert "CA:TRUE" in root_text
    # Negative controls: OpenSSL's own empty ID, and a wrong ID, reject our standard signature.
    assert openssl("verify", "-CAfile", paths["root.pem"], paths["leaf.pem"], check=False).returncode != 0
    wrong = openssl(
        "verify",
        "-vfyopt",
        "distid:8765432187654321",
        "-CAfile",
        paths["root.pem"],
        paths["leaf.pem"],
        check=False,
    )
    assert wrong.returncode != 0


@pytest.mark.interop
def test_sm2_three_level_chain_openssl_limitation(
    sm2_pki3: TestPKI, openssl: RunOpenSSL, tmp_path: Path
) -> None:
    """OpenSSL 3.0 applies -vfyopt distid to the leaf only and checks the intermediate's
    signature with the empty ID (interop.md), so it rejects a standard 3-level SM2 chain at
    depth 1. We record that behaviour; Bouncy Castle accepts the chain (next test)."""
    paths = sm2_pki3.write_pem(tmp_path)
    proc = openssl(
        "verify",
        "-vfyopt",
        f"distid:{SM2_ID}",
        "-CAfile",
        paths["root.pem"],
        "-untrusted",
        paths["intermediate.pem"],
        paths["leaf.pem"],
        check=False,
    )
    assert proc.returncode != 0
    assert b"error 7 at 1 depth lookup: certificate signature failure" in proc.stdout + proc.stderr
    # The leaf link alone (intermediate taken as trust anchor) is accepted with the standard ID.
    leaf_link = openssl(
        "verify",
        "-vfyopt",
        f"distid:{SM2_ID}",
        "-partial_chain",
        "-CAfile",
        paths["intermediate.pem"],
        paths["leaf.pem"],
    )
    assert leaf_link.stdout.strip().endswith(b": OK")
    # ezhifu verifies every link with the default ID.
    ex509.verify_certificate_signature(sm2_pki3.leaf_cert, sm2_pki3.intermediate_cert)
    ex509.verify_certificate_signature(sm2_pki3.intermediate_cert, sm2_pki3.root_cert)
    ex509.verify_certificate_signature(sm2_pki3.root_cert, sm2_pki3.root_cert)


_BC_VERIFY = """
import java.io.FileInputStream;
import java.security.Security;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

public class BcVerify {
    public static void main(String[] args) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        CertificateFactory cf = CertificateFactory.getInstance("X.509", "BC");
        X509Certificate[] c = new X509Certificate[args.length];
        for (int i = 0; i < args.length; i++) {
            try (FileInputStream in = new FileInputStream(args[i])) {
                c[i] = (X509Certificate) cf.generateCertificate(in);
            }
        }
        // args: pairs (certificate, issuer); each certificate is verified with its issuer's key.
        for (int i = 0; i + 1 < c.length; i += 2) {
            X509Certificate issuer = c[i + 1];
            try {
                c[i].verify(issuer.getPublicKey(), "BC");
                String name = c[i].getSubjectX500Principal().getName();
                System.out.println("OK " + c[i].getSigAlgName() + " " + name);
            } catch (Exception e) {
                System.out.println("FAIL " + c[i].getSubjectX500Principal().getName() + " " + e);
            }
        }
    }
}
"""


@pytest.mark.interop
def test_sm2_three_level_chain_accepted_by_bouncy_castle(sm2_pki3: TestPKI, tmp_path: Path) -> None:
    source = tmp_path / "BcVerify.java"
    source.write_text(_BC_VERIFY)
    leaf, inter, root = (_write(tmp_path / f"{i}.pem", c) for i, c in enumerate(sm2_pki3.chain))
    tampered = x509.Certificate.load(sm2_pki3.leaf_cert.dump())
    tbs = bytearray(tampered.dump())
    # flip one bit inside the subject common name (part of tbsCertificate)
    index = bytes(tbs).index(b"ezhifu test signer")
    tbs[index] ^= 0x01
    bad = tmp_path / "bad.pem"
    bad.write_bytes(pem.armor("CERTIFICATE", bytes(tbs)))
    proc = subprocess.run(
        ["java", "-cp", "/usr/share/java/bcprov.jar", str(source)]
        + [str(p) for p in (leaf, inter, inter, root, root, root, bad, inter)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    lines = proc.stdout.decode().splitlines()
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(lines) == 4, lines
    # leaf <- intermediate, intermediate <- root, root <- root (self-signed): all SM3withSM2 OK
    assert all(line.startswith("OK SM3WITHSM2") for line in lines[:3]), lines
    assert lines[3].startswith("FAIL"), lines  # the tampered leaf
    # ezhifu refuses the tampered certificate too
    with pytest.raises(InvalidSignature):
        ex509.verify_certificate_signature(bytes(tbs), sm2_pki3.intermediate_cert)


@pytest.mark.interop
@pytest.mark.parametrize("kind", ["rsa2048", "p256"])
def test_rsa_and_p256_chains_accepted_by_openssl(kind: str, openssl: RunOpenSSL, tmp_path: Path) -> None:
    pki = make_pki(kind, depth=3)
    paths = pki.write_pem(tmp_path)
    ok = openssl(
        "verify",
        "-x509_strict",
        "-CAfile",
        paths["root.pem"],
        "-untrusted",
        paths["intermediate.pem"],
        paths["leaf.pem"],
    )
    assert ok.stdout.strip().endswith(b": OK")
    text = openssl("x509", "-in", paths["leaf.pem"], "-noout", "-text").stdout.decode()
    expected = "sha256WithRSAEncryption" if kind == "rsa2048" else "ecdsa-with-SHA256"
    assert f"Signature Algorithm: {expected}" in text
    # cert_info agrees with openssl on the serial
    serial = (
        openssl("x509", "-in", paths["leaf.pem"], "-noout", "-serial").stdout.decode().strip().split("=")[1]
    )
    assert int(serial, 16) == int(ex509.cert_info(pki.leaf_cert).serial_hex, 16)
    # another root (same names, other key) does not verify the chain
    other = make_pki(kind)
    other_root = _write(tmp_path / "other.pem", other.root_cert)
    bad = openssl(
        "verify",
        "-CAfile",
        other_root,
        "-untrusted",
        paths["intermediate.pem"],
        paths["leaf.pem"],
        check=False,
    )
    assert bad.returncode != 0


# --- ezhifu's own verification ------------------------------------------------------------------


def test_verify_chain_links(sm2_pki3: TestPKI, rsa_pki3: TestPKI, p256_pki: TestPKI) -> None:
    for pki in (sm2_pki3, rsa_pki3, p256_pki):
        chain = pki.chain
        for cert, issuer in itertools.pairwise(chain):
            ex509.verify_certificate_signature(cert, issuer)
            ex509.verify_certificate_signature(cert.dump(), pem.armor("CERTIFICATE", issuer.dump()))
        ex509.verify_certificate_signature(pki.root_cert, pki.root_cert)


def test_wrong_issuer(sm2_pki3: TestPKI) -> None:
    # Name mismatch: the root did not issue the leaf.
    with pytest.raises(CertificateError, match="issuer name"):
        ex509.verify_certificate_signature(sm2_pki3.leaf_cert, sm2_pki3.root_cert)
    # Same names, other keys: the signature fails.
    other = make_pki("sm2", depth=3)
    with pytest.raises(InvalidSignature) as info:
        ex509.verify_certificate_signature(sm2_pki3.leaf_cert, other.intermediate_cert)
    assert "ezhifu test signer" in str(info.value)
    assert "empty ID" not in str(info.value)
    # Key kind mismatch.
    rsa_other = make_pki("rsa2048", depth=3)
    with pytest.raises(InvalidSignature, match="rsa key"):
        ex509.verify_certificate_signature(sm2_pki3.leaf_cert, rsa_other.intermediate_cert)


def test_tampered_certificate(rsa_pki3: TestPKI) -> None:
    der = bytearray(rsa_pki3.leaf_cert.dump())
    der[der.index(b"ezhifu test signer")] ^= 0x20
    with pytest.raises(InvalidSignature, match="does not verify"):
        ex509.verify_certificate_signature(bytes(der), rsa_pki3.intermediate_cert)


def test_algorithm_identifier_mismatch(sm2_pki: TestPKI) -> None:
    cert = x509.Certificate.load(sm2_pki.leaf_cert.dump())
    # Outer signatureAlgorithm with NULL parameters, tbsCertificate.signature without.
    cert["signature_algorithm"] = algos.SignedDigestAlgorithm(
        {"algorithm": "1.2.156.10197.1.501", "parameters": core.Null()}
    )
    changed = cert.dump()
    assert bytes.fromhex("300c06082a811ccf550183750500") in changed
    with pytest.raises(CertificateError, match=r"4\.1\.1\.2"):
        ex509.verify_certificate_signature(changed, sm2_pki.root_cert)


def test_weak_rsa1024_chain() -> None:
    pki = make_pki("rsa1024")
    with pytest.raises(WeakAlgorithm, match="1024 bits"):
        ex509.verify_certificate_signature(pki.leaf_cert, pki.root_cert)
    ex509.verify_certificate_signature(pki.leaf_cert, pki.root_cert, allow_weak=True)


def test_check_validity() -> None:
    past = datetime.now(UTC) - timedelta(days=30)
    expired = make_pki("p256", not_before=past - timedelta(days=10), not_after=past)
    with pytest.raises(ex509.CertificateExpired, match="expired at"):
        ex509.check_validity(expired.leaf_cert)
    ex509.check_validity(expired.leaf_cert, past - timedelta(days=1))
    ex509.check_validity(expired.root_cert)  # the CA spans the leaf and now
    future = datetime.now(UTC) + timedelta(days=30)
    early = make_pki("p256", not_before=future, not_after=future + timedelta(days=1))
    with pytest.raises(ex509.CertificateNotYetValid, match="not valid before"):
        ex509.check_validity(early.leaf_cert)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        ex509.check_validity(early.leaf_cert, datetime(2030, 1, 1))


def test_key_usage_helpers(sm2_pki3: TestPKI) -> None:
    leaf, inter, root = sm2_pki3.chain
    assert ex509.key_usage(leaf) == frozenset({"digital_signature", "non_repudiation"})
    assert ex509.key_usage(root) == frozenset({"key_cert_sign", "crl_sign"})
    assert ex509.is_ca(root) and ex509.is_ca(inter) and not ex509.is_ca(leaf)
    assert inter.basic_constraints_value["path_len_constraint"].native == 0
    ex509.check_key_usage(leaf, ("digital_signature", "non_repudiation"))
    ex509.check_key_usage(leaf, ("non_repudiation",))
    ex509.check_key_usage(root, ("key_cert_sign",))
    with pytest.raises(ex509.KeyUsageError, match="does not allow"):
        ex509.check_key_usage(root, ("digital_signature",))
    with pytest.raises(ex509.KeyUsageError):
        ex509.check_key_usage(leaf, ("digital_signature", "key_cert_sign"), any_of=False)
    assert ex509.extended_key_usage(leaf) is None
    cert, _ = sm2_pki3.issue_leaf("eku", extended_key_usage=("email_protection",), key_usage=None)
    assert ex509.key_usage(cert) is None
    assert ex509.extended_key_usage(cert) == frozenset({"email_protection"})
    ex509.check_key_usage(cert, ("digital_signature",))  # absent keyUsage does not restrict
    ex509.check_key_usage(cert, extended=("email_protection",))
    with pytest.raises(ex509.KeyUsageError, match="lacks"):
        ex509.check_key_usage(cert, extended=("code_signing",))


def test_key_identifiers(sm2_pki3: TestPKI) -> None:
    leaf, inter, root = sm2_pki3.chain
    assert leaf.authority_key_identifier == inter.key_identifier
    assert inter.authority_key_identifier == root.key_identifier
    assert root.authority_key_identifier == root.key_identifier
    assert len(root.key_identifier) == 20


def test_cert_info(sm2_pki: TestPKI) -> None:
    info = ex509.cert_info(sm2_pki.leaf_cert)
    assert info.serial_hex == format(sm2_pki.leaf_cert.serial_number, "x")
    assert info.serial_hex == info.serial_hex.lower()
    assert "ezhifu test signer" in info.subject
    assert "ezhifu test root CA" in info.issuer
    assert info.not_before is not None and info.not_after is not None
    assert info.not_before < datetime.now(UTC) < info.not_after


# --- builder ---------------------------------------------------------------------------------


def test_builder_rejects_foreign_signer() -> None:
    pki = make_pki("sm2")
    stranger = SoftwareSigner(keys.generate_private_key("sm2"))
    with pytest.raises(SigningError, match="does not match the issuer certificate"):
        ex509.CertificateBuilder("x", keys.generate_private_key("sm2")).build(stranger, issuer=pki.root_cert)
    # self-signed with another key than the subject's
    with pytest.raises(SigningError, match="subject public key"):
        ex509.CertificateBuilder("x", keys.generate_private_key("sm2")).build(stranger)


def test_builder_cross_algorithm_and_names() -> None:
    """An SM2 CA can certify an RSA key; names may carry Chinese text (UTF8String)."""
    pki = make_pki("sm2")
    rsa_key = keys.generate_private_key("rsa2048")
    cert = ex509.CertificateBuilder(
        {"country_name": "CN", "organization_name": "财政部", "common_name": "国库支付 签名"},
        rsa_key,
        serial_number=12345,
        not_before=datetime(2049, 12, 31, tzinfo=UTC),
        not_after=datetime(2051, 1, 1, tzinfo=UTC),
    ).build(SoftwareSigner(pki.root_key, pki.root_cert), issuer=pki.root_cert)
    ex509.verify_certificate_signature(cert, pki.root_cert)
    assert cert.serial_number == 12345
    assert "国库支付 签名" in ex509.cert_info(cert).subject
    validity = cert["tbs_certificate"]["validity"]
    assert validity["not_before"].name == "utc_time"
    assert validity["not_after"].name == "general_time"  # RFC 5280 clause 4.1.2.5: 2050 and later


def test_builder_input_checks() -> None:
    key = keys.generate_private_key("sm2")
    now = datetime.now(UTC)
    with pytest.raises(InvalidInput):
        ex509.CertificateBuilder("x", key, not_before=now, not_after=now - timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        ex509.CertificateBuilder("x", key, serial_number=0)
    with pytest.raises(InvalidInput):
        ex509.CertificateBuilder("x", key, path_length=1)
    with pytest.raises(InvalidInput):
        ex509.CertificateBuilder({}, key)
    with pytest.raises(InvalidInput):
        ex509.CertificateBuilder("x", key, not_before=datetime(2030, 1, 1))


def test_third_party_ofdrw_certificate(conformance_dir: Path) -> None:
    """ofdrw's SM2 test certificate and key (tests/conformance/ofdrw, made by Bouncy Castle)."""
    cert = keys.load_certificate((conformance_dir / "ofdrw" / "sign_cert.pem").read_bytes())
    key = keys.load_private_key((conformance_dir / "ofdrw" / "sign_key.pem").read_bytes())
    assert keys.key_kind(key) == "sm2"
    assert keys.same_public_key(keys.public_key_of(cert), key)
    assert ex509.certificate_signature_algorithm(cert) is SignatureAlgorithm.SM2_SM3
    info = ex509.cert_info(cert)
    assert info.serial_hex == "17af20e3374"
    assert "Test Certificate" in info.subject
    with pytest.raises(ex509.CertificateExpired, match="2023-07-29"):
        ex509.check_validity(cert)
    ex509.check_validity(cert, datetime(2022, 1, 1, tzinfo=UTC))
    # Its issuer (the ofdrw root) is not in the fixtures: a self-check names the mismatch.
    with pytest.raises(CertificateError, match="issuer name"):
        ex509.verify_certificate_signature(cert, cert)
    signature = SoftwareSigner(key, cert).sign(b"ofdrw")
    verify_signature(cert, b"ofdrw", signature)


def test_sm2_signature_algorithm_with_null_parameters_accepted(sm2_pki: TestPKI) -> None:
    """SM2-with-SM3 appears with absent and with NULL parameters in the field (seal_sm2.md §5.3)."""
    with_null = algos.SignedDigestAlgorithm({"algorithm": "1.2.156.10197.1.501", "parameters": core.Null()})
    cert = x509.Certificate.load(sm2_pki.leaf_cert.dump())
    tbs = x509.TbsCertificate.load(cert["tbs_certificate"].dump())
    tbs["signature"] = with_null
    tbs_der = tbs.dump(force=True)
    signature = SoftwareSigner(sm2_pki.root_key, sm2_pki.root_cert).sign(tbs_der)
    rebuilt = x509.Certificate(
        {
            "tbs_certificate": x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": with_null,
            "signature_value": signature,
        }
    ).dump()
    assert rebuilt.count(bytes.fromhex("300c06082a811ccf550183750500")) == 2
    ex509.verify_certificate_signature(rebuilt, sm2_pki.root_cert)
