"""Which seal structure and which version a DER blob is, from its bytes alone.

Rules (ofdrw ``ses/parse/VersionParser``, the reference reader for all three versions):

* a seal (``SESeal``) with 2 elements is GM/T 0031-2014 (v1); with 5 it is GM/T 0031-2025 (v5);
  with 4 it is v5 when ``SES_SealInfo.header.version`` is 5, otherwise GB/T 38540-2020 (v4);
* a seal signature (``SES_Signature``) with 2 elements is v1; with 4 or 5 elements the version of
  the seal inside ``TBS_Sign`` decides (5 means v5, anything else v4).

A seal and a seal signature are told apart by their first element: ``SES_SealInfo`` starts with the
``SES_Header`` SEQUENCE, ``TBS_Sign`` with its INTEGER version. The vendor stamp of 2024 treasury
messages (:mod:`ezhifu.seal.vendor`) starts with ``INTEGER 2`` directly under the outer SEQUENCE.
"""

from __future__ import annotations

import enum
import threading
from collections import OrderedDict

from ezhifu.crypto.der import Tlv
from ezhifu.crypto.der import split_tlvs as der_split_tlvs
from ezhifu.errors import SealFormatError

__all__ = [
    "MAX_SEAL_BYTES",
    "SealKind",
    "SealVersion",
    "detect",
    "detect_version",
    "split_tlvs",
]

#: Upper bound on a seal or stamp blob (pictures included); larger input is refused before parsing.
MAX_SEAL_BYTES = 8 * 1024 * 1024

_INTEGER = 2
_OCTET_STRING = 4
_SEQUENCE = 16


class SealVersion(enum.Enum):
    """The seal standard a structure follows."""

    V1 = "v1"  # GM/T 0031-2014
    V4 = "v4"  # GB/T 38540-2020
    V5 = "v5"  # GM/T 0031-2025 (read only)
    VENDOR = "vendor"  # the proprietary stamp of 2024 treasury messages (spec.md §5.4)

    @property
    def standard(self) -> str:
        return _STANDARDS[self._value_]  # by the plain value: hashing a member runs Python code


_STANDARDS = {
    "v1": "GM/T 0031-2014",
    "v4": "GB/T 38540-2020",
    "v5": "GM/T 0031-2025",
    "vendor": "vendor format (not standard)",
}


class SealKind(enum.Enum):
    """A seal (电子印章) or a seal signature (电子签章)."""

    SEAL = "seal"
    SIGNATURE = "signature"


def split_tlvs(data: bytes, *, what: str) -> list[Tlv]:
    """Split concatenated DER TLVs into ``(class, method, tag, full_tlv, contents)`` tuples
    (:func:`ezhifu.crypto.der.split_tlvs`: the fast reader, asn1crypto for anything unusual)."""
    # Each element takes at least two bytes, so the bound never refuses a seal within the limit.
    return der_split_tlvs(data, what=what, max_items=MAX_SEAL_BYTES // 2 + 1, error=SealFormatError)


def _outer(der: bytes, what: str) -> list[Tlv]:
    if not isinstance(der, bytes | bytearray | memoryview):
        raise TypeError(f"{what} must be bytes, not {type(der).__name__}")
    der = bytes(der)
    if len(der) > MAX_SEAL_BYTES:
        raise SealFormatError(f"{what}: {len(der)} bytes exceeds the {MAX_SEAL_BYTES}-byte limit")
    if not der:
        raise SealFormatError(f"{what}: empty input")
    top = split_tlvs(der, what=what)
    if len(top) != 1:
        raise SealFormatError(f"{what}: {len(top) - 1} trailing element(s) after the outer SEQUENCE")
    class_, method, tag, _tlv, contents = top[0]
    if (class_, method, tag) != (0, 1, _SEQUENCE):
        raise SealFormatError(f"{what}: does not start with a DER SEQUENCE")
    return split_tlvs(contents, what=what)


def _is(item: Tlv, tag: int) -> bool:
    return item[0] == 0 and item[2] == tag


def _seal_header_version(seal_info_contents: bytes, what: str) -> int:
    children = split_tlvs(seal_info_contents, what=what)
    if not children or not _is(children[0], _SEQUENCE):
        raise SealFormatError(f"{what}: SES_SealInfo does not start with SES_Header")
    header = split_tlvs(children[0][4], what=what)
    if len(header) != 3 or not _is(header[1], _INTEGER):
        raise SealFormatError(f"{what}: SES_Header is not SEQUENCE {{ID, version, Vid}}")
    return int.from_bytes(header[1][4], "big", signed=True)


def _seal_version(children: list[Tlv], what: str) -> SealVersion:
    if len(children) == 2:
        return SealVersion.V1
    if len(children) == 5:
        return SealVersion.V5
    if len(children) == 4:
        version = _seal_header_version(children[0][4], what)
        return SealVersion.V5 if version == 5 else SealVersion.V4
    raise SealFormatError(f"{what}: SESeal with {len(children)} elements (expected 2, 4 or 5)")


class _SealDetections:
    """Bounded LRU of the versions of seals (or of seal signatures) detected before, by their
    exact bytes.

    Applying a seal detects the same seal bytes on every voucher, and a stamp's signature is
    detected each time it is read (a signature written by asn1crypto is also read back after
    writing). The answer depends on nothing but the bytes, so it is kept
    for inputs of at most :data:`MAX_REMEMBERED_SEAL` bytes; refusals are never kept (they are
    raised again, with their context, on every call).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[bytes, SealVersion] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, raw: bytes) -> SealVersion | None:
        with self._lock:
            version = self._items.get(raw)
            if version is not None:
                self._items.move_to_end(raw)
            return version

    def put(self, raw: bytes, version: SealVersion) -> None:
        if len(raw) > MAX_REMEMBERED_SEAL:
            return
        with self._lock:
            self._items[raw] = version
            self._items.move_to_end(raw)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


#: Largest seal whose detection is remembered (a seal with its picture is a few tens of kB).
MAX_REMEMBERED_SEAL = 256 * 1024
#: Seals whose detection is remembered: at most 64 x 256 KiB.
DETECTED_SEALS = _SealDetections(64)
#: Seal signatures whose detection is remembered (each differs, but may be detected again):
#: the last 16, kept apart so they never push out a seal.
DETECTED_SIGNATURES = _SealDetections(16)


def detect(der: bytes, *, what: str = "seal data") -> tuple[SealKind, SealVersion]:
    """Return whether ``der`` is a seal or a seal signature and which standard it follows.

    Raises :class:`SealFormatError` (OCX error 114, "不是合法的印章/签章数据") when it is neither.
    """
    raw = der if type(der) is bytes else None
    if raw is not None:
        known = DETECTED_SEALS.get(raw)
        if known is not None:
            return SealKind.SEAL, known
        known = DETECTED_SIGNATURES.get(raw)
        if known is not None:
            return SealKind.SIGNATURE, known
    kind, version = _detect(der, what)
    if raw is not None:
        (DETECTED_SEALS if kind is SealKind.SEAL else DETECTED_SIGNATURES).put(raw, version)
    return kind, version


def _detect(der: bytes, what: str) -> tuple[SealKind, SealVersion]:
    children = _outer(der, what)
    if not children:
        raise SealFormatError(f"{what}: empty SEQUENCE")
    first = children[0]
    if _is(first, _INTEGER):
        # Vendor layouts: SEQUENCE { INTEGER 2, OCTET STRING seal | sealId, OCTET STRING ... }.
        if len(children) >= 3 and all(_is(c, _OCTET_STRING) for c in children[1:3]):
            kind = SealKind.SIGNATURE if len(children) == 5 else SealKind.SEAL
            return kind, SealVersion.VENDOR
        raise SealFormatError(f"{what}: starts with an INTEGER but is not a known vendor stamp layout")
    if not _is(first, _SEQUENCE):
        raise SealFormatError(f"{what}: first element is neither SES_SealInfo nor TBS_Sign")
    inner = split_tlvs(first[4], what=what)
    if inner and _is(inner[0], _SEQUENCE):
        return SealKind.SEAL, _seal_version(children, what)
    if not inner or not _is(inner[0], _INTEGER):
        raise SealFormatError(f"{what}: first element is neither SES_SealInfo nor TBS_Sign")
    if len(children) == 2:
        return SealKind.SIGNATURE, SealVersion.V1
    if len(children) not in (4, 5):
        raise SealFormatError(f"{what}: SES_Signature with {len(children)} elements (expected 2, 4 or 5)")
    if len(inner) < 2 or not _is(inner[1], _SEQUENCE):
        raise SealFormatError(f"{what}: TBS_Sign has no SESeal as its second element")
    if DETECTED_SEALS.get(inner[1][3]) is SealVersion.V4:
        # The exact bytes of a seal detected before as v4: a SES_SealInfo with a header whose
        # version is not 5, the rule below, read when that seal was detected.
        return SealKind.SIGNATURE, SealVersion.V4
    seal_children = split_tlvs(inner[1][4], what=what)
    if not seal_children or not _is(seal_children[0], _SEQUENCE):
        raise SealFormatError(f"{what}: the seal inside TBS_Sign has no SES_SealInfo")
    version = _seal_header_version(seal_children[0][4], what)
    return SealKind.SIGNATURE, (SealVersion.V5 if version == 5 else SealVersion.V4)


def detect_version(der: bytes, *, what: str = "seal data") -> SealVersion:
    """The version of a seal or seal signature (ofdrw ``VersionParser`` rules, see the module doc)."""
    return detect(der, what=what)[1]
