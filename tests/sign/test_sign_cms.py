"""Detached CMS SignedData: round trips, OID styles, signed attributes and strict parsing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhifu.crypto.sm2 import der_to_rs
from ezhifu.errors import InvalidInput, SigningError
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.sign.cms import (
    OID_DATA,
    OID_GBT_DATA,
    OID_GBT_SIGNED_DATA,
    OID_SIGNED_DATA,
    OidStyle,
    Sm2SignatureOid,
    sign_detached,
)
from ezhifu.sign.cms_verify import verify_detached
from ezhifu.testing.pki import TestPKI

DATA = base64.b64encode(b"<?xml version='1.0' encoding='GBK'?><Voucher><VtCode>5201</VtCode></Voucher>")


def _signed_data(der: bytes) -> cms.SignedData:
    # ezhifu.crypto registers the GB/T 35275 content types in asn1crypto (crypto/oids.py).
    return cms.ContentInfo.load(der)["content"]


def _outer_oid(der: bytes) -> str:
    return str(cms.ContentInfo.load(der)["content_type"].dotted)


@pytest.mark.parametrize("attrs", [False, True])
def test_rsa_round_trip(rsa_pki: TestPKI, attrs: bool) -> None:
    der = sign_detached(DATA, rsa_pki.signer(), signed_attributes=attrs)
    result = verify_detached(der, DATA, trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert result.valid, result.reason
    assert (result.intact, result.trusted, result.allowed) == (True, True, True)
    assert result.reason is None
    assert result.signature_algorithm == "rsa-sha256"
    assert result.digest_algorithm == "sha256"
    assert result.oid_style == "pkcs7"
    assert result.signed_attributes is attrs
    assert result.signer_certificate is not None
    assert result.signer_certificate.dump() == rsa_pki.leaf_cert.dump()
    assert (result.signing_time is not None) is attrs


def test_default_has_no_signed_attributes_and_is_detached(rsa_pki: TestPKI) -> None:
    """spec.md §5.3: partners send detached SignedData without signed attributes."""
    sd = _signed_data(sign_detached(DATA, rsa_pki.signer()))
    assert sd["encap_content_info"]["content"].native is None
    assert sd["encap_content_info"]["content_type"].dotted == OID_DATA
    si = sd["signer_infos"][0]
    assert si["signed_attrs"].native is None
    assert si["signature_algorithm"]["algorithm"].dotted == "1.2.840.113549.1.1.1"
    assert sd["certificates"][0].chosen.dump() == rsa_pki.leaf_cert.dump()


@pytest.mark.parametrize("attrs", [False, True])
@pytest.mark.parametrize("style", ["gbt35275", "pkcs7"])
@pytest.mark.parametrize("sig_oid", ["sm2-with-sm3", "sm2-1"])
def test_sm2_round_trip_all_styles(
    sm2_pki: TestPKI, sm2_provider: str, attrs: bool, style: OidStyle, sig_oid: Sm2SignatureOid
) -> None:
    der = sign_detached(
        DATA,
        sm2_pki.signer(),
        signed_attributes=attrs,
        oid_style=style,
        sm2_signature_oid=sig_oid,
    )
    assert _outer_oid(der) == (OID_GBT_SIGNED_DATA if style == "gbt35275" else OID_SIGNED_DATA)
    sd = _signed_data(der)
    assert sd["encap_content_info"]["content_type"].dotted == (
        OID_GBT_DATA if style == "gbt35275" else OID_DATA
    )
    expected_sig = "1.2.156.10197.1.501" if sig_oid == "sm2-with-sm3" else "1.2.156.10197.1.301.1"
    assert sd["signer_infos"][0]["signature_algorithm"]["algorithm"].dotted == expected_sig
    result = verify_detached(der, DATA, trust=TrustStore(roots=[sm2_pki.root_cert]))
    assert result.valid, result.reason
    assert result.oid_style == style
    assert result.signature_algorithm == "sm2-sm3"
    assert result.digest_algorithm == "sm3"


def test_sm2_default_is_gbt35275(sm2_pki: TestPKI) -> None:
    der = sign_detached(DATA, sm2_pki.signer())
    assert _outer_oid(der) == OID_GBT_SIGNED_DATA


@pytest.mark.filterwarnings("ignore::ezhifu.crypto.sm2.python.NonConstantTimeWarning")
def test_sm2_signature_from_one_provider_verifies_with_the_other(sm2_pki: TestPKI) -> None:
    from ezhifu.crypto import sm2

    trust = TrustStore(roots=[sm2_pki.root_cert])
    try:
        sm2.use_provider("python")
        der = sign_detached(DATA, sm2_pki.signer())
        sm2.use_provider("openssl")
        assert verify_detached(der, DATA, trust=trust).valid
        der2 = sign_detached(DATA, sm2_pki.signer())
        sm2.use_provider("python")
        assert verify_detached(der2, DATA, trust=trust).valid
    finally:
        sm2.use_provider("auto")


def test_p256_round_trip() -> None:
    from ezhifu.testing.pki import make_pki

    pki = make_pki("p256")
    der = sign_detached(DATA, pki.signer(), signed_attributes=True)
    result = verify_detached(der, DATA, trust=TrustStore(roots=[pki.root_cert]))
    assert result.valid, result.reason
    assert result.signature_algorithm == "ecdsa-sha256"


def test_gbt35275_refused_for_rsa(rsa_pki: TestPKI) -> None:
    with pytest.raises(InvalidInput, match="SM2 only"):
        sign_detached(DATA, rsa_pki.signer(), oid_style="gbt35275")


def test_signing_time_requires_attributes(rsa_pki: TestPKI) -> None:
    with pytest.raises(InvalidInput, match="signed_attributes"):
        sign_detached(DATA, rsa_pki.signer(), signing_time=datetime.now(UTC))


def test_signer_without_certificate_refused(rsa_pki: TestPKI) -> None:
    from ezhifu.pki.signer import SoftwareSigner

    with pytest.raises(SigningError, match="no certificate"):
        sign_detached(DATA, SoftwareSigner(rsa_pki.leaf_key))


def test_chain_is_embedded(rsa_pki3: TestPKI) -> None:
    """The intermediate travels inside the CMS and is used for chain building."""
    assert rsa_pki3.intermediate_cert is not None
    trust = TrustStore(roots=[rsa_pki3.root_cert])
    bare = sign_detached(DATA, rsa_pki3.signer())
    missing = verify_detached(bare, DATA, trust=trust)
    assert missing.intact and not missing.trusted
    assert missing.reason is not None and "no issuer certificate" in missing.reason
    full = sign_detached(DATA, rsa_pki3.signer(), chain=[rsa_pki3.intermediate_cert])
    result = verify_detached(full, DATA, trust=trust)
    assert result.valid, result.reason
    assert result.chain is not None
    assert [c.dump() for c in result.chain.path] == [c.dump() for c in rsa_pki3.chain]


def test_signing_time_outside_validity(rsa_pki: TestPKI) -> None:
    when = rsa_pki.leaf_cert.not_valid_before - timedelta(days=2)
    der = sign_detached(DATA, rsa_pki.signer(), signed_attributes=True, signing_time=when)
    result = verify_detached(der, DATA, trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert result.intact and not result.valid
    assert result.reason is not None and result.reason.startswith("signing time")
    relaxed = verify_detached(
        der, DATA, trust=TrustStore(roots=[rsa_pki.root_cert]), policy=VerifyPolicy(check_signing_time=False)
    )
    assert relaxed.valid


def _attr(type_: str, value: object) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": type_, "values": [value]})


def test_signed_attributes_are_verified_as_received_not_re_encoded(rsa_pki: TestPKI) -> None:
    """RFC 5652 clause 5.4: the signature covers the SET OF as the signer encoded it.

    The attributes are written in an order that is *not* the DER SET OF order; a verifier
    that re-encodes (sorting) would compute other bytes and reject a genuine signature.
    """
    from ezhifu.crypto.sm3 import hash_data

    items = [
        _attr("message_digest", hash_data("sha256", DATA)),
        _attr("content_type", OID_DATA),
        _attr("signing_time", cms.Time({"utc_time": datetime.now(UTC).replace(microsecond=0)})),
    ]
    body = b"".join(item.dump() for item in items)
    set_bytes = b"\x31" + _len(len(body)) + body
    canonical = b"\x31" + _len(len(body)) + b"".join(sorted(item.dump() for item in items))
    assert canonical != set_bytes  # the order really is non-canonical
    signer = rsa_pki.signer()
    signature = signer.sign(set_bytes)
    signed_attrs = cms.CMSAttributes.load(set_bytes)
    cert = rsa_pki.leaf_cert
    si = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}}
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
            "signature": signature,
        }
    )
    sd = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "data"},
            "certificates": [cms.CertificateChoices({"certificate": cert})],
            "signer_infos": [si],
        }
    )
    der = cms.ContentInfo({"content_type": "signed_data", "content": sd}).dump()
    assert set_bytes[1:] in der  # the unsorted attributes travel as written
    result = verify_detached(der, DATA, trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert result.valid, result.reason
    assert result.signed_attributes


def test_message_digest_mismatch_reason(rsa_pki: TestPKI) -> None:
    der = sign_detached(DATA, rsa_pki.signer(), signed_attributes=True)
    result = verify_detached(der, DATA + b"A", trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert not result.intact
    assert (
        result.reason
        == "message-digest attribute does not match the digest of the voucher text (content changed)"
    )


def test_rsa_content_change_and_wrong_key_have_distinct_reasons(
    rsa_pki: TestPKI, mismatched_signer: object
) -> None:
    trust = TrustStore(roots=[rsa_pki.root_cert])
    der = sign_detached(DATA, rsa_pki.signer())
    changed = verify_detached(der, DATA[:-1] + b"B", trust=trust)
    assert not changed.intact
    assert changed.reason == (
        "signed content differs from the voucher text (the signature is genuine for other content)"
    )
    other_cert, _ = rsa_pki.issue_leaf("someone else")
    swapped = sign_detached(DATA, mismatched_signer(rsa_pki, other_cert))  # type: ignore[operator]
    wrong = verify_detached(swapped, DATA, trust=trust)
    assert not wrong.intact
    assert wrong.reason is not None and wrong.reason.startswith(
        "signature value does not verify with the signer certificate's public key"
    )
    assert wrong.reason != changed.reason


def test_sm2_raw_signature_value_refused(sm2_pki: TestPKI) -> None:
    """GB/T 35276 clause 7.3 DER only; raw r||s (64 bytes) is refused like OpenSSL and BC do."""
    der = sign_detached(DATA, sm2_pki.signer(), oid_style="pkcs7")
    content_info = cms.ContentInfo.load(der)
    signer_info = content_info["content"]["signer_infos"][0]
    r, s = der_to_rs(signer_info["signature"].native)
    signer_info["signature"] = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    rebuilt = content_info.dump(force=True)
    result = verify_detached(rebuilt, DATA, trust=TrustStore(roots=[sm2_pki.root_cert]))
    assert not result.intact
    assert result.reason is not None and "raw 64-byte r||s" in result.reason


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


# --------------------------------------------------------------------- strict parsing


@pytest.mark.parametrize(
    ("der", "expected"),
    [
        (b"", "CMS is empty"),
        (b"garbage", "CMS is not a well-formed SignedData ContentInfo"),
        (b"\x30\x03\x06\x01\x00", "CMS is not a well-formed SignedData ContentInfo"),
    ],
)
def test_garbage_is_reported(rsa_pki: TestPKI, der: bytes, expected: str) -> None:
    result = verify_detached(der, DATA, trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert not result.intact and not result.valid
    assert result.reason is not None and result.reason.startswith(expected)


def test_trailing_bytes_and_oversize(rsa_pki: TestPKI) -> None:
    trust = TrustStore(roots=[rsa_pki.root_cert])
    der = sign_detached(DATA, rsa_pki.signer())
    trailing = verify_detached(der + b"\x00", DATA, trust=trust)
    assert not trailing.intact
    assert trailing.reason is not None and "well-formed" in trailing.reason
    big = verify_detached(der, DATA, trust=trust, max_bytes=len(der) - 1)
    assert big.reason == f"CMS of {len(der)} bytes exceeds the limit of {len(der) - 1} bytes"


def test_every_truncation_fails_cleanly(rsa_pki: TestPKI) -> None:
    trust = TrustStore(roots=[rsa_pki.root_cert])
    der = sign_detached(DATA, rsa_pki.signer())
    for cut in range(0, len(der), 7):
        result = verify_detached(der[:cut], DATA, trust=trust)
        assert not result.intact and result.reason


def test_not_signed_data(rsa_pki: TestPKI) -> None:
    der = cms.ContentInfo({"content_type": "data", "content": b"x"}).dump()
    result = verify_detached(der, DATA, trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert not result.intact and result.reason


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=400))
def test_random_bytes_never_raise(rsa_pki: TestPKI, blob: bytes) -> None:
    result = verify_detached(blob, DATA, trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert not result.valid and result.reason


@pytest.fixture(scope="module")
def rsa_cms(rsa_pki: TestPKI) -> bytes:
    return sign_detached(DATA, rsa_pki.signer())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_bit_flips_never_raise_and_never_pass_silently(
    rsa_pki: TestPKI, rsa_cms: bytes, position: int, bit: int
) -> None:
    trust = TrustStore(roots=[rsa_pki.root_cert])
    der = bytearray(rsa_cms)
    der[position % len(der)] ^= 1 << bit
    result = verify_detached(bytes(der), DATA, trust=trust)
    # A flip may land in a part no check depends on (e.g. an unused bit of a certificate
    # extension), so validity is possible; but the verdict is always explained.
    assert result.valid or result.reason


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=300), attrs=st.booleans())
def test_round_trip_property(rsa_pki: TestPKI, data: bytes, attrs: bool) -> None:
    trust = TrustStore(roots=[rsa_pki.root_cert])
    der = sign_detached(data, rsa_pki.signer(), signed_attributes=attrs)
    assert verify_detached(der, data, trust=trust).valid
    assert not verify_detached(der, data + b"\n", trust=trust).intact


def test_signing_time_after_2049_uses_generalized_time(rsa_pki: TestPKI) -> None:
    """RFC 5652 clause 11.3: UTCTime up to 2049, GeneralizedTime from 2050."""
    when = datetime(2051, 3, 4, 5, 6, 7, tzinfo=UTC)
    der = sign_detached(DATA, rsa_pki.signer(), signed_attributes=True, signing_time=when)
    attrs = _signed_data(der)["signer_infos"][0]["signed_attrs"]
    (time_attr,) = [a for a in attrs if a["type"].native == "signing_time"]
    assert time_attr["values"][0].name == "generalized_time"
    policy = VerifyPolicy(check_signing_time=False)
    result = verify_detached(der, DATA, trust=TrustStore(roots=[rsa_pki.root_cert]), policy=policy)
    assert result.valid and result.signing_time == when


def test_require_trusted_false_reports_but_accepts(rsa_pki: TestPKI) -> None:
    der = sign_detached(DATA, rsa_pki.signer())
    result = verify_detached(der, DATA, trust=TrustStore(), policy=VerifyPolicy(require_trusted=False))
    assert result.valid and result.intact and not result.trusted
    assert result.chain is not None and result.chain.reason is not None
    assert result.checks[-1][0] == "chain" and result.checks[-1][1].startswith("not trusted")


def test_signer_certificate_from_the_trust_store_when_not_embedded(rsa_pki: TestPKI) -> None:
    """A CMS without certificates still verifies when the signer's certificate is pinned."""
    content_info = cms.ContentInfo.load(sign_detached(DATA, rsa_pki.signer()))
    signed_data = content_info["content"]
    bare = cms.SignedData(
        {
            "version": signed_data["version"],
            "digest_algorithms": signed_data["digest_algorithms"],
            "encap_content_info": signed_data["encap_content_info"],
            "signer_infos": signed_data["signer_infos"],
        }
    )
    der = cms.ContentInfo({"content_type": "signed_data", "content": bare}).dump()
    assert verify_detached(der, DATA, trust=TrustStore(pinned=[rsa_pki.leaf_cert])).valid
    missing = verify_detached(der, DATA, trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert not missing.intact
    assert missing.reason is not None and missing.reason.startswith("signer certificate (issuer ")
    assert "is neither embedded nor in the trust store" in missing.reason


def test_naive_validation_time_is_utc(rsa_pki: TestPKI) -> None:
    der = sign_detached(DATA, rsa_pki.signer())
    naive = datetime.now(UTC).replace(tzinfo=None)
    assert verify_detached(der, DATA, trust=TrustStore(roots=[rsa_pki.root_cert]), at=naive).valid


def test_misuse_raises(rsa_pki: TestPKI) -> None:
    der = sign_detached(DATA, rsa_pki.signer())
    with pytest.raises(InvalidInput, match="trust must be a TrustStore"):
        verify_detached(der, DATA, trust=[rsa_pki.root_cert])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="data must be bytes"):
        verify_detached(der, DATA.decode(), trust=TrustStore())  # type: ignore[arg-type]
