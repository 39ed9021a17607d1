"""Signing ``VoucherBody`` elements: one ``<Signature>`` per position (spec.md §5.3).

A signature is a detached CMS SignedData (:mod:`ezhifu.sign.cms`) over the **exact ASCII
bytes of the Base64 text inside** ``<Voucher>`` as it stands in the envelope; the text is
never decoded and re-encoded, so signatures added later, by anyone, cover the same bytes and
never disturb each other (spec.md §2.2). The element written is::

    <Signature No="position" SN="signer certificate serial, lower-case hex">BASE64(DER)</Signature>

A position can carry one signature; signing it twice is refused
(:class:`~ezhifu.errors.PositionAlreadySigned`, OCX error 109/117, spec.md §7).

Because the ``VoucherBody`` attributes lie outside the signature (spec.md §5.5), signing a body
whose attributes disagree with the inner voucher is refused by default: the signer would
otherwise vouch for a label it never signed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Unpack

from ezhifu.crypto.base import Signer
from ezhifu.document.envelope import SignatureElement
from ezhifu.document.positions import PositionTable, check_position_name
from ezhifu.document.validation import validate as validate_document
from ezhifu.errors import EzhifuError, InvalidInput, PositionAlreadySigned, SigningError
from ezhifu.pki.certs import cert_info
from ezhifu.sign.cms import CmsOptions, add_timestamp, sign_detached

if TYPE_CHECKING:
    from asn1crypto import x509

    from ezhifu.document.envelope import Envelope, VoucherBody
    from ezhifu.document.rules import ValidatedVoucher

__all__ = ["body_mismatches", "sign_body", "sign_envelope", "signed_bytes"]


def signed_bytes(body: VoucherBody) -> bytes:
    """The bytes a ``<Signature>`` covers: the ``<Voucher>`` Base64 text, verbatim, as ASCII."""
    text = body.voucher_b64
    if not isinstance(text, str):
        raise InvalidInput(
            f"VoucherBody {body.voucher_no!r}: voucher_b64 must be str, not {type(text).__name__}"
        )
    try:
        return text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"VoucherBody {body.voucher_no!r}: <Voucher> text has a non-ASCII character "
            f"at offset {exc.start}; it must be Base64"
        ) from exc


def body_mismatches(body: VoucherBody) -> list[str]:
    """Differences between the unsigned envelope attributes and the signed inner voucher.

    spec.md §5.5: ``AdmDivCode``, ``StYear``, ``VtCode`` and ``VoucherNo`` of the
    ``VoucherBody`` are not signed; they must equal the same fields of the decoded voucher
    (the rule is :func:`ezhifu.document.rules.attribute_mismatches`). Raises the document
    layer's error when the inner voucher cannot be decoded.
    """
    return [m.describe() for m in body.attribute_mismatches()]


def _check_position(body: VoucherBody, position: str) -> None:
    if not isinstance(position, str) or not position or position != position.strip():
        raise InvalidInput(
            f"signature position must be a non-empty name without surrounding blanks, got {position!r}"
        )
    taken = [s for s in body.signatures if s.no == position] + [s for s in body.stamps if s.no == position]
    if taken:
        raise PositionAlreadySigned(
            f"VoucherBody {body.voucher_no!r}: position {position!r} is already signed or stamped"
        )


def _refuse_relabelled(body: VoucherBody) -> None:
    try:
        mismatches = body_mismatches(body)
    except EzhifuError as exc:
        raise SigningError(f"VoucherBody {body.voucher_no!r}: inner voucher cannot be read: {exc}") from exc
    if mismatches:
        raise SigningError(f"VoucherBody {body.voucher_no!r}: refusing to sign: " + "; ".join(mismatches))


def _serial_hex(cert: x509.Certificate) -> str:
    """``SN``: the certificate's serial in lower-case hex, from its description, which is taken
    once per certificate object (:func:`ezhifu.pki.certs.cert_info`; a signer signs every voucher
    of a batch with one); a certificate the describer cannot read gives its serial alone."""
    try:
        return cert_info(cert).serial_hex
    except (EzhifuError, ValueError, TypeError, KeyError):
        return format(cert.serial_number, "x")


def sign_body(
    body: VoucherBody,
    signer: Signer,
    position: str,
    *,
    check_consistency: bool = True,
    timestamp_hook: Callable[[bytes], bytes] | None = None,
    validated: Iterable[ValidatedVoucher] = (),
    **cms: Unpack[CmsOptions],
) -> SignatureElement:
    """Sign ``body`` at ``position`` and append the new ``<Signature>`` to ``body.signatures``.

    ``SN`` is the signer certificate's serial in lower-case hex (spec.md §5.3). The CMS
    options (``signed_attributes``, ``signing_time``, ``oid_style``, ``sm2_signature_oid``,
    ``chain``: :class:`~ezhifu.sign.cms.CmsOptions`) are those of
    :func:`ezhifu.sign.cms.sign_detached` (default: no signed attributes, GB/T 35275 OIDs for
    SM2, PKCS#7 OIDs for RSA). The Base64 text and the other signatures
    are left untouched. Raises :class:`PositionAlreadySigned` when the position is taken and
    :class:`SigningError` when ``check_consistency`` finds relabelled envelope attributes.
    ``timestamp_hook`` (the signature value -> an RFC 3161 token, e.g. ``lambda v:
    fetch_token(url, v)``) embeds a token as an unsigned attribute (:func:`add_timestamp`).
    ``validated`` (what :func:`ezhifu.document.validation.validate` returned for the envelope)
    lets the consistency check, here and in a later verification of ``body``, read the inner
    voucher's attributes from validate's parse of the same exact text instead of parsing it
    again (:meth:`~ezhifu.document.envelope.VoucherBody.adopt`).
    """
    _check_position(body, position)
    body.adopt(validated)
    data = signed_bytes(body)
    cert = signer.certificate
    if cert is None:
        raise SigningError(f"VoucherBody {body.voucher_no!r}: the signer has no certificate (needed for SN)")
    if check_consistency:
        _refuse_relabelled(body)
    der = sign_detached(data, signer, **cms)
    if timestamp_hook is not None:
        der = add_timestamp(der, timestamp_hook)
    element = SignatureElement(no=position, sn=_serial_hex(cert), value=base64.b64encode(der).decode("ascii"))
    body.signatures.append(element)
    return element


def sign_envelope(
    envelope: Envelope,
    signer: Signer,
    position: str,
    *,
    voucher_no: str | None = None,
    check_consistency: bool = True,
    validate: bool = True,
    positions: PositionTable | None = None,
    timestamp_hook: Callable[[bytes], bytes] | None = None,
    **cms: Unpack[CmsOptions],
) -> list[SignatureElement]:
    """Sign every body of ``envelope`` at ``position`` (or only the one whose ``VoucherNo``
    attribute is ``voucher_no``). Returns the new elements, in body order; the CMS options
    (``**cms``) are those of :func:`sign_body`.

    All bodies are checked before any is signed, so a refusal leaves the envelope unchanged.
    Like ``ezhifu sign``, the envelope is validated first (partner level,
    :func:`ezhifu.document.validation.validate`): an invalid voucher is refused with
    :class:`~ezhifu.errors.SchemaValidationError` carrying every problem, unless
    ``validate=False``. With ``positions`` (a :class:`~ezhifu.document.positions.PositionTable`,
    e.g. ``Parties.load(path).positions``, docs/parties.md) ``position`` must be a name of the
    vocabulary or one the table declares for the VtCode of every body signed
    (:class:`~ezhifu.errors.UnknownPosition` otherwise), as ``ezhifu sign --parties`` checks.
    """
    bodies = list(envelope.bodies)
    if voucher_no is not None:
        bodies = [b for b in bodies if b.voucher_no == voucher_no]
        if not bodies:
            raise InvalidInput(f"no VoucherBody with VoucherNo {voucher_no!r} in the envelope")
    if not bodies:
        raise InvalidInput("the envelope has no VoucherBody to sign")
    if positions is not None:
        check_position_name(position, positions.declared(b.vt_code for b in bodies))
    for body in bodies:
        _check_position(body, position)
        signed_bytes(body)
        if check_consistency:
            _refuse_relabelled(body)
    if validate:
        validate_document(envelope.to_bytes(encoding=envelope.encoding), level="partner")
    return [
        sign_body(body, signer, position, check_consistency=False, timestamp_hook=timestamp_hook, **cms)
        for body in bodies
    ]
