"""The one hardened XML parser of ezhifu.

Every XML document ezhifu reads (the ``<MOF>`` envelope, the Base64-wrapped inner voucher,
position XML) goes through :func:`parse_xml`. It follows the measurements in the developers'
reference (parsing.md):

* lxml with ``resolve_entities=False``, ``no_network=True``, ``load_dtd=False``,
  ``huge_tree=False`` (libxml2 then also refuses text nodes over 10 MB and nesting over 256);
* **any** ``<!DOCTYPE`` or ``<!ENTITY`` is refused before parsing (hardened lxml still honours
  internal ``ATTLIST`` defaults through ``el.get()`` and keeps benign entities as nodes);
* the size is capped before parsing and the depth and element count after;
* comments and processing instructions inside a value are refused: lxml's ``.text`` of
  ``<PayAmt>1<!---->00.00</PayAmt>`` is ``'1'`` (parsing.md "Values");
* only the encodings the interface uses are accepted: GBK (declared by the specification's
  producers, spec.md §2.1), GB2312, GB18030 and UTF-8 (the XML default). The bytes are first
  decoded with the declared codec so a bad byte is reported with its **byte offset**
  (:class:`~ezhifu.errors.DecodingError`); lxml's own message has only a line.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final, TypedDict

from lxml import etree

from ezhifu.errors import DecodingError, HostileInputError, InputLimitExceeded, InvalidInput

__all__ = [
    "DEFAULT_MAX_ATTRIBUTES",
    "DEFAULT_MAX_ATTRIBUTE_CHARS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_ELEMENTS",
    "SUPPORTED_ENCODINGS",
    "check_attributes",
    "declared_encoding",
    "document_encoding",
    "element_text",
    "new_parser",
    "new_pull_parser",
    "parse_xml",
    "source_line",
]

#: Cap on a document's size before parsing. A 100-voucher ``readVoucherAgain`` answer of
#: 500-detail vouchers stays well below it.
DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024
#: The deepest legitimate path is ``MOF/VoucherBody/SignatureList/Signature`` or
#: ``Voucher/DetailList/Detail/PayAmt``: four levels.
DEFAULT_MAX_DEPTH: Final = 16
DEFAULT_MAX_ELEMENTS: Final = 2_000_000
#: Attributes on one element: a ``VoucherBody`` has four, a ``Signature`` two.
DEFAULT_MAX_ATTRIBUTES: Final = 64
#: Characters in one attribute value (a VoucherNo, a certificate serial: well under 100).
DEFAULT_MAX_ATTRIBUTE_CHARS: Final = 64 * 1024

#: Declared encoding (upper case) -> Python codec used to check the bytes.
SUPPORTED_ENCODINGS: Final[dict[str, str]] = {
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "GBK": "gbk",
    "CP936": "gbk",
    "GB2312": "gb2312",
    "GB18030": "gb18030",
}

_DECL = re.compile(
    rb"<\?xml\s+version\s*=\s*(['\"])1\.[0-9]+\1"
    rb"(?:\s+encoding\s*=\s*(['\"])([A-Za-z][A-Za-z0-9._-]*)\2)?"
    rb"(?:\s+standalone\s*=\s*(['\"])(?:yes|no)\4)?\s*\?>"
)
_UTF8_BOM = b"\xef\xbb\xbf"
_OTHER_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
# Markup refused anywhere (even inside comments or CDATA: conservative on purpose).
_REFUSED = ((b"<!DOCTYPE", "a DOCTYPE declaration"), (b"<!ENTITY", "an entity declaration"))


def declared_encoding(data: bytes) -> tuple[str, int]:
    """The Python codec for ``data`` and the length of its byte-order mark.

    Returns the codec of the encoding declared in the XML declaration, ``utf-8`` when there
    is none (XML 1.0 §4.3.3). Raises :class:`InvalidInput` for an encoding ezhifu does not
    accept, a UTF-16/32 byte-order mark, a UTF-8 mark contradicting the declaration, a start
    other than ``<`` (UTF-16 or UCS-4 without a byte-order mark, EBCDIC), and
    :class:`HostileInputError` for a NUL octet. Streaming readers pass their first chunk and
    then refuse NUL octets in every later chunk themselves.
    """
    bom = 0
    if data.startswith(_UTF8_BOM):
        bom = len(_UTF8_BOM)
    elif data.startswith(_OTHER_BOMS):
        raise InvalidInput("UTF-16/UTF-32 documents are not accepted (expected GBK, GB18030 or UTF-8)")
    # libxml2 guesses UTF-16/UCS-4 (no BOM) and EBCDIC from the first four octets (XML 1.0
    # Appendix F.1). Such a document would be scanned here as UTF-8 but parsed by lxml in the
    # guessed encoding, so the DOCTYPE/ENTITY scan would not see its markup: refuse any start
    # other than ASCII '<' (after optional white space) and any NUL octet (never legal XML,
    # XML 1.0 production [2] Char, and present in every UTF-16/UCS-4 text).
    first = data[bom:].lstrip(b" \t\r\n")[:1]
    if first and first != b"<":  # (white space only: a streaming reader's first chunk)
        raise InvalidInput(
            "document does not start with '<' in an ASCII-compatible encoding "
            "(expected GBK, GB18030 or UTF-8; UTF-16, UCS-4 and EBCDIC are not accepted)"
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise HostileInputError(
            f"NUL octet at byte offset {nul} (UTF-16/UCS-4 text or binary data is not accepted)"
        )
    match = _DECL.match(data, bom)
    declared = match.group(3).decode("ascii").upper() if match and match.group(3) else None
    if declared is None:
        return "utf-8", bom
    codec = SUPPORTED_ENCODINGS.get(declared)
    if codec is None:
        raise InvalidInput(
            f"unsupported encoding {declared!r} in the XML declaration "
            "(accepted: GBK, GB2312, GB18030, UTF-8)"
        )
    if bom and codec != "utf-8":
        raise InvalidInput(f"UTF-8 byte-order mark contradicts the declared encoding {declared!r}")
    return codec, bom


class _Hardened(TypedDict):
    resolve_entities: bool
    no_network: bool
    load_dtd: bool
    dtd_validation: bool
    attribute_defaults: bool
    huge_tree: bool
    collect_ids: bool


#: The options every parser ezhifu builds has (parsing.md): no entity expansion, no network, no
#: DTD loading or validation, no attribute defaults, libxml2's size limits kept.
_HARDENED: Final[_Hardened] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "huge_tree": False,
    "collect_ids": False,
}


def new_parser(*, encoding: str | None = None) -> etree.XMLParser:
    """A fresh hardened parser for a whole document (lxml parsers are not thread-safe).

    Comments and processing instructions are kept so that :func:`element_text` can refuse them
    inside a value; :func:`parse_xml` adds the pre-scan and the limits around it. ``encoding``
    overrides the declared one (only :func:`parse_xml` uses it, for ASCII bytes).
    """
    return etree.XMLParser(remove_comments=False, remove_pis=False, encoding=encoding, **_HARDENED)


def new_pull_parser() -> etree.XMLPullParser:
    """A fresh hardened pull parser with the same options, for reading a large envelope body by
    body (:mod:`ezhifu.verify.stream`): "end" events only; comments are dropped, they are not
    values there."""
    return etree.XMLPullParser(events=("end",), remove_comments=True, **_HARDENED)


#: The former private name, kept for callers of the first release.
_new_parser = new_parser


def parse_xml(
    data: bytes,
    *,
    what: str = "document",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> etree._Element:
    """Parse untrusted XML bytes into an lxml root element (with ``sourceline`` set).

    ``what`` names the document in messages (``"envelope"``, ``"inner voucher of
    VoucherBody[2]"``). Raises :class:`HostileInputError` (DOCTYPE, entity declaration,
    oversize, too deep, too many elements, comment or processing instruction inside a
    value), :class:`DecodingError` (bytes invalid in the declared encoding, with the byte
    offset) or :class:`InvalidInput` (not well-formed, with line and column). Nothing from
    lxml escapes.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidInput(f"{what}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise HostileInputError(f"{what}: {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    if not data or data.isspace():  # (what strip() would leave empty, without the copy)
        raise InvalidInput(f"{what}: empty document")
    codec, bom = declared_encoding(data)
    source = _utf8_source(data, codec, bom, what)  # refuses bytes invalid in the declared codec
    # The searches run on the bytes: in GBK, GB18030 and UTF-8 no byte of a multi-byte character
    # is below 0x40, so "<", "!", "=", "?", "-" and LF bytes are those characters, and a marker
    # found in the bytes is the marker in the text (and the line is the count of LF bytes).
    bang = _has_pair(data, b"<!", bom)  # every refused marker and every comment starts so
    for marker, description in _REFUSED if bang else ():
        index = data.find(marker, bom)
        if index >= 0:
            line = data.count(b"\n", bom, index) + 1
            raise HostileInputError(f"{what}: {description} at line {line} is not allowed")
    root = _parse(data, source, what)
    tree = root.getroottree()
    docinfo: Any = tree.docinfo  # lxml-stubs lack DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None:  # belt and braces
        raise HostileInputError(f"{what}: a DOCTYPE declaration is not allowed")
    _check_tree(root, data, bom, bang, what=what, max_depth=max_depth, max_elements=max_elements)
    return root


def _utf8_source(data: bytes, codec: str, bom: int, what: str) -> bytes | None:
    """``data`` when libxml2 may read it as UTF-8: ASCII under a GBK, GB2312 or GB18030
    declaration holds the same characters in every accepted encoding, and libxml2's own
    converter takes most of the time of a parse (an envelope: 46 -> 12 us). ``None``: read as
    declared. Bytes invalid in the declared codec are refused first (:class:`DecodingError`
    with their offset), as before; an ASCII document cannot hold one."""
    if not data.isascii():
        _decoded(data, codec, bom, what)
        return None
    name = None if codec == "utf-8" else _declared_name(data)
    return data if name is not None and _libxml2_reads(name) else None


def _decoded(data: bytes, codec: str, bom: int, what: str) -> str:
    """``data`` decoded by its declared codec; bytes invalid in it are refused with their offset."""
    try:
        return data[bom:].decode(codec)
    except UnicodeDecodeError as exc:
        offset = bom + exc.start
        line = data.count(b"\n", 0, offset) + 1
        column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1  # in bytes, from 1
        raise DecodingError(
            f"{what}: byte 0x{data[offset]:02x} at line {line}, column {column} (byte offset {offset}) "
            f"is not valid {codec.upper()}",
            offset=offset,
        ) from exc


def _parse(data: bytes, source: bytes | None, what: str) -> etree._Element:
    """libxml2's tree of ``data``, read from ``source`` as UTF-8 when given; a document refused
    so is read again as declared, so every refusal is the one of the declared encoding (and
    :func:`document_encoding` names the declared encoding)."""
    try:
        if source is not None:
            return _checked_root(etree.fromstring(source, new_parser(encoding="UTF-8")), what)
    except (etree.XMLSyntaxError, OSError, ValueError):
        pass
    try:
        root = etree.fromstring(data, new_parser())
    except etree.XMLSyntaxError as exc:
        message = str(exc.msg or exc)
        kind = HostileInputError if _looks_hostile(message) else InvalidInput
        raise kind(
            f"{what}: not well-formed XML at line {exc.lineno}, column {exc.offset}: {message}"
        ) from exc
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{what}: cannot be parsed: {exc}") from exc
    return _checked_root(root, what)


def _checked_root(root: etree._Element | None, what: str) -> etree._Element:
    if root is None:
        raise InvalidInput(f"{what}: no root element")
    return root


def _declared_name(data: bytes) -> bytes | None:
    """The encoding name the declaration of ``data`` writes (``None``: no name)."""
    match = _DECL.match(data)
    return match.group(3) if match else None


@functools.lru_cache(maxsize=64)
def _libxml2_reads(name: bytes) -> bool:
    """Whether libxml2 reads an ASCII document declaring the encoding ``name`` (as written; the
    answer depends on the libxml2 build only, never on a document)."""
    try:
        etree.fromstring(b'<?xml version="1.0" encoding="' + name + b'"?><a/>', new_parser())
    except etree.XMLSyntaxError:
        return False
    return True


def document_encoding(root: etree._Element, data: bytes) -> str:
    """The encoding ``data`` declares, as libxml2 reports it (``docinfo.encoding``: the name as
    written, ``UTF-8`` without a declaration), also when :func:`parse_xml` read it as UTF-8."""
    encoding: str = root.getroottree().docinfo.encoding or "UTF-8"
    name = _declared_name(data)
    if name is not None and encoding == "UTF-8":  # read as UTF-8, or declared so
        return name.decode("ascii")
    return encoding


def _looks_hostile(message: str) -> bool:
    lowered = message.lower()
    return any(s in lowered for s in ("huge", "too long", "excessive depth", "amplification", "limit"))


@functools.lru_cache(maxsize=16)
def _xpath(expression: str) -> etree.XPath:
    """The compiled expression (lxml locks around each evaluation, so one object is shared)."""
    return etree.XPath(expression)


def _check_tree(
    root: etree._Element, data: bytes, bom: int, bang: bool, *, what: str, max_depth: int, max_elements: int
) -> None:
    # XPath runs in C: a few milliseconds even for a 500-detail voucher.
    too_deep = _xpath("/*" + "/*" * max_depth)(root)
    if isinstance(too_deep, list) and too_deep:
        first = too_deep[0]
        line = first.sourceline if isinstance(first, etree._Element) else "?"
        raise HostileInputError(f"{what}: nesting deeper than {max_depth} levels at line {line}")
    # Each element starts with a "<" in the text: a text with fewer cannot hold too many (and
    # a text is no longer than its bytes). The bytes are searched (see parse_xml).
    crowded = len(data) > max_elements and data.count(b"<") > max_elements
    count = _xpath("count(//*)")(root) if crowded else 0.0
    if isinstance(count, float) and count > max_elements:
        raise InputLimitExceeded(
            f"{what}: 元素过多 / more than {max_elements} elements", limit="max_elements", value=int(count)
        )
    # Each attribute needs an "=" in the text and no value is longer than the text (no DTD, so
    # no entity expands): a text within both limits cannot break them, and the search is skipped.
    if _more_than(data, b"=", DEFAULT_MAX_ATTRIBUTES) or len(data) - bom > DEFAULT_MAX_ATTRIBUTE_CHARS:
        # Both in C: the 50,000-attribute <MOF> is refused in milliseconds (issue 14 finding 5).
        crowded_attributes = root.xpath(
            f"//*[count(@*) > {DEFAULT_MAX_ATTRIBUTES}]"
            f" | //*[@*[string-length() > {DEFAULT_MAX_ATTRIBUTE_CHARS}]]"
        )
        if (
            isinstance(crowded_attributes, list)
            and crowded_attributes
            and isinstance(crowded_attributes[0], etree._Element)
        ):
            check_attributes(crowded_attributes[0], what=what)
    # A comment or PI inside the root element needs "<!--" or a "<?" after the first character.
    if (not bang or data.find(b"<!--", bom) < 0) and not _has_pair(data, b"<?", bom + 1):
        return
    markup = root.xpath("//comment() | //processing-instruction()")
    if isinstance(markup, list):
        for node in markup:
            if isinstance(node, etree._Element):
                _check_markup_in_value(node, what=what)


def _has_pair(data: bytes, pair: bytes, start: int) -> bool:
    """Whether the two bytes ``pair`` occur in ``data[start:]``. The second byte (``!``, ``?``:
    rare in a document) is found with ``memchr``, where a two-byte search steps through every
    byte (7 us for an envelope); past a few occurrences the plain search decides."""
    second = pair[1:]
    at = data.find(second, start + 1)
    for _ in range(8):
        if at < 0:
            return False
        if data[at - 1] == pair[0]:
            return True
        at = data.find(second, at + 1)
    return data.find(pair, start) >= 0


def _more_than(data: bytes, byte: bytes, limit: int) -> bool:
    """``data.count(byte) > limit`` for a small ``limit``, by ``memchr`` (a count steps through
    every byte) and stopping at the first occurrence past the limit."""
    at = -1
    for _ in range(limit + 1):
        at = data.find(byte, at + 1)
        if at < 0:
            return False
    return True


def check_attributes(element: etree._Element, *, what: str) -> None:
    """Refuse an element with more than :data:`DEFAULT_MAX_ATTRIBUTES` attributes or an
    attribute value longer than :data:`DEFAULT_MAX_ATTRIBUTE_CHARS` characters
    (:class:`~ezhifu.errors.InputLimitExceeded`); the streaming reader calls it per element."""
    attrib = element.attrib
    line = source_line(element)
    if len(attrib) > DEFAULT_MAX_ATTRIBUTES:
        raise InputLimitExceeded(
            f"{what}: <{element.tag}> at line {line} 属性过多 / has {len(attrib)} attributes, more than "
            f"the limit of {DEFAULT_MAX_ATTRIBUTES}",
            limit="max_attributes",
            value=len(attrib),
        )
    for name, value in attrib.items():
        if len(value) > DEFAULT_MAX_ATTRIBUTE_CHARS:
            raise InputLimitExceeded(
                f"{what}: attribute {name!s} of <{element.tag}> at line {line} 属性值过长 / is {len(value)} "
                f"characters long, more than the limit of {DEFAULT_MAX_ATTRIBUTE_CHARS}",
                limit="max_attribute_chars",
                value=len(value),
            )


def _check_markup_in_value(node: etree._Element, *, what: str) -> None:
    """Refuse a comment or processing instruction that sits inside a value.

    It is inside a value when its parent holds no element children (a leaf such as
    ``<PayAmt>``) or when it touches non-blank text (mixed content): lxml's ``.text`` would
    then silently return only the part before it.
    """
    parent = node.getparent()
    if parent is None:
        return
    kind = "comment" if isinstance(node, etree._Comment) else "processing instruction"
    leaf = all(isinstance(child, etree._Comment | etree._ProcessingInstruction) for child in parent)
    touching_text = bool((node.tail or "").strip()) or bool((parent.text or "").strip())
    if leaf or touching_text:
        raise HostileInputError(
            f"{what}: {kind} inside the value of <{parent.tag}> at line {node.sourceline} is not allowed"
        )


def element_text(element: etree._Element, *, where: str | None = None) -> str:
    """The full string value of a leaf element, strictly.

    The element must hold text only: no child elements, comments or processing instructions
    (so the value cannot be split, parsing.md "Values"). Returns ``""``
    for an empty element. ``where`` names the element in messages (default: its tag).
    """
    name = where or str(element.tag)
    if len(element):
        raise InvalidInput(f"<{name}> at line {element.sourceline} must hold text only, not child markup")
    return element.text or ""


def source_line(element: etree._Element) -> int | None:
    """The element's line in its document (lxml's ``sourceline``; typed loosely by the stubs)."""
    line: Any = element.sourceline
    return line if isinstance(line, int) else None
