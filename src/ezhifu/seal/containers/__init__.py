"""One container class per seal format, and the one place that tells them apart.

* :class:`~ezhifu.seal.containers.v1.V1Container`: GM/T 0031-2014 (read and written);
* :class:`~ezhifu.seal.containers.v4.V4Container`: GB/T 38540-2020 (read and written);
* :class:`~ezhifu.seal.containers.v5.V5Container`: GM/T 0031-2025 (read only);
* :class:`~ezhifu.seal.containers.vendor.VendorContainer`: the 2024 vendor stamp (spec.md §5.4).

:func:`detect_container` reads the bytes (:func:`ezhifu.seal.detect.detect`, ofdrw's rules) and
returns the container for them; :func:`writer_for` the container that writes a named version.
A new format is a new class here and a line in :data:`CONTAINERS` (docs/verification.md).
"""

from __future__ import annotations

from ezhifu.errors import InvalidInput
from ezhifu.seal.containers.base import SealContainer, SealContent
from ezhifu.seal.containers.v1 import V1Container
from ezhifu.seal.containers.v4 import V4Container
from ezhifu.seal.containers.v5 import V5Container
from ezhifu.seal.containers.vendor import VendorContainer
from ezhifu.seal.detect import SealKind, SealVersion, detect
from ezhifu.seal.model import Seal, SealSignature

__all__ = [
    "CONTAINERS",
    "SealContainer",
    "SealContent",
    "V1Container",
    "V4Container",
    "V5Container",
    "VendorContainer",
    "container_for",
    "detect_container",
    "parse_detected_signature",
    "parse_seal",
    "parse_signature",
    "writer_for",
]

#: Every seal format ezhifu reads, by the version detection reports.
CONTAINERS: dict[SealVersion, type[SealContainer]] = {
    SealVersion.V1: V1Container,
    SealVersion.V4: V4Container,
    SealVersion.V5: V5Container,
    SealVersion.VENDOR: VendorContainer,
}
_WRITERS = {c.version.value: c for c in CONTAINERS.values() if c.writable}


def container_for(version: SealVersion, kind: SealKind = SealKind.SEAL) -> SealContainer:
    """The container of a known version (e.g. of a parsed :class:`~ezhifu.seal.model.Seal`)."""
    return CONTAINERS[version](kind)


def detect_container(data: bytes, *, what: str = "seal data") -> SealContainer:
    """The container for ``data``, a seal or a seal signature of any supported format.

    Raises :class:`~ezhifu.errors.SealFormatError` when ``data`` is none of them.
    """
    kind, version = detect(data, what=what)
    return CONTAINERS[version](kind)


def writer_for(version: str) -> SealContainer:
    """The container that makes seals of ``version`` (``"v1"`` or ``"v4"``)."""
    container = _WRITERS.get(version) if isinstance(version, str) else None
    if container is None:
        raise InvalidInput(f"seal version must be 'v1' or 'v4', not {version!r}")
    return container(SealKind.SEAL)


def parse_seal(der: bytes, *, what: str = "seal") -> Seal:
    """Parse a ``SESeal`` of version v1, v4 or v5 (raises :class:`~ezhifu.errors.SealFormatError`).

    Vendor seals are read by :mod:`ezhifu.seal.vendor`, not here.
    """
    raw = bytes(der)
    return detect_container(raw, what=what).parse_seal(raw, what=what)


def parse_signature(der: bytes, *, what: str = "seal signature") -> SealSignature:
    """Parse an ``SES_Signature`` of version v1, v4 or v5 (raises :class:`~ezhifu.errors.SealFormatError`)."""
    raw = bytes(der)
    return detect_container(raw, what=what).parse_signature(raw, what=what)


def parse_detected_signature(
    raw: bytes, kind: SealKind, version: SealVersion, *, what: str = "seal signature"
) -> SealSignature:
    """:func:`parse_signature` for a caller that has already run :func:`~ezhifu.seal.detect.detect`."""
    return CONTAINERS[version](kind).parse_signature(raw, what=what)
