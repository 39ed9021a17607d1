"""The one place for DER and PEM framing: lengths, TLVs, size limits and PEM blocks.

Every parser of ezhifu that walks DER by hand (keys, certificates, CMS, seals) uses these
helpers, so that the rules are written once:

* a definite length is short form below 128 and minimal long form otherwise (X.690 clause
  8.1.3, clause 10.1 for DER);
* walking concatenated TLVs reads each element's end from its header
  (:func:`definite_tlv_end`), so each step copies one element, not the rest of the input (a
  quadratic cost on hostile input otherwise, security review DER-1); the number of elements
  is bounded by the caller;
* PEM is RFC 7468: strict base64 inside ``-----BEGIN x-----`` / ``-----END x-----``; RFC 1421
  headers (legacy OpenSSL encryption) are refused; text outside the blocks is refused for keys
  and, as RFC 7468 clause 2 allows ("explanatory text"), ignored for certificate bundles, which
  is what OpenSSL writes before each certificate (``Bag Attributes``, ``subject=``,
  ``issuer=``).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import NamedTuple

from asn1crypto import parser

from ezhifu.errors import InvalidInput, MalformedDER, UnsupportedAlgorithm

__all__ = [
    "Tlv",
    "check_size",
    "definite_tlv_end",
    "der_children",
    "encode_length",
    "fast_tlv",
    "is_pem",
    "pem_blocks",
    "split_tlvs",
    "tlv",
]


class Tlv(NamedTuple):
    """One DER element: ``(cls, method, tag)`` of its identifier, the whole ``element`` and
    its ``contents``."""

    cls: int
    method: int
    tag: int
    element: bytes
    contents: bytes


# --- lengths and TLVs (X.690) ------------------------------------------------------------------


def encode_length(length: int) -> bytes:
    """X.690 clause 8.1.3 definite length (short form below 128, else long form, minimal)."""
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def tlv(tag: int, contents: bytes) -> bytes:
    """A DER element with a one-octet identifier ``tag`` and these contents."""
    return bytes([tag]) + encode_length(len(contents)) + contents


def definite_tlv_end(data: bytes, pos: int) -> int | None:
    """End offset of the TLV at ``pos`` from its identifier and length octets alone (X.690
    clauses 8.1.2, 8.1.3), without copying the rest; ``None`` for the indefinite form (BER)
    or a header this reader does not take, which the caller then hands to asn1crypto."""
    end = len(data)
    i = pos + 1
    if i > end:
        return None
    if data[pos] & 0x1F == 0x1F:  # high tag number form: base-128 octets, last one < 0x80
        while i < end and data[i] & 0x80:
            i += 1
        i += 1
    if i >= end:
        return None
    first = data[i]
    i += 1
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 8 or i + count > end:
            return None
        length = int.from_bytes(data[i : i + count], "big")
        i += count
    return i + length


def fast_tlv(data: bytes, pos: int) -> tuple[int, int, int, int, int] | None:
    """The fast reader of one DER element at ``pos``: ``(cls, method, tag, contents start, end)``
    read from the identifier and length octets without copying anything, or ``None`` ("decline")
    for whatever is not plain DER: a high tag number, the indefinite form, a long-form length that
    is not minimal or longer than 4 octets, or an element running past the end of ``data``. A
    caller hands a declined element to asn1crypto's parser, whose answer (or error) then stands;
    ``tests/crypto/test_der_fast.py`` checks that the two never give different answers."""
    end = len(data)
    if pos + 2 > end:
        return None
    first = data[pos]
    if first & 0x1F == 0x1F:
        return None
    length = data[pos + 1]
    start = pos + 2
    if length >= 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > end or data[start] == 0:
            return None
        length = int.from_bytes(data[start : start + count], "big")
        if length < 0x80:
            return None
        start += count
    if start + length > end:
        return None
    return first >> 6, (first >> 5) & 1, first & 0x1F, start, start + length


def split_tlvs(
    data: bytes,
    *,
    what: str,
    max_items: int,
    error: type[InvalidInput] = MalformedDER,
    strict: bool = False,
) -> list[Tlv]:
    """Split concatenated DER elements, at most ``max_items`` of them.

    Each step parses one element only (its end read from the header), so the cost is linear.
    Raises ``error`` (a :class:`~ezhifu.errors.InvalidInput`) naming ``what`` and the byte
    offset for malformed DER or too many elements. ``strict`` refuses BER-only encodings
    that asn1crypto's strict mode refuses.
    """
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if len(out) >= max_items:
            raise error(f"{what}: more than {max_items} elements")
        fast = fast_tlv(data, pos)
        if fast is not None:  # plain DER: no asn1crypto call, no copy of the rest
            f_cls, f_method, f_tag, f_start, f_end = fast
            out.append(Tlv(f_cls, f_method, f_tag, data[pos:f_end], data[f_start:f_end]))
            pos = f_end
            continue
        end = definite_tlv_end(data, pos)
        window = data[pos:end] if end is not None and end <= len(data) else data[pos:]
        try:
            cls, method, tag, header, contents, trailer = parser.parse(window, strict=strict)
        except ValueError as exc:
            raise error(f"{what}: malformed DER at byte {pos}: {exc}") from exc
        size = len(header) + len(contents) + len(trailer)
        out.append(Tlv(cls, method, tag, data[pos : pos + size], contents))
        pos += size
    return out


def der_children(der: bytes, what: str, *, max_children: int) -> list[tuple[int, int, int]]:
    """Return ``(class, constructed, tag)`` of the children of a top-level DER SEQUENCE.

    Refuses truncated input and trailing bytes (X.690 clause 8.1: one complete TLV), and a
    SEQUENCE of more than ``max_children`` elements, with :class:`~ezhifu.errors.MalformedDER`.
    """
    try:
        cls, method, tag, _header, contents, trailer = parser.parse(der, strict=True)
    except ValueError as exc:
        raise MalformedDER(f"{what}: not DER, truncated, or trailing bytes ({exc})") from exc
    if (cls, method, tag) != (0, 1, 16) or trailer:
        raise MalformedDER(f"{what}: DER does not start with a SEQUENCE")
    # The bound matters: without it a 1 MiB SEQUENCE of 500,000 NULLs cost seconds; no key
    # or certificate has more than a few elements.
    items = split_tlvs(contents, what=f"{what}: top SEQUENCE", max_items=max_children)
    return [(item.cls, item.method, item.tag) for item in items]


# --- sizes -------------------------------------------------------------------------------------


def check_size(data: object, what: str, limit: int, *, too_large: type[InvalidInput] = InvalidInput) -> bytes:
    """``data`` as bytes, refused when it is not bytes, empty, or over ``limit`` bytes
    (``too_large`` names the last failure)."""
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise InvalidInput(f"{what}: expected bytes, got {type(data).__name__}")
    if not data:
        raise InvalidInput(f"{what}: empty input")
    if len(data) > limit:
        raise too_large(f"{what}: input of {len(data)} bytes exceeds the {limit}-byte limit")
    return data


# --- PEM (RFC 7468) ----------------------------------------------------------------------------

_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----")
_PEM_END = re.compile(rb"-----END ([A-Z0-9 ]{1,64})-----")


def is_pem(data: bytes, *, allow_text: bool = False) -> bool:
    """True when ``data`` is PEM text: it starts with a BEGIN line or, with ``allow_text``,
    holds one at the start of a line after explanatory text."""
    stripped = data.lstrip()
    if stripped.startswith(b"-----BEGIN "):
        return True
    return allow_text and b"\n-----BEGIN " in data


def pem_blocks(data: bytes, what: str, *, allow_text: bool = False) -> list[tuple[str, bytes]]:
    """Split PEM text into ``(label, der)`` blocks (RFC 7468 clause 2, strict base64).

    Line by line, so the cost is linear in the input. Anything but whitespace outside the
    blocks is refused unless ``allow_text`` (then it is skipped, RFC 7468 clause 2), and so
    are RFC 1421 headers (``Proc-Type`` / ``DEK-Info``: legacy OpenSSL encryption, which
    ezhifu does not read).
    """
    blocks: list[tuple[str, bytes]] = []
    label: bytes | None = None
    body: list[bytes] = []
    for lineno, raw in enumerate(data.splitlines(), 1):
        line = raw.strip()
        if label is None:
            if not line:
                continue
            begin = _PEM_BEGIN.fullmatch(line)
            if begin is None:
                if allow_text:
                    continue
                raise InvalidInput(f"{what}: unexpected text outside PEM blocks at line {lineno}")
            label, body = begin.group(1), []
            continue
        end = _PEM_END.fullmatch(line)
        if end is not None:
            if end.group(1) != label:
                raise InvalidInput(
                    f"{what}: PEM BEGIN {label.decode()!r} closed by END {end.group(1).decode()!r} "
                    f"at line {lineno}"
                )
            try:
                der = base64.b64decode(b"".join(body), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InvalidInput(f"{what}: bad base64 in PEM block {label.decode()!r}") from exc
            blocks.append((label.decode("ascii"), der))
            label = None
            continue
        if b":" in line:
            raise UnsupportedAlgorithm(
                f"{what}: PEM headers (legacy OpenSSL 'Proc-Type: 4,ENCRYPTED' encryption) are not "
                "supported; convert the key with 'openssl pkcs8 -topk8 -v2 aes-256-cbc'"
            )
        body.append(line)
    if label is not None:
        raise InvalidInput(f"{what}: PEM block {label.decode()!r} has no END line")
    if not blocks:
        raise InvalidInput(f"{what}: no PEM block found")
    return blocks
