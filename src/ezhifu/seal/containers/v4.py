"""GB/T 38540-2020 (v4) seals and seal signatures: read and written.

The maker signs ``SES_SealInfo`` as received (clause 6.1); the signer signs ``TBS_Sign`` (clause
7.1), with the signer certificate, algorithm, signature and the optional ``timeStamp [0]`` beside
it. Holder certificates are listed as certificates (``certListType`` 1) or digests (2).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import core

from ezhifu.crypto.der import tlv
from ezhifu.errors import SigningError, TimeStampError
from ezhifu.seal.asn1 import v4 as asn1_v4
from ezhifu.seal.containers.base import (
    MakerPart,
    SealContainer,
    SealContent,
    SignaturePart,
    Signing,
    picture_info,
)
from ezhifu.seal.containers.fast import read_v4_signature
from ezhifu.seal.detect import SealVersion
from ezhifu.seal.model import Seal, SealSignature, extensions_of, optional, time_native

__all__ = ["V4Container"]


class V4Container(SealContainer):
    """GB/T 38540-2020 ``SESeal`` / ``SES_Signature``."""

    version = SealVersion.V4
    seal_spec = asn1_v4.SESeal
    signature_spec = asn1_v4.SES_Signature
    writable = True

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
        if self.version is not SealVersion.V4:  # v5 (a subclass) has no fast reader
            return None
        return read_v4_signature(raw, seal, label)

    def build_seal(self, content: SealContent, sign: Signing) -> bytes:
        self.require_writable()
        prop = asn1_v4.SES_ESPropertyInfo(
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
        info = asn1_v4.SES_SealInfo(
            {
                "header": asn1_v4.SES_Header({"ID": "ES", "version": 4, "Vid": content.vid}),
                "esID": content.seal_id,
                "property": prop,
                "picture": picture_info(content),
            }
        )
        signature = sign(bytes(info.dump()))
        seal = asn1_v4.SESeal(
            {
                "eSealInfo": info,
                "cert": content.maker_cert,
                "signAlgID": content.algorithm_oid,
                "signedValue": signature,
            }
        )
        return bytes(seal.dump())

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
        time_stamp: Callable[[bytes], bytes] | None,
    ) -> bytes:
        """The DER ``SES_Signature``. The usual fields (a whole-second UTC time, ASCII
        ``propertyInfo``) are written with :func:`ezhifu.crypto.der.tlv` around the seal's bytes;
        anything else with asn1crypto (``tests/seal/test_fast_signature.py`` checks that both
        write the same bytes)."""
        self.require_writable()
        tbs_der = _tbs_der(seal, when, data_hash, property_info)
        if tbs_der is None:
            return self._asn1_signature(
                seal, when, data_hash, property_info, signer_cert, algorithm_oid, sign, time_stamp
            )
        signature = sign(tbs_der)
        parts = [tbs_der, tlv(0x04, signer_cert), _oid_der(algorithm_oid), tlv(0x03, b"\x00" + signature)]
        if time_stamp is not None:
            parts.append(tlv(0xA0, tlv(0x03, b"\x00" + _stamp(time_stamp, signature))))
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
        time_stamp: Callable[[bytes], bytes] | None,
    ) -> bytes:
        tbs = asn1_v4.TBS_Sign(
            {
                "version": 4,
                "eseal": asn1_v4.SESeal.load(seal.raw),  # embedded byte for byte as given
                "timeInfo": when,
                "dataHash": data_hash,
                "propertyInfo": property_info,
            }
        )
        signature = sign(bytes(tbs.dump()))
        fields: dict[str, Any] = {
            "toSign": tbs,
            "cert": signer_cert,
            "signatureAlgID": algorithm_oid,
            "signature": signature,
        }
        if time_stamp is not None:
            fields["timeStamp"] = asn1_v4.explicit_zero(core.OctetBitString(_stamp(time_stamp, signature)))
        return bytes(asn1_v4.SES_Signature(fields).dump())


def _stamp(time_stamp: Callable[[bytes], bytes], signature: bytes) -> bytes:
    try:
        return bytes(time_stamp(signature))
    except TimeStampError:  # ezhifu's own TSA client: its named error (ezhifu.pki.tsp)
        raise
    except Exception as exc:  # the hook is caller code (a TSA client)
        raise SigningError(f"time-stamp hook failed: {exc}") from exc


def _tbs_der(seal: Seal, when: datetime, data_hash: bytes, property_info: str) -> bytes | None:
    """``TBS_Sign`` written directly, or ``None`` for what asn1crypto writes differently
    (fractions of a second, a time outside years 1000-9999 or not in UTC, non-ASCII text)."""
    if (
        when.tzinfo is None
        or when.utcoffset() != timedelta(0)
        or when.microsecond
        or not 1000 <= when.year <= 9999
    ):
        return None
    if not property_info.isascii():
        return None
    return tlv(
        0x30,
        b"\x02\x01\x04"  # version INTEGER 4
        + seal.raw
        + tlv(0x18, when.strftime("%Y%m%d%H%M%SZ").encode("ascii"))
        + tlv(0x03, b"\x00" + data_hash)
        + tlv(0x16, property_info.encode("ascii")),
    )


@functools.lru_cache(maxsize=64)
def _oid_der(dotted: str) -> bytes:
    """The DER OBJECT IDENTIFIER of an algorithm (a handful of values: cached)."""
    return bytes(core.ObjectIdentifier(dotted).dump())
