"""ASN.1 of the GM/T 0031-2025 electronic seal and seal signature ("v5"), for reading.

GM/T 0031-2025 keeps the GB/T 38540-2020 structures (:mod:`ezhifu.seal.asn1.v4`) and changes two
things relevant to decoding: ``SES_Header.version`` and ``TBS_Sign.version`` are 5, and ``SESeal``
gains a fifth field ``timeStamp [0] BIT STRING OPTIONAL`` (a time-stamp token over ``signedValue``).
The official text was not available; this follows ofdrw's ``ses/v5`` classes and a published
commentary listing the differences from 38540. ezhifu reads v5 but does not write it.

The field lists are derived from the v4 declarations (:func:`ezhifu.seal.asn1.derived_fields`)
rather than restated, so that the two versions cannot drift apart where the standards agree.
"""

from __future__ import annotations

from typing import ClassVar

from asn1crypto import core

from ezhifu.seal.asn1 import Fields, derived_fields
from ezhifu.seal.asn1 import v4 as asn1_v4
from ezhifu.seal.asn1.v4 import SES_SealInfo

__all__ = ["SES_SealInfo", "SES_Signature", "SESeal", "TBS_Sign"]


class SESeal(core.Sequence):  # type: ignore[misc]
    """``SESeal`` (GM/T 0031-2025): the v4 seal plus an optional ``timeStamp [0]`` over ``signedValue``."""

    _fields: ClassVar[Fields] = [
        *derived_fields(asn1_v4.SESeal, {}),
        ("timeStamp", core.Any, {"optional": True}),
    ]


class TBS_Sign(core.Sequence):  # type: ignore[misc]
    """``TBS_Sign`` (GM/T 0031-2025): as in GB/T 38540-2020 with a v5 seal inside."""

    _fields: ClassVar[Fields] = derived_fields(asn1_v4.TBS_Sign, {"eseal": SESeal})


class SES_Signature(core.Sequence):  # type: ignore[misc]
    """``SES_Signature`` (GM/T 0031-2025): same shape as GB/T 38540-2020."""

    _fields: ClassVar[Fields] = derived_fields(asn1_v4.SES_Signature, {"toSign": TBS_Sign})
