"""What a validation issue says beyond :func:`ezhifu.document.rules.classify_refused_value`: its
bounded value excerpt, the attribute it is about, and the element-order check of the ``strict``
level, and where an issue is (:func:`element_path`). Kept apart from
:mod:`ezhifu.document.validation` (which walks the documents):

* a value is quoted as at most :data:`MAX_EXCERPT` characters followed by ``…`` (a
  ``VoucherBody`` holds kilobytes of Base64: an issue never quotes it whole);
* envelope attribute issues name the attribute (``/MOF/VoucherBody[1]/@StYear``) and the
  rule of spec.md §2.1 (``StYear``: 4 digits; ``AdmDivCode``: 6 digits, or 9);
* at the ``strict`` level an element out of the type's order (spec.md §4; for 5214 the order
  of the real messages, spec.md §4.4) is one ``element-order`` issue per parent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lxml import etree

from ezhifu.document.fields import FieldDef, Level
from ezhifu.document.rules import ATTRIBUTE_RULES
from ezhifu.errors import ConfigurationError

__all__ = [
    "ISSUE_CODES",
    "MAX_EXCERPT",
    "attribute_of",
    "attribute_reason",
    "check_level",
    "element_children",
    "element_path",
    "element_text",
    "excerpt",
    "order_violation",
]

#: Every ``ValidationIssue.code`` the validator (:mod:`ezhifu.document.validation`) emits, with its meaning.
ISSUE_CODES: dict[str, str] = {
    "not-a-voucher": "the root element is neither MOF nor Voucher",
    "unknown-vtcode": "VtCode not modelled in the schema version",
    "missing-element": "a required element is absent",
    "unknown-element": "an element the type does not define",
    "duplicate-element": "a single-valued element appears more than once",
    "required-empty": "a required element is empty",
    "amount-format": "an amount that is not [0-9]+.[0-9]{2} (strict) or [0-9]+(.[0-9]{1,2})? (partner)",
    "element-order": "strict level: an element out of the order of the field table",
    "negative-amount": "a negative amount where the type does not allow one",
    "date-format": "a date that is not [0-9]{8}",
    "input-limit": "a document over a reading limit (docs/security.md Limits): never parsed further",
    "decoding": "a document whose bytes are not valid in its declared encoding (offset given)",
    "not-xml": "a document that is not well-formed XML or of an unsupported encoding",
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
    "hostile-input": "a document or inner voucher refused for safety (DOCTYPE, entity, NUL octet, a limit)",
    "too-many-issues": "more issues than MAX_ISSUES: the first are reported, then how many more",
    "inner-xml": "the decoded inner voucher is not well-formed XML in its declared encoding",
    "envelope-structure": "envelope elements missing, unknown, duplicated or misplaced",
    "envelope-value": "an envelope element or attribute value that does not match its type",
    "content": "other content-model error reported by the XSD validator",
}

#: Longest value excerpt an issue quotes (characters), then ``…``.
MAX_EXCERPT = 64

_ATTRIBUTE = re.compile(r"attribute ([A-Za-z_][A-Za-z0-9_:.-]*)=")
# xmlschema's wording for a missing and for an undeclared attribute
_MISSING = re.compile(r"missing required attribute '([^']{1,64})'")
_UNKNOWN = re.compile(r"'([^']{1,64})' attribute not allowed")


def check_level(level: str) -> Level:
    """``"partner"`` or ``"strict"``; anything else raises ``ConfigurationError``."""
    if level == "partner":
        return "partner"
    if level == "strict":
        return "strict"
    raise ConfigurationError(
        f"未知的校验级别 {level!r}（可用：partner、strict）/ unknown validation level {level!r} "
        "(use 'partner' or 'strict')"
    )


#: Elements that repeat under their parent: their path carries the 1-based index.
_INDEXED: dict[str, etree.XPath] = {
    tag: etree.XPath(f"count(preceding-sibling::{tag})")
    for tag in ("Detail", "VoucherBody", "Signature", "SignStamp")
}


def element_path(element: etree._Element, stop: etree._Element, prefix: str) -> str:
    """``prefix`` + XPath-like path of ``element`` below and including ``stop``."""
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        tag = str(node.tag)
        parent = node.getparent()
        if tag in _INDEXED and parent is not None:
            # counted in C: a list of every sibling per issue made 1,000 issues among 1,200
            # bodies quadratic (issue 14)
            before = _INDEXED[tag](node)
            tag = f"{tag}[{int(before) + 1 if isinstance(before, float) else 1}]"
        parts.append(tag)
        if node is stop:
            break
        node = parent
    return prefix + "/" + "/".join(reversed(parts))


def element_children(element: etree._Element) -> list[etree._Element]:
    """The child elements (no comments or processing instructions)."""
    return list(element.iterchildren(etree.Element))  # elements only, filtered in C


def element_text(element: etree._Element) -> str:
    """The element's text, its pieces joined."""
    # Comments/PIs inside values were refused by the parser; child elements are reported
    # by the XSD. Join the text pieces so a value with child markup is still shown.
    if not len(element):
        return element.text or ""
    return "".join(str(piece) for piece in element.itertext())


def excerpt(value: str | None, limit: int = MAX_EXCERPT) -> str | None:
    """``value`` cut to ``limit`` characters plus ``…`` (``None`` stays ``None``)."""
    if value is None or len(value) <= limit:
        return value
    return value[:limit] + "…"


def attribute_of(reason: str) -> tuple[str, str] | None:
    """(attribute name, problem) of an xmlschema reason about an attribute, problem being
    ``"value"`` (``attribute StYear='…': …``), ``"missing"`` or ``"unknown"``; else ``None``."""
    for regex, problem in ((_ATTRIBUTE, "value"), (_MISSING, "missing"), (_UNKNOWN, "unknown")):
        match = regex.match(reason)
        if match:
            return match.group(1), problem
    return None


def attribute_reason(name: str, problem: str = "value") -> str:
    """The reason for a ``VoucherBody`` attribute that is missing, unknown or breaks its rule."""
    rule = ATTRIBUTE_RULES.get(name)
    if rule is None or problem == "unknown":
        return f"VoucherBody 不允许属性 {name} / attribute {name} is not allowed on VoucherBody"
    if problem == "missing":
        return f"缺少必需属性 {name}（{rule[0]}）/ required attribute {name} ({rule[1]}) is missing"
    return f"{name} 应为{rule[0]} / {name} must be {rule[1]}"


def order_violation(tags: Sequence[str], defs: Sequence[FieldDef]) -> tuple[int, str] | None:
    """The first child out of the type's order: (its index in ``tags``, reason), or ``None``.

    Only known, first occurrences count (unknown and duplicated elements are their own issues).
    """
    rank = {f.name: i for i, f in enumerate(defs)}
    seen: set[str] = set()
    last_rank = -1
    last_tag = ""
    for index, tag in enumerate(tags):
        position = rank.get(tag)
        if position is None or tag in seen:
            continue
        seen.add(tag)
        if position < last_rank:
            return index, (
                f"<{tag}> stands after <{last_tag}>; the strict level wants the order of the field "
                f"table (docs/fields.md), where {tag} comes first"
            )
        last_rank, last_tag = position, tag
    return None
