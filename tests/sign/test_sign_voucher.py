"""Signing VoucherBody elements (spec.md §5.3): what is signed, SN, positions, several signatures."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from asn1crypto import cms, x509

from ezhifu.document.envelope import Envelope
from ezhifu.errors import EzhifuError, InvalidInput, PositionAlreadySigned, SigningError
from ezhifu.pki.certs import cert_info
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.sign import sign_body, sign_envelope, verify_detached
from ezhifu.testing.pki import TestPKI


def test_signature_covers_the_exact_base64_text(envelope: Envelope, rsa_pki: TestPKI) -> None:
    body = envelope.bodies[0]
    text_before = body.voucher_b64
    element = sign_body(body, rsa_pki.signer(), "cz_dwfz")
    assert body.voucher_b64 == text_before
    assert body.signatures == [element]
    assert element.no == "cz_dwfz"
    assert element.sn == format(rsa_pki.leaf_cert.serial_number, "x")
    assert element.sn == element.sn.lower()
    der = base64.b64decode(element.value)
    trust = TrustStore(roots=[rsa_pki.root_cert])
    assert verify_detached(der, text_before.encode("ascii"), trust=trust).valid
    # not the decoded GBK XML (spec.md §5.3)
    assert not verify_detached(der, body.voucher_xml, trust=trust).intact
    # detached: the voucher is not inside the CMS
    sd = cms.ContentInfo.load(der)["content"]
    assert sd["encap_content_info"]["content"].native is None


def test_several_signatures_leave_text_and_others_untouched(
    envelope: Envelope, rsa_pki: TestPKI, sm2_pki: TestPKI
) -> None:
    body = envelope.bodies[0]
    text = body.voucher_b64
    first = sign_body(body, rsa_pki.signer(), "cz_dwfz")
    snapshot = (first.no, first.sn, first.value)
    second = sign_body(body, sm2_pki.signer(), "cz_jb")
    assert body.voucher_b64 == text
    assert [(s.no, s.sn, s.value) for s in body.signatures] == [
        snapshot,
        (second.no, second.sn, second.value),
    ]
    # the written envelope round-trips the text and both signatures byte for byte
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again.bodies[0].voucher_b64 == text
    assert [(s.no, s.sn, s.value) for s in again.bodies[0].signatures] == [
        (s.no, s.sn, s.value) for s in body.signatures
    ]


def test_position_already_signed_is_refused(envelope: Envelope, rsa_pki: TestPKI) -> None:
    body = envelope.bodies[0]
    sign_body(body, rsa_pki.signer(), "cz_dwfz")
    with pytest.raises(PositionAlreadySigned, match="cz_dwfz"):
        sign_body(body, rsa_pki.signer(), "cz_dwfz")
    assert len(body.signatures) == 1
    with pytest.raises(InvalidInput):
        sign_body(body, rsa_pki.signer(), " padded ")


def test_sign_envelope_all_or_one(make_envelope: Callable[..., Envelope], rsa_pki: TestPKI) -> None:
    env = make_envelope(3)
    made = sign_envelope(env, rsa_pki.signer(), "cz_dwfz")
    assert len(made) == 3 and all(len(b.signatures) == 1 for b in env.bodies)
    env = make_envelope(3)
    target = env.bodies[1].voucher_no
    made = sign_envelope(env, rsa_pki.signer(), "cz_dwfz", voucher_no=target)
    assert len(made) == 1
    assert [len(b.signatures) for b in env.bodies] == [0, 1, 0]
    with pytest.raises(InvalidInput, match="no VoucherBody with VoucherNo"):
        sign_envelope(env, rsa_pki.signer(), "cz_dwfz", voucher_no="nope")


def test_sign_envelope_is_all_or_nothing(make_envelope: Callable[..., Envelope], rsa_pki: TestPKI) -> None:
    env = make_envelope(2)
    sign_body(env.bodies[1], rsa_pki.signer(), "cz_dwfz")
    with pytest.raises(PositionAlreadySigned):
        sign_envelope(env, rsa_pki.signer(), "cz_dwfz")
    assert [len(b.signatures) for b in env.bodies] == [0, 1]


def test_refuses_to_sign_a_relabelled_body(envelope: Envelope, rsa_pki: TestPKI) -> None:
    body = envelope.bodies[0]
    body.voucher_no = "PLACEHOLDER"
    with pytest.raises(SigningError, match="VoucherNo='PLACEHOLDER'"):
        sign_body(body, rsa_pki.signer(), "cz_dwfz")
    assert body.signatures == []
    element = sign_body(body, rsa_pki.signer(), "cz_dwfz", check_consistency=False)
    assert body.signatures == [element]


class _CertificateOf:
    """A signer (the Signer protocol) whose certificate is another object than the key's own:
    sign_body needs the certificate only for SN and the CMS ``sid``/``certificates``."""

    def __init__(self, signer: SoftwareSigner, certificate: x509.Certificate) -> None:
        self._signer, self.certificate = signer, certificate
        self.algorithm = signer.algorithm

    def sign(self, data: bytes) -> bytes:
        return self._signer.sign(data)


def test_sn_is_the_serial_in_hex_also_for_a_certificate_the_describer_cannot_read(
    envelope: Envelope, sm2_pki: TestPKI
) -> None:
    der = bytearray(sm2_pki.leaf_cert.dump())
    not_before = sm2_pki.leaf_cert["tbs_certificate"]["validity"]["not_before"].chosen.contents
    at = bytes(der).index(not_before)
    der[at : at + 2] = b"AB"  # an UTCTime that is no time: the description fails, the serial reads
    odd = x509.Certificate.load(bytes(der))
    with pytest.raises(EzhifuError):
        cert_info(odd)
    signer = _CertificateOf(sm2_pki.signer(), odd)
    first = sign_body(envelope.bodies[0], signer, "cz_dwfz")
    assert first.sn == format(sm2_pki.leaf_cert.serial_number, "x")
    second = sign_body(envelope.bodies[0], sm2_pki.signer(), "cz_dwsh")  # described, kept
    assert second.sn == first.sn == cert_info(sm2_pki.signer().certificate).serial_hex  # type: ignore[arg-type]
