"""SM2 provider over OpenSSL >= 3.0 libcrypto through :mod:`ctypes`.

Which library: the copy Python's own ``_hashlib`` links (imported first so it is loaded, then
found in ``/proc/self/maps``), else ``ctypes.util.find_library("crypto")``, else
``libcrypto.so.3``. It must report version >= 3.0.0 and export every function below.

Why it is safe to use:

* Every function has ``argtypes``/``restype`` declared (a wrong signature would crash instead
  of raising).
* The distinguishing ID is **always** set with ``EVP_PKEY_CTX_set1_id``: OpenSSL 3.0 otherwise
  computes Z_A with an empty ID (ENTL = 0), which no GM/T implementation accepts.
* Before first use the provider runs a known-answer self-test: it verifies the GB/T 32918.5-2017
  Annex A signature, rejects it for a changed message and for the empty ID, derives that
  vector's public key from its private scalar, and signs and verifies a message. Any failure
  (or a libcrypto without SM2/SM3) makes :func:`load_provider` raise
  :class:`~ezhifu.crypto.sm2.ProviderUnavailable`, and ``auto`` mode falls back to Python.
* OpenSSL's error queue is cleared after every failing call and read into the exception text;
  every context is freed in ``finally`` blocks; each key's ``EVP_PKEY`` is built once (from a
  DER PKCS#8 / SubjectPublicKeyInfo made here), cached on the key object and freed with it.

Call sequence per operation (OpenSSL ``EVP_PKEY_CTX_set1_id(3)`` manual, SM2 example):
``EVP_MD_CTX_new`` -> ``EVP_PKEY_CTX_new(pkey)`` -> ``EVP_PKEY_CTX_set1_id`` ->
``EVP_MD_CTX_set_pkey_ctx`` -> ``EVP_DigestSignInit(..., EVP_sm3(), ..., pkey)`` ->
``EVP_DigestSign`` (likewise ``EVP_DigestVerify*``). OpenSSL then computes
``e = SM3(Z_A || M)`` itself (GB/T 32918.2 clause 6.1). Nonces come from OpenSSL's DRBG and
the scalar multiplication is OpenSSL's constant-time ladder.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from ezhifu.crypto.sm2.curve import SM2_N, ProviderName, decode_point, encode_point
from ezhifu.errors import InvalidInput, ProviderUnavailable, SigningError

__all__ = ["OpenSSLProvider", "load_provider"]

_c_void_p = ctypes.c_void_p
_c_char_p = ctypes.c_char_p
_c_int = ctypes.c_int
_c_size_t = ctypes.c_size_t

# (name, restype, argtypes) for every libcrypto function used.
_FUNCTIONS: tuple[tuple[str, Any, list[Any]], ...] = (
    ("OpenSSL_version_num", ctypes.c_ulong, []),
    ("OpenSSL_version", _c_char_p, [_c_int]),
    ("ERR_get_error", ctypes.c_ulong, []),
    ("ERR_error_string_n", None, [ctypes.c_ulong, _c_char_p, _c_size_t]),
    ("ERR_clear_error", None, []),
    ("EVP_sm3", _c_void_p, []),
    ("EVP_PKEY_free", None, [_c_void_p]),
    ("EVP_PKEY_is_a", _c_int, [_c_void_p, _c_char_p]),
    ("d2i_AutoPrivateKey", _c_void_p, [_c_void_p, ctypes.POINTER(_c_char_p), ctypes.c_long]),
    ("d2i_PUBKEY", _c_void_p, [_c_void_p, ctypes.POINTER(_c_char_p), ctypes.c_long]),
    (
        "EVP_PKEY_get_octet_string_param",
        _c_int,
        [_c_void_p, _c_char_p, _c_char_p, _c_size_t, ctypes.POINTER(_c_size_t)],
    ),
    ("EVP_PKEY_get_bn_param", _c_int, [_c_void_p, _c_char_p, ctypes.POINTER(_c_void_p)]),
    ("BN_bn2binpad", _c_int, [_c_void_p, _c_char_p, _c_int]),
    ("BN_clear_free", None, [_c_void_p]),
    ("EVP_PKEY_CTX_new", _c_void_p, [_c_void_p, _c_void_p]),
    ("EVP_PKEY_CTX_new_from_name", _c_void_p, [_c_void_p, _c_char_p, _c_char_p]),
    ("EVP_PKEY_CTX_free", None, [_c_void_p]),
    ("EVP_PKEY_CTX_set1_id", _c_int, [_c_void_p, _c_void_p, _c_size_t]),
    ("EVP_PKEY_keygen_init", _c_int, [_c_void_p]),
    ("EVP_PKEY_generate", _c_int, [_c_void_p, ctypes.POINTER(_c_void_p)]),
    ("EVP_MD_CTX_new", _c_void_p, []),
    ("EVP_MD_CTX_free", None, [_c_void_p]),
    ("EVP_MD_CTX_set_pkey_ctx", None, [_c_void_p, _c_void_p]),
    ("EVP_DigestSignInit", _c_int, [_c_void_p, _c_void_p, _c_void_p, _c_void_p, _c_void_p]),
    ("EVP_DigestSign", _c_int, [_c_void_p, _c_char_p, ctypes.POINTER(_c_size_t), _c_char_p, _c_size_t]),
    ("EVP_DigestVerifyInit", _c_int, [_c_void_p, _c_void_p, _c_void_p, _c_void_p, _c_void_p]),
    ("EVP_DigestVerify", _c_int, [_c_void_p, _c_char_p, _c_size_t, _c_char_p, _c_size_t]),
)

# DER prefixes (X.690) for the fixed-size SM2 key structures handed to d2i_*.
# AlgorithmIdentifier { id-ecPublicKey 1.2.840.10045.2.1, namedCurve sm2 1.2.156.10197.1.301 }
_ALG_ID = bytes.fromhex("301306072a8648ce3d020106082a811ccf5501822d")
# PKCS#8 PrivateKeyInfo (RFC 5208) { version 0, _ALG_ID, OCTET STRING { ECPrivateKey } } where
# ECPrivateKey (RFC 5915) is { version 1, privateKey OCTET STRING (32) } without the optional
# public key: OpenSSL derives it (d2i_ECPrivateKey computes [d]G when it is absent).
_PKCS8_PREFIX = bytes.fromhex("3041020100") + _ALG_ID + bytes.fromhex("0427302502010104") + b"\x20"
# SubjectPublicKeyInfo (RFC 5280 / RFC 5480) { _ALG_ID, BIT STRING { 04 || X || Y } }
_SPKI_PREFIX = bytes.fromhex("3059") + _ALG_ID + bytes.fromhex("034200")

# GB/T 32918.5-2017 Annex A (recommended curve; also OpenSSL test/sm2_internal_test.c).
_KAT_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
_KAT_POINT = bytes.fromhex(
    "04"
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
_KAT_MESSAGE = b"message digest"
_KAT_SIGNATURE = bytes.fromhex(
    "3046022100F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "022100B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)
_KAT_ID = b"1234567812345678"

_MAX_SIG = 80  # DER SM2 signature is at most 72 bytes


class _Lib:
    """The loaded libcrypto with typed function attributes."""

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        self.path = path
        self.cdll = cdll
        for name, restype, argtypes in _FUNCTIONS:
            func = getattr(cdll, name)  # AttributeError when the symbol is missing
            func.restype = restype
            func.argtypes = argtypes
            setattr(self, name, func)

    def __getattr__(self, name: str) -> Callable[..., Any]:  # typed access for mypy
        raise AttributeError(name)

    def error_text(self) -> str:
        """Drain OpenSSL's error queue into one string (never containing key material)."""
        messages: list[str] = []
        buf = ctypes.create_string_buffer(256)
        while True:
            code = self.ERR_get_error()
            if not code:
                break
            self.ERR_error_string_n(code, buf, len(buf))
            messages.append(buf.value.decode("ascii", "replace"))
        return "; ".join(messages) or "no OpenSSL error recorded"


def _candidate_paths() -> Iterator[str]:
    """The libcrypto files to try, in order; the system library search runs only when the
    interpreter's own libcrypto did not load (``find_library`` starts ``ldconfig``: ~8 ms)."""
    # Map the interpreter's own libcrypto into the process first; a Python built without
    # OpenSSL has no _hashlib, and then only the system library search below is left.
    with contextlib.suppress(ImportError):
        import _hashlib  # noqa: F401
    paths: list[str] = []
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            for line in maps:
                fields = line.split()
                if len(fields) >= 6 and "/libcrypto" in fields[-1] and fields[-1] not in paths:
                    paths.append(fields[-1])
    except OSError:  # not Linux: fall through to the search below
        pass
    yield from paths
    # why: ctypes.util (subprocess, shutil, tempfile: ~6 ms) loads only for the system search
    import ctypes.util

    found = ctypes.util.find_library("crypto")
    if found:
        yield found
    if sys.platform.startswith("linux"):
        yield "libcrypto.so.3"


def _load_lib() -> _Lib:
    reasons: list[str] = []
    for path in _candidate_paths():
        try:
            lib = _Lib(ctypes.CDLL(path), path)
        except (OSError, AttributeError) as exc:
            reasons.append(f"{path}: {exc}")
            continue
        version = lib.OpenSSL_version_num()
        if version < 0x30000000:
            reasons.append(f"{path}: OpenSSL version 0x{version:08x} is older than 3.0")
            continue
        return lib
    detail = "; ".join(reasons) if reasons else "no libcrypto found"
    raise ProviderUnavailable(f"no usable OpenSSL >= 3.0 libcrypto ({detail})")


class _PKey:
    """An owned ``EVP_PKEY*``, freed when the handle is garbage collected."""

    __slots__ = ("__weakref__", "_finalizer", "ptr")

    def __init__(self, lib: _Lib, ptr: int) -> None:
        self.ptr = ptr
        self._finalizer = weakref.finalize(self, lib.EVP_PKEY_free, ptr)
        self._finalizer.atexit = False  # libcrypto may already be torn down at exit


class OpenSSLProvider:
    """The ``"openssl"`` SM2 provider (see the module docstring)."""

    name: ProviderName = "openssl"

    def __init__(self, lib: _Lib) -> None:
        self._lib = lib
        sm3 = lib.EVP_sm3()
        if not sm3:
            lib.ERR_clear_error()
            raise ProviderUnavailable(f"{lib.path} has no SM3 digest")
        self._sm3: int = sm3
        self.version: str = (lib.OpenSSL_version(0) or b"?").decode("ascii", "replace")

    # --- key handles ---
    def _wrap(self, ptr: int | None, what: str) -> _PKey:
        lib = self._lib
        if not ptr:
            raise InvalidInput(f"OpenSSL could not load the SM2 {what}: {lib.error_text()}")
        handle = _PKey(lib, ptr)
        if lib.EVP_PKEY_is_a(ptr, b"SM2") != 1:
            lib.ERR_clear_error()
            raise ProviderUnavailable(f"OpenSSL loaded the {what} but not as an SM2 key")
        return handle

    def _encoded_point(self, handle: _PKey) -> bytes:
        lib = self._lib
        buf = ctypes.create_string_buffer(65)
        size = _c_size_t(0)
        got = lib.EVP_PKEY_get_octet_string_param(handle.ptr, b"encoded-pub-key", buf, 65, ctypes.byref(size))
        if got != 1:
            raise SigningError(f"OpenSSL did not return the SM2 public point: {lib.error_text()}")
        point = buf.raw[: size.value]
        # Re-validate what OpenSSL derived rather than trusting it blindly.
        return encode_point(*decode_point(point))

    def private_handle(self, d: int) -> tuple[object, bytes]:
        der = _PKCS8_PREFIX + d.to_bytes(32, "big")
        cursor = _c_char_p(der)
        handle = self._wrap(self._lib.d2i_AutoPrivateKey(None, ctypes.byref(cursor), len(der)), "private key")
        return handle, self._encoded_point(handle)

    def public_handle(self, encoded_point: bytes) -> object:
        der = _SPKI_PREFIX + encoded_point
        cursor = _c_char_p(der)
        return self._wrap(self._lib.d2i_PUBKEY(None, ctypes.byref(cursor), len(der)), "public key")

    def generate(self) -> tuple[int, bytes, object]:
        lib = self._lib
        ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        if not ctx:
            raise SigningError(f"OpenSSL cannot create an SM2 key generation context: {lib.error_text()}")
        try:
            out = _c_void_p(None)
            if lib.EVP_PKEY_keygen_init(ctx) != 1 or lib.EVP_PKEY_generate(ctx, ctypes.byref(out)) != 1:
                raise SigningError(f"OpenSSL SM2 key generation failed: {lib.error_text()}")
        finally:
            lib.EVP_PKEY_CTX_free(ctx)
        handle = self._wrap(out.value, "generated key")
        bn = _c_void_p(None)
        if lib.EVP_PKEY_get_bn_param(handle.ptr, b"priv", ctypes.byref(bn)) != 1 or not bn.value:
            raise SigningError(f"OpenSSL did not return the SM2 private scalar: {lib.error_text()}")
        buf = ctypes.create_string_buffer(32)
        try:
            written = lib.BN_bn2binpad(bn, buf, 32)
        finally:
            lib.BN_clear_free(bn)
        d = int.from_bytes(buf.raw, "big")
        ctypes.memset(buf, 0, 32)
        if written != 32 or not 1 <= d <= SM2_N - 2:
            # OpenSSL draws d in [1, n-2] as well (ossl_ec_key_simple_generate_key for SM2).
            raise SigningError("OpenSSL generated an SM2 private scalar outside [1, n-2]")
        return d, self._encoded_point(handle), handle

    # --- operations ---
    def _contexts(self, pkey: _PKey, uid: bytes, verify: bool) -> tuple[int, int]:
        lib = self._lib
        md = lib.EVP_MD_CTX_new()
        pctx = lib.EVP_PKEY_CTX_new(pkey.ptr, None)
        if not md or not pctx:
            if md:
                lib.EVP_MD_CTX_free(md)
            if pctx:
                lib.EVP_PKEY_CTX_free(pctx)
            raise SigningError(f"OpenSSL could not allocate SM2 contexts: {lib.error_text()}")
        ok = lib.EVP_PKEY_CTX_set1_id(pctx, uid, len(uid)) > 0
        if ok:
            lib.EVP_MD_CTX_set_pkey_ctx(md, pctx)
            init = lib.EVP_DigestVerifyInit if verify else lib.EVP_DigestSignInit
            ok = init(md, None, self._sm3, None, pkey.ptr) == 1
        if not ok:
            text = lib.error_text()
            lib.EVP_MD_CTX_free(md)
            lib.EVP_PKEY_CTX_free(pctx)
            raise SigningError(f"OpenSSL SM2 {'verify' if verify else 'sign'} setup failed: {text}")
        return md, pctx

    def sign(self, handle: object, message: bytes, uid: bytes) -> bytes:
        if not isinstance(handle, _PKey):
            raise SigningError("internal error: not an OpenSSL SM2 key handle")
        lib = self._lib
        md, pctx = self._contexts(handle, uid, verify=False)
        try:
            out = ctypes.create_string_buffer(_MAX_SIG)
            size = _c_size_t(_MAX_SIG)
            if lib.EVP_DigestSign(md, out, ctypes.byref(size), message, len(message)) != 1:
                raise SigningError(f"OpenSSL SM2 signing failed: {lib.error_text()}")
            return out.raw[: size.value]
        finally:
            lib.EVP_MD_CTX_free(md)  # does not own pctx (EVP_MD_CTX_set_pkey_ctx)
            lib.EVP_PKEY_CTX_free(pctx)

    def verify(self, handle: object, message: bytes, uid: bytes, r: int, s: int, der: bytes) -> bool:
        if not isinstance(handle, _PKey):
            raise InvalidInput("internal error: not an OpenSSL SM2 key handle")
        lib = self._lib
        md, pctx = self._contexts(handle, uid, verify=True)
        try:
            result = lib.EVP_DigestVerify(md, der, len(der), message, len(message))
            if result != 1:
                lib.ERR_clear_error()  # 0 = bad signature, < 0 = error; both mean "not valid"
            return bool(result == 1)
        finally:
            lib.EVP_MD_CTX_free(md)
            lib.EVP_PKEY_CTX_free(pctx)

    # --- self-test ---
    def self_test(self) -> None:
        """Known-answer test (GB/T 32918.5-2017 Annex A); raises ProviderUnavailable on failure."""
        try:
            public = self.public_handle(_KAT_POINT)
            der = _KAT_SIGNATURE
            if not self.verify(public, _KAT_MESSAGE, _KAT_ID, 0, 0, der):
                raise ProviderUnavailable("the GB/T 32918.5 Annex A signature did not verify")
            if self.verify(public, _KAT_MESSAGE + b"!", _KAT_ID, 0, 0, der):
                raise ProviderUnavailable("a signature verified for a changed message")
            if self.verify(public, _KAT_MESSAGE, b"", 0, 0, der):
                raise ProviderUnavailable("the distinguishing ID is ignored (empty ID accepted)")
            private, point = self.private_handle(_KAT_D)
            if point != _KAT_POINT:
                raise ProviderUnavailable("the public key derived from the Annex A scalar is wrong")
            signature = self.sign(private, b"ezhifu self-test", _KAT_ID)
            if not self.verify(public, b"ezhifu self-test", _KAT_ID, 0, 0, signature):
                raise ProviderUnavailable("a fresh signature did not verify")
        except ProviderUnavailable:
            raise
        except Exception as exc:  # any OpenSSL/ctypes failure means "do not use this provider"
            raise ProviderUnavailable(f"self-test failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self._lib.ERR_clear_error()


_lock = threading.Lock()
_loaded: OpenSSLProvider | None = None


def load_provider() -> OpenSSLProvider:
    """Load libcrypto, check SM2/SM3 and run the self-test once; raise ProviderUnavailable."""
    global _loaded
    with _lock:
        if _loaded is None:
            provider = OpenSSLProvider(_load_lib())
            provider.self_test()
            _loaded = provider
        return _loaded
