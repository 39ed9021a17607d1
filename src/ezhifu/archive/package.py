"""Creating an archive package: one zip per voucher envelope (and its 回单), DA/T 95—2022.

:func:`create_package` verifies the envelope (and the receipt) with
:func:`ezhifu.verify.verify_envelope`, binds the receipt to the voucher it answers
(:func:`ezhifu.flow.receipts.receipt_problems`), maps the B.1 metadata, captures the evidence,
renders each envelope, lists every file in the canonical manifest with SM3 and SHA-256 and signs
it with the archiving party's key. :func:`write_package` also books the vouchers in a
:class:`~ezhifu.archive.registry.Registry` (refusing a second booking) and writes the zip
atomically: the package is booked exactly when it is written.

Members (docs/archive.md)::

    manifest.json, manifest.p7s           the signed list of every other file
    content/envelope.xml, content/receipt.xml   the envelopes exactly as received
    metadata/dat95.xml                     B.1 per voucher, D.1 agents, E.1 events
    evidence/...                           verification.json, trust, crl, certs, seals
    rendition/envelope.html, rendition/receipt.html
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509

from ezhifu.archive.container import build_zip, write_atomically
from ezhifu.archive.evidence import EVIDENCE_NAME, EvidenceFiles, collect_evidence
from ezhifu.archive.gbt7408 import datetime_text
from ezhifu.archive.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    build_manifest,
    canonical_json,
    sign_manifest,
)
from ezhifu.archive.metadata import Agent, B1Record, Event, b1_record, metadata_xml, missing_elements
from ezhifu.archive.metadata_xml import METADATA_NAME
from ezhifu.archive.registry import Booking, Registry
from ezhifu.archive.rendition import PDF_SUFFIX, render, render_pdf, rendition_name
from ezhifu.crypto.base import Signer
from ezhifu.document.envelope import Envelope
from ezhifu.errors import ArchiveError, EzhifuError, InvalidInput, MetadataError
from ezhifu.flow.receipts import receipt_problems
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.results import EnvelopeResult
from ezhifu.verify import Positions, verify_envelope

__all__ = [
    "ENVELOPE_NAME",
    "METADATA_NAME",
    "RECEIPT_NAME",
    "CreatedPackage",
    "create_package",
    "write_package",
]

ENVELOPE_NAME = "content/envelope.xml"
RECEIPT_NAME = "content/receipt.xml"
MANDATE_RECEIVE = "财会〔2020〕6号"
MANDATE_VERIFY = "DA/T 95—2022 §10.2, §10.3"
MANDATE_ARCHIVE = "DA/T 95—2022 §8.2.4"


@dataclass(frozen=True)
class CreatedPackage:
    """A package as created: its zip bytes, id, manifest, bookings and the verdicts archived."""

    data: bytes
    package_id: str
    manifest: dict[str, Any]
    bookings: tuple[Booking, ...]
    results: tuple[EnvelopeResult, ...]

    @property
    def valid(self) -> bool:
        return all(r.valid for r in self.results)


def _read(data: bytes, what: str) -> Envelope:
    try:
        return Envelope.from_bytes(data)
    except EzhifuError as exc:
        raise ArchiveError(f"{what}: 报文无法读取 / cannot be read: {exc}") from exc


def _pairs(envelope: Envelope, receipt: Envelope | None) -> list[tuple[Any, Any]]:
    """(voucher, receipt voucher or None) per body of ``envelope``; every receipt body must answer one."""
    answers = {}
    if receipt is not None:
        answers = {(b.vt_code, b.voucher_no): b.voucher for b in receipt.bodies}
        unknown = set(answers) - {(b.vt_code, b.voucher_no) for b in envelope.bodies}
        if unknown:
            raise ArchiveError(
                f"回单与凭证不对应 / receipt bodies {sorted(unknown)} answer no voucher of the envelope"
            )
    pairs = []
    for body in envelope.bodies:
        voucher = body.voucher
        answer = answers.get((body.vt_code, body.voucher_no))
        if answer is not None:
            problems = receipt_problems(voucher, answer)
            if problems:
                raise ArchiveError(f"回单与凭证不符 / receipt of {body.voucher_no}: {problems[0]}")
        pairs.append((voucher, answer))
    return pairs


def _common_name(cert: x509.Certificate | None) -> str:
    if cert is None:
        return ""
    return str(cert.subject.native.get("common_name") or cert.subject.human_friendly)


def _agents(archivist: str, results: Sequence[EnvelopeResult], adm_div_code: str) -> list[Agent]:
    agents = [Agent(archivist, "归档机构", finance_division_code=adm_div_code)]
    seen = {archivist}
    for result in results:
        for body in result.bodies:
            for item in body.items:
                if item.signer is not None and item.signer.subject not in seen:
                    seen.add(item.signer.subject)
                    agents.append(
                        Agent(item.signer.subject[:200], "签名人" if item.kind == "signature" else "签章人")
                    )
    return agents[:64]


def _events(
    received_at: datetime, at: datetime, results: Sequence[EnvelopeResult], package_id: str, archivist: str
) -> list[Event]:
    items = [i for r in results for b in r.bodies for i in b.items]
    valid = all(r.valid for r in results)
    return [
        Event("接收", "完成", received_at, MANDATE_RECEIVE, f"received {ENVELOPE_NAME}"),
        Event(
            "验证",
            "通过" if valid else "未通过",
            at,
            MANDATE_VERIFY,
            f"{sum(i.valid for i in items)}/{len(items)} signatures and seals valid; report {EVIDENCE_NAME}",
        ),
        Event("归档", "完成", at, MANDATE_ARCHIVE, f"package {package_id} signed by {archivist}"),
    ]


def _bookings(envelope: Envelope, package_id: str, at: datetime) -> tuple[Booking, ...]:
    out = []
    for body in envelope.bodies:
        voucher = body.voucher
        digest = hashlib.sha256(body.voucher_b64.encode("utf-8")).hexdigest()
        out.append(
            Booking(
                voucher.adm_div_code,
                voucher.st_year,
                voucher.vt_code,
                voucher.voucher_no,
                voucher.id,
                digest,
                package_id,
                datetime_text(at),
            )
        )
    return tuple(out)


def _records(pairs: Sequence[tuple[Any, Any]]) -> list[B1Record]:
    records = [b1_record(voucher, answer) for voucher, answer in pairs]
    missing = [f"{r.get('VoucherNo')}: {m}" for r in records for m in missing_elements(r)]
    if missing:
        shown = ", ".join(missing[:8]) + (" …" if len(missing) > 8 else "")
        raise MetadataError(
            f"DA/T 95 B.1 必选元素缺失 / mandatory B.1 elements without a value ({len(missing)}): {shown}; "
            "archive the 回单 (receipt) with the bank's X-fields"
        )
    return records


def create_package(
    envelope: bytes,
    receipt: bytes | None = None,
    *,
    trust: TrustStore,
    signer: Signer,
    chain: Sequence[x509.Certificate] = (),
    policy: VerifyPolicy | None = None,
    at: datetime | None = None,
    received_at: datetime | None = None,
    archivist: str | None = None,
    allow_invalid: bool = False,
    pdf: bool = False,
    positions: Positions | None = None,
) -> CreatedPackage:
    """Build a package (bytes, nothing written, nothing booked); see the module docstring.

    Raises :class:`ArchiveError` when a signature or seal fails (unless ``allow_invalid``: the
    failed verdict is then archived as such), when the receipt does not answer the voucher, and
    :class:`MetadataError` when a mandatory B.1 element has no value. ``pdf`` adds a PDF
    rendition of each envelope (headless Chromium; :class:`~ezhifu.errors.RenderingError` without).
    ``positions`` (VtCode -> positions) makes a signature or seal elsewhere fail, as in
    ``ezhifu verify --positions``; it is recorded and used again when re-validating.
    """
    for name, value in (("envelope", envelope), ("receipt", receipt)):
        if value is not None and not isinstance(value, bytes):
            raise InvalidInput(f"create_package: {name} must be bytes, not {type(value).__name__}")
    policy = policy or VerifyPolicy()
    when = (at or datetime.now(UTC)).replace(microsecond=0)
    package_id = str(uuid.uuid4())
    parsed = _read(envelope, "envelope")
    answer = _read(receipt, "receipt") if receipt is not None else None
    sources = [(ENVELOPE_NAME, envelope, parsed)]
    if receipt is not None and answer is not None:
        sources.append((RECEIPT_NAME, receipt, answer))
    results = tuple(
        verify_envelope(data, trust=trust, policy=policy, positions=positions, at=when)
        for _, data, _ in sources
    )
    if not allow_invalid and not all(r.valid for r in results):
        failed = next(r for r in results if not r.valid)
        reasons = [*failed.problems, *(x for b in failed.bodies for x in b.reasons)]
        raise ArchiveError(
            f"验证未通过，不予归档 / verification failed, not archived: {'; '.join(reasons[:3])}"
        )
    records = _records(_pairs(parsed, answer))
    who = archivist or _common_name(signer.certificate) or "archive"
    members: dict[str, bytes] = {}
    evidence = EvidenceFiles()
    for (name, data, env), result in zip(sources, results, strict=True):
        members[name] = data
        collect_evidence(
            evidence, name, env, result, trust=trust, policy=policy, at=when, positions=positions
        )
        page = members[rendition_name(name)] = render(env, result, source_name=name)
        if pdf:
            members[rendition_name(name, PDF_SUFFIX)] = render_pdf(page)
    members.update(evidence.files)
    members[EVIDENCE_NAME] = canonical_json({"envelopes": evidence.envelopes})
    agents = _agents(who, results, parsed.bodies[0].adm_div_code if parsed.bodies else "")
    events = _events(received_at or when, when, results, package_id, who)
    members[METADATA_NAME] = metadata_xml(records, agents, events, package_id=package_id)
    bookings = _bookings(parsed, package_id, when)
    vouchers = [
        {
            "AdmDivCode": b.adm_div_code,
            "StYear": b.st_year,
            "VtCode": b.vt_code,
            "VoucherNo": b.voucher_no,
            "Id": b.voucher_id,
        }
        for b in bookings
    ]
    manifest = build_manifest(members, package_id=package_id, created=when, vouchers=vouchers)
    manifest_bytes = canonical_json(manifest)
    members[MANIFEST_NAME] = manifest_bytes
    members[SIGNATURE_NAME] = sign_manifest(manifest_bytes, signer, at=when, chain=chain)
    return CreatedPackage(build_zip(members), package_id, manifest, bookings, results)


def write_package(
    path: str | Path,
    envelope: bytes,
    receipt: bytes | None = None,
    *,
    registry: Registry | None = None,
    **options: Any,
) -> CreatedPackage:
    """:func:`create_package`, then book its vouchers in ``registry`` and write ``path`` atomically.

    A voucher already booked raises :class:`~ezhifu.errors.DuplicateBooking` and nothing is
    written; a write that fails rolls the booking back.
    """
    package = create_package(envelope, receipt, **options)
    if registry is None:
        write_atomically(path, package.data)
        return package
    with registry.booking(package.bookings):
        write_atomically(path, package.data)
    return package
