"""Frozen verification results shared by signatures and seals (pyHanko-style status objects).

Verification never raises for a bad signature: it returns these results, each item with its
reason. It raises only on misuse (wrong argument types, unusable configuration).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ezhifu.errors import ValidationIssue

__all__ = ["BodyResult", "EnvelopeResult", "ItemResult", "SignerInfo", "ValidationReport"]


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """Who signed: the signer certificate's subject, issuer and serial (lower-case hex)."""

    subject: str
    issuer: str
    serial_hex: str
    not_before: datetime | None = None
    not_after: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": self.serial_hex,
            "not_before": self.not_before.isoformat() if self.not_before else None,
            "not_after": self.not_after.isoformat() if self.not_after else None,
        }


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The outcome for one ``<Signature>`` or one ``<SignStamp>``.

    ``intact`` says the cryptography holds over the bytes as received; ``trusted`` that the
    signer chains to the trust store under the policy; ``valid`` is the bottom line
    (intact, trusted and every consistency check passed). ``reason`` is ``None`` only when
    valid; otherwise it names the first failed check. ``checks`` lists every step taken, in
    order, as ``(step, outcome)`` pairs, so a report can show the whole path.
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
    checks: tuple[tuple[str, str], ...] = ()

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
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
        }
        if self.kind == "seal":
            data["seal_id"] = self.seal_id
            data["seal_name"] = self.seal_name
        data["checks"] = [list(c) for c in self.checks]
        return data


@dataclass(frozen=True, slots=True)
class BodyResult:
    """The outcome for one ``VoucherBody``: every item plus body-level problems.

    ``problems`` holds failures that are not tied to one signature, such as envelope
    attributes that differ from the signed inner voucher (relabelling, spec.md §5.5).
    A body with no signature and no seal is not valid.
    """

    vt_code: str
    voucher_no: str
    items: tuple[ItemResult, ...]
    problems: tuple[str, ...] = ()

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
            "items": [i.to_dict() for i in self.items],
        }


@dataclass(frozen=True, slots=True)
class EnvelopeResult:
    """The outcome for a whole ``<MOF>`` envelope."""

    bodies: tuple[BodyResult, ...]
    problems: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, bodies: Iterable[BodyResult], problems: Iterable[str] = ()) -> EnvelopeResult:
        return cls(tuple(bodies), tuple(problems))

    @property
    def valid(self) -> bool:
        return bool(self.bodies) and not self.problems and all(b.valid for b in self.bodies)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "problems": list(self.problems),
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
