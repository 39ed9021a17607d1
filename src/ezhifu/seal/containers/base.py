"""The interface every seal format implements, and the reading they share.

A :class:`SealContainer` is one seal format (GM/T 0031-2014 v1, GB/T 38540-2020 v4, GM/T 0031-2025
v5, the 2024 vendor stamp) for one kind of blob (a seal or a seal signature, as detected). The
interface is small (docs/verification.md, "a new seal format"):

* :meth:`~SealContainer.parse`: the bytes to a frozen view keeping the exact bytes received;
* :meth:`~SealContainer.to_be_signed`: the bytes each signature covers (the maker's, the signer's);
* :meth:`~SealContainer.facts`: what is checked and shown (seal identity and validity, maker
  certificate, picture; a signature's signer certificate, claimed time and extensions are on
  its :class:`~ezhifu.seal.model.SealSignature`);
* writers (:meth:`~SealContainer.build_seal`, :meth:`~SealContainer.build_signature`) for the
  formats ezhifu writes, from the declared ASN.1 structures in :mod:`ezhifu.seal.asn1`.

The standard formats share the reading and the writing below (template methods) and differ only
in small hooks: :meth:`~SealContainer.maker_part` and :meth:`~SealContainer.signature_part` when
reading; :meth:`~SealContainer.property_info`, :meth:`~SealContainer.sealed`,
:meth:`~SealContainer.tbs_fields` and :meth:`~SealContainer.signature_fields` when writing, with the
structures and version numbers as class attributes. :func:`ezhifu.seal.containers.detect_container`
picks the class, and nothing else in ezhifu asks which version a seal is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from asn1crypto import core

from ezhifu.errors import InvalidInput, SealFormatError, SigningError, TimeStampError
from ezhifu.results import ItemResult, SealFacts
from ezhifu.seal.asn1 import v1 as asn1_v1
from ezhifu.seal.asn1 import v4 as asn1_v4
from ezhifu.seal.checks import seal_facts
from ezhifu.seal.detect import SealKind, SealVersion
from ezhifu.seal.model import (
    SEALS,
    Seal,
    SealExtension,
    SealSignature,
    child_spans,
    children,
    extensions_of,
    load_signature_structure,
    load_structure,
    optional,
    picture_of,
    property_common,
)
from ezhifu.seal.placement import TimestampHook

__all__ = [
    "MakerPart",
    "SealContainer",
    "SealContent",
    "SignatureContent",
    "SignaturePart",
    "Signing",
    "picture_info",
    "stamp_token",
]

#: Signs the to-be-signed bytes (the maker's or the signer's key).
Signing = Callable[[bytes], bytes]


@dataclass(frozen=True, slots=True)
class MakerPart:
    """The maker's side of a parsed seal: what it signed (raw), with what, and the value."""

    info: Any
    signed: bytes
    maker_cert: bytes
    algorithm_oid: str
    maker_signature: bytes
    time_stamp: bytes | None


@dataclass(frozen=True, slots=True)
class SignaturePart:
    """The signer's side of a parsed seal signature (everything that differs by version)."""

    time_raw: bytes
    signing_time: datetime | None
    data_hash: bytes
    signer_cert: bytes
    algorithm_oid: str
    extensions: tuple[SealExtension, ...]
    time_stamp: bytes | None


@dataclass(frozen=True, slots=True)
class SealContent:
    """What a seal states, validated by :func:`ezhifu.seal.make.make_seal` (UTC, to the second)."""

    seal_id: str
    name: str
    seal_type: int
    valid_from: datetime
    valid_to: datetime
    created: datetime
    holders: tuple[bytes, ...]
    picture_type: str
    picture: bytes
    width_mm: int
    height_mm: int
    vid: str
    maker_cert: bytes
    algorithm_oid: str


@dataclass(frozen=True, slots=True)
class SignatureContent:
    """What a seal signature to write states, validated by :func:`ezhifu.seal.apply.build_ses_signature`."""

    seal: Seal
    when: datetime
    data_hash: bytes
    property_info: str
    signer_cert: bytes
    algorithm_oid: str


def picture_info(content: SealContent) -> asn1_v1.SES_ESPictrueInfo:
    """``SES_ESPictrueInfo`` of a seal to write (the same structure in v1 and v4)."""
    return asn1_v1.SES_ESPictrueInfo(
        {
            "type": content.picture_type,
            "data": content.picture,
            "width": content.width_mm,
            "height": content.height_mm,
        }
    )


class SealContainer:
    """One seal format for one kind of blob; subclasses set the class attributes and the parts."""

    version: ClassVar[SealVersion]
    seal_spec: ClassVar[type[core.Sequence]]
    signature_spec: ClassVar[type[core.Sequence]]
    #: Whether ezhifu makes and applies seals of this format.
    writable: ClassVar[bool] = False

    def __init__(self, kind: SealKind = SealKind.SEAL) -> None:
        self.kind = kind

    @property
    def standard(self) -> str:
        return self.version.standard

    # --- reading --------------------------------------------------------------------------

    def parse(self, raw: bytes, *, what: str = "seal data") -> Any:
        """The frozen view of ``raw`` (a seal or a seal signature, as detected)."""
        if self.kind is SealKind.SEAL:
            return self.parse_seal(raw, what=what)
        return self.parse_signature(raw, what=what)

    def parse_seal(self, raw: bytes, *, what: str = "seal") -> Seal:
        if self.kind is not SealKind.SEAL:
            raise SealFormatError(f"{what}: this is a seal signature (SES_Signature), not a seal")
        cached = SEALS.get(raw, self.version)
        if cached is not None:
            return cached
        obj = load_structure(self.seal_spec, raw, f"{what} ({self.standard} SESeal)")
        try:
            seal = self.seal_from_parsed(obj, raw)
        except (ValueError, TypeError, KeyError) as exc:
            if isinstance(exc, SealFormatError):
                raise
            raise SealFormatError(f"{what}: {exc}") from exc
        SEALS.put(seal)
        return seal

    def maker_part(self, obj: Any, top: list[bytes], what: str) -> MakerPart:
        """The maker's signed part of a parsed ``SESeal`` (per format)."""
        raise NotImplementedError

    def holders(self, prop: Any) -> tuple[int, tuple[bytes, ...], tuple[tuple[str, bytes], ...]]:
        """``(certListType, holder certificates, holder certificate digests)`` (GB/T 38540 6.1)."""
        list_type = int(prop["certListType"].native)
        if list_type == asn1_v4.CERT_LIST_CERTS:
            return list_type, tuple(bytes(c.native) for c in prop["certList"]), ()
        digests = tuple((str(d["type"].native), bytes(d["value"].native)) for d in prop["certList"])
        return list_type, (), digests

    def seal_from_parsed(self, obj: Any, raw: bytes) -> Seal:
        what = f"SESeal ({self.version.value})"
        top = children(raw, what)
        part = self.maker_part(obj, top, what)
        header = part.info["header"]
        prop = part.info["property"]
        seal_type, name, created, valid_from, valid_to = property_common(prop, f"{what}.property")
        list_type, certs, digests = self.holders(prop)
        return Seal(
            version=self.version,
            header_id=str(header["ID"].native),
            header_version=int(header["version"].native),
            vid=str(header["Vid"].native),
            seal_id=str(part.info["esID"].native),
            name=name,
            seal_type=seal_type,
            cert_list_type=list_type,
            holder_certs=certs,
            holder_cert_digests=digests,
            created=created,
            valid_from=valid_from,
            valid_to=valid_to,
            picture=picture_of(part.info["picture"]),
            extensions=extensions_of(optional(children(top[0], f"{what}.eSealInfo"), 4), f"{what}.extDatas"),
            maker_cert=part.maker_cert,
            algorithm_oid=part.algorithm_oid,
            maker_signature=part.maker_signature,
            signed_bytes=part.signed,
            seal_info_bytes=top[0],
            time_stamp=part.time_stamp,
            raw=raw,
        )

    def signature_part(
        self, obj: Any, tbs: Any, top: list[bytes], tbs_children: list[bytes], label: str
    ) -> SignaturePart:
        """The signer's fields of a parsed ``SES_Signature`` (per format)."""
        raise NotImplementedError

    def fast_signature(self, raw: bytes, seal: Seal, label: str) -> SealSignature | None:
        """``raw`` read by a fast reader of this format's fixed layout embedding the decoded
        ``seal`` (:mod:`ezhifu.seal.containers.fast`), or ``None`` to decode with asn1crypto."""
        return None

    def parse_signature(self, raw: bytes, *, what: str = "seal signature") -> SealSignature:
        if self.kind is not SealKind.SIGNATURE:
            raise SealFormatError(f"{what}: this is a seal (SESeal), not a seal signature")
        label = f"{what} ({self.standard} SES_Signature)"
        cached: Seal | None = None
        seal_raw = _embedded_seal(raw, label)
        if seal_raw is not None:
            cached = SEALS.get(seal_raw, self.version)
        if cached is not None:  # the fixed layout without asn1crypto, or None: decode below
            fast = self.fast_signature(raw, cached, label)
            if fast is not None:
                return fast
        obj = load_signature_structure(self.signature_spec, raw, label, skip_seal=cached is not None)
        try:
            return self._signature_from_parsed(obj, raw, label, cached)
        except SealFormatError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise SealFormatError(f"{label}: {exc}") from exc

    def _signature_from_parsed(self, obj: Any, raw: bytes, label: str, cached: Seal | None) -> SealSignature:
        top = children(raw, label)
        tbs_children = children(top[0], f"{label}.toSign")
        tbs = obj["toSign"]
        seal = cached if cached is not None else self.seal_from_parsed(tbs["eseal"], tbs_children[1])
        part = self.signature_part(obj, tbs, top, tbs_children, label)
        if cached is None:
            SEALS.put(seal)
        return SealSignature(
            version=self.version,
            tbs_version=int(tbs["version"].native),
            seal=seal,
            signing_time=part.signing_time,
            time_info_raw=part.time_raw,
            data_hash=part.data_hash,
            property_info=str(tbs["propertyInfo"].native),
            signer_cert=part.signer_cert,
            algorithm_oid=part.algorithm_oid,
            signature=bytes(obj["signature"].native),
            tbs_bytes=top[0],
            time_stamp=part.time_stamp,
            extensions=part.extensions,
            raw=raw,
        )

    def to_be_signed(self, parsed: Any, data: bytes | None = None) -> dict[str, bytes]:
        """The exact bytes each signature covers: ``maker`` (the seal), ``signer`` (the stamp)."""
        if isinstance(parsed, SealSignature):
            return {"maker": parsed.seal.signed_bytes, "signer": parsed.tbs_bytes}
        return {"maker": parsed.signed_bytes}

    def facts(self, raw: bytes, *, what: str = "seal data") -> SealFacts:
        """What is shown of the seal in ``raw`` (identity, validity window, maker, picture)."""
        parsed = self.parse(raw, what=what)
        return seal_facts(parsed.seal if isinstance(parsed, SealSignature) else parsed)

    def describe(self, raw: bytes, *, what: str = "seal data") -> dict[str, Any]:
        """A JSON-ready description of ``raw`` (``ezhifu seal show``)."""
        parsed = self.parse(raw, what=what)
        return {"kind": "signature" if isinstance(parsed, SealSignature) else "seal", **parsed.to_dict()}

    # --- verifying ------------------------------------------------------------------------

    #: The stamp verification of a format with its own steps, called with ``(body, stamp, *,
    #: trust, policy, at)`` (the vendor stamp: :func:`ezhifu.seal.vendor.verify_vendor_stamp`);
    #: ``None``: the standards' steps apply (:func:`ezhifu.seal.verify.verify_stamp`).
    stamp_verifier: ClassVar[Callable[..., ItemResult] | None] = None

    def seal_refusal(self) -> str | None:
        """Why a seal of this format cannot be verified alone (``None``: it can)."""
        return None

    # --- writing: template methods, the per-format facts in the hooks below ---------------

    #: ``SES_Header.version`` and ``TBS_Sign.version`` as written (the writable formats).
    writes_version: ClassVar[int]
    seal_info_spec: ClassVar[type[core.Sequence]]
    tbs_spec: ClassVar[type[core.Sequence]]

    def require_writable(self) -> None:
        """Refuse to write a format ezhifu only reads."""
        if not self.writable:
            raise SealFormatError(f"ezhifu applies v1 and v4 seals, not {self.standard}")

    def check_times(self, moments: dict[str, datetime]) -> None:
        """Refuse times the format cannot encode (v1: UTCTime)."""

    def build_seal(self, content: SealContent, sign: Signing) -> bytes:
        """The DER ``SESeal`` of ``content``: its ``SES_SealInfo`` (GM/T 0031-2014 clause 6.1.1,
        GB/T 38540-2020 clause 6.1; :meth:`property_info` per format), signed by the maker's
        ``sign`` as the format says (:meth:`sealed`)."""
        if not self.writable:
            raise InvalidInput(f"ezhifu does not make {self.standard} seals")
        self.check_times(
            {"valid_from": content.valid_from, "valid_to": content.valid_to, "created": content.created}
        )
        header = asn1_v1.SES_Header({"ID": "ES", "version": self.writes_version, "Vid": content.vid})
        info = self.seal_info_spec(
            {
                "header": header,
                "esID": content.seal_id,
                "property": self.property_info(content),
                "picture": picture_info(content),
            }
        )
        return bytes(self.sealed(info, content, sign).dump())

    def property_info(self, content: SealContent) -> core.Sequence:
        """The format's ``SES_ESPropertyInfo`` of ``content`` (dates, holder list)."""
        raise NotImplementedError

    def sealed(self, info: core.Sequence, content: SealContent, sign: Signing) -> core.Sequence:
        """The ``SESeal`` around ``info`` with the maker's signature (what is signed is per format)."""
        raise NotImplementedError

    def build_signature(
        self,
        seal: Seal,
        *,
        when: datetime,
        data_hash: bytes,
        property_info: str,
        signer_cert: bytes,
        algorithm_oid: str,
        sign: Signing,
        time_stamp: TimestampHook | None,
    ) -> bytes:
        """The DER ``SES_Signature`` of ``seal`` (embedded byte for byte as given): ``TBS_Sign``
        (GM/T 0031-2014 clause 6.2.1, GB/T 38540-2020 clause 7.1) signed by ``sign``, with a
        ``timeStamp`` from ``time_stamp`` over the signature value where the format has one."""
        content = SignatureContent(seal, when, data_hash, property_info, signer_cert, algorithm_oid)
        return self.write_signature(content, sign, time_stamp)[0]

    def write_signature(
        self, content: SignatureContent, sign: Signing, time_stamp: TimestampHook | None
    ) -> tuple[bytes, bool]:
        """:meth:`build_signature` of ``content``, and whether the DER was written directly
        (:meth:`direct_signature`: only the seal's bytes, as read, are not written here) or by
        asn1crypto (:meth:`asn1_signature`), whose output the writer of a stamp reads back."""
        self.require_writable()
        self.check_signing(content, time_stamp)
        direct = self.direct_signature(content, sign, time_stamp)
        if direct is not None:
            return direct, True
        return self.asn1_signature(content, sign, time_stamp), False

    def check_signing(self, content: SignatureContent, time_stamp: TimestampHook | None) -> None:
        """Refuse what the format cannot encode (v1: a time stamp, a time outside UTCTime)."""

    def direct_signature(
        self, content: SignatureContent, sign: Signing, time_stamp: TimestampHook | None
    ) -> bytes | None:
        """The DER written without asn1crypto for the usual fields (v4), or ``None``."""
        return None

    def asn1_signature(
        self, content: SignatureContent, sign: Signing, time_stamp: TimestampHook | None
    ) -> bytes:
        """The ``SES_Signature`` built from the declared structures (:mod:`ezhifu.seal.asn1`)."""
        tbs = self.tbs_spec(
            {
                "version": self.writes_version,
                "eseal": self.seal_spec.load(content.seal.raw),  # embedded byte for byte as given
                "propertyInfo": content.property_info,
                **self.tbs_fields(content),
            }
        )
        signature = sign(bytes(tbs.dump()))
        token = stamp_token(time_stamp, signature) if time_stamp is not None else None
        return bytes(self.signature_spec(self.signature_fields(content, tbs, signature, token)).dump())

    def tbs_fields(self, content: SignatureContent) -> dict[str, Any]:
        """The format's ``TBS_Sign`` fields besides version, seal and ``propertyInfo``."""
        raise NotImplementedError

    def signature_fields(
        self, content: SignatureContent, tbs: core.Sequence, signature: bytes, token: bytes | None
    ) -> dict[str, Any]:
        """The format's ``SES_Signature`` fields around the signed ``tbs``, its ``signature`` and the
        time-stamp ``token`` over it (if one was asked for)."""
        raise NotImplementedError


def stamp_token(time_stamp: TimestampHook, signature: bytes) -> bytes:
    """The time-stamp token the caller's hook returns for ``signature`` (GB/T 38540-2020 clause 7.1:
    ``timeStamp`` is over the signature value); a failing hook is a :class:`SigningError`."""
    try:
        return bytes(time_stamp(signature))
    except TimeStampError:  # ezhifu's own TSA client: its named error (ezhifu.pki.tsp)
        raise
    except Exception as exc:  # the hook is caller code (a TSA client)
        raise SigningError(f"time-stamp hook failed: {exc}") from exc


def _embedded_seal(raw: bytes, label: str) -> bytes | None:
    """The exact bytes of the seal in ``TBS_Sign`` of ``raw``, to find it among the seals decoded
    before; ``None`` when it cannot be found (a defect is reported later, by the full decoder, in
    the original order: structure first). Read without copies where the fast reader takes the
    DER (:func:`~ezhifu.seal.model.child_spans`), by :func:`~ezhifu.seal.model.children` else."""
    top = child_spans(raw)
    tbs = child_spans(raw, *top[0]) if top else None
    if tbs is not None:
        return raw[tbs[1][0] : tbs[1][1]] if len(tbs) > 1 else None
    try:
        return children(children(raw, label)[0], f"{label}.toSign")[1]
    except (SealFormatError, IndexError):
        return None
