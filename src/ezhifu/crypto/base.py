"""Algorithm identifiers and the ``Signer`` seam (pyHanko style).

Everything that produces a signature in ezhifu (software keys, PKCS#12 files, PKCS#11 tokens,
a remote signing server) is a :class:`Signer`: it names its algorithm, carries its certificate
and signs *messages* (never pre-hashed digests, because SM2 hashes ``Z_A || M`` itself,
GB/T 32918.2 clause 6.1). The value returned is always DER: an SM2 signature is
``SEQUENCE { r INTEGER, s INTEGER }`` (GB/T 35276-2017 clause 7.3), an RSA signature the
PKCS#1 v1.5 octet string, an ECDSA signature the X9.62 DER ``Ecdsa-Sig-Value``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from asn1crypto import algos, x509

from ezhifu.crypto.oids import (
    DIGEST_OIDS,
    OID_SHA1,
    OID_SHA256,
    OID_SHA384,
    OID_SHA512,
    OID_SM2,
    OID_SM2_SIGN,
    OID_SM2_WITH_SM3,
    OID_SM3,
    dotted,
    register,
)
from ezhifu.errors import UnsupportedAlgorithm

if TYPE_CHECKING:
    from ezhifu.crypto.keytypes import KeyKind

__all__ = [
    "DEFAULT_SM2_ID",
    "OID_SHA1",
    "OID_SHA256",
    "OID_SHA384",
    "OID_SHA512",
    "OID_SM2",
    "OID_SM2_SIGN",
    "OID_SM2_WITH_SM3",
    "OID_SM3",
    "SignatureAlgorithm",
    "Signer",
    "SignerBase",
    "signature_algorithm_for",
]

#: GM/T 0009-2012 clause 10 default signer ID (ENTL = 0x0080).
DEFAULT_SM2_ID = b"1234567812345678"


class SignatureAlgorithm(enum.Enum):
    """A signature scheme together with its message digest."""

    SM2_SM3 = "sm2-sm3"
    RSA_SHA256 = "rsa-sha256"
    RSA_SHA384 = "rsa-sha384"
    RSA_SHA512 = "rsa-sha512"
    RSA_SHA1 = "rsa-sha1"
    ECDSA_SHA256 = "ecdsa-sha256"

    @property
    def key_kind(self) -> KeyKind:
        """``"sm2"``, ``"rsa"`` or ``"ec"``."""
        return cast("KeyKind", self.value.split("-", 1)[0].replace("ecdsa", "ec"))

    @property
    def digest_name(self) -> str:
        """hashlib-style digest name: ``"sm3"``, ``"sha256"`` ..."""
        return self.value.split("-", 1)[1]

    @property
    def digest_oid(self) -> str:
        """The OID of the digest (:data:`ezhifu.crypto.oids.DIGEST_OIDS`)."""
        return DIGEST_OIDS[self.digest_name]

    @property
    def signature_oid(self) -> str:
        """The combined signature algorithm OID (as used in X.509 and SES structures); the
        registry entry of the same name (``"sm2-with-sm3"`` for SM2_SM3, ``"rsa-sha256"`` ...)."""
        return dotted("sm2-with-sm3" if self is SignatureAlgorithm.SM2_SM3 else self.value)

    @property
    def is_weak(self) -> bool:
        """True for algorithms refused unless a caller opts in (SHA-1)."""
        return self.digest_name == "sha1"


@runtime_checkable
class Signer(Protocol):
    """Anything that can sign a message for ezhifu.

    Implementations: :class:`ezhifu.pki.signer.SoftwareSigner` (a key in memory) and the
    keystore backends' signers. ``sign`` receives the *message* and returns a DER
    signature value; it raises :class:`ezhifu.errors.SigningError` on failure.
    """

    @property
    def algorithm(self) -> SignatureAlgorithm: ...

    @property
    def certificate(self) -> x509.Certificate | None: ...

    def sign(self, data: bytes) -> bytes: ...


class SignerBase:
    """The two :class:`Signer` properties over ``_algorithm`` and ``_certificate``, which a
    concrete signer sets in its constructor (:class:`ezhifu.pki.signer.SoftwareSigner`, the
    PKCS#11 signer), and the signing key's ``key_kind`` as its algorithm names it; the
    concrete signer adds ``sign``."""

    __slots__ = ("_algorithm", "_certificate")

    _algorithm: SignatureAlgorithm
    _certificate: x509.Certificate | None

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return self._algorithm

    @property
    def certificate(self) -> x509.Certificate | None:
        return self._certificate

    @property
    def key_kind(self) -> KeyKind:
        """``"sm2"``, ``"rsa"`` or ``"ec"``: the kind of key the algorithm signs with."""
        return self._algorithm.key_kind


def signature_algorithm_for(algorithm_identifier: algos.SignedDigestAlgorithm) -> SignatureAlgorithm:
    """Map an X.509 / CMS signature AlgorithmIdentifier to a :class:`SignatureAlgorithm`.

    SM2-with-SM3 (1.2.156.10197.1.501) is accepted with absent or NULL parameters (both occur
    in the field, see seal_sm2.md §5.3). Anything else not in :class:`SignatureAlgorithm`
    (RSASSA-PSS, ECDSA with SHA-384, SM3-with-RSA ...) raises :class:`UnsupportedAlgorithm`.
    """
    register()
    try:
        dotted = algorithm_identifier["algorithm"].dotted
    except (KeyError, ValueError, TypeError) as exc:
        raise UnsupportedAlgorithm(f"unreadable signature algorithm identifier: {exc}") from exc
    found = _BY_SIGNATURE_OID.get(dotted)
    if found is None:
        name = algos.SignedDigestAlgorithmId._map.get(dotted, dotted)
        raise UnsupportedAlgorithm(f"signature algorithm {name} ({dotted}) is not supported")
    return found


_BY_SIGNATURE_OID: dict[str, SignatureAlgorithm] = {alg.signature_oid: alg for alg in SignatureAlgorithm}
