"""Certification path building and validation (RFC 5280 clause 6.1, the subset the treasury
deployments need).

* chain building from the signer certificate through intermediates embedded in the CMS
  ``certificates`` field or supplied by the caller, to a root of the
  :class:`~ezhifu.pki.trust.TrustStore`; candidate issuers are found by name but **accepted
  only by signature** (RFC 5280 clause 6.1.3 (a)(1)), so a foreign CA that copies the subject
  of a trusted root never matches;
* validity of every certificate at the validation time (clause 6.1.3 (a)(2)), with the
  policy's clock skew;
* ``basicConstraints`` cA on every issuer and ``pathLenConstraint`` (clause 6.1.4 (k), (m)),
  ``keyCertSign`` on issuers and ``digitalSignature`` / ``nonRepudiation`` on the signer when
  the key usage extension is present (clause 4.2.1.3), refusal of unknown critical
  extensions (clause 6.1.4 (o));
* optionally, revocation of every link of the trusted path against CRLs supplied by the
  caller (clause 6.3; :mod:`ezhifu.pki.revocation`), with the policy for an unavailable status;
* the algorithm policy of :class:`~ezhifu.pki.policy.VerifyPolicy`.

One link's signature (:func:`verify_certificate_signature`, RFC 5280 clause 6.1.3 (a)(1)):
SM2-with-SM3 certificate signatures (OID 1.2.156.10197.1.501, GB/T 33560-2017) are verified
over the DER ``tbsCertificate`` with ``Z_A`` computed from the issuer key and the default ID
``1234567812345678`` (GM/T 0009-2012 clause 10; GB/T 20518-2018). OpenSSL 3.0 without
``-sigopt distid:1234567812345678`` signs with the *empty* ID; such a certificate is refused
and the reason says so.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import x509

from ezhifu.crypto.base import DEFAULT_SM2_ID, SignatureAlgorithm, signature_algorithm_for
from ezhifu.errors import (
    CertificateError,
    EzhifuError,
    InvalidSignature,
    UnsupportedAlgorithm,
    WeakAlgorithm,
)
from ezhifu.pki.certs import (
    CertLike,
    certificate_label,
    key_kind,
    key_usage_refusal,
    load_certificate,
    subject_text,
    validity_refusal,
)
from ezhifu.pki.keys import public_key_of
from ezhifu.pki.pathcache import PATHS, certificate_der
from ezhifu.pki.policy import VerifyPolicy, as_utc, critical_refusal, signature_digest, signer_refusal
from ezhifu.pki.signer import MIN_RSA_BITS, verify_signature
from ezhifu.pki.trust import TrustStore, same_certificate

__all__ = [
    "ChainResult",
    "certificate_der",
    "certificate_signature_algorithm",
    "same_name",
    "validate_chain",
    "verify_certificate_signature",
]

_MAX_PATH = 8
#: Issuer candidates tried per validate_chain call. Path building is a search (RFC 4158);
#: with untrusted candidates (extra_certs, e.g. from a CMS) it must be bounded, or look-alike
#: CA certificates make it exponential (security review TRUST-1). A real chain needs one
#: candidate per level.
_MAX_PATH_STEPS = 64


@functools.lru_cache(maxsize=4096)
def _name_key(der: bytes) -> str:
    """RFC 5280 clause 7.1 comparison key of a DER Name (asn1crypto's LDAP string prep).

    A name asn1crypto cannot prepare (an attribute value that is not a string, e.g. a nested
    SEQUENCE) gets a key of its own DER, so it equals only a byte-identical name: comparing
    names never raises (a chain with such a name is judged, not crashed)."""
    try:
        return str(x509.Name.load(der).hashable)
    except (ValueError, TypeError, KeyError):
        return "der:" + der.hex()


def same_name(a: x509.Name, b: x509.Name) -> bool:
    """RFC 5280 clause 7.1 name equality: byte-equal DER, or equal after string preparation.

    The prepared form is cached by DER, because chain building compares the same few names
    many times and the preparation is comparatively slow.
    """
    da = a.dump()
    db = b.dump()
    return bool(da == db or _name_key(da) == _name_key(db))


def _where(cert: x509.Certificate) -> str:
    return f"certificate {subject_text(cert)!r} (serial {cert.serial_number:x})"


def certificate_signature_algorithm(cert: CertLike) -> SignatureAlgorithm:
    """The algorithm of the certificate's own signature (its ``signatureAlgorithm`` field)."""
    certificate = load_certificate(cert)
    try:
        return signature_algorithm_for(certificate["signature_algorithm"])
    except UnsupportedAlgorithm as exc:
        raise UnsupportedAlgorithm(f"{_where(certificate)}: {exc}") from exc


def _mismatch_cause(failure: str) -> str:
    """Why an issuer of the right name did not sign: a wrong SM2 ID is the issuer itself."""
    if "verifies under the empty ID" in failure:
        return ""  # the failure already says it: this CA signed, with the non-standard empty ID
    return ": perhaps a different CA with the same name"


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
    certificate = load_certificate(cert)
    issuer = load_certificate(issuer_cert)
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
    issuer_key = public_key_of(issuer)
    kind = key_kind(issuer_key)
    if algorithm.key_kind != kind:
        raise InvalidSignature(
            f"{where}: signed with {algorithm.value} but the issuer {subject_text(issuer)!r} has a {kind} key"
        )
    if not allow_weak:
        weak = [f"signature algorithm {algorithm.value} is weak"] if algorithm.is_weak else []
        key_size = getattr(issuer_key, "key_size", None)
        if kind == "rsa" and isinstance(key_size, int) and key_size < MIN_RSA_BITS:
            weak.append(f"issuer RSA key of {key_size} bits is below {MIN_RSA_BITS} bits")
        if weak:  # a SHA-1 signature by an RSA-1024 key names both
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


@dataclass(frozen=True, slots=True)
class ChainResult:
    """Outcome of :func:`validate_chain`.

    ``path`` runs from the signer certificate to the trust anchor (a root, or the pinned
    certificate itself); it is the best partial path when not trusted. ``reason`` is
    ``None`` exactly when ``trusted``. ``pinned`` tells the anchor was a pinned certificate.
    ``revocation`` holds one line per link when revocation was checked (the status, the CRL
    used as evidence, or why it was unavailable; :mod:`ezhifu.pki.revocation`).
    """

    trusted: bool
    reason: str | None
    path: tuple[x509.Certificate, ...] = field(default=())
    pinned: bool = False
    revocation: tuple[str, ...] = ()


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
        return key_usage_refusal(issuer, ("key_cert_sign",), role="issuer")
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


def _with_revocation(result: ChainResult, at: datetime, policy: VerifyPolicy) -> ChainResult:
    """Revocation of every link of a trusted path at ``at`` (:mod:`ezhifu.pki.revocation`):
    a revoked certificate, or an unavailable status under ``"hard-fail"``, makes it untrusted;
    the outcome of each link is kept in ``revocation``."""
    if not (policy.check_crl or policy.check_ocsp):
        return result
    if len(result.path) < 2:
        note = "revocation not checked: pinned certificate (no issuer to ask)"
        return dataclasses.replace(result, revocation=(note,))
    # why: the CRL and OCSP readers load only when revocation is checked (--crl, --ocsp)
    from ezhifu.pki.ocsp import revocation_status

    notes: list[str] = []
    for cert, issuer in itertools.pairwise(result.path):
        status = revocation_status(cert, issuer, at, policy)
        detail = f"{status.note} [{status.evidence}]" if status.evidence else status.note
        if status.status == "revoked" or (
            status.status == "unavailable" and policy.revocation_unavailable == "hard-fail"
        ):
            return ChainResult(False, status.note, result.path, result.pinned, (*notes, detail))
        if status.status == "unavailable":
            detail = f"revocation unavailable (accepted: soft-fail): {detail}"
        notes.append(detail)
    return dataclasses.replace(result, revocation=tuple(notes))


def validate_chain(
    cert: x509.Certificate,
    *,
    trust: TrustStore,
    policy: VerifyPolicy | None = None,
    at: datetime | None = None,
    extra_certs: Sequence[x509.Certificate] = (),
    purpose: str = "signer",
) -> ChainResult:
    """Validate ``cert`` as a signer certificate (RFC 5280 clause 6.1, subset above).

    ``purpose`` (``"signer"``, ``"seal-maker"``, ``"tsa"``) says what an extendedKeyUsage
    extension on ``cert`` must allow (:data:`ezhifu.pki.policy.PURPOSE_EKUS`).

    ``extra_certs`` are untrusted candidates (for example the certificates embedded in a
    CMS SignedData). Never raises for a bad chain; returns a :class:`ChainResult` whose
    ``reason`` names the first failed check of the most promising path.
    """
    policy = policy or VerifyPolicy()
    when = as_utc(at)

    key = PATHS.key(cert, trust, policy, extra_certs)
    if not (policy.allow_pinned and trust.is_pinned(cert)):
        known = PATHS.trusted(key, purpose, cert, trust, policy, when, extra_certs)
        if known is not None:
            # Every check but the validity periods passed for these bytes, this policy and this
            # purpose before; the periods were just checked at ``when``. Revocation is live.
            return _with_revocation(ChainResult(True, None, known), when, policy)

    reason = signer_refusal(cert, when, policy, purpose=purpose)
    if reason is not None:
        return ChainResult(False, reason, (cert,))

    if policy.allow_pinned and trust.is_pinned(cert):
        return _with_revocation(ChainResult(True, None, (cert,), pinned=True), when, policy)
    if trust.is_root(cert):
        return _with_revocation(ChainResult(True, None, (cert,)), when, policy)

    replayed = PATHS.replay(key, cert, trust, policy, when, extra_certs, _link_refusal)
    if replayed is not None:
        PATHS.passed(key, purpose)
        # A cached path is never cached revocation: the status is checked again each time.
        return _with_revocation(ChainResult(True, None, replayed), when, policy)
    search = _PathSearch(trust, policy, when, extra_certs)
    result = search.walk((cert,))
    if result is not None:
        if not search.best:  # found without a dead end: every later search tries this path first
            PATHS.put(key, result.path, purpose)
        return _with_revocation(result, when, policy)
    search.best.sort(key=lambda item: item[0], reverse=True)
    _, reason, path = search.best[0]
    return ChainResult(False, reason, path)


class _PathSearch:
    """Depth-first path building (RFC 4158) from a signer certificate to a trust anchor,
    bounded by :data:`_MAX_PATH` levels and :data:`_MAX_PATH_STEPS` candidate issuers. Every
    dead end is kept in ``best`` as ``(rank, reason, path)``; the highest rank is reported."""

    def __init__(
        self, trust: TrustStore, policy: VerifyPolicy, when: datetime, extra: Sequence[x509.Certificate]
    ) -> None:
        self.trust = trust
        self.policy = policy
        self.when = when
        self.candidates: list[x509.Certificate] = []
        # Pinned certificates are candidates too, so that a chain through one is refused with
        # the reason (a pinned end entity can sign, it cannot issue) instead of "no issuer".
        for c in (*extra, *trust.intermediates, *trust.roots, *trust.pinned):
            if not any(same_certificate(c, seen) for seen in self.candidates):
                self.candidates.append(c)
        self.best: list[tuple[int, str, tuple[x509.Certificate, ...]]] = []
        self.steps = 0

    def _issuers(self, path: tuple[x509.Certificate, ...]) -> list[x509.Certificate]:
        current = path[-1]
        return [
            c
            for c in self.candidates
            if same_name(c.subject, current.issuer) and not any(same_certificate(c, p) for p in path)
        ]

    def walk(self, path: tuple[x509.Certificate, ...]) -> ChainResult | None:
        current = path[-1]
        if len(path) > _MAX_PATH:
            self.best.append((len(path), f"certificate path longer than {_MAX_PATH}", path))
            return None
        named = self._issuers(path)
        if not named:
            name = current.issuer.human_friendly
            reason = f"no issuer certificate '{name}' found for {certificate_label(current)}"
            self.best.append((len(path), reason, path))
            return None
        for issuer in named:
            self.steps += 1
            if self.steps > _MAX_PATH_STEPS:
                reason = (
                    f"certificate path search stopped after {_MAX_PATH_STEPS} candidate issuers "
                    "(too many look-alike CA certificates)"
                )
                self.best.append((_MAX_PATH + 2, reason, path))  # ranks above every other reason
                return None
            found = self._try(path, issuer)
            if found is not None:
                return found
        return None

    def _try(self, path: tuple[x509.Certificate, ...], issuer: x509.Certificate) -> ChainResult | None:
        """Extend ``path`` by ``issuer``: its signature first, then the link checks."""
        current = path[-1]
        failure = _verify_cert_sig(current, issuer)
        if failure is not None:
            reason = (
                f"signature on {certificate_label(current)} does not verify with the certificate of "
                f"'{issuer.subject.human_friendly}' (serial {issuer.serial_number:x}) ({failure})"
                + _mismatch_cause(failure)
            )
            self.best.append((len(path), reason, path))
            return None
        new_path = (*path, issuer)
        anchor = self.trust.is_root(issuer)
        if not anchor and not issuer.ca and self.trust.is_pinned(issuer):
            reason = (
                f"issuer certificate {certificate_label(issuer)} is a pinned end-entity certificate "
                "(not a CA): it can sign, it cannot issue"
            )
            self.best.append((_MAX_PATH + 1, reason, new_path))
            return None
        refusal = _link_refusal(current, issuer, new_path, self.when, self.policy, anchor=anchor)
        if refusal is not None:
            self.best.append((len(new_path) + 1, refusal, new_path))
            return None
        if anchor:
            return ChainResult(True, None, new_path)
        if issuer.self_signed != "no" and same_name(issuer.subject, issuer.issuer):
            reason = f"chain ends at {certificate_label(issuer)}, a root that is not in the trust store"
            self.best.append((len(new_path), reason, new_path))
            return None
        return self.walk(new_path)


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
    digest = signature_digest(cert)
    if digest is None:
        return f"certificate {certificate_label(cert)} uses an unknown signature algorithm"
    refusal = policy.algorithm_refusal(
        digest, issuer, what=f"certificate {certificate_label(cert)} signature digest", role="issuer"
    )
    if refusal is not None:
        return refusal
    intermediates_below = sum(1 for c in path[1:-1] if not same_name(c.subject, c.issuer))
    return (
        validity_refusal(issuer, at, skew=policy.clock_skew, role="issuer")
        or critical_refusal(issuer, role="issuer")
        or _issuer_refusal(issuer, intermediates_below, policy, anchor=anchor)
    )
