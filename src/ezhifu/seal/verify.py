"""Verifying seals and seal signatures, following the standards' steps, over the bytes as received.

* :func:`verify_seal`: a seal alone, GM/T 0031-2014 clause 6.1.2 / GB/T 38540-2020 clause 6.3:
  format, the maker's signature over the raw signed part, the maker certificate's chain, the
  seal's validity window.
* :func:`verify_ses_signature`: a seal signature over given data, GM/T 0031-2014 clause 6.2.3 /
  GB/T 38540-2020 clause 7.3 (the order below; the 38540 wording was not available, the steps are
  those of the 2014 text and of the implementations examined):

  1. ``format``: the signature and its seal parse;
  2. ``signature``: the signer's signature over the raw ``TBS_Sign``;
  3. ``holder``: the signer certificate is one of the seal's holder certificates;
  4. ``seal-header`` (``SES_Header.ID`` is "ES") and ``maker-signature``: the seal maker's
     signature over the raw seal info;
  5. ``timestamp`` and ``time-basis`` (:func:`ezhifu.pki.tsp.time_basis`): a ``timeStamp``
     token over the signature value is verified; its ``genTime`` (else an asserted ``at``, else
     now) is the time everything below is checked at. ``timeInfo`` is only a claim;
  6. ``maker-certificate``: the maker certificate chains to the seal-maker anchors at that time;
  7. ``signer-certificate``: the signer certificate chains to the trust store at that time;
  8. ``seal-validity``: that time lies inside the seal's ``validStart..validEnd``;
     ``signing-time``: the claimed ``timeInfo`` lies inside the seal's and the signer
     certificate's validity and not after that time plus the clock skew;
  9. ``data-hash``: the hash of the protected data equals ``dataHash``.

* :func:`verify_stamp`: a ``<SignStamp>`` of a voucher: the steps above with the data being the
  exact Base64 text of ``<Voucher>``, plus ``position`` (the position bound in ``propertyInfo``,
  see :mod:`ezhifu.seal.apply`, equals ``SignStamp/@No``), ``voucher`` (its ``vt``/``no`` equal
  the body's VtCode and VoucherNo) and ``seal-id`` (``SignStamp/@SN`` equals the seal's
  ``esID``). Vendor-format stamps (spec.md §5.4) are dispatched to
  :func:`ezhifu.seal.vendor.verify_vendor_stamp`.

Verification never raises for a bad seal; every failed step has its own reason and the first one
becomes ``ItemResult.reason``. ``intact`` means the cryptography holds over the bytes as received
(signature, maker signature and data hash); ``trusted`` that both certificates chain to the trust
store; ``valid`` that every step passed.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from asn1crypto import x509

from ezhifu.crypto.sm3 import hash_data
from ezhifu.document.envelope import SignStampElement, VoucherBody
from ezhifu.errors import DecodingError, EzhifuError
from ezhifu.pki.certs import certificate_label
from ezhifu.pki.path import validate_chain
from ezhifu.pki.trust import NO_SEAL_MAKER_ANCHORS, TrustStore, VerifyPolicy, as_utc
from ezhifu.pki.tsp import claim_step, time_basis
from ezhifu.results import Claim, ItemResult, StepLog
from ezhifu.seal.checks import (
    Steps,
    check_maker_signature,
    check_seal_id,
    critical_extension_refusal,
    format_failure,
    holder_matches,
    load_certificate,
    seal_facts,
    signer_info,
    stamp_der,
    verify_raw_signature,
)
from ezhifu.seal.containers import detect_container, parse_signature
from ezhifu.seal.detect import SealKind
from ezhifu.seal.model import (
    Seal,
    SealSignature,
    algorithm_for_oid,
)
from ezhifu.seal.placement import parse_property_info, voucher_data

__all__ = [
    "SealSignatureVerification",
    "SealVerification",
    "signer_info",
    "verify_seal",
    "verify_ses_signature",
    "verify_stamp",
]


@dataclass(frozen=True, slots=True)
class _Facts:
    """Outcomes of the cryptographic and trust steps, beside the step list."""

    signer: x509.Certificate | None
    signature_ok: bool
    maker_ok: bool
    maker_trusted: bool | None
    signer_trusted: bool | None
    data_ok: bool | None


@dataclass(frozen=True, slots=True)
class _SealResult(ItemResult):
    """An :class:`~ezhifu.results.ItemResult` with a seal's own outcomes beside it."""

    #: The outcomes added to :meth:`ItemResult.to_dict` (the parsed seal or signature is not).
    json_fields: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        out = ItemResult.to_dict(self)
        for name in self.json_fields:
            value = getattr(self, name)
            out[name] = value.to_dict() if isinstance(value, ItemResult) else value
        return out


@dataclass(frozen=True, slots=True)
class SealVerification(_SealResult):
    """Outcome of :func:`verify_seal`: an :class:`~ezhifu.results.ItemResult` of a seal alone.

    ``maker_signature_ok`` is the maker's signature over the raw seal info; ``maker_trusted`` is
    ``None`` when no trust store was given (not checked); ``in_validity`` whether the check time
    lies inside the seal's window. ``valid`` requires all three (and a trust store).
    """

    seal: Seal | None = None
    maker_signature_ok: bool = False
    maker_trusted: bool | None = None
    in_validity: bool | None = None
    json_fields = ("maker_signature_ok", "maker_trusted", "in_validity")


@dataclass(frozen=True, slots=True)
class SealSignatureVerification(_SealResult):
    """Outcome of :func:`verify_ses_signature`; ``data_ok`` is ``None`` when no data was given."""

    signature: SealSignature | None = None
    signature_ok: bool = False
    data_ok: bool | None = None
    seal: SealVerification | None = None
    json_fields = ("signature_ok", "data_ok", "seal")


def _chain(
    steps: Steps,
    step: str,
    role: str,
    cert: x509.Certificate | None,
    *,
    trust: TrustStore | None,
    policy: VerifyPolicy,
    at: datetime,
    extra: tuple[x509.Certificate, ...] = (),
    purpose: str = "signer",
) -> bool | None:
    """Run chain validation against ``purpose``'s anchors; ``None`` when not checked (no trust store).

    A seal maker chains only to seal-maker anchors (:meth:`TrustStore.for_purpose`, issue 13
    item 1); without any the step fails with :data:`~ezhifu.pki.trust.NO_SEAL_MAKER_ANCHORS`.
    """
    if cert is None:
        steps.fail(step, f"{role} certificate unreadable")
        return False
    if trust is None:
        steps.not_checked(step, "not checked: no trust store given")
        return None
    if purpose == "seal-maker" and not trust.has_anchors(purpose):
        if policy.require_trusted:
            steps.fail(step, NO_SEAL_MAKER_ANCHORS)
        else:
            steps.waived(step, f"not trusted, allowed by policy: {NO_SEAL_MAKER_ANCHORS}")
        return False
    result = validate_chain(
        cert, trust=trust.for_purpose(purpose), policy=policy, at=at, extra_certs=extra, purpose=purpose
    )
    if result.trusted:
        anchor = "pinned certificate" if result.pinned else certificate_label(result.path[-1])
        evidence = {"revocation": "; ".join(result.revocation)} if result.revocation else {}
        steps.ok(
            step, "trusted (pinned)" if result.pinned else "trusted", anchor=f"{role}: {anchor}", **evidence
        )
        return True
    if policy.require_trusted:
        steps.fail(step, f"{role} certificate not trusted: {result.reason}")
    else:
        steps.waived(step, f"not trusted, allowed by policy: {result.reason}")
    return False


def _algorithm_policy(steps: Steps, step: str, oid: str, policy: VerifyPolicy, what: str) -> None:
    try:
        algorithm = algorithm_for_oid(oid)
    except EzhifuError as exc:
        steps.fail(step, f"{what}: {exc}")
        return
    refusal = policy.digest_refusal(algorithm.digest_name, what=f"{what} digest")
    if refusal is not None:
        steps.fail(step, refusal)


def _seal_steps(
    steps: Steps,
    seal: Seal,
    *,
    trust: TrustStore | None,
    policy: VerifyPolicy,
    chain_at: datetime,
) -> tuple[bool, bool | None]:
    """Header, maker signature and maker certificate; returns ``(signature_ok, trusted)``."""
    if seal.header_id != "ES":
        # GM/T 0031-2014 clause 6.1.1 / GB/T 38540-2020 clause 6.1: SES_Header.ID is fixed "ES".
        steps.fail("seal-header", f"SES_Header.ID is {seal.header_id!r}, not 'ES'")
    _algorithm_policy(steps, "maker-signature", seal.algorithm_oid, policy, "seal maker's signature")
    failure = check_maker_signature(seal)
    if failure is None:
        steps.ok("maker-signature", f"ok ({seal.version.standard}, over the seal info as received)")
    else:
        steps.fail("maker-signature", failure)
    critical = critical_extension_refusal(seal)
    if critical is not None:
        steps.fail("seal-header", critical)
    maker, reason = load_certificate(seal.maker_cert, "seal maker certificate")
    if maker is None and reason:
        steps.fail("maker-certificate", reason)
        return failure is None, False
    trusted = _chain(
        steps,
        "maker-certificate",
        "seal maker",
        maker,
        trust=trust,
        policy=policy,
        at=chain_at,
        purpose="seal-maker",
    )
    return failure is None, trusted


def verify_seal(
    seal_der: bytes,
    *,
    trust: TrustStore | None = None,
    policy: VerifyPolicy | None = None,
    at: datetime | None = None,
) -> SealVerification:
    """Verify a seal alone (GM/T 0031-2014 clause 6.1.2, GB/T 38540-2020 clause 6.3).

    Steps: ``format``, ``maker-signature`` (over the raw signed part: the synthesised
    ``SEQUENCE{SES_SealInfo, cert, signatureAlgorithm}`` in v1, ``SES_SealInfo`` in v4/v5),
    ``maker-certificate`` (chain at ``at``; skipped without ``trust``), ``seal-validity``
    (``validStart <= at <= validEnd``; ``at`` defaults to now). A vendor-format seal is reported as
    not verifiable (its maker signature's signed content is unknown).
    """
    policy = policy or VerifyPolicy()
    when = as_utc(at)
    steps = Steps()

    def refuse(reason: str) -> SealVerification:
        steps.fail("format", reason)
        return SealVerification("seal", "", False, steps.reason, False, False, steps=steps.frozen())

    try:
        raw = bytes(seal_der)
        container = detect_container(raw, what="seal")
        refusal = container.seal_refusal()
        if refusal is not None:
            return refuse(refusal)
        if container.kind is not SealKind.SEAL:
            return refuse("this is a seal signature (SES_Signature), not a seal")
        seal = container.parse_seal(raw)
    except EzhifuError as exc:
        return refuse(str(exc))
    steps.ok("format", f"{seal.version.standard} seal {seal.seal_id}")
    sig_ok, trusted = _seal_steps(steps, seal, trust=trust, policy=policy, chain_at=when)
    in_window = seal.is_valid_at(when)
    if in_window:
        steps.ok("seal-validity", f"valid at {when:%Y-%m-%d %H:%M:%S}Z")
    else:
        steps.fail("seal-validity", _window_reason(seal, when, "at the check time"))
    valid, reason = _verdict(steps, trust, "seal maker certificate not checked: no trust store given")
    return SealVerification(
        "seal",
        "",
        valid,
        reason,
        sig_ok,
        trusted is True,
        seal_id=seal.seal_id,
        seal_name=seal.name,
        steps=steps.frozen(),
        seal_facts=seal_facts(seal),
        seal=seal,
        maker_signature_ok=sig_ok,
        maker_trusted=trusted,
        in_validity=in_window,
    )


def _verdict(steps: Steps, trust: TrustStore | None, unchecked: str) -> tuple[bool, str | None]:
    """``(valid, reason)``: valid needs every step passed and a trust store; a clean run without
    one is not valid, for the ``unchecked`` reason."""
    if steps.failures or trust is not None:
        return not steps.failures, steps.reason
    return False, unchecked


def _window_reason(seal: Seal, when: datetime, label: str) -> str:
    state = "expired" if when > seal.valid_to else "not yet valid"
    return (
        f"seal {seal.seal_id} {state} {label} {when:%Y-%m-%d %H:%M:%S}Z "
        f"(valid {seal.valid_from:%Y-%m-%d %H:%M:%S}Z to {seal.valid_to:%Y-%m-%d %H:%M:%S}Z)"
    )


def _signature_steps(
    sig: SealSignature,
    data: bytes | None,
    *,
    trust: TrustStore | None,
    policy: VerifyPolicy,
    at: datetime | None,
) -> tuple[Steps, _Facts]:
    steps = Steps()
    signing_time = sig.signing_time
    steps.ok("format", f"{sig.version.standard} SES_Signature, seal {sig.seal.seal_id}")
    signer, reason = load_certificate(sig.signer_cert, "signer certificate")
    # 2. the signature over TBS_Sign as received
    _algorithm_policy(steps, "signature", sig.algorithm_oid, policy, "seal signature")
    if signer is None:
        steps.fail("signature", reason or "signer certificate unreadable")
        sig_ok = False
    else:
        failure = verify_raw_signature(
            signer, sig.algorithm_oid, sig.tbs_bytes, sig.signature, what="signer's signature over TBS_Sign"
        )
        sig_ok = failure is None
        if failure is None:
            steps.ok("signature", "ok (over TBS_Sign as received)")
        else:
            steps.fail("signature", failure)
    # 3. signer among the seal's holders
    if holder_matches(sig.seal, sig.signer_cert):
        steps.ok("holder", "signer certificate is in the seal's certList")
    else:
        steps.fail(
            "holder", f"signer certificate is not among the holder certificates of seal {sig.seal.seal_id}"
        )
    # 4-7. the time basis (a verified timeStamp over the signature value, GB/T 38540-2020
    # clause 7.1; an asserted ``at``; else now), never the claimed timeInfo (issue 13 item 2)
    basis = time_basis(steps, sig.time_stamp, bytes(sig.signature), trust=trust, policy=policy, at=at)
    chain_at = basis.at
    maker_ok, maker_trusted = _seal_steps(steps, sig.seal, trust=trust, policy=policy, chain_at=chain_at)
    signer_trusted = _chain(
        steps, "signer-certificate", "signer", signer, trust=trust, policy=policy, at=chain_at
    )
    # 8. seal validity at the basis time; the claimed timeInfo is a claim of its own
    if sig.seal.is_valid_at(chain_at):
        steps.ok("seal-validity", f"seal valid at {basis.text}")
    else:
        steps.fail("seal-validity", _window_reason(sig.seal, chain_at, f"at the {basis.basis} time"))
    if signing_time is None:
        steps.fail("signing-time", "claimed signing time (timeInfo) unreadable")
    windows: tuple[tuple[str, datetime, datetime], ...] = (
        (f"seal {sig.seal.seal_id}", sig.seal.valid_from, sig.seal.valid_to),
    )
    if signer is not None:
        windows += (("signer certificate", signer.not_valid_before, signer.not_valid_after),)
    claim_step(steps, signing_time, basis, windows, skew=policy.clock_skew)
    # 9. data hash
    data_ok: bool | None = None
    if data is None:
        steps.not_checked("data-hash", "not checked: no data given")
    else:
        try:
            digest_name = sig.algorithm.digest_name
            data_ok = hmac.compare_digest(hash_data(digest_name, data), bytes(sig.data_hash))
        except EzhifuError as exc:
            steps.fail("data-hash", str(exc))
            data_ok = False
        else:
            if data_ok:
                steps.ok("data-hash", f"{digest_name} of the protected data equals dataHash")
            else:
                steps.fail(
                    "data-hash",
                    f"dataHash does not match the {digest_name} of the protected data (data changed)",
                )
    return steps, _Facts(signer, sig_ok, maker_ok, maker_trusted, signer_trusted, data_ok)


def verify_ses_signature(
    der: bytes,
    data: bytes | None,
    *,
    trust: TrustStore | None = None,
    policy: VerifyPolicy | None = None,
    at: datetime | None = None,
) -> SealSignatureVerification:
    """Verify a standard seal signature over ``data`` (the protected bytes; ``None`` skips step 9).

    ``at`` is an asserted check time (default: a verified time-stamp's, else now).
    """
    policy = policy or VerifyPolicy()
    try:
        sig = parse_signature(der)
    except EzhifuError as exc:
        failed = StepLog()
        failed.fail("format", str(exc))
        return SealSignatureVerification("seal", "", False, str(exc), False, False, steps=failed.frozen())
    steps, facts = _signature_steps(sig, data, trust=trust, policy=policy, at=at)
    intact = bool(facts.signature_ok and facts.maker_ok and facts.data_ok is not False)
    trusted = facts.maker_trusted is True and facts.signer_trusted is True
    seal_steps = tuple(c for c in steps.steps if c.name.startswith(("maker", "seal-")))
    seal_failed = [c for c in seal_steps if c.outcome == "failed"]
    facts_view = seal_facts(sig.seal)
    seal_view = SealVerification(
        "seal",
        "",
        not seal_failed and facts.maker_trusted is True,
        seal_failed[0].en if seal_failed else None,
        bool(facts.maker_ok),
        facts.maker_trusted is True,
        seal_id=sig.seal.seal_id,
        seal_name=sig.seal.name,
        steps=seal_steps,
        seal_facts=facts_view,
        seal=sig.seal,
        maker_signature_ok=bool(facts.maker_ok),
        maker_trusted=facts.maker_trusted,
        in_validity=not steps.failed("seal-validity"),
    )
    valid, reason = _verdict(steps, trust, "certificates not checked: no trust store given")
    return SealSignatureVerification(
        "seal",
        "",
        valid,
        reason,
        intact,
        trusted,
        signer=signer_info(facts.signer) if facts.signer is not None else None,
        signing_time=sig.signing_time,
        seal_id=sig.seal.seal_id,
        seal_name=sig.seal.name,
        steps=steps.frozen(),
        claimed_time=_claim(sig),
        seal_facts=facts_view,
        signature=sig,
        signature_ok=bool(facts.signature_ok),
        data_ok=facts.data_ok,
        seal=seal_view,
    )


def _claim(sig: SealSignature) -> Claim | None:
    if sig.signing_time is None:
        return None
    return Claim(sig.signing_time, f"{sig.version.standard} TBS_Sign.timeInfo (the signer's claim)")


def verify_stamp(
    body: VoucherBody,
    stamp: SignStampElement,
    *,
    trust: TrustStore,
    policy: VerifyPolicy | None = None,
    at: datetime | None = None,
) -> ItemResult:
    """Verify one ``<SignStamp>`` of ``body`` (see the module doc for the steps).

    Standard stamps (v1, v4, v5) follow the standards' steps with the exact Base64 text of
    ``<Voucher>`` as the protected data, then ``position`` and ``seal-id``. Vendor stamps go to
    :func:`ezhifu.seal.vendor.verify_vendor_stamp`. Never raises for a bad stamp.
    """
    policy = policy or VerifyPolicy()
    position = stamp.no
    try:
        der = stamp_der(stamp)
    except DecodingError as exc:
        return format_failure(position, f"SignStamp content is not Base64: {exc}", stamp.sn)
    try:
        container = detect_container(der, what=f"SignStamp at {position}")
    except EzhifuError as exc:
        return format_failure(position, str(exc), stamp.sn)
    if container.stamp_verifier is not None:  # a format with its own steps (the vendor stamp)
        return container.stamp_verifier(body, stamp, trust=trust, policy=policy, at=at)
    if container.kind is not SealKind.SIGNATURE:
        return format_failure(position, "SignStamp holds a seal, not a seal signature", stamp.sn)
    try:
        sig = container.parse_signature(der, what=f"SignStamp at {position}")
        data = voucher_data(body)
    except EzhifuError as exc:
        return format_failure(position, str(exc), stamp.sn)
    steps, facts = _signature_steps(sig, data, trust=trust, policy=policy, at=at)
    # position binding (ezhifu propertyInfo, see ezhifu.seal.apply)
    fields = parse_property_info(sig.property_info)
    if fields is None:
        steps.fail("position", f"propertyInfo {sig.property_info!r} does not bind a stamp position")
    elif fields["position"] != position:
        steps.fail(
            "position",
            f"stamp found at position {position} was made for position {fields['position']} (stamp moved)",
        )
    else:
        steps.ok("position", f"propertyInfo binds position {position}")
    if fields is not None and (fields.get("vt", body.vt_code), fields.get("no", body.voucher_no)) != (
        body.vt_code,
        body.voucher_no,
    ):
        steps.fail(
            "voucher",
            f"stamp was made for voucher {fields.get('vt')}/{fields.get('no')}, "
            f"found on {body.vt_code}/{body.voucher_no}",
        )
    check_seal_id(steps, stamp.sn, sig.seal.seal_id)
    signer = facts.signer
    intact = bool(facts.signature_ok and facts.maker_ok and facts.data_ok)
    trusted = facts.maker_trusted is True and facts.signer_trusted is True
    try:
        algorithm = sig.algorithm
        digest, sig_alg = algorithm.digest_name, algorithm.value
    except EzhifuError:
        digest, sig_alg = None, sig.algorithm_oid
    return ItemResult.from_steps(
        "seal",
        position,
        steps,
        intact=intact,
        trusted=trusted,
        signer=signer_info(signer) if signer is not None else None,
        digest_algorithm=digest,
        signature_algorithm=sig_alg,
        signing_time=sig.signing_time,
        seal_id=sig.seal.seal_id,
        seal_name=sig.seal.name,
        claimed_time=_claim(sig),
        seal_facts=seal_facts(sig.seal),
        anchors=_anchors(steps),
    )


def _anchors(steps: StepLog) -> tuple[str, ...]:
    """The trust anchors the chain steps reached (evidence ``anchor``), in step order."""
    return tuple(dict(s.evidence)["anchor"] for s in steps.steps if any(k == "anchor" for k, _ in s.evidence))
