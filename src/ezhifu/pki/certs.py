"""X.509 certificates: issuer signature, validity, key usage, and a CertificateBuilder.

Verification steps follow RFC 5280 clause 6.1.3 (a)(1)-(2) for one link of a chain: the
certificate's signature verifies under the issuer's public key, and ``at`` lies in the
validity period. Chain building, trust anchors and policy live in :mod:`ezhifu.pki.trust`.

SM2-with-SM3 certificate signatures (OID 1.2.156.10197.1.501, GB/T 33560-2017) are verified
over the DER ``tbsCertificate`` with ``Z_A`` computed from the issuer key and the default ID
``1234567812345678`` (GM/T 0009-2012 clause 10; GB/T 20518-2018). OpenSSL 3.0 without
``-sigopt distid:1234567812345678`` signs with the *empty* ID; such a certificate is refused
and the reason says so.

:class:`CertificateBuilder` issues v3 certificates (RFC 5280 clause 4.1) with asn1crypto,
signed by any :class:`~ezhifu.crypto.base.Signer` (SM2, RSA, ECDSA).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TypeAlias

from asn1crypto import algos, core, keys, x509

from ezhifu.crypto import oids
from ezhifu.crypto.base import DEFAULT_SM2_ID, SignatureAlgorithm, Signer
from ezhifu.crypto.keytypes import PrivateKey, PublicKey
from ezhifu.crypto.signer import MIN_RSA_BITS, verify_signature
from ezhifu.errors import (
    CertificateError,
    CertificateExpired,
    CertificateNotYetValid,
    InvalidInput,
    InvalidSignature,
    KeyUsageError,
    SigningError,
    UnsupportedAlgorithm,
    WeakAlgorithm,
)
from ezhifu.pki import keys as _keys
from ezhifu.pki.keys import subject_text
from ezhifu.results import SignerInfo

__all__ = [
    "CertificateBuilder",
    "CertificateExpired",
    "CertificateNotYetValid",
    "KeyUsageError",
    "build_name",
    "cert_info",
    "certificate_signature_algorithm",
    "check_key_usage",
    "check_validity",
    "extended_key_usage",
    "is_ca",
    "key_usage",
    "shared_certificate",
    "subject_text",
    "verify_certificate_signature",
]

oids.register()


#: A certificate as an asn1crypto object or PEM/DER bytes.
CertLike: TypeAlias = x509.Certificate | bytes


#: Distinct certificates kept by :func:`shared_certificate` (bounded LRU).
SHARED_CERTIFICATE_CACHE_SIZE = 256


@functools.lru_cache(maxsize=SHARED_CERTIFICATE_CACHE_SIZE)
def shared_certificate(der: bytes) -> x509.Certificate:
    """The parsed certificate of exactly these DER bytes, shared between callers (bounded LRU).

    Every CMS and every seal signature of a batch embeds the same few partner certificates;
    parsing each copy again also repeats everything asn1crypto derives and memoises on the
    object (names, extensions, validity, key). Sharing is keyed by the exact bytes, so a
    certificate that differs in one bit is a different entry, and it changes no check: every
    check still runs on each use. The returned object is shared and must be treated as
    read-only. Parse errors (``ValueError`` from asn1crypto, strict: no trailing bytes) are
    raised to the caller and never cached; asn1crypto parses lazily, so defects deep inside
    surface where a field is first read, as with ``x509.Certificate.load``.
    """
    if not isinstance(der, bytes):
        raise InvalidInput(f"shared_certificate: DER must be bytes, not {type(der).__name__}")
    return x509.Certificate.load(der, strict=True)


def _cert(value: CertLike) -> x509.Certificate:
    return _keys.load_certificate(value)


def _where(cert: x509.Certificate) -> str:
    return f"certificate {subject_text(cert)!r} (serial {cert.serial_number:x})"


def certificate_signature_algorithm(cert: CertLike) -> SignatureAlgorithm:
    """The algorithm of the certificate's own signature (its ``signatureAlgorithm`` field)."""
    certificate = _cert(cert)
    try:
        return oids.signature_algorithm_for(certificate["signature_algorithm"])
    except UnsupportedAlgorithm as exc:
        raise UnsupportedAlgorithm(f"{_where(certificate)}: {exc}") from exc


def verify_certificate_signature(
    cert: CertLike,
    issuer_cert: CertLike,
    *,
    allow_weak: bool = False,
) -> None:
    """Check that ``issuer_cert`` signed ``cert`` (RFC 5280 clause 6.1.3 (a)(1)).

    Steps: the outer ``signatureAlgorithm`` equals ``tbsCertificate.signature`` (clause
    4.1.1.2); the issuer name equals the issuer certificate's subject (clause 6.1.3 (a)(4),
    RFC 5280 name matching); the algorithm is supported and, unless ``allow_weak``, not SHA-1
    with an issuer RSA key of at least 2048 bits; the signature over the DER
    ``tbsCertificate`` verifies (SM2 with the default ID).

    Raises :class:`~ezhifu.errors.InvalidSignature` (bad signature),
    :class:`~ezhifu.errors.CertificateError` (structure or name mismatch),
    :class:`~ezhifu.errors.WeakAlgorithm` or :class:`~ezhifu.errors.UnsupportedAlgorithm`;
    each message names the certificate.
    """
    certificate = _cert(cert)
    issuer = _cert(issuer_cert)
    where = _where(certificate)
    outer = certificate["signature_algorithm"]
    inner = certificate["tbs_certificate"]["signature"]
    if outer.dump() != inner.dump():
        raise CertificateError(
            f"{where}: signatureAlgorithm differs from tbsCertificate.signature (RFC 5280 clause 4.1.1.2)"
        )
    # Byte-equal DER names match at once; only otherwise run RFC 5280 string preparation,
    # which is slow in asn1crypto and would dominate batch verification.
    if certificate.issuer.dump() != issuer.subject.dump() and certificate.issuer != issuer.subject:
        raise CertificateError(
            f"{where}: issuer name {certificate.issuer.human_friendly!r} does not match the subject of "
            f"the issuer certificate {subject_text(issuer)!r}"
        )
    algorithm = certificate_signature_algorithm(certificate)
    issuer_key = _keys.public_key_of(issuer)
    kind = _keys.key_kind(issuer_key)
    if algorithm.key_kind != kind:
        raise InvalidSignature(
            f"{where}: signed with {algorithm.value} but the issuer {subject_text(issuer)!r} has a {kind} key"
        )
    if not allow_weak:
        weak = [f"signature algorithm {algorithm.value} is weak"] if algorithm.is_weak else []
        key_size = getattr(issuer_key, "key_size", None)
        if kind == "rsa" and isinstance(key_size, int) and key_size < MIN_RSA_BITS:
            weak.append(f"issuer RSA key of {key_size} bits is below {MIN_RSA_BITS} bits")
        if weak:
            raise WeakAlgorithm(f"{where}: {' and '.join(weak)}")
    tbs = certificate["tbs_certificate"].dump()
    signature = certificate["signature_value"].native
    try:
        verify_signature(issuer_key, tbs, signature, algorithm=algorithm, uid=DEFAULT_SM2_ID)
    except InvalidSignature as exc:
        reason = f"{where}: {algorithm.value} signature by {subject_text(issuer)!r} does not verify"
        if kind == "sm2":
            reason += f" under the default SM2 ID {DEFAULT_SM2_ID.decode()} (GM/T 0009-2012 clause 10)"
            try:
                verify_signature(issuer_key, tbs, signature, algorithm=algorithm, uid=b"")
            except InvalidSignature:
                pass
            else:
                reason += (
                    "; it verifies under the empty ID, i.e. it was made by OpenSSL without "
                    "'-sigopt distid:1234567812345678', which is not the standard"
                )
        raise InvalidSignature(reason) from exc


def check_validity(cert: CertLike, at: datetime | None = None) -> None:
    """Check ``notBefore <= at <= notAfter`` (RFC 5280 clause 4.1.2.5); ``at`` defaults to now.

    ``at`` must be timezone-aware. Raises :class:`CertificateNotYetValid` or
    :class:`CertificateExpired`.
    """
    certificate = _cert(cert)
    when = datetime.now(UTC) if at is None else at
    if when.tzinfo is None:
        raise InvalidInput("check_validity: 'at' must be a timezone-aware datetime")
    validity = certificate["tbs_certificate"]["validity"]
    not_before: datetime = validity["not_before"].native
    not_after: datetime = validity["not_after"].native
    if when < not_before:
        raise CertificateNotYetValid(
            f"{_where(certificate)} is not valid before {not_before.isoformat()} "
            f"(checked at {when.isoformat()})"
        )
    if when > not_after:
        raise CertificateExpired(
            f"{_where(certificate)} expired at {not_after.isoformat()} (checked at {when.isoformat()})"
        )


def key_usage(cert: CertLike) -> frozenset[str] | None:
    """The keyUsage bits set (asn1crypto names: ``digital_signature``, ``non_repudiation``,
    ``key_cert_sign`` ...), or None when the extension is absent (RFC 5280 clause 4.2.1.3)."""
    value = _cert(cert).key_usage_value
    if value is None:
        return None
    return frozenset(value.native)


def extended_key_usage(cert: CertLike) -> frozenset[str] | None:
    """extendedKeyUsage purposes (names or dotted OIDs), or None when absent (clause 4.2.1.12)."""
    value = _cert(cert).extended_key_usage_value
    if value is None:
        return None
    return frozenset(value.native)


def is_ca(cert: CertLike) -> bool:
    """True when basicConstraints says ``cA = TRUE`` (RFC 5280 clause 4.2.1.9)."""
    value = _cert(cert).basic_constraints_value
    return bool(value is not None and value["ca"].native)


def check_key_usage(
    cert: CertLike,
    required: Iterable[str] = ("digital_signature",),
    *,
    any_of: bool = True,
    extended: Iterable[str] = (),
) -> None:
    """Check that the certificate may be used for ``required`` (keyUsage names).

    With ``any_of`` (default) one of the names suffices (a signing certificate may carry
    ``digital_signature`` or ``non_repudiation``); otherwise all are needed. An absent
    keyUsage extension does not restrict (RFC 5280 clause 4.2.1.3). ``extended`` purposes, if
    given, must each appear in an extendedKeyUsage extension when one is present
    (``any_extended_key_usage`` satisfies all). Raises :class:`KeyUsageError`.
    """
    certificate = _cert(cert)
    wanted = list(required)
    usage = key_usage(certificate)
    if usage is not None and wanted:
        ok = any(u in usage for u in wanted) if any_of else all(u in usage for u in wanted)
        if not ok:
            raise KeyUsageError(
                f"{_where(certificate)}: keyUsage {sorted(usage)} does not allow "
                f"{' or '.join(wanted) if any_of else ' and '.join(wanted)}"
            )
    purposes = list(extended)
    eku = extended_key_usage(certificate)
    if eku is not None and purposes and "any_extended_key_usage" not in eku:
        missing = [p for p in purposes if p not in eku]
        if missing:
            raise KeyUsageError(f"{_where(certificate)}: extendedKeyUsage {sorted(eku)} lacks {missing}")


def cert_info(cert: CertLike) -> SignerInfo:
    """Subject, issuer, serial (lower-case hex) and validity of a certificate."""
    certificate = _cert(cert)
    validity = certificate["tbs_certificate"]["validity"]
    return SignerInfo(
        subject=subject_text(certificate),
        issuer=certificate.issuer.human_friendly,
        serial_hex=format(certificate.serial_number, "x"),
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
    )


# --- building ---------------------------------------------------------------------------------


def build_name(value: str | Mapping[str, str] | x509.Name) -> x509.Name:
    """An X.501 Name from a common name, a mapping of asn1crypto attribute names
    (``{"country_name": "CN", "organization_name": "...", "common_name": "..."}``) or a Name.
    Strings are UTF8String (PrintableString for the country), as RFC 5280 clause 4.1.2.6 asks."""
    if isinstance(value, x509.Name):
        return value
    if isinstance(value, str):
        value = {"common_name": value}
    if not isinstance(value, Mapping) or not value:
        raise InvalidInput("a certificate name must be a non-empty str, mapping or asn1crypto Name")
    try:
        return x509.Name.build(dict(value))
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"cannot build a certificate name from {dict(value)!r}: {exc}") from exc


def _time(value: datetime) -> x509.Time:
    # RFC 5280 clause 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds.
    value = value.astimezone(UTC).replace(microsecond=0)
    if value.year < 2050:
        return x509.Time(name="utc_time", value=value)
    return x509.Time(name="general_time", value=value)


def _key_identifier(spki: keys.PublicKeyInfo) -> bytes:
    # RFC 5280 clause 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value.
    # SHA-1 here only names the key; it protects nothing.
    return hashlib.sha1(spki["public_key"].contents[1:], usedforsecurity=False).digest()


class CertificateBuilder:
    """Issue an X.509 v3 certificate (RFC 5280 clause 4.1) signed by any Signer.

    ``subject`` is a common name, a mapping of attribute names, or an asn1crypto Name;
    ``public_key`` any ezhifu key (private keys are reduced to their public key). Defaults:
    a random positive 159-bit serial (clause 4.1.2.2), ``not_before`` now minus five minutes,
    ``not_after`` one year later. ``is_ca`` adds a critical basicConstraints with ``cA`` and
    ``path_length``; ``key_usage`` (critical) and ``extended_key_usage`` take asn1crypto names.
    Subject and authority key identifiers are always written (clause 4.2.1.1-2).

    :meth:`build` signs with the signer's algorithm, then verifies the new certificate under
    the issuer's key (or its own for a self-signed one), so a signer that does not belong to
    the issuer is caught at once.
    """

    def __init__(
        self,
        subject: str | Mapping[str, str] | x509.Name,
        public_key: PublicKey | PrivateKey,
        *,
        serial_number: int | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        is_ca: bool = False,
        path_length: int | None = None,
        key_usage: Iterable[str] | None = None,
        extended_key_usage: Iterable[str] | None = None,
    ) -> None:
        self.subject = build_name(subject)
        self.public_key: PublicKey = _keys.public_key_of(public_key)
        if serial_number is None:
            serial_number = secrets.randbelow(2**159 - 1) + 1
        if not isinstance(serial_number, int) or not 0 < serial_number < 2**159:
            raise InvalidInput("serial_number must be a positive integer of at most 20 octets")
        self.serial_number = serial_number
        now = datetime.now(UTC)
        self.not_before = not_before if not_before is not None else now - timedelta(minutes=5)
        self.not_after = not_after if not_after is not None else self.not_before + timedelta(days=365)
        if self.not_before.tzinfo is None or self.not_after.tzinfo is None:
            raise InvalidInput("not_before and not_after must be timezone-aware datetimes")
        if self.not_after <= self.not_before:
            raise InvalidInput("not_after must be later than not_before")
        if path_length is not None and (not is_ca or path_length < 0):
            raise InvalidInput("path_length needs is_ca=True and must be >= 0")
        self.is_ca = is_ca
        self.path_length = path_length
        self.key_usage = frozenset(key_usage) if key_usage is not None else None
        self.extended_key_usage = tuple(extended_key_usage) if extended_key_usage is not None else None

    def _extensions(self, spki: keys.PublicKeyInfo, issuer: x509.Certificate | None) -> list[x509.Extension]:
        ski = _key_identifier(spki)
        if issuer is None:
            aki = ski
        else:
            issuer_ski = issuer.key_identifier
            aki = issuer_ski if issuer_ski is not None else _key_identifier(issuer.public_key)
        extensions = []
        if self.is_ca:
            constraints: dict[str, object] = {"ca": True}
            if self.path_length is not None:
                constraints["path_len_constraint"] = self.path_length
            extensions.append(
                x509.Extension({"extn_id": "basic_constraints", "critical": True, "extn_value": constraints})
            )
        if self.key_usage is not None:
            extensions.append(
                x509.Extension(
                    {
                        "extn_id": "key_usage",
                        "critical": True,
                        "extn_value": x509.KeyUsage(set(self.key_usage)),
                    }
                )
            )
        if self.extended_key_usage is not None:
            extensions.append(
                x509.Extension(
                    {
                        "extn_id": "extended_key_usage",
                        "critical": False,
                        "extn_value": list(self.extended_key_usage),
                    }
                )
            )
        extensions.append(x509.Extension({"extn_id": "key_identifier", "critical": False, "extn_value": ski}))
        extensions.append(
            x509.Extension(
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": aki},
                }
            )
        )
        return extensions

    def build(self, signer: Signer, *, issuer: CertLike | None = None) -> x509.Certificate:
        """Sign and return the certificate. ``issuer`` None means self-signed."""
        issuer_cert = _cert(issuer) if issuer is not None else None
        algorithm = signer.algorithm
        if not isinstance(algorithm, SignatureAlgorithm):
            raise InvalidInput(f"signer algorithm must be a SignatureAlgorithm, got {algorithm!r}")
        spki = keys.PublicKeyInfo.load(_keys.public_key_der(self.public_key))
        signature_algorithm = algos.SignedDigestAlgorithm({"algorithm": algorithm.signature_oid})
        if algorithm.key_kind == "rsa":
            # RFC 4055 clause 5 / RFC 8017 App. A.2.4: PKCS#1 v1.5 identifiers carry NULL.
            signature_algorithm["parameters"] = core.Null()
        tbs = x509.TbsCertificate(
            {
                "version": "v3",
                "serial_number": self.serial_number,
                "signature": signature_algorithm,
                "issuer": issuer_cert.subject if issuer_cert is not None else self.subject,
                "validity": {"not_before": _time(self.not_before), "not_after": _time(self.not_after)},
                "subject": self.subject,
                "subject_public_key_info": spki,
                "extensions": self._extensions(spki, issuer_cert),
            }
        )
        tbs_der = tbs.dump()
        signature = signer.sign(tbs_der)
        certificate = x509.Certificate(
            {
                "tbs_certificate": tbs,
                "signature_algorithm": signature_algorithm,
                "signature_value": signature,
            }
        )
        result = _keys.load_certificate(certificate.dump())
        try:
            verify_certificate_signature(
                result, issuer_cert if issuer_cert is not None else result, allow_weak=True
            )
        except InvalidSignature as exc:
            which = "the issuer certificate" if issuer_cert is not None else "the subject public key"
            raise SigningError(f"the signer's key does not match {which}: {exc}") from exc
        return result
