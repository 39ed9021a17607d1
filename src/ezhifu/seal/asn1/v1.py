"""ASN.1 of the GM/T 0031-2014 electronic seal and seal signature ("v1").

Declarations follow GM/T 0031-2014 《安全电子签章密码技术规范》 clause 6.1.1 (seal, 电子印章数据格式)
and clause 6.2.1 (electronic signature, 电子签章数据格式); type and field names are spelt as printed in
the standard (including its ``SES_ESPictrueInfo``). Where the printed text is not valid ASN.1 the
choice of every public implementation examined (ofdrw, ofd.js, an OpenSSL-based verifier) is
followed and noted on the class.

Parsing tolerates what deployed v1 readers tolerate (ofdrw's "兼容非标签章" fallbacks): a
``GeneralizedTime`` where ``UTCTime`` is declared, an ``OCTET STRING`` where ``BIT STRING`` is declared
for ``timeInfo``/``dataHash``, and ``extDatas`` untagged, context-tagged or OCTET STRING-wrapped.
Writers in :mod:`ezhifu.seal.make` and :mod:`ezhifu.seal.apply` emit the declared types only.

Decoded objects keep the bytes as received: :meth:`asn1crypto.core.Asn1Value.dump` of an unmodified
parsed value returns the original encoding, which is what verification hashes (never a re-encoding).
"""

from __future__ import annotations

from typing import Any, ClassVar

from asn1crypto import core

__all__ = [
    "BinaryValue",
    "CertList",
    "ExtData",
    "ExtensionDatas",
    "MakerToSign",
    "SES_ESPictrueInfo",
    "SES_ESPropertyInfo",
    "SES_Header",
    "SES_SealInfo",
    "SES_SignInfo",
    "SES_Signature",
    "SES_Time",
    "SESeal",
    "TBS_Sign",
]


class ExtData(core.Sequence):  # type: ignore[misc]
    """``ExtData`` (GM/T 0031-2014 clause 6.1.1; same shape as the X.509 ``Extension``).

    ``critical BOOLEAN DEFAULT FALSE``; an explicitly encoded ``FALSE`` (seen in vendor seals) is kept
    as received because parsed values are never re-encoded.
    """

    _fields: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("extnID", core.ObjectIdentifier, {}),
        ("critical", core.Boolean, {"default": False}),
        ("extnValue", core.OctetString, {}),
    ]


class ExtensionDatas(core.SequenceOf):  # type: ignore[misc]
    """``ExtensionDatas ::= SEQUENCE SIZE (0..MAX) OF ExtData`` (GM/T 0031-2014 clause 6.1.1).

    The standard prints ``extDatas EXPLICIT ExtensionDatas OPTIONAL`` without a tag number (not valid
    ASN.1); every implementation writes it untagged, and so does ezhifu.
    """

    _child_spec = ExtData


class SES_Header(core.Sequence):  # type: ignore[misc]
    """``SES_Header ::= SEQUENCE { ID IA5String, version INTEGER, Vid IA5String }``.

    GM/T 0031-2014 clause 6.1.1: ``ID`` is fixed ``"ES"``; ``version`` is free-form in v1 (the
    standard's example is 11, ofdrw writes 1); ``Vid`` names the vendor.
    """

    _fields: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("ID", core.IA5String, {}),
        ("version", core.Integer, {}),
        ("Vid", core.IA5String, {}),
    ]


class SES_Time(core.Choice):  # type: ignore[misc]
    """A v1 seal date: declared ``UTCTime`` (clause 6.1.1); ``GeneralizedTime`` accepted when reading."""

    _alternatives: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("utcTime", core.UTCTime, {}),
        ("generalTime", core.GeneralizedTime, {}),
    ]


class CertList(core.SequenceOf):  # type: ignore[misc]
    """``certList SEQUENCE OF cert`` with ``cert ::= OCTET STRING`` (DER X.509 certificate).

    GM/T 0031-2014 clause 6.1.1 never defines ``cert``; all implementations use an OCTET STRING
    holding the DER certificate of a signer (签章人) allowed to use the seal.
    """

    _child_spec = core.OctetString


class SES_ESPropertyInfo(core.Sequence):  # type: ignore[misc]
    """``SES_ESPropertyInfo`` (GM/T 0031-2014 clause 6.1.1): type, name, certList and three dates.

    ``type`` is 1 for a unit (organisation) seal and 2 for a personal seal.
    """

    _fields: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("type", core.Integer, {}),
        ("name", core.UTF8String, {}),
        ("certList", CertList, {}),
        ("createDate", SES_Time, {}),
        ("validStart", SES_Time, {}),
        ("validEnd", SES_Time, {}),
    ]


class SES_ESPictrueInfo(core.Sequence):  # type: ignore[misc]
    """``SES_ESPictrueInfo`` (sic; GM/T 0031-2014 clause 6.1.1): picture type, data, size in mm."""

    _fields: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("type", core.IA5String, {}),
        ("data", core.OctetString, {}),
        ("width", core.Integer, {}),
        ("height", core.Integer, {}),
    ]


class SES_SealInfo(core.Sequence):  # type: ignore[misc]
    """``SES_SealInfo`` (GM/T 0031-2014 clause 6.1.1): header, esID, property, picture, extDatas.

    ``extDatas`` is declared :class:`asn1crypto.core.Any` so that readers accept the untagged
    ``ExtensionDatas`` (what is written), a context-tagged or an OCTET STRING-wrapped form; use
    :func:`ezhifu.seal.asn1.v4.decode_ext_datas` to read it.
    """

    _fields: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("header", SES_Header, {}),
        ("esID", core.IA5String, {}),
        ("property", SES_ESPropertyInfo, {}),
        ("picture", SES_ESPictrueInfo, {}),
        ("extDatas", core.Any, {"optional": True}),
    ]


class SES_SignInfo(core.Sequence):  # type: ignore[misc]
    """``SES_SignInfo`` (GM/T 0031-2014 clause 6.1.1): the seal maker's (制章人) signature.

    ``signData`` is the maker's signature over the DER of
    ``SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }`` (clause 6.1.1, "制章人对…签名").
    """

    _fields: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("cert", core.OctetString, {}),
        ("signatureAlgorithm", core.ObjectIdentifier, {}),
        ("signData", core.OctetBitString, {}),
    ]


class MakerToSign(core.Sequence):  # type: ignore[misc]
    """What the maker signs (clause 6.1.1): ``SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }``.

    Not a field of ``SESeal``: the standard names it in words. A writer builds it from these
    fields; a reader rebuilds it from the raw slices it received (never a re-encoding).
    """

    _fields: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("esealInfo", SES_SealInfo, {}),
        ("cert", core.OctetString, {}),
        ("signatureAlgorithm", core.ObjectIdentifier, {}),
    ]


class SESeal(core.Sequence):  # type: ignore[misc]
    """``SESeal ::= SEQUENCE { esealInfo SES_SealInfo, signInfo SES_SignInfo }`` (clause 6.1.1)."""

    _fields: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("esealInfo", SES_SealInfo, {}),
        ("signInfo", SES_SignInfo, {}),
    ]


class BinaryValue(core.Choice):  # type: ignore[misc]
    """A v1 ``BIT STRING`` field (``timeInfo``, ``dataHash``); ``OCTET STRING`` accepted on read.

    GM/T 0031-2014 clause 6.2.1 declares both as BIT STRING; ofdrw's reader also takes OCTET STRING.
    """

    _alternatives: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("bitString", core.OctetBitString, {}),
        ("octetString", core.OctetString, {}),
    ]


class TBS_Sign(core.Sequence):  # type: ignore[misc]
    """``TBS_Sign`` (GM/T 0031-2014 clause 6.2.1): what the signer (签章人) signs.

    version, the seal, ``timeInfo`` (a time string or a timestamp token in a BIT STRING), ``dataHash``
    (hash of the original data), ``propertyInfo`` (which data is protected), the signer certificate
    and the signature algorithm OID: in v1 the certificate and algorithm are inside the signed part.
    """

    _fields: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("version", core.Integer, {}),
        ("eseal", SESeal, {}),
        ("timeInfo", BinaryValue, {}),
        ("dataHash", BinaryValue, {}),
        ("propertyInfo", core.IA5String, {}),
        ("cert", core.OctetString, {}),
        ("signatureAlgorithm", core.ObjectIdentifier, {}),
    ]


class SES_Signature(core.Sequence):  # type: ignore[misc]
    """``SES_Signature ::= SEQUENCE { toSign TBS_Sign, signature BIT STRING }`` (clause 6.2.1).

    ``signature`` is the signer's signature over the DER of ``toSign`` as received.
    """

    _fields: ClassVar[list[tuple[str, type[core.Asn1Value], dict[str, Any]]]] = [
        ("toSign", TBS_Sign, {}),
        ("signature", core.OctetBitString, {}),
    ]
