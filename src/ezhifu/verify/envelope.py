"""One verifier for a whole ``<MOF>`` envelope: every signature and every seal of every body.

It drives the spine (:mod:`ezhifu.verify.steps`, docs/verification.md). For each
``VoucherBody`` (spec.md §2.1, §5):

1. **Consistency** (spec.md §5.5). The ``AdmDivCode``, ``StYear``, ``VtCode`` and
   ``VoucherNo`` attributes are outside every signature, so they are compared with the same
   fields of the signed inner voucher; a difference is a *body* problem, reported even when
   every CMS is intact (a relabelled envelope).
2. **Signatures** (spec.md §5.3). Each ``<Signature>`` is a detached CMS over the exact
   Base64 text of ``<Voucher>``, checked by :func:`ezhifu.sign.cms_verify.verify_detached`; then
   ``SN`` must equal the signer certificate's serial, and, with a position table, ``No``
   must be a position configured for the voucher's ``VtCode``. A content mismatch is explained,
   when it can be, by :mod:`ezhifu.verify.diagnose` (bounded per envelope).
3. **Seals** (spec.md §5.4, GB/T 38540). Each ``<SignStamp>`` is handed to
   :func:`ezhifu.seal.verify.verify_stamp` (which picks the seal container), with the same
   position check.

Results are :mod:`ezhifu.results` objects; nothing here raises for bad input, only for misuse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ezhifu.document.envelope import Envelope, decode_element_value
from ezhifu.errors import DecodingError, EzhifuError, InvalidInput
from ezhifu.pki.certs import cert_info
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.results import BodyResult, EnvelopeResult, ItemResult, SignerInfo, StepLog
from ezhifu.sign.cms_verify import verify_detached
from ezhifu.verify.steps import DiagnosisBudget, Positions, body_steps, position_step, sn_step

if TYPE_CHECKING:
    from asn1crypto import x509

    from ezhifu.document.envelope import SignatureElement, SignStampElement, VoucherBody
    from ezhifu.verify.parties import Parties

__all__ = ["Positions", "envelope_problems", "signer_info_of", "verify_body", "verify_envelope"]


def signer_info_of(cert: x509.Certificate) -> SignerInfo:
    """The :class:`SignerInfo` of a certificate (subject, issuer, serial in lower-case hex)."""
    return cert_info(cert)


@dataclasses.dataclass(frozen=True, slots=True)
class _Run:
    """What every item of one body is verified with."""

    body: VoucherBody
    vt_code: str
    trust: TrustStore
    policy: VerifyPolicy
    positions: Positions | None
    at: datetime | None
    siblings: Sequence[VoucherBody]
    budget: DiagnosisBudget


def _unreadable(position: str, step: str, reason: str) -> ItemResult:
    log = StepLog()
    log.fail(step, reason)
    return ItemResult.from_steps("signature", position, log, intact=False, trusted=False)


def _explain_mismatch(log: StepLog, der: bytes, cms: ItemResult, run: _Run) -> None:
    """A failed signature's diagnosis, when there is one, as the reason of its failed step
    (the CMS reason kept in the step's evidence)."""
    # why: the diagnoses (verify.diagnose) load only when a signature failed
    from ezhifu.verify.diagnose import diagnose_signature, needs_diagnosis

    if not needs_diagnosis(cms):
        return
    diagnosis = diagnose_signature(
        der, run.body, run.siblings, trust=run.trust, policy=run.policy, at=run.at, budget=run.budget
    )
    if diagnosis is not None:
        last = log.steps[-1]
        log.steps[-1] = dataclasses.replace(
            last, en=diagnosis, evidence=(*last.evidence, ("cms_reason", last.en))
        )


def _verify_signature(element: SignatureElement, run: _Run) -> ItemResult:
    position = element.no
    try:
        der = decode_element_value(element.value, where=f"Signature at {position}")
    except DecodingError:
        return _unreadable(position, "base64", "<Signature> content is not valid Base64")
    text = run.body.voucher_b64
    if not text.isascii():
        return _unreadable(
            position, "content", "<Voucher> text is not ASCII Base64, so no signature can cover it"
        )
    cms = verify_detached(der, text.encode("ascii"), trust=run.trust, policy=run.policy, at=run.at)
    log = StepLog()
    log.steps.extend(cms.steps)
    if not cms.intact:
        _explain_mismatch(log, der, cms, run)
    sn_step(log, element.sn, cms.signer_certificate)
    position_step(log, position, run.vt_code, run.positions)
    return ItemResult.from_steps(
        "signature",
        position,
        log,
        intact=cms.intact,
        trusted=cms.trusted,
        signer=cms.signer,
        digest_algorithm=cms.digest_algorithm,
        signature_algorithm=cms.signature_algorithm,
        signing_time=cms.signing_time,
        claimed_time=cms.claimed_time,
        anchors=cms.anchors,
    )


def _verify_stamp(element: SignStampElement, run: _Run) -> ItemResult:
    # why: the seal layer (asn1 containers, seal model) loads only for an envelope with a SignStamp
    from ezhifu.seal.verify import verify_stamp

    try:
        item = verify_stamp(run.body, element, trust=run.trust, policy=run.policy, at=run.at)
    except EzhifuError as exc:
        log = StepLog()
        log.fail("format", f"seal cannot be verified: {exc}")
        return ItemResult.from_steps("seal", element.no, log, intact=False, trusted=False)
    log = StepLog()
    position_step(log, element.no, run.vt_code, run.positions)
    if not log.failures:
        return item
    return dataclasses.replace(
        item, valid=False, reason=item.reason or log.reason, steps=(*item.steps, *log.steps)
    )


def verify_body(
    body: VoucherBody,
    *,
    trust: TrustStore,
    policy: VerifyPolicy | None = None,
    positions: Positions | None = None,
    at: datetime | None = None,
    siblings: Sequence[VoucherBody] = (),
    budget: DiagnosisBudget | None = None,
    parties: Parties | None = None,
) -> BodyResult:
    """Verify one ``VoucherBody``: consistency, every ``<Signature>`` and ``<SignStamp>``.

    ``positions`` maps a VtCode to its configured positions; a signature or seal at any
    other position fails. ``at`` is the validation time for certificates (default now).
    ``siblings`` are the other bodies of the same envelope, used only to explain a
    signature moved between vouchers; ``budget`` bounds such diagnoses (default: a fresh
    :class:`~ezhifu.verify.steps.DiagnosisBudget` for this body). ``parties`` (a parties
    file, :mod:`ezhifu.verify.parties`) binds every position to a party; its position table
    is used when ``positions`` is not given.
    """
    if parties is not None and positions is None:
        positions = parties.positions
    if not isinstance(trust, TrustStore):
        raise InvalidInput(f"verify_body: trust must be a TrustStore, not {type(trust).__name__}")
    vt_code, log = body_steps(body)
    run = _Run(
        body, vt_code, trust, policy or VerifyPolicy(), positions, at, siblings, budget or DiagnosisBudget()
    )
    items = [_verify_signature(element, run) for element in body.signatures]
    items.extend(_verify_stamp(element, run) for element in body.stamps)
    result = BodyResult(
        vt_code=body.vt_code,
        voucher_no=body.voucher_no,
        items=tuple(items),
        problems=tuple(reason for _, reason in log.failures),
        steps=log.frozen(),
        unsigned=(
            ("VoucherFlag", body.voucher_flag),
            ("Attach", body.attach),
            ("Return_Reason", body.return_reason),
        ),
    )
    if parties is None:
        return result
    # why: the parties layer (position tables, certificate files) loads only for a parties file
    from ezhifu.verify.parties import bind_body

    return bind_body(result, body, vt_code, parties)


def envelope_problems(bodies: Sequence[VoucherBody]) -> list[str]:
    """Envelope-level facts: the same VtCode+VoucherNo, or the same signed Base64 text, twice
    in one envelope (a replayed payment) is a problem (spec.md §5.5)."""
    problems: list[str] = []
    keys: dict[tuple[str, str], int] = {}
    texts: dict[str, int] = {}
    for index, body in enumerate(bodies, start=1):
        try:
            key = (body.voucher.vt_code or body.vt_code, body.voucher.voucher_no or body.voucher_no)
        except EzhifuError:
            key = (body.vt_code, body.voucher_no)
        first = keys.setdefault(key, index)
        if first != index:
            problems.append(
                f"VoucherBody {index} repeats VtCode {key[0]} VoucherNo {key[1]} of VoucherBody {first}"
            )
        text = "".join(body.voucher_b64.split())
        first = texts.setdefault(text, index)
        if first != index:
            problems.append(f"VoucherBody {index} repeats the signed voucher text of VoucherBody {first}")
    return problems


def verify_envelope(
    envelope_or_bytes: Envelope | bytes,
    *,
    trust: TrustStore,
    policy: VerifyPolicy | None = None,
    positions: Positions | None = None,
    at: datetime | None = None,
    parties: Parties | None = None,
) -> EnvelopeResult:
    """Verify every body of a ``<MOF>`` envelope (given parsed, or as the raw bytes).

    Bytes that do not parse as an envelope give a result with that problem and no bodies
    (not valid); see :func:`verify_body` for the rest. Diagnoses of failed signatures share one
    budget for the whole envelope (:data:`ezhifu.verify.steps.MAX_DIAGNOSIS_VERIFICATIONS`).
    """
    if isinstance(envelope_or_bytes, bytes | bytearray | memoryview):
        try:
            envelope = Envelope.from_bytes(bytes(envelope_or_bytes))
        except EzhifuError as exc:
            return EnvelopeResult.of((), [f"envelope cannot be read: {exc}"])
    elif isinstance(envelope_or_bytes, Envelope):
        envelope = envelope_or_bytes
    else:
        raise InvalidInput(
            f"verify_envelope: expected an Envelope or bytes, not {type(envelope_or_bytes).__name__}"
        )
    bodies = list(envelope.bodies)
    budget = DiagnosisBudget()
    return EnvelopeResult.of(
        (
            verify_body(
                body,
                trust=trust,
                policy=policy,
                positions=positions,
                at=at,
                siblings=bodies,
                budget=budget,
                parties=parties,
            )
            for body in bodies
        ),
        envelope_problems(bodies),
        parties_checked=parties is not None,
    )
