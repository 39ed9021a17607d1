"""What a verification requires: the algorithms allowed, key usage, validity at a time.

:class:`VerifyPolicy` is the relying party's choice (RFC 5280 clause 6.1.1 inputs, in the
subset the treasury deployments need): the digests accepted for signatures on vouchers,
certificates and CRLs, the smallest RSA key, the clock skew, whether key usage is honoured,
whether revocation is checked. The secure default accepts SM2/SM3 and SHA-256 or stronger and
RSA of at least 2048 bits; :meth:`VerifyPolicy.legacy` also accepts SHA-1 and RSA-1024, which is
what the deployed treasury systems use (spec.md §5.3: SHA-1, RSA-1024, certificates signed with
sha1WithRSAEncryption by a private CA).

:func:`signer_refusal` applies the policy to a signer certificate at a time: key, validity,
critical extensions and key usage (RFC 5280 clauses 4.1.2.5, 4.2.1.3, 6.1.4 (o)); the checks
themselves are :mod:`ezhifu.pki.certs`' one validity and key-usage check.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import x509

from ezhifu.crypto import oids
from ezhifu.errors import ConfigurationError
from ezhifu.pki.certs import certificate_label, key_usage_refusal, validity_refusal

__all__ = [
    "LEGACY_HINT",
    "UNAVAILABLE_POLICIES",
    "VerifyPolicy",
    "as_utc",
    "critical_refusal",
    "eku_refusal",
    "signature_digest",
    "signer_refusal",
]

#: Appended to every refusal that the legacy policy would accept.
LEGACY_HINT = "use VerifyPolicy.legacy() for legacy partners"

_SECURE_DIGESTS = frozenset({"sm3", "sha256", "sha384", "sha512"})

#: Extensions whose criticality we honour (RFC 5280 clause 6.1.4 (o): refuse the others).
_UNDERSTOOD_CRITICAL = frozenset(
    {
        "basic_constraints",
        "key_usage",
        "extended_key_usage",
        "subject_alt_name",
        "issuer_alt_name",
        "certificate_policies",
    }
)

#: The choices of ``VerifyPolicy.revocation_unavailable`` (``--revocation-unavailable``).
UNAVAILABLE_POLICIES = ("hard-fail", "soft-fail")

#: A signer certificate must allow one of these (RFC 5280 clause 4.2.1.3).
SIGNER_KEY_USAGE = ("digital_signature", "non_repudiation")


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """What a verifier accepts. Frozen; ``VerifyPolicy()`` is the secure default.

    * ``allowed_digests``: digest names accepted for signatures on vouchers, certificates
      and CRLs (default SM3, SHA-256, SHA-384, SHA-512).
    * ``min_rsa_bits``: smallest RSA modulus accepted (default 2048).
    * ``require_trusted``: a signature whose signer does not chain to the trust store is
      not valid (default ``True``; ``False`` only reports ``trusted=False``).
    * ``allow_pinned``: end-entity certificates pinned in the trust store are trusted
      directly (default ``True``).
    * ``clock_skew``: tolerance on validity periods and signing times (default 5 minutes).
    * ``check_signing_time``: a claimed signing time (signed attribute) must lie inside the
      signer certificate's validity (default ``True``).
    * ``require_key_usage``: honour the key usage extension when present (default ``True``).
    * ``check_crl`` / ``crls``: check revocation against these DER CRLs (RFC 5280 clause 6.3,
      :mod:`ezhifu.pki.revocation`).
    * ``revocation_unavailable``: ``"hard-fail"`` (default: a certificate with no matching,
      current CRL fails) or ``"soft-fail"`` (accepted, reported as unavailable).
    """

    allowed_digests: frozenset[str] = _SECURE_DIGESTS
    min_rsa_bits: int = 2048
    require_trusted: bool = True
    allow_pinned: bool = True
    clock_skew: timedelta = timedelta(minutes=5)
    check_signing_time: bool = True
    require_key_usage: bool = True
    check_crl: bool = False
    crls: tuple[bytes, ...] = ()
    revocation_unavailable: str = "hard-fail"
    check_ocsp: bool = False
    ocsp_url: str | None = None
    ocsp_timeout: float = 10.0
    name: str = "default"

    def __post_init__(self) -> None:
        if self.min_rsa_bits < 512:
            raise ConfigurationError(f"VerifyPolicy.min_rsa_bits={self.min_rsa_bits} is below 512")
        if self.clock_skew < timedelta(0):
            raise ConfigurationError("VerifyPolicy.clock_skew must not be negative")
        if self.revocation_unavailable not in UNAVAILABLE_POLICIES:
            raise ConfigurationError(
                f"VerifyPolicy.revocation_unavailable={self.revocation_unavailable!r}: "
                "expected 'hard-fail' or 'soft-fail'"
            )
        if self.ocsp_url is not None and not self.ocsp_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"VerifyPolicy.ocsp_url={self.ocsp_url!r}: expected an http(s) URL")
        if not 0 < self.ocsp_timeout <= 120:
            raise ConfigurationError("VerifyPolicy.ocsp_timeout must be in (0, 120] seconds")
        if self.check_crl and not self.crls:
            raise ConfigurationError("VerifyPolicy.check_crl is set but no CRLs were supplied (crls=...)")

    @classmethod
    def legacy(cls, **overrides: Any) -> VerifyPolicy:
        """The deployed reality (spec.md §5.3): also SHA-1 digests and RSA-1024 keys."""
        base: dict[str, Any] = {
            "allowed_digests": _SECURE_DIGESTS | {"sha1"},
            "min_rsa_bits": 1024,
            "name": "legacy",
        }
        base.update(overrides)
        return cls(**base)

    def replace(self, **changes: Any) -> VerifyPolicy:
        """A copy with some options changed."""
        return dataclasses.replace(self, **changes)

    # -- algorithm checks: each returns None when accepted, else the exact reason ---------

    def digest_refusal(self, digest: str, *, what: str = "digest") -> str | None:
        """``None`` if ``digest`` is accepted, otherwise the reason it is refused."""
        if digest in self.allowed_digests:
            return None
        hint = f" ({LEGACY_HINT})" if digest == "sha1" and self.name != "legacy" else ""
        return f"{what} {digest} refused by policy{hint}"

    def algorithm_refusal(
        self, digest: str, cert: x509.Certificate, *, what: str = "digest", role: str = "signer"
    ) -> str | None:
        """``None`` if both the digest and the certificate's key are accepted, otherwise one
        reason naming **every** refusal (a SHA-1 signature by an RSA-1024 key names both)."""
        digest_reason = self.digest_refusal(digest, what=what)
        key_reason = self.key_refusal(cert, role=role)
        if digest_reason is None or key_reason is None:
            return digest_reason or key_reason
        hint = f" ({LEGACY_HINT})"
        key_reason = key_reason.replace(f"; {LEGACY_HINT}", "")
        both = f"{digest_reason.replace(hint, '')} and {key_reason}"
        return both + (hint if hint in digest_reason or LEGACY_HINT in both else "")

    def key_refusal(self, cert: x509.Certificate, *, role: str = "signer") -> str | None:
        """``None`` if the certificate's public key is accepted, otherwise the reason."""
        try:
            algo = cert.public_key.algorithm
        except Exception as exc:
            return f"{role} certificate {certificate_label(cert)} has an unreadable public key ({exc})"
        if algo == "rsa":
            bits = int(cert.public_key.bit_size)
            if bits < self.min_rsa_bits:
                hint = f"; {LEGACY_HINT}" if bits >= 1024 and self.name != "legacy" else ""
                return f"RSA key of {bits} bits refused by policy (minimum {self.min_rsa_bits}{hint})"
            return None
        if algo == "ec":
            return None
        return f"{role} certificate {certificate_label(cert)} has a {algo} key, which is not supported"


def as_utc(at: datetime | None) -> datetime:
    """``at`` made timezone-aware, a naive value taken as UTC; the current UTC time for ``None``.

    The one convention for moments given without a zone (check times passed by callers, times
    decoded from seals), shared by chain validation, seal decoding and seal verification. An
    aware value is returned unchanged.
    """
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:  # naive datetimes are taken as UTC
        return at.replace(tzinfo=UTC)
    return at


def signature_digest(cert_or_crl: Any) -> str | None:
    """The digest implied by a certificate's or CRL's signature algorithm OID, if known."""
    return oids.SIGNATURE_DIGESTS.get(cert_or_crl["signature_algorithm"]["algorithm"].dotted)


def critical_refusal(cert: x509.Certificate, *, role: str) -> str | None:
    unknown = sorted(str(name) for name in cert.critical_extensions if name not in _UNDERSTOOD_CRITICAL)
    if unknown:
        names = ", ".join(unknown)
        return f"{role} certificate {certificate_label(cert)} has unsupported critical extension(s) {names}"
    return None


#: What each anchor purpose needs from an extendedKeyUsage extension, when one is present.
PURPOSE_EKUS: dict[str, tuple[frozenset[str], str]] = {
    "signer": (
        oids.DOCUMENT_SIGNING_EKUS,
        "document signing (anyExtendedKeyUsage, emailProtection or a document-signing purpose)",
    ),
    "seal-maker": (
        oids.DOCUMENT_SIGNING_EKUS,
        "document signing (anyExtendedKeyUsage, emailProtection or a document-signing purpose)",
    ),
    "tsa": (frozenset({oids.dotted("eku-time-stamping")}), "time stamping (RFC 3161 clause 2.3)"),
}


def eku_refusal(cert: x509.Certificate, *, purpose: str = "signer", role: str = "signer") -> str | None:
    """``None`` unless ``cert`` carries an extendedKeyUsage extension that allows none of the
    purposes :data:`PURPOSE_EKUS` lists for ``purpose`` (for signers and seal makers
    :data:`ezhifu.crypto.oids.DOCUMENT_SIGNING_EKUS`: anyExtendedKeyUsage, emailProtection or a
    document-signing purpose; RFC 5280 clause 4.2.1.12, issue 13 item 1), else the reason. A
    certificate without the extension is not restricted."""
    value = cert.extended_key_usage_value
    if value is None:
        return None
    allowed, what = PURPOSE_EKUS.get(purpose, PURPOSE_EKUS["signer"])
    present = [item.dotted for item in value]
    if any(oid in allowed for oid in present):
        return None
    names = ", ".join(oids.name_of(oid) for oid in present) or "none"
    return f"{role} certificate {certificate_label(cert)}: extended key usage ({names}) does not allow {what}"


def signer_refusal(
    cert: x509.Certificate, at: datetime, policy: VerifyPolicy, *, purpose: str = "signer"
) -> str | None:
    """``None`` when ``policy`` accepts ``cert`` as a signer certificate at ``at``, else why not:
    its key, its validity (with the policy's clock skew), unknown critical extensions, and its
    key usage and extended key usage (:func:`eku_refusal`) when the policy honours them."""
    return (
        policy.key_refusal(cert)
        or validity_refusal(cert, at, skew=policy.clock_skew, role="signer")
        or critical_refusal(cert, role="signer")
        or (key_usage_refusal(cert, SIGNER_KEY_USAGE, role="signer") if policy.require_key_usage else None)
        or (eku_refusal(cert, purpose=purpose) if policy.require_key_usage else None)
    )
