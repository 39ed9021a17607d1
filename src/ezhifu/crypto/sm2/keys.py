"""SM2 keys: :class:`SM2PrivateKey` and :class:`SM2PublicKey` (GB/T 32918.1/.2-2016).

Each key caches the handle of the provider that uses it (:mod:`ezhifu.crypto.sm2.provider`).
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable

from ezhifu.crypto.base import DEFAULT_SM2_ID
from ezhifu.crypto.sm2.curve import (
    _SIZE,
    SM2_CURVE,
    SM2_N,
    Provider,
    check_point,
    decode_point,
    der_to_rs,
    encode_point,
    rs_to_der,
)
from ezhifu.crypto.sm2.provider import current
from ezhifu.crypto.sm3 import as_bytes, sm3
from ezhifu.errors import InvalidInput, InvalidSignature, SigningError

__all__ = ["MAX_UID_LENGTH", "SM2PrivateKey", "SM2PublicKey", "compute_z"]


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

    def get(self, provider: Provider, make: Callable[[], object]) -> object:
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
        check_point(x, y)
        self._x = x
        self._y = y
        self._cache = _HandleCache()

    @classmethod
    def from_encoded_point(cls, data: bytes) -> SM2PublicKey:
        """Decode and validate ``04 || X || Y`` (65 bytes) or compressed ``02/03 || X`` (33 bytes).

        Point encodings per GB/T 32918.1-2016 clause 4.2.9 (:func:`~ezhifu.crypto.sm2.curve.decode_point`).
        """
        return cls(*decode_point(data))

    @property
    def x(self) -> int:
        return self._x

    @property
    def y(self) -> int:
        return self._y

    @property
    def encoded_point(self) -> bytes:
        """The 65-byte uncompressed encoding ``04 || X || Y``."""
        return encode_point(self._x, self._y)

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
        provider = current()
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
        provider = current()
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
            provider = current()
            with self._public_lock:
                if self._public is None:
                    handle, point = provider.private_handle(self._d)
                    self._public = SM2PublicKey.from_encoded_point(point)
                    self._cache.put(provider.name, handle)
                public = self._public
        return public

    def _handle(self, provider: Provider) -> object:
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
            # why: the pure-Python SM2 loads only for deterministic signing or without OpenSSL's SM2
            from ezhifu.crypto.sm2.python import sign_deterministic, warn_not_constant_time

            warn_not_constant_time(stacklevel=3)  # point at our caller
            e = _e_value(self.public_key(), uid, message)
            r, s = sign_deterministic(SM2_CURVE, self._d, e)
            return rs_to_der(r, s)
        provider = current()
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
