"""The one envelope grammar, shared by the in-memory and the streaming reader (spec.md §2.1, §5.3).

An envelope is, and nothing else is read as one::

    [XML declaration]                       GBK, GB2312, GB18030 or UTF-8 (xmlparse)
    <MOF>                                   no attributes are used
      <VoucherCount>n</VoucherCount>        exactly one, text
      <VoucherBody A.. S.. V.. N..>         one or more; the four attributes of BODY_ATTRIBUTES
        VoucherFlag, Return_Reason, Attach, Voucher, SignStampList, SignatureList
                                            each at most once, any order (producers differ),
                                            Voucher required; the first four hold text only
        <SignStampList><SignStamp No SN>..  any number, text only
        <SignatureList><Signature No SN>..  any number, text only
    </MOF>

* every element not in :data:`CHILDREN` under its parent is refused **wherever it is
  nested**: the hidden-body forgery (an unsigned ``VoucherBody`` wrapped in ``<Ext>``) is
  refused at ``<Ext>``, ``xi:include`` and namespaced look-alikes are unknown elements;
* text is allowed only in the leaves of :data:`LEAVES`; white space elsewhere;
* comments, processing instructions (other than the declaration) and CDATA sections are
  refused anywhere in the bytes (:func:`scan_markup`), so the two readers see the same text;
* the grammar's depth is 4 (``MOF/VoucherBody/SignatureList/Signature``); anything deeper is
  an unknown element.

Both readers feed the elements to :func:`check_end` in the order their end tags appear
(lxml ``iterwalk`` in memory, the pull parser's "end" events when streamed) and scan the raw
bytes with :func:`scan_markup`, so they raise the same
:class:`~ezhifu.errors.EnvelopeGrammarError` (same ``code``, ``path`` and ``line``) for the
same document. The reader itself is :class:`ezhifu.document.envelope.EnvelopeReader`.
"""

from __future__ import annotations

import itertools
from typing import Final

from lxml import etree

from ezhifu.errors import EnvelopeGrammarError

__all__ = [
    "BODY_ATTRIBUTES",
    "CHILDREN",
    "GRAMMAR_CODES",
    "GRAMMAR_DEPTH",
    "LEAVES",
    "ROOT",
    "MarkupScanner",
    "check_end",
    "check_root",
    "element_path",
    "scan_markup",
]

ROOT: Final = "MOF"
#: The four ``VoucherBody`` attributes (spec.md §2.1), in the order ezhifu writes them.
BODY_ATTRIBUTES: Final[tuple[str, ...]] = ("AdmDivCode", "StYear", "VtCode", "VoucherNo")
#: parent tag -> the child tags allowed under it -> their largest count (``None``: any number).
CHILDREN: Final[dict[str, dict[str, int | None]]] = {
    "MOF": {"VoucherCount": 1, "VoucherBody": None},
    "VoucherBody": {
        "VoucherFlag": 1,
        "Return_Reason": 1,
        "Attach": 1,
        "Voucher": 1,
        "SignStampList": 1,
        "SignatureList": 1,
    },
    "SignStampList": {"SignStamp": None},
    "SignatureList": {"Signature": None},
}
#: Elements that hold text only (no child element).
LEAVES: Final = frozenset(
    {"VoucherCount", "VoucherFlag", "Return_Reason", "Attach", "Voucher", "SignStamp", "Signature"}
)
#: Deepest element of the grammar: MOF/VoucherBody/SignatureList/Signature.
GRAMMAR_DEPTH: Final = 4
#: Tags whose path carries an index (``VoucherBody[2]``).
_INDEXED: Final = frozenset({"VoucherBody", "Signature", "SignStamp"})

#: Every ``EnvelopeGrammarError.code``, with its meaning (also validation issue codes).
GRAMMAR_CODES: Final[dict[str, str]] = {
    "not-an-envelope": "the root element is not <MOF>",
    "unknown-element": "an element the envelope grammar does not define at that place",
    "duplicate-element": "a single-valued envelope element appears more than once",
    "missing-element": "a required envelope element (VoucherCount, VoucherBody, Voucher) is absent",
    "missing-attribute": "a required attribute is absent",
    "text-not-allowed": "text where the grammar allows only white space",
    "markup-not-allowed": "a comment, processing instruction or CDATA section in an envelope",
    "voucher-count": "VoucherCount differs from the number of VoucherBody",
}

#: Raw markup refused anywhere in an envelope: in GBK, GB18030 and UTF-8 the bytes ``<!`` and
#: ``<?`` can only be markup (``<`` is not allowed in attribute values or text).
_MARKUP: Final = (
    (b"<!--", "a comment"),
    (b"<?", "a processing instruction"),
    (b"<![CDATA[", "a CDATA section"),
)
_KEEP: Final = max(len(m) for m, _ in _MARKUP) - 1


def _refused(
    code: str, path: str, line: int | None, chinese: str, english: str, **kw: int
) -> EnvelopeGrammarError:
    where = f"{path} (line {line})" if line is not None else path
    return EnvelopeGrammarError(f"{where}: {chinese} / {english}", code=code, path=path, line=line, **kw)


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


def element_path(element: etree._Element, body_index: int) -> str:
    """``/MOF/VoucherBody[i]/SignatureList/Signature[j]``: ``body_index`` is the index of the
    body being read (the streaming reader frees earlier bodies, so it cannot count them)."""
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        tag = str(node.tag)
        parent = node.getparent()
        if tag == "VoucherBody" and parent is not None and parent.getparent() is None:
            tag = f"{tag}[{body_index}]"
        elif tag in _INDEXED and parent is not None:
            same = sum(1 for sibling in node.itersiblings(preceding=True) if sibling.tag == node.tag)
            tag = f"{tag}[{same + 1}]"
        parts.append(tag)
        node = parent
    return "/" + "/".join(reversed(parts))


def check_root(root: etree._Element) -> None:
    """Refuse a root other than ``<MOF>`` (code ``not-an-envelope``)."""
    if root.tag != ROOT:
        raise _refused(
            "not-an-envelope",
            f"/{root.tag}",
            _line(root),
            "根元素不是 <MOF>",
            f"root element is <{root.tag}>, expected <MOF>",
        )


def check_end(element: etree._Element, body_index: int) -> None:
    """Check one element when its end tag has been read, against the grammar.

    Refuses the outermost element of its ancestry that is not allowed under its parent (so a
    forged body inside ``<Ext>`` is refused at ``<Ext>``, by either reader, at the first end
    tag inside it), then non-blank text next to the element or inside a non-leaf. Duplicates
    and missing children are checked by :meth:`VoucherBody.from_element` and the reader.
    """
    chain: list[etree._Element] = [element]
    chain.extend(element.iterancestors())
    chain.reverse()  # root first
    for parent, child in itertools.pairwise(chain):
        allowed = CHILDREN.get(str(parent.tag), {})
        if not isinstance(child.tag, str) or child.tag not in allowed:
            path = element_path(child, body_index)
            raise _refused(
                "unknown-element",
                path,
                _line(child),
                f"元素 <{child.tag}> 不属于信封格式",
                f"unexpected element <{child.tag}> under <{parent.tag}> (not in the envelope grammar)",
            )
    up = element.getparent()
    if up is not None:
        previous = element.getprevious()
        before = up.text if previous is None else previous.tail
        _blank(before, up if previous is None else element, body_index)
    if element.tag in CHILDREN:
        last = element[-1] if len(element) else None
        _blank(element.text if last is None else last.tail, element, body_index)


def _blank(text: str | None, element: etree._Element, body_index: int) -> None:
    if text and text.strip():
        path = element_path(element, body_index)
        raise _refused(
            "text-not-allowed",
            path,
            _line(element),
            "元素之间不允许有文本",
            "text between elements is not allowed",
        )


class MarkupScanner:
    """Scans the raw bytes of an envelope, chunk by chunk, for refused markup (see
    :func:`scan_markup`); keeps the bytes a marker could straddle and the line count."""

    def __init__(self, declaration_at: int = 0) -> None:
        self._tail = b""
        self._offset = 0  # absolute offset of the next chunk
        self._lines = 1  # line number at the start of ``_tail``
        self._declaration_at = declaration_at

    def feed(self, chunk: bytes) -> None:
        window = self._tail + chunk
        base = self._offset - len(self._tail)
        for marker, description in _MARKUP:
            start = 0
            while True:
                at = window.find(marker, start)
                if at < 0:
                    break
                if marker == b"<?" and base + at == self._declaration_at and window[at : at + 5] == b"<?xml":
                    start = at + 1  # the XML declaration itself
                    continue
                line = self._lines + window.count(b"\n", 0, at)
                raise _refused(
                    "markup-not-allowed",
                    "/",
                    line,
                    "信封中不允许注释、处理指令或 CDATA",
                    f"{description} at byte offset {base + at} is not allowed in an envelope",
                    offset=base + at,
                )
        keep = window[-_KEEP:] if len(window) > _KEEP else window
        self._lines += window.count(b"\n", 0, len(window) - len(keep))
        self._tail = keep
        self._offset += len(chunk)


def scan_markup(data: bytes, declaration_at: int = 0) -> None:
    """Refuse comments, processing instructions other than the XML declaration at
    ``declaration_at`` (the byte-order mark's length), and CDATA sections anywhere in ``data``
    (code ``markup-not-allowed``, with the byte offset and line)."""
    MarkupScanner(declaration_at).feed(data)
