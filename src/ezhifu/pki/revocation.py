"""Revocation of the certificates on a validated path: CRLs (RFC 5280 clauses 5 and 6.3).

:func:`load_crl` reads one CRL given on the command line (``ezhifu verify --crl FILE``), DER or
PEM (``-----BEGIN X509 CRL-----``), bounded by :data:`MAX_CRL_BYTES`. :func:`crl_status` is the
check itself, run by :func:`ezhifu.pki.path.validate_chain` for each link ``cert <- issuer`` of a
trusted path, **at the check time** it is given (the verification time today; a time proven by a
time-stamp token or asserted by the caller when one applies, issue 13 item 2):

* a CRL whose issuer name is the issuer's subject, signed by the issuer (its signature algorithm
  and digest judged by :class:`~ezhifu.pki.policy.VerifyPolicy`, the issuer's key usage allowing
  ``cRLSign`` when present, SM2 with the standard ID ``1234567812345678``);
* fresh at the check time: ``thisUpdate`` not after it, ``nextUpdate`` (when present) not before
  it, both with the policy's clock skew;
* the serial looked up; an entry revoked after the check time does not count.

The outcome is a :class:`RevocationStatus`: ``good``, ``revoked`` or ``unavailable`` (no CRL of
that issuer, or none usable, with the reason). What "unavailable" means is the policy's
``revocation_unavailable``: ``"hard-fail"`` (default, the certificate is refused) or
``"soft-fail"`` (accepted, and reported as unavailable in the result's ``chain`` step). Either
way the evidence (which CRL, its SHA-256, thisUpdate/nextUpdate, or why unavailable) is kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from asn1crypto import crl as asn1_crl
from asn1crypto import pem, x509

from ezhifu.crypto.base import DEFAULT_SM2_ID, signature_algorithm_for
from ezhifu.errors import EzhifuError, MalformedCRL
from ezhifu.pki.certs import certificate_label, key_usage_refusal
from ezhifu.pki.policy import UNAVAILABLE_POLICIES, VerifyPolicy, signature_digest
from ezhifu.pki.signer import verify_signature

__all__ = [
    "MAX_CRL_BYTES",
    "UNAVAILABLE_POLICIES",
    "RevocationStatus",
    "crl_status",
    "load_crl",
]

#: Largest CRL accepted (a CRL of ~100 000 entries is about 4 MiB).
MAX_CRL_BYTES = 16 * 1024 * 1024

Status = Literal["good", "revoked", "unavailable"]


@dataclass(frozen=True, slots=True)
class RevocationStatus:
    """The revocation outcome for one certificate: ``status``, a one-line ``note`` (the reason
    when revoked or unavailable), and ``evidence`` naming the CRL used (index and SHA-256 of its
    DER, thisUpdate, nextUpdate)."""

    status: Status
    note: str
    evidence: str = ""


def load_crl(data: bytes, *, what: str = "CRL") -> bytes:
    """The DER of one CRL given as DER or PEM; :class:`~ezhifu.errors.MalformedCRL` otherwise."""
    if len(data) > MAX_CRL_BYTES:
        raise MalformedCRL(f"吊销列表过大 / {what}: more than the limit of {MAX_CRL_BYTES} bytes")
    der = data
    if pem.detect(data):
        try:
            kind, _, der = pem.unarmor(data)
        except ValueError as exc:
            raise MalformedCRL(f"吊销列表格式错误 / {what}: unreadable PEM ({exc})") from exc
        if kind != "X509 CRL":
            raise MalformedCRL(f"吊销列表格式错误 / {what}: PEM block {kind!r}, expected 'X509 CRL'")
    try:
        parsed = asn1_crl.CertificateList.load(der, strict=True)
        parsed["tbs_cert_list"]["revoked_certificates"].native  # noqa: B018 -- parse it all now
    except Exception as exc:
        raise MalformedCRL(f"吊销列表格式错误 / {what}: not a DER X.509 CRL ({type(exc).__name__})") from exc
    return bytes(der)


def crl_status(
    cert: x509.Certificate, issuer: x509.Certificate, at: datetime, policy: VerifyPolicy
) -> RevocationStatus:
    """RFC 5280 clause 6.3: find a usable CRL by ``issuer`` among ``policy.crls``, then look
    ``cert``'s serial up at ``at``. Never raises for a bad CRL: it is skipped with its reason."""
    problems: list[str] = []
    for index, der in enumerate(policy.crls):
        try:
            crl = asn1_crl.CertificateList.load(der, strict=True)
            tbs = crl["tbs_cert_list"]
            if tbs["issuer"] != issuer.subject:
                continue
            problem = _crl_problem(crl, index, issuer, at, policy)
            if problem is not None:
                problems.append(problem)
                continue
            evidence = (
                f"CRL #{index} sha256={hashlib.sha256(der).hexdigest()} "
                f"thisUpdate={tbs['this_update'].native.isoformat()} "
                f"nextUpdate={_iso(tbs['next_update'].native)}"
            )
            for revoked in tbs["revoked_certificates"]:
                if revoked["user_certificate"].native != cert.serial_number:
                    continue
                when = revoked["revocation_date"].native
                if when is not None and when > at + policy.clock_skew:
                    continue  # revoked only after the check time
                why = revoked.crl_reason_value
                why_text = f", reason {why.native}" if why is not None else ""
                note = f"certificate {certificate_label(cert)} revoked on {_iso(when)}{why_text}"
                return RevocationStatus("revoked", note, evidence)
            return RevocationStatus("good", f"not revoked ({evidence.split(' sha256')[0]})", evidence)
        except Exception as exc:  # a malformed CRL is one problem, not a crash
            problems.append(f"CRL #{index} is malformed ({type(exc).__name__})")
    if problems:
        return RevocationStatus("unavailable", problems[0])
    return RevocationStatus(
        "unavailable",
        f"no CRL from issuer '{issuer.subject.human_friendly}' for certificate {certificate_label(cert)}",
    )


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "-"


def _crl_problem(
    crl: asn1_crl.CertificateList, index: int, issuer: x509.Certificate, at: datetime, policy: VerifyPolicy
) -> str | None:
    """Why CRL ``index`` of ``issuer`` cannot be used at ``at`` (signature, key usage, freshness)."""
    tbs = crl["tbs_cert_list"]
    digest = signature_digest(crl)
    if digest is None:
        return f"CRL #{index} uses an unknown signature algorithm"
    refusal = policy.digest_refusal(digest, what="CRL signature digest")
    if refusal is not None:
        return refusal
    if policy.require_key_usage:
        usage = key_usage_refusal(issuer, ("crl_sign",), role="CRL issuer")
        if usage is not None:
            return f"CRL #{index}: {usage}"
    try:
        algorithm = signature_algorithm_for(crl["signature_algorithm"])
        verify_signature(issuer, tbs.dump(), crl["signature"].native, algorithm=algorithm, uid=DEFAULT_SM2_ID)
    except EzhifuError:
        return f"CRL #{index} signature does not verify with {certificate_label(issuer)}"
    this_update = tbs["this_update"].native
    if this_update is not None and this_update > at + policy.clock_skew:
        name = issuer.subject.human_friendly
        return f"CRL #{index} of {name} is not yet valid (this update {_iso(this_update)})"
    next_update = tbs["next_update"].native
    if next_update is not None and at - policy.clock_skew > next_update:
        return (
            f"CRL #{index} of {issuer.subject.human_friendly} is outdated (next update {_iso(next_update)})"
        )
    return None
