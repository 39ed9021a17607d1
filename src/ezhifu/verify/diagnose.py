"""Every diagnosis of a failed voucher signature, in one place, under one bounded budget.

When a ``<Signature>`` does not verify because the signed bytes differ (its ``signature`` or
``attributes`` step failed), the verifier tries to say *why* in terms a treasury engineer can act
on (spec.md §5.3):

1. whitespace added to the Base64 text of ``<Voucher>`` after signing (a trailing newline);
2. a signature moved from another ``VoucherBody`` of the same envelope (at most
   :data:`MAX_SIBLINGS_TRIED` other bodies per signature);
3. a signature made over the decoded GBK XML instead of the Base64 text.

Each attempt is one more :func:`~ezhifu.sign.cms_verify.verify_detached`. All attempts of one
envelope draw on one :class:`DiagnosisBudget` of :data:`MAX_DIAGNOSIS_VERIFICATIONS` extra
verifications (both declared in :mod:`ezhifu.verify.steps`, so that a run whose signatures all
hold never loads this module), so a hostile envelope of many broken signatures costs at most
that much more than an honest one; when the budget is spent, the signature keeps the reason of
its failed step. A diagnosis never makes a signature valid: it only replaces the failed step's reason (the
original reason stays in the step's evidence).

The RSA PKCS#1 v1.5 recovery that tells *content changed* from *wrong key* is part of the
``signature`` step itself (:mod:`ezhifu.sign.cms_verify`): it recovers, it does not re-verify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ezhifu.errors import EzhifuError
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.results import ItemResult
from ezhifu.sign.cms_verify import verify_detached
from ezhifu.verify.steps import MAX_DIAGNOSIS_VERIFICATIONS, DiagnosisBudget

if TYPE_CHECKING:
    from ezhifu.document.envelope import VoucherBody

__all__ = [
    "MAX_DIAGNOSIS_VERIFICATIONS",
    "MAX_SIBLINGS_TRIED",
    "MISMATCH_STEPS",
    "DiagnosisBudget",
    "diagnose_signature",
    "needs_diagnosis",
]

#: At most this many other bodies are tried when explaining one moved signature.
MAX_SIBLINGS_TRIED = 16
#: Failed steps that mean "the bytes do not match" (worth a diagnosis).
MISMATCH_STEPS = ("signature", "attributes")


def needs_diagnosis(result: ItemResult) -> bool:
    """Whether a signature failed on a content mismatch (its last step is a mismatch step)."""
    return not result.intact and bool(result.steps) and result.steps[-1].name in MISMATCH_STEPS


@dataclass(frozen=True, slots=True)
class _Attempt:
    der: bytes
    trust: TrustStore
    policy: VerifyPolicy
    at: datetime | None
    budget: DiagnosisBudget

    def covers(self, data: bytes) -> bool | None:
        """Whether the signature holds over ``data``; ``None`` when the budget is spent."""
        if not self.budget.take():
            return None
        return verify_detached(self.der, data, trust=self.trust, policy=self.policy, at=self.at).intact


def diagnose_signature(
    der: bytes,
    body: VoucherBody,
    siblings: Sequence[VoucherBody],
    *,
    trust: TrustStore,
    policy: VerifyPolicy,
    at: datetime | None,
    budget: DiagnosisBudget,
) -> str | None:
    """Explain a content mismatch (see the module doc); ``None`` when nothing explains it or
    the budget is spent."""
    attempt = _Attempt(der, trust, policy, at, budget)
    text = body.voucher_b64
    stripped = text.strip()
    if stripped != text and stripped.isascii():
        found = attempt.covers(stripped.encode("ascii"))
        if found is None:
            return None
        if found:
            return (
                "the <Voucher> text carries whitespace (e.g. a trailing newline) that was not there when it "
                "was signed; signatures cover the exact Base64 text (spec.md §5.3)"
            )
    tried = 0
    for index, other in enumerate(siblings, start=1):
        if other is body or not other.voucher_b64.isascii():
            continue
        tried += 1
        if tried > MAX_SIBLINGS_TRIED:
            break
        found = attempt.covers(other.voucher_b64.encode("ascii"))
        if found is None:
            return None
        if found:
            return (
                f"signature was made over the text of another voucher (VoucherBody {index}, "
                f"VoucherNo {other.voucher_no!r}), not this one"
            )
    try:
        xml = body.voucher_xml
    except EzhifuError:
        return None
    if attempt.covers(xml):
        return "signature covers the decoded GBK XML instead of the Base64 text of <Voucher> (spec.md §5.3)"
    return None
