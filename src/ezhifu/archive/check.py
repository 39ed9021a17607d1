"""``ezhifu archive check``: the 四性 checks of a package, item by item (DA/T 95—2022 §8.2.4, §10).

:func:`check_package` reads the zip with bounds (:func:`ezhifu.archive.reader.read_members`:
a zip bomb, a path that climbs out or a duplicate name is refused with its named error before
anything is used), then checks, each as a :class:`~ezhifu.archive.check_items.CheckItem`:

* 完整性 complete: ``manifest-readable``, ``manifest-canonical``, ``files-present`` (数据总量),
  ``no-unlisted-files``, ``fixity`` (SM3 *and* SHA-256 of every listed file), ``metadata-schema``
  (B.1 mandatory elements, D.1, E.1 against ``dat95.xsd``), ``events`` (接收, 验证, 归档);
* 真实性 authentic: ``manifest-signature`` (the CMS over ``manifest.json``),
  ``manifest-signer-trusted`` (with ``archive_trust``; skipped without), ``metadata-content-link``
  (metadata against the signed vouchers), ``archived-verdict``, ``signatures-reverified``
  (every signature and seal again, against the stored trust and CRLs, as of the package time),
  ``renewals`` (each fresh signature added by ``revalidate --renew`` still covers every file);
* 可用性 usable: ``envelope-readable``, ``rendition-readable``;
* 安全性 secure: ``container-safe``, ``national-digests`` (SM3 for every file, DA/T 95 §10.6),
  ``signature-algorithm`` (the manifest signature passes the default policy: no SHA-1, no RSA-1024).

Tampering with any file fails ``fixity`` naming it; tampering with the manifest fails
``manifest-signature``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ezhifu.archive.check_content import envelope_items, evidence_items, metadata_items, rendition_items
from ezhifu.archive.check_items import CheckItem, CheckReport
from ezhifu.archive.gbt7408 import parse_datetime
from ezhifu.archive.manifest import (
    DIGESTS,
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    RENEWAL_FORMAT,
    SIGNATURE_NAME,
    canonical_json,
    file_entry,
    parse_manifest,
    renewal_names,
    verify_manifest_signature,
)
from ezhifu.archive.reader import ZipLimits, read_members
from ezhifu.errors import ArchiveFormatError
from ezhifu.pki.trust import TrustStore, VerifyPolicy

__all__ = ["check_members", "check_package", "manifest_of"]

_OWN = (MANIFEST_NAME, SIGNATURE_NAME)


def manifest_of(members: Mapping[str, bytes]) -> tuple[dict[str, Any] | None, str | None]:
    """The parsed manifest, or ``None`` and why it cannot be read."""
    data = members.get(MANIFEST_NAME)
    if data is None:
        return None, f"{MANIFEST_NAME} is missing"
    try:
        return parse_manifest(data), None
    except ArchiveFormatError as exc:
        return None, str(exc)


def _listed(manifest: Mapping[str, Any]) -> dict[str, Any]:
    files: dict[str, Any] = manifest["files"]
    return files


def _completeness(members: Mapping[str, bytes], manifest: Mapping[str, Any]) -> list[CheckItem]:
    files = _listed(manifest)
    missing = sorted(name for name in files if name not in members)
    own = set(_OWN) | {name for pair in renewal_names(members) for name in pair}
    extra = sorted(name for name in members if name not in files and name not in own)
    changed = []
    for name, entry in sorted(files.items()):
        if name not in members:
            continue
        actual = file_entry(members[name])
        wrong = [d for d in ("size", *DIGESTS) if not _same(actual[d], entry.get(d))]
        if wrong:
            changed.append(f"{name}: {', '.join(wrong)} differ from the manifest")
    return [
        _item(
            "complete",
            "files-present",
            "文件齐全",
            [f"{n} is missing" for n in missing],
            f"{len(files)} files",
        ),
        _item(
            "complete",
            "no-unlisted-files",
            "无清单外文件",
            [f"{n} is not in the manifest" for n in extra],
            "none",
        ),
        _item("complete", "fixity", "固化信息一致", changed, "SM3 and SHA-256 of every file match"),
    ]


def _same(actual: object, expected: object) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return hmac.compare_digest(actual.encode(), expected.encode())
    return actual == expected


def _item(prop: Any, name: str, label: str, failures: list[str], ok: str) -> CheckItem:
    if failures:
        return CheckItem(prop, name, label, "fail", "; ".join(failures[:5]))
    return CheckItem(prop, name, label, "pass", ok)


def _signature_items(
    members: Mapping[str, bytes], created: datetime | None, archive_trust: TrustStore | None
) -> list[CheckItem]:
    manifest, signature = members.get(MANIFEST_NAME, b""), members.get(SIGNATURE_NAME)
    if signature is None:
        reason = f"{SIGNATURE_NAME} is missing"
        return [
            CheckItem("authentic", "manifest-signature", "清单签名", "fail", reason),
            CheckItem("authentic", "manifest-signer-trusted", "归档方证书可信", "fail", reason),
            CheckItem("secure", "signature-algorithm", "签名算法", "fail", reason),
        ]
    intact = verify_manifest_signature(manifest, signature, trust=None, at=created)
    signer = (
        intact.signer_certificate.subject.human_friendly if intact.signer_certificate else "unknown signer"
    )
    items = [
        CheckItem("authentic", "manifest-signature", "清单签名", "pass", f"intact, signed by {signer}")
        if intact.intact
        else CheckItem(
            "authentic", "manifest-signature", "清单签名", "fail", f"{SIGNATURE_NAME}: {intact.reason}"
        )
    ]
    if archive_trust is None:
        items.append(
            CheckItem(
                "authentic", "manifest-signer-trusted", "归档方证书可信", "skip", "no --archive-trust given"
            )
        )
    else:
        trusted = verify_manifest_signature(manifest, signature, trust=archive_trust, at=created)
        items.append(
            CheckItem(
                "authentic",
                "manifest-signer-trusted",
                "归档方证书可信",
                "pass",
                f"{signer} chains to the trust",
            )
            if trusted.valid
            else CheckItem(
                "authentic", "manifest-signer-trusted", "归档方证书可信", "fail", str(trusted.reason)
            )
        )
    refusal = None
    if intact.digest_algorithm is not None:
        refusal = VerifyPolicy().digest_refusal(intact.digest_algorithm, what="manifest digest")
    if refusal is None and intact.signer_certificate is not None:
        refusal = VerifyPolicy().key_refusal(intact.signer_certificate, role="archive")
    algorithm = f"{intact.signature_algorithm} / {intact.digest_algorithm}"
    items.append(
        CheckItem(
            "secure", "signature-algorithm", "签名算法", "fail" if refusal else "pass", refusal or algorithm
        )
    )
    return items


def _renewal_failures(
    members: Mapping[str, bytes], pair: tuple[str, str], trust: TrustStore | None
) -> list[str]:
    name, p7s = pair
    data, signature = members[name], members.get(p7s)
    if signature is None:
        return [f"{p7s} is missing"]
    try:
        if len(data) > MAX_MANIFEST_BYTES:
            raise ValueError(f"{len(data)} bytes")
        value = json.loads(data.decode("utf-8"))
        covers, created = value["covers"], parse_datetime(str(value["created"]), where=name)
        if value["format"] != RENEWAL_FORMAT or not isinstance(covers, dict):
            raise ValueError("unknown format")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, ArchiveFormatError) as exc:
        return [f"{name} cannot be read: {exc}"]
    failures = [
        f"{name}: {covered} changed or missing since the renewal"
        for covered, entry in sorted(covers.items())
        if covered not in members or file_entry(members[covered]) != entry
    ]
    outcome = verify_manifest_signature(data, signature, trust=trust, at=created)
    if not (outcome.valid if trust is not None else outcome.intact):
        failures.append(f"{p7s}: {outcome.reason}")
    return failures


def _renewals(members: Mapping[str, bytes], trust: TrustStore | None) -> CheckItem:
    pairs = renewal_names(members)
    if not pairs:
        return CheckItem("authentic", "renewals", "续签", "skip", "no renewal signature added")
    failures = [f for pair in pairs for f in _renewal_failures(members, pair, trust)]
    return _item("authentic", "renewals", "续签", failures, f"{len(pairs)} renewal(s) intact")


def _secure(members: Mapping[str, bytes], manifest: Mapping[str, Any]) -> list[CheckItem]:
    without = sorted(n for n, e in _listed(manifest).items() if len(str(e.get("sm3", ""))) != 64)
    return [
        CheckItem(
            "secure", "container-safe", "容器安全", "pass", f"{len(members)} members within the bounds"
        ),
        _item(
            "secure",
            "national-digests",
            "国产密码摘要",
            [f"{n} has no SM3" for n in without],
            "SM3 for every file",
        ),
    ]


def check_members(members: Mapping[str, bytes], *, archive_trust: TrustStore | None = None) -> CheckReport:
    """The 四性 report of already-read members (see :func:`check_package`)."""
    manifest, problem = manifest_of(members)
    if manifest is None:
        reason = str(problem)
        return CheckReport.of(
            "",
            [
                CheckItem("complete", "manifest-readable", "清单可读", "fail", reason),
                *(_signature_items(members, None, archive_trust)),
            ],
        )
    created = parse_datetime(manifest["created"], where=f"{MANIFEST_NAME}/created")
    canonical = canonical_json(manifest) == members[MANIFEST_NAME]
    items = [
        CheckItem("complete", "manifest-readable", "清单可读", "pass", f"format {manifest['format']}"),
        CheckItem(
            "complete",
            "manifest-canonical",
            "清单规范",
            "pass" if canonical else "fail",
            "canonical JSON" if canonical else f"{MANIFEST_NAME} is not in canonical form",
        ),
        *_completeness(members, manifest),
        *_signature_items(members, created, archive_trust),
        _renewals(members, archive_trust),
        *_secure(members, manifest),
    ]
    found, envelopes = envelope_items(members)
    items.extend(found)
    items.extend(metadata_items(members, manifest, envelopes))
    items.extend(evidence_items(members, envelopes, created))
    items.extend(rendition_items(members, envelopes))
    return CheckReport.of(str(manifest["package"]), items)


def check_package(
    data: bytes, *, archive_trust: TrustStore | None = None, limits: ZipLimits | None = None
) -> CheckReport:
    """Read a package zip with bounds and run every check (module docstring).

    Raises :class:`~ezhifu.errors.UnsafeArchive` (a subclass per kind) for a hostile zip and
    :class:`~ezhifu.errors.ArchiveFormatError` for bytes that are no zip; any other defect is
    a failed item in the report.
    """
    return check_members(read_members(data, limits), archive_trust=archive_trust)
