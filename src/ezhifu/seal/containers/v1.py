"""GM/T 0031-2014 (v1) seals and seal signatures: read and written.

The maker signs ``SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }`` (clause 6.1.1,
:class:`~ezhifu.seal.asn1.v1.MakerToSign`); the signer signs ``TBS_Sign``, which carries the signer
certificate and algorithm inside it and ``timeInfo`` as a BIT STRING holding UTCTime text
(clause 6.2.1). Holder certificates are always listed as certificates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from asn1crypto import core

from ezhifu.errors import InvalidInput
from ezhifu.seal.asn1 import v1 as asn1_v1
from ezhifu.seal.containers.base import (
    MakerPart,
    SealContainer,
    SealContent,
    SignatureContent,
    SignaturePart,
    Signing,
)
from ezhifu.seal.detect import SealVersion
from ezhifu.seal.model import children, decode_v1_time_info
from ezhifu.seal.placement import TimestampHook

__all__ = ["V1Container"]


class V1Container(SealContainer):
    """GM/T 0031-2014 ``SESeal`` / ``SES_Signature``."""

    version = SealVersion.V1
    seal_spec = asn1_v1.SESeal
    signature_spec = asn1_v1.SES_Signature
    writable = True
    writes_version = 1  # ofdrw writes 1; the standard's example has 11 (free-form in v1)
    seal_info_spec = asn1_v1.SES_SealInfo
    tbs_spec = asn1_v1.TBS_Sign

    # --- reading --------------------------------------------------------------------------

    def maker_part(self, obj: Any, top: list[bytes], what: str) -> MakerPart:
        sign_info = obj["signInfo"]
        sign_children = children(top[1], f"{what}.signInfo")
        # Clause 6.1.1: the maker signs SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }, rebuilt
        # from the raw slices received (seal_sm2.md §3.5), never re-encoded.
        signed = core.Sequence(contents=top[0] + sign_children[0] + sign_children[1]).dump()
        return MakerPart(
            info=obj["esealInfo"],
            signed=bytes(signed),
            maker_cert=bytes(sign_info["cert"].native),
            algorithm_oid=sign_info["signatureAlgorithm"].dotted,
            maker_signature=bytes(sign_info["signData"].native),
            time_stamp=None,
        )

    def holders(self, prop: Any) -> tuple[int, tuple[bytes, ...], tuple[tuple[str, bytes], ...]]:
        return 1, tuple(bytes(c.native) for c in prop["certList"]), ()

    def signature_part(
        self, obj: Any, tbs: Any, top: list[bytes], tbs_children: list[bytes], label: str
    ) -> SignaturePart:
        time_raw = bytes(tbs["timeInfo"].chosen.native)
        return SignaturePart(
            time_raw=time_raw,
            signing_time=decode_v1_time_info(time_raw),
            data_hash=bytes(tbs["dataHash"].chosen.native),
            signer_cert=bytes(tbs["cert"].native),
            algorithm_oid=tbs["signatureAlgorithm"].dotted,
            extensions=(),
            time_stamp=None,
        )

    # --- writing --------------------------------------------------------------------------

    def check_times(self, moments: dict[str, datetime]) -> None:
        for what, moment in moments.items():
            if not 1950 <= moment.year <= 2049:
                raise InvalidInput(f"{what} {moment:%Y-%m-%d} cannot be a UTCTime (v1 seals: 1950..2049)")

    def property_info(self, content: SealContent) -> core.Sequence:
        return asn1_v1.SES_ESPropertyInfo(
            {
                "type": content.seal_type,
                "name": content.name,
                "certList": list(content.holders),
                "createDate": asn1_v1.SES_Time(name="utcTime", value=content.created),
                "validStart": asn1_v1.SES_Time(name="utcTime", value=content.valid_from),
                "validEnd": asn1_v1.SES_Time(name="utcTime", value=content.valid_to),
            }
        )

    def sealed(self, info: core.Sequence, content: SealContent, sign: Signing) -> core.Sequence:
        # Clause 6.1.1: the maker signs SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }.
        to_sign = asn1_v1.MakerToSign(
            {"esealInfo": info, "cert": content.maker_cert, "signatureAlgorithm": content.algorithm_oid}
        )
        sign_info = {
            "cert": content.maker_cert,
            "signatureAlgorithm": content.algorithm_oid,
            "signData": sign(bytes(to_sign.dump())),
        }
        return asn1_v1.SESeal({"esealInfo": info, "signInfo": sign_info})

    def check_signing(self, content: SignatureContent, time_stamp: TimestampHook | None) -> None:
        if time_stamp is not None:
            raise InvalidInput("a time-stamp hook needs a v4 seal (GM/T 0031-2014 has no timeStamp field)")
        self.check_times({"signing time": content.when})

    def tbs_fields(self, content: SignatureContent) -> dict[str, Any]:
        # Clause 6.2.1: timeInfo is a BIT STRING holding the UTCTime text; the signer's certificate
        # and algorithm are inside the signed part.
        time_text = content.when.strftime("%y%m%d%H%M%SZ").encode("ascii")
        return {
            "timeInfo": asn1_v1.BinaryValue(name="bitString", value=time_text),
            "dataHash": asn1_v1.BinaryValue(name="bitString", value=content.data_hash),
            "cert": content.signer_cert,
            "signatureAlgorithm": content.algorithm_oid,
        }

    def signature_fields(
        self, content: SignatureContent, tbs: core.Sequence, signature: bytes, token: bytes | None
    ) -> dict[str, Any]:
        return {"toSign": tbs, "signature": signature}
