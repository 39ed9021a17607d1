"""The issues of a validation run: the codes, the collector with its bound ("the first
:data:`MAX_ISSUES`, then and K more", docs/security.md "Limits") and the path helpers shared by
the checks of :mod:`ezhifu.document.validation`."""

from __future__ import annotations

from lxml import etree

from ezhifu.document.rules import ENVELOPE_ATTRIBUTES
from ezhifu.document.xmlparse import source_line
from ezhifu.errors import ValidationIssue

__all__ = [
    "BODY_ATTRS",
    "HOSTILE_CODES",
    "ISSUE_CODES",
    "MAX_ISSUES",
    "MAX_XSD_ERRORS",
    "Collector",
    "child_elements",
    "issue_path",
    "string_value",
]

#: Every ``ValidationIssue.code`` this module emits, with its meaning.
ISSUE_CODES: dict[str, str] = {
    "not-a-voucher": "the root element is neither MOF nor Voucher",
    "unknown-vtcode": "VtCode not modelled in the schema version",
    "missing-element": "a required element is absent",
    "unknown-element": "an element the type does not define",
    "duplicate-element": "a single-valued element appears more than once",
    "required-empty": "a required element is empty",
    "amount-format": "an amount that is not -?[0-9]+.[0-9]{2}",
    "negative-amount": "a negative amount where the type does not allow one",
    "date-format": "a date that is not [0-9]{8}",
    "date-invalid": "a date yyyyMMdd that is not a calendar date",
    "int-format": "an integer that is not [0-9]+",
    "value-format": "a value that does not match its pattern",
    "max-length": "a value longer than its maximum length",
    "vtcode-mismatch": "an inner VtCode different from the schema's",
    "sum-mismatch": "header amount differs from the sum of the details",
    "too-many-details": "500 or more details",
    "voucher-count": "VoucherCount differs from the number of VoucherBody",
    "attribute-mismatch": "an envelope attribute differs from the signed inner voucher",
    "base64": "the Voucher text is not strict Base64",
    "base64-noncanonical": "the Voucher Base64 has non-zero padding bits (another text, same bytes)",
    "unknown-attribute": "an attribute the envelope grammar does not define on VoucherBody",
    "hostile-input": "an inner voucher refused for safety (DOCTYPE, entity, a limit reached)",
    "too-many-issues": "more issues than MAX_ISSUES: the first are reported, then how many more",
    "inner-xml": "the decoded inner voucher is not well-formed XML in its declared encoding",
    "envelope-structure": "envelope elements missing, unknown, duplicated or misplaced",
    "envelope-value": "an envelope element or attribute value that does not match its type",
    "content": "other content-model error reported by the XSD validator",
}

BODY_ATTRS = tuple(ENVELOPE_ATTRIBUTES)
#: Issues reported per document: the first MAX_ISSUES, then one ``too-many-issues`` issue
#: "and K more" (docs/security.md "Limits").
MAX_ISSUES = 1000
#: Errors taken from xmlschema per document: it builds one object per error (50,000
#: attributes took over 60 s, issue 14 finding 5), so its iteration stops there.
MAX_XSD_ERRORS = MAX_ISSUES
#: Issue codes that make :func:`validate` raise :class:`~ezhifu.errors.HostileDocumentError`.
HOSTILE_CODES = frozenset({"hostile-input"})


# --- helpers --------------------------------------------------------------------------------


def issue_path(element: etree._Element, stop: etree._Element, prefix: str) -> str:
    """``prefix`` + XPath-like path of ``element`` below and including ``stop``."""
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        tag = str(node.tag)
        parent = node.getparent()
        if tag in ("Detail", "VoucherBody", "Signature", "SignStamp") and parent is not None:
            same = [c for c in parent if c.tag == tag]
            tag = f"{tag}[{same.index(node) + 1}]"
        parts.append(tag)
        if node is stop:
            break
        node = parent
    return prefix + "/" + "/".join(reversed(parts))


def child_elements(element: etree._Element) -> list[etree._Element]:
    return list(element.iterchildren(etree.Element))  # elements only, filtered in C


def string_value(element: etree._Element) -> str:
    # Comments/PIs inside values were refused by the parser; child elements are reported
    # by the XSD. Join the text pieces so a value with child markup is still shown.
    if not len(element):
        return element.text or ""
    return "".join(str(piece) for piece in element.itertext())


class Collector:
    def __init__(self) -> None:
        self.issues: list[ValidationIssue] = []
        self.more = 0  # issues found beyond MAX_ISSUES
        self._seen: set[tuple[str, str]] = set()
        #: paths of elements whose children ezhifu's structural check already reported: the
        #: XSD validator's content-model error on the same element says the same, less precisely
        self.structural: set[str] = set()

    def at(
        self,
        element: etree._Element,
        root: etree._Element,
        prefix: str,
        reason: str,
        value: str | None,
        code: str,
    ) -> None:
        """:meth:`add` an issue of ``element``, at its path below ``root`` and its line."""
        self.add(issue_path(element, root, prefix), source_line(element), reason, value, code)

    def add(self, path: str, line: int | None, reason: str, value: str | None, code: str) -> None:
        key = (path, code)
        if key in self._seen:
            return
        self._seen.add(key)
        if len(self.issues) >= MAX_ISSUES:
            self.more += 1
            return
        self.issues.append(ValidationIssue(path=path, line=line, reason=reason, value=value, code=code))

    def final(self) -> list[ValidationIssue]:
        """The issues, with "and K more" past :data:`MAX_ISSUES`."""
        if not self.more:
            return self.issues
        note = ValidationIssue(
            path="/",
            line=None,
            reason=f"还有 {self.more} 个问题未列出 / and {self.more} more issues not listed",
            code="too-many-issues",
        )
        return [*self.issues, note]
