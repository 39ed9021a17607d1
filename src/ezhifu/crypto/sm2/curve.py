"""The SM2 curve, point encodings, the signature encoding and the provider interface.

The pieces of SM2 (GB/T 32918-2016) that the providers (:mod:`ezhifu.crypto.sm2.python`,
:mod:`ezhifu.crypto.sm2.openssl`) and the key classes (:mod:`ezhifu.crypto.sm2.keys`) share, so
that none of them imports another's package ``__init__`` (no import cycle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from ezhifu.crypto.sm3 import as_bytes, sm3
from ezhifu.errors import InvalidInput, MalformedSignature

ProviderName = Literal["openssl", "python"]


# --- curve ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Curve:
    """Short Weierstrass curve ``y^2 = x^3 + a x + b`` over F_p with a base point of order n.

    GB/T 32918.1-2016 clause 3.2 and GB/T 32918.5-2017 clause 5 (recommended parameters).
    The cofactor of every curve used here is 1.
    """

    name: str
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int

    @property
    def byte_length(self) -> int:
        """Length in bytes of a field element (32 for 256-bit curves)."""
        return (self.p.bit_length() + 7) // 8

    def contains(self, x: int, y: int) -> bool:
        """True when ``(x, y)`` is an affine point of the curve with coordinates in [0, p-1]."""
        p = self.p
        if not (0 <= x < p and 0 <= y < p):
            return False
        return (y * y - (x * x * x + self.a * x + self.b)) % p == 0

    def z_value(self, uid: bytes, x: int, y: int) -> bytes:
        """``Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)``.

        GB/T 32918.2-2016 clause 5.5: ENTL_A is the bit length of ID_A as two big-endian bytes,
        each field element is encoded on ``byte_length`` bytes (GB/T 32918.1 clause 4.2.5).
        """
        bits = len(uid) * 8
        if bits > 0xFFFF:
            raise InvalidInput(
                f"SM2 user ID is {len(uid)} bytes; ENTL is 16 bits, so at most 8191 bytes are allowed"
            )
        size = self.byte_length
        parts = [bits.to_bytes(2, "big"), uid]
        parts.extend(v.to_bytes(size, "big") for v in (self.a, self.b, self.gx, self.gy, x, y))
        return sm3(b"".join(parts))


#: SM2 recommended curve, GB/T 32918.5-2017 clause 5 (OID 1.2.156.10197.1.301).
SM2_CURVE = Curve(
    name="sm2p256v1",
    p=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF,
    a=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC,
    b=0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93,
    gx=0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    gy=0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
    n=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123,
)
SM2_P = SM2_CURVE.p
SM2_A = SM2_CURVE.a
SM2_B = SM2_CURVE.b
SM2_GX = SM2_CURVE.gx
SM2_GY = SM2_CURVE.gy
SM2_N = SM2_CURVE.n

_SIZE = 32  # bytes per coordinate / scalar on the recommended curve


# --- errors -----------------------------------------------------------------------------


# --- DER (GB/T 35276-2017 clause 7.3; X.690 clause 10 distinguished encoding) --------------


def _check_rs(r: int, s: int, where: str, error: type[InvalidInput]) -> None:
    for label, value in (("r", r), ("s", s)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise error(f"{where}: {label} must be an int, got {type(value).__name__}")
        if not 1 <= value < SM2_N:
            raise error(f"{where}: {label} is outside [1, n-1] (GB/T 32918.2 clause 7.1 step B1/B2)")


def _der_int(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # +1: room for a 0x00 sign byte
    if len(body) > 1 and body[0] == 0 and body[1] < 0x80:
        body = body[1:]
    return b"\x02" + bytes([len(body)]) + body


def rs_to_der(r: int, s: int) -> bytes:
    """Encode ``(r, s)`` as DER ``SM2Signature ::= SEQUENCE { r INTEGER, s INTEGER }``.

    GB/T 35276-2017 clause 7.3. Both values must be in [1, n-1]; anything else is refused with
    :class:`~ezhifu.errors.InvalidInput` so that ezhifu never emits an unverifiable value.
    """
    _check_rs(r, s, "rs_to_der", InvalidInput)
    body = _der_int(r) + _der_int(s)
    return b"\x30" + bytes([len(body)]) + body  # at most 70 bytes: always short-form length


def _read_length(der: bytes, pos: int) -> tuple[int, int]:
    """Read a DER length at *pos*; return ``(length, next_pos)``. X.690 clause 10.1: minimal."""
    if pos >= len(der):
        raise MalformedSignature(f"SM2 signature DER is truncated: length byte missing at offset {pos}")
    first = der[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0:
        raise MalformedSignature(f"SM2 signature DER uses an indefinite length (BER) at offset {pos}")
    if pos + 1 + count > len(der):
        raise MalformedSignature(f"SM2 signature DER is truncated inside the length at offset {pos}")
    length = int.from_bytes(der[pos + 1 : pos + 1 + count], "big")
    if length < 0x80 or der[pos + 1] == 0:
        raise MalformedSignature(
            f"SM2 signature DER has a non-minimal long-form length at offset {pos} (BER, not DER)"
        )
    return length, pos + 1 + count


def _read_integer(der: bytes, pos: int, end: int, label: str) -> tuple[int, int]:
    if pos >= end:
        raise MalformedSignature(f"SM2 signature DER: INTEGER {label} missing at offset {pos}")
    if der[pos] != 0x02:
        raise MalformedSignature(
            f"SM2 signature DER: expected INTEGER {label} (tag 0x02) at offset {pos}, found 0x{der[pos]:02x}"
        )
    length, body = _read_length(der, pos + 1)
    if length == 0:
        raise MalformedSignature(f"SM2 signature DER: INTEGER {label} at offset {pos} has no content")
    if body + length > end:
        raise MalformedSignature(f"SM2 signature DER is truncated inside INTEGER {label} at offset {pos}")
    content = der[body : body + length]
    if content[0] & 0x80:
        raise MalformedSignature(f"SM2 signature DER: INTEGER {label} at offset {pos} is negative")
    if length > 1 and content[0] == 0 and content[1] < 0x80:
        raise MalformedSignature(
            f"SM2 signature DER: INTEGER {label} at offset {pos} has a superfluous leading zero byte"
        )
    return int.from_bytes(content, "big"), body + length


def der_to_rs(der: bytes) -> tuple[int, int]:
    """Decode a strict-DER SM2 signature to ``(r, s)``.

    GB/T 35276-2017 clause 7.3 and X.690 clause 10 (DER). Refused, with
    :class:`MalformedSignature` (an :class:`~ezhifu.errors.InvalidSignature` and a
    :class:`~ezhifu.errors.MalformedDER`) naming the problem and its byte offset: a wrong tag,
    BER indefinite or non-minimal lengths, truncation, trailing bytes, negative integers,
    superfluous leading zeros, and r or s outside [1, n-1] (GB/T 32918.2 clause 7.1 B1–B2).
    Raw 64-byte ``r || s`` is refused too: use :func:`raw_to_der` for that.
    """
    if not isinstance(der, bytes | bytearray | memoryview):
        raise MalformedSignature(f"SM2 signature must be bytes, got {type(der).__name__}")
    der = bytes(der)
    if not der:
        raise MalformedSignature("SM2 signature is empty")
    if der[0] != 0x30:
        hint = " (looks like raw r||s; use raw_to_der)" if len(der) == 2 * _SIZE else ""
        raise MalformedSignature(
            f"SM2 signature is not a DER SEQUENCE: first byte 0x{der[0]:02x}, expected 0x30{hint}"
        )
    length, pos = _read_length(der, 1)
    end = pos + length
    if end > len(der):
        raise MalformedSignature(
            f"SM2 signature DER is truncated: SEQUENCE declares {length} bytes, {len(der) - pos} present"
        )
    if end < len(der):
        raise MalformedSignature(
            f"SM2 signature DER has {len(der) - end} trailing byte(s) after the SEQUENCE at offset {end}"
        )
    r, pos = _read_integer(der, pos, end, "r")
    s, pos = _read_integer(der, pos, end, "s")
    if pos != end:
        raise MalformedSignature(
            f"SM2 signature DER: unexpected element after s at offset {pos} (SEQUENCE has 2 INTEGERs)"
        )
    _check_rs(r, s, "SM2 signature", MalformedSignature)
    return r, s


def raw_to_der(raw: bytes) -> bytes:
    """Convert a 64-byte ``r || s`` (32 bytes each, big-endian; GM/T 0009 clause 7.3) to DER."""
    if not isinstance(raw, bytes | bytearray | memoryview) or len(raw) != 2 * _SIZE:
        size = len(raw) if isinstance(raw, bytes | bytearray | memoryview) else type(raw).__name__
        raise MalformedSignature(f"raw SM2 signature must be 64 bytes (r || s), got {size}")
    raw = bytes(raw)
    r = int.from_bytes(raw[:_SIZE], "big")
    s = int.from_bytes(raw[_SIZE:], "big")
    _check_rs(r, s, "raw SM2 signature", MalformedSignature)
    return rs_to_der(r, s)


def der_to_raw(der: bytes) -> bytes:
    """Convert a strict-DER SM2 signature to 64-byte ``r || s``."""
    r, s = der_to_rs(der)
    return r.to_bytes(_SIZE, "big") + s.to_bytes(_SIZE, "big")


# --- points (GB/T 32918.1-2016 clause 4.2.9) ---------------------------------------------


def encode_point(x: int, y: int) -> bytes:
    """The 65-byte uncompressed encoding ``04 || X || Y``."""
    return b"\x04" + x.to_bytes(_SIZE, "big") + y.to_bytes(_SIZE, "big")


def check_point(x: int, y: int) -> None:
    """Refuse coordinates that are not an affine point of the SM2 curve.

    GB/T 32918.1-2016 clause 6.2.1, public-key validation steps a-c; the cofactor is 1, so
    step d (``[n]P = O``) follows. Raises :class:`~ezhifu.errors.InvalidInput`.
    """
    for label, value in (("x", x), ("y", y)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(f"SM2 public key: {label} must be an int, got {type(value).__name__}")
        if not 0 <= value < SM2_P:
            raise InvalidInput(f"SM2 public key: coordinate {label} is outside [0, p-1]")
    if not SM2_CURVE.contains(x, y):
        raise InvalidInput("SM2 public key: the point is not on the SM2 curve (y^2 != x^3 + ax + b)")


def decode_point(data: bytes) -> tuple[int, int]:
    """Decode and validate ``04 || X || Y`` (65 bytes) or compressed ``02/03 || X`` (33 bytes).

    Point encodings per GB/T 32918.1-2016 clause 4.2.9. A single ``00`` byte (the point at
    infinity), hybrid ``06/07`` forms and any other length are refused with
    :class:`~ezhifu.errors.InvalidInput`.
    """
    data = as_bytes(data, "SM2 public point")
    if not data:
        raise InvalidInput("SM2 public point is empty")
    tag = data[0]
    if tag == 0x00:
        raise InvalidInput("SM2 public point is the point at infinity (encoding 0x00)")
    if tag == 0x04:
        if len(data) != 1 + 2 * _SIZE:
            raise InvalidInput(f"uncompressed SM2 public point must be 65 bytes, got {len(data)}")
        x, y = int.from_bytes(data[1 : 1 + _SIZE], "big"), int.from_bytes(data[1 + _SIZE :], "big")
    elif tag in (0x02, 0x03):
        if len(data) != 1 + _SIZE:
            raise InvalidInput(f"compressed SM2 public point must be 33 bytes, got {len(data)}")
        x = int.from_bytes(data[1:], "big")
        if x >= SM2_P:
            raise InvalidInput("SM2 public key: coordinate x is outside [0, p-1]")
        y = _decompress_y(x, tag & 1)
    else:
        raise InvalidInput(
            f"SM2 public point has unsupported form 0x{tag:02x}; expected 0x04 (uncompressed) or 0x02/0x03"
        )
    check_point(x, y)
    return x, y


def _decompress_y(x: int, parity: int) -> int:
    p = SM2_P
    rhs = (x * x * x + SM2_A * x + SM2_B) % p
    y = pow(rhs, (p + 1) // 4, p)  # p = 3 (mod 4), so this is the square root when one exists
    if y * y % p != rhs:
        raise InvalidInput("compressed SM2 public point: x is not the abscissa of a curve point")
    if y & 1 != parity:
        y = p - y
    return y


# --- providers --------------------------------------------------------------------------


class Provider(Protocol):
    """What an SM2 implementation offers. Handles are opaque per-key objects it caches."""

    name: ProviderName

    def generate(self) -> tuple[int, bytes, object]:
        """A fresh key: ``(d, encoded_point, private_handle)``."""
        ...

    def private_handle(self, d: int) -> tuple[object, bytes]:
        """``(handle, encoded_point)`` for private scalar *d* in [1, n-2]."""
        ...

    def public_handle(self, encoded_point: bytes) -> object:
        """A handle for an already validated 65-byte public point."""
        ...

    def sign(self, handle: object, message: bytes, uid: bytes) -> bytes:
        """DER signature of *message* with ``e = SM3(Z_A || M)`` (clause 6.1)."""
        ...

    def verify(self, handle: object, message: bytes, uid: bytes, r: int, s: int, der: bytes) -> bool:
        """True when ``(r, s)`` (already range-checked; *der* is its strict encoding) verifies."""
        ...
