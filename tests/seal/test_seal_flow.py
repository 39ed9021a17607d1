"""Seals made (v1, v4), applied to 5201 and 5214 vouchers, verified; each tamper fails with its reason."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import core
from seal_helpers import GIF_1X1, SealWorld

from ezhifu.document.envelope import Envelope, SignStampElement, VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import InvalidInput, PositionAlreadySigned, SealError
from ezhifu.pki.trust import TrustStore
from ezhifu.results import ItemResult
from ezhifu.seal.apply import (
    NotASealHolder,
    apply_seal,
    build_ses_signature,
    format_property_info,
    parse_property_info,
    voucher_data,
)
from ezhifu.seal.containers import parse_seal, parse_signature
from ezhifu.seal.detect import SealVersion, detect_version
from ezhifu.seal.make import make_seal
from ezhifu.seal.verify import verify_seal, verify_stamp

BodyFactory = Callable[[str], VoucherBody]


def failed_steps(result: ItemResult) -> list[str]:
    return [step for step, outcome in result.checks if outcome.startswith("failed")]


def stamp_der(stamp: SignStampElement) -> bytes:
    return base64.b64decode(stamp.value)


def with_der(stamp: SignStampElement, der: bytes) -> SignStampElement:
    return dataclasses.replace(stamp, value=base64.b64encode(der).decode("ascii"))


def manual_stamp(
    world: SealWorld, body: VoucherBody, seal: bytes, position: str, **kwargs: object
) -> SignStampElement:
    """A stamp built with the standard's signing step only (no policy), for negative tests."""
    signer = kwargs.pop("signer", world.holder.signer())
    der = build_ses_signature(
        seal,
        signer,  # type: ignore[arg-type]
        voucher_data(body),
        format_property_info(position, body.vt_code, body.voucher_no),
        **kwargs,  # type: ignore[arg-type]
    )
    element = SignStampElement(no=position, sn=parse_seal(seal).seal_id, value=base64.b64encode(der).decode())
    body.stamps.append(element)
    return element


@pytest.mark.parametrize("version", ["v1", "v4"])
@pytest.mark.parametrize("vt_code", ["5201", "5214"])
def test_make_apply_verify(world: SealWorld, body_factory: BodyFactory, version: str, vt_code: str) -> None:
    seal = world.seal(version)
    assert detect_version(seal) is SealVersion(version)
    assert parse_seal(seal).dump() == seal
    sv = verify_seal(seal, trust=world.trust)
    assert sv.valid, sv.reason
    body = body_factory(vt_code)
    stamp = apply_seal(body, seal, world.holder.signer(), "cz_dwgz")
    assert body.stamps == [stamp]
    assert (stamp.no, stamp.sn) == ("cz_dwgz", "0123456789ABCDEF0123456789ABCDEF")
    sig = parse_signature(stamp_der(stamp))
    assert sig.dump() == stamp_der(stamp)
    assert sig.seal.dump() == seal  # embedded byte for byte
    assert parse_property_info(sig.property_info) == {
        "position": "cz_dwgz",
        "vt": vt_code,
        "no": body.voucher_no,
    }
    result = verify_stamp(body, stamp, trust=world.trust)
    assert result.valid, result.reason
    assert (result.kind, result.position, result.intact, result.trusted) == ("seal", "cz_dwgz", True, True)
    assert result.seal_id == "0123456789ABCDEF0123456789ABCDEF"
    assert result.seal_name == "测试财政局国库支付业务专用章"
    assert result.signer is not None and "seal holder" in result.signer.subject
    assert result.digest_algorithm == "sm3"
    assert failed_steps(result) == []


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_stamped_envelope_round_trips_and_still_verifies(
    world: SealWorld, body_factory: BodyFactory, version: str
) -> None:
    body = body_factory("5201")
    apply_seal(body, world.seal(version), world.holder.signer(), "cz_dwgz")
    data = Envelope.build([body]).to_bytes()
    again = Envelope.from_bytes(data).bodies[0]
    result = verify_stamp(again, again.stamps[0], trust=world.trust)
    assert result.valid, result.reason


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_seal_expired_at_signing_time(world: SealWorld, body_factory: BodyFactory, version: str) -> None:
    seal = world.seal(
        version, valid_from=world.now - timedelta(days=10), valid_to=world.now - timedelta(days=5)
    )
    body = body_factory("5201")
    with pytest.raises(SealError, match="not valid at"):
        apply_seal(body, seal, world.holder.signer(), "cz_dwgz")
    stamp = manual_stamp(world, body, seal, "cz_dwgz", signing_time=world.now)
    result = verify_stamp(body, stamp, trust=world.trust)
    assert not result.valid
    # issue 13 item 2: checked at the verification time; the claimed timeInfo outside the
    # seal's window is a problem of its own.
    assert failed_steps(result) == ["seal-validity", "signing-time"]
    assert result.reason is not None and "expired at the verification time" in result.reason
    assert result.intact  # the cryptography holds; the seal was simply not valid then


def _broken_maker_signature(seal: bytes) -> bytes:
    """Flip one bit in the last byte of the maker's SM2 signature (s), keeping the DER well-formed."""
    out = bytearray(seal)
    out[-1] ^= 0x01
    return bytes(out)


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_maker_signature_broken(world: SealWorld, body_factory: BodyFactory, version: str) -> None:
    seal = _broken_maker_signature(world.seal(version))
    assert verify_seal(seal, trust=world.trust).maker_signature_ok is False
    body = body_factory("5214")
    with pytest.raises(SealError, match="maker's signature"):
        apply_seal(body, seal, world.holder.signer(), "cz_dwgz")
    stamp = manual_stamp(world, body, seal, "cz_dwgz")
    result = verify_stamp(body, stamp, trust=world.trust)
    assert failed_steps(result) == ["maker-signature"]
    assert result.reason is not None and result.reason.startswith("seal maker's signature does not verify")
    assert not result.intact and not result.valid


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_signer_not_a_holder(world: SealWorld, body_factory: BodyFactory, version: str) -> None:
    from ezhifu.pki.signer import SoftwareSigner

    cert, key = world.holder.issue_leaf("ezhifu seal holder outsider")
    outsider = SoftwareSigner(key, cert)
    seal = world.seal(version)
    body = body_factory("5201")
    with pytest.raises(NotASealHolder, match="not a holder certificate"):
        apply_seal(body, seal, outsider, "cz_dwgz")
    assert body.stamps == []
    stamp = manual_stamp(world, body, seal, "cz_dwgz", signer=outsider)
    result = verify_stamp(body, stamp, trust=world.trust)
    assert failed_steps(result) == ["holder"]
    assert result.reason is not None and "not among the holder certificates" in result.reason
    assert result.trusted  # the outsider's certificate chains fine: only the seal binding fails


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_data_changed(world: SealWorld, body_factory: BodyFactory, version: str) -> None:
    body = body_factory("5201")
    stamp = apply_seal(body, world.seal(version), world.holder.signer(), "cz_dwgz")
    other = VoucherBody.from_voucher(sample_voucher("5201", PayAmt="999999.99"))
    body.voucher_b64 = other.voucher_b64
    result = verify_stamp(body, stamp, trust=world.trust)
    assert failed_steps(result) == ["data-hash"]
    assert result.reason is not None and "data changed" in result.reason
    assert not result.intact


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_position_changed(world: SealWorld, body_factory: BodyFactory, version: str) -> None:
    body = body_factory("5214")
    stamp = apply_seal(body, world.seal(version), world.holder.signer(), "cz_dwgz")
    moved = dataclasses.replace(stamp, no="cz_dwsz")
    result = verify_stamp(body, moved, trust=world.trust)
    assert failed_steps(result) == ["position"]
    assert result.reason is not None and "stamp moved" in result.reason
    assert result.intact  # the bytes are untouched; the stamp is just in the wrong place


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_picture_swapped_inside_the_stamp(world: SealWorld, body_factory: BodyFactory, version: str) -> None:
    """Swapping the picture bytes in a stamp breaks the signer's signature over TBS_Sign."""
    body = body_factory("5201")
    stamp = apply_seal(body, world.seal(version), world.holder.signer(), "cz_dwgz")
    der = stamp_der(stamp)
    picture = parse_signature(der).seal.picture.data
    assert der.count(picture) == 1
    swapped = bytearray(picture)
    swapped[20] ^= 0xFF  # same length: the structure still parses
    result = verify_stamp(body, with_der(stamp, der.replace(picture, bytes(swapped))), trust=world.trust)
    assert failed_steps(result)[0] == "signature"
    assert "maker-signature" in failed_steps(result)
    assert result.reason is not None and result.reason.startswith(
        "signer's signature over TBS_Sign does not verify"
    )


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_picture_swapped_in_the_seal_and_restamped(
    world: SealWorld, body_factory: BodyFactory, version: str
) -> None:
    """A holder who swaps the seal picture and signs again is caught by the maker's signature."""
    seal = world.seal(version)
    picture = parse_seal(seal).picture.data
    tampered = bytearray(seal)
    start = seal.index(picture)
    tampered[start + 20] ^= 0xFF
    body = body_factory("5201")
    stamp = manual_stamp(world, body, bytes(tampered), "cz_dwgz")
    result = verify_stamp(body, stamp, trust=world.trust)
    assert failed_steps(result) == ["maker-signature"]
    assert result.reason is not None and result.reason.startswith("seal maker's signature does not verify")


def test_sn_changed(world: SealWorld, body_factory: BodyFactory) -> None:
    body = body_factory("5201")
    stamp = apply_seal(body, world.seal(), world.holder.signer(), "cz_dwgz")
    result = verify_stamp(body, dataclasses.replace(stamp, sn="FFFF"), trust=world.trust)
    assert failed_steps(result) == ["seal-id"]
    assert result.reason is not None and "is not the seal id" in result.reason


def test_stamp_copied_to_another_voucher(world: SealWorld, body_factory: BodyFactory) -> None:
    body = body_factory("5201")
    stamp = apply_seal(body, world.seal(), world.holder.signer(), "cz_dwgz")
    other = VoucherBody.from_voucher(sample_voucher("5201", seed=7))
    result = verify_stamp(other, stamp, trust=world.trust)
    assert "data-hash" in failed_steps(result)
    assert not result.valid


def test_untrusted_maker(world: SealWorld, body_factory: BodyFactory) -> None:
    body = body_factory("5201")
    stamp = apply_seal(body, world.seal(), world.holder.signer(), "cz_dwgz")
    result = verify_stamp(
        body, stamp, trust=TrustStore([world.holder.root_cert], seal_makers=[world.holder.root_cert])
    )
    assert failed_steps(result) == ["maker-certificate"]
    assert result.intact and not result.trusted
    assert result.reason is not None and result.reason.startswith("seal maker certificate not trusted")


def test_maker_needs_a_seal_maker_anchor(world: SealWorld, body_factory: BodyFactory) -> None:
    """Issue 13 item 1: the maker's root among the *signer* anchors does not make it trusted."""
    body = body_factory("5201")
    stamp = apply_seal(body, world.seal(), world.holder.signer(), "cz_dwgz")
    trust = TrustStore([world.holder.root_cert, world.maker.root_cert])
    result = verify_stamp(body, stamp, trust=trust)
    assert failed_steps(result) == ["maker-certificate"]
    assert result.intact and not result.trusted
    assert result.reason == "maker not trusted: no seal-maker anchors"
    # The same root given for its purpose makes the maker trusted.
    fixed = trust.merge(TrustStore(seal_makers=[world.maker.root_cert]))
    assert verify_stamp(body, stamp, trust=fixed).valid


def test_untrusted_signer(world: SealWorld, body_factory: BodyFactory) -> None:
    body = body_factory("5201")
    stamp = apply_seal(body, world.seal(), world.holder.signer(), "cz_dwgz")
    result = verify_stamp(
        body, stamp, trust=TrustStore([world.maker.root_cert], seal_makers=[world.maker.root_cert])
    )
    assert failed_steps(result) == ["signer-certificate"]
    assert result.reason is not None and result.reason.startswith("signer certificate not trusted")


def test_position_already_stamped(world: SealWorld, body_factory: BodyFactory) -> None:
    body = body_factory("5201")
    apply_seal(body, world.seal(), world.holder.signer(), "cz_dwgz")
    with pytest.raises(PositionAlreadySigned, match="cz_dwgz"):
        apply_seal(body, world.seal(), world.holder.signer(), "cz_dwgz")
    apply_seal(body, world.seal(), world.holder.signer(), "cz_dwsz")
    assert [s.no for s in body.stamps] == ["cz_dwgz", "cz_dwsz"]
    assert all(verify_stamp(body, s, trust=world.trust).valid for s in body.stamps)


def test_property_info_override_must_bind_the_position(world: SealWorld, body_factory: BodyFactory) -> None:
    body = body_factory("5201")
    with pytest.raises(InvalidInput, match="bind the stamp position"):
        apply_seal(body, world.seal(), world.holder.signer(), "cz_dwgz", property_info="anything")
    text = format_property_info("cz_dwgz", "5201", body.voucher_no) + ";note=ok"
    stamp = apply_seal(body, world.seal(), world.holder.signer(), "cz_dwgz", property_info=text)
    assert verify_stamp(body, stamp, trust=world.trust).valid


def test_property_info_is_escaped() -> None:
    text = format_property_info("a;b=c", "5201", "NO 1/2")
    assert text == "ezhifu:VoucherBody/Voucher;position=a%3Bb%3Dc;vt=5201;no=NO%201%2F2"
    assert parse_property_info(text) == {"position": "a;b=c", "vt": "5201", "no": "NO 1/2"}
    assert parse_property_info("/Doc_0/Signs/Sign_0/Signature.xml") is None


def test_timestamp_hook_v4(world: SealWorld, body_factory: BodyFactory) -> None:
    seen: list[bytes] = []

    def hook(signature: bytes) -> bytes:
        seen.append(signature)
        return b"\x30\x03\x02\x01\x07"  # a stand-in token; ezhifu reports, not verifies, tokens

    body = body_factory("5201")
    stamp = apply_seal(body, world.seal(), world.holder.signer(), "cz_dwgz", timestamp_hook=hook)
    der = stamp_der(stamp)
    sig = parse_signature(der)
    assert sig.time_stamp == b"\x30\x03\x02\x01\x07"
    assert seen == [sig.signature]
    # [0] EXPLICIT BIT STRING at the end of SES_Signature (ofdrw's form).
    assert der.endswith(b"\xa0\x08\x03\x06\x00\x30\x03\x02\x01\x07")
    result = verify_stamp(body, stamp, trust=world.trust)
    assert result.valid, result.reason
    # No TSA anchors in this world: the token is not trusted, the verification time is used.
    checks = dict(result.checks)
    assert checks["timestamp"] == (
        "time-stamp not checked: time-stamping authority not trusted: no TSA anchors"
    )
    assert checks["time-basis"] == "checked at the verification time"


def test_timestamp_hook_refused_for_v1(world: SealWorld, body_factory: BodyFactory) -> None:
    with pytest.raises(InvalidInput, match="v4 seal"):
        apply_seal(
            body_factory("5201"), world.seal("v1"), world.holder.signer(), "cz_dwgz", timestamp_hook=bytes
        )


def test_v1_time_info_is_utctime_text(world: SealWorld, body_factory: BodyFactory) -> None:
    body = body_factory("5201")
    stamp = apply_seal(body, world.seal("v1"), world.holder.signer(), "cz_dwgz", signing_time=world.now)
    sig = parse_signature(stamp_der(stamp))
    assert sig.time_info_raw == world.now.strftime("%y%m%d%H%M%SZ").encode()
    assert sig.signing_time == world.now.replace(microsecond=0)


def test_garbage_stamp_is_a_format_failure(world: SealWorld, body_factory: BodyFactory) -> None:
    body = body_factory("5201")
    for value in ("not base64 !!", base64.b64encode(b"\x30\x03\x02\x01\x01").decode(), ""):
        result = verify_stamp(body, SignStampElement("cz_dwgz", "x", value), trust=world.trust)
        assert not result.valid and failed_steps(result) == ["format"]


def test_gif_seal_and_declared_picture_type(world: SealWorld) -> None:
    seal = world.seal("v4", picture=GIF_1X1, picture_type="gif")
    assert parse_seal(seal).picture.type == "GIF"
    with pytest.raises(InvalidInput, match="declared as PNG but its bytes are GIF"):
        world.seal("v4", picture=GIF_1X1, picture_type="PNG")


def test_make_seal_refuses_bad_arguments(world: SealWorld) -> None:
    with pytest.raises(InvalidInput, match="printable ASCII"):
        world.seal(seal_id="印章")
    with pytest.raises(InvalidInput, match="validity is empty"):
        world.seal(valid_to=world.now - timedelta(days=2))
    with pytest.raises(InvalidInput, match="at least one holder"):
        world.seal(holder_certs=[])
    with pytest.raises(InvalidInput, match="UTCTime"):
        world.seal("v1", valid_to=world.now.replace(year=2051))
    with pytest.raises(InvalidInput, match="not a PNG"):
        world.seal(picture=b"hello world")
    with pytest.raises(InvalidInput, match="width"):
        world.seal(width_mm=0)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        world.seal(valid_from=world.now.replace(tzinfo=None))


def test_v4_seal_is_signed_over_seal_info_only(world: SealWorld) -> None:
    seal = parse_seal(world.seal("v4"))
    assert seal.signed_bytes == seal.seal_info_bytes
    seal_v1 = parse_seal(world.seal("v1"))
    inner = core.Sequence.load(seal_v1.signed_bytes)
    assert inner.contents.startswith(seal_v1.seal_info_bytes)


def test_rsa_seal_uses_the_signature_digest_for_data_hash(body_factory: BodyFactory) -> None:
    """GM/T 0031-2014 clause 6.2.1 allows RSA: dataHash then uses the RSA signature's digest (SHA-256)."""
    from ezhifu.crypto.sm3 import hash_data
    from ezhifu.testing.pki import make_pki

    maker, holder = make_pki("rsa2048"), make_pki("rsa2048")
    trust = TrustStore([maker.root_cert, holder.root_cert], seal_makers=[maker.root_cert])
    world = SealWorld(maker, holder, trust, datetime.now(UTC))
    body = body_factory("5201")
    stamp = apply_seal(body, world.seal("v4"), holder.signer(), "cz_dwgz")
    sig = parse_signature(stamp_der(stamp))
    assert sig.algorithm_oid == "1.2.840.113549.1.1.11"
    assert sig.data_hash == hash_data("sha256", voucher_data(body))
    result = verify_stamp(body, stamp, trust=world.trust)
    assert result.valid, result.reason
    assert result.digest_algorithm == "sha256"


def test_ecdsa_signer_is_refused_by_the_seal_hash_rule(world: SealWorld) -> None:
    from ezhifu.errors import UnsupportedAlgorithm
    from ezhifu.pki.signer import SoftwareSigner

    cert, key = world.maker.issue_leaf("ezhifu p256 maker", kind="p256")
    with pytest.raises(UnsupportedAlgorithm, match=r"clause 6\.2\.1"):
        make_seal(
            SoftwareSigner(key, cert),
            seal_id="X",
            name="X",
            valid_from=world.now,
            valid_to=world.now + timedelta(days=1),
            holder_certs=[cert],
            picture=GIF_1X1,
            width_mm=40,
            height_mm=40,
        )
