"""GM/T 0031-2025 (v5) seals and seal signatures: read only.

The structures are those of GB/T 38540-2020 with version 5 (:mod:`ezhifu.seal.asn1.v5`); the seal
may carry its own ``timeStamp`` as a fifth element. ezhifu reads and verifies v5, it does not write it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ezhifu.seal.asn1 import v4 as asn1_v4
from ezhifu.seal.asn1 import v5 as asn1_v5
from ezhifu.seal.containers.base import MakerPart
from ezhifu.seal.containers.v4 import V4Container
from ezhifu.seal.detect import SealVersion
from ezhifu.seal.model import Seal, SealSignature, optional

__all__ = ["V5Container"]


class V5Container(V4Container):
    """GM/T 0031-2025 ``SESeal`` / ``SES_Signature`` (read only; v4's reading plus the seal's
    ``timeStamp``, no fast reader)."""

    version = SealVersion.V5
    seal_spec = asn1_v5.SESeal
    signature_spec = asn1_v5.SES_Signature
    writable = False

    def maker_part(self, obj: Any, top: list[bytes], what: str) -> MakerPart:
        stamp = asn1_v4.decode_time_stamp(optional(top, 4), what=f"{what}.timeStamp")
        return dataclasses.replace(super().maker_part(obj, top, what), time_stamp=stamp)

    def fast_signature(self, raw: bytes, seal: Seal, label: str) -> SealSignature | None:
        return None
