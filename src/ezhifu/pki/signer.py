"""Software signing and raw signature verification (SM2-with-SM3, RSA PKCS#1 v1.5, ECDSA P-256).

:class:`SoftwareSigner` is the in-memory implementation of the
:class:`~ezhifu.crypto.base.Signer` protocol. It signs *messages* and returns DER:

* SM2: ``SEQUENCE { r, s }`` over ``e = SM3(Z_A || M)`` with the signer ID (default
  ``1234567812345678``, GM/T 0009-2012 clause 10), GB/T 32918.2-2016 clause 6.1 and
  GB/T 35276-2017 clause 7.3, through :mod:`ezhifu.crypto.sm2`;
* RSA: RSASSA-PKCS1-v1_5 (RFC 8017 clause 8.2) with SHA-256/384/512, or SHA-1 only when the
  caller opts in with ``allow_weak=True``; keys under 2048 bits likewise;
* ECDSA P-256 with SHA-256 (FIPS 186-4 clause 6, X9.62 DER ``Ecdsa-Sig-Value``).

:func:`verify_signature` checks one such signature against a certificate or public key and
returns ``None`` or raises :class:`~ezhifu.errors.InvalidSignature` with the reason.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from asn1crypto import keys as asn1_keys_module
from asn1crypto import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ezhifu.crypto.base import DEFAULT_SM2_ID, SignatureAlgorithm, SignerBase
from ezhifu.crypto.sm2 import MAX_UID_LENGTH, SM2PrivateKey, SM2PublicKey
from ezhifu.crypto.sm3 import as_bytes
from ezhifu.errors import (
    CertificateError,
    EzhifuError,
    InvalidInput,
    InvalidSignature,
    SigningError,
    WeakAlgorithm,
)
from ezhifu.pki.keys import key_kind, load_certificate, public_key_of, same_public_key

if TYPE_CHECKING:
    from asn1crypto import keys as asn1_keys

    from ezhifu.crypto.keytypes import KeyKind, PrivateKey, PublicKey

__all__ = ["MIN_RSA_BITS", "SoftwareSigner", "default_algorithm", "verify_signature"]

#: Smallest RSA modulus accepted without ``allow_weak`` (NIST SP 800-131A Rev. 2, 112-bit security).
MIN_RSA_BITS = 2048

_DEFAULTS: dict[str, SignatureAlgorithm] = {
    "sm2": SignatureAlgorithm.SM2_SM3,
    "rsa": SignatureAlgorithm.RSA_SHA256,
    "ec": SignatureAlgorithm.ECDSA_SHA256,
}

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


#: Public keys read from certificates, by the exact DER of the SubjectPublicKeyInfo. Bounded.
_PUBLIC_KEY_CACHE_SIZE = 256


@functools.lru_cache(maxsize=_PUBLIC_KEY_CACHE_SIZE)
def _public_key_from_spki(spki_der: bytes) -> PublicKey:
    """The key of a DER SubjectPublicKeyInfo, cached by its exact bytes.

    A batch carries the same few partner certificates on every voucher; reading the key and,
    for SM2, creating the provider's key handle (an OpenSSL ``EVP_PKEY``, as costly as a
    verification) once per distinct key instead of once per signature is sound because the key
    depends on nothing but these bytes and the key objects are immutable. Errors are not cached.
    """
    return public_key_of(asn1_keys_module.PublicKeyInfo.load(spki_der, strict=True))


def _public_key(
    obj: x509.Certificate | asn1_keys.PublicKeyInfo | PublicKey | PrivateKey | bytes,
) -> PublicKey:
    """``keys.public_key_of`` with the certificate case served from the bounded cache."""
    if isinstance(obj, x509.Certificate):
        try:
            spki_der = obj["tbs_certificate"]["subject_public_key_info"].dump()
            return _public_key_from_spki(bytes(spki_der))
        except (EzhifuError, ValueError, TypeError, KeyError):
            # An unreadable key: the uncached path below raises the precise error.
            return public_key_of(obj)
    return public_key_of(obj)


def default_algorithm(kind: KeyKind) -> SignatureAlgorithm:
    """The algorithm ezhifu uses for a key kind: SM2_SM3, RSA_SHA256 or ECDSA_SHA256."""
    return _DEFAULTS[kind]


def _hash_for(algorithm: SignatureAlgorithm) -> hashes.HashAlgorithm:
    return _HASHES[algorithm.digest_name]()


class SoftwareSigner(SignerBase):
    """A :class:`~ezhifu.crypto.base.Signer` over a private key held in memory.

    ``algorithm`` defaults to SM2_SM3 for SM2 keys, RSA_SHA256 for RSA and ECDSA_SHA256 for
    P-256; it must fit the key. RSA_SHA1 and RSA keys under :data:`MIN_RSA_BITS` bits are
    refused with :class:`~ezhifu.errors.WeakAlgorithm` unless ``allow_weak=True``. When a
    ``certificate`` (asn1crypto or PEM/DER bytes) is given, its public key must be the key's.
    ``uid`` is the SM2 signer ID that enters ``Z_A`` (ignored for RSA and ECDSA).
    """

    __slots__ = ("_key", "_uid")

    def __init__(
        self,
        key: PrivateKey,
        certificate: x509.Certificate | bytes | None = None,
        *,
        algorithm: SignatureAlgorithm | None = None,
        allow_weak: bool = False,
        uid: bytes = DEFAULT_SM2_ID,
    ) -> None:
        if not isinstance(key, SM2PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise InvalidInput(f"SoftwareSigner needs a private key, got {type(key).__name__}")
        kind = key_kind(key)
        if isinstance(key, ec.EllipticCurvePrivateKey) and not isinstance(key.curve, ec.SECP256R1):
            raise InvalidInput(f"SoftwareSigner: EC curve {key.curve.name} is not supported (P-256 only)")
        if algorithm is None:
            algorithm = _DEFAULTS[kind]
        if not isinstance(algorithm, SignatureAlgorithm):
            raise InvalidInput(f"algorithm must be a SignatureAlgorithm, got {type(algorithm).__name__}")
        if algorithm.key_kind != kind:
            raise InvalidInput(f"algorithm {algorithm.value} cannot be used with a {kind} key")
        if algorithm.is_weak and not allow_weak:
            raise WeakAlgorithm(f"algorithm {algorithm.value} is weak; pass allow_weak=True to use it")
        if isinstance(key, rsa.RSAPrivateKey) and key.key_size < MIN_RSA_BITS and not allow_weak:
            raise WeakAlgorithm(
                f"RSA key of {key.key_size} bits is below {MIN_RSA_BITS} bits; pass allow_weak=True to use it"
            )
        if not isinstance(uid, bytes) or len(uid) > MAX_UID_LENGTH:
            raise InvalidInput(
                f"SM2 uid must be bytes of at most {MAX_UID_LENGTH} bytes "
                "(ENTL is 16 bits of bit length; OpenSSL refuses longer IDs)"
            )
        cert: x509.Certificate | None = None
        if certificate is not None:
            cert = load_certificate(certificate)
            cert_key = public_key_of(cert)
            if not same_public_key(cert_key, key):
                raise CertificateError(
                    f"certificate {cert.subject.human_friendly!r} does not carry this signer's public key"
                )
        self._key = key
        self._algorithm = algorithm
        self._certificate = cert
        self._uid = uid

    @property
    def uid(self) -> bytes:
        """The SM2 signer ID used in ``Z_A``."""
        return self._uid

    def public_key(self) -> PublicKey:
        return public_key_of(self._key)

    def sign(self, data: bytes) -> bytes:
        """Sign the message ``data``; return the DER signature (see the module docstring)."""
        message = as_bytes(data, "data to sign")
        key = self._key
        try:
            if isinstance(key, SM2PrivateKey):
                return key.sign(message, uid=self._uid)
            if isinstance(key, rsa.RSAPrivateKey):
                return key.sign(message, padding.PKCS1v15(), _hash_for(self._algorithm))
            return key.sign(message, ec.ECDSA(_hash_for(self._algorithm)))
        except EzhifuError:
            raise
        except Exception as exc:  # a provider failure must not escape bare
            raise SigningError(f"{self._algorithm.value} signing failed: {type(exc).__name__}") from exc

    def __repr__(self) -> str:
        subject = self._certificate.subject.human_friendly if self._certificate is not None else None
        return f"<SoftwareSigner {self._algorithm.value} certificate={subject!r}>"


def verify_signature(
    cert_or_public_key: x509.Certificate | asn1_keys.PublicKeyInfo | PublicKey | PrivateKey | bytes,
    data: bytes,
    signature: bytes,
    *,
    algorithm: SignatureAlgorithm | None = None,
    uid: bytes = DEFAULT_SM2_ID,
) -> None:
    """Verify ``signature`` over message ``data``; return None or raise
    :class:`~ezhifu.errors.InvalidSignature` with the reason.

    ``cert_or_public_key`` is an asn1crypto certificate, certificate PEM/DER bytes, an SPKI or
    a key. ``algorithm`` defaults from the key kind (SM2_SM3, RSA_SHA256, ECDSA_SHA256); an
    algorithm that does not fit the key is an invalid signature. SM2 uses ``uid`` in ``Z_A``
    (GB/T 32918.2-2016 clause 7.1). Weak-algorithm policy (SHA-1, short RSA keys) is the
    caller's: pass the algorithm the signed structure names, and judge it with the policy.
    """
    public = _public_key(cert_or_public_key)
    kind = key_kind(public)
    if algorithm is None:
        algorithm = _DEFAULTS[kind]
    if not isinstance(algorithm, SignatureAlgorithm):
        raise InvalidInput(f"algorithm must be a SignatureAlgorithm, got {type(algorithm).__name__}")
    if not isinstance(data, bytes | bytearray | memoryview) or not isinstance(
        signature, bytes | bytearray | memoryview
    ):
        raise InvalidInput("data and signature must be bytes")
    if algorithm.key_kind != kind:
        raise InvalidSignature(f"signature algorithm {algorithm.value} does not fit the signer's {kind} key")
    message, sig = bytes(data), bytes(signature)
    if isinstance(public, SM2PublicKey):
        public.verify(sig, message, uid=uid)
        return
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(sig, message, padding.PKCS1v15(), _hash_for(algorithm))
        else:
            public.verify(sig, message, ec.ECDSA(_hash_for(algorithm)))
    except _CryptoInvalidSignature as exc:
        raise InvalidSignature(
            f"{algorithm.value} signature does not verify for this public key and message"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise InvalidSignature(f"{algorithm.value} signature is malformed ({exc})") from exc
