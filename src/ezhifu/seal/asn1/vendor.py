"""ASN.1 of the vendor seal and stamp of 2024 treasury messages (spec.md §5.4).

No published module exists; the field names are descriptive (what each field was found to hold
in the public samples), not from a standard. :mod:`ezhifu.seal.vendor` reads, verifies and (for
tests) builds them.
"""

from __future__ import annotations

from typing import ClassVar

from asn1crypto import core

from ezhifu.seal.asn1 import Fields

__all__ = ["VendorPicture", "VendorSeal", "VendorStamp"]


class VendorPicture(core.SequenceOf):  # type: ignore[misc]
    """The vendor picture block: integers of unknown meaning and one OCTET STRING image."""

    _child_spec = core.Any


class VendorSeal(core.Sequence):  # type: ignore[misc]
    """The vendor seal (spec.md §5.4, "Seal"); names are descriptive, not from a standard."""

    _fields: ClassVar[Fields] = [
        ("version", core.Integer, {}),
        ("sealId", core.OctetString, {}),
        ("sealName", core.OctetString, {}),
        ("sealType", core.OctetString, {}),
        ("unknown1", core.Integer, {}),
        ("picture", VendorPicture, {}),
        ("makerCert", core.OctetString, {}),
        ("property", core.OctetString, {}),
        ("date1", core.OctetString, {}),
        ("date2", core.OctetString, {}),
        ("date3", core.OctetString, {}),
        ("makerSig", core.OctetString, {}),
    ]


class VendorStamp(core.Sequence):  # type: ignore[misc]
    """The vendor seal signature (spec.md §5.4, "SignStamp content")."""

    _fields: ClassVar[Fields] = [
        ("version", core.Integer, {}),
        ("seal", core.OctetString, {}),
        ("signTime", core.OctetString, {}),
        ("signerCert", core.OctetString, {}),
        ("signature", core.OctetString, {}),
    ]
