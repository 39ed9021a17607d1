"""GB/T 38540-2020 (v4) seals and seal signatures: read and written.

The maker signs ``SES_SealInfo`` as received (clause 6.1); the signer signs ``TBS_Sign`` (clause
7.1), with the signer certificate, algorithm, signature and the optional ``timeStamp [0]`` beside
it. Holder certificates are listed as certificates (``certListType`` 1) or digests (2).
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import core

from ezhifu.crypto.der import tlv
from ezhifu.seal.asn1 import v4 as asn1_v4
from ezhifu.seal.containers.base import (
    MakerPart,
    SealContainer,
    SealContent,
    SignatureContent,
    SignaturePart,
    Signing,
    stamp_token,
)
from ezhifu.seal.containers.fast import read_v4_signature
from ezhifu.seal.detect import SealVersion
from ezhifu.seal.model import Seal, SealSignature, extensions_of, optional, time_native
from ezhifu.seal.placement import TimestampHook

__all__ = ["V4Container"]


class V4Container(SealContainer):
    """GB/T 38540-2020 ``SESeal`` / ``SES_Signature``."""

    version = SealVersion.V4
    seal_spec = asn1_v4.SESeal
    signature_spec = asn1_v4.SES_Signature
    writable = True
    writes_version = 4
    seal_info_spec = asn1_v4.SES_SealInfo
    tbs_spec = asn1_v4.TBS_Sign

    # --- reading --------------------------------------------------------------------------

    def maker_part(self, obj: Any, top: list[bytes], what: str) -> MakerPart:
        return MakerPart(
            info=obj["eSealInfo"],
            signed=top[0],  # clause 6.1: the maker signs SES_SealInfo as is
            maker_cert=bytes(obj["cert"].native),
            algorithm_oid=obj["signAlgID"].dotted,
            maker_signature=bytes(obj["signedValue"].native),
            time_stamp=None,
        )

    def signature_part(
        self, obj: Any, tbs: Any, top: list[bytes], tbs_children: list[bytes], label: str
    ) -> SignaturePart:
        return SignaturePart(
            time_raw=bytes(tbs["timeInfo"].contents),
            signing_time=time_native(tbs["timeInfo"], f"{label}.timeInfo"),
            data_hash=bytes(tbs["dataHash"].native),
            signer_cert=bytes(obj["cert"].native),
            algorithm_oid=obj["signatureAlgID"].dotted,
            extensions=extensions_of(optional(tbs_children, 5), f"{label}.toSign.extDatas"),
            time_stamp=asn1_v4.decode_time_stamp(optional(top, 4), what=f"{label}.timeStamp"),
        )

    def fast_signature(self, raw: bytes, seal: Seal, label: str) -> SealSignature | None:
        return read_v4_signature(raw, seal, label)

    # --- writing --------------------------------------------------------------------------

    def property_info(self, content: SealContent) -> core.Sequence:
        return asn1_v4.SES_ESPropertyInfo(
            {
                "type": content.seal_type,
                "name": content.name,
                "certListType": asn1_v4.CERT_LIST_CERTS,
                "certList": asn1_v4.CertInfoList(list(content.holders)),
                "createDate": content.created,
                "validStart": content.valid_from,
                "validEnd": content.valid_to,
            }
        )

    def sealed(self, info: core.Sequence, content: SealContent, sign: Signing) -> core.Sequence:
        # Clause 6.1: the maker signs SES_SealInfo; its certificate and algorithm stand beside it.
        fields = {"eSealInfo": info, "cert": content.maker_cert, "signAlgID": content.algorithm_oid}
        return asn1_v4.SESeal({**fields, "signedValue": sign(bytes(info.dump()))})

    def tbs_fields(self, content: SignatureContent) -> dict[str, Any]:
        return {"timeInfo": content.when, "dataHash": content.data_hash}

    def signature_fields(
        self, content: SignatureContent, tbs: core.Sequence, signature: bytes, token: bytes | None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "toSign": tbs,
            "cert": content.signer_cert,
            "signatureAlgID": content.algorithm_oid,
            "signature": signature,
        }
        if token is not None:
            fields["timeStamp"] = asn1_v4.explicit_zero(core.OctetBitString(token))
        return fields

    def direct_signature(
        self, content: SignatureContent, sign: Signing, time_stamp: TimestampHook | None
    ) -> bytes | None:
        """The usual fields (a whole-second UTC time, ASCII ``propertyInfo``) written with
        :func:`ezhifu.crypto.der.tlv` around the seal's bytes; ``None`` leaves anything else to
        asn1crypto (``tests/seal/test_fast_signature.py`` checks that both write the same bytes)."""
        tbs_der = _tbs_der(content)
        if tbs_der is None:
            return None
        signature = sign(tbs_der)
        parts = [
            tbs_der,
            tlv(0x04, content.signer_cert),
            _oid_der(content.algorithm_oid),
            tlv(0x03, b"\x00" + signature),
        ]
        if time_stamp is not None:
            parts.append(tlv(0xA0, tlv(0x03, b"\x00" + stamp_token(time_stamp, signature))))
        return tlv(0x30, b"".join(parts))

    def _asn1_signature(
        self,
        seal: Seal,
        when: datetime,
        data_hash: bytes,
        property_info: str,
        signer_cert: bytes,
        algorithm_oid: str,
        sign: Signing,
        time_stamp: TimestampHook | None,
    ) -> bytes:
        """:meth:`asn1_signature`: the encoding the direct writer must match (the tests' seam)."""
        content = SignatureContent(seal, when, data_hash, property_info, signer_cert, algorithm_oid)
        return self.asn1_signature(content, sign, time_stamp)


def _tbs_der(content: SignatureContent) -> bytes | None:
    """``TBS_Sign`` written directly, or ``None`` for what asn1crypto writes differently
    (fractions of a second, a time outside years 1000-9999 or not in UTC, non-ASCII text)."""
    when = content.when
    if (
        when.tzinfo is None
        or when.utcoffset() != timedelta(0)
        or when.microsecond
        or not 1000 <= when.year <= 9999
    ):
        return None
    if not content.property_info.isascii():
        return None
    return tlv(
        0x30,
        b"\x02\x01\x04"  # version INTEGER 4
        + content.seal.raw
        + tlv(0x18, _generalized_time(when))
        + tlv(0x03, b"\x00" + content.data_hash)
        + tlv(0x16, content.property_info.encode("ascii")),
    )


def _generalized_time(when: datetime) -> bytes:
    """``YYYYMMDDhhmmssZ`` (X.690 clause 11.7) of a whole-second UTC time of years 1000-9999, as
    ``strftime("%Y%m%d%H%M%SZ")`` writes it (in a third of the time)."""
    fields = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    return b"%04d%02d%02d%02d%02d%02dZ" % fields


@functools.lru_cache(maxsize=64)
def _oid_der(dotted: str) -> bytes:
    """The DER OBJECT IDENTIFIER of an algorithm (a handful of values: cached)."""
    return bytes(core.ObjectIdentifier(dotted).dump())
