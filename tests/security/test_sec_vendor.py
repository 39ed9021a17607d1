"""Security review, vendor stamps: a hostile stamp inside an envelope cannot crash verification.

Finding SEAL-1 in docs/security-review.md: the vendor picture block is a SEQUENCE OF ANY and
asn1crypto decodes ANY values recursively, so a value nested a few thousand levels deep raised
``RecursionError`` out of ``verify_envelope`` (whose contract is to return results).
"""

from __future__ import annotations

import base64

import pytest

from ezhifu.document.envelope import Envelope, SignStampElement
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import SealFormatError
from ezhifu.pki.trust import TrustStore
from ezhifu.seal.vendor import parse_vendor_seal, parse_vendor_stamp
from ezhifu.testing.pki import make_pki
from ezhifu.verify.envelope import verify_envelope


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 128:
        return bytes([tag, n]) + body
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + body


def _vendor_seal(picture_element: bytes) -> bytes:
    """The vendor seal layout (spec.md §5.4) with one element in the picture block."""

    def o(b: bytes) -> bytes:
        return _tlv(0x04, b)

    def i(v: int) -> bytes:
        return _tlv(0x02, bytes([v]))

    fields = i(1) + o(b"id") + o(b"name") + o(b"type") + i(0) + _tlv(0x30, picture_element)
    return _tlv(0x30, fields + o(b"cert") + o(b"prop") + o(b"d1") + o(b"d2") + o(b"d3") + o(b"sig"))


def _deep(depth: int) -> bytes:
    value = b"\x05\x00"
    for _ in range(depth):
        value = _tlv(0x30, value)
    return value


def _vendor_stamp(seal: bytes) -> bytes:
    return _tlv(
        0x30,
        _tlv(0x02, b"\x01")
        + _tlv(0x04, seal)
        + _tlv(0x04, b"2024-01-01 00:00:00")
        + _tlv(0x04, b"")
        + _tlv(0x04, b""),
    )


def test_deep_picture_element_is_a_format_error() -> None:
    with pytest.raises(SealFormatError):
        parse_vendor_seal(_vendor_seal(_deep(3000)))
    with pytest.raises(SealFormatError):
        parse_vendor_stamp(_vendor_stamp(_vendor_seal(_deep(3000))))
    assert parse_vendor_seal(_vendor_seal(_tlv(0x02, b"\x07"))).picture_numbers == (7,)  # control


def test_hostile_vendor_stamp_in_an_envelope_is_an_invalid_item_not_a_crash() -> None:
    pki = make_pki("sm2")
    envelope = Envelope.build([sample_voucher("5201")])
    value = base64.b64encode(_vendor_stamp(_vendor_seal(_deep(3000)))).decode("ascii")
    envelope.bodies[0].stamps.append(SignStampElement("cz_dwgz", "id", value))
    result = verify_envelope(envelope.to_bytes(), trust=TrustStore(roots=[pki.root_cert]))
    assert not result.valid
    (item,) = result.bodies[0].items
    assert not item.valid and item.reason
