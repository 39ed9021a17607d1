"""The vendor stamp of 2024 treasury messages (spec.md §5.4) as a seal container: read only here.

Its own stamp verification (:func:`ezhifu.seal.vendor.verify_vendor_stamp`) replaces the
standards' steps; its seal's maker signature cannot be verified (the signed content is unknown),
so a vendor seal alone is refused. Test material is built by :mod:`ezhifu.seal.vendor`.
"""

from __future__ import annotations

from typing import Any

from ezhifu.errors import SealFormatError
from ezhifu.results import SealFacts
from ezhifu.seal.containers.base import SealContainer
from ezhifu.seal.detect import SealKind, SealVersion
from ezhifu.seal.model import Seal, SealSignature
from ezhifu.seal.vendor import (
    VendorStampInfo,
    describe_vendor_seal,
    describe_vendor_stamp,
    parse_vendor_seal,
    parse_vendor_stamp,
    stamp_signed_content,
    vendor_seal_facts,
    verify_vendor_stamp,
)

__all__ = ["VendorContainer"]

_NOT_VERIFIABLE = "vendor-format seal: maker signature not verifiable (vendor seal format unknown)"


class VendorContainer(SealContainer):
    """The vendor seal (``VendorSeal``) and stamp (``VendorStamp``), :mod:`ezhifu.seal.asn1.vendor`."""

    version = SealVersion.VENDOR

    def parse(self, raw: bytes, *, what: str = "seal data") -> Any:
        if self.kind is SealKind.SIGNATURE:
            return parse_vendor_stamp(raw, what=what)
        return parse_vendor_seal(raw, what=what)

    def parse_seal(self, raw: bytes, *, what: str = "seal") -> Seal:
        if self.kind is not SealKind.SEAL:
            raise SealFormatError(f"{what}: this is a seal signature (SES_Signature), not a seal")
        raise SealFormatError(f"{what}: vendor-format seal; read it with ezhifu.seal.vendor")

    def parse_signature(self, raw: bytes, *, what: str = "seal signature") -> SealSignature:
        if self.kind is not SealKind.SIGNATURE:
            raise SealFormatError(f"{what}: this is a seal (SESeal), not a seal signature")
        raise SealFormatError(f"{what}: vendor-format stamp; read it with ezhifu.seal.vendor")

    def to_be_signed(self, parsed: Any, data: bytes | None = None) -> dict[str, bytes]:
        """The stamp's PKCS#7 covers Base64 ‖ signTime ‖ seal DER (needs the voucher text);
        the maker's signed content is unknown, so there is no ``maker`` entry."""
        if isinstance(parsed, VendorStampInfo) and data is not None:
            return {"signer": stamp_signed_content(data, parsed)}
        return {}

    def facts(self, raw: bytes, *, what: str = "seal data") -> SealFacts:
        parsed = self.parse(raw, what=what)
        return vendor_seal_facts(parsed.seal if isinstance(parsed, VendorStampInfo) else parsed)

    def describe(self, raw: bytes, *, what: str = "seal data") -> dict[str, Any]:
        parsed = self.parse(raw, what=what)
        if isinstance(parsed, VendorStampInfo):
            return describe_vendor_stamp(parsed)
        return {"kind": "vendor-seal", **describe_vendor_seal(parsed)}

    stamp_verifier = staticmethod(verify_vendor_stamp)

    def seal_refusal(self) -> str | None:
        return _NOT_VERIFIABLE
