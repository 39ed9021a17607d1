"""Reading and validating ``metadata/dat95.xml`` (the document :func:`metadata.metadata_xml` writes).

:func:`metadata_issues` parses the document with the hardened parser
(:func:`ezhifu.document.xmlparse.parse_xml`: no DTD, no entities, bounded) and validates it
against the generated ``schemas/dat95/dat95.xsd`` (loaded once, without file or network access,
by :func:`ezhifu.document.validation.xmlschema_for`). :func:`read_metadata` returns what the
checks compare: the B.1 header values per voucher and the E.1 events.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ezhifu.archive.dat95 import B1_ITEMS, B1_ROOT
from ezhifu.document.validation import xmlschema_for
from ezhifu.document.xmlparse import parse_xml
from ezhifu.errors import EzhifuError, MetadataError

__all__ = ["MAX_METADATA_BYTES", "METADATA_NAME", "ParsedMetadata", "metadata_issues", "read_metadata"]

#: The metadata member of a package.
METADATA_NAME = "metadata/dat95.xml"
#: Largest metadata document read (bytes).
MAX_METADATA_BYTES = 16 << 20
#: Most schema problems reported (the first ones say enough).
MAX_ISSUES = 20


@dataclass(frozen=True, slots=True)
class ParsedMetadata:
    """The parts of the metadata the checks use."""

    package: str
    vouchers: tuple[dict[str, str], ...]
    item_counts: tuple[int, ...]
    events: tuple[dict[str, str], ...]


def _parse(data: bytes) -> etree._Element:
    try:
        return parse_xml(data, what="metadata/dat95.xml", max_bytes=MAX_METADATA_BYTES)
    except EzhifuError as exc:
        raise MetadataError(f"元数据无法读取 / metadata cannot be read: {exc}") from exc


def metadata_issues(data: bytes) -> list[str]:
    """The schema problems of a metadata document (empty when it is valid); unreadable raises."""
    root = _parse(data)
    schema = xmlschema_for("dat95", "dat95")
    issues = []
    for error in schema.iter_errors(root):
        issues.append(f"{error.path or '/'}: {error.reason or error.message}")
        if len(issues) >= MAX_ISSUES:
            break
    return issues


def _values(element: etree._Element) -> dict[str, str]:
    return {
        str(child.tag): (child.text or "")
        for child in element
        if isinstance(child.tag, str) and len(child) == 0
    }


def read_metadata(data: bytes) -> ParsedMetadata:
    """The package id, the B.1 header values of each voucher and the E.1 events."""
    root = _parse(data)
    vouchers = root.findall(B1_ROOT)
    return ParsedMetadata(
        package=root.get("package") or "",
        vouchers=tuple(_values(v) for v in vouchers),
        item_counts=tuple(len(v.findall(B1_ITEMS)) for v in vouchers),
        events=tuple(_values(e) for e in root.findall("BusinessEntity")),
    )
