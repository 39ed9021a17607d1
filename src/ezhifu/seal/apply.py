"""Applying a seal (签章) to a voucher: an ``SES_Signature`` in ``<SignStampList>``.

What is protected. A treasury voucher's signatures cover the exact ASCII Base64 text inside
``<Voucher>`` (spec.md §5.3), so a stamp does too: ``dataHash`` is the hash of those bytes
(``VoucherBody.voucher_b64`` encoded as ASCII, not the decoded GBK XML). The hash follows the
signature algorithm as GM/T 0031-2014 clause 6.2.1 requires: SM3 for SM2, the RSA signature's own
digest (SHA-256, or SHA-1 for a legacy RSA-SHA1 signer) for RSA.

Where the stamp sits. ``propertyInfo`` ("原文属性信息", which must at least state the protected
range, GB/T 38540-2020 clause 7.1) carries the range *and* the stamp position, so that a stamp
copied to another position of the same voucher no longer verifies. ezhifu writes::

    ezhifu:VoucherBody/Voucher;position=<position>;vt=<VtCode>;no=<VoucherNo>

``ezhifu:VoucherBody/Voucher`` names the range (the Base64 text of ``<Voucher>``); the values are
percent-encoded (RFC 3986) so the text stays IA5 and free of ``;`` and ``=``. :func:`parse_property_info`
reads it back; :func:`ezhifu.seal.verify.verify_stamp` requires ``position`` to equal the
``SignStamp/@No`` it was found at.

The result is written as ``<SignStamp No="position" SN="seal id">BASE64(DER SES_Signature)</SignStamp>``.

A seal applied with a software key is for testing and development only and not legally effective.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from asn1crypto import core, x509

from ezhifu.crypto.base import Signer
from ezhifu.crypto.sm3 import hash_data
from ezhifu.document.envelope import SignStampElement, VoucherBody
from ezhifu.document.positions import PositionTable, check_position_name
from ezhifu.document.validation import validate as validate_document
from ezhifu.errors import (
    InvalidInput,
    NotASealHolder,
    SealError,
    SigningError,
)
from ezhifu.pki.path import certificate_der
from ezhifu.seal.checks import check_maker_signature, holder_matches, require_seal_algorithm
from ezhifu.seal.containers import container_for, parse_seal, parse_signature
from ezhifu.seal.containers.base import SignatureContent
from ezhifu.seal.detect import SealKind
from ezhifu.seal.model import Seal
from ezhifu.seal.placement import (
    PROPERTY_PREFIX,
    TimestampHook,
    append_stamp,
    format_property_info,
    parse_property_info,
    refuse_stamped_position,
    sign_bytes,
    signing_time_utc,
    voucher_data,
)

if TYPE_CHECKING:
    from ezhifu.document.envelope import Envelope

__all__ = [
    "PROPERTY_PREFIX",
    "NotASealHolder",
    "TimestampHook",
    "append_stamp",
    "apply_seal",
    "build_ses_signature",
    "format_property_info",
    "parse_property_info",
    "refuse_stamped_position",
    "stamp_envelope",
    "voucher_data",
]


def build_ses_signature(
    seal_der: bytes,
    signer: Signer,
    data: bytes,
    property_info: str,
    *,
    signing_time: datetime | None = None,
    timestamp_hook: TimestampHook | None = None,
) -> bytes:
    """Build the DER ``SES_Signature`` of ``seal_der`` over ``data``: the standards' signing step only.

    v1 (GM/T 0031-2014 clause 6.2.1): ``TBS_Sign = {1, seal, timeInfo, dataHash, propertyInfo,
    cert, signatureAlgorithm}`` with ``timeInfo`` a BIT STRING holding the UTCTime text; v4
    (GB/T 38540-2020 clause 7.1): ``TBS_Sign = {4, seal, timeInfo GeneralizedTime, dataHash,
    propertyInfo}`` followed by the signer certificate, algorithm, signature and, with
    ``timestamp_hook``, ``timeStamp [0] EXPLICIT`` over the signature value. The seal is embedded
    byte for byte as given.

    This function does **not** apply policy (holder certificate, seal validity, seal maker's
    signature): :func:`apply_seal` does. It is public so that tests and tools can produce the
    exact structures, including deliberately invalid ones.
    """
    seal = parse_seal(seal_der, what="seal to apply")
    return _seal_signature(seal, signer, data, property_info, signing_time, timestamp_hook)


def _seal_signature(
    seal: Seal,
    signer: Signer,
    data: bytes,
    property_info: str,
    signing_time: datetime | None,
    timestamp_hook: TimestampHook | None,
) -> bytes:
    """:func:`build_ses_signature` of a parsed seal (:func:`apply_seal` parses it once).

    A signature that asn1crypto wrote is read back and must be byte-identical. The direct v4
    writer (:meth:`~ezhifu.seal.containers.base.SealContainer.write_signature`) writes every
    element itself in plain DER around the seal's bytes as parsed, so its output is not read
    again: tests/seal/test_seal_writer.py reads back what it writes over hypothesis-drawn inputs.
    """
    container = container_for(seal.version, SealKind.SIGNATURE)
    container.require_writable()
    cert = signer.certificate
    if cert is None:
        raise SigningError("the signer has no certificate to put in the seal signature")
    algorithm = signer.algorithm
    require_seal_algorithm(algorithm, who="the signer")
    when = signing_time_utc(signing_time)
    if not (isinstance(property_info, str) and property_info.isascii()):  # IA5: ASCII text
        try:
            core.IA5String(property_info).dump()
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"propertyInfo must be IA5 (ASCII) text: {exc}") from exc
    content = SignatureContent(
        seal,
        when,
        hash_data(algorithm.digest_name, data),
        property_info,
        certificate_der(cert),
        algorithm.signature_oid,
    )
    der, direct = container.write_signature(content, lambda tbs: sign_bytes(signer, tbs), timestamp_hook)
    if not direct:
        parsed = parse_signature(der, what="new seal signature")  # read back what asn1crypto wrote
        if parsed.dump() != der:
            raise SealError("new seal signature does not read back byte-identical")
    return der


def apply_seal(
    body: VoucherBody,
    seal_der: bytes,
    signer: Signer,
    position: str,
    *,
    signing_time: datetime | None = None,
    timestamp_hook: TimestampHook | None = None,
    property_info: str | None = None,
) -> SignStampElement:
    """Stamp ``body`` with the seal at ``position``; append and return the ``<SignStamp>``.

    Checks before signing (GM/T 0031-2014 clause 6.2.2): the seal parses and is v1 or v4; its
    maker's signature verifies; ``signing_time`` (default now) lies in the seal's validity window;
    the signer's certificate is one of the seal's holder certificates (:class:`NotASealHolder`
    otherwise: the seal must be re-made to add a holder); ``position`` is not stamped yet
    (:class:`PositionAlreadySigned`). ``property_info`` defaults to the ezhifu format (module doc);
    a caller-supplied text must be in that format with the same position.
    """

    if not isinstance(position, str) or not position.strip():
        raise InvalidInput("stamp position must be a non-empty string")
    refuse_stamped_position(body, position)
    seal = parse_seal(seal_der, what="seal to apply")
    container_for(seal.version).require_writable()
    failure = check_maker_signature(seal)
    if failure is not None:
        raise SealError(f"seal {seal.seal_id} cannot be applied: {failure}")
    when = signing_time_utc(signing_time)
    if not seal.is_valid_at(when):
        raise SealError(
            f"seal {seal.seal_id} is not valid at {when:%Y-%m-%d %H:%M:%S}Z "
            f"(valid {seal.valid_from:%Y-%m-%d %H:%M:%S}Z to {seal.valid_to:%Y-%m-%d %H:%M:%S}Z)"
        )
    cert = signer.certificate
    if not isinstance(cert, x509.Certificate):
        raise SigningError("the signer has no certificate to put in the seal signature")
    if not holder_matches(seal, certificate_der(cert)):
        raise NotASealHolder(
            f"the signer certificate ({cert.subject.human_friendly}, serial {cert.serial_number:x}) "
            f"is not a holder certificate of seal {seal.seal_id}: the seal must be re-made to include it"
        )
    if property_info is None:
        property_info = format_property_info(position, body.vt_code, body.voucher_no)
    else:
        fields = parse_property_info(property_info)
        if fields is None or fields.get("position") != position:
            raise InvalidInput(
                f"propertyInfo must be '{PROPERTY_PREFIX};position={position};...' to bind the stamp position"
            )
    der = _seal_signature(seal, signer, voucher_data(body), property_info, when, timestamp_hook)
    return append_stamp(body, position, seal.seal_id, der)


def stamp_envelope(
    envelope: Envelope,
    seal_der: bytes,
    signer: Signer,
    position: str,
    *,
    voucher_no: str | None = None,
    validate: bool = True,
    positions: PositionTable | None = None,
    signing_time: datetime | None = None,
    timestamp_hook: TimestampHook | None = None,
) -> list[SignStampElement]:
    """Stamp every body of ``envelope`` (or the one ``voucher_no`` names) with :func:`apply_seal`:
    the API of ``ezhifu seal apply``. Returns the new ``<SignStamp>`` elements, in body order.

    As the command line does, the envelope is validated first (partner level): an invalid voucher
    is refused with :class:`~ezhifu.errors.SchemaValidationError` carrying every problem, unless
    ``validate=False``; with ``positions`` (e.g. ``Parties.load(path).positions``) ``position``
    must be a name of the vocabulary or one the table declares for every body's VtCode
    (:class:`~ezhifu.errors.UnknownPosition`, docs/parties.md). The position is checked free on
    every body before any is stamped.
    """
    bodies = [envelope.body(voucher_no)] if voucher_no is not None else list(envelope.bodies)
    if not bodies:
        raise InvalidInput("the envelope has no VoucherBody to stamp")
    if positions is not None:
        check_position_name(position, positions.declared(b.vt_code for b in bodies))
    if not isinstance(position, str) or not position.strip():
        raise InvalidInput("stamp position must be a non-empty string")
    for body in bodies:
        refuse_stamped_position(body, position)
    if validate:
        validate_document(envelope.to_bytes(encoding=envelope.encoding), level="partner")
    return [
        apply_seal(body, seal_der, signer, position, signing_time=signing_time, timestamp_hook=timestamp_hook)
        for body in bodies
    ]
