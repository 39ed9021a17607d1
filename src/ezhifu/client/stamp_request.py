"""The position request XML of the signing operations (spec.md §2.3), written and read.

``<Root><Stamp No="position">id</Stamp>…</Root>`` names the positions that
``signStampByNos`` / ``signByNos`` / ``…AndSend`` sign or stamp; the text is the seal id of a
stamp and the certificate id of a signature (may be empty). Read with the project's hardened
parser, bounded in size and count.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from ezhifu.document.xmlparse import element_text, parse_xml
from ezhifu.errors import EmptyParameter, InvalidParameter

__all__ = ["MAX_POSITIONS", "MAX_STAMP_XML_BYTES", "build_stamp_request", "parse_stamp_request"]

MAX_STAMP_XML_BYTES = 64 * 1024
MAX_POSITIONS = 100


def build_stamp_request(positions: Mapping[str, str | None]) -> str:
    """The request XML for ``positions`` (position → seal or certificate id, or None)."""
    if not positions or len(positions) > MAX_POSITIONS:
        raise InvalidParameter(f"give 1 to {MAX_POSITIONS} positions, not {len(positions)}")
    root = etree.Element("Root")
    for position, ident in positions.items():
        if not position.strip():
            raise EmptyParameter("stamp: an empty position / 签章位置为空")
        etree.SubElement(root, "Stamp", No=position).text = ident or ""
    return etree.tostring(root, encoding="unicode")


def parse_stamp_request(text: str) -> dict[str, str | None]:
    """Position → id (None when empty) of a request XML; EVS100 / EVS111 faults otherwise."""
    try:
        data = text.encode("gbk")
    except UnicodeEncodeError as exc:
        raise InvalidParameter(f"stamp: not GBK-encodable text: {exc}") from exc
    if not data.lstrip().startswith(b"<?xml"):
        data = b'<?xml version="1.0" encoding="GBK"?>' + data
    root = parse_xml(
        data, what="stamp position XML", max_bytes=MAX_STAMP_XML_BYTES, max_elements=MAX_POSITIONS + 1
    )
    out: dict[str, str | None] = {}
    for stamp in root.iter("Stamp"):
        position = (stamp.get("No") or "").strip()
        if not position:
            raise EmptyParameter("stamp: a <Stamp> has no No attribute / 签章位置为空")
        out[position] = element_text(stamp, where=f"Stamp No={position}").strip() or None
    if not out:
        raise EmptyParameter("stamp: no <Stamp No=...> position given / 未指定签章位置")
    return out
