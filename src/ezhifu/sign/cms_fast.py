"""A fast reader of the fixed CMS layout ezhifu verifies most: a detached ``SignedData`` with one
signer and no signed or unsigned attributes (RFC 5652 clauses 3, 5.1, 5.3; the deployed profile
of spec.md §5.3, and what :func:`ezhifu.sign.cms.sign_detached` writes by default).

:func:`read_signed_data` walks the DER with :func:`ezhifu.crypto.der.fast_tlv` and returns the
parts :mod:`ezhifu.sign.cms_verify` reads, as bytes, or ``None`` ("decline": asn1crypto then
reads the CMS and its answer, or error, stands) for anything else: another shape or count of
elements, an embedded content, a ``crls`` field, a certificate choice that is not a plain
``Certificate``, a subject-key-identifier ``sid``, signed or unsigned attributes, a version other
than 1, a content type that is not (GB/T 35275) SignedData / data, BER, a non-minimal length,
trailing bytes. It never answers where asn1crypto would refuse: the fields asn1crypto decodes
on the way (the ``sid`` and the two algorithm identifiers) are decoded by the same asn1crypto
classes from the same bytes (:func:`decode_constant_field`), and
``tests/crypto/test_cms_fast_reader.py`` checks that a verification through this reader equals
one through asn1crypto over every DER file of the suite and hypothesis mutations of them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms, core

from ezhifu.crypto.der import fast_tlv
from ezhifu.crypto.oids import OID_DATA, OID_SIGNED_DATA
from ezhifu.crypto.oids import OID_SM2_DATA as OID_GBT_DATA
from ezhifu.crypto.oids import OID_SM2_SIGNED_DATA as OID_GBT_SIGNED_DATA

__all__ = ["FastSignedData", "FastSignerInfo", "decode_constant_field", "read_signed_data"]

_SEQUENCE, _SET, _INTEGER, _OCTET_STRING, _OID, _TAG0 = 0x30, 0x31, 0x02, 0x04, 0x06, 0xA0
_SIGNED_DATA_TYPES = {
    bytes(core.ObjectIdentifier(o).dump()): o for o in (OID_SIGNED_DATA, OID_GBT_SIGNED_DATA)
}
_DATA_TYPES = {bytes(core.ObjectIdentifier(o).dump()): o for o in (OID_DATA, OID_GBT_DATA)}
_VERSION_1 = b"\x01"

#: One element: its identifier octet, start, contents start, end.
_Element = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class FastSignedData:
    """The parts of a detached one-signer ``SignedData`` (each the exact DER received)."""

    content_type: str  # ContentInfo.contentType, dotted: (GB/T 35275) signedData
    e_content_type: str  # encapContentInfo.eContentType, dotted: (GB/T 35275) data
    certificates: tuple[bytes, ...]  # each Certificate of the [0] IMPLICIT set, in order
    sid: bytes  # SignerInfo.sid, an IssuerAndSerialNumber
    digest_algorithm: bytes  # SignerInfo.digestAlgorithm
    signature_algorithm: bytes  # SignerInfo.signatureAlgorithm
    signature: bytes  # the contents of SignerInfo.signature (the value itself)


def _children(data: bytes, start: int, end: int) -> list[_Element] | None:
    """The elements that exactly fill ``data[start:end]``, or ``None`` for anything not plain DER."""
    out: list[_Element] = []
    pos = start
    while pos < end:
        item = fast_tlv(data, pos)
        if item is None or item[4] > end:
            return None
        out.append((data[pos], pos, item[3], item[4]))
        pos = item[4]
    return out


def _only(data: bytes, element: _Element, identifier: int) -> _Element | None:
    """The one child of ``element`` when it has exactly one, with this identifier octet."""
    inner = _children(data, element[2], element[3])
    return inner[0] if inner is not None and len(inner) == 1 and inner[0][0] == identifier else None


def _whole(data: bytes, element: _Element) -> bytes:
    return data[element[1] : element[3]]


def read_signed_data(der: bytes) -> FastSignedData | None:
    """The parts of ``der`` when it is exactly the fixed layout (module doc), else ``None``."""
    top = _children(der, 0, len(der))
    if top is None or len(top) != 1 or top[0][0] != _SEQUENCE:
        return None
    info = _children(der, top[0][2], top[0][3])
    if info is None or len(info) != 2 or info[0][0] != _OID or info[1][0] != _TAG0:
        return None
    content_type = _SIGNED_DATA_TYPES.get(_whole(der, info[0]))
    signed = _only(der, info[1], _SEQUENCE)
    parts = None if signed is None else _children(der, signed[2], signed[3])
    if content_type is None or parts is None or len(parts) not in (4, 5):
        return None
    version, algorithms, encap, *certs, infos = parts
    if (version[0], _contents(der, version), algorithms[0], encap[0], infos[0]) != (
        _INTEGER, _VERSION_1, _SET, _SEQUENCE, _SET,
    ):  # fmt: skip
        return None
    digests = _children(der, algorithms[2], algorithms[3])
    e_type = _only(der, encap, _OID)
    if digests is None or any(d[0] != _SEQUENCE for d in digests) or e_type is None:
        return None
    certificates = _certificates(der, certs)
    signer = _only(der, infos, _SEQUENCE)
    fields = None if signer is None else _children(der, signer[2], signer[3])
    e_content_type = _DATA_TYPES.get(_whole(der, e_type))
    if certificates is None or fields is None or e_content_type is None or len(fields) != 5:
        return None
    s_version, sid, digest, algorithm, signature = fields
    identifiers = (s_version[0], sid[0], digest[0], algorithm[0], signature[0])
    if identifiers != (_INTEGER, _SEQUENCE, _SEQUENCE, _SEQUENCE, _OCTET_STRING):
        return None
    if _contents(der, s_version) != _VERSION_1:
        return None
    return FastSignedData(
        content_type,
        e_content_type,
        certificates,
        _whole(der, sid),
        _whole(der, digest),
        _whole(der, algorithm),
        _contents(der, signature),
    )


def _contents(data: bytes, element: _Element) -> bytes:
    return data[element[2] : element[3]]


def _certificates(der: bytes, certs: list[_Element]) -> tuple[bytes, ...] | None:
    """The ``[0] IMPLICIT`` certificate set's plain certificates (``()`` when absent)."""
    if not certs:
        return ()
    if certs[0][0] != _TAG0:
        return None  # crls [1] without certificates, or another element
    items = _children(der, certs[0][2], certs[0][3])
    if items is None or any(item[0] != _SEQUENCE for item in items):
        return None
    return tuple(_whole(der, item) for item in items)


#: SignerInfo fields that are the same on every CMS one signer makes (RFC 5652 clause 5.3),
#: with the class that decodes each of them.
CONSTANT_FIELDS: dict[str, type[core.Asn1Value]] = {
    "sid": cms.SignerIdentifier,
    "digest_algorithm": cms.DigestAlgorithm,
    "signature_algorithm": cms.SignedDigestAlgorithm,
}


@functools.lru_cache(maxsize=1024)
def decode_constant_field(name: str, der: bytes) -> Any:
    """One constant SignerInfo field decoded fully (raises ``ValueError`` etc. when malformed).

    Cached by the field name and its exact DER: the identifier (issuer name and serial) and the
    algorithm identifiers repeat on every CMS of a signer, and decoding them (a Name above all)
    is most of the cost of decoding a SignerInfo. Only successful decodes are remembered, so a
    defect is reported every time. The object returned is shared: it is only read.
    """
    value = CONSTANT_FIELDS[name].load(der, strict=True)
    value.native  # noqa: B018
    return value


class FastSignerInfo:
    """The one SignerInfo of a :class:`FastSignedData`, read by field name as asn1crypto's
    ``cms.SignerInfo`` is by the verification steps (no attributes: both are ``Void``)."""

    __slots__ = ("_fields",)

    def __init__(self, signed: FastSignedData) -> None:
        self._fields: dict[str, Any] = {
            "sid": decode_constant_field("sid", signed.sid),
            "digest_algorithm": decode_constant_field("digest_algorithm", signed.digest_algorithm),
            "signature_algorithm": decode_constant_field("signature_algorithm", signed.signature_algorithm),
            "signature": core.OctetString(signed.signature),
            "signed_attrs": core.Void(),
            "unsigned_attrs": core.Void(),
        }

    def __getitem__(self, name: str) -> Any:
        return self._fields[name]
