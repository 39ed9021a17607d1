"""The one XML writer of ezhifu's own documents: the inner voucher (spec.md §2.2) and the
``<MOF>`` envelope (spec.md §2.1), one element per line as producers write them.

A document is described once as a small tree of :class:`Element` and ``(tag, text)`` leaves,
and written one of two ways, which give the **same bytes**:

* :func:`write`: straight to text and then to bytes, without building an lxml tree (the
  document layer's share of the pipeline, docs/performance.md). It writes only *plain* text:
  the characters of :data:`PLAIN_RANGES` (ASCII, the CJK ideographs U+4E00-U+9FA5, the common
  Chinese punctuation and full-width forms), escaped as libxml2 escapes them (text: ``& < >``
  and CR; attribute values also ``"``, TAB and LF), and plain element and attribute names.
  Anything else returns ``None``;
* :func:`reference`: the lxml tree, serialised by ``etree.tostring(..., pretty_print=True)``,
  the reference. A value lxml refuses (control characters, lone surrogates: ``ValueError``)
  is refused here, and a character the codec cannot carry is written as lxml writes it (a
  character reference), so those cases keep lxml's bytes and errors exactly.

libxml2 encodes through its own converter (iconv), whose GBK table differs from Python's in
places (``€`` is one byte to Python, ``&#8364;`` to libxml2). So the plain characters are
checked once per codec and process against lxml (:func:`writes_like_lxml`: one text and one
attribute holding every plain character); on any difference :func:`write` declines and every
document takes :func:`reference`. Nothing of any input is kept.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections.abc import Sequence
from typing import Final, NamedTuple

from lxml import etree

from ezhifu.errors import InvalidInput

__all__ = [
    "PLAIN_RANGES",
    "Element",
    "Leaf",
    "Leaves",
    "reference",
    "serialise",
    "tree",
    "write",
    "writes_like_lxml",
]

#: The characters :func:`write` writes itself (code point ranges, inclusive); the CR is written
#: as ``&#13;``, as libxml2 does. Every one of them is one character of GBK, GB18030 and UTF-8.
PLAIN_RANGES: Final[tuple[tuple[int, int], ...]] = (
    (0x09, 0x0A),  # TAB, LF
    (0x0D, 0x0D),  # CR
    (0x20, 0x7E),  # printable ASCII
    (0xB7, 0xB7),  # · (names of the minorities)
    (0x2014, 0x2014),  # —
    (0x2018, 0x2019),  # ‘ ’
    (0x201C, 0x201D),  # “ ”
    (0x2026, 0x2026),  # …
    (0x3000, 0x3003),  # ideographic space 、 。 〃
    (0x3008, 0x3011),  # 〈 〉 《 》 「 」 『 』 【 】
    (0x4E00, 0x9FA5),  # the CJK unified ideographs of GBK
    (0xFF01, 0xFF5E),  # full-width forms
    (0xFFE0, 0xFFE5),  # ￠ ￡ ￢ ￣ ￤ ￥
)
_PLAIN: Final = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in PLAIN_RANGES) + "]*")
#: Element and attribute names written as they are (each followed by one space).
_NAMES: Final = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_.-]* )+")
_TEXT_SPECIAL: Final = re.compile("[&<>\r]")
_ATTRIBUTE_SPECIAL: Final = re.compile('[&<>"\t\n\r]')
#: libxml2's escapes in text (xmlEscapeContent) and in attribute values.
_TEXT_ESCAPES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTRIBUTE_ESCAPES: Final = {**_TEXT_ESCAPES, '"': "&quot;", "\t": "&#9;", "\n": "&#10;"}
#: Python codec -> the name lxml is given.
_LXML_CODEC: Final = {"gbk": "GBK", "gb18030": "GB18030", "utf-8": "UTF-8"}

#: A text-only element without attributes: ``(tag, text)``.
Leaf = tuple[str, str]


class Leaves(NamedTuple):
    """Text-only elements without attributes, one after the other (a voucher's header fields,
    a detail row): the same elements as the leaves themselves, written in one step."""

    pairs: Sequence[Leaf]


class Element(NamedTuple):
    """An element: its attributes in order, and its text (a ``str``) or its children."""

    tag: str
    attributes: tuple[tuple[str, str], ...] = ()
    content: str | Sequence[Element | Leaf | Leaves] = ()


def _escape_text(text: str) -> str:
    return _TEXT_SPECIAL.sub(lambda m: _TEXT_ESCAPES[m.group()], text)


def _escape_attribute(text: str) -> str:
    return _ATTRIBUTE_SPECIAL.sub(lambda m: _ATTRIBUTE_ESCAPES[m.group()], text)


_FIRST: Final = operator.itemgetter(0)
_SECOND: Final = operator.itemgetter(1)


@functools.lru_cache(maxsize=256)
def _markup(names: tuple[str, ...], depth: int) -> tuple[str, ...] | None:
    """The markup around the texts of leaves named ``names`` at ``depth`` (one piece more than
    there are names), or ``None`` when a name is not plain. Depends on the names only."""
    if not _plain_names(names):
        return None
    pad = "  " * depth
    pieces = [f"{pad}<{names[0]}>"]
    pieces += [f"</{before}>\n{pad}<{name}>" for before, name in itertools.pairwise(names)]
    pieces.append(f"</{names[-1]}>\n")
    return tuple(pieces)


def _plain_names(names: Sequence[str]) -> bool:
    """Whether every name is a plain XML name (one expression over them all, each followed by
    a space: a name with a space in it adds one)."""
    joined = " ".join(names) + " "
    return joined.count(" ") == len(names) and _NAMES.fullmatch(joined) is not None


def _plain(text: str) -> bool:
    """Whether every character of ``text`` is plain (printable ASCII is, and is tested in C)."""
    return (text.isascii() and text.isprintable()) or _PLAIN.fullmatch(text) is not None


def _special(text: str, characters: str) -> bool:
    """Whether ``text`` holds one of ``characters`` (``in`` per character: a regular expression
    class scans a long Base64 text far slower)."""
    return any(c in text for c in characters)


class _Writer:
    """One pass over the tree: the output pieces, and the texts, values and names to check."""

    __slots__ = ("escape", "names", "parts", "repeated", "texts", "values")

    def __init__(self, *, escape: bool) -> None:
        self.escape = escape
        self.repeated = False  # an attribute name twice on one element
        self.parts: list[str] = []
        self.texts: list[str] = []
        self.values: list[str] = []
        self.names: list[str] = []  # of the elements and attributes (leaves: see _markup)

    def element(self, node: Element, depth: int) -> None:
        parts, pad = self.parts, "  " * depth
        tag, attributes, content = node
        start = pad + "<" + tag
        self.names.append(tag)
        if attributes:
            for name, value in attributes:
                self.names.append(name)
                self.values.append(value)
                start += " " + name + '="' + (_escape_attribute(value) if self.escape else value) + '"'
            self.repeated |= len({name for name, _ in attributes}) != len(attributes)
        if isinstance(content, str):
            self.texts.append(content)
            parts += (start, ">", _escape_text(content) if self.escape else content, "</", tag, ">\n")
            return
        at = len(parts)
        parts.append(start + ">\n")
        for child in content:
            if len(child) == 3:
                self.element(child, depth + 1)  # an Element
            else:
                self.leaves([child] if len(child) == 2 else child[0], depth + 1)
        if len(parts) == at + 1:  # no child element
            parts[at] = start + "/>\n"
        else:
            parts += (pad, "</", tag, ">\n")

    def leaves(self, pairs: Sequence[Leaf], depth: int) -> None:
        if not pairs:
            return
        markup = _markup(tuple(map(_FIRST, pairs)), depth)
        if markup is None:
            self.names.append("")  # not plain
            return
        texts = list(map(_SECOND, pairs))
        self.texts += texts
        if self.escape:
            texts = [_escape_text(text) for text in texts]
        pieces: list[str] = [""] * (2 * len(texts) + 1)
        pieces[::2] = markup
        pieces[1::2] = texts
        self.parts += pieces


def write(root: Element, codec: str) -> bytes | None:
    """``root`` as the bytes :func:`reference` gives (no XML declaration), or ``None`` when a
    text, attribute value or name is not plain (then :func:`reference` writes it).

    ``codec`` is the Python codec: ``gbk``, ``gb18030`` or ``utf-8``."""
    if not writes_like_lxml(codec):
        return None
    out = _Writer(escape=False)
    try:
        out.element(root, 0)
        if not set(map(type, out.texts)) | set(map(type, out.values)) <= {str}:
            return None  # a str subclass may format itself otherwise: lxml reads its characters
        texts, values = "".join(out.texts), "".join(out.values)
    except (TypeError, ValueError):  # not text (lxml names the misuse)
        return None
    if out.repeated or not _plain_names(out.names):
        return None  # lxml keeps the last of a repeated attribute
    if not _plain(texts) or not _plain(values):
        return None
    if _special(texts, "&<>\r") or _special(values, '&<>"\t\n\r'):  # rare: write it again, escaped
        out = _Writer(escape=True)
        out.element(root, 0)
    document = "".join(out.parts)
    return document.encode("ascii" if document.isascii() else codec)


def reference(root: Element, codec: str) -> bytes:
    """``root`` built as an lxml tree and serialised by lxml (``pretty_print``, no declaration).

    Raises lxml's ``ValueError`` for a value XML 1.0 cannot carry."""
    data = etree.tostring(tree(root), encoding=_LXML_CODEC[codec], xml_declaration=False, pretty_print=True)
    assert isinstance(data, bytes)  # an encoding was given
    return data


def serialise(root: Element, codec: str, *, where: str) -> bytes:
    """``root`` as bytes in ``codec``: :func:`write`, else :func:`reference`; a value XML 1.0
    cannot carry is :class:`~ezhifu.errors.InvalidInput` "``where``: cannot serialise: …"."""
    data = write(root, codec)
    if data is not None:
        return data
    try:
        return reference(root, codec)
    except ValueError as exc:  # characters XML 1.0 cannot carry
        raise InvalidInput(f"{where}: cannot serialise: {exc}") from exc


def tree(node: Element, parent: etree._Element | None = None) -> etree._Element:
    """``node`` as an lxml element (under ``parent`` when given), built in document order."""
    tag, attributes, content = node
    element = etree.Element(tag, dict(attributes)) if parent is None else etree.SubElement(parent, tag)
    if parent is not None:
        for name, value in attributes:
            element.set(name, value)
    if isinstance(content, str):
        element.text = content
        return element
    for child in content:
        if len(child) == 3:
            tree(child, element)  # an Element
            continue
        for tag, text in [child] if len(child) == 2 else child[0]:
            etree.SubElement(element, tag).text = text
    return element


@functools.cache
def writes_like_lxml(codec: str) -> bool:
    """Whether lxml writes every plain character in ``codec`` as :func:`write` does: one text
    and one attribute value holding all of them, compared byte for byte (once per process)."""
    sample = "".join(chr(c) for lo, hi in PLAIN_RANGES for c in range(lo, hi + 1))
    probe = Element("a", (("b", sample),), [("c", sample)])
    mine = "".join(
        ('<a b="', _escape_attribute(sample), '">\n  <c>', _escape_text(sample), "</c>\n</a>\n")
    ).encode(codec)
    return reference(probe, codec) == mine
