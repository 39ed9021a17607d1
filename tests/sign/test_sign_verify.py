"""Envelope verification (ezhifu.verify.envelope): bottom lines, consistency and negative controls.

Each tamper case must fail with its own reason (issue 4, "Must show").
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from ezhifu.document.envelope import Envelope, SignStampElement
from ezhifu.pki.trust import LEGACY_HINT, TrustStore, VerifyPolicy
from ezhifu.results import ItemResult
from ezhifu.sign import sign_body, sign_envelope
from ezhifu.testing.pki import TestPKI, make_pki
from ezhifu.verify.envelope import verify_body, verify_envelope

_BOTH = (
    "digest sha1 refused by policy and RSA key of 1024 bits refused by policy (minimum 2048) "
    f"({LEGACY_HINT})"
)


def _signed(envelope: Envelope, pki: TestPKI, position: str = "cz_dwfz", **opts: Any) -> Envelope:
    sign_envelope(envelope, pki.signer(), position, **opts)
    return Envelope.from_bytes(envelope.to_bytes())


def _reasons(result: Any) -> list[str | None]:
    return [item.reason for body in result.bodies for item in body.items]


@pytest.mark.parametrize("fixture", ["rsa_pki", "sm2_pki"])
@pytest.mark.parametrize("attrs", [False, True])
def test_signed_envelope_verifies(
    request: pytest.FixtureRequest, envelope: Envelope, fixture: str, attrs: bool
) -> None:
    pki: TestPKI = request.getfixturevalue(fixture)
    signed = _signed(envelope, pki, signed_attributes=attrs)
    result = verify_envelope(signed.to_bytes(), trust=TrustStore(roots=[pki.root_cert]))
    assert result.valid, result.to_json()
    assert len(result.bodies) == 2
    for body in result.bodies:
        (item,) = body.items
        assert (item.kind, item.position, item.valid, item.intact, item.trusted) == (
            "signature",
            "cz_dwfz",
            True,
            True,
            True,
        )
        assert item.reason is None
        assert item.signer is not None and item.signer.serial_hex == format(pki.leaf_cert.serial_number, "x")
        assert item.signature_algorithm == ("sm2-sm3" if pki.kind == "sm2" else "rsa-sha256")
        assert (item.signing_time is not None) is attrs
        assert ("sn", "ok") in item.checks
    data = result.to_dict()
    assert data["valid"] is True
    assert set(data["bodies"][0]["items"][0]) >= {"kind", "position", "valid", "reason", "signer"}


def test_sm2_envelope_with_both_providers(envelope: Envelope, sm2_pki: TestPKI, sm2_provider: str) -> None:
    signed = _signed(envelope, sm2_pki)
    assert verify_envelope(signed, trust=TrustStore(roots=[sm2_pki.root_cert])).valid


def test_unsigned_body_is_not_valid(envelope: Envelope, rsa_pki: TestPKI) -> None:
    result = verify_envelope(envelope, trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert not result.valid
    assert result.bodies[0].reasons == ("no signature or seal on this voucher",)


def test_unreadable_envelope_is_a_result_not_an_exception(rsa_pki: TestPKI) -> None:
    result = verify_envelope(b"<MOF><VoucherCount>1", trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert not result.valid and result.bodies == ()
    assert result.problems and result.problems[0].startswith("envelope cannot be read")


# ---------------------------------------------------------------- negative controls


@pytest.fixture
def signed_pair(envelope: Envelope, rsa_pki: TestPKI) -> Envelope:
    return _signed(envelope, rsa_pki)


def _verify(env: Envelope, pki: TestPKI, **kw: Any) -> Any:
    return verify_envelope(env, trust=TrustStore(roots=[pki.root_cert]), **kw)


def test_signature_moved_to_another_voucher(signed_pair: Envelope, rsa_pki: TestPKI) -> None:
    a, b = signed_pair.bodies
    a.signatures, b.signatures = b.signatures, a.signatures
    result = _verify(signed_pair, rsa_pki)
    assert not result.valid
    first = result.bodies[0].items[0]
    assert not first.intact
    assert first.reason == (
        "signature was made over the text of another voucher "
        f"(VoucherBody 2, VoucherNo {b.voucher_no!r}), not this one"
    )


def test_another_vouchers_text_alone(signed_pair: Envelope, rsa_pki: TestPKI) -> None:
    """Without the sibling in the envelope: RSA recovery still says the content changed."""
    a, b = signed_pair.bodies
    a.voucher_b64 = b.voucher_b64
    result = verify_body(a, trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert result.items[0].reason == (
        "signed content differs from the voucher text (the signature is genuine for other content)"
    )


def test_trailing_newline(signed_pair: Envelope, rsa_pki: TestPKI) -> None:
    body = signed_pair.bodies[0]
    body.voucher_b64 += "\n"
    result = _verify(signed_pair, rsa_pki)
    item = result.bodies[0].items[0]
    assert not item.valid and not item.intact
    assert item.reason is not None and item.reason.startswith(
        "the <Voucher> text carries whitespace (e.g. a trailing newline)"
    )
    assert result.bodies[1].valid


def test_flipped_bit_in_the_signed_text(signed_pair: Envelope, rsa_pki: TestPKI) -> None:
    body = signed_pair.bodies[0]
    raw = bytearray(base64.b64decode(body.voucher_b64))
    raw[-20] ^= 0x01
    body.voucher_b64 = base64.b64encode(bytes(raw)).decode("ascii")
    item = _verify(signed_pair, rsa_pki).bodies[0].items[0]
    assert not item.intact
    assert (
        item.reason
        == "signed content differs from the voucher text (the signature is genuine for other content)"
    )


def test_flipped_bit_in_the_signature_value(signed_pair: Envelope, rsa_pki: TestPKI) -> None:
    element = signed_pair.bodies[0].signatures[0]
    der = bytearray(base64.b64decode(element.value))
    der[-5] ^= 0x01  # inside the RSA signature value, the last field of the SignerInfo
    signed_pair.bodies[0].signatures[0] = dataclasses.replace(
        element, value=base64.b64encode(bytes(der)).decode()
    )
    item = _verify(signed_pair, rsa_pki).bodies[0].items[0]
    assert not item.intact
    assert item.reason is not None and item.reason.startswith(
        "signature value does not verify with the signer certificate's public key"
    )


def test_swapped_certificate(
    envelope: Envelope, rsa_pki: TestPKI, mismatched_signer: Callable[..., Any]
) -> None:
    other_cert, _ = rsa_pki.issue_leaf("a colleague")
    body = envelope.bodies[0]
    sign_body(body, mismatched_signer(rsa_pki, other_cert), "cz_dwfz")
    item = verify_body(body, trust=TrustStore(roots=[rsa_pki.root_cert])).items[0]
    assert not item.intact
    assert item.signer is not None and item.signer.serial_hex == format(other_cert.serial_number, "x")
    assert (
        item.reason is not None
        and "(corrupted value, or the certificate does not belong to the signing key)" in item.reason
    )


def test_expired_certificate(envelope: Envelope, expired_pki: TestPKI) -> None:
    signed = _signed(envelope, expired_pki)
    item = _verify(signed, expired_pki).bodies[0].items[0]
    assert item.intact and not item.trusted and not item.valid
    assert item.reason is not None and " expired at " in item.reason


def test_untrusted_ca_with_the_same_subject(envelope: Envelope, rsa_pki: TestPKI) -> None:
    impostor = make_pki("rsa2048")
    assert impostor.root_cert.subject == rsa_pki.root_cert.subject
    signed = _signed(envelope, impostor)
    item = _verify(signed, rsa_pki).bodies[0].items[0]
    assert item.intact and not item.trusted
    assert item.reason is not None and "a different CA with the same name" in item.reason


def test_relabelled_envelope_is_a_body_problem_while_the_cms_is_intact(
    signed_pair: Envelope, rsa_pki: TestPKI
) -> None:
    body = signed_pair.bodies[0]
    real = body.voucher_no
    body.voucher_no = "W0024180000PLACEHOLDER"
    result = _verify(Envelope.from_bytes(signed_pair.to_bytes()), rsa_pki)
    first = result.bodies[0]
    assert not first.valid and not result.valid
    assert all(i.valid and i.intact and i.trusted for i in first.items)
    assert first.problems == (
        f"envelope attribute VoucherNo='W0024180000PLACEHOLDER' differs from the signed voucher's "
        f"VoucherNo={real!r} (envelope attributes are not signed, spec.md §5.5)",
    )
    assert result.bodies[1].valid


def test_sn_mismatch(signed_pair: Envelope, rsa_pki: TestPKI) -> None:
    element = signed_pair.bodies[0].signatures[0]
    signed_pair.bodies[0].signatures[0] = dataclasses.replace(element, sn="3f38e4aaee0c2acb")
    item = _verify(signed_pair, rsa_pki).bodies[0].items[0]
    assert item.intact and item.trusted and not item.valid
    assert item.reason == (
        f"SN attribute '3f38e4aaee0c2acb' does not match the signer certificate serial {element.sn}"
    )


def test_unknown_position(signed_pair: Envelope, rsa_pki: TestPKI) -> None:
    vt = signed_pair.bodies[0].vt_code
    ok = _verify(signed_pair, rsa_pki, positions={vt: {"cz_dwfz", "cz_dwgz"}})
    assert ok.valid
    result = _verify(signed_pair, rsa_pki, positions={vt: {"cz_dwgz"}})
    item = result.bodies[0].items[0]
    assert item.intact and item.trusted and not item.valid
    assert item.reason == f"position 'cz_dwfz' is not configured for VtCode '{vt}' (configured: cz_dwgz)"
    other = _verify(signed_pair, rsa_pki, positions={"9999": {"cz_dwfz"}})
    assert other.bodies[0].items[0].reason == (
        f"no positions are configured for VtCode '{vt}', so position 'cz_dwfz' is unknown"
    )


def test_pinned_partner_certificate(signed_pair: Envelope, rsa_pki: TestPKI) -> None:
    result = verify_envelope(signed_pair, trust=TrustStore(pinned=[rsa_pki.leaf_cert]))
    assert result.valid, result.to_json()
    assert not verify_envelope(signed_pair, trust=TrustStore()).valid


def test_all_negative_reasons_are_distinct(
    make_envelope: Callable[..., Envelope], rsa_pki: TestPKI, expired_pki: TestPKI, mismatched_signer: Any
) -> None:
    """The tamper cases above, side by side: no two share a reason."""
    trust = TrustStore(roots=[rsa_pki.root_cert, expired_pki.root_cert])
    reasons: dict[str, str] = {}

    def run(name: str, env: Envelope, **kw: Any) -> None:
        result = verify_envelope(env, trust=trust, **kw)
        body = result.bodies[0]
        reason = body.problems[0] if body.problems else next(i.reason for i in body.items if not i.valid)
        assert reason is not None
        reasons[name] = reason

    env = _signed(make_envelope(2), rsa_pki)
    env.bodies[0].signatures, env.bodies[1].signatures = env.bodies[1].signatures, env.bodies[0].signatures
    run("moved", env)
    env = _signed(make_envelope(2), rsa_pki)
    env.bodies[0].voucher_b64 += "\n"
    run("newline", env)
    env = _signed(make_envelope(2), rsa_pki)
    raw = bytearray(base64.b64decode(env.bodies[0].voucher_b64))
    raw[-20] ^= 1
    env.bodies[0].voucher_b64 = base64.b64encode(bytes(raw)).decode()
    run("flipped", env)
    env = make_envelope(1)
    sign_body(env.bodies[0], mismatched_signer(rsa_pki, rsa_pki.issue_leaf("x")[0]), "cz_dwfz")
    run("swapped", env)
    run("expired", _signed(make_envelope(1), expired_pki))
    run("impostor", _signed(make_envelope(1), make_pki("rsa2048")))
    env = _signed(make_envelope(1), rsa_pki)
    env.bodies[0].voucher_no = "X"
    run("relabelled", env)
    env = _signed(make_envelope(1), rsa_pki)
    env.bodies[0].signatures[0] = dataclasses.replace(env.bodies[0].signatures[0], sn="01")
    run("sn", env)
    env = _signed(make_envelope(1), rsa_pki)
    run("position", env, positions={env.bodies[0].vt_code: {"elsewhere"}})
    assert len(set(reasons.values())) == len(reasons), reasons


def test_legacy_sha1_rsa1024(envelope: Envelope, weak_pki: TestPKI) -> None:
    from ezhifu.crypto import SignatureAlgorithm
    from ezhifu.pki.signer import SoftwareSigner

    signer = SoftwareSigner(
        weak_pki.leaf_key, weak_pki.leaf_cert, algorithm=SignatureAlgorithm.RSA_SHA1, allow_weak=True
    )
    sign_envelope(envelope, signer, "cz_dwfz")
    trust = TrustStore(roots=[weak_pki.root_cert])
    assert verify_envelope(envelope, trust=trust, policy=VerifyPolicy.legacy()).valid
    refused = verify_envelope(envelope, trust=trust)
    item = refused.bodies[0].items[0]
    assert item.intact and not item.valid
    assert item.reason == _BOTH  # issue 15 finding 2: SHA-1 and RSA-1024 both named


def test_stamps_are_delegated_to_the_seal_verifier(signed_pair: Envelope, rsa_pki: TestPKI) -> None:
    body = signed_pair.bodies[0]
    body.stamps.append(
        SignStampElement(no="cz_dwgz", sn="0" * 32, value=base64.b64encode(b"\x30\x00").decode())
    )
    result = verify_body(body, trust=TrustStore(roots=[rsa_pki.root_cert]))
    seal_items = [i for i in result.items if i.kind == "seal"]
    assert len(seal_items) == 1
    (seal,) = seal_items
    assert isinstance(seal, ItemResult)
    assert seal.position == "cz_dwgz" and not seal.valid and seal.reason
    assert not result.valid
