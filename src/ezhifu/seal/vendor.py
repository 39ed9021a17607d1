"""The vendor seal-signature ("stamp") of 2024 treasury messages (spec.md §5.4): read, verify, build.

Deployed treasury systems send, in ``<SignStamp>``, a proprietary structure that resembles
GM/T 0031 but is not it (field names below are descriptive; no published module exists)

(declared in :mod:`ezhifu.seal.asn1.vendor`)::

    VendorStamp ::= SEQUENCE {
        version     INTEGER,        -- 2
        seal        OCTET STRING,   -- DER of VendorSeal
        signTime    OCTET STRING,   -- ASCII "yyyy-MM-dd HH:mm:ss"
        signerCert  OCTET STRING,   -- DER X.509
        signature   OCTET STRING }  -- DER PKCS#7 SignedData, detached, SHA-1/RSA, no signed attributes

    VendorSeal ::= SEQUENCE {
        version INTEGER, sealId OCTET STRING, sealName OCTET STRING (GBK), sealType OCTET STRING,
        unknown1 INTEGER, picture SEQUENCE { INTEGER, INTEGER, INTEGER, OCTET STRING image, INTEGER... },
        makerCert OCTET STRING, property OCTET STRING (GBK), date1, date2, date3 OCTET STRING,
        makerSig OCTET STRING }     -- PKCS#7 by the seal maker over content that is not known

What can be checked (spec.md §5.4, verified on the public samples): the stamp's PKCS#7 signs the
plain concatenation *Base64 text of <Voucher>* ‖ *signTime bytes* ‖ *seal DER*. What cannot: the
seal maker's PKCS#7, whose signed content matches no arrangement of the seal's fields. The verifier
therefore reports the maker's signature as **"not verifiable: vendor format unknown"** and never as
valid. Decision (documented for :func:`verify_vendor_stamp`): such an ``ItemResult`` is
``intact=True`` when the stamp's own signature holds and ``trusted`` per its chain, but
``valid=False`` with that reason, because a seal whose maker cannot be checked is not a verified seal.

The vendor format does not bind the stamp position either (it is not in the signed content).

:func:`build_vendor_seal` and :func:`build_vendor_stamp` produce the layout for tests (with a test
PKI); since the maker's signed content is unknown, ezhifu's maker PKCS#7 signs the DER of the
seal's preceding fields, which no verifier (including ezhifu's) relies on. They are for testing
and development only, not legally effective.
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from asn1crypto import core, x509

from ezhifu.crypto.base import Signer
from ezhifu.document.envelope import SignStampElement, VoucherBody
from ezhifu.errors import EzhifuError, InvalidInput, SealFormatError
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.results import Claim, ItemResult, SealFacts, SealImage
from ezhifu.seal.asn1.vendor import VendorPicture, VendorSeal, VendorStamp
from ezhifu.seal.checks import (
    Steps,
    check_seal_id,
    format_failure,
    load_certificate,
    signer_info,
    stamp_der,
)
from ezhifu.seal.detect import MAX_SEAL_BYTES, SealVersion
from ezhifu.seal.model import describe_certificate
from ezhifu.seal.picture import PICTURE_TYPES, sniff_picture
from ezhifu.seal.placement import append_stamp, refuse_stamped_position
from ezhifu.sign.cms import sign_detached
from ezhifu.sign.cms_verify import verify_detached

__all__ = [
    "CHINA_STANDARD_TIME",
    "VendorPicture",
    "VendorSeal",
    "VendorSealInfo",
    "VendorStamp",
    "VendorStampInfo",
    "apply_vendor_stamp",
    "build_vendor_seal",
    "build_vendor_stamp",
    "describe_vendor_seal",
    "describe_vendor_stamp",
    "parse_vendor_seal",
    "parse_vendor_stamp",
    "stamp_signed_content",
    "vendor_seal_facts",
    "verify_vendor_stamp",
]

#: The vendor's time strings carry no zone; they are Beijing time (UTC+8, no daylight saving).
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")

_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAKER_NOT_VERIFIABLE = "seal maker's signature not verifiable: vendor seal format unknown"


@dataclass(frozen=True, slots=True)
class VendorSealInfo:
    """A decoded vendor seal; texts are decoded from GBK (undecodable bytes replaced)."""

    version: int
    seal_id: str
    name: str
    seal_type: str
    image: bytes = field(repr=False)
    image_type: str | None
    picture_numbers: tuple[int, ...]
    maker_cert: bytes = field(repr=False)
    property: str
    dates: tuple[str, str, str]
    maker_signature: bytes = field(repr=False)
    raw: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class VendorStampInfo:
    """A decoded vendor stamp; ``signing_time`` is ``sign_time_text`` read as Beijing time."""

    version: int
    seal: VendorSealInfo
    sign_time_text: str
    signing_time: datetime | None
    signer_cert: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    raw: bytes = field(repr=False)

    @property
    def seal_der(self) -> bytes:
        return self.seal.raw


def _text(value: bytes) -> str:
    return value.decode("gbk", errors="replace")


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=CHINA_STANDARD_TIME)
    except ValueError:
        return None


def _load(spec: type[core.Sequence], der: bytes, what: str) -> Any:
    if len(der) > MAX_SEAL_BYTES:
        raise SealFormatError(f"{what}: {len(der)} bytes exceeds the {MAX_SEAL_BYTES}-byte limit")
    try:
        obj = spec.load(der, strict=True)
        _ = obj.native
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        # RecursionError: the picture block's elements are ANY, and asn1crypto decodes a value
        # nested thousands deep recursively; it must not escape verify_envelope.
        raise SealFormatError(f"{what}: not the vendor layout (spec.md §5.4): {exc}") from exc
    return obj


def parse_vendor_seal(der: bytes, *, what: str = "vendor seal") -> VendorSealInfo:
    """Decode a vendor seal (raises :class:`SealFormatError`)."""
    raw = bytes(der)
    obj = _load(VendorSeal, raw, what)
    numbers: list[int] = []
    image = b""
    for item in obj["picture"]:
        tlv = item.dump()
        if tlv[:1] == b"\x02":
            numbers.append(int(core.Integer.load(tlv).native))
        elif tlv[:1] == b"\x04" and not image:
            image = bytes(core.OctetString.load(tlv).native)
        else:
            raise SealFormatError(f"{what}: unexpected element in the picture block (tag byte {tlv[0]:#04x})")
    return VendorSealInfo(
        version=int(obj["version"].native),
        seal_id=_text(obj["sealId"].native),
        name=_text(obj["sealName"].native),
        seal_type=_text(obj["sealType"].native),
        image=image,
        image_type=sniff_picture(image) if image else None,
        picture_numbers=tuple(numbers),
        maker_cert=bytes(obj["makerCert"].native),
        property=_text(obj["property"].native),
        dates=(_text(obj["date1"].native), _text(obj["date2"].native), _text(obj["date3"].native)),
        maker_signature=bytes(obj["makerSig"].native),
        raw=raw,
    )


def parse_vendor_stamp(der: bytes, *, what: str = "vendor stamp") -> VendorStampInfo:
    """Decode a vendor stamp and its seal (raises :class:`SealFormatError`)."""
    raw = bytes(der)
    obj = _load(VendorStamp, raw, what)
    time_text = _text(obj["signTime"].native)
    return VendorStampInfo(
        version=int(obj["version"].native),
        seal=parse_vendor_seal(bytes(obj["seal"].native), what=f"{what}: seal"),
        sign_time_text=time_text,
        signing_time=_parse_time(time_text),
        signer_cert=bytes(obj["signerCert"].native),
        signature=bytes(obj["signature"].native),
        raw=raw,
    )


def stamp_signed_content(voucher_b64: bytes, stamp: VendorStampInfo) -> bytes:
    """What the stamp's PKCS#7 signs: Base64 text ‖ signTime bytes ‖ seal DER (spec.md §5.4)."""
    obj = VendorStamp.load(stamp.raw)
    return voucher_b64 + bytes(obj["signTime"].native) + stamp.seal.raw


# --- building (tests and development only) ---------------------------------------------------


def build_vendor_seal(
    maker: Signer,
    *,
    seal_id: str,
    name: str,
    image: bytes,
    seal_type: str = "7103",
    region: str = "420600",
    dates: Sequence[str] = ("2021-08-18 00:00:00.0", "0001-01-03 00:00:00.0", "2021-08-18 00:00:00.0"),
) -> bytes:
    """Build a vendor-layout seal signed by ``maker`` (test material; see the module doc)."""
    if len(dates) != 3:
        raise InvalidInput("a vendor seal has exactly three date strings")
    cert = maker.certificate
    if cert is None:
        raise InvalidInput("the vendor seal maker needs a certificate")
    picture = VendorPicture(
        [core.Any(core.Integer(v)) for v in (2, 0, 0)]
        + [core.Any(core.OctetString(image))]
        + [core.Any(core.Integer(v)) for v in (0, 0, 0, 0, 15, 0, 0xFF000000)]
    )
    fields: dict[str, Any] = {
        "version": 2,
        "sealId": seal_id.encode("ascii"),
        "sealName": name.encode("gbk"),
        "sealType": seal_type.encode("ascii"),
        "unknown1": 1,
        "picture": picture,
        "makerCert": bytes(cert.dump()),
        "property": f"CN={name} O=CTJ RG={region} MD=000 ORG=null".encode("gbk"),
        "date1": dates[0].encode("ascii"),
        "date2": dates[1].encode("ascii"),
        "date3": dates[2].encode("ascii"),
    }
    unsigned = VendorSeal({**fields, "makerSig": b""})
    preceding = b"".join(unsigned[name].dump() for name, _spec, _params in VendorSeal._fields[:-1])
    fields["makerSig"] = sign_detached(preceding, maker, signed_attributes=False, oid_style="pkcs7")
    return bytes(VendorSeal(fields).dump())


def build_vendor_stamp(
    voucher_b64: bytes, seal_der: bytes, signer: Signer, *, sign_time: datetime | None = None
) -> bytes:
    """Build a vendor stamp over ``voucher_b64`` with ``signer`` (an RSA test key; SHA-1 for fidelity
    needs a SHA-1 signer, any RSA digest works)."""
    cert = signer.certificate
    if cert is None:
        raise InvalidInput("the vendor stamp signer needs a certificate")
    parse_vendor_seal(seal_der)
    when = (sign_time or datetime.now(UTC)).astimezone(CHINA_STANDARD_TIME)
    time_bytes = when.strftime(_TIME_FORMAT).encode("ascii")
    pkcs7 = sign_detached(
        voucher_b64 + time_bytes + seal_der, signer, signed_attributes=False, oid_style="pkcs7"
    )
    return bytes(
        VendorStamp(
            {
                "version": 2,
                "seal": seal_der,
                "signTime": time_bytes,
                "signerCert": bytes(cert.dump()),
                "signature": pkcs7,
            }
        ).dump()
    )


def apply_vendor_stamp(
    body: VoucherBody, seal_der: bytes, signer: Signer, position: str, *, sign_time: datetime | None = None
) -> SignStampElement:
    """Append a vendor-layout ``<SignStamp>`` to ``body`` (test material; see the module doc)."""

    refuse_stamped_position(body, position)
    seal = parse_vendor_seal(seal_der)
    der = build_vendor_stamp(body.voucher_b64.encode("ascii"), seal_der, signer, sign_time=sign_time)
    return append_stamp(body, position, seal.seal_id, der)


# --- verification ----------------------------------------------------------------------------


def verify_vendor_stamp(
    body: VoucherBody,
    stamp: SignStampElement,
    *,
    trust: TrustStore,
    policy: VerifyPolicy | None = None,
    at: datetime | None = None,
) -> ItemResult:
    """Verify a vendor ``<SignStamp>`` (spec.md §5.4); never raises for a bad stamp.

    Steps: ``format``; ``seal-id`` (``@SN`` equals the seal id); ``signer-certificate`` (the
    ``signerCert`` field is the certificate inside the PKCS#7); ``stamp-signature`` (the PKCS#7 over
    Base64 ‖ signTime ‖ seal DER, with chain and algorithm policy via
    :func:`ezhifu.sign.cms_verify.verify_detached` at ``at`` or the signing time: the deployed format is
    SHA-1/RSA-1024, so it passes only under :meth:`VerifyPolicy.legacy`); ``position`` (noted: not
    bound by this format); ``maker-signature``: always "not verifiable: vendor seal format unknown",
    so the result is never ``valid`` (see the module doc).
    """
    policy = policy or VerifyPolicy()
    position = stamp.no
    steps = Steps()
    try:
        der = stamp_der(stamp)
        info = parse_vendor_stamp(der, what=f"SignStamp at {position}")
        voucher_b64 = body.voucher_b64.encode("ascii")
    except (EzhifuError, binascii.Error, ValueError) as exc:
        return format_failure(position, str(exc), stamp.sn)
    steps.ok("format", f"vendor stamp (spec.md §5.4), seal {info.seal.seal_id}")
    check_seal_id(steps, stamp.sn, info.seal.seal_id)
    when = at if at is not None else info.signing_time
    result = verify_detached(
        info.signature, stamp_signed_content(voucher_b64, info), trust=trust, policy=policy, at=when
    )
    embedded = result.signer_certificate
    signer_cert: x509.Certificate | None = embedded
    if embedded is not None and bytes(embedded.dump()) == info.signer_cert:
        steps.ok("signer-certificate", "signerCert equals the PKCS#7 signer certificate")
    elif embedded is not None:
        steps.fail(
            "signer-certificate", "signerCert differs from the certificate that made the stamp's PKCS#7"
        )
    else:
        signer_cert, _ = load_certificate(info.signer_cert, "signerCert")
        steps.fail("signer-certificate", "the stamp's PKCS#7 names no usable signer certificate")
    if result.valid:
        steps.ok("stamp-signature", "PKCS#7 over Base64 || signTime || seal verifies and is trusted")
    else:
        steps.fail("stamp-signature", f"stamp PKCS#7: {result.reason}")
    steps.ok("position", "not bound: the vendor format does not sign the position")
    steps.fail("maker-signature", MAKER_NOT_VERIFIABLE)
    return ItemResult.from_steps(
        "seal",
        position,
        steps,
        intact=result.intact,
        trusted=result.trusted,
        signer=signer_info(signer_cert) if signer_cert is not None else None,
        digest_algorithm=result.digest_algorithm,
        signature_algorithm=result.signature_algorithm,
        signing_time=info.signing_time,
        seal_id=info.seal.seal_id,
        seal_name=info.seal.name,
        claimed_time=(
            Claim(info.signing_time, "vendor stamp signTime, Beijing time (the signer's claim)")
            if info.signing_time is not None
            else None
        ),
        seal_facts=vendor_seal_facts(info.seal),
        anchors=result.anchors,
    )


def vendor_seal_facts(seal: VendorSealInfo) -> SealFacts:
    """What a display shows of a vendor seal; its picture has no size (shown at the usual 40 mm),
    and an image of unknown type is no picture (no error: the format has no declared type)."""
    picture = None
    if seal.image_type is not None:
        mime, extension = PICTURE_TYPES[seal.image_type]
        picture = SealImage(seal.image_type, mime, extension, seal.image, 0, 0)
    maker, _ = load_certificate(seal.maker_cert, "vendor seal maker certificate")
    return SealFacts(
        seal_id=seal.seal_id,
        name=seal.name,
        standard=SealVersion.VENDOR.standard,
        maker=signer_info(maker) if maker is not None else None,
        picture=picture,
        picture_data=seal.image,
    )


def describe_vendor_seal(seal: VendorSealInfo) -> dict[str, Any]:
    """A JSON-ready description of a vendor seal (``ezhifu seal show``)."""
    return {
        "seal_id": seal.seal_id,
        "name": seal.name,
        "type": seal.seal_type,
        "picture": {"type": seal.image_type, "bytes": len(seal.image), "numbers": list(seal.picture_numbers)},
        "maker_cert": describe_certificate(seal.maker_cert),
        "property": seal.property,
        "dates": list(seal.dates),
        "maker_signature": "not verifiable: vendor seal format unknown",
    }


def describe_vendor_stamp(stamp: VendorStampInfo) -> dict[str, Any]:
    """A JSON-ready description of a vendor stamp (``ezhifu seal show``)."""
    return {
        "kind": "vendor-stamp",
        "version": stamp.version,
        "sign_time": stamp.sign_time_text,
        "signer_cert": describe_certificate(stamp.signer_cert),
        "signature": "not checked: needs the voucher's Base64 text (use ezhifu verify on the envelope)",
        "seal": describe_vendor_seal(stamp.seal),
    }
