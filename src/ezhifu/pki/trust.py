"""Trust store, verification policy and certificate path validation.

A signature on a voucher is only worth something when its signer certificate chains to a
certificate the relying party trusts. This module decides that, following the path
validation of RFC 5280 clause 6.1 in the subset the treasury deployments need:

* chain building from the signer certificate through intermediates embedded in the CMS
  ``certificates`` field or supplied by the caller, to a root of the :class:`TrustStore`;
  candidate issuers are found by name but **accepted only by signature** (RFC 5280 clause
  6.1.3 (a)(1)), so a foreign CA that copies the subject of a trusted root never matches;
* validity of every certificate at the validation time (clause 6.1.3 (a)(2)), with a
  configurable clock skew;
* ``basicConstraints`` cA on every issuer and ``pathLenConstraint`` (clause 6.1.4 (k), (m)),
  ``keyCertSign`` on issuers and ``digitalSignature`` / ``nonRepudiation`` on the signer when
  the key usage extension is present (clause 4.2.1.3), refusal of unknown critical
  extensions (clause 6.1.4 (o));
* optionally, revocation against CRLs supplied by the caller (clause 6.3), the CRL's own
  signature checked against the issuer;
* the algorithm policy: SM2/SM3 and SHA-256 or stronger, RSA of at least 2048 bits by
  default; :meth:`VerifyPolicy.legacy` also accepts SHA-1 and RSA-1024, which is what the
  deployed treasury systems use (spec.md §5.3: SHA-1, RSA-1024, certificates signed with
  sha1WithRSAEncryption by a private CA).

Partners' certificates often come from a private CA whose root is never handed out; a
:class:`TrustStore` may therefore also *pin* end-entity certificates, trusted directly when
the certificate presented is byte-for-byte the pinned one.

SM2 certificate signatures are checked with the GM/T 0009-2012 clause 10 default signer ID
(through :func:`ezhifu.pki.certs.verify_certificate_signature`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import pem as asn1_pem
from asn1crypto import x509

from ezhifu.crypto.base import SignatureAlgorithm
from ezhifu.errors import CertificateError, ConfigurationError, EzhifuError

__all__ = [
    "LEGACY_HINT",
    "ChainResult",
    "TrustStore",
    "VerifyPolicy",
    "as_utc",
    "certificate_label",
    "same_name",
    "validate_chain",
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

#: Combined signature algorithm OID -> digest name, for certificate and CRL signatures.
_SIG_OID_DIGEST = {alg.signature_oid: alg.digest_name for alg in SignatureAlgorithm}
_SIG_OID_DIGEST.update(
    {
        "1.2.156.10197.1.504": "sm3",  # sm3WithRSAEncryption (GB/T 33560)
        "1.2.840.10045.4.3.3": "sha384",
        "1.2.840.10045.4.3.4": "sha512",
        "1.2.840.10045.4.1": "sha1",
    }
)

_MAX_PATH = 8
#: Issuer candidates tried per validate_chain call. Path building is a search (RFC 4158);
#: with untrusted candidates (extra_certs, e.g. from a CMS) it must be bounded, or look-alike
#: CA certificates make it exponential (security review TRUST-1). A real chain needs one
#: candidate per level.
_MAX_PATH_STEPS = 64


@functools.lru_cache(maxsize=4096)
def _name_key(der: bytes) -> str:
    """RFC 5280 clause 7.1 comparison key of a DER Name (asn1crypto's LDAP string prep)."""
    return str(x509.Name.load(der).hashable)


def same_name(a: x509.Name, b: x509.Name) -> bool:
    """RFC 5280 clause 7.1 name equality: byte-equal DER, or equal after string preparation.

    The prepared form is cached by DER, because chain building compares the same few names
    many times and the preparation is comparatively slow.
    """
    da = a.dump()
    db = b.dump()
    return bool(da == db or _name_key(da) == _name_key(db))


def certificate_label(cert: x509.Certificate) -> str:
    """A short human label for messages: subject and serial (lower-case hex)."""
    try:
        subject = cert.subject.human_friendly
    except Exception:
        subject = "<unreadable subject>"
    return f"'{subject}' (serial {cert.serial_number:x})"


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
    * ``check_crl`` / ``crls``: check revocation against these DER CRLs; a certificate with
      no matching, current CRL then fails (RFC 5280 clause 6.3).
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
    name: str = "default"

    def __post_init__(self) -> None:
        if self.min_rsa_bits < 512:
            raise ConfigurationError(f"VerifyPolicy.min_rsa_bits={self.min_rsa_bits} is below 512")
        if self.clock_skew < timedelta(0):
            raise ConfigurationError("VerifyPolicy.clock_skew must not be negative")
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


@dataclass(frozen=True, slots=True)
class TrustStore:
    """Trusted roots, helper intermediates and pinned end-entity certificates.

    ``roots`` are trust anchors (RFC 5280 clause 6.1.1 (d)); ``intermediates`` are only
    candidates for chain building and are *not* trusted by themselves; ``pinned``
    end-entity certificates are trusted directly when presented byte-for-byte.
    """

    roots: tuple[x509.Certificate, ...] = ()
    intermediates: tuple[x509.Certificate, ...] = ()
    pinned: tuple[x509.Certificate, ...] = ()

    def __init__(
        self,
        roots: Iterable[x509.Certificate] = (),
        intermediates: Iterable[x509.Certificate] = (),
        pinned: Iterable[x509.Certificate] = (),
    ) -> None:
        for attr, value in (("roots", roots), ("intermediates", intermediates), ("pinned", pinned)):
            certs = tuple(value)
            for cert in certs:
                if not isinstance(cert, x509.Certificate):
                    raise ConfigurationError(
                        f"TrustStore {attr}: expected asn1crypto x509.Certificate, got {type(cert).__name__}"
                    )
            object.__setattr__(self, attr, certs)

    @classmethod
    def from_pem_bytes(cls, data: bytes, *, source: str = "PEM data") -> TrustStore:
        """Sort the certificates of a PEM (or single DER) blob: CA certificates become roots
        (self-signed) or intermediates, end-entity certificates are pinned."""
        roots: list[x509.Certificate] = []
        intermediates: list[x509.Certificate] = []
        pinned: list[x509.Certificate] = []
        for cert in _load_certs(data, source=source):
            if cert.ca:
                (roots if cert.self_signed != "no" else intermediates).append(cert)
            elif cert.self_signed != "no" and cert.basic_constraints_value is None:
                # v1 / extension-less self-signed certificates (old private CAs) act as roots.
                roots.append(cert)
            else:
                pinned.append(cert)
        return cls(roots, intermediates, pinned)

    @classmethod
    def from_pem_files(cls, paths: Iterable[str | Path]) -> TrustStore:
        """Load trust from PEM files (``--trust`` options); see :meth:`from_pem_bytes`."""
        store = cls()
        for path in paths:
            p = Path(path)
            try:
                data = p.read_bytes()
            except OSError as exc:
                raise ConfigurationError(f"cannot read trust file {p}: {exc.strerror or exc}") from exc
            try:
                store = store.merge(cls.from_pem_bytes(data, source=str(p)))
            except CertificateError as exc:
                raise ConfigurationError(f"trust file {exc}") from exc
        return store

    def merge(self, other: TrustStore) -> TrustStore:
        """The union of two stores."""
        return TrustStore(
            self.roots + other.roots, self.intermediates + other.intermediates, self.pinned + other.pinned
        )

    def is_root(self, cert: x509.Certificate) -> bool:
        return any(_same(cert, r) for r in self.roots)

    def is_pinned(self, cert: x509.Certificate) -> bool:
        return any(_same(cert, p) for p in self.pinned)

    @property
    def all_certificates(self) -> tuple[x509.Certificate, ...]:
        return self.roots + self.intermediates + self.pinned


@dataclass(frozen=True, slots=True)
class ChainResult:
    """Outcome of :func:`validate_chain`.

    ``path`` runs from the signer certificate to the trust anchor (a root, or the pinned
    certificate itself); it is the best partial path when not trusted. ``reason`` is
    ``None`` exactly when ``trusted``. ``pinned`` tells the anchor was a pinned certificate.
    """

    trusted: bool
    reason: str | None
    path: tuple[x509.Certificate, ...] = field(default=())
    pinned: bool = False


def _load_certs(data: bytes, *, source: str) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    try:
        if asn1_pem.detect(data):
            for _type, _headers, der in asn1_pem.unarmor(data, multiple=True):
                if _type == "CERTIFICATE":
                    certs.append(_parse_cert(der, source=source))
        else:
            certs.append(_parse_cert(data, source=source))
    except EzhifuError:
        raise
    except Exception as exc:
        raise CertificateError(f"{source}: not a PEM/DER certificate file ({exc})") from exc
    if not certs:
        raise CertificateError(f"{source}: no CERTIFICATE block found")
    return certs


def _parse_cert(der: bytes, *, source: str) -> x509.Certificate:
    try:
        cert = x509.Certificate.load(der, strict=True)
        cert.native  # noqa: B018 - force a full parse so errors surface here
    except Exception as exc:
        raise CertificateError(f"{source}: malformed certificate ({exc})") from exc
    return cert


def _same(a: x509.Certificate, b: x509.Certificate) -> bool:
    # Identity first: shared certificate objects (ezhifu.pki.certs.shared_certificate)
    # are equal without serialising them again.
    # A different serial number means different DER (asn1crypto caches the serial), which
    # spares serialising both certificates in the common case.
    if a is b:
        return True
    try:
        different_serial = bool(a.serial_number != b.serial_number)
    except Exception:  # an unreadable serial: compare the bytes, as always
        different_serial = False
    return not different_serial and bool(a.dump() == b.dump())


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


def _sig_digest(cert_or_crl: Any) -> str | None:
    oid = cert_or_crl["signature_algorithm"]["algorithm"].dotted
    return _SIG_OID_DIGEST.get(oid)


def _check_validity(cert: x509.Certificate, at: datetime, skew: timedelta, *, role: str) -> str | None:
    try:
        nb = cert.not_valid_before
        na = cert.not_valid_after
    except Exception as exc:
        return f"{role} certificate {certificate_label(cert)} has an unreadable validity ({exc})"
    if at + skew < nb:
        return (
            f"{role} certificate {certificate_label(cert)} is not yet valid at {at.isoformat()} "
            f"(valid from {nb.isoformat()})"
        )
    if at - skew > na:
        return (
            f"{role} certificate {certificate_label(cert)} expired at {na.isoformat()} "
            f"(checked at {at.isoformat()})"
        )
    return None


def _critical_refusal(cert: x509.Certificate, *, role: str) -> str | None:
    unknown = sorted(str(name) for name in cert.critical_extensions if name not in _UNDERSTOOD_CRITICAL)
    if unknown:
        names = ", ".join(unknown)
        return f"{role} certificate {certificate_label(cert)} has unsupported critical extension(s) {names}"
    return None


def _leaf_usage_refusal(cert: x509.Certificate) -> str | None:
    ku = cert.key_usage_value
    if ku is None:
        return None
    usages = set(ku.native)
    if usages & {"digital_signature", "non_repudiation"}:
        return None
    return (
        f"signer certificate {certificate_label(cert)} key usage ({', '.join(sorted(usages)) or 'none'}) "
        "allows neither digitalSignature nor nonRepudiation"
    )


def _issuer_refusal(
    issuer: x509.Certificate, below: int, policy: VerifyPolicy, *, anchor: bool
) -> str | None:
    """RFC 5280 clause 6.1.4 (k), (l), (m), (n) for a certificate used as an issuer.

    ``below`` is the number of non-self-issued intermediate certificates under it. A trust
    anchor without basicConstraints (old v1 private-CA roots) is accepted because anchors
    are inputs to path validation (clause 6.1.1 (d)); one that says cA FALSE is not.
    """
    bc = issuer.basic_constraints_value
    if bc is None:
        if not anchor:
            return f"issuer certificate {certificate_label(issuer)} is not a CA (no basicConstraints)"
    elif not bc["ca"].native:
        return f"issuer certificate {certificate_label(issuer)} is not a CA (basicConstraints cA FALSE)"
    elif bc["path_len_constraint"].native is not None and below > int(bc["path_len_constraint"].native):
        limit = bc["path_len_constraint"].native
        return f"issuer certificate {certificate_label(issuer)} pathLenConstraint {limit} exceeded"
    if policy.require_key_usage:
        ku = issuer.key_usage_value
        if ku is not None and "key_cert_sign" not in set(ku.native):
            return f"issuer certificate {certificate_label(issuer)} key usage lacks keyCertSign"
    return None


def _verify_cert_sig(cert: x509.Certificate, issuer: x509.Certificate) -> str | None:
    return _cert_sig_outcome(cert.dump(), issuer.dump())


@functools.lru_cache(maxsize=2048)
def _cert_sig_outcome(cert_der: bytes, issuer_der: bytes) -> str | None:
    """Whether ``issuer`` signed ``cert`` (None) or why not, cached by the exact DER of both.

    The outcome depends on nothing but these bytes, so caching it is sound; it saves one
    public-key operation per certificate link on every voucher of a batch (the same few
    partner certificates sign thousands of vouchers). Validity, key usage, policy and CRL
    checks are not cached: they depend on the time and the policy and are redone each time.
    """
    from ezhifu.pki.certs import verify_certificate_signature

    cert = x509.Certificate.load(cert_der)
    issuer = x509.Certificate.load(issuer_der)
    try:
        # The algorithm policy is applied by the caller (_link_refusal), not here.
        verify_certificate_signature(cert, issuer, allow_weak=True)
    except EzhifuError as exc:
        return str(exc) or type(exc).__name__
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _mismatch_cause(failure: str) -> str:
    """Why an issuer of the right name did not sign: a wrong SM2 ID is the issuer itself."""
    if "verifies under the empty ID" in failure:
        return ""  # the failure already says it: this CA signed, with the non-standard empty ID
    return ": perhaps a different CA with the same name"


def _crl_refusal(
    cert: x509.Certificate, issuer: x509.Certificate, at: datetime, policy: VerifyPolicy
) -> str | None:
    """RFC 5280 clause 6.3: find a CRL by the issuer, check its signature and freshness,
    then look the serial up."""
    from ezhifu.crypto import verify_signature

    problems: list[str] = []
    for index, der in enumerate(policy.crls):
        try:
            crl = asn1_crl.CertificateList.load(der, strict=True)
            tbs = crl["tbs_cert_list"]
            if not same_name(tbs["issuer"], issuer.subject):
                continue
            digest = _sig_digest(crl)
            if digest is None:
                problems.append(f"CRL #{index} uses an unknown signature algorithm")
                continue
            refusal = policy.digest_refusal(digest, what="CRL signature digest")
            if refusal is not None:
                problems.append(refusal)
                continue
            if policy.require_key_usage:
                ku = issuer.key_usage_value
                if ku is not None and "crl_sign" not in set(ku.native):
                    problems.append(
                        f"CRL #{index} issuer {certificate_label(issuer)} lacks the cRLSign key usage"
                    )
                    continue
            try:
                verify_signature(issuer, tbs.dump(), crl["signature"].native)
            except EzhifuError:
                problems.append(f"CRL #{index} signature does not verify with {certificate_label(issuer)}")
                continue
            next_update = tbs["next_update"].native
            if next_update is not None and at - policy.clock_skew > next_update:
                problems.append(
                    f"CRL #{index} of {issuer.subject.human_friendly} is outdated "
                    f"(next update {next_update.isoformat()})"
                )
                continue
            for revoked in tbs["revoked_certificates"]:
                if revoked["user_certificate"].native == cert.serial_number:
                    when = revoked["revocation_date"].native
                    if when is not None and when > at + policy.clock_skew:
                        continue  # revoked only after the validation time
                    why = revoked.crl_reason_value
                    why_text = f", reason {why.native}" if why is not None else ""
                    when_text = when.isoformat() if when else "?"
                    return f"certificate {certificate_label(cert)} revoked on {when_text}{why_text}"
            return None
        except Exception as exc:
            problems.append(f"CRL #{index} is malformed ({type(exc).__name__})")
    if problems:
        return problems[0]
    return f"no CRL from issuer '{issuer.subject.human_friendly}' for certificate {certificate_label(cert)}"


def validate_chain(
    cert: x509.Certificate,
    *,
    trust: TrustStore,
    policy: VerifyPolicy | None = None,
    at: datetime | None = None,
    extra_certs: Sequence[x509.Certificate] = (),
) -> ChainResult:
    """Validate ``cert`` as a signer certificate (RFC 5280 clause 6.1, subset above).

    ``extra_certs`` are untrusted candidates (for example the certificates embedded in a
    CMS SignedData). Never raises for a bad chain; returns a :class:`ChainResult` whose
    ``reason`` names the first failed check of the most promising path.
    """
    policy = policy or VerifyPolicy()
    when = as_utc(at)
    skew = policy.clock_skew

    reason = (
        policy.key_refusal(cert)
        or _check_validity(cert, when, skew, role="signer")
        or _critical_refusal(cert, role="signer")
        or (_leaf_usage_refusal(cert) if policy.require_key_usage else None)
    )
    if reason is not None:
        return ChainResult(False, reason, (cert,))

    if policy.allow_pinned and trust.is_pinned(cert):
        return ChainResult(True, None, (cert,), pinned=True)
    if trust.is_root(cert):
        return ChainResult(True, None, (cert,))

    candidates: list[x509.Certificate] = []
    for c in (*extra_certs, *trust.intermediates, *trust.roots):
        if not any(_same(c, seen) for seen in candidates):
            candidates.append(c)

    best: list[tuple[int, str, tuple[x509.Certificate, ...]]] = []
    steps = 0

    def walk(path: tuple[x509.Certificate, ...]) -> ChainResult | None:
        nonlocal steps
        current = path[-1]
        if len(path) > _MAX_PATH:
            best.append((len(path), f"certificate path longer than {_MAX_PATH}", path))
            return None
        named = [
            c
            for c in candidates
            if same_name(c.subject, current.issuer) and not any(_same(c, p) for p in path)
        ]
        if not named:
            best.append(
                (
                    len(path),
                    f"no issuer certificate '{current.issuer.human_friendly}' found "
                    f"for {certificate_label(current)}",
                    path,
                )
            )
            return None
        for issuer in named:
            steps += 1
            if steps > _MAX_PATH_STEPS:
                best.append(
                    (
                        _MAX_PATH + 2,  # ranks above every other reason
                        f"certificate path search stopped after {_MAX_PATH_STEPS} candidate issuers "
                        "(too many look-alike CA certificates)",
                        path,
                    )
                )
                return None
            failure = _verify_cert_sig(current, issuer)
            if failure is not None:
                best.append(
                    (
                        len(path),
                        f"signature on {certificate_label(current)} does not verify with the certificate of "
                        f"'{issuer.subject.human_friendly}' (serial {issuer.serial_number:x}) ({failure})"
                        + _mismatch_cause(failure),
                        path,
                    )
                )
                continue
            new_path = (*path, issuer)
            reason = _link_refusal(current, issuer, new_path, when, policy, anchor=trust.is_root(issuer))
            if reason is not None:
                best.append((len(new_path) + 1, reason, new_path))
                continue
            if trust.is_root(issuer):
                return ChainResult(True, None, new_path)
            if issuer.self_signed != "no" and same_name(issuer.subject, issuer.issuer):
                best.append(
                    (
                        len(new_path),
                        f"chain ends at {certificate_label(issuer)}, a root that is not in the trust store",
                        new_path,
                    )
                )
                continue
            found = walk(new_path)
            if found is not None:
                return found
        return None

    result = walk((cert,))
    if result is not None:
        return result
    best.sort(key=lambda item: item[0], reverse=True)
    _, reason, path = best[0]
    return ChainResult(False, reason, path)


def _link_refusal(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    path: tuple[x509.Certificate, ...],
    at: datetime,
    policy: VerifyPolicy,
    *,
    anchor: bool,
) -> str | None:
    """Checks on one link ``cert`` <- ``issuer`` once the signature verified."""
    digest = _sig_digest(cert)
    if digest is None:
        return f"certificate {certificate_label(cert)} uses an unknown signature algorithm"
    refusal = policy.algorithm_refusal(
        digest, issuer, what=f"certificate {certificate_label(cert)} signature digest", role="issuer"
    )
    if refusal is not None:
        return refusal
    intermediates_below = sum(1 for c in path[1:-1] if not same_name(c.subject, c.issuer))
    return (
        _check_validity(issuer, at, policy.clock_skew, role="issuer")
        or _critical_refusal(issuer, role="issuer")
        or _issuer_refusal(issuer, intermediates_below, policy, anchor=anchor)
        or (_crl_refusal(cert, issuer, at, policy) if policy.check_crl else None)
    )
