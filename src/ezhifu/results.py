"""The one verification result shape, shared by signatures, seals, bodies and envelopes.

``EnvelopeResult`` -> ``BodyResult`` -> ``ItemResult`` (one ``<Signature>`` or one ``<SignStamp>``)
-> ``Step`` (one named check with its outcome, its reason in Chinese and English and its evidence).
Every verifier records its steps in a :class:`StepLog`, so that a CMS signature, a standard seal
and a vendor stamp report the same way; ``ItemResult.from_steps`` derives ``valid`` and ``reason``
from the steps, and every step belongs to one *phase* of the spine (:data:`PHASES`: parse,
consistency, intact, trusted, time, position), so what was not checked is explicit in
``to_dict()["phases"]``. The facts a display needs (signer, seal, picture, claimed time, trust
anchors) ride on the result: nothing downstream parses a signature or a seal again (docs/verification.md).

Verification never raises for a bad signature: it returns these results, each item with its
reason. It raises only on misuse (wrong argument types, unusable configuration).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from ezhifu.errors import InvalidInput

if TYPE_CHECKING:
    from ezhifu.errors import ValidationIssue

__all__ = [
    "JSON_NAME",
    "OUTCOMES",
    "PHASES",
    "BodyResult",
    "Claim",
    "EnvelopeResult",
    "ItemResult",
    "JsonFields",
    "Outcome",
    "SealFacts",
    "SealImage",
    "SignerInfo",
    "Step",
    "StepLog",
    "ValidationReport",
    "phase_of",
    "record_dict",
]

#: How one step ended: passed, failed, could not be run, or failed but accepted by the policy.
Outcome = Literal["ok", "failed", "not_checked", "waived"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "failed", "not_checked", "waived")

#: The spine's phases, in order, with their Chinese and English titles (docs/verification.md).
PHASES: dict[str, tuple[str, str]] = {
    "parse": ("解析", "the structure parses"),
    "consistency": ("一致性", "attributes agree with the signed content"),
    "intact": ("完整性", "the cryptography holds over the bytes as received"),
    "trusted": ("可信", "certificates chain to the trust store under the policy"),
    "time": ("时间", "checked at a proven, asserted or verification time; claimed times are claims"),
    "position": ("位置", "the item sits at a position it was made for"),
}

#: Every step name -> (phase, Chinese title). A step not listed belongs to ``parse``.
_STEPS: dict[str, tuple[str, str]] = {
    "parse": ("parse", "CMS 结构"),
    "base64": ("parse", "Base64 编码"),
    "content": ("parse", "凭证文本"),
    "format": ("parse", "印章格式"),
    "structure": ("parse", "结构"),
    "content-type": ("parse", "内容类型"),
    "detached": ("parse", "分离式签名"),
    "signer-info": ("parse", "签名者信息"),
    "signature-format": ("parse", "签名值格式"),
    "seal-header": ("parse", "印章头"),
    "decode": ("parse", "内层凭证解码"),
    "attributes-match": ("consistency", "信封属性与签名凭证一致"),
    "sn": ("consistency", "SN 与证书序列号一致"),
    "voucher": ("consistency", "签章所属凭证"),
    "seal-id": ("consistency", "SN 与印章编号一致"),
    "signature": ("intact", "签名值"),
    "attributes": ("intact", "签名属性"),
    "maker-signature": ("intact", "制章人签名"),
    "data-hash": ("intact", "原文摘要"),
    "stamp-signature": ("intact", "签章签名"),
    "algorithms": ("trusted", "算法"),
    "policy": ("trusted", "算法策略"),
    "signer-certificate": ("trusted", "签名者证书"),
    "chain": ("trusted", "证书链"),
    "maker-certificate": ("trusted", "制章人证书"),
    "holder": ("trusted", "印章持有者"),
    "signing-time": ("time", "签名时间"),
    "seal-validity": ("time", "印章有效期"),
    "timestamp": ("time", "时间戳"),
    "time-basis": ("time", "验证时间依据"),
    "position": ("position", "签名位置"),
    "party": ("position", "位置所属方"),
}

_OUTCOME_ZH: dict[str, str] = {
    "ok": "通过",
    "failed": "失败",
    "not_checked": "未检查",
    "waived": "按策略放行",
}


def phase_of(step: str) -> str:
    """The spine phase a step name belongs to (:data:`PHASES`)."""
    entry = _STEPS.get(step)
    return entry[0] if entry else "parse"


#: ``field(metadata=...)`` key: the name a field has in :func:`record_dict` (``None``: left out).
JSON_NAME = "json"


def record_dict(record: Any, **first: Any) -> dict[str, Any]:
    """The plain dict of a record (a dataclass instance) for JSON: ``first`` (computed values such
    as an id), then every field by its name (or the name its ``metadata[JSON_NAME]`` gives; a
    field whose name there is ``None`` is left out); a value with ``to_dict()`` becomes that,
    another dataclass its own record dict, a tuple or list a list of those, a date or time ISO
    8601 text; anything else stays as is.

    The one ``to_dict`` of the records whose JSON is their fields (signers, claims, seal facts,
    certificate descriptions, alerts, cases, drill reports).
    """
    out = dict(first)
    for attribute, name in _json_names(record.__class__):
        out[name] = _plain(getattr(record, attribute))
    return out


@functools.cache
def _json_names(cls: type) -> tuple[tuple[str, str], ...]:
    """(attribute, JSON name) of each field of a record class that its JSON shows, in order."""
    named = ((f.name, f.metadata.get(JSON_NAME, f.name)) for f in fields(cls))
    return tuple((attribute, name) for attribute, name in named if name is not None)


class JsonFields:
    """A result whose JSON is its fields: ``to_dict()`` is :func:`record_dict` of it."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return record_dict(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True, slots=True)
class SignerInfo(JsonFields):
    """Who signed: the signer certificate's subject, issuer and serial (lower-case hex)."""

    subject: str
    issuer: str
    serial_hex: str = field(metadata={JSON_NAME: "serial"})
    not_before: datetime | None = None
    not_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class SealImage:
    """A seal picture ready to save or embed: canonical ``type``, ``mime``, ``extension``, bytes."""

    type: str
    mime: str
    extension: str
    data: bytes
    width_mm: int
    height_mm: int

    def to_dict(self) -> dict[str, Any]:
        """The picture described (type, size, SHA-256), never embedded."""
        return {
            "type": self.type,
            "mime": self.mime,
            "bytes": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "width_mm": self.width_mm,
            "height_mm": self.height_mm,
        }


@dataclass(frozen=True, slots=True)
class Claim(JsonFields):
    """A value the signed material *claims* (a signing time), where it came from, and whether a
    third party vouched for it (a verified time-stamp): ``verified`` is ``False`` for a claim
    that is only the signer's word."""

    value: datetime
    source: str
    verified: bool = False


@dataclass(frozen=True, slots=True)
class SealFacts(JsonFields):
    """What a display shows of a seal: identity, standard, validity window, maker, picture.

    ``picture`` is the picture identified by its bytes (``picture_error`` says why not)."""

    seal_id: str
    name: str
    standard: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    maker: SignerInfo | None = None
    picture: SealImage | None = field(default=None, repr=False)
    picture_error: str | None = None
    #: The picture bytes as carried, also when their type is unknown (``picture`` is then ``None``).
    picture_data: bytes = field(default=b"", repr=False, metadata={JSON_NAME: None})


@dataclass(frozen=True, slots=True)
class Step:
    """One named check: its outcome, its note or reason (English ``en``, Chinese ``zh``) and evidence.

    ``check`` is the legacy ``(step, outcome)`` pair: ``(name, note)`` unless failed, then
    ``(name, "failed: <reason>")``.
    """

    name: str
    outcome: Outcome
    en: str = "ok"
    zh: str | None = None
    evidence: tuple[tuple[str, str], ...] = ()

    @property
    def phase(self) -> str:
        return phase_of(self.name)

    @property
    def check(self) -> tuple[str, str]:
        return (self.name, f"failed: {self.en}" if self.outcome == "failed" else self.en)

    @property
    def chinese(self) -> str:
        """The Chinese line: the given ``zh`` or the step's title and outcome."""
        if self.zh:
            return self.zh
        title = _STEPS.get(self.name, ("parse", self.name))[1]
        return f"{title}：{_OUTCOME_ZH[self.outcome]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "phase": self.phase,
            "outcome": self.outcome,
            "reason": {"zh": self.chinese, "en": self.en},
            "evidence": dict(self.evidence),
        }


class StepLog:
    """The one step recorder of every verifier (CMS, standard seals, vendor stamps, bodies)."""

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def ok(self, name: str, note: str = "ok", **evidence: str) -> None:
        self.steps.append(Step(name, "ok", note, None, tuple(evidence.items()) if evidence else ()))

    def fail(self, name: str, reason: str, **evidence: str) -> None:
        self.steps.append(Step(name, "failed", reason, None, tuple(evidence.items()) if evidence else ()))

    def not_checked(self, name: str, note: str) -> None:
        self.steps.append(Step(name, "not_checked", note))

    def waived(self, name: str, note: str) -> None:
        self.steps.append(Step(name, "waived", note))

    @property
    def failures(self) -> list[tuple[str, str]]:
        return [(s.name, s.en) for s in self.steps if s.outcome == "failed"]

    def failed(self, *names: str) -> bool:
        return any(s.outcome == "failed" and s.name in names for s in self.steps)

    @property
    def reason(self) -> str | None:
        for s in self.steps:
            if s.outcome == "failed":
                return s.en
        return None

    @property
    def checks(self) -> list[tuple[str, str]]:
        return [s.check for s in self.steps]

    def frozen(self) -> tuple[Step, ...]:
        return tuple(self.steps)


def _phases(steps: Iterable[Step]) -> dict[str, Outcome]:
    """Each phase's outcome: failed > waived > ok > not_checked (no step ran: not checked)."""
    rank = {"not_checked": 0, "ok": 1, "waived": 2, "failed": 3}
    out: dict[str, Outcome] = dict.fromkeys(PHASES, "not_checked")
    for step in steps:
        if rank[step.outcome] > rank[out[step.phase]]:
            out[step.phase] = step.outcome
    return out


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The outcome for one ``<Signature>`` or one ``<SignStamp>``.

    ``intact`` says the cryptography holds over the bytes as received; ``trusted`` that the
    signer chains to the trust store under the policy; ``valid`` is the bottom line
    (intact, trusted and every consistency check passed). ``reason`` is ``None`` only when
    valid; otherwise it names the first failed step. ``steps`` lists every step taken, in
    order (``checks`` as ``(step, outcome)`` pairs), so a report can show the whole path.
    Built by :meth:`from_steps`, ``valid`` and ``reason`` are computed from the steps; a
    result that claims ``valid`` with a failed step is refused.
    """

    kind: Literal["signature", "seal"]
    position: str
    valid: bool
    reason: str | None
    intact: bool
    trusted: bool
    signer: SignerInfo | None = None
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None
    signing_time: datetime | None = None
    seal_id: str | None = None
    seal_name: str | None = None
    steps: tuple[Step, ...] = ()
    claimed_time: Claim | None = None
    seal_facts: SealFacts | None = None
    anchors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.valid and any(s.outcome == "failed" for s in self.steps):
            raise InvalidInput("结果不一致 / inconsistent result: valid with a failed step")

    @classmethod
    def from_steps(
        cls,
        kind: Literal["signature", "seal"],
        position: str,
        steps: StepLog | Iterable[Step],
        *,
        intact: bool,
        trusted: bool,
        **facts: Any,
    ) -> ItemResult:
        """The result of a step log: valid exactly when no step failed; reason the first failure."""
        frozen = steps.frozen() if isinstance(steps, StepLog) else tuple(steps)
        reason = next((s.en for s in frozen if s.outcome == "failed"), None)
        return cls(kind, position, reason is None, reason, intact, trusted, steps=frozen, **facts)

    @property
    def checks(self) -> tuple[tuple[str, str], ...]:
        return tuple(s.check for s in self.steps)

    @property
    def phases(self) -> dict[str, Outcome]:
        """Each phase of the spine with its outcome; ``not_checked`` where no step ran."""
        return _phases(self.steps)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "position": self.position,
            "valid": self.valid,
            "reason": self.reason,
            "signer": self.signer.to_dict() if self.signer else None,
            "intact": self.intact,
            "trusted": self.trusted,
            "digest_algorithm": self.digest_algorithm,
            "signature_algorithm": self.signature_algorithm,
            "signing_time": _iso(self.signing_time),
        }
        if self.kind == "seal":
            data["seal_id"] = self.seal_id
            data["seal_name"] = self.seal_name
            data["seal_facts"] = self.seal_facts.to_dict() if self.seal_facts else None
        data["claimed_time"] = self.claimed_time.to_dict() if self.claimed_time else None
        data["anchors"] = list(self.anchors)
        data["phases"] = self.phases
        data["checks"] = [list(c) for c in self.checks]
        data["steps"] = [s.to_dict() for s in self.steps]
        return data


@dataclass(frozen=True, slots=True)
class BodyResult:
    """The outcome for one ``VoucherBody``: every item plus body-level problems.

    ``problems`` holds failures that are not tied to one signature, such as envelope
    attributes that differ from the signed inner voucher (relabelling, spec.md §5.5);
    ``steps`` the body-level steps (decode, attributes-match) that produced them.
    A body with no signature and no seal is not valid.
    """

    vt_code: str
    voucher_no: str
    items: tuple[ItemResult, ...]
    problems: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    #: The envelope fields no signature covers (VoucherFlag, Attach, Return_Reason), as
    #: received: shown as unsigned, never as signed facts (spec.md §5.5).
    unsigned: tuple[tuple[str, str | None], ...] = ()

    @property
    def valid(self) -> bool:
        return bool(self.items) and not self.problems and all(i.valid for i in self.items)

    @property
    def reasons(self) -> tuple[str, ...]:
        out = list(self.problems)
        if not self.items:
            out.append("no signature or seal on this voucher")
        out.extend(f"{i.kind} at {i.position}: {i.reason}" for i in self.items if not i.valid and i.reason)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "vt_code": self.vt_code,
            "voucher_no": self.voucher_no,
            "valid": self.valid,
            "problems": list(self.problems),
            "steps": [s.to_dict() for s in self.steps],
            "unsigned": dict(self.unsigned),
            "items": [i.to_dict() for i in self.items],
        }


@dataclass(frozen=True, slots=True)
class EnvelopeResult:
    """The outcome for a whole ``<MOF>`` envelope."""

    bodies: tuple[BodyResult, ...]
    problems: tuple[str, ...] = field(default=())
    #: Whether positions were bound to parties (a parties file, docs/parties.md); when not,
    #: a position name says where an item sits, never whose approval it is.
    parties_checked: bool = False

    @classmethod
    def of(
        cls,
        bodies: Iterable[BodyResult],
        problems: Iterable[str] = (),
        *,
        parties_checked: bool = False,
    ) -> EnvelopeResult:
        return cls(tuple(bodies), tuple(problems), parties_checked)

    @property
    def valid(self) -> bool:
        return bool(self.bodies) and not self.problems and all(b.valid for b in self.bodies)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "problems": list(self.problems),
            "parties_checked": self.parties_checked,
            "bodies": [b.to_dict() for b in self.bodies],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of validating one document (:func:`ezhifu.document.validation.check`):
    every issue, and the validation level (``partner`` or ``strict``) and schema version used."""

    level: str
    schema_version: str
    issues: tuple[ValidationIssue, ...] = ()
    source: str | None = None

    @property
    def valid(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "level": self.level,
            "schema_version": self.schema_version,
            "file": self.source,
            "issues": [
                {"path": i.path, "line": i.line, "code": i.code, "reason": i.reason, "value": i.value}
                for i in self.issues
            ],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)
