"""Where a stamp sits and what it protects: the position binding in ``propertyInfo``, appending.

Shared by the standard seal writer (:mod:`ezhifu.seal.apply`) and the vendor stamp
(:mod:`ezhifu.seal.vendor`); the format of ``propertyInfo`` is described in :mod:`ezhifu.seal.apply`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from ezhifu.crypto.base import Signer
from ezhifu.document.envelope import SignStampElement, VoucherBody
from ezhifu.errors import InvalidInput, PositionAlreadySigned, SigningError

__all__ = [
    "PROPERTY_PREFIX",
    "TimestampHook",
    "append_stamp",
    "format_property_info",
    "parse_property_info",
    "refuse_stamped_position",
    "sign_bytes",
    "signing_time_utc",
    "voucher_data",
]

#: First segment of the ``propertyInfo`` ezhifu writes: the protected range.
PROPERTY_PREFIX = "ezhifu:VoucherBody/Voucher"

#: Receives the signature value (DER) and returns a GB/T 20520 / RFC 3161 TimeStampToken (DER).
TimestampHook = Callable[[bytes], bytes]


def voucher_data(body: VoucherBody) -> bytes:
    """The bytes a stamp protects: the exact Base64 text of ``<Voucher>``, as ASCII."""
    try:
        return body.voucher_b64.encode("ascii")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"<Voucher> text of voucher {body.voucher_no} is not ASCII Base64") from exc


#: RFC 3986 clause 2.3 unreserved characters: what percent-encoding leaves as it is.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def format_property_info(position: str, vt_code: str, voucher_no: str) -> str:
    """The ``propertyInfo`` text ezhifu writes (see the module doc)."""

    def enc(value: str) -> str:
        return value if _UNRESERVED.fullmatch(value) else quote(value, safe="-_.~")

    return f"{PROPERTY_PREFIX};position={enc(position)};vt={enc(vt_code)};no={enc(voucher_no)}"


def parse_property_info(text: str) -> dict[str, str] | None:
    """Read an ezhifu ``propertyInfo``; ``None`` when the text is not in that format."""
    parts = text.split(";")
    if parts[0] != PROPERTY_PREFIX:
        return None
    values: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if not sep or not key or key in values:
            return None
        values[key] = unquote(value)
    return values if "position" in values else None


def sign_bytes(
    signer: Signer, data: bytes, *, who: str = "the signer", what: str = "the seal signature"
) -> bytes:
    """The signature of ``signer`` (the seal's signer, or its maker) over ``data``; any backend
    failure becomes :class:`SigningError` ("``who`` could not sign ``what``: ...")."""
    try:
        return bytes(signer.sign(data))
    except SigningError:
        raise
    except Exception as exc:  # any backend failure is reported as a signing error
        raise SigningError(f"{who} could not sign {what}: {exc}") from exc


def signing_time_utc(moment: datetime | None) -> datetime:
    """``moment`` (default now) in UTC to the second; a naive time is refused."""
    if moment is None:
        return datetime.now(UTC).replace(microsecond=0)
    if moment.tzinfo is None:
        raise InvalidInput("signing_time must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)


def refuse_stamped_position(body: VoucherBody, position: str) -> None:
    """Raise :class:`PositionAlreadySigned` when ``body`` already has a ``<SignStamp>`` at ``position``."""
    if any(stamp.no == position for stamp in body.stamps):
        raise PositionAlreadySigned(f"voucher {body.voucher_no}: position {position} is already stamped")


def append_stamp(body: VoucherBody, position: str, seal_id: str, der: bytes) -> SignStampElement:
    """Append ``<SignStamp No=position SN=seal_id>`` holding the Base64 of ``der``; return it."""
    element = SignStampElement(no=position, sn=seal_id, value=base64.b64encode(der).decode("ascii"))
    body.stamps.append(element)
    return element
