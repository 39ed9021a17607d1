"""Making an electronic seal (制章): GM/T 0031-2014 (v1) and GB/T 38540-2020 (v4) ``SESeal``.

The seal maker (制章人/制章者) binds a seal identity, its picture and validity window to the
certificates of the signers (签章人) allowed to use it, and signs that binding:

* v1, GM/T 0031-2014 clause 6.1.1: ``signData`` is the maker's signature over the DER of
  ``SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }``;
* v4, GB/T 38540-2020 clause 6.1: ``signedValue`` is the maker's signature over the DER of
  ``SES_SealInfo``.

The structures are built by the format's container (:mod:`ezhifu.seal.containers`) from the
declared ASN.1 (:mod:`ezhifu.seal.asn1`); this module validates the arguments.

.. warning::
   A seal made with a software key (:class:`ezhifu.pki.signer.SoftwareSigner`, a key file, a test
   PKI) is for **testing and development only and is not legally effective**. A legally effective
   seal is made by an authorised seal-making body with a key protected by certified cryptographic
   hardware, under the Electronic Signature Law and the national seal-management rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal, TypeAlias

from asn1crypto import x509

from ezhifu.crypto.base import Signer
from ezhifu.errors import InvalidInput, SealError, SigningError
from ezhifu.seal.checks import require_seal_algorithm
from ezhifu.seal.containers import SealContent, parse_seal, writer_for
from ezhifu.seal.picture import validate_picture
from ezhifu.seal.placement import sign_bytes

__all__ = ["MAX_SEAL_ID_LENGTH", "SealWriterVersion", "make_seal"]

#: The seal versions ezhifu writes (:func:`ezhifu.seal.containers.writer_for`).
SealWriterVersion = Literal["v1", "v4"]

#: Longest accepted seal id (``esID``); real ids are 10 to 32 characters.
MAX_SEAL_ID_LENGTH = 128
_MAX_NAME_LENGTH = 256
_MAX_SIZE_MM = 1000
_IA5 = re.compile(r"^[\x20-\x7e]+$")

#: A holder certificate: DER bytes or an asn1crypto certificate.
CertLike: TypeAlias = bytes | x509.Certificate


def _cert_der(cert: CertLike, what: str) -> bytes:
    if isinstance(cert, x509.Certificate):
        return bytes(cert.dump())
    if not isinstance(cert, bytes | bytearray):
        raise InvalidInput(
            f"{what}: expected DER bytes or an asn1crypto Certificate, not {type(cert).__name__}"
        )
    der = bytes(cert)
    try:
        parsed = x509.Certificate.load(der, strict=True)
        _ = parsed["tbs_certificate"]["subject_public_key_info"].native
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{what}: not a DER X.509 certificate: {exc}") from exc
    return der


def _utc(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise InvalidInput(f"{what}: expected a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None:
        raise InvalidInput(f"{what}: the datetime must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)


def _text(value: str, what: str, *, ia5: bool, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty string")
    if len(value) > limit:
        raise InvalidInput(f"{what} is {len(value)} characters; the limit is {limit}")
    if ia5 and not _IA5.match(value):
        raise InvalidInput(f"{what} must be printable ASCII (IA5String): {value!r}")
    return value


def _positive(value: int, what: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
        raise InvalidInput(f"{what} must be an integer in 1..{limit}, not {value!r}")
    return value


def make_seal(
    maker: Signer,
    *,
    seal_id: str,
    name: str,
    seal_type: int = 1,
    valid_from: datetime,
    valid_to: datetime,
    holder_certs: Sequence[CertLike],
    picture: bytes,
    picture_type: str | None = None,
    width_mm: int,
    height_mm: int,
    version: SealWriterVersion = "v4",
    vid: str = "ezhifu",
    created: datetime | None = None,
) -> bytes:
    """Make a seal signed by ``maker`` and return its DER (``SESeal``).

    ``holder_certs`` are the certificates of the signers allowed to use the seal (``certList``;
    v4 writes ``certListType`` 1, the certificates themselves). ``picture`` must be a PNG, GIF, JPG,
    BMP, SVG or OFD file (identified by its magic bytes; ``picture_type``, when given, must agree),
    at most :data:`ezhifu.seal.picture.MAX_PICTURE_BYTES`; ``width_mm``/``height_mm`` its display
    size. ``valid_from``/``valid_to``/``created`` must be timezone-aware; they are stored in UTC to
    the second (``UTCTime`` in v1, so v1 dates must lie in 1950..2049; ``GeneralizedTime`` in v4).
    ``created`` defaults to now.

    The maker signs with its own algorithm (SM2-with-SM3 for an SM2 key); its certificate, taken
    from ``maker.certificate``, is embedded. A seal made with a software key is for testing and
    development only and **not legally effective** (see the module doc).

    Raises :class:`InvalidInput` for a bad argument and :class:`SigningError` when the maker cannot
    sign or has no certificate.
    """
    container = writer_for(version)
    _text(seal_id, "seal id", ia5=True, limit=MAX_SEAL_ID_LENGTH)
    _text(name, "seal name", ia5=False, limit=_MAX_NAME_LENGTH)
    _text(vid, "vendor id (Vid)", ia5=True, limit=64)
    if isinstance(seal_type, bool) or not isinstance(seal_type, int) or seal_type < 0:
        raise InvalidInput(f"seal type must be a non-negative integer, not {seal_type!r}")
    _positive(width_mm, "picture width (mm)", _MAX_SIZE_MM)
    _positive(height_mm, "picture height (mm)", _MAX_SIZE_MM)
    kind = validate_picture(picture, picture_type)
    start = _utc(valid_from, "valid_from")
    end = _utc(valid_to, "valid_to")
    made = _utc(created if created is not None else datetime.now(UTC), "created")
    if end <= start:
        raise InvalidInput(f"seal validity is empty: valid_to {end:%Y-%m-%d %H:%M:%S} <= valid_from")
    container.check_times({"valid_from": start, "valid_to": end, "created": made})
    if not holder_certs:
        raise InvalidInput("a seal needs at least one holder certificate (certList)")
    holders = tuple(_cert_der(c, f"holder certificate {i + 1}") for i, c in enumerate(holder_certs))
    maker_cert = maker.certificate
    if maker_cert is None:
        raise SigningError("the seal maker's signer has no certificate to embed in the seal")
    require_seal_algorithm(maker.algorithm, who="the seal maker")
    content = SealContent(
        seal_id=seal_id,
        name=name,
        seal_type=seal_type,
        valid_from=start,
        valid_to=end,
        created=made,
        holders=holders,
        picture_type=kind,
        picture=bytes(picture),
        width_mm=width_mm,
        height_mm=height_mm,
        vid=vid,
        maker_cert=bytes(maker_cert.dump()),
        algorithm_oid=maker.algorithm.signature_oid,
    )
    der = container.build_seal(
        content, lambda data: sign_bytes(maker, data, who="the seal maker", what="the seal")
    )
    _self_check(der)
    return der


def _self_check(der: bytes) -> None:
    """Re-read what was written: a writer bug must not leave the building as a seal."""
    parsed = parse_seal(der, what="newly made seal")
    if parsed.dump() != der:
        raise SealError("newly made seal does not read back byte-identical")
