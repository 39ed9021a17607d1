"""Chinese commercial-cryptography (GM) object identifiers, registered in asn1crypto once.

asn1crypto knows none of the GM OIDs. Without registration it reports the SM2 curve as the
dotted string ``1.2.156.10197.1.301`` and cannot size SM2 private keys. :func:`register`
adds, idempotently and only by asn1crypto's own extension points (its ``_map`` /
``_reverse_map`` tables and ``NamedCurve.register``):

========================================  =================================  ==========================
OID                                       asn1crypto name                    source
========================================  =================================  ==========================
1.2.156.10197.1.301                       ``sm2p256v1`` (named curve)        GB/T 33560-2017 App. A
1.2.156.10197.1.301.1                     ``sm2`` (signature, SM2Sign)       GB/T 33560-2017 App. A
1.2.156.10197.1.401                       ``sm3`` (digest)                   GB/T 33560-2017 App. A
1.2.156.10197.1.401.2                     ``sm3`` (HMAC-SM3, PBKDF2 PRF)     OpenSSL ``hmac-sm3``
1.2.156.10197.1.501                       ``sm3_sm2`` (SM2-with-SM3)         GB/T 33560-2017 App. A
1.2.156.10197.1.504                       ``sm3_rsa`` (sm3WithRSAEncryption) GM/T 0006, OpenSSL name
1.2.156.10197.1.104.2                     ``sm4_cbc`` (cipher, IV param)     GM/T 0006, OpenSSL name
1.2.156.10197.6.1.4.2.1 .. .6             ``sm2_data`` .. (CMS content)      GB/T 35275-2017 clause 5
1.3.6.1.4.1.11591.4.11                    ``scrypt`` (PBES2 KDF)             RFC 7914 clause 7
========================================  =================================  ==========================

asn1crypto's ``SignedDigestAlgorithm.hash_algo`` / ``.signature_algo`` are fixed tables inside
the library and cannot be extended without patching it; use :func:`signature_algorithm_for`
to map an AlgorithmIdentifier to :class:`ezhifu.crypto.base.SignatureAlgorithm` instead.

Importing :mod:`ezhifu.crypto` or :mod:`ezhifu.pki.keys` runs :func:`register`.
"""

from __future__ import annotations

import threading
from typing import Any

from asn1crypto import algos, cms, core, keys

from ezhifu.crypto.base import OID_SM2, OID_SM2_SIGN, OID_SM2_WITH_SM3, OID_SM3, SignatureAlgorithm
from ezhifu.errors import UnsupportedAlgorithm

__all__ = [
    "CONTENT_TYPE_NAMES",
    "OID_HMAC_SM3",
    "OID_SCRYPT",
    "OID_SM2_DATA",
    "OID_SM2_SIGNED_DATA",
    "OID_SM3_WITH_RSA",
    "OID_SM4_CBC",
    "SM2_CURVE_NAME",
    "ScryptParams",
    "register",
    "signature_algorithm_for",
]

#: asn1crypto name of the SM2 recommended curve (GB/T 32918.5-2017), OID 1.2.156.10197.1.301.
SM2_CURVE_NAME = "sm2p256v1"

OID_HMAC_SM3 = "1.2.156.10197.1.401.2"
OID_SM3_WITH_RSA = "1.2.156.10197.1.504"
OID_SM4_CBC = "1.2.156.10197.1.104.2"
#: RFC 7914 clause 7, ``id-scrypt``.
OID_SCRYPT = "1.3.6.1.4.1.11591.4.11"
#: GB/T 35275-2017 clause 5 (= GM/T 0010-2012) content types.
OID_SM2_DATA = "1.2.156.10197.6.1.4.2.1"
OID_SM2_SIGNED_DATA = "1.2.156.10197.6.1.4.2.2"

#: GB/T 35275-2017 clause 5 content-type OIDs and the names registered in ``cms.ContentType``.
CONTENT_TYPE_NAMES: dict[str, str] = {
    OID_SM2_DATA: "sm2_data",
    OID_SM2_SIGNED_DATA: "sm2_signed_data",
    "1.2.156.10197.6.1.4.2.3": "sm2_enveloped_data",
    "1.2.156.10197.6.1.4.2.4": "sm2_signed_and_enveloped_data",
    "1.2.156.10197.6.1.4.2.5": "sm2_encrypted_data",
    "1.2.156.10197.6.1.4.2.6": "sm2_key_agreement_info",
}


class ScryptParams(core.Sequence):  # type: ignore[misc]
    """``scrypt-params`` of RFC 7914 clause 7 (PBES2 key derivation with scrypt)."""

    _fields = [  # noqa: RUF012 - asn1crypto's declarative schema
        ("salt", core.OctetString),
        ("cost_parameter", core.Integer),
        ("block_size", core.Integer),
        ("parallelization_parameter", core.Integer),
        ("key_length", core.Integer, {"optional": True}),
    ]


_lock = threading.Lock()
_done = False


def _add(oid_class: Any, dotted: str, name: str) -> None:
    """Add ``dotted -> name`` to an asn1crypto ObjectIdentifier subclass, keeping both maps."""
    current = oid_class._map.get(dotted)
    if current is not None and current != name:
        # Another library registered the same OID under a different name: keep theirs, so that
        # code relying on it keeps working; ezhifu compares dotted OIDs anyway.
        return
    oid_class._map[dotted] = name
    if oid_class._reverse_map is not None:
        oid_class._reverse_map.setdefault(name, dotted)


def register() -> None:
    """Register the GM OIDs in asn1crypto. Idempotent and thread-safe."""
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        if OID_SM2 not in keys.NamedCurve._map:
            keys.NamedCurve.register(SM2_CURVE_NAME, OID_SM2, 32)
        _add(algos.DigestAlgorithmId, OID_SM3, "sm3")
        _add(algos.HmacAlgorithmId, OID_HMAC_SM3, "sm3")
        _add(algos.SignedDigestAlgorithmId, OID_SM2_WITH_SM3, "sm3_sm2")
        _add(algos.SignedDigestAlgorithmId, OID_SM2_SIGN, "sm2")
        _add(algos.SignedDigestAlgorithmId, OID_SM3_WITH_RSA, "sm3_rsa")
        _add(algos.EncryptionAlgorithmId, OID_SM4_CBC, "sm4_cbc")
        algos.EncryptionAlgorithm._oid_specs.setdefault("sm4_cbc", core.OctetString)
        _add(algos.KdfAlgorithmId, OID_SCRYPT, "scrypt")
        algos.KdfAlgorithm._oid_specs.setdefault("scrypt", ScryptParams)
        for dotted, name in CONTENT_TYPE_NAMES.items():
            _add(cms.ContentType, dotted, name)
        # GM/T 0010 ContentInfo carries the same structures as PKCS#7 under the GM OIDs.
        cms.ContentInfo._oid_specs.setdefault("sm2_data", core.OctetString)
        cms.ContentInfo._oid_specs.setdefault("sm2_signed_data", cms.SignedData)
        cms.EncapsulatedContentInfo._oid_specs.setdefault("sm2_data", core.OctetString)
        _done = True


_SIGNATURE_OIDS: dict[str, SignatureAlgorithm] = {alg.signature_oid: alg for alg in SignatureAlgorithm}


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
    found = _SIGNATURE_OIDS.get(dotted)
    if found is None:
        name = algos.SignedDigestAlgorithmId._map.get(dotted, dotted)
        raise UnsupportedAlgorithm(f"signature algorithm {name} ({dotted}) is not supported")
    return found


register()
