"""The performance paths of ezhifu.sign.cms and ezhifu.crypto (issue 9) change no byte and no check.

* The CMS template (``_template``) writes exactly what asn1crypto writes field by field
  (``_assemble``), for every signer kind, OID style and signature length (property test), and
  ``sign_detached`` does over hypothesis-drawn content, signers, chains and options, also once
  the template keeps the DER before the signature value of a length met before.
* Shared certificates (``shared_certificate``) are keyed by the exact DER; garbage is refused
  every time, not cached.
* The public-key cache of ``verify_signature`` returns the key of exactly those bytes and still
  refuses a signature under another key.
* The cached SignerIdentifier decoding still reports a malformed identifier as a parse failure.
"""

from __future__ import annotations

import pytest
from asn1crypto import core
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhifu.errors import InvalidSignature
from ezhifu.pki.certs import shared_certificate
from ezhifu.pki.signer import verify_signature
from ezhifu.pki.trust import TrustStore
from ezhifu.sign import cms
from ezhifu.sign.cms import sign_detached
from ezhifu.sign.cms_verify import verify_detached
from ezhifu.testing.pki import TestPKI, make_pki

DATA = b"PFZvdWNoZXI+dGVzdDwvVm91Y2hlcj4="


def _signature_of(der: bytes) -> bytes:
    # read through the module's own ContentInfo class (the GB/T 35275 OIDs are not in asn1crypto)
    parsed = cms._SignedContentInfo.load(der, strict=True)
    value: bytes = parsed["content"]["signer_infos"][0]["signature"].native
    return value


@pytest.mark.parametrize(
    ("pki_name", "style", "sm2_oid"),
    [
        ("sm2_pki", "gbt35275", "sm2-with-sm3"),
        ("sm2_pki", "pkcs7", "sm2-1"),
        ("rsa_pki", "pkcs7", "sm2-with-sm3"),
        ("sm2_pki3", "gbt35275", "sm2-with-sm3"),
    ],
)
def test_template_output_equals_asn1crypto_encoding(
    request: pytest.FixtureRequest, pki_name: str, style: str, sm2_oid: str
) -> None:
    pki: TestPKI = request.getfixturevalue(pki_name)
    chain = [pki.intermediate_cert] if pki.intermediate_cert is not None else []
    der = sign_detached(DATA, pki.signer(), oid_style=style, sm2_signature_oid=sm2_oid, chain=chain)  # type: ignore[arg-type]
    signature = _signature_of(der)
    signer = pki.signer()
    kind = signer.algorithm.key_kind
    sig_alg: dict[str, object] = (
        {"algorithm": cms.OID_RSA_ENCRYPTION, "parameters": core.Null()}
        if kind == "rsa"
        else {"algorithm": "1.2.156.10197.1.501" if sm2_oid == "sm2-with-sm3" else "1.2.156.10197.1.301.1"}
    )
    certificates = [pki.leaf_cert, *chain]
    digest_oid = cms._DIGEST_OID_BY_NAME[signer.algorithm.digest_name]
    content_oid = cms.OID_GBT_DATA if style == "gbt35275" else cms.OID_DATA
    signed_data_oid = cms.OID_GBT_SIGNED_DATA if style == "gbt35275" else cms.OID_SIGNED_DATA
    reference = cms._assemble(
        certificates, digest_oid, sig_alg, content_oid, signed_data_oid, signature, None
    )
    assert der == reference
    result = verify_detached(der, DATA, trust=TrustStore([pki.root_cert]))
    assert result.valid, result.reason


@settings(max_examples=60, deadline=None)
@given(signature=st.binary(min_size=0, max_size=700))
def test_template_matches_asn1crypto_for_any_signature_length(sm2_pki: TestPKI, signature: bytes) -> None:
    """Lengths cross the short/long DER length forms (127/128, 255/256 bytes) in every wrapper."""
    cert_der = sm2_pki.leaf_cert.dump()
    template = cms._template(
        (cert_der,),
        "1.2.156.10197.1.401",
        "1.2.156.10197.1.501",
        False,
        cms.OID_GBT_DATA,
        cms.OID_GBT_SIGNED_DATA,
    )
    reference = cms._assemble(
        [sm2_pki.leaf_cert],
        "1.2.156.10197.1.401",
        {"algorithm": "1.2.156.10197.1.501"},
        cms.OID_GBT_DATA,
        cms.OID_GBT_SIGNED_DATA,
        signature,
        None,
    )
    assert template.assemble(signature) == reference


def test_signed_attributes_path_still_verifies(sm2_pki: TestPKI) -> None:
    der = sign_detached(DATA, sm2_pki.signer(), signed_attributes=True)
    result = verify_detached(der, DATA, trust=TrustStore([sm2_pki.root_cert]))
    assert result.valid and result.signed_attributes


def test_shared_certificate_is_keyed_by_exact_bytes(sm2_pki: TestPKI, rsa_pki: TestPKI) -> None:
    der = sm2_pki.leaf_cert.dump()
    first = shared_certificate(bytes(der))
    assert shared_certificate(bytes(der)) is first
    assert first.dump() == der
    other = shared_certificate(rsa_pki.leaf_cert.dump())
    assert other is not first
    assert other.serial_number == rsa_pki.leaf_cert.serial_number
    # one flipped byte inside the signature value is another certificate, not the cached one
    flipped = bytearray(der)
    flipped[-1] ^= 0x01
    assert shared_certificate(bytes(flipped)) is not first


def test_shared_certificate_refuses_garbage_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValueError):
            shared_certificate(b"\x30\x03\x02\x01\x01trailing")
    with pytest.raises(Exception, match="bytes"):
        shared_certificate("not bytes")


def test_cached_public_key_still_refuses_another_key(sm2_pki: TestPKI) -> None:
    other = make_pki("sm2")
    signature = sm2_pki.signer().sign(DATA)
    verify_signature(sm2_pki.leaf_cert, DATA, signature)
    verify_signature(sm2_pki.leaf_cert, DATA, signature)  # served from the cache
    with pytest.raises(InvalidSignature):
        verify_signature(other.leaf_cert, DATA, signature)
    with pytest.raises(InvalidSignature):
        verify_signature(sm2_pki.leaf_cert, DATA + b"x", signature)


def test_malformed_signer_identifier_is_still_a_parse_failure(sm2_pki: TestPKI) -> None:
    der = bytearray(sign_detached(DATA, sm2_pki.signer()))
    trust = TrustStore([sm2_pki.root_cert])
    assert verify_detached(bytes(der), DATA, trust=trust).valid  # fills the sid cache
    serial = sm2_pki.leaf_cert.serial_number
    serial_der = core.Integer(serial).dump()
    # the last occurrence of the serial INTEGER is the one in the SignerInfo's sid
    at = bytes(der).rfind(serial_der)
    assert at > 0
    der[at] = 0x04  # INTEGER -> OCTET STRING: a SignerIdentifier that does not decode
    result = verify_detached(bytes(der), DATA, trust=trust)
    assert not result.intact
    assert result.checks[-1][0] == "parse"


_PKIS = ("sm2_pki", "rsa_pki", "sm2_pki3", "rsa_pki3")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    index=st.sampled_from(range(len(_PKIS))),
    data=st.binary(max_size=4000),
    gbt=st.booleans(),
    sm2_oid=st.sampled_from(["sm2-with-sm3", "sm2-1"]),
    with_chain=st.booleans(),
    repeat_leaf=st.booleans(),
)
def test_sign_detached_writes_what_asn1crypto_writes(
    request: pytest.FixtureRequest,
    index: int,
    data: bytes,
    gbt: bool,
    sm2_oid: str,
    with_chain: bool,
    repeat_leaf: bool,
) -> None:
    pki: TestPKI = request.getfixturevalue(_PKIS[index])
    signer = pki.signer()
    kind = signer.algorithm.key_kind
    style = "gbt35275" if gbt and kind == "sm2" else "pkcs7"
    chain = [pki.intermediate_cert] if with_chain and pki.intermediate_cert is not None else []
    if repeat_leaf:
        chain.insert(0, pki.leaf_cert)  # the signer's own certificate is embedded once
    for _ in range(2):  # the second signature of a length goes through the kept prefix
        der = sign_detached(data, signer, oid_style=style, sm2_signature_oid=sm2_oid, chain=chain)  # type: ignore[arg-type]
        sig_alg: dict[str, object] = (
            {"algorithm": cms.OID_RSA_ENCRYPTION, "parameters": core.Null()}
            if kind == "rsa"
            else {"algorithm": cms.OID_SM2_WITH_SM3 if sm2_oid == "sm2-with-sm3" else cms.OID_SM2_SIGN}
        )
        certificates = [pki.leaf_cert, *(c for c in chain if c.dump() != pki.leaf_cert.dump())]
        reference = cms._assemble(
            certificates,
            cms._DIGEST_OID_BY_NAME[signer.algorithm.digest_name],
            sig_alg,
            cms.OID_GBT_DATA if style == "gbt35275" else cms.OID_DATA,
            cms.OID_GBT_SIGNED_DATA if style == "gbt35275" else cms.OID_SIGNED_DATA,
            _signature_of(der),
            None,
        )
        assert der == reference
    trust = TrustStore([pki.root_cert], [c for c in [pki.intermediate_cert] if c is not None])
    assert verify_detached(der, data, trust=trust).valid


def test_template_keeps_a_bounded_number_of_prefixes(sm2_pki: TestPKI) -> None:
    template = cms._template(
        (sm2_pki.leaf_cert.dump(),), "1.2.156.10197.1.401", "1.2.156.10197.1.501", False,
        cms.OID_GBT_DATA, cms.OID_GBT_SIGNED_DATA,
    )  # fmt: skip
    for size in range(0, 300, 7):
        signature = bytes([size % 251]) * size  # crosses the short/long length forms
        assert template.assemble(signature) == template.encode(signature)
        assert template.assemble(signature) == template.encode(signature)  # kept or not: the same
    assert len(template.prefixes) <= cms._PREFIXES_KEPT
