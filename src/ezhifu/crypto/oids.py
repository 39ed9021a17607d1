"""THE object identifier registry: every OID ezhifu names, what it is and where it is defined.

One table, :data:`REGISTRY`, holds each OID once with ezhifu's name for it, its kind, the
standard that assigns it and, for digests and signature algorithms, the digest and key kind it
implies. The module constants (``OID_SM2`` ...) and the lookup tables other modules use
(:data:`DIGEST_NAMES`, :data:`SIGNATURE_KINDS`, :data:`SIGNATURE_DIGESTS` ...) are derived from
it, so an OID is written in exactly one place in ``src/``. Sources: GM/T 0006-2012 and
GB/T 33560-2017 (GM object identifiers), GB/T 35276-2017 (SM2 keys and signatures),
GB/T 35275-2017 (SM2 CMS content types), RFC 5652 (CMS), RFC 8017 and RFC 4055 (RSA),
RFC 5480 and RFC 5758 (EC), RFC 5754 and FIPS 180-4 (SHA-2), RFC 8018 (PBES2), RFC 7292
(PKCS#12), RFC 7914 (scrypt), RFC 3565 (AES in CMS).

asn1crypto knows none of the GM OIDs. Without registration it reports the SM2 curve as the
dotted string ``1.2.156.10197.1.301`` and cannot size SM2 private keys. :func:`register`
adds the entries that carry an ``asn1_name``, idempotently and only by asn1crypto's own
extension points (its ``_map`` / ``_reverse_map`` tables and ``NamedCurve.register``).

asn1crypto's ``SignedDigestAlgorithm.hash_algo`` / ``.signature_algo`` are fixed tables inside
the library and cannot be extended without patching it; use
:func:`ezhifu.crypto.base.signature_algorithm_for` to map an AlgorithmIdentifier to a
:class:`~ezhifu.crypto.base.SignatureAlgorithm` instead.

Importing :mod:`ezhifu.crypto` or :mod:`ezhifu.pki.keys` runs :func:`register`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from asn1crypto import algos, cms, core, keys

__all__ = [
    "BY_DOTTED",
    "BY_NAME",
    "CONTENT_TYPE_NAMES",
    "DIGEST_NAMES",
    "DIGEST_OIDS",
    "DOCUMENT_SIGNING_EKUS",
    "REGISTRY",
    "SIGNATURE_DIGESTS",
    "SIGNATURE_KINDS",
    "SM2_CURVE_NAME",
    "OidEntry",
    "OidKind",
    "ScryptParams",
    "dotted",
    "name_of",
    "register",
]

OidKind = Literal[
    "curve", "key", "digest", "signature", "content-type", "attribute", "cipher", "kdf", "prf", "pbe", "eku"
]

_GM = "GM/T 0006-2012; GB/T 33560-2017 App. A"


@dataclass(frozen=True, slots=True)
class OidEntry:
    """One object identifier: ezhifu's ``name``, the ``dotted`` form, its ``kind``, what it
    ``means``, the ``source`` standard, and for digests, PRFs and signature algorithms the
    ``digest`` and ``key`` kind (``"sm2"``, ``"rsa"``, ``"ec"``) it implies; ``asn1_name`` is the
    name :func:`register` gives it in asn1crypto (GM OIDs only)."""

    name: str
    dotted: str
    kind: OidKind
    means: str
    source: str
    digest: str | None = None
    key: str | None = None
    asn1_name: str | None = None


# fmt: off
#: Every OID ezhifu names (a pure data table; its long lines are allowed in pyproject.toml).
REGISTRY: tuple[OidEntry, ...] = (
    # GM (Chinese commercial cryptography)
    OidEntry("sm2", "1.2.156.10197.1.301", "curve", "SM2 elliptic curve (sm2p256v1); also SM2 key algorithm", _GM, key="sm2", asn1_name="sm2p256v1"),
    OidEntry("sm2-sign", "1.2.156.10197.1.301.1", "signature", "SM2 signature (SM2Sign)", _GM, key="sm2", asn1_name="sm2"),
    OidEntry("sm3", "1.2.156.10197.1.401", "digest", "SM3 hash", _GM, digest="sm3", asn1_name="sm3"),
    OidEntry("hmac-sm3", "1.2.156.10197.1.401.2", "prf", "HMAC-SM3 (PBKDF2 PRF)", "OpenSSL object table (hmac-sm3)", digest="sm3", asn1_name="sm3"),
    OidEntry("sm2-with-sm3", "1.2.156.10197.1.501", "signature", "SM2 signature with SM3", _GM + "; GB/T 35276-2017", digest="sm3", key="sm2", asn1_name="sm3_sm2"),
    OidEntry("sm3-with-rsa", "1.2.156.10197.1.504", "signature", "sm3WithRSAEncryption", _GM, digest="sm3", key="rsa", asn1_name="sm3_rsa"),
    OidEntry("sm4-cbc", "1.2.156.10197.1.104.2", "cipher", "SM4 in CBC mode (IV parameter)", _GM, asn1_name="sm4_cbc"),
    OidEntry("gbt-data", "1.2.156.10197.6.1.4.2.1", "content-type", "SM2 CMS data", "GB/T 35275-2017 clause 5", asn1_name="sm2_data"),
    OidEntry("gbt-signed-data", "1.2.156.10197.6.1.4.2.2", "content-type", "SM2 CMS signedData", "GB/T 35275-2017 clause 5", asn1_name="sm2_signed_data"),
    OidEntry("gbt-enveloped-data", "1.2.156.10197.6.1.4.2.3", "content-type", "SM2 CMS envelopedData", "GB/T 35275-2017 clause 5", asn1_name="sm2_enveloped_data"),
    OidEntry("gbt-signed-and-enveloped-data", "1.2.156.10197.6.1.4.2.4", "content-type", "SM2 CMS signedAndEnvelopedData", "GB/T 35275-2017 clause 5", asn1_name="sm2_signed_and_enveloped_data"),
    OidEntry("gbt-encrypted-data", "1.2.156.10197.6.1.4.2.5", "content-type", "SM2 CMS encryptedData", "GB/T 35275-2017 clause 5", asn1_name="sm2_encrypted_data"),
    OidEntry("gbt-key-agreement-info", "1.2.156.10197.6.1.4.2.6", "content-type", "SM2 CMS keyAgreementInfo", "GB/T 35275-2017 clause 5", asn1_name="sm2_key_agreement_info"),
    # keys and curves
    OidEntry("rsa", "1.2.840.113549.1.1.1", "key", "rsaEncryption", "RFC 8017 App. A.1", key="rsa"),
    OidEntry("ec-public-key", "1.2.840.10045.2.1", "key", "id-ecPublicKey", "RFC 5480 clause 2.1.1", key="ec"),
    OidEntry("p256", "1.2.840.10045.3.1.7", "curve", "secp256r1 (P-256)", "RFC 5480 clause 2.1.1.1", key="ec"),
    # digests
    OidEntry("sha1", "1.3.14.3.2.26", "digest", "SHA-1", "RFC 3279 clause 2.1", digest="sha1"),
    OidEntry("sha256", "2.16.840.1.101.3.4.2.1", "digest", "SHA-256", "RFC 5754 clause 2; FIPS 180-4", digest="sha256"),
    OidEntry("sha384", "2.16.840.1.101.3.4.2.2", "digest", "SHA-384", "RFC 5754 clause 2; FIPS 180-4", digest="sha384"),
    OidEntry("sha512", "2.16.840.1.101.3.4.2.3", "digest", "SHA-512", "RFC 5754 clause 2; FIPS 180-4", digest="sha512"),
    # signature algorithms
    OidEntry("rsa-sha1", "1.2.840.113549.1.1.5", "signature", "sha1WithRSAEncryption", "RFC 8017 App. A.2.4", digest="sha1", key="rsa"),
    OidEntry("rsa-sha256", "1.2.840.113549.1.1.11", "signature", "sha256WithRSAEncryption", "RFC 4055 clause 5", digest="sha256", key="rsa"),
    OidEntry("rsa-sha384", "1.2.840.113549.1.1.12", "signature", "sha384WithRSAEncryption", "RFC 4055 clause 5", digest="sha384", key="rsa"),
    OidEntry("rsa-sha512", "1.2.840.113549.1.1.13", "signature", "sha512WithRSAEncryption", "RFC 4055 clause 5", digest="sha512", key="rsa"),
    OidEntry("ecdsa-sha1", "1.2.840.10045.4.1", "signature", "ecdsa-with-SHA1", "RFC 3279 clause 2.2.3", digest="sha1", key="ec"),
    OidEntry("ecdsa-sha256", "1.2.840.10045.4.3.2", "signature", "ecdsa-with-SHA256", "RFC 5758 clause 3.2", digest="sha256", key="ec"),
    OidEntry("ecdsa-sha384", "1.2.840.10045.4.3.3", "signature", "ecdsa-with-SHA384", "RFC 5758 clause 3.2", digest="sha384", key="ec"),
    OidEntry("ecdsa-sha512", "1.2.840.10045.4.3.4", "signature", "ecdsa-with-SHA512", "RFC 5758 clause 3.2", digest="sha512", key="ec"),
    # CMS
    OidEntry("data", "1.2.840.113549.1.7.1", "content-type", "id-data", "RFC 5652 clause 4"),
    OidEntry("signed-data", "1.2.840.113549.1.7.2", "content-type", "id-signedData", "RFC 5652 clause 5.1"),
    OidEntry("content-type", "1.2.840.113549.1.9.3", "attribute", "contentType signed attribute", "RFC 5652 clause 11.1"),
    OidEntry("message-digest", "1.2.840.113549.1.9.4", "attribute", "messageDigest signed attribute", "RFC 5652 clause 11.2"),
    OidEntry("signing-time", "1.2.840.113549.1.9.5", "attribute", "signingTime signed attribute", "RFC 5652 clause 11.3"),
    # time-stamping (RFC 3161)
    OidEntry("tst-info", "1.2.840.113549.1.9.16.1.4", "content-type", "id-ct-TSTInfo", "RFC 3161 clause 2.4.2"),
    OidEntry("time-stamp-token", "1.2.840.113549.1.9.16.2.14", "attribute", "id-aa-timeStampToken unsigned attribute", "RFC 3161 Appendix A"),
    # password-based encryption (PKCS#8, PKCS#12)
    OidEntry("pbes2", "1.2.840.113549.1.5.13", "pbe", "PBES2", "RFC 8018 App. A.4"),
    OidEntry("pbkdf2", "1.2.840.113549.1.5.12", "kdf", "PBKDF2", "RFC 8018 App. A.2"),
    OidEntry("scrypt", "1.3.6.1.4.1.11591.4.11", "kdf", "id-scrypt", "RFC 7914 clause 7", asn1_name="scrypt"),
    OidEntry("hmac-sha1", "1.2.840.113549.2.7", "prf", "hmacWithSHA1", "RFC 8018 App. B.1.1", digest="sha1"),
    OidEntry("hmac-sha224", "1.2.840.113549.2.8", "prf", "hmacWithSHA224", "RFC 8018 App. B.1.2", digest="sha224"),
    OidEntry("hmac-sha256", "1.2.840.113549.2.9", "prf", "hmacWithSHA256", "RFC 8018 App. B.1.2", digest="sha256"),
    OidEntry("hmac-sha384", "1.2.840.113549.2.10", "prf", "hmacWithSHA384", "RFC 8018 App. B.1.2", digest="sha384"),
    OidEntry("hmac-sha512", "1.2.840.113549.2.11", "prf", "hmacWithSHA512", "RFC 8018 App. B.1.2", digest="sha512"),
    OidEntry("aes-128-cbc", "2.16.840.1.101.3.4.1.2", "cipher", "id-aes128-CBC", "RFC 3565 clause 4.1"),
    OidEntry("aes-192-cbc", "2.16.840.1.101.3.4.1.22", "cipher", "id-aes192-CBC", "RFC 3565 clause 4.1"),
    OidEntry("aes-256-cbc", "2.16.840.1.101.3.4.1.42", "cipher", "id-aes256-CBC", "RFC 3565 clause 4.1"),
    OidEntry("pkcs12-sha-3des-3key", "1.2.840.113549.1.12.1.3", "pbe", "pbeWithSHAAnd3-KeyTripleDES-CBC", "RFC 7292 App. C"),
    OidEntry("pkcs12-sha-3des-2key", "1.2.840.113549.1.12.1.4", "pbe", "pbeWithSHAAnd2-KeyTripleDES-CBC", "RFC 7292 App. C"),
    OidEntry("pkcs12-sha-rc2-128", "1.2.840.113549.1.12.1.5", "pbe", "pbeWithSHAAnd128BitRC2-CBC", "RFC 7292 App. C"),
    # extended key usage purposes a voucher signer's certificate may carry (issue 13 item 1)
    OidEntry("eku-any", "2.5.29.37.0", "eku", "anyExtendedKeyUsage", "RFC 5280 clause 4.2.1.12"),
    OidEntry("eku-email-protection", "1.3.6.1.5.5.7.3.4", "eku", "id-kp-emailProtection (S/MIME, CMS signing)", "RFC 5280 clause 4.2.1.12"),
    OidEntry("eku-document-signing", "1.3.6.1.5.5.7.3.36", "eku", "id-kp-documentSigning", "RFC 9336 clause 3.1"),
    OidEntry("eku-ms-document-signing", "1.3.6.1.4.1.311.10.3.12", "eku", "Microsoft document signing (szOID_KP_DOCUMENT_SIGNING)", "Microsoft Learn, Object IDs associated with Microsoft cryptography"),
    OidEntry("eku-adobe-authentic-documents", "1.2.840.113583.1.1.5", "eku", "Adobe Authentic Documents Trust", "Adobe Approved Trust List technical requirements"),
    OidEntry("eku-server-auth", "1.3.6.1.5.5.7.3.1", "eku", "id-kp-serverAuth (TLS server)", "RFC 5280 clause 4.2.1.12"),
    OidEntry("eku-time-stamping", "1.3.6.1.5.5.7.3.8", "eku", "id-kp-timeStamping", "RFC 5280 clause 4.2.1.12; RFC 3161 clause 2.3"),
    OidEntry("eku-ocsp-signing", "1.3.6.1.5.5.7.3.9", "eku", "id-kp-OCSPSigning", "RFC 5280 clause 4.2.1.12; RFC 6960 clause 4.2.2.2"),
    OidEntry("pkcs12-sha-rc2-40", "1.2.840.113549.1.12.1.6", "pbe", "pbeWithSHAAnd40BitRC2-CBC", "RFC 7292 App. C"),
)
# fmt: on

#: Entries by ezhifu name and by dotted OID.
BY_NAME: dict[str, OidEntry] = {entry.name: entry for entry in REGISTRY}
BY_DOTTED: dict[str, OidEntry] = {entry.dotted: entry for entry in REGISTRY}


def dotted(name: str) -> str:
    """The dotted OID of the registry entry ``name`` (``KeyError`` for a name not in it)."""
    return BY_NAME[name].dotted


def name_of(oid: str) -> str:
    """ezhifu's name for a dotted OID, or the dotted string itself when it is not registered."""
    entry = BY_DOTTED.get(oid)
    return entry.name if entry is not None else oid


#: Extended key usages that allow signing vouchers (issue 13 item 1; docs/security.md): any,
#: emailProtection, and the document-signing purposes. A certificate with an extendedKeyUsage
#: extension naming none of these (e.g. only TLS serverAuth) is refused as a signer.
DOCUMENT_SIGNING_EKUS: frozenset[str] = frozenset(
    dotted(name)
    for name in (
        "eku-any",
        "eku-email-protection",
        "eku-document-signing",
        "eku-ms-document-signing",
        "eku-adobe-authentic-documents",
    )
)

OID_SM2 = dotted("sm2")
OID_SM2_SIGN = dotted("sm2-sign")
OID_SM3 = dotted("sm3")
OID_HMAC_SM3 = dotted("hmac-sm3")
OID_SM2_WITH_SM3 = dotted("sm2-with-sm3")
OID_SM3_WITH_RSA = dotted("sm3-with-rsa")
OID_SM4_CBC = dotted("sm4-cbc")
OID_SM2_DATA = dotted("gbt-data")
OID_SM2_SIGNED_DATA = dotted("gbt-signed-data")
OID_RSA = dotted("rsa")
OID_EC_PUBLIC_KEY = dotted("ec-public-key")
OID_P256 = dotted("p256")
OID_SHA1 = dotted("sha1")
OID_SHA256 = dotted("sha256")
OID_SHA384 = dotted("sha384")
OID_SHA512 = dotted("sha512")
OID_DATA = dotted("data")
OID_SIGNED_DATA = dotted("signed-data")
OID_CONTENT_TYPE = dotted("content-type")
OID_MESSAGE_DIGEST = dotted("message-digest")
OID_SIGNING_TIME = dotted("signing-time")
OID_TST_INFO = dotted("tst-info")
OID_TIME_STAMP_TOKEN = dotted("time-stamp-token")
OID_KP_TIME_STAMPING = dotted("eku-time-stamping")
OID_PBES2 = dotted("pbes2")
OID_PBKDF2 = dotted("pbkdf2")
OID_SCRYPT = dotted("scrypt")

#: asn1crypto name of the SM2 recommended curve (GB/T 32918.5-2017), OID 1.2.156.10197.1.301.
SM2_CURVE_NAME = "sm2p256v1"

#: Digest OID -> hashlib-style name (``"sm3"``, ``"sha256"`` ...), and back.
DIGEST_NAMES: dict[str, str] = {e.dotted: e.digest for e in REGISTRY if e.kind == "digest" and e.digest}
DIGEST_OIDS: dict[str, str] = {name: oid for oid, name in DIGEST_NAMES.items()}

#: Signature algorithm OID -> the digest it implies (certificate and CRL signatures).
SIGNATURE_DIGESTS: dict[str, str] = {
    e.dotted: e.digest for e in REGISTRY if e.kind == "signature" and e.digest
}

#: OIDs found in a CMS ``signatureAlgorithm`` (RFC 5652 clause 10.1.2: a signature algorithm,
#: or a bare key algorithm as old PKCS#7 writers put there) -> (key kind, implied digest or None).
SIGNATURE_KINDS: dict[str, tuple[str, str | None]] = {
    BY_NAME[name].dotted: (
        str(BY_NAME[name].key),
        BY_NAME[name].digest if BY_NAME[name].kind == "signature" else None,
    )
    for name in (
        "rsa", "rsa-sha1", "rsa-sha256", "rsa-sha384", "rsa-sha512",
        "sm2-with-sm3", "sm2-sign", "sm2", "ec-public-key", "ecdsa-sha256",
    )
}  # fmt: skip

#: GB/T 35275-2017 clause 5 content-type OIDs and the names registered in ``cms.ContentType``.
CONTENT_TYPE_NAMES: dict[str, str] = {
    e.dotted: e.asn1_name for e in REGISTRY if e.kind == "content-type" and e.asn1_name
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


register()
