"""Trust store, policy and certificate path validation (ezhifu.pki.trust)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import pem, x509

from ezhifu.crypto import SignatureAlgorithm
from ezhifu.errors import CertificateError, ConfigurationError
from ezhifu.pki.builder import CertificateBuilder
from ezhifu.pki.keys import generate_private_key
from ezhifu.pki.path import validate_chain
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import LEGACY_HINT, TrustStore, VerifyPolicy
from ezhifu.testing.pki import TestPKI, make_pki


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(pem.armor("CERTIFICATE", c.dump()) for c in certs)


def test_policy_defaults_and_legacy() -> None:
    default = VerifyPolicy()
    legacy = VerifyPolicy.legacy()
    assert "sha1" not in default.allowed_digests and "sha1" in legacy.allowed_digests
    assert (default.min_rsa_bits, legacy.min_rsa_bits) == (2048, 1024)
    assert default.digest_refusal("sha1") == f"digest sha1 refused by policy ({LEGACY_HINT})"
    assert legacy.digest_refusal("sha1") is None
    assert default.digest_refusal("sm3") is None
    assert default.digest_refusal("md5") == "digest md5 refused by policy"
    with pytest.raises(ConfigurationError, match="no CRLs"):
        VerifyPolicy(check_crl=True)
    with pytest.raises(ConfigurationError):
        VerifyPolicy(min_rsa_bits=256)
    with pytest.raises(AttributeError):
        default.min_rsa_bits = 1  # type: ignore[misc]


@pytest.mark.parametrize("fixture", ["rsa_pki3", "sm2_pki3"])
def test_chain_through_supplied_or_embedded_intermediate(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    pki: TestPKI = request.getfixturevalue(fixture)
    assert pki.intermediate_cert is not None
    supplied = validate_chain(
        pki.leaf_cert, trust=TrustStore(roots=[pki.root_cert], intermediates=[pki.intermediate_cert])
    )
    assert supplied.trusted, supplied.reason
    assert [c.dump() for c in supplied.path] == [c.dump() for c in pki.chain]
    embedded = validate_chain(
        pki.leaf_cert, trust=TrustStore(roots=[pki.root_cert]), extra_certs=[pki.intermediate_cert]
    )
    assert embedded.trusted, embedded.reason
    missing = validate_chain(pki.leaf_cert, trust=TrustStore(roots=[pki.root_cert]))
    assert not missing.trusted
    assert missing.reason is not None and missing.reason.startswith("no issuer certificate")


def test_intermediate_alone_is_not_a_trust_anchor(rsa_pki3: TestPKI) -> None:
    assert rsa_pki3.intermediate_cert is not None
    result = validate_chain(rsa_pki3.leaf_cert, trust=TrustStore(intermediates=[rsa_pki3.intermediate_cert]))
    assert not result.trusted
    assert result.reason is not None and "no issuer certificate" in result.reason


def test_untrusted_ca_with_the_same_subject_fails(rsa_pki: TestPKI) -> None:
    """Matching is by signature, not by name (RFC 5280 clause 6.1.3 (a)(1))."""
    impostor = make_pki("rsa2048")  # same subject names, different keys
    assert impostor.root_cert.subject == rsa_pki.root_cert.subject
    trust = TrustStore(roots=[rsa_pki.root_cert])
    result = validate_chain(impostor.leaf_cert, trust=trust)
    assert not result.trusted
    assert result.reason is not None and "a different CA with the same name" in result.reason
    # ... also when the impostor ships its own root inside the CMS
    shipped = validate_chain(impostor.leaf_cert, trust=trust, extra_certs=[impostor.root_cert])
    assert not shipped.trusted
    assert shipped.reason is not None
    assert "not in the trust store" in shipped.reason or "different CA" in shipped.reason


def test_expired_and_not_yet_valid(rsa_pki: TestPKI, expired_pki: TestPKI) -> None:
    expired = validate_chain(expired_pki.leaf_cert, trust=TrustStore(roots=[expired_pki.root_cert]))
    assert not expired.trusted
    assert expired.reason is not None and expired.reason.startswith("signer certificate")
    assert " expired at " in expired.reason
    # valid at a time inside the validity period (archival verification with `at`)
    past = expired_pki.leaf_cert.not_valid_before + timedelta(days=1)
    assert validate_chain(
        expired_pki.leaf_cert, trust=TrustStore(roots=[expired_pki.root_cert]), at=past
    ).trusted
    early = rsa_pki.leaf_cert.not_valid_before - timedelta(days=1)
    result = validate_chain(rsa_pki.leaf_cert, trust=TrustStore(roots=[rsa_pki.root_cert]), at=early)
    assert result.reason is not None and "is not yet valid" in result.reason


def test_pinned_end_entity_is_trusted_directly(rsa_pki: TestPKI) -> None:
    """Partners' private CA roots are often not handed out: pin the partner certificate."""
    trust = TrustStore(pinned=[rsa_pki.leaf_cert])
    result = validate_chain(rsa_pki.leaf_cert, trust=trust)
    assert result.trusted and result.pinned
    assert [c.dump() for c in result.path] == [rsa_pki.leaf_cert.dump()]
    assert not validate_chain(rsa_pki.leaf_cert, trust=trust, policy=VerifyPolicy(allow_pinned=False)).trusted
    other, _ = rsa_pki.issue_leaf("another signer")
    assert not validate_chain(other, trust=trust).trusted


def test_pinned_certificate_still_checked_for_validity(expired_pki: TestPKI) -> None:
    result = validate_chain(expired_pki.leaf_cert, trust=TrustStore(pinned=[expired_pki.leaf_cert]))
    assert not result.trusted
    assert result.reason is not None and "expired" in result.reason


def test_from_pem_bytes_sorts_roots_intermediates_and_pins(rsa_pki3: TestPKI, tmp_path: object) -> None:
    assert rsa_pki3.intermediate_cert is not None
    store = TrustStore.from_pem_bytes(
        _pem(rsa_pki3.root_cert, rsa_pki3.intermediate_cert, rsa_pki3.leaf_cert)
    )
    assert [c.dump() for c in store.roots] == [rsa_pki3.root_cert.dump()]
    assert [c.dump() for c in store.intermediates] == [rsa_pki3.intermediate_cert.dump()]
    assert [c.dump() for c in store.pinned] == [rsa_pki3.leaf_cert.dump()]
    with pytest.raises(CertificateError, match="no CERTIFICATE"):
        TrustStore.from_pem_bytes(b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n")
    with pytest.raises(CertificateError, match="malformed certificate"):
        TrustStore.from_pem_bytes(b"\x30\x03\x02\x01\x01")


def test_from_pem_files(rsa_pki: TestPKI, tmp_path: pytest.TempPathFactory) -> None:
    paths = rsa_pki.write_pem(tmp_path)  # type: ignore[arg-type]
    store = TrustStore.from_pem_files([paths["root.pem"]])
    assert validate_chain(rsa_pki.leaf_cert, trust=store).trusted
    with pytest.raises(ConfigurationError, match="cannot read trust file"):
        TrustStore.from_pem_files([paths["root.pem"].with_name("missing.pem")])


def test_issuer_must_be_a_ca(rsa_pki: TestPKI) -> None:
    """An end-entity certificate cannot issue (basicConstraints, RFC 5280 clause 6.1.4 (k))."""
    key = generate_private_key("rsa2048")
    issued = CertificateBuilder("issued by a leaf", key, key_usage=("digital_signature",)).build(
        rsa_pki.signer(), issuer=rsa_pki.leaf_cert
    )
    result = validate_chain(
        issued, trust=TrustStore(roots=[rsa_pki.root_cert]), extra_certs=[rsa_pki.leaf_cert]
    )
    assert not result.trusted
    assert result.reason is not None and "is not a CA" in result.reason


def test_leaf_key_usage_required() -> None:
    pki = make_pki("rsa2048", leaf_key_usage=("key_encipherment",))
    trust = TrustStore(roots=[pki.root_cert])
    result = validate_chain(pki.leaf_cert, trust=trust)
    assert result.reason is not None and "allows neither digitalSignature nor nonRepudiation" in result.reason
    assert validate_chain(pki.leaf_cert, trust=trust, policy=VerifyPolicy(require_key_usage=False)).trusted


def test_weak_keys_and_sha1_certificates(weak_pki: TestPKI) -> None:
    trust = TrustStore(roots=[weak_pki.root_cert])
    refused = validate_chain(weak_pki.leaf_cert, trust=trust)
    assert refused.reason == f"RSA key of 1024 bits refused by policy (minimum 2048; {LEGACY_HINT})"
    assert validate_chain(weak_pki.leaf_cert, trust=trust, policy=VerifyPolicy.legacy()).trusted


def test_sha1_signed_certificate_needs_legacy(rsa_pki: TestPKI) -> None:
    """Deployed certificates are sha1WithRSAEncryption (spec.md §5.4)."""
    ca = SoftwareSigner(
        rsa_pki.root_key, rsa_pki.root_cert, algorithm=SignatureAlgorithm.RSA_SHA1, allow_weak=True
    )
    key = generate_private_key("rsa2048")
    cert = CertificateBuilder("sha1 signer", key, key_usage=("digital_signature",)).build(
        ca, issuer=rsa_pki.root_cert
    )
    trust = TrustStore(roots=[rsa_pki.root_cert])
    refused = validate_chain(cert, trust=trust)
    assert refused.reason is not None
    assert refused.reason.endswith(f"signature digest sha1 refused by policy ({LEGACY_HINT})")
    assert validate_chain(cert, trust=trust, policy=VerifyPolicy.legacy()).trusted


# --------------------------------------------------------------------------- CRLs


def _crl(
    pki: TestPKI,
    revoked: list[int],
    *,
    next_update: datetime | None = None,
    signer_key: object = None,
) -> bytes:
    now = datetime.now(UTC).replace(microsecond=0)
    tbs = asn1_crl.TbsCertList(
        {
            "version": "v2",
            "signature": {"algorithm": "sha256_rsa"},
            "issuer": pki.root_cert.subject,
            "this_update": x509.Time({"utc_time": now - timedelta(hours=1)}),
            "next_update": x509.Time({"utc_time": next_update or now + timedelta(days=7)}),
            "revoked_certificates": [
                {
                    "user_certificate": serial,
                    "revocation_date": x509.Time({"utc_time": now - timedelta(minutes=30)}),
                    "crl_entry_extensions": [{"extn_id": "crl_reason", "extn_value": "key_compromise"}],
                }
                for serial in revoked
            ],
        }
    )
    signer = SoftwareSigner(signer_key or pki.root_key)  # type: ignore[arg-type]
    return bytes(
        asn1_crl.CertificateList(
            {
                "tbs_cert_list": tbs,
                "signature_algorithm": {"algorithm": "sha256_rsa"},
                "signature": signer.sign(tbs.dump()),
            }
        ).dump()
    )


def test_crl_revocation(rsa_pki: TestPKI) -> None:
    trust = TrustStore(roots=[rsa_pki.root_cert])
    serial = rsa_pki.leaf_cert.serial_number
    revoked = validate_chain(
        rsa_pki.leaf_cert, trust=trust, policy=VerifyPolicy(check_crl=True, crls=(_crl(rsa_pki, [serial]),))
    )
    assert not revoked.trusted
    assert (
        revoked.reason is not None and " revoked on " in revoked.reason and "key_compromise" in revoked.reason
    )
    clean = validate_chain(
        rsa_pki.leaf_cert,
        trust=trust,
        policy=VerifyPolicy(check_crl=True, crls=(_crl(rsa_pki, [serial + 1]),)),
    )
    assert clean.trusted, clean.reason


def test_crl_must_be_signed_by_the_issuer_and_current(rsa_pki: TestPKI) -> None:
    trust = TrustStore(roots=[rsa_pki.root_cert])
    serial = rsa_pki.leaf_cert.serial_number
    forged = _crl(rsa_pki, [], signer_key=generate_private_key("rsa2048"))
    result = validate_chain(
        rsa_pki.leaf_cert, trust=trust, policy=VerifyPolicy(check_crl=True, crls=(forged,))
    )
    assert result.reason is not None and "CRL #0 signature does not verify" in result.reason
    old = _crl(rsa_pki, [serial + 1], next_update=datetime.now(UTC) - timedelta(days=1))
    stale = validate_chain(rsa_pki.leaf_cert, trust=trust, policy=VerifyPolicy(check_crl=True, crls=(old,)))
    assert stale.reason is not None and "is outdated" in stale.reason
    other = make_pki("rsa2048", subject_prefix="other org")
    unrelated = validate_chain(
        rsa_pki.leaf_cert, trust=trust, policy=VerifyPolicy(check_crl=True, crls=(_crl(other, []),))
    )
    assert unrelated.reason is not None and unrelated.reason.startswith("no CRL from issuer")
    garbage = validate_chain(
        rsa_pki.leaf_cert, trust=trust, policy=VerifyPolicy(check_crl=True, crls=(b"junk",))
    )
    assert garbage.reason is not None and "CRL #0 is malformed" in garbage.reason
