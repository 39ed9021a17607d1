"""The verification spine: a verification is a named sequence of steps, in phases.

Every item (a ``<Signature>`` or a ``<SignStamp>``) and every ``VoucherBody`` is verified as an
ordered sequence of named steps; each step records a :class:`~ezhifu.results.Step` in a
:class:`~ezhifu.results.StepLog` and belongs to one phase (:data:`ezhifu.results.PHASES`):

========== ==============================================================================
phase      steps
========== ==============================================================================
parse      ``base64`` ``content`` ``parse`` ``content-type`` ``detached`` ``format`` ...
consistency ``decode`` ``attributes-match`` (body), ``sn``, ``seal-id``, ``voucher``
intact     ``signature`` ``attributes`` ``maker-signature`` ``data-hash`` ``stamp-signature``
trusted    ``algorithms`` ``signer-certificate`` ``policy`` ``chain`` ``maker-certificate`` ``holder``
time       ``signing-time`` ``seal-validity`` ``timestamp``
position   ``position``
========== ==============================================================================

:data:`BODY_SPINE`, :data:`SIGNATURE_SPINE` and :data:`STAMP_SPINE` name the sequences;
:mod:`ezhifu.verify.envelope` drives them. The item-level middle of a signature is
:data:`ezhifu.sign.cms_verify.CMS_STEPS`; of a seal, the container's steps
(:mod:`ezhifu.seal.verify`). The steps below are the ones the spine adds around them: the body's
consistency (spec.md §5.5), the ``SN`` of a signature (spec.md §5.3) and the position
(spec.md §5.1). docs/verification.md walks one body through all of them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from ezhifu.errors import EzhifuError
from ezhifu.results import StepLog
from ezhifu.sign.voucher import body_mismatches

if TYPE_CHECKING:
    from asn1crypto import x509

    from ezhifu.document.envelope import VoucherBody

__all__ = [
    "BODY_SPINE",
    "SIGNATURE_SPINE",
    "STAMP_SPINE",
    "Positions",
    "body_steps",
    "position_refusal",
    "position_step",
    "sn_step",
]

#: VtCode -> the positions configured for it (spec.md §5.1: the voucher template's table).
Positions = Mapping[str, Collection[str]]

#: A body: decode the inner voucher, compare the unsigned attributes, then every item.
BODY_SPINE = ("decode", "attributes-match", "signatures", "stamps")
#: A signature: Base64, ASCII content, the CMS steps, (a diagnosis of a mismatch), SN, position.
SIGNATURE_SPINE = ("base64", "content", "cms", "diagnosis", "sn", "position")
#: A stamp: the container's steps (format .. data-hash, position binding, seal id), position table.
STAMP_SPINE = ("container", "position")


def body_steps(body: VoucherBody) -> tuple[str, StepLog]:
    """The body-level steps: ``decode`` (the inner voucher) and ``attributes-match`` (spec.md §5.5).

    Returns the VtCode to check positions against (the signed one when it decodes) and the log;
    each failure is a body problem (``BodyResult.problems``).
    """
    log = StepLog()
    vt_code = body.vt_code
    try:
        mismatches = body_mismatches(body)
        vt_code = body.signed_attributes()["VtCode"] or vt_code
    except EzhifuError as exc:
        log.fail("decode", f"inner voucher cannot be decoded: {exc}")
        return vt_code, log
    log.ok("decode", "inner voucher decoded")
    for text in mismatches:
        log.fail("attributes-match", text)
    if not mismatches:
        log.ok("attributes-match", "AdmDivCode, StYear, VtCode and VoucherNo equal the signed voucher's")
    return vt_code, log


def position_refusal(position: str, vt_code: str, positions: Positions | None) -> str | None:
    """Why ``position`` is not configured for ``vt_code`` (``None`` when it is, or no table)."""
    if positions is None:
        return None
    allowed = positions.get(vt_code)
    if allowed is None:
        return f"no positions are configured for VtCode {vt_code!r}, so position {position!r} is unknown"
    if position not in allowed:
        configured = ", ".join(sorted(allowed)) or "none"
        return f"position {position!r} is not configured for VtCode {vt_code!r} (configured: {configured})"
    return None


def position_step(log: StepLog, position: str, vt_code: str, positions: Positions | None) -> None:
    """The ``position`` step against the position table (recorded only when a table is given)."""
    if positions is None:
        return
    refusal = position_refusal(position, vt_code, positions)
    if refusal is None:
        log.ok("position", "ok")
    else:
        log.fail("position", refusal)


def sn_step(log: StepLog, sn: str, cert: x509.Certificate | None) -> None:
    """spec.md §5.3: ``SN`` is the signer certificate serial in hex. ezhifu writes lower case;
    on input the value is compared as a number, so case and leading zeros do not matter."""
    if cert is None:
        log.ok("sn", "ok")
        return
    serial = format(cert.serial_number, "x")
    try:
        value = int(sn.strip(), 16)
    except ValueError:
        log.fail("sn", f"SN attribute {sn!r} is not hexadecimal (signer certificate serial is {serial})")
        return
    if value != cert.serial_number:
        log.fail("sn", f"SN attribute {sn!r} does not match the signer certificate serial {serial}")
    else:
        log.ok("sn", "ok", serial=serial)
