"""One verifier for a whole ``<MOF>`` envelope: every signature and every seal of every body.

For each ``VoucherBody`` (spec.md §2.1, §5):

1. **Consistency** (spec.md §5.5). The ``AdmDivCode``, ``StYear``, ``VtCode`` and
   ``VoucherNo`` attributes are outside every signature, so they are compared with the same
   fields of the signed inner voucher; a difference is a *body* problem, reported even when
   every CMS is intact (a relabelled envelope).
2. **Signatures** (spec.md §5.3). Each ``<Signature>`` is a detached CMS over the exact
   Base64 text of ``<Voucher>``, checked by :func:`ezhifu.sign.cms.verify_detached`; then
   ``SN`` must equal the signer certificate's serial, and, with a position table, ``No``
   must be a position configured for the voucher's ``VtCode``.
3. **Seals** (spec.md §5.4, GB/T 38540). Each ``<SignStamp>`` is handed to
   :func:`ezhifu.seal.verify.verify_stamp`, with the same position check.

When a signature does not verify, the verifier tries to say *why* in terms a treasury
engineer can act on: whitespace added to the Base64 text after signing, a signature moved from
another ``VoucherBody`` of the same envelope, or a signature made over the decoded XML instead
of the Base64 text. These diagnoses never make a signature valid.

Results are :mod:`ezhifu.results` objects; nothing here raises for bad input, only for misuse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from ezhifu.document.envelope import decode_element_value
from ezhifu.errors import DecodingError, EzhifuError, InvalidInput
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.results import BodyResult, EnvelopeResult, ItemResult, SignerInfo
from ezhifu.sign.cms import CmsVerification, verify_detached
from ezhifu.sign.voucher import body_mismatches

if TYPE_CHECKING:
    from asn1crypto import x509

    from ezhifu.document.envelope import Envelope, SignatureElement, SignStampElement, VoucherBody

__all__ = ["Positions", "signer_info_of", "verify_body", "verify_envelope"]

#: VtCode -> the positions configured for it (spec.md §5.1: the voucher template's table).
Positions = Mapping[str, Collection[str]]

#: Reasons from verify_detached that mean "the bytes do not match" (worth a diagnosis).
_MISMATCH_STEPS = ("signature", "attributes")
#: At most this many other bodies are tried when explaining a moved signature (bounded work).
_MAX_SIBLINGS_TRIED = 16


def signer_info_of(cert: x509.Certificate) -> SignerInfo:
    """The :class:`SignerInfo` of a certificate (subject, issuer, serial in lower-case hex)."""
    from ezhifu.pki.certs import cert_info

    return cert_info(cert)


def _position_refusal(position: str, vt_code: str, positions: Positions | None) -> str | None:
    if positions is None:
        return None
    allowed = positions.get(vt_code)
    if allowed is None:
        return f"no positions are configured for VtCode {vt_code!r}, so position {position!r} is unknown"
    if position not in allowed:
        configured = ", ".join(sorted(allowed)) or "none"
        return f"position {position!r} is not configured for VtCode {vt_code!r} (configured: {configured})"
    return None


def _sn_refusal(sn: str, cert: x509.Certificate | None) -> str | None:
    """spec.md §5.3: ``SN`` is the signer certificate serial in hex. ezhifu writes lower case;
    on input the value is compared as a number, so case and leading zeros do not matter."""
    if cert is None:
        return None
    serial = format(cert.serial_number, "x")
    try:
        value = int(sn.strip(), 16)
    except ValueError:
        return f"SN attribute {sn!r} is not hexadecimal (signer certificate serial is {serial})"
    if value != cert.serial_number:
        return f"SN attribute {sn!r} does not match the signer certificate serial {serial}"
    return None


def _diagnose(
    der: bytes,
    body: VoucherBody,
    siblings: Sequence[VoucherBody],
    trust: TrustStore,
    policy: VerifyPolicy,
    at: datetime | None,
) -> str | None:
    """Explain a content mismatch (see the module docstring); ``None`` if no explanation."""
    text = body.voucher_b64
    stripped = text.strip()
    if (
        stripped != text
        and stripped.isascii()
        and verify_detached(der, stripped.encode("ascii"), trust=trust, policy=policy, at=at).intact
    ):
        return (
            "the <Voucher> text carries whitespace (e.g. a trailing newline) that was not there when it "
            "was signed; signatures cover the exact Base64 text (spec.md §5.3)"
        )
    tried = 0
    for index, other in enumerate(siblings, start=1):
        if other is body or not other.voucher_b64.isascii():
            continue
        tried += 1
        if tried > _MAX_SIBLINGS_TRIED:
            break
        if verify_detached(der, other.voucher_b64.encode("ascii"), trust=trust, policy=policy, at=at).intact:
            return (
                f"signature was made over the text of another voucher (VoucherBody {index}, "
                f"VoucherNo {other.voucher_no!r}), not this one"
            )
    try:
        xml = body.voucher_xml
    except EzhifuError:
        return None
    if verify_detached(der, xml, trust=trust, policy=policy, at=at).intact:
        return "signature covers the decoded GBK XML instead of the Base64 text of <Voucher> (spec.md §5.3)"
    return None


def _unverified(
    kind: Literal["signature", "seal"], position: str, reason: str, *checks: tuple[str, str]
) -> ItemResult:
    """The result for an item that could not be checked at all: neither intact nor trusted."""
    return ItemResult(
        kind=kind, position=position, valid=False, reason=reason, intact=False, trusted=False, checks=checks
    )


def _verify_signature(
    element: SignatureElement,
    body: VoucherBody,
    vt_code: str,
    *,
    trust: TrustStore,
    policy: VerifyPolicy,
    positions: Positions | None,
    at: datetime | None,
    siblings: Sequence[VoucherBody],
) -> ItemResult:
    position = element.no
    try:
        der = decode_element_value(element.value, where=f"Signature at {position}")
    except DecodingError:
        return _unverified(
            "signature", position, "<Signature> content is not valid Base64", ("base64", "failed")
        )
    text = body.voucher_b64
    if not text.isascii():
        return _unverified(
            "signature",
            position,
            "<Voucher> text is not ASCII Base64, so no signature can cover it",
            ("content", "failed"),
        )
    result: CmsVerification = verify_detached(der, text.encode("ascii"), trust=trust, policy=policy, at=at)
    reason = result.reason
    if not result.intact and result.checks and result.checks[-1][0] in _MISMATCH_STEPS:
        diagnosis = _diagnose(der, body, siblings, trust, policy, at)
        if diagnosis is not None:
            reason = diagnosis
    checks = list(result.checks)
    sn_reason = _sn_refusal(element.sn, result.signer_certificate)
    checks.append(("sn", "ok" if sn_reason is None else "failed: " + sn_reason))
    pos_reason = _position_refusal(position, vt_code, positions)
    if positions is not None:
        checks.append(("position", "ok" if pos_reason is None else "failed: " + pos_reason))
    reason = reason or sn_reason or pos_reason
    cert = result.signer_certificate
    return ItemResult(
        kind="signature",
        position=position,
        valid=reason is None and result.valid,
        reason=reason,
        intact=result.intact,
        trusted=result.trusted,
        signer=signer_info_of(cert) if cert is not None else None,
        digest_algorithm=result.digest_algorithm,
        signature_algorithm=result.signature_algorithm,
        signing_time=result.signing_time,
        checks=tuple(checks),
    )


def _verify_stamp(
    element: SignStampElement,
    body: VoucherBody,
    vt_code: str,
    *,
    trust: TrustStore,
    policy: VerifyPolicy,
    positions: Positions | None,
    at: datetime | None,
) -> ItemResult:
    try:
        from ezhifu.seal.verify import verify_stamp
    except ImportError:
        return _unverified("seal", element.no, "seal verification not available")
    try:
        item = verify_stamp(body, element, trust=trust, policy=policy, at=at)
    except EzhifuError as exc:
        return _unverified("seal", element.no, f"seal cannot be verified: {exc}")
    pos_reason = _position_refusal(element.no, vt_code, positions)
    if pos_reason is None:
        return item
    return dataclasses.replace(
        item,
        valid=False,
        reason=item.reason or pos_reason,
        checks=(*item.checks, ("position", "failed: " + pos_reason)),
    )


def verify_body(
    body: VoucherBody,
    *,
    trust: TrustStore,
    policy: VerifyPolicy | None = None,
    positions: Positions | None = None,
    at: datetime | None = None,
    siblings: Sequence[VoucherBody] = (),
) -> BodyResult:
    """Verify one ``VoucherBody``: consistency, every ``<Signature>`` and ``<SignStamp>``.

    ``positions`` maps a VtCode to its configured positions; a signature or seal at any
    other position fails. ``at`` is the validation time for certificates (default now).
    ``siblings`` are the other bodies of the same envelope, used only to explain a
    signature moved between vouchers.
    """
    if not isinstance(trust, TrustStore):
        raise InvalidInput(f"verify_body: trust must be a TrustStore, not {type(trust).__name__}")
    policy = policy or VerifyPolicy()
    problems: list[str] = []
    vt_code = body.vt_code
    try:
        problems.extend(body_mismatches(body))
        vt_code = body.voucher.vt_code or vt_code
    except EzhifuError as exc:
        problems.append(f"inner voucher cannot be decoded: {exc}")
    items: list[ItemResult] = [
        _verify_signature(
            element, body, vt_code, trust=trust, policy=policy, positions=positions, at=at, siblings=siblings
        )
        for element in body.signatures
    ]
    items.extend(
        _verify_stamp(element, body, vt_code, trust=trust, policy=policy, positions=positions, at=at)
        for element in body.stamps
    )
    return BodyResult(
        vt_code=body.vt_code, voucher_no=body.voucher_no, items=tuple(items), problems=tuple(problems)
    )


def verify_envelope(
    envelope_or_bytes: Envelope | bytes,
    *,
    trust: TrustStore,
    policy: VerifyPolicy | None = None,
    positions: Positions | None = None,
    at: datetime | None = None,
) -> EnvelopeResult:
    """Verify every body of a ``<MOF>`` envelope (given parsed, or as the raw bytes).

    Bytes that do not parse as an envelope give a result with that problem and no bodies
    (not valid); see :func:`verify_body` for the rest.
    """
    from ezhifu.document.envelope import Envelope

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
    return EnvelopeResult.of(
        verify_body(body, trust=trust, policy=policy, positions=positions, at=at, siblings=bodies)
        for body in bodies
    )
