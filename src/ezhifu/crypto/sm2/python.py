"""Pure-Python SM2 provider (GB/T 32918.1/.2-2016), always available.

**Not constant-time.** Python integers are variable-time, the fixed-base table is indexed by
the bytes of the secret nonce and zero windows are skipped, so signing leaks timing about the
nonce and the private key; such leaks allow lattice key recovery. Use it to verify (public data
only), for tests, and for offline signing on a trusted host. It warns once
(:class:`NonConstantTimeWarning`) the first time it signs. The OpenSSL provider is the default
signer wherever libcrypto >= 3.0 with SM2 is present.

Arithmetic (GB/T 32918.1-2016 Annex A and the usual EFD formulas):

* Jacobian coordinates ``(X, Y, Z) ~ (X/Z^2, Y/Z^3)``; doubling uses ``M = 3(X - Z^2)(X + Z^2)``
  when ``a = -3`` (the recommended curve), the generic ``M = 3X^2 + aZ^4`` otherwise;
  addition is mixed Jacobian + affine.
* ``[k]G``: a fixed-base table ``T[i][j] = j * 2^(w*i) * G`` stored affine (one batch inversion
  per row), so a multiplication is ``ceil(256/w)`` mixed additions and no doubling.
* ``[t]P``: width-5 NAF with the odd multiples of P cached on the key handle; once a public
  key object has verified ``_KEY_COMB_AFTER`` signatures it gets its own comb table (w = 4),
  which roughly halves the cost of each further verification.

Every function takes the curve, so the GB/T 32918.2 Annex A example curve (a != -3) works too.
"""

from __future__ import annotations

import secrets
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

from ezhifu.crypto.sm2.curve import SM2_CURVE, Curve, ProviderName, rs_to_der
from ezhifu.crypto.sm3 import hmac_sm3, sm3
from ezhifu.errors import InvalidInput, SigningError

__all__ = [
    "NonConstantTimeWarning",
    "PythonProvider",
    "base_mult",
    "public_point",
    "rfc6979_nonces",
    "sign_deterministic",
    "sign_with_nonce",
    "verify_digest",
    "warn_not_constant_time",
]

_Jac = tuple[int, int, int]
_Aff = tuple[int, int]
_INF: _Jac = (1, 1, 0)

_WNAF_WIDTH = 5
# Per-public-key comb table (w = 4: 64 rows x 15 points, ~5-10 ms to build) once a key object
# has verified this many signatures; it cuts a verification by about half.
_KEY_COMB_WIDTH = 4
_KEY_COMB_AFTER = 8


# --- field and point arithmetic ----------------------------------------------------------


class NonConstantTimeWarning(UserWarning):
    """The pure-Python SM2 provider signed: its timing depends on secret values (a warning, not an error)."""


class _Arith:
    """Point arithmetic for one curve, with its lazily built fixed-base table for G."""

    def __init__(self, curve: Curve, window: int) -> None:
        self.curve = curve
        self.p = curve.p
        self.a = curve.a % curve.p
        self.minus3 = self.a == curve.p - 3
        self.window = window
        self._g_table: list[list[_Aff]] | None = None
        self._lock = threading.Lock()

    # Jacobian doubling: dbl-1998-cmo-2 (generic a) / dbl-2001-b style M for a = -3.
    def double(self, pt: _Jac) -> _Jac:
        x, y, z = pt
        if z == 0 or y == 0:
            return _INF
        p = self.p
        yy = y * y % p
        s = 4 * x * yy % p
        zz = z * z % p
        # a = -3: 3X^2 + aZ^4 = 3(X - Z^2)(X + Z^2), one multiplication fewer.
        m = 3 * (x - zz) * (x + zz) % p if self.minus3 else (3 * x * x + self.a * zz * zz) % p
        x3 = (m * m - 2 * s) % p
        y3 = (m * (s - x3) - 8 * yy * yy) % p
        z3 = 2 * y * z % p
        return (x3, y3, z3)

    # Mixed addition Jacobian + affine: madd (EFD add-1998-cmo-2 with Z2 = 1).
    def add_affine(self, pt: _Jac, q: _Aff) -> _Jac:
        x1, y1, z1 = pt
        x2, y2 = q
        if z1 == 0:
            return (x2, y2, 1)
        p = self.p
        z1z1 = z1 * z1 % p
        u2 = x2 * z1z1 % p
        s2 = y2 * z1 * z1z1 % p
        h = (u2 - x1) % p
        rr = (s2 - y1) % p
        if h == 0:
            if rr == 0:
                return self.double(pt)
            return _INF  # P + (-P)
        hh = h * h % p
        hhh = h * hh % p
        v = x1 * hh % p
        x3 = (rr * rr - hhh - 2 * v) % p
        y3 = (rr * (v - x3) - y1 * hhh) % p
        z3 = z1 * h % p
        return (x3, y3, z3)

    def to_affine(self, pt: _Jac) -> _Aff | None:
        x, y, z = pt
        if z == 0:
            return None
        p = self.p
        zi = pow(z, -1, p)
        zi2 = zi * zi % p
        return (x * zi2 % p, y * zi2 * zi % p)

    def batch_affine(self, pts: list[_Jac]) -> list[_Aff]:
        """Montgomery's trick: one inversion for the whole list (no point may be infinity)."""
        p = self.p
        prefix = [1] * (len(pts) + 1)
        for i, (_, _, z) in enumerate(pts):
            prefix[i + 1] = prefix[i] * z % p
        inv = pow(prefix[-1], -1, p)
        out: list[_Aff] = [(0, 0)] * len(pts)
        for i in range(len(pts) - 1, -1, -1):
            x, y, z = pts[i]
            zi = inv * prefix[i] % p
            inv = inv * z % p
            zi2 = zi * zi % p
            out[i] = (x * zi2 % p, y * zi2 * zi % p)
        return out

    # --- fixed base ---
    def g_table(self) -> list[list[_Aff]]:
        table = self._g_table
        if table is None:
            with self._lock:
                if self._g_table is None:
                    self._g_table = self.build_table((self.curve.gx, self.curve.gy), self.window)
                table = self._g_table
        return table

    def build_table(self, base: _Aff, w: int) -> list[list[_Aff]]:
        """``T[i][j - 1] = j * 2^(w*i) * base`` for j in [1, 2^w), affine (batch inversion per row)."""
        rows = (self.curve.n.bit_length() + w - 1) // w
        table: list[list[_Aff]] = []
        b = base
        for _ in range(rows):
            acc: _Jac = (b[0], b[1], 1)
            row = [acc]
            for _ in range(2, 1 << w):
                acc = self.add_affine(acc, b)
                row.append(acc)
            nxt = self.add_affine(acc, b)  # 2^w * b: the next row's base
            affine = self.batch_affine([*row, nxt])
            table.append(affine[:-1])
            b = affine[-1]
        return table

    def mul_base(self, k: int, acc: _Jac = _INF) -> _Jac:
        """``acc + [k]G`` using the fixed-base table (k in [0, n))."""
        return self.mul_table(k, self.g_table(), self.window, acc)

    def mul_table(self, k: int, table: list[list[_Aff]], w: int, acc: _Jac = _INF) -> _Jac:
        """``acc + [k]B`` with a table from :meth:`build_table` for base B and window w."""
        mask = (1 << w) - 1
        for row in table:
            digit = k & mask
            if digit:
                acc = self.add_affine(acc, row[digit - 1])
            k >>= w
            if not k:
                break
        return acc

    # --- variable base ---
    def odd_multiples(self, q: _Aff) -> list[_Aff]:
        """``[P, 3P, 5P, ..., (2^(w-1) - 1)P]`` in affine form for width-w NAF."""
        two = self.to_affine(self.double((q[0], q[1], 1)))
        if two is None:  # only for points of order 2, which prime-order curves do not have
            raise InvalidInput("SM2 public point has order 2")
        acc: _Jac = (q[0], q[1], 1)
        pts = [acc]
        for _ in range(1, 1 << (_WNAF_WIDTH - 2)):
            acc = self.add_affine(acc, two)
            pts.append(acc)
        return self.batch_affine(pts)

    def mul_wnaf(self, k: int, table: list[_Aff]) -> _Jac:
        """``[k]P`` with width-5 NAF over the odd multiples *table* of P."""
        digits: list[int] = []
        width = 1 << _WNAF_WIDTH
        half = width >> 1
        while k:
            if k & 1:
                d = k & (width - 1)
                if d >= half:
                    d -= width
                k -= d
            else:
                d = 0
            digits.append(d)
            k >>= 1
        p = self.p
        acc = _INF
        for d in reversed(digits):
            acc = self.double(acc)
            if d > 0:
                acc = self.add_affine(acc, table[d >> 1])
            elif d < 0:
                x, y = table[(-d) >> 1]
                acc = self.add_affine(acc, (x, p - y))
        return acc


_ARITH: dict[Curve, _Arith] = {}
_ARITH_LOCK = threading.Lock()


def _arith(curve: Curve) -> _Arith:
    arith = _ARITH.get(curve)
    if arith is None:
        with _ARITH_LOCK:
            arith = _ARITH.get(curve)
            if arith is None:
                # w = 8 for the recommended curve (32 additions per [k]G, ~8k table points);
                # a smaller table for other curves (tests), which are rarely used.
                arith = _Arith(curve, 8 if curve == SM2_CURVE else 4)
                _ARITH[curve] = arith
    return arith


# --- scheme -------------------------------------------------------------------------------


def base_mult(curve: Curve, k: int) -> tuple[int, int] | None:
    """Affine ``[k]G`` on *curve* (None for the point at infinity). Not constant-time."""
    arith = _arith(curve)
    return arith.to_affine(arith.mul_base(k % curve.n))


def public_point(curve: Curve, d: int) -> tuple[int, int]:
    """``P = [d]G`` for a private scalar in [1, n-2] (GB/T 32918.1 clause 6.1)."""
    if not 1 <= d <= curve.n - 2:
        raise InvalidInput("SM2 private value is outside [1, n-2] (GB/T 32918.1 clause 6.1)")
    point = base_mult(curve, d)
    if point is None:  # impossible for d in range on a prime-order group
        raise InvalidInput("SM2 private value maps to the point at infinity")
    return point


def sign_with_nonce(curve: Curve, d: int, e: int, k: int) -> tuple[int, int]:
    """GB/T 32918.2-2016 clause 6.1 steps A4–A6 for a given nonce k; return ``(r, s)``.

    Raises :class:`~ezhifu.errors.SigningError` when k is unusable (r = 0, r + k = n or
    s = 0: the standard says to pick another k).
    """
    n = curve.n
    if not 1 <= k <= n - 1:
        raise SigningError("SM2 nonce k is outside [1, n-1]")
    point = base_mult(curve, k)
    if point is None:
        raise SigningError("SM2 nonce k gives the point at infinity")
    r = (e + point[0]) % n
    if r == 0 or r + k == n:
        raise SigningError("SM2 nonce k gives r = 0 or r + k = n; choose another k (clause 6.1 A5)")
    s = pow(1 + d, -1, n) * (k - r * d) % n
    if s == 0:
        raise SigningError("SM2 nonce k gives s = 0; choose another k (clause 6.1 A6)")
    return r, s


def verify_digest(curve: Curve, x: int, y: int, e: int, r: int, s: int) -> bool:
    """GB/T 32918.2-2016 clause 7.1 steps B1, B2 and B5–B7 for a precomputed e."""
    n = curve.n
    if not (1 <= r < n and 1 <= s < n):
        return False
    arith = _arith(curve)
    return _verify(arith, _PublicHandle(x, y, arith.odd_multiples((x, y))), e, r, s)


def _verify(arith: _Arith, key: _PublicHandle, e: int, r: int, s: int) -> bool:
    """Clause 7.1 B5–B7: ``t = (r + s) mod n``, ``(x1, y1) = [s]G + [t]P``, ``(e + x1) mod n == r``."""
    n = arith.curve.n
    t = (r + s) % n
    if t == 0:
        return False
    comb = key.comb
    if comb is not None:
        tp = arith.mul_table(t, comb, _KEY_COMB_WIDTH)
    else:
        tp = arith.mul_wnaf(t, key.table)
        key.uses += 1
        if key.uses == _KEY_COMB_AFTER:  # a key verified often (a CA, a counterpart): build its table
            key.comb = arith.build_table((key.x, key.y), _KEY_COMB_WIDTH)
    point = arith.to_affine(arith.mul_base(s, tp))
    if point is None:
        return False
    return (e + point[0]) % n == r


def rfc6979_nonces(curve: Curve, d: int, e: int) -> Iterator[int]:
    """Deterministic nonces per RFC 6979 clause 3.2 with HMAC-SM3 as the HMAC.

    ``h1`` is the SM2 value e (already ``SM3(Z_A || M)``), so bits2octets(h1) is
    ``int2octets(e mod n)``. qlen = hlen = 256 for the recommended curve; the generic
    bits2int truncation is applied for other sizes. Yields candidates in order (step h.3
    continues with ``K = HMAC_K(V || 0x00)``, ``V = HMAC_K(V)``).
    """
    n = curve.n
    qlen = n.bit_length()
    rlen = (qlen + 7) // 8

    def bits2int(data: bytes) -> int:
        value = int.from_bytes(data, "big")
        extra = len(data) * 8 - qlen
        return value >> extra if extra > 0 else value

    x = d.to_bytes(rlen, "big")
    h = (e % n).to_bytes(rlen, "big")
    v = b"\x01" * 32
    k = b"\x00" * 32
    k = hmac_sm3(k, v + b"\x00" + x + h)
    v = hmac_sm3(k, v)
    k = hmac_sm3(k, v + b"\x01" + x + h)
    v = hmac_sm3(k, v)
    while True:
        t = b""
        while len(t) < rlen:
            v = hmac_sm3(k, v)
            t += v
        candidate = bits2int(t[:rlen])
        if 1 <= candidate <= n - 1:
            yield candidate
        k = hmac_sm3(k, v + b"\x00")
        v = hmac_sm3(k, v)


def sign_deterministic(curve: Curve, d: int, e: int) -> tuple[int, int]:
    """Sign digest value e with the first usable RFC 6979 (HMAC-SM3) nonce."""
    for k in rfc6979_nonces(curve, d, e):
        try:
            return sign_with_nonce(curve, d, e, k)
        except SigningError:
            continue
    raise SigningError("unreachable: the RFC 6979 nonce generator is infinite")  # pragma: no cover


# --- provider -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PrivateHandle:
    d: int = field(repr=False)  # the private value: never shown in a repr or a traceback
    d1_inv: int = field(repr=False)  # (1 + d)^-1 mod n, GB/T 32918.2 clause 6.1 A6
    x: int = 0
    y: int = 0


@dataclass(slots=True)
class _PublicHandle:
    """A public key's precomputation: odd multiples for wNAF, later a fixed-base comb table."""

    x: int
    y: int
    table: list[_Aff]
    uses: int = 0
    comb: list[list[_Aff]] | None = None  # built after _KEY_COMB_AFTER verifications


_warned = False
_warn_lock = threading.Lock()


def warn_not_constant_time(stacklevel: int = 4) -> None:
    """Emit :class:`NonConstantTimeWarning` the first time this process signs in Python."""
    global _warned
    if _warned:
        return
    with _warn_lock:
        if _warned:
            return
        _warned = True
    warnings.warn(
        "ezhifu is signing with the pure-Python SM2 provider, which is not constant-time "
        "(nonce and key timing can leak); use the OpenSSL provider for production signing",
        NonConstantTimeWarning,
        stacklevel=stacklevel,
    )


class PythonProvider:
    """The ``"python"`` SM2 provider over the recommended curve (see the module docstring)."""

    name: ProviderName = "python"

    def __init__(self) -> None:
        self._arith = _arith(SM2_CURVE)

    def generate(self) -> tuple[int, bytes, object]:
        d = secrets.randbelow(SM2_CURVE.n - 2) + 1  # uniform in [1, n-2], clause 6.1
        handle, point = self.private_handle(d)
        return d, point, handle

    def private_handle(self, d: int) -> tuple[object, bytes]:
        x, y = public_point(SM2_CURVE, d)
        handle = _PrivateHandle(d=d, d1_inv=pow(1 + d, -1, SM2_CURVE.n), x=x, y=y)
        return handle, b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")

    def public_handle(self, encoded_point: bytes) -> object:
        x = int.from_bytes(encoded_point[1:33], "big")
        y = int.from_bytes(encoded_point[33:65], "big")
        return _PublicHandle(x=x, y=y, table=self._arith.odd_multiples((x, y)))

    def sign(self, handle: object, message: bytes, uid: bytes) -> bytes:
        if not isinstance(handle, _PrivateHandle):
            raise SigningError("internal error: not a python-provider SM2 private key handle")
        warn_not_constant_time()
        curve = SM2_CURVE
        n = curve.n
        e = int.from_bytes(sm3(curve.z_value(uid, handle.x, handle.y) + message), "big")
        arith = self._arith
        while True:  # clause 6.1 A3–A6: retry with a new k on the (negligible) bad cases
            k = secrets.randbelow(n - 1) + 1
            point = arith.to_affine(arith.mul_base(k))
            if point is None:
                continue
            r = (e + point[0]) % n
            if r == 0 or r + k == n:
                continue
            s = handle.d1_inv * (k - r * handle.d) % n
            if s != 0:
                return rs_to_der(r, s)

    def verify(self, handle: object, message: bytes, uid: bytes, r: int, s: int, der: bytes) -> bool:
        if not isinstance(handle, _PublicHandle):
            raise InvalidInput("internal error: not a python-provider SM2 public key handle")
        e = int.from_bytes(sm3(SM2_CURVE.z_value(uid, handle.x, handle.y) + message), "big")
        return _verify(self._arith, handle, e, r, s)
