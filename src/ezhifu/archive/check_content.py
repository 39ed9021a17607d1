"""The content checks of a package: envelopes, metadata, evidence and renditions.

Each function returns :class:`~ezhifu.archive.check_items.CheckItem` objects for
:func:`ezhifu.archive.check.check_package`; none raises for a bad package (the item fails with
the reason), so one damaged file never hides the state of the others.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import lxml.html

from ezhifu.archive.check_items import CheckItem, Property, all_failed
from ezhifu.archive.evidence import (
    EVIDENCE_NAME,
    policy_from_evidence,
    positions_from_evidence,
    trust_from_evidence,
)
from ezhifu.archive.gbt7408 import voucher_date
from ezhifu.archive.metadata_xml import METADATA_NAME, metadata_issues, read_metadata
from ezhifu.archive.rendition import PDF_SUFFIX, looks_like_pdf, rendition_name
from ezhifu.document.envelope import Envelope
from ezhifu.errors import EzhifuError
from ezhifu.verify import verify_envelope

__all__ = [
    "envelope_items",
    "evidence_items",
    "load_evidence",
    "metadata_items",
    "rendition_items",
]

#: Events every package records (DA/T 95 table E.1 BusinessActivity).
REQUIRED_EVENTS = ("接收", "验证", "归档")
#: Header elements compared between the metadata and the signed voucher (元数据与内容关联).
_LINKED = ("Id", "AdmDivCode", "StYear", "VtCode", "VoucherNo", "PayAmt")


def _item(prop: Property, name: str, label: str, failures: Sequence[str], ok: str) -> CheckItem:
    if failures:
        shown = "; ".join(failures[:5]) + (f" (+{len(failures) - 5} more)" if len(failures) > 5 else "")
        return CheckItem(prop, name, label, "fail", shown)
    return CheckItem(prop, name, label, "pass", ok)


def envelope_items(members: Mapping[str, bytes]) -> tuple[list[CheckItem], dict[str, Envelope]]:
    """``envelope-readable``: every ``content/*.xml`` parses as a ``<MOF>`` envelope with bodies."""
    names = sorted(n for n in members if n.startswith("content/"))
    envelopes: dict[str, Envelope] = {}
    failures = [] if "content/envelope.xml" in members else ["content/envelope.xml is missing"]
    for name in names:
        try:
            envelope = Envelope.from_bytes(members[name])
        except EzhifuError as exc:
            failures.append(f"{name}: {exc}")
            continue
        if not envelope.bodies:
            failures.append(f"{name}: no VoucherBody")
            continue
        envelopes[name] = envelope
    item = _item("usable", "envelope-readable", "报文可读", failures, f"{len(envelopes)} envelope(s) read")
    return [item], envelopes


def _link_failures(vouchers: Sequence[Mapping[str, str]], envelope: Envelope | None) -> list[str]:
    if envelope is None:
        return ["content/envelope.xml cannot be read, so nothing to compare with"]
    bodies = list(envelope.bodies)
    if len(vouchers) != len(bodies):
        return [f"metadata describes {len(vouchers)} voucher(s), the envelope holds {len(bodies)}"]
    failures = []
    for record, body in zip(vouchers, bodies, strict=True):
        try:
            voucher = body.voucher
        except EzhifuError as exc:
            failures.append(f"{body.voucher_no}: inner voucher cannot be read ({exc})")
            continue
        for name in (*_LINKED, "VouDate"):
            expected = voucher.get(name) or ""
            if name == "VouDate":
                with contextlib.suppress(EzhifuError):
                    expected = voucher_date(expected, where="VouDate")
            if record.get(name, "") != expected:
                failures.append(
                    f"{body.voucher_no}: {name} is {record.get(name)!r} in the metadata, {expected!r} signed"
                )
    return failures


#: the items :func:`metadata_items` reports, failed together when dat95.xml is missing or unreadable
_METADATA_ROWS: tuple[tuple[Property, str, str], ...] = (
    ("complete", "metadata-schema", "元数据完整性"),
    ("authentic", "metadata-content-link", "元数据与内容关联"),
    ("complete", "events", "业务实体完整"),
)


def metadata_items(
    members: Mapping[str, bytes], manifest: Mapping[str, Any], envelopes: Mapping[str, Envelope]
) -> list[CheckItem]:
    """``metadata-schema`` (B.1/D.1/E.1 against dat95.xsd), ``metadata-content-link``, ``events``."""
    data = members.get(METADATA_NAME)
    if data is None:
        reason = f"{METADATA_NAME} is missing"
        return all_failed(_METADATA_ROWS, reason)
    try:
        issues = metadata_issues(data)
        parsed = read_metadata(data)
    except EzhifuError as exc:
        reason = str(exc)
        return all_failed(_METADATA_ROWS, reason)
    links = _link_failures(parsed.vouchers, envelopes.get("content/envelope.xml"))
    if parsed.package != manifest.get("package"):
        links.insert(
            0, f"metadata package {parsed.package!r} is not the manifest's {manifest.get('package')!r}"
        )
    activities = {e.get("BusinessActivity") for e in parsed.events}
    missing = [f"no {a} event" for a in REQUIRED_EVENTS if a not in activities]
    return [
        _item("complete", "metadata-schema", "元数据完整性", issues, "valid against schemas/dat95/dat95.xsd"),
        _item(
            "authentic",
            "metadata-content-link",
            "元数据与内容关联",
            links,
            "metadata matches the signed vouchers",
        ),
        _item(
            "complete",
            "events",
            "业务实体完整",
            missing,
            f"{len(parsed.events)} E.1 events incl. 接收, 验证, 归档",
        ),
    ]


def load_evidence(members: Mapping[str, bytes]) -> tuple[list[dict[str, Any]], str | None]:
    """The envelope records of ``evidence/verification.json``, or why they cannot be read."""
    data = members.get(EVIDENCE_NAME)
    if data is None:
        return [], f"{EVIDENCE_NAME} is missing"
    try:
        value = json.loads(data.decode("utf-8"))
        records = value["envelopes"]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise TypeError("envelopes must be a list of objects")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        return [], f"{EVIDENCE_NAME} cannot be read: {exc}"
    return records, None


def evidence_items(
    members: Mapping[str, bytes], envelopes: Mapping[str, Envelope], created: datetime | None
) -> list[CheckItem]:
    """``archived-verdict`` (every signature and seal valid when archived) and
    ``signatures-reverified`` (re-verified now against the stored trust and CRLs, as of ``created``)."""
    records, problem = load_evidence(members)
    if problem is not None:
        return [
            CheckItem("authentic", "archived-verdict", "归档时验证结论", "fail", problem),
            CheckItem("authentic", "signatures-reverified", "签名与印章复核", "fail", problem),
        ]
    verdicts = [f"{r.get('file')}: not valid when archived" for r in records if r.get("valid") is not True]
    covered = {r.get("file") for r in records}
    verdicts.extend(f"{name}: no verification record" for name in envelopes if name not in covered)
    again: list[str] = []
    for record in records:
        name = str(record.get("file"))
        envelope = envelopes.get(name)
        if envelope is None:
            again.append(f"{name}: envelope not readable")
            continue
        try:
            trust = trust_from_evidence(members, record)
            policy, missing = policy_from_evidence(record, members)
        except EzhifuError as exc:
            again.append(f"{name}: {exc}")
            continue
        if missing:
            again.append(f"{name}: revocation evidence missing ({', '.join(missing)})")
        positions = positions_from_evidence(record)
        result = verify_envelope(envelope, trust=trust, policy=policy, positions=positions, at=created)
        if not result.valid:
            reasons = [*result.problems, *(x for b in result.bodies for x in b.reasons)]
            again.append(f"{name}: {reasons[0] if reasons else 'not valid'}")
    when = created.isoformat() if created else "now"
    return [
        _item(
            "authentic", "archived-verdict", "归档时验证结论", verdicts, "all signatures and seals were valid"
        ),
        _item(
            "authentic",
            "signatures-reverified",
            "签名与印章复核",
            again,
            f"valid against the stored evidence at {when}",
        ),
    ]


def rendition_items(members: Mapping[str, bytes], envelopes: Mapping[str, Envelope]) -> list[CheckItem]:
    """``rendition-readable``: each envelope's HTML rendition is there, parses, shows each voucher
    number and carries no script (a rendition must not run code when opened); a PDF rendition,
    when there is one, is a complete PDF."""
    failures = []
    for name, envelope in envelopes.items():
        target = rendition_name(name)
        data = members.get(target)
        if data is None:
            failures.append(f"{target} is missing")
            continue
        try:
            page = lxml.html.fromstring(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, lxml.etree.ParserError) as exc:
            failures.append(f"{target} cannot be read: {exc}")
            continue
        text = "".join(str(t) for t in page.itertext())
        absent = [b.voucher_no for b in envelope.bodies if b.voucher_no not in text]
        if absent:
            failures.append(f"{target} does not show voucher(s) {', '.join(absent)}")
        if page.xpath("//script"):
            failures.append(f"{target} contains a script")
        printed = members.get(rendition_name(name, PDF_SUFFIX))
        if printed is not None and not looks_like_pdf(printed):
            failures.append(f"{rendition_name(name, PDF_SUFFIX)} is not a complete PDF")
    return [
        _item("usable", "rendition-readable", "版式可读", failures, f"{len(envelopes)} rendition(s) readable")
    ]
