"""Friendly, frozen views of seals (电子印章) and seal signatures (电子签章) of every version.

The seal containers (:mod:`ezhifu.seal.containers`, one class per format) read GM/T 0031-2014 (v1),
GB/T 38540-2020 (v4) and GM/T 0031-2025 (v5, read only) structures into :class:`Seal` and
:class:`SealSignature`, with the decoding helpers below. Besides the
decoded fields, each view keeps the **exact bytes as received** that the standards' signatures cover
(``Seal.signed_bytes``, ``SealSignature.tbs_bytes``), cut out of the input: verifiers hash those,
never a re-encoding (a DER re-encoder would, for instance, drop an explicitly encoded
``critical FALSE`` and break the maker's signature of a real vendor seal). ``dump()`` returns the
input bytes unchanged.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms, core

from ezhifu.crypto.base import SignatureAlgorithm
from ezhifu.crypto.der import fast_tlv
from ezhifu.crypto.oids import OID_SM2_SIGN
from ezhifu.errors import EzhifuError, SealFormatError, UnsupportedAlgorithm
from ezhifu.pki.certs import describe
from ezhifu.pki.trust import as_utc
from ezhifu.seal.asn1 import v4 as asn1_v4
from ezhifu.seal.detect import SealVersion, split_tlvs

__all__ = [
    "Seal",
    "SealExtension",
    "SealPicture",
    "SealSignature",
    "algorithm_for_oid",
    "children",
    "decode_v1_time_info",
    "describe_certificate",
    "extensions_of",
    "load_signature_structure",
    "load_structure",
    "optional",
    "picture_of",
    "property_common",
    "time_native",
]

_ALGORITHMS: dict[str, SignatureAlgorithm] = {a.signature_oid: a for a in SignatureAlgorithm}
# SM2Sign (1.2.156.10197.1.301.1) is used by some seal producers for SM2-with-SM3.
_ALGORITHMS[OID_SM2_SIGN] = SignatureAlgorithm.SM2_SM3


def algorithm_for_oid(oid: str) -> SignatureAlgorithm:
    """Map a seal's signature algorithm OID (GB/T 33560) to a :class:`SignatureAlgorithm`."""
    try:
        return _ALGORITHMS[oid]
    except KeyError:
        raise UnsupportedAlgorithm(f"seal signature algorithm {oid} is not supported") from None


@dataclass(frozen=True, slots=True)
class SealPicture:
    """``SES_ESPictrueInfo``: image type as written (e.g. ``"PNG"``), bytes, display size in mm."""

    type: str
    data: bytes = field(repr=False)
    width_mm: int
    height_mm: int


@dataclass(frozen=True, slots=True)
class SealExtension:
    """One ``ExtData``: OID, criticality and raw value."""

    oid: str
    critical: bool
    value: bytes

    def to_dict(self) -> dict[str, Any]:
        """``{"oid", "critical", "value_hex"}``, as in :meth:`Seal.to_dict`."""
        return {"oid": self.oid, "critical": self.critical, "value_hex": self.value.hex()}


class _Parsed:
    """What a parsed seal and a parsed seal signature share: their DER and signature algorithm."""

    __slots__ = ()
    raw: bytes
    algorithm_oid: str

    def dump(self) -> bytes:
        """The DER exactly as parsed."""
        return self.raw

    @property
    def algorithm(self) -> SignatureAlgorithm:
        """The signature algorithm (raises :class:`UnsupportedAlgorithm` if unknown)."""
        return algorithm_for_oid(self.algorithm_oid)


@dataclass(frozen=True, slots=True)
class Seal(_Parsed):
    """A decoded electronic seal (``SESeal``) of any version.

    ``holder_certs`` are the DER certificates of the signers allowed to use the seal
    (``certList``; empty when ``cert_list_type`` is 2, then ``holder_cert_digests`` holds
    ``(type, digest)`` pairs). ``maker_cert`` is the seal maker's DER certificate and
    ``maker_signature`` its signature over ``signed_bytes`` (raw slices of the input: for v1 the
    synthesised ``SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }``, for v4/v5 ``SES_SealInfo``).
    """

    version: SealVersion
    header_id: str
    header_version: int
    vid: str
    seal_id: str
    name: str
    seal_type: int
    cert_list_type: int
    holder_certs: tuple[bytes, ...] = field(repr=False)
    holder_cert_digests: tuple[tuple[str, bytes], ...] = field(repr=False)
    created: datetime
    valid_from: datetime
    valid_to: datetime
    picture: SealPicture
    extensions: tuple[SealExtension, ...]
    maker_cert: bytes = field(repr=False)
    algorithm_oid: str
    maker_signature: bytes = field(repr=False)
    signed_bytes: bytes = field(repr=False)
    seal_info_bytes: bytes = field(repr=False)
    time_stamp: bytes | None = field(repr=False)
    raw: bytes = field(repr=False)

    def is_valid_at(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in ``validStart <= moment <= validEnd``."""
        return self.valid_from <= moment <= self.valid_to

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (certificates summarised, picture described, not embedded)."""
        return {
            "version": self.version.value,
            "standard": self.version.standard,
            "header": {"id": self.header_id, "version": self.header_version, "vid": self.vid},
            "seal_id": self.seal_id,
            "name": self.name,
            "type": self.seal_type,
            "created": self.created.isoformat(),
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat(),
            "cert_list_type": self.cert_list_type,
            "holder_certs": [describe_certificate(c) for c in self.holder_certs],
            "holder_cert_digests": [{"type": t, "value": v.hex()} for t, v in self.holder_cert_digests],
            "maker_cert": describe_certificate(self.maker_cert),
            "algorithm": self.algorithm_oid,
            "picture": {
                "type": self.picture.type,
                "bytes": len(self.picture.data),
                "sha256": hashlib.sha256(self.picture.data).hexdigest(),
                "width_mm": self.picture.width_mm,
                "height_mm": self.picture.height_mm,
            },
            "extensions": [e.to_dict() for e in self.extensions],
            "time_stamp": self.time_stamp is not None,
        }


@dataclass(frozen=True, slots=True)
class SealSignature(_Parsed):
    """A decoded seal signature (``SES_Signature``) of any version.

    ``tbs_bytes`` is the raw ``TBS_Sign`` slice that ``signature`` covers; ``seal`` the embedded
    seal; ``signer_cert`` the signer's DER certificate (inside ``TBS_Sign`` in v1, beside it in v4);
    ``signing_time`` the decoded ``timeInfo`` (``None`` when it cannot be read: ``time_info_raw``
    then holds its bytes); ``time_stamp`` the v4 ``timeStamp`` token DER.
    """

    version: SealVersion
    tbs_version: int
    seal: Seal
    signing_time: datetime | None
    time_info_raw: bytes = field(repr=False)
    data_hash: bytes = field(repr=False)
    property_info: str
    signer_cert: bytes = field(repr=False)
    algorithm_oid: str
    signature: bytes = field(repr=False)
    tbs_bytes: bytes = field(repr=False)
    time_stamp: bytes | None = field(repr=False)
    extensions: tuple[SealExtension, ...]
    raw: bytes = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, the embedded seal included."""
        return {
            "version": self.version.value,
            "standard": self.version.standard,
            "tbs_version": self.tbs_version,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "data_hash": self.data_hash.hex(),
            "property_info": self.property_info,
            "signer_cert": describe_certificate(self.signer_cert),
            "algorithm": self.algorithm_oid,
            "time_stamp": self.time_stamp is not None,
            "extensions": [e.to_dict() for e in self.extensions],
            "seal": self.seal.to_dict(),
        }


# --- helpers ---------------------------------------------------------------------------------


def describe_certificate(der: bytes) -> dict[str, Any]:
    """Subject, issuer, serial (lower-case hex), validity and SHA-256 of a DER certificate."""
    out: dict[str, Any] = {"sha256": hashlib.sha256(der).hexdigest()}
    try:
        info = describe(der)  # the one describer (ezhifu.pki.certs)
    except EzhifuError as exc:
        out["error"] = f"unreadable certificate: {exc}"
        return out
    out.update(
        subject=info.subject,
        issuer=info.issuer,
        serial=info.serial_hex,
        not_before=info.not_before.isoformat(),
        not_after=info.not_after.isoformat(),
    )
    return out


def children(tlv: bytes, what: str) -> list[bytes]:
    """Raw TLVs of the elements of one constructed TLV."""
    outer = split_tlvs(tlv, what=what)
    if len(outer) != 1:
        raise SealFormatError(f"{what}: expected one element")
    return [item[3] for item in split_tlvs(outer[0][4], what=what)]


def child_spans(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[int, int]] | None:
    """``(start, end)`` of each element inside the one element ``data[start:end]``, as
    :func:`children` reads them but without copying, or ``None`` where the fast DER reader
    (:func:`ezhifu.crypto.der.fast_tlv`) declines; :func:`children` then answers (or raises)."""
    end = len(data) if end is None else end
    outer = fast_tlv(data, start)
    if outer is None or outer[4] != end:
        return None
    spans: list[tuple[int, int]] = []
    pos = outer[3]
    while pos < end:
        item = fast_tlv(data, pos)
        if item is None or item[4] > end:
            return None
        spans.append((pos, item[4]))
        pos = item[4]
    return spans


def optional(items: list[bytes], index: int) -> bytes | None:
    """The ``index``-th raw element, or ``None`` when the optional element is absent."""
    return items[index] if len(items) > index else None


def extensions_of(tlv: bytes | None, what: str) -> tuple[SealExtension, ...]:
    parsed = asn1_v4.decode_ext_datas(tlv, what=what)
    if parsed is None:
        return ()
    return tuple(
        SealExtension(ext["extnID"].dotted, bool(ext["critical"].native), bytes(ext["extnValue"].native))
        for ext in parsed
    )


def time_native(value: Any, what: str) -> datetime:
    if isinstance(value, core.Choice):
        value = value.chosen
    native = value.native
    if not isinstance(native, datetime):
        raise SealFormatError(f"{what}: not a time value")
    return as_utc(native)


_TEXT_FORMATS = (
    ("%Y-%m-%d %H:%M:%S", re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")),
    ("%y%m%d%H%M%SZ", re.compile(r"^\d{12}Z$")),
    ("%Y%m%d%H%M%SZ", re.compile(r"^\d{14}Z$")),
)


def _token_gen_time(raw: bytes) -> datetime | None:
    """The ``genTime`` of a DER time-stamp token (RFC 3161 clause 2.4.2), or ``None``."""
    try:
        info = cms.ContentInfo.load(raw, strict=True)
        gen = info["content"]["encap_content_info"]["content"].parsed["gen_time"].native
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return as_utc(gen) if isinstance(gen, datetime) else None


def decode_v1_time_info(raw: bytes) -> datetime | None:
    """Decode a GM/T 0031-2014 ``timeInfo`` (clause 6.2.1: "时间戳，也可以是UTCTIME时间").

    Accepted: UTCTime text ``YYMMDDhhmmssZ`` (what ezhifu writes), GeneralizedTime text,
    ofdrw's ``yyyy-MM-dd HH:mm:ss`` (taken as UTC) and a DER time-stamp token (its ``genTime``).
    Returns ``None`` when the content is none of these. A SEQUENCE tag (0x30) is also the ASCII
    ``"0"`` that starts the UTCTime text of years 2000-2009, so a token is tried first, then the text.
    """
    if raw[:1] == b"\x30":
        token_time = _token_gen_time(raw)
        if token_time is not None:
            return token_time
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    for fmt, pattern in _TEXT_FORMATS:
        if pattern.match(text):
            try:
                moment = datetime.strptime(text, fmt).replace(tzinfo=UTC)
            except ValueError:
                return None
            if fmt.startswith("%y") and moment.year >= 2050:
                # UTCTime (X.680 clause 47, RFC 5280 4.1.2.5.1): YY 50-99 are 1950-1999; strptime's
                # %y reads 50-68 as 2050-2068.
                moment = moment.replace(year=moment.year - 100)
            return moment
    return None


# --- seals -----------------------------------------------------------------------------------


def property_common(prop: Any, what: str) -> tuple[int, str, datetime, datetime, datetime]:
    return (
        int(prop["type"].native),
        str(prop["name"].native),
        time_native(prop["createDate"], f"{what}.createDate"),
        time_native(prop["validStart"], f"{what}.validStart"),
        time_native(prop["validEnd"], f"{what}.validEnd"),
    )


def picture_of(pic: Any) -> SealPicture:
    return SealPicture(
        type=str(pic["type"].native),
        data=bytes(pic["data"].native),
        width_mm=int(pic["width"].native),
        height_mm=int(pic["height"].native),
    )


def touch(value: Any) -> None:
    """Decode every field now so that errors surface at parse time, with context.

    ``Any`` fields (the variously tagged ``[0]`` fields and ``extDatas``) are decoded by their own
    helpers in :mod:`ezhifu.seal.asn1.v4`, not here.
    """
    if isinstance(value, core.Any | core.Void):
        return
    if isinstance(value, core.Sequence):
        for name in value:
            touch(value[name])
    elif isinstance(value, core.SequenceOf):
        for item in value:
            touch(item)
    elif isinstance(value, core.Choice):
        touch(value.chosen)
    else:
        _ = value.native


def load_structure(spec: type[core.Sequence], raw: bytes, what: str) -> Any:
    try:
        obj = spec.load(raw, strict=True)
        touch(obj)
    except SealFormatError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise SealFormatError(f"{what}: does not match the standard's structure: {exc}") from exc
    return obj


def load_signature_structure(spec: type[core.Sequence], raw: bytes, what: str, *, skip_seal: bool) -> Any:
    """:func:`_load` of an ``SES_Signature``; with ``skip_seal`` the embedded ``eseal`` is not
    decoded again (its exact bytes were decoded before, see :class:`_SealCache`)."""
    if not skip_seal:
        return load_structure(spec, raw, what)
    try:
        obj = spec.load(raw, strict=True)
        for name in obj:
            if name != "toSign":
                touch(obj[name])
                continue
            tbs = obj[name]
            for tbs_name in tbs:
                if tbs_name != "eseal":
                    touch(tbs[tbs_name])
    except SealFormatError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise SealFormatError(f"{what}: does not match the standard's structure: {exc}") from exc
    return obj


class _SealCache:
    """Bounded LRU of decoded seals by their exact DER bytes.

    One seal is embedded byte for byte in every ``SES_Signature`` made with it (GB/T 38540-2020
    clause 7.1: ``TBS_Sign.eseal``), so a batch decodes the same seal thousands of times. A
    :class:`Seal` is frozen and depends on nothing but those bytes (and the version, which the
    bytes determine and which is checked on lookup), so sharing it is sound; only seals that
    decoded successfully are kept, and every verification check still runs on each use.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[bytes, Seal] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, raw: bytes, version: SealVersion) -> Seal | None:
        with self._lock:
            seal = self._items.get(raw)
            if seal is None or seal.version is not version:
                return None
            self._items.move_to_end(raw)
            return seal

    def put(self, seal: Seal) -> None:
        with self._lock:
            self._items[seal.raw] = seal
            self._items.move_to_end(seal.raw)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


#: Decoded seals kept (a province uses a few hundred seals at most).
SEAL_CACHE_SIZE = 256
#: The one cache of decoded seals (read by every container, :mod:`ezhifu.seal.containers`).
SEALS = _SealCache(SEAL_CACHE_SIZE)
_SEALS = SEALS  # the name tests/seal/test_seal_cache.py clears
