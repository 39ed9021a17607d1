"""The fast reader of the fixed v4 ``SES_Signature`` layout (issue 17 item 1; docs/performance.md).

Every seal signature of a batch made by ezhifu and by the usual vendors has the same plain DER
layout (GB/T 38540-2020 clause 7.1)::

    SES_Signature ::= SEQUENCE { toSign TBS_Sign, cert OCTET STRING, signatureAlgID OID,
                                 signature BIT STRING, timeStamp [0] ANY OPTIONAL }
    TBS_Sign ::= SEQUENCE { version INTEGER, eseal SESeal, timeInfo GeneralizedTime,
                            dataHash BIT STRING, propertyInfo IA5String, extDatas ANY OPTIONAL }

asn1crypto (pure Python) decodes it in about 0.1 ms. :func:`read_v4_signature` reads the same
fields with :func:`ezhifu.crypto.der.fast_tlv` when the embedded seal is one decoded before (the
seal cache, :data:`ezhifu.seal.model.SEALS`: its exact bytes), and returns ``None`` ("decline")
for anything else: another tag or element count, a long or negative version, a time that is not
``YYYYMMDDhhmmssZ``, a BIT STRING with unused bits, a non-ASCII ``propertyInfo``, an OID
with a non-minimal arc, any length this reader does not take. The caller then decodes with
asn1crypto, whose answer (or error) stands. The optional ``extDatas`` and ``timeStamp`` go
through the same helpers as the asn1crypto path. ``tests/seal/test_fast_signature.py`` checks
that both give the same :class:`~ezhifu.seal.model.SealSignature` on every v4 signature of the
suite and on hypothesis mutations, or that the fast reader declines.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ezhifu.crypto.der import fast_tlv
from ezhifu.seal.asn1 import v4 as asn1_v4
from ezhifu.seal.detect import SealVersion
from ezhifu.seal.model import Seal, SealSignature, extensions_of

__all__ = ["read_v4_signature"]

#: ``(cls, method, tag, element start, contents start, end)`` of one element.
_Element = tuple[int, int, int, int, int, int]
_TIME = re.compile(rb"\d{14}Z")
_SEQUENCE, _INTEGER, _BIT_STRING, _OCTET_STRING, _OID, _IA5, _GENERALIZED = 16, 2, 3, 4, 6, 22, 24


def _elements(data: bytes, start: int, end: int, most: int) -> list[_Element] | None:
    """The elements of ``data[start:end]``, at most ``most``; ``None`` to decline."""
    out: list[_Element] = []
    pos = start
    while pos < end:
        if len(out) == most:
            return None
        item = fast_tlv(data, pos)
        if item is None or item[4] > end:
            return None
        out.append((item[0], item[1], item[2], pos, item[3], item[4]))
        pos = item[4]
    return out


def _is(item: _Element, tag: int) -> bool:
    return item[0] == 0 and item[1] == (1 if tag == _SEQUENCE else 0) and item[2] == tag


def _bits(data: bytes, item: _Element) -> bytes | None:
    """The octets of a BIT STRING without unused bits (asn1crypto ``OctetBitString``)."""
    if item[5] == item[4] or data[item[4]] != 0:
        return None
    return data[item[4] + 1 : item[5]]


def _oid(contents: bytes) -> str | None:
    """Dotted text of an OBJECT IDENTIFIER (X.690 clause 8.19), minimal arcs only."""
    if not contents or contents[-1] & 0x80:
        return None
    arcs: list[int] = []
    value = 0
    fresh = True
    for octet in contents:
        if fresh and octet == 0x80:  # a non-minimal arc
            return None
        value = (value << 7) | (octet & 0x7F)
        fresh = not octet & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(arc) for arc in head + arcs[1:])


def _time(contents: bytes) -> datetime | None:
    if _TIME.fullmatch(contents) is None:
        return None
    text = contents.decode("ascii")
    try:
        return datetime(
            int(text[0:4]), int(text[4:6]), int(text[6:8]),
            int(text[8:10]), int(text[10:12]), int(text[12:14]), tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None


def read_v4_signature(raw: bytes, seal: Seal, label: str) -> SealSignature | None:
    """``raw`` decoded as a v4 ``SES_Signature`` embedding exactly ``seal``, or ``None``."""
    outer = fast_tlv(raw, 0)
    if outer is None or outer[:3] != (0, 1, _SEQUENCE) or outer[4] != len(raw):
        return None
    top = _elements(raw, outer[3], outer[4], 5)
    if top is None or len(top) < 4:
        return None
    to_sign, cert, alg, signature = top[:4]
    if not (
        _is(to_sign, _SEQUENCE)
        and _is(cert, _OCTET_STRING)
        and _is(alg, _OID)
        and _is(signature, _BIT_STRING)
    ):
        return None
    tbs = _elements(raw, to_sign[4], to_sign[5], 6)
    if tbs is None or len(tbs) < 5:
        return None
    version, eseal, time_info, data_hash, prop = tbs[:5]
    if not (_is(version, _INTEGER) and _is(eseal, _SEQUENCE) and _is(time_info, _GENERALIZED)):
        return None
    if not (_is(data_hash, _BIT_STRING) and _is(prop, _IA5)):
        return None
    if raw[eseal[3] : eseal[5]] != seal.raw or seal.version is not SealVersion.V4:
        return None
    version_octets = raw[version[4] : version[5]]
    time_raw = raw[time_info[4] : time_info[5]]
    when = _time(time_raw)
    hashed, value = _bits(raw, data_hash), _bits(raw, signature)
    algorithm = _oid(raw[alg[4] : alg[5]])
    prop_octets = raw[prop[4] : prop[5]]
    if len(version_octets) != 1 or version_octets[0] > 0x7F or when is None:
        return None
    if hashed is None or value is None or algorithm is None or not prop_octets.isascii():
        return None
    ext = raw[tbs[5][3] : tbs[5][5]] if len(tbs) == 6 else None
    stamp = raw[top[4][3] : top[4][5]] if len(top) == 5 else None
    return SealSignature(
        version=SealVersion.V4,
        tbs_version=version_octets[0],
        seal=seal,
        signing_time=when,
        time_info_raw=time_raw,
        data_hash=hashed,
        property_info=prop_octets.decode("ascii"),
        signer_cert=raw[cert[4] : cert[5]],
        algorithm_oid=algorithm,
        signature=value,
        tbs_bytes=raw[to_sign[3] : to_sign[5]],
        time_stamp=asn1_v4.decode_time_stamp(stamp, what=f"{label}.timeStamp"),
        extensions=extensions_of(ext, f"{label}.toSign.extDatas"),
        raw=raw,
    )
