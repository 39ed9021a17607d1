"""ASN.1 of the GB/T 38540-2020 electronic seal and seal signature ("v4").

GB/T 38540-2020 《信息安全技术 安全电子签章密码技术规范》 clause 6.1 (seal, 电子印章数据格式) and
clause 7.1 (signature, 电子签章数据格式). The official text was not available to the authors: the
module is rebuilt from three independent implementations (ofdrw ``ses/v4``, an OpenSSL-based C++
verifier, ofd.js), which agree on every field, and from the GM/T 0031-2025 commentary that lists its
differences from 38540. Names follow the standard.

Changes from GM/T 0031-2014 (:mod:`ezhifu.seal.asn1.v1`): ``GeneralizedTime`` dates,
``certListType`` + ``SES_CertList`` CHOICE, the maker's certificate/algorithm/signature flattened into
``SESeal``, the signer certificate and algorithm moved out of ``TBS_Sign`` into ``SES_Signature``, an
optional timestamp and optional ``TBS_Sign`` extensions.

The two ``[0]`` fields (``TBS_Sign.extDatas`` and ``SES_Signature.timeStamp``) are tagged differently
by different implementations: ofdrw writes ``[0] EXPLICIT``, others none. They are declared
:class:`asn1crypto.core.Any` so that a reader accepts untagged, ``[0] EXPLICIT`` and ``[0] IMPLICIT``;
:func:`decode_ext_datas` and :func:`decode_time_stamp` interpret them, and :func:`explicit_zero`
builds the ``[0] EXPLICIT`` form that ezhifu writes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from asn1crypto import core, parser

from ezhifu.errors import SealFormatError
from ezhifu.seal.asn1 import Fields, derived_fields
from ezhifu.seal.asn1 import v1 as asn1_v1
from ezhifu.seal.asn1.v1 import ExtData, ExtensionDatas, SES_ESPictrueInfo, SES_Header

__all__ = [
    "CERT_LIST_CERTS",
    "CERT_LIST_DIGESTS",
    "CertDigestList",
    "CertDigestObj",
    "CertInfoList",
    "ExtData",
    "ExtensionDatas",
    "SES_CertList",
    "SES_ESPictrueInfo",
    "SES_ESPropertyInfo",
    "SES_Header",
    "SES_SealInfo",
    "SES_Signature",
    "SESeal",
    "TBS_Sign",
    "decode_ext_datas",
    "decode_time_stamp",
    "explicit_zero",
]

#: ``certListType`` values (GB/T 38540-2020 clause 6.1): 1 = certificates, 2 = certificate digests.
CERT_LIST_CERTS = 1
CERT_LIST_DIGESTS = 2


class CertInfoList(core.SequenceOf):  # type: ignore[misc]
    """``CertInfoList ::= SEQUENCE OF Cert``, ``Cert ::= OCTET STRING`` (DER X.509, GB/T 20518)."""

    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):  # type: ignore[misc]
    """``CertDigestObj ::= SEQUENCE { type PrintableString, value OCTET STRING }`` (clause 6.1).

    ``type`` is "自定义类型" (user-defined; the digest algorithm's name in practice), ``value`` the
    certificate digest.
    """

    _fields: ClassVar[Fields] = [
        ("type", core.PrintableString, {}),
        ("value", core.OctetString, {}),
    ]


class CertDigestList(core.SequenceOf):  # type: ignore[misc]
    """``CertDigestList ::= SEQUENCE OF CertDigestObj`` (clause 6.1)."""

    _child_spec = CertDigestObj


class SES_CertList:
    """``SES_CertList ::= CHOICE { certs CertInfoList, certDigestList CertDigestList }`` (clause 6.1).

    Both alternatives are ``SEQUENCE OF`` (universal tag 16), so the CHOICE cannot be resolved from
    the encoding: :class:`SES_ESPropertyInfo` dispatches on its ``certListType`` field (1 = certs,
    2 = digests), as ofdrw does. This class only names the alternatives.
    """

    alternatives: ClassVar[dict[int, type[core.SequenceOf]]] = {
        CERT_LIST_CERTS: CertInfoList,
        CERT_LIST_DIGESTS: CertDigestList,
    }


class SES_ESPropertyInfo(core.Sequence):  # type: ignore[misc]
    """``SES_ESPropertyInfo`` (GB/T 38540-2020 clause 6.1).

    ``type`` (business-defined seal type), ``name``, ``certListType``, ``certList`` (the
    ``SES_CertList`` CHOICE resolved by ``certListType``), and ``createDate``/``validStart``/
    ``validEnd`` as ``GeneralizedTime``.
    """

    def _cert_list_spec(self) -> type[core.Asn1Value]:
        kind = self["certListType"].native
        try:
            return SES_CertList.alternatives[kind]
        except KeyError:
            raise SealFormatError(
                f"SES_ESPropertyInfo.certListType is {kind}; GB/T 38540-2020 clause 6.1 allows 1 or 2"
            ) from None

    _fields: ClassVar[Fields] = [
        ("type", core.Integer, {}),
        ("name", core.UTF8String, {}),
        ("certListType", core.Integer, {}),
        ("certList", core.Any, {}),
        ("createDate", core.GeneralizedTime, {}),
        ("validStart", core.GeneralizedTime, {}),
        ("validEnd", core.GeneralizedTime, {}),
    ]
    _spec_callbacks: ClassVar[dict[str, Any]] = {"certList": _cert_list_spec}


class SES_SealInfo(core.Sequence):  # type: ignore[misc]
    """``SES_SealInfo`` (GB/T 38540-2020 clause 6.1): header, esID, property, picture, extDatas.

    The fields of GM/T 0031-2014 with the v4 ``SES_ESPropertyInfo``. ``extDatas``
    (``ExtensionDatas OPTIONAL``) is untagged in every implementation; it is declared ``Any`` so that
    odd encodings are still read (:func:`decode_ext_datas`).
    """

    _fields: ClassVar[Fields] = derived_fields(asn1_v1.SES_SealInfo, {"property": SES_ESPropertyInfo})


class SESeal(core.Sequence):  # type: ignore[misc]
    """``SESeal`` (GB/T 38540-2020 clause 6.1).

    ``cert`` is the seal maker's (制章者) DER certificate, ``signAlgID`` the signature algorithm
    (GB/T 33560), ``signedValue`` the maker's signature over the DER of ``eSealInfo`` as received.
    """

    _fields: ClassVar[Fields] = [
        ("eSealInfo", SES_SealInfo, {}),
        ("cert", core.OctetString, {}),
        ("signAlgID", core.ObjectIdentifier, {}),
        ("signedValue", core.OctetBitString, {}),
    ]


class TBS_Sign(core.Sequence):  # type: ignore[misc]
    """``TBS_Sign`` (GB/T 38540-2020 clause 7.1): what the signer signs.

    ``version`` (4), the seal, ``timeInfo`` (``GeneralizedTime``), ``dataHash`` (``BIT STRING``),
    ``propertyInfo`` (``IA5String``, at least the protected range) and ``extDatas [0]`` (optional;
    see the module doc on its tagging).
    """

    _fields: ClassVar[Fields] = [
        ("version", core.Integer, {}),
        ("eseal", SESeal, {}),
        ("timeInfo", core.GeneralizedTime, {}),
        ("dataHash", core.OctetBitString, {}),
        ("propertyInfo", core.IA5String, {}),
        ("extDatas", core.Any, {"optional": True}),
    ]


class SES_Signature(core.Sequence):  # type: ignore[misc]
    """``SES_Signature`` (GB/T 38540-2020 clause 7.1).

    ``cert`` is the signer's DER certificate, ``signatureAlgID`` its algorithm, ``signature`` the
    signature over the DER of ``toSign`` as received, and ``timeStamp [0]`` an optional GB/T 20520
    time-stamp token over ``signature`` (see the module doc on its tagging).
    """

    _fields: ClassVar[Fields] = [
        ("toSign", TBS_Sign, {}),
        ("cert", core.OctetString, {}),
        ("signatureAlgID", core.ObjectIdentifier, {}),
        ("signature", core.OctetBitString, {}),
        ("timeStamp", core.Any, {"optional": True}),
    ]


def _tlv(tlv: bytes) -> tuple[int, int, int, bytes]:
    """``(class, method, tag, contents)`` of one TLV as received."""
    class_, method, tag, _header, contents, _trailer = parser.parse(tlv, strict=True)
    return class_, method, tag, contents


def _zero_tag_inner(tlv: bytes, universal_tag: int, what: str) -> bytes:
    """Contents of a field that may be untagged, ``[0] EXPLICIT`` or ``[0] IMPLICIT``."""
    class_, method, tag, contents = _tlv(tlv)
    if class_ == 0 and tag == universal_tag:  # untagged
        return contents
    if class_ == 2 and tag == 0:
        if method == 1:
            # Constructed [0]: EXPLICIT when it holds exactly one TLV of the expected type.
            try:
                i_class, _i_method, i_tag, _h, i_contents, _t = parser.parse(contents, strict=True)
            except ValueError:
                i_class, i_tag, i_contents = -1, -1, b""
            if i_class == 0 and i_tag == universal_tag:
                return bytes(i_contents)
        return contents  # IMPLICIT
    raise SealFormatError(f"{what}: unexpected tag class {class_} number {tag}")


def decode_ext_datas(tlv: bytes | None, *, what: str = "extDatas") -> ExtensionDatas | None:
    """Read an ``ExtensionDatas`` encoded untagged, ``[0]`` EXPLICIT/IMPLICIT or OCTET STRING-wrapped.

    ``tlv`` is the field's raw TLV as received (``None`` when absent, then ``None`` is returned).
    Raises :class:`SealFormatError` on anything else.
    """
    if tlv is None:
        return None
    try:
        class_, method, tag, contents = _tlv(tlv)
        if (class_ == 0 and tag == 4) or (
            class_ == 2 and tag != 0 and method == 1
        ):  # OCTET STRING wrapping (ofdrw's tolerance)
            parsed = ExtensionDatas.load(contents, strict=True)
        elif class_ == 2 and tag == 0 and method == 1:
            # [0] EXPLICIT holds one SEQUENCE OF ExtData; [0] IMPLICIT holds the ExtData TLVs
            # themselves. With a single extension both readings see one SEQUENCE, so try both.
            try:
                parsed = ExtensionDatas.load(contents, strict=True)
                _ = parsed.native
            except ValueError:
                parsed = ExtensionDatas.load(core.Sequence(contents=contents).dump(), strict=True)
        else:
            inner = _zero_tag_inner(tlv, 16, what)
            parsed = ExtensionDatas.load(core.Sequence(contents=inner).dump(), strict=True)
        # Touch every element so a malformed entry is reported here, not later.
        _ = parsed.native
        result: ExtensionDatas = parsed
        return result
    except (ValueError, TypeError) as exc:
        raise SealFormatError(f"{what}: not a valid ExtensionDatas: {exc}") from exc


def decode_time_stamp(tlv: bytes | None, *, what: str = "SES_Signature.timeStamp") -> bytes | None:
    """The time-stamp token DER of a ``timeStamp [0] BIT STRING`` field (any of the three taggings).

    ``tlv`` is the field's raw TLV as received (``None`` when absent).
    """
    if tlv is None:
        return None
    try:
        contents = _zero_tag_inner(tlv, 3, what)
    except ValueError as exc:
        raise SealFormatError(f"{what}: {exc}") from exc
    if not contents or contents[0] != 0:
        raise SealFormatError(f"{what}: BIT STRING with unused bits or empty")
    return bytes(contents[1:])


def explicit_zero(value: core.Asn1Value) -> core.Any:
    """Wrap a freshly built ``value`` as ``[0] EXPLICIT`` (what ezhifu writes, matching ofdrw)."""
    tagged = value.copy()
    tagged.explicit = ((2, 0),)
    tagged.dump(force=True)  # recompute the header with the explicit tag
    return core.Any(tagged)
