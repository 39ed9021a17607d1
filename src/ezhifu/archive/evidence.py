"""The verification evidence of a package, captured when it is created (DA/T 95 §10.2–10.3).

The treasury signatures are detached CMS over the voucher's Base64 text (spec.md §5.3) whose
certificates expire or become weak long before the 30-year keeping period ends, so the package
keeps what the verdict was based on (issue 19 item 3; the reference's §3.5 consequence):

* ``evidence/verification.json``: per envelope, :meth:`ezhifu.results.EnvelopeResult.to_dict`,
  the verification time, the policy, the trust anchors and CRLs used (file names), the
  certificate path of every signature and seal, the seal picture files, and for revocation and
  time-stamps either the files or *why they are unavailable*;
* ``evidence/trust/{root,intermediate,pinned}-NN.der``: the trust store as given;
* ``evidence/crl/crl-NN.der``: the CRLs the policy checked against;
* ``evidence/certs/<sha256>.der``: every certificate of a path (signer to anchor);
* ``evidence/seals/<n>-<position>.<ext>``: each seal's picture;
* ``evidence/timestamps/<sha256>.tst``: every RFC 3161 token an item carries (the CMS
  id-aa-timeStampToken, the seal's ``timeStamp``), listed by the item's ``timestamps``.

:func:`policy_from_evidence` and :func:`trust_from_evidence` rebuild the policy and the trust
store from these files for re-validation, without the network.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asn1crypto import x509

from ezhifu.archive.gbt7408 import datetime_text
from ezhifu.document.envelope import Envelope, SignStampElement, decode_element_value
from ezhifu.errors import ArchiveFormatError, EzhifuError
from ezhifu.pki.path import validate_chain
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.report.html import stamp_picture
from ezhifu.results import EnvelopeResult
from ezhifu.seal.containers import parse_signature
from ezhifu.sign.cms import timestamp_tokens
from ezhifu.sign.cms_verify import verify_detached
from ezhifu.verify import Positions

__all__ = [
    "EVIDENCE_NAME",
    "EvidenceFiles",
    "collect_evidence",
    "policy_from_evidence",
    "positions_from_evidence",
    "trust_from_evidence",
]

EVIDENCE_NAME = "evidence/verification.json"
#: File-name kinds of the recorded anchors (by purpose: signer roots/pinned, seal makers, TSAs).
_TRUST_KINDS = ("root", "intermediate", "pinned", "sealmaker", "tsa")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
#: Most certificates kept per path (a longer path is cut; real treasury paths have 2 or 3).
MAX_PATH = 8


@dataclass
class EvidenceFiles:
    """Files collected for one package (name -> bytes) and the JSON record that lists them."""

    files: dict[str, bytes] = field(default_factory=dict)
    envelopes: list[dict[str, Any]] = field(default_factory=list)

    def add_cert(self, cert: x509.Certificate) -> str:
        der = bytes(cert.dump())
        name = f"evidence/certs/{hashlib.sha256(der).hexdigest()[:32]}.der"
        self.files[name] = der
        return name


def _policy_record(policy: VerifyPolicy, crl_names: Sequence[str]) -> dict[str, Any]:
    return {
        "name": policy.name,
        "allowed_digests": sorted(policy.allowed_digests),
        "min_rsa_bits": policy.min_rsa_bits,
        "require_trusted": policy.require_trusted,
        "check_crl": policy.check_crl,
        "crls": list(crl_names),
    }


def _trust_files(evidence: EvidenceFiles, trust: TrustStore) -> list[str]:
    names = []
    stores = (trust.roots, trust.intermediates, trust.pinned, trust.seal_makers, trust.tsas)
    for kind, certs in zip(_TRUST_KINDS, stores, strict=True):
        for index, cert in enumerate(certs, start=1):
            name = f"evidence/trust/{kind}-{index:02d}.der"
            evidence.files[name] = bytes(cert.dump())
            names.append(name)
    return names


def _path_names(evidence: EvidenceFiles, path: Sequence[x509.Certificate]) -> list[str]:
    return [evidence.add_cert(cert) for cert in path[:MAX_PATH]]


def _signature_path(
    value: str, text: str, trust: TrustStore, policy: VerifyPolicy, at: datetime
) -> tuple[x509.Certificate, ...]:
    try:
        der = decode_element_value(value, where="Signature")
    except EzhifuError:
        return ()
    if not text.isascii():
        return ()
    outcome = verify_detached(der, text.encode("ascii"), trust=trust, policy=policy, at=at)
    if outcome.chain is not None and outcome.chain.path:
        return outcome.chain.path
    return (outcome.signer_certificate,) if outcome.signer_certificate is not None else ()


def _stamp_path(
    stamp: SignStampElement, trust: TrustStore, policy: VerifyPolicy, at: datetime
) -> tuple[x509.Certificate, ...]:
    try:
        der = decode_element_value(stamp.value, where=f"SignStamp at {stamp.no}")
        cert = x509.Certificate.load(parse_signature(der).signer_cert, strict=True)
    except (EzhifuError, ValueError, TypeError):
        return ()  # a vendor stamp or an unreadable one: its verdict says why
    chain = validate_chain(cert, trust=trust, policy=policy, at=at)
    return chain.path or (cert,)


def _picture(evidence: EvidenceFiles, stamp: SignStampElement, prefix: str) -> str | None:
    try:
        image = stamp_picture(stamp)
    except EzhifuError:
        return None
    if image is None:
        return None
    name = f"evidence/seals/{prefix}-{_UNSAFE.sub('_', stamp.no)[:40]}.{image.extension}"
    evidence.files[name] = image.data
    return name


def _tokens(evidence: EvidenceFiles, value: str, kind: str) -> list[str]:
    """Keep the RFC 3161 tokens an item carries as ``evidence/timestamps/<sha256>.tst``
    (issue 13 item 2: the proof of time survives beside the path it proves)."""
    try:
        der = decode_element_value(value, where=kind)
        tokens = timestamp_tokens(der) if kind == "Signature" else [parse_signature(der).time_stamp or b""]
    except (EzhifuError, ValueError, TypeError, KeyError):
        return []
    names = []
    for token in tokens[:MAX_PATH]:
        if token:
            name = f"evidence/timestamps/{hashlib.sha256(token).hexdigest()[:32]}.tst"
            evidence.files[name] = token
            names.append(name)
    return names


def _items(
    evidence: EvidenceFiles, envelope: Envelope, trust: TrustStore, policy: VerifyPolicy, at: datetime
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for number, body in enumerate(envelope.bodies, start=1):
        for sig in body.signatures:
            path = _signature_path(sig.value, body.voucher_b64, trust, policy, at)
            items.append(
                {
                    "body": number,
                    "kind": "signature",
                    "position": sig.no,
                    "path": _path_names(evidence, path),
                    "timestamps": _tokens(evidence, sig.value, "Signature"),
                }
            )
        for stamp in body.stamps:
            path = _stamp_path(stamp, trust, policy, at)
            items.append(
                {
                    "body": number,
                    "kind": "seal",
                    "position": stamp.no,
                    "path": _path_names(evidence, path),
                    "timestamps": _tokens(evidence, stamp.value, f"SignStamp at {stamp.no}"),
                    "picture": _picture(evidence, stamp, f"{len(evidence.envelopes) + 1}-{number}"),
                }
            )
    return items


def _revocation_statuses(result: EnvelopeResult) -> list[dict[str, str]]:
    """The revocation evidence of every checked certificate path in ``result`` (the ``revocation``
    evidence of its chain steps, :mod:`ezhifu.pki.revocation` / :mod:`ezhifu.pki.ocsp`)."""
    statuses: list[dict[str, str]] = []
    for body in result.bodies:
        for item in body.items:
            for step in item.steps:
                for key, value in step.evidence:
                    if key == "revocation":
                        statuses.append(
                            {
                                "voucher_no": body.voucher_no or "",
                                "position": item.position,
                                "step": step.name,
                                "status": value,
                            }
                        )
    return statuses


def collect_evidence(
    evidence: EvidenceFiles,
    file_name: str,
    envelope: Envelope,
    result: EnvelopeResult,
    *,
    trust: TrustStore,
    policy: VerifyPolicy,
    at: datetime,
    positions: Positions | None = None,
) -> dict[str, Any]:
    """Add the evidence of one verified envelope (stored as ``file_name``) to ``evidence``;
    ``positions`` is the position table the verification used (recorded for re-validation)."""
    if not evidence.envelopes:
        trust_names = _trust_files(evidence, trust)
        for index, der in enumerate(policy.crls, start=1):
            evidence.files[f"evidence/crl/crl-{index:02d}.der"] = der
    else:
        trust_names = evidence.envelopes[0]["trust"]
    crl_names = [f"evidence/crl/crl-{i:02d}.der" for i in range(1, len(policy.crls) + 1)]
    record = {
        "file": file_name,
        "verified_at": datetime_text(at),
        "policy": _policy_record(policy, crl_names),
        "positions": None if positions is None else {vt: sorted(p) for vt, p in sorted(positions.items())},
        "trust": trust_names,
        "revocation": (
            {
                "checked": True,
                "crls": crl_names,
                "ocsp": {"asked": policy.check_ocsp, "url": policy.ocsp_url},
                "unavailable": policy.revocation_unavailable,
                "statuses": _revocation_statuses(result),
            }
            if policy.check_crl or policy.check_ocsp
            else {
                "checked": False,
                "reason": "no CRL or OCSP response was given when archiving (未提供吊销信息)",
            }
        ),
        "timestamp": {
            "available": False,
            "reason": "no time-stamp authority is configured; the time proven is the signed manifest time",
        },
        "valid": result.valid,
        "result": result.to_dict(),
        "items": _items(evidence, envelope, trust, policy, at),
    }
    evidence.envelopes.append(record)
    return record


def _load_cert(members: Mapping[str, bytes], name: str) -> x509.Certificate:
    data = members.get(name)
    if data is None:
        raise ArchiveFormatError(f"证据缺失 / evidence file {name} is missing")
    try:
        cert = x509.Certificate.load(data, strict=True)
        cert.native  # noqa: B018 - asn1crypto parses lazily; force it so damage shows here
    except (ValueError, TypeError) as exc:
        raise ArchiveFormatError(f"证据损坏 / {name} is not a DER certificate: {exc}") from exc
    return cert


def trust_from_evidence(members: Mapping[str, bytes], record: Mapping[str, Any]) -> TrustStore:
    """The trust store recorded for one envelope (raises :class:`ArchiveFormatError` when a file is gone)."""
    lists: dict[str, list[x509.Certificate]] = {kind: [] for kind in _TRUST_KINDS}
    for name in record.get("trust", []):
        kind = str(name).rsplit("/", 1)[-1].split("-", 1)[0]
        if kind not in lists:
            raise ArchiveFormatError(f"证据无效 / {name} is not a trust anchor file")
        lists[kind].append(_load_cert(members, str(name)))
    return TrustStore(
        lists["root"],
        lists["intermediate"],
        lists["pinned"],
        seal_makers=lists["sealmaker"],
        tsas=lists["tsa"],
    )


def positions_from_evidence(record: Mapping[str, Any]) -> Positions | None:
    """The position table recorded for one envelope (``None``: none was used)."""
    table = record.get("positions")
    if not isinstance(table, dict):
        return None
    return {
        str(vt): frozenset(str(p) for p in positions)
        for vt, positions in table.items()
        if isinstance(positions, list)
    }


def policy_from_evidence(
    record: Mapping[str, Any], members: Mapping[str, bytes]
) -> tuple[VerifyPolicy, list[str]]:
    """The policy recorded for one envelope, with its CRLs; also the CRL files that are missing."""
    data = record.get("policy", {})
    crls: list[bytes] = []
    missing: list[str] = []
    for name in data.get("crls", []):
        content = members.get(str(name))
        if content is None:
            missing.append(str(name))
        else:
            crls.append(content)
    policy = VerifyPolicy(
        allowed_digests=frozenset(str(d) for d in data.get("allowed_digests", ()))
        or VerifyPolicy().allowed_digests,
        min_rsa_bits=int(data.get("min_rsa_bits", 2048)),
        require_trusted=bool(data.get("require_trusted", True)),
        check_crl=bool(crls),
        crls=tuple(crls),
        name=str(data.get("name", "default")),
    )
    return policy, missing
