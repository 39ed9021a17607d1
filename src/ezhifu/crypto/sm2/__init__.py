"""SM2 digital signatures with SM3 (GB/T 32918.2-2016 / GM/T 0003.2-2012).

Public API
----------
* :class:`SM2PrivateKey` — ``generate()``, ``from_private_value(d)``, ``public_key()``,
  ``sign(data, *, uid=DEFAULT_SM2_ID) -> DER``, ``private_value``.
* :class:`SM2PublicKey` — ``from_encoded_point(b)`` (validated), ``encoded_point`` (65 bytes
  ``04 || X || Y``), ``x``, ``y``, ``verify(signature_der, data, *, uid=...)`` raising
  :class:`~ezhifu.errors.InvalidSignature` with the reason.
* :func:`compute_z`, :func:`rs_to_der`, :func:`der_to_rs` (strict DER), :func:`raw_to_der`,
  :func:`der_to_raw`, :func:`use_provider`, :func:`active_provider`.

Signing takes the *message*, never a digest: the signer computes
``e = SM3(Z_A || M)`` itself (GB/T 32918.2-2016 clause 6.1, steps A1–A2) where ``Z_A`` binds the
signer's identity and public key (clause 5.5). The default identity is
``1234567812345678`` (GM/T 0009-2012 clause 10); OpenSSL 3.0 would otherwise use an empty ID.
Signatures are DER ``SEQUENCE { r INTEGER, s INTEGER }`` (GB/T 35276-2017 clause 7.3).

Providers
---------
Two implementations sit behind one small internal interface:

* ``"openssl"`` (:mod:`ezhifu.crypto.sm2.openssl`) — ctypes over OpenSSL >= 3.0 libcrypto
  (the copy Python's own ``_hashlib`` links); constant-time signing, native speed. It always sets
  the distinguishing ID and runs a known-answer self-test before first use.
* ``"python"`` (:mod:`ezhifu.crypto.sm2.python`) — pure Python, always available, **not
  constant-time** (it warns once when it signs).

By default the OpenSSL provider is used when it loads and passes its self-test, otherwise the
Python one. ``EZHIFU_SM2_PROVIDER=openssl|python|auto`` or :func:`use_provider` forces a choice;
forcing ``"openssl"`` where it cannot work raises :class:`ProviderUnavailable`.

Nonces (and generated keys) come from OpenSSL's DRBG in the OpenSSL provider and from
:mod:`secrets` in the Python provider. ``sign(..., deterministic=True)`` derives the nonce
instead, as RFC 6979 clause 3.2 with HMAC-SM3 (see :meth:`SM2PrivateKey.sign`).
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from ezhifu.crypto.base import DEFAULT_SM2_ID
from ezhifu.crypto.sm3 import as_bytes, sm3
from ezhifu.errors import (
    ConfigurationError,
    InvalidInput,
    InvalidSignature,
    MalformedSignature,
    ProviderUnavailable,
    SigningError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "DEFAULT_SM2_ID",
    "ENV_PROVIDER",
    "MAX_UID_LENGTH",
    "SM2_A",
    "SM2_B",
    "SM2_CURVE",
    "SM2_GX",
    "SM2_GY",
    "SM2_N",
    "SM2_P",
    "Curve",
    "MalformedSignature",
    "ProviderName",
    "ProviderUnavailable",
    "SM2PrivateKey",
    "SM2PublicKey",
    "active_provider",
    "available_providers",
    "compute_z",
    "der_to_raw",
    "der_to_rs",
    "raw_to_der",
    "rs_to_der",
    "use_provider",
]

_log = logging.getLogger(__name__)

#: Environment variable that forces a provider: ``openssl``, ``python`` or ``auto``.
ENV_PROVIDER = "EZHIFU_SM2_PROVIDER"

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


# --- providers --------------------------------------------------------------------------


class _Provider(Protocol):
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


_state_lock = threading.RLock()
_provider: _Provider | None = None
_python_provider: _Provider | None = None
_openssl_error: str | None = None


def _python() -> _Provider:
    global _python_provider
    with _state_lock:
        if _python_provider is None:
            from ezhifu.crypto.sm2 import python as _sm2_python

            _python_provider = _sm2_python.PythonProvider()
        return _python_provider


def _openssl() -> _Provider:
    """Load the OpenSSL provider or raise :class:`ProviderUnavailable` (remembered)."""
    global _openssl_error
    with _state_lock:
        if _openssl_error is not None:
            raise ProviderUnavailable(f"SM2 provider 'openssl' is unavailable: {_openssl_error}")
        from ezhifu.crypto.sm2 import openssl as _sm2_openssl

        try:
            return _sm2_openssl.load_provider()
        except ProviderUnavailable as exc:
            _openssl_error = str(exc)
        except Exception as exc:  # an unexpected ctypes/loader failure must not break "auto"
            _openssl_error = f"{type(exc).__name__} while loading: {exc}"
        raise ProviderUnavailable(f"SM2 provider 'openssl' is unavailable: {_openssl_error}")


def _resolve(choice: str, origin: str) -> _Provider:
    key = choice.strip().lower()
    if key == "python":
        return _python()
    if key == "openssl":
        return _openssl()
    if key in ("", "auto"):
        try:
            return _openssl()
        except ProviderUnavailable as exc:
            _log.info("SM2: falling back to the pure-Python provider: %s", exc)
            return _python()
    raise ConfigurationError(f"{origin}: unknown SM2 provider {choice!r}; use 'openssl', 'python' or 'auto'")


def _current() -> _Provider:
    global _provider
    provider = _provider
    if provider is not None:
        return provider
    with _state_lock:
        if _provider is None:
            _provider = _resolve(os.environ.get(ENV_PROVIDER, "auto"), f"environment variable {ENV_PROVIDER}")
        return _provider


def use_provider(name: str) -> None:
    """Force the SM2 provider for this process: ``"openssl"``, ``"python"`` or ``"auto"``.

    ``"auto"`` re-runs the default choice (OpenSSL if usable, otherwise Python) and ignores
    :data:`ENV_PROVIDER`. Raises :class:`ProviderUnavailable` when ``"openssl"`` cannot be
    used (the reason is in the message) and :class:`~ezhifu.errors.ConfigurationError` for an
    unknown name.
    """
    global _provider, _openssl_error
    if not isinstance(name, str):
        raise ConfigurationError(f"use_provider: provider name must be a string, got {type(name).__name__}")
    with _state_lock:
        if name.strip().lower() == "auto":
            _openssl_error = None  # let auto retry a provider that failed earlier
        _provider = _resolve(name, "use_provider")


def active_provider() -> ProviderName:
    """Name of the provider SM2 operations use now (resolving the default on first call)."""
    return _current().name


def available_providers() -> dict[str, str | None]:
    """``{"openssl": None or why it is unusable, "python": None}``."""
    try:
        _openssl()
        reason: str | None = None
    except ProviderUnavailable as exc:
        reason = str(exc)
    return {"openssl": reason, "python": None}


def _reset_for_tests() -> None:
    """Forget the chosen provider and any OpenSSL load failure (test helper)."""
    global _provider, _openssl_error
    with _state_lock:
        _provider = None
        _openssl_error = None


# --- keys -------------------------------------------------------------------------------


#: Longest user ID accepted. ENTL is the ID's bit length in 16 bits (GB/T 32918.2 clause 5.5),
#: which allows 8191 bytes; OpenSSL 3 refuses IDs of 8191 bytes or more (SM2_R_ID_TOO_LARGE), so
#: ezhifu stops at 8190 to behave the same with both providers.
MAX_UID_LENGTH = 8190


def _check_uid(uid: object) -> bytes:
    value = as_bytes(uid, "SM2 user ID (uid)")
    if len(value) > MAX_UID_LENGTH:
        raise InvalidInput(
            f"SM2 user ID is {len(value)} bytes; at most {MAX_UID_LENGTH} bytes are allowed "
            "(ENTL is a 16-bit bit length, GB/T 32918.2 clause 5.5)"
        )
    return value


class _HandleCache:
    """Per-key cache of provider handles (EVP_PKEY for OpenSSL, tables for Python)."""

    __slots__ = ("_handles", "_lock")

    def __init__(self) -> None:
        self._handles: dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, provider: _Provider, make: Callable[[], object]) -> object:
        handle = self._handles.get(provider.name)
        if handle is None:
            with self._lock:
                handle = self._handles.get(provider.name)
                if handle is None:
                    handle = make()
                    self._handles[provider.name] = handle
        return handle

    def peek(self, name: str) -> object | None:
        return self._handles.get(name)

    def put(self, name: str, handle: object) -> None:
        with self._lock:
            self._handles.setdefault(name, handle)


class SM2PublicKey:
    """An SM2 public key: a validated point of the recommended curve (GB/T 32918.5).

    Construction checks that the point is not the point at infinity, that both coordinates are
    in [0, p-1] and that it satisfies the curve equation (GB/T 32918.1-2016 clause 6.2.1,
    public-key validation steps a–c). The cofactor is 1, so step d (``[n]P = O``) follows.
    """

    __slots__ = ("__weakref__", "_cache", "_x", "_y")

    def __init__(self, x: int, y: int) -> None:
        for label, value in (("x", x), ("y", y)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidInput(f"SM2 public key: {label} must be an int, got {type(value).__name__}")
            if not 0 <= value < SM2_P:
                raise InvalidInput(f"SM2 public key: coordinate {label} is outside [0, p-1]")
        if not SM2_CURVE.contains(x, y):
            raise InvalidInput("SM2 public key: the point is not on the SM2 curve (y^2 != x^3 + ax + b)")
        self._x = x
        self._y = y
        self._cache = _HandleCache()

    @classmethod
    def from_encoded_point(cls, data: bytes) -> SM2PublicKey:
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
            return cls(int.from_bytes(data[1 : 1 + _SIZE], "big"), int.from_bytes(data[1 + _SIZE :], "big"))
        if tag in (0x02, 0x03):
            if len(data) != 1 + _SIZE:
                raise InvalidInput(f"compressed SM2 public point must be 33 bytes, got {len(data)}")
            x = int.from_bytes(data[1:], "big")
            if x >= SM2_P:
                raise InvalidInput("SM2 public key: coordinate x is outside [0, p-1]")
            y = _decompress_y(x, tag & 1)
            return cls(x, y)
        raise InvalidInput(
            f"SM2 public point has unsupported form 0x{tag:02x}; expected 0x04 (uncompressed) or 0x02/0x03"
        )

    @property
    def x(self) -> int:
        return self._x

    @property
    def y(self) -> int:
        return self._y

    @property
    def encoded_point(self) -> bytes:
        """The 65-byte uncompressed encoding ``04 || X || Y``."""
        return b"\x04" + self._x.to_bytes(_SIZE, "big") + self._y.to_bytes(_SIZE, "big")

    @property
    def compressed_point(self) -> bytes:
        """The 33-byte compressed encoding ``02/03 || X`` (GB/T 32918.1 clause 4.2.9)."""
        return bytes([0x02 | (self._y & 1)]) + self._x.to_bytes(_SIZE, "big")

    def verify(self, signature: bytes, data: bytes, *, uid: bytes = DEFAULT_SM2_ID) -> None:
        """Verify a DER SM2 signature over message *data*; return None or raise.

        GB/T 32918.2-2016 clause 7.1: B1–B2 (r, s in [1, n-1], checked by the strict DER
        decoder), B3–B4 ``e = SM3(Z_A || M')``, B5 ``t = (r + s) mod n != 0``,
        B6 ``(x1, y1) = [s]G + [t]P_A``, B7 ``R = (e + x1) mod n == r``.
        Raises :class:`~ezhifu.errors.InvalidSignature` (or its subclass
        :class:`MalformedSignature`) saying why.
        """
        uid = _check_uid(uid)
        message = as_bytes(data, "signed data")
        r, s = der_to_rs(signature)
        der = rs_to_der(r, s)
        provider = _current()
        handle = self._cache.get(provider, lambda: provider.public_handle(self.encoded_point))
        if not provider.verify(handle, message, uid, r, s, der):
            raise InvalidSignature(
                "SM2 signature does not verify for this public key, message and user ID "
                f"(ID {len(uid)} bytes; GB/T 32918.2 clause 7.1)"
            )

    def z_value(self, uid: bytes = DEFAULT_SM2_ID) -> bytes:
        """``Z_A`` of this key for *uid* (GB/T 32918.2 clause 5.5)."""
        return SM2_CURVE.z_value(_check_uid(uid), self._x, self._y)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SM2PublicKey):
            return NotImplemented
        return self._x == other._x and self._y == other._y

    def __hash__(self) -> int:
        return hash((SM2PublicKey, self._x, self._y))

    def __reduce__(self) -> tuple[type[SM2PublicKey], tuple[int, int]]:
        # Pickle/copy by coordinates only (the native handle cache is per process).
        return (SM2PublicKey, (self._x, self._y))

    def __repr__(self) -> str:
        return f"SM2PublicKey(x=0x{self._x:064x}, y=0x{self._y:064x})"


def _decompress_y(x: int, parity: int) -> int:
    p = SM2_P
    rhs = (x * x * x + SM2_A * x + SM2_B) % p
    y = pow(rhs, (p + 1) // 4, p)  # p = 3 (mod 4), so this is the square root when one exists
    if y * y % p != rhs:
        raise InvalidInput("compressed SM2 public point: x is not the abscissa of a curve point")
    if y & 1 != parity:
        y = p - y
    return y


class SM2PrivateKey:
    """An SM2 private key ``d`` in [1, n-2] (GB/T 32918.1-2016 clause 6.1).

    The scalar never appears in ``repr`` or error messages. Per-provider native handles (the
    OpenSSL ``EVP_PKEY``) are built once and cached on the object, so repeated signing costs
    only the signature itself.
    """

    __slots__ = ("__weakref__", "_cache", "_d", "_public", "_public_lock")

    def __init__(self, private_value: int) -> None:
        if not isinstance(private_value, int) or isinstance(private_value, bool):
            raise InvalidInput(f"SM2 private value must be an int, got {type(private_value).__name__}")
        if not 1 <= private_value <= SM2_N - 2:
            raise InvalidInput("SM2 private value is outside [1, n-2] (GB/T 32918.1 clause 6.1)")
        self._d = private_value
        self._public: SM2PublicKey | None = None
        self._public_lock = threading.Lock()
        self._cache = _HandleCache()

    @classmethod
    def from_private_value(cls, value: int) -> SM2PrivateKey:
        """Key for scalar *value*, which must be in [1, n-2]."""
        return cls(value)

    @classmethod
    def generate(cls) -> SM2PrivateKey:
        """A new random key from the active provider (OpenSSL's DRBG or :mod:`secrets`)."""
        provider = _current()
        d, point, handle = provider.generate()
        key = cls(d)
        key._public = SM2PublicKey.from_encoded_point(point)
        key._cache.put(provider.name, handle)
        return key

    @property
    def private_value(self) -> int:
        """The private scalar d. Handle with care: never log it."""
        return self._d

    def public_key(self) -> SM2PublicKey:
        """``P = [d]G`` (computed by the active provider once, then cached)."""
        public = self._public
        if public is None:
            provider = _current()
            with self._public_lock:
                if self._public is None:
                    handle, point = provider.private_handle(self._d)
                    self._public = SM2PublicKey.from_encoded_point(point)
                    self._cache.put(provider.name, handle)
                public = self._public
        return public

    def _handle(self, provider: _Provider) -> object:
        cached = self._cache.peek(provider.name)
        if cached is not None:  # the hot path: no closure, no lock
            return cached

        def make() -> object:
            handle, point = provider.private_handle(self._d)
            if self._public is not None and point != self._public.encoded_point:
                raise SigningError(f"SM2 provider {provider.name!r} derived a different public key")
            return handle

        return self._cache.get(provider, make)

    def sign(self, data: bytes, *, uid: bytes = DEFAULT_SM2_ID, deterministic: bool = False) -> bytes:
        """Sign message *data*; return the DER ``SEQUENCE { r, s }`` (GB/T 35276 clause 7.3).

        GB/T 32918.2-2016 clause 6.1: ``e = SM3(Z_A || M)`` with ``Z_A`` from *uid* and this
        key's public point, a fresh nonce k, ``r = (e + x1) mod n``,
        ``s = (1 + d)^-1 (k - r d) mod n``.

        The nonce comes from the active provider: OpenSSL's DRBG, or :func:`secrets.randbelow`
        in the Python provider. With ``deterministic=True`` the nonce is derived as in
        RFC 6979 clause 3.2 with HMAC-SM3 over ``(d, e)`` instead (same key and message give
        the same signature; no RNG needed). That mode always runs in the pure-Python provider,
        which is not constant-time.
        """
        uid = _check_uid(uid)
        message = as_bytes(data, "data to sign")
        if deterministic:
            from ezhifu.crypto.sm2 import python as _sm2_python

            _sm2_python.warn_not_constant_time(stacklevel=3)  # point at our caller
            e = _e_value(self.public_key(), uid, message)
            r, s = _sm2_python.sign_deterministic(SM2_CURVE, self._d, e)
            return rs_to_der(r, s)
        provider = _current()
        return provider.sign(self._handle(provider), message, uid)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SM2PrivateKey):
            return NotImplemented
        return hmac.compare_digest(self._d.to_bytes(_SIZE, "big"), other._d.to_bytes(_SIZE, "big"))

    def __hash__(self) -> int:
        return hash((SM2PrivateKey, self.public_key()))

    def __repr__(self) -> str:
        public = self._public
        shown = f"public x=0x{public.x:064x}" if public is not None else "public not derived yet"
        return f"<SM2PrivateKey ({shown})>"


def compute_z(public_key: SM2PublicKey, uid: bytes = DEFAULT_SM2_ID) -> bytes:
    """``Z_A`` for *public_key* and identity *uid* (GB/T 32918.2-2016 clause 5.5)."""
    if not isinstance(public_key, SM2PublicKey):
        raise InvalidInput(f"compute_z needs an SM2PublicKey, got {type(public_key).__name__}")
    return public_key.z_value(uid)


def _e_value(public_key: SM2PublicKey, uid: bytes, message: bytes) -> int:
    """``e = SM3(Z_A || M)`` as an integer (GB/T 32918.2 clause 6.1 A1–A3)."""
    return int.from_bytes(sm3(public_key.z_value(uid) + message), "big")
