"""``ezhifu archive revalidate``: re-evaluate every signature and seal against the stored evidence.

A voucher's signer certificate expires long before the voucher may be thrown away, so checking
an old voucher "now" says nothing about whether it was genuine when received. Re-validation
therefore evaluates each envelope twice, never touching the network:

* **as of the evidence time**: the time the package proves, the signing time of the archive's
  own signed manifest (``manifest.p7s``; no time-stamp authority is used today, so this is the
  archive's signed claim, trusted as far as the archive's key is: ``archive_trust``), or a given
  ``at``; against the stored trust anchors and CRLs. This verdict is what counts;
* **today**: the same evidence at the present time (or ``trust`` given now), which shows what
  has expired or become untrusted since.

Recorded CRLs that are gone from the package make the verdict *not valid* with that reason
(never silently valid); a package archived without revocation evidence says so.
:func:`renew_package` adds a fresh signature over every stored file (a renewal, before the
archive's key or algorithms expire) without rewriting anything stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import x509

from ezhifu.archive.check import check_members, manifest_of
from ezhifu.archive.check_content import envelope_items, load_evidence
from ezhifu.archive.check_items import CheckReport
from ezhifu.archive.container import build_zip
from ezhifu.archive.evidence import policy_from_evidence, positions_from_evidence, trust_from_evidence
from ezhifu.archive.gbt7408 import datetime_text, parse_datetime
from ezhifu.archive.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    build_renewal,
    sign_manifest,
    verify_manifest_signature,
)
from ezhifu.archive.reader import ZipLimits, read_members
from ezhifu.crypto.base import Signer
from ezhifu.document.envelope import Envelope
from ezhifu.errors import ArchiveError, EzhifuError
from ezhifu.pki.trust import TrustStore
from ezhifu.results import EnvelopeResult
from ezhifu.verify import verify_envelope

__all__ = ["EnvelopeRevalidation", "Revalidation", "renew_package", "revalidate_package"]


@dataclass(frozen=True)
class EnvelopeRevalidation:
    """The verdicts of one archived envelope: as archived, as of the evidence time, today."""

    file: str
    archived_valid: bool
    as_of: EnvelopeResult
    today: EnvelopeResult
    revocation: str
    revocation_complete: bool

    @property
    def valid(self) -> bool:
        return self.as_of.valid and self.revocation_complete

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "valid": self.valid,
            "archived_valid": self.archived_valid,
            "as_of_evidence_valid": self.as_of.valid,
            "today_valid": self.today.valid,
            "revocation": self.revocation,
            "revocation_complete": self.revocation_complete,
            "as_of_evidence": self.as_of.to_dict(),
            "today": self.today.to_dict(),
        }


@dataclass(frozen=True)
class Revalidation:
    """The whole re-validation: the package check, the evidence time and each envelope."""

    package_id: str
    evidence_time: datetime | None
    evidence_source: str
    today: datetime
    check: CheckReport
    envelopes: tuple[EnvelopeRevalidation, ...]
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        trusted = any(i.name == "manifest-signer-trusted" and i.passed for i in self.check.items)
        return (
            self.check.ok
            and trusted
            and bool(self.envelopes)
            and not self.problems
            and all(e.valid for e in self.envelopes)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package_id,
            "valid": self.valid,
            "evidence_time": datetime_text(self.evidence_time) if self.evidence_time else None,
            "evidence_source": self.evidence_source,
            "today": datetime_text(self.today),
            "problems": list(self.problems),
            "check": self.check.to_dict(),
            "envelopes": [e.to_dict() for e in self.envelopes],
        }


def _evidence_time(
    members: Mapping[str, bytes], archive_trust: TrustStore | None
) -> tuple[datetime | None, str]:
    manifest, _ = manifest_of(members)
    if manifest is None:
        return None, "no readable manifest"
    created = parse_datetime(manifest["created"], where=f"{MANIFEST_NAME}/created")
    signature = members.get(SIGNATURE_NAME)
    if signature is None:
        return None, f"{SIGNATURE_NAME} is missing"
    outcome = verify_manifest_signature(members[MANIFEST_NAME], signature, trust=archive_trust, at=created)
    if not outcome.intact or outcome.signing_time is None:
        return None, f"{SIGNATURE_NAME} does not prove a time ({outcome.reason or 'no signing time'})"
    return outcome.signing_time.astimezone(
        UTC
    ), "signing time of the archive's signed manifest (manifest.p7s)"


def _revocation(record: Mapping[str, Any], missing: Sequence[str]) -> tuple[str, bool]:
    if missing:
        return f"revocation evidence missing from the package: {', '.join(missing)} (吊销证据缺失)", False
    info = record.get("revocation", {})
    if isinstance(info, dict) and info.get("checked"):
        return f"checked against {len(info.get('crls', []))} stored CRL(s)", True
    reason = info.get("reason") if isinstance(info, dict) else None
    return f"not checked when archived: {reason or 'no revocation evidence recorded'}", True


def _one(
    members: Mapping[str, bytes],
    record: Mapping[str, Any],
    envelope: Envelope,
    *,
    as_of: datetime | None,
    today: datetime,
    trust: TrustStore | None,
) -> EnvelopeRevalidation:
    stored = trust_from_evidence(members, record)
    policy, missing = policy_from_evidence(record, members)
    positions = positions_from_evidence(record)
    then = verify_envelope(envelope, trust=stored, policy=policy, positions=positions, at=as_of)
    now = verify_envelope(envelope, trust=trust or stored, policy=policy, positions=positions, at=today)
    text, complete = _revocation(record, missing)
    return EnvelopeRevalidation(
        str(record.get("file")), record.get("valid") is True, then, now, text, complete
    )


def revalidate_package(
    data: bytes,
    *,
    archive_trust: TrustStore | None,
    trust: TrustStore | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
    limits: ZipLimits | None = None,
) -> Revalidation:
    """Re-validate a package (module docstring). ``at`` overrides the evidence time; ``trust``
    replaces the stored anchors for the *today* verdict only; ``now`` is today (tests)."""
    members = read_members(data, limits)
    report = check_members(members, archive_trust=archive_trust)
    evidence_time, source = _evidence_time(members, archive_trust)
    if at is not None:
        evidence_time, source = at, "time given with --at"
    today = now or datetime.now(UTC).replace(microsecond=0)
    problems: list[str] = [] if evidence_time is not None else [source]
    records, problem = load_evidence(members)
    if problem is not None:
        problems.append(problem)
    _, envelopes = envelope_items(members)
    results = []
    for record in records:
        envelope = envelopes.get(str(record.get("file")))
        if envelope is None:
            problems.append(f"{record.get('file')}: envelope not readable")
            continue
        try:
            results.append(_one(members, record, envelope, as_of=evidence_time, today=today, trust=trust))
        except EzhifuError as exc:
            problems.append(f"{record.get('file')}: {exc}")
    return Revalidation(
        report.package_id, evidence_time, source, today, report, tuple(results), tuple(problems)
    )


def renew_package(
    data: bytes,
    signer: Signer,
    *,
    chain: Sequence[x509.Certificate] = (),
    at: datetime | None = None,
    limits: ZipLimits | None = None,
) -> bytes:
    """The package with one more renewal (``preservation/renewal-NN.json`` and ``.p7s``):
    a canonical list of the digests of every member so far, signed now with ``signer``.

    Refuses (:class:`ArchiveError`) a package that does not pass its own check first: a
    renewal must never vouch for a damaged package.
    """
    members = read_members(data, limits)
    report = check_members(members)
    if not report.ok:
        first = report.failed[0]
        raise ArchiveError(f"归档包检查未通过，不能续签 / package fails {first.name}: {first.reason}")
    when = (at or datetime.now(UTC)).replace(microsecond=0)
    name, renewal = build_renewal(members, package_id=report.package_id, created=when)
    out = dict(members)
    out[name] = renewal
    out[name[: -len(".json")] + ".p7s"] = sign_manifest(renewal, signer, at=when, chain=chain)
    return build_zip(out)
