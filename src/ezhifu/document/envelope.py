"""The ``<MOF>`` transmission envelope (spec.md §2.1, §5.3).

::

    <?xml version="1.0" encoding="GBK"?>
    <MOF>
      <VoucherCount>n</VoucherCount>
      <VoucherBody AdmDivCode=".." StYear=".." VtCode=".." VoucherNo="..">
        <VoucherFlag>0</VoucherFlag>
        <Return_Reason></Return_Reason>          (optional)
        <Attach></Attach>                        (optional)
        <Voucher>BASE64 of the GBK inner voucher</Voucher>
        <SignStampList>…</SignStampList>         (optional, 2024 form)
        <SignatureList>…</SignatureList>         (optional, 2024 form)
      </VoucherBody>
      …
    </MOF>

Reading is tolerant where producers differ (attribute order, optional children, UTF-8 or
GBK, several bodies) and strict where it matters for security:

* the Base64 text inside ``<Voucher>`` is kept **verbatim** (:attr:`VoucherBody.voucher_b64`):
  signatures and stamps cover exactly that text (spec.md §5.3, verified on S8), so it is never
  re-encoded once read. Note that XML itself normalises line ends (``CR LF`` -> ``LF``,
  XML 1.0 §2.11): "verbatim" means the text as the XML parser reports it;
* a duplicated single-valued child (a second ``<Voucher>`` in a body, a second
  ``VoucherCount``, ``VoucherFlag``, ``SignatureList`` …) is refused: with a forged copy
  placed first, every parser's "first match" returns the forgery (parsing.md "Values");
* unknown children and text between elements are refused, so nothing read is silently
  dropped when the envelope is written again;
* ``VoucherCount`` must equal the number of bodies. :meth:`Envelope.from_bytes` refuses a
  mismatch by default (``check_count=True``); the validator reads with ``check_count=False``
  and reports the mismatch as a ``voucher-count`` issue together with everything else.

The envelope attributes are **not signed** (spec.md §5.5):
:meth:`VoucherBody.attribute_mismatches` compares them with the signed inner voucher.

Writing keeps what the producer sent: attribute order, presence and order of the optional
children (an empty ``<SignStampList/>`` stays), and re-reading the written bytes gives an
equal envelope.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from lxml import etree

from ezhifu.document import grammar, xmlwrite
from ezhifu.document.grammar import BODY_ATTRIBUTES
from ezhifu.document.models import Voucher
from ezhifu.document.rules import (
    ENVELOPE_ATTRIBUTES,
    AttributeMismatch,
    ValidatedVoucher,
    attribute_mismatches,
    voucher_count_matches,
)
from ezhifu.document.xmlparse import (
    DEFAULT_MAX_BYTES,
    check_attributes,
    declared_encoding,
    document_encoding,
    element_text,
    parse_xml,
    source_line,
)
from ezhifu.errors import BodyNotFound, DecodingError, EnvelopeGrammarError, InvalidInput

__all__ = [
    "BODY_ATTRIBUTES",
    "MAX_VOUCHER_BYTES",
    "BodyNotFound",
    "Envelope",
    "EnvelopeReader",
    "SignStampElement",
    "SignatureElement",
    "VoucherBody",
    "canonical_base64",
    "decode_base64_strict",
    "decode_element_value",
]

#: Largest decoded inner voucher accepted (a 499-detail voucher is well under 2 MiB).
MAX_VOUCHER_BYTES = 16 * 1024 * 1024

#: The children of a body, in the order ezhifu writes them (the grammar allows any order).
_CHILD_ORDER: tuple[str, ...] = tuple(grammar.CHILDREN["VoucherBody"])
_ATTR_TO_FIELD = ENVELOPE_ATTRIBUTES
_B64_WHITESPACE = " \t\r\n"
_B64_WHITESPACE_BYTES = b" \t\r\n"
_B64_BAD = re.compile(r"[^A-Za-z0-9+/=\s]|[^\S \t\r\n]")
#: The encodings an envelope is written in, with their Python codec (:mod:`xmlwrite`).
_ENCODINGS = {"GBK": "gbk", "UTF-8": "utf-8", "GB18030": "gb18030"}


def decode_base64_strict(text: str, *, where: str = "Voucher") -> bytes:
    """Decode Base64 text strictly (RFC 4648 §4 alphabet, canonical padding).

    Whitespace policy: ASCII space, tab, CR and LF are ignored wherever they appear, since
    Java encoders (``sun.misc.BASE64Encoder``, MIME) break lines every 76 characters; any
    other character outside the alphabet, misplaced padding or a truncated final quantum is
    refused with :class:`DecodingError` whose ``offset`` is the character index in ``text``.
    """
    if text.isascii():
        compact = text.encode("ascii").translate(None, _B64_WHITESPACE_BYTES)
        if compact and len(compact) % 4 == 0:
            try:  # fast path: strict_mode refuses any non-alphabet byte and bad padding
                return binascii.a2b_base64(compact, strict_mode=True)
            except binascii.Error:
                pass  # find the precise problem below
    bad = _B64_BAD.search(text)
    if bad is not None:
        raise DecodingError(
            f"{where}: character {bad.group()!r} at offset {bad.start()} is not Base64", offset=bad.start()
        )
    stripped = text.translate({ord(c): None for c in _B64_WHITESPACE})
    if not stripped:
        raise DecodingError(f"{where}: empty Base64 text", offset=0)
    if len(stripped) % 4:
        raise DecodingError(f"{where}: Base64 text has a truncated final group ({len(stripped)} characters)")
    data_part = stripped.rstrip("=")
    if "=" in data_part or len(stripped) - len(data_part) > 2:
        raise DecodingError(f"{where}: misplaced '=' padding in the Base64 text")
    try:
        return binascii.a2b_base64(stripped, strict_mode=True)
    except binascii.Error as exc:
        raise DecodingError(f"{where}: invalid Base64: {exc}") from exc


def canonical_base64(text: str, data: bytes) -> bool:
    """Whether ``text``, which :func:`decode_base64_strict` decoded to ``data``, is the one
    Base64 text of ``data`` once white space is dropped: only the padding bits of a last,
    padded group can differ (RFC 4648 §3.5), so only that group is encoded again."""
    tail = len(data) % 3
    if not tail:
        return True  # no padded group: every group stands for exactly its three bytes
    end = "".join(text[-16:].split())  # the last group, unless white space fills the tail
    end = end if len(end) >= 4 else "".join(text.split())
    return base64.b64encode(data[-tail:]).decode("ascii") == end[-4:]


def decode_element_value(text: str, *, where: str) -> bytes:
    """The DER inside a ``<Signature>`` or ``<SignStamp>`` text (spec.md §5.3).

    Whitespace anywhere is dropped (Java encoders wrap lines), the rest must be Base64 with
    canonical padding. Raises :class:`DecodingError` "``<where>``: value is not Base64" otherwise.
    """
    try:
        return base64.b64decode("".join(text.split()).encode("ascii"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodingError(f"{where}: value is not Base64") from exc


@dataclass(frozen=True, slots=True)
class SignatureElement:
    """``<Signature No="position" SN="cert serial hex">Base64 of CMS SignedData</Signature>``.

    spec.md §5.3 (S8, verified): ``No`` is the signing position (e.g. ``cz_dwfz``), ``SN``
    the signer certificate's serial in lower-case hex, the text the Base64 of a detached
    CMS/PKCS#7 SignedData over the verbatim ``<Voucher>`` Base64 text.
    """

    no: str
    sn: str
    value: str
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SignStampElement:
    """``<SignStamp No="position" SN="seal id">Base64 of the seal signature</SignStamp>``.

    spec.md §5.3–§5.4: ``No`` is the stamp position (e.g. ``cz_dwgz``), ``SN`` the 32-hex
    seal id, the text the Base64 DER of the seal-signature structure.
    """

    no: str
    sn: str
    value: str
    line: int | None = field(default=None, compare=False)


@dataclass
class VoucherBody:
    """One ``VoucherBody``: unsigned envelope attributes, flags, the verbatim Base64 voucher,
    and its signatures and stamps (spec.md §2.1, §5.3).

    ``return_reason`` / ``attach`` are ``None`` when the element is absent and ``""`` when
    present but empty. ``attribute_order`` and ``layout`` remember how the producer wrote the
    body so that :meth:`Envelope.to_bytes` writes it back the same way.
    """

    adm_div_code: str
    st_year: str
    vt_code: str
    voucher_no: str
    voucher_flag: str = "0"
    return_reason: str | None = None
    attach: str | None = None
    voucher_b64: str = ""
    signatures: list[SignatureElement] = field(default_factory=list)
    stamps: list[SignStampElement] = field(default_factory=list)
    line: int | None = field(default=None, compare=False)
    attribute_order: tuple[str, ...] = field(default=BODY_ATTRIBUTES, compare=False)
    extra_attributes: tuple[tuple[str, str], ...] = ()
    layout: tuple[str, ...] | None = field(default=None, compare=False)
    _cache: tuple[str, Voucher] | None = field(default=None, init=False, repr=False, compare=False)
    _validated: ValidatedVoucher | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_voucher(
        cls,
        voucher: Voucher,
        *,
        voucher_flag: str = "0",
        return_reason: str | None = "",
        attach: str | None = "",
    ) -> VoucherBody:
        """Wrap a model: attributes copied from the voucher, GBK XML Base64-encoded on one line."""
        b64 = base64.b64encode(voucher.to_xml()).decode("ascii")
        body = cls(
            adm_div_code=voucher.adm_div_code,
            st_year=voucher.st_year,
            vt_code=voucher.vt_code,
            voucher_no=voucher.voucher_no,
            voucher_flag=voucher_flag,
            return_reason=return_reason,
            attach=attach,
            voucher_b64=b64,
        )
        return body

    @property
    def voucher_xml(self) -> bytes:
        """The inner voucher document (GBK XML bytes), decoded strictly from :attr:`voucher_b64`."""
        data = decode_base64_strict(self.voucher_b64, where=f"VoucherBody {self.voucher_no!r}/Voucher")
        if len(data) > MAX_VOUCHER_BYTES:
            raise InvalidInput(
                f"VoucherBody {self.voucher_no!r}: inner voucher larger than {MAX_VOUCHER_BYTES}"
            )
        return data

    @property
    def voucher(self) -> Voucher:
        """The parsed inner voucher (typed model by VtCode; cached per Base64 text)."""
        if self._cache is not None and self._cache[0] == self.voucher_b64:
            return self._cache[1]
        model = Voucher.from_xml(self.voucher_xml, what=f"inner voucher of VoucherBody {self.voucher_no!r}")
        self._cache = (self.voucher_b64, model)
        return model

    def adopt(self, validated: Iterable[ValidatedVoucher]) -> bool:
        """Keep the one of ``validated`` whose text is exactly :attr:`voucher_b64` (else none)."""
        for item in validated:
            if isinstance(item, ValidatedVoucher) and item.text == self.voucher_b64:
                self._validated = item
                return True
        return False

    def signed_attributes(self) -> dict[str, str]:
        """The four envelope attributes as the signed inner voucher has them (spec.md §5.5): from
        the adopted reading of this exact text, else from :attr:`voucher` (which may raise)."""
        known = self._validated
        if known is not None and known.text == self.voucher_b64:
            return dict(known.attributes)
        inner = self.voucher
        return {attr: inner.get(attr, "") or "" for attr in _ATTR_TO_FIELD}

    def attribute_mismatches(self) -> list[AttributeMismatch]:
        """``(attribute, envelope value, signed inner value)`` for each envelope attribute that
        differs from the inner voucher (:func:`ezhifu.document.rules.attribute_mismatches`;
        spec.md §5.5: the attributes are not signed)."""
        outer = {attr: getattr(self, name) for attr, name in _ATTR_TO_FIELD.items()}
        return attribute_mismatches(outer, self.signed_attributes())

    # --- XML ------------------------------------------------------------------------------

    @classmethod
    def from_element(cls, element: etree._Element, *, index: int = 1) -> VoucherBody:
        """Read one body element (its children already checked by :func:`grammar.check_end`
        when it comes from :class:`EnvelopeReader`): attributes, duplicates, ``<Voucher>``."""
        where = f"/MOF/VoucherBody[{index}]"
        line = source_line(element)
        attrs = {str(k): str(v) for k, v in element.attrib.items()}
        missing = [a for a in BODY_ATTRIBUTES if a not in attrs]
        if missing:
            raise EnvelopeGrammarError(
                f"{where} (line {line}): 缺少属性 / missing attribute {', '.join(missing)}",
                code="missing-attribute",
                path=where,
                line=line,
            )
        _only_elements(element, where)
        seen: dict[str, etree._Element] = {}
        order: list[str] = []
        for child in element.iterchildren(etree.Element):
            tag = str(child.tag)
            if tag not in _CHILD_ORDER:
                raise EnvelopeGrammarError(
                    f"{where}: unexpected element <{tag}> at line {child.sourceline}",
                    code="unknown-element",
                    path=f"{where}/{tag}",
                    line=source_line(child),
                )
            if tag in seen:
                raise EnvelopeGrammarError(
                    f"{where}: second <{tag}> at line {child.sourceline} "
                    f"(first at line {seen[tag].sourceline}); duplicated elements are refused / 元素重复",
                    code="duplicate-element",
                    path=f"{where}/{tag}",
                    line=source_line(child),
                )
            seen[tag] = child
            order.append(tag)
        if "Voucher" not in seen:
            raise EnvelopeGrammarError(
                f"{where} (line {line}): 缺少 <Voucher> / no <Voucher> element",
                code="missing-element",
                path=f"{where}/Voucher",
                line=line,
            )

        def text(tag: str) -> str | None:
            node = seen.get(tag)
            return None if node is None else element_text(node, where=f"{where}/{tag}")

        body = cls(
            adm_div_code=attrs["AdmDivCode"],
            st_year=attrs["StYear"],
            vt_code=attrs["VtCode"],
            voucher_no=attrs["VoucherNo"],
            voucher_flag=text("VoucherFlag") or "",
            return_reason=text("Return_Reason"),
            attach=text("Attach"),
            voucher_b64=text("Voucher") or "",
            signatures=_items(seen.get("SignatureList"), "Signature", SignatureElement, where),
            stamps=_items(seen.get("SignStampList"), "SignStamp", SignStampElement, where),
            line=source_line(element),
            attribute_order=tuple(attrs),
            extra_attributes=tuple((k, v) for k, v in attrs.items() if k not in BODY_ATTRIBUTES),
            layout=tuple(order),
        )
        return body

    def _children_to_write(self) -> list[str]:
        layout = self.layout or ()
        wanted = {
            "VoucherFlag": self.voucher_flag != "" or "VoucherFlag" in layout or not layout,
            "Return_Reason": self.return_reason is not None,
            "Attach": self.attach is not None,
            "Voucher": True,
            "SignStampList": bool(self.stamps or self.signatures) or "SignStampList" in layout,
            "SignatureList": bool(self.stamps or self.signatures) or "SignatureList" in layout,
        }
        if not layout:  # each in ezhifu's order
            return [tag for tag in _CHILD_ORDER if wanted[tag]]
        out = [tag for tag in layout if wanted.get(tag)]
        for tag in _CHILD_ORDER:
            if wanted[tag] and tag not in out:
                before = _CHILD_ORDER[: _CHILD_ORDER.index(tag)]
                position = 0
                for i, present in enumerate(out):
                    if present in before:
                        position = i + 1
                out.insert(position, tag)
        return out

    def to_element(self) -> etree._Element:
        """The body as an lxml element (as :meth:`Envelope.to_bytes` writes it)."""
        return xmlwrite.tree(self._element())

    def _element(self) -> xmlwrite.Element:
        values = {attr: getattr(self, name) for attr, name in _ATTR_TO_FIELD.items()}
        values.update(self.extra_attributes)
        names = [a for a in self.attribute_order if a in values]
        names += [a for a in values if a not in names]
        texts = {
            "VoucherFlag": self.voucher_flag,
            "Return_Reason": self.return_reason or "",
            "Attach": self.attach or "",
            "Voucher": self.voucher_b64,
        }
        children: list[xmlwrite.Element | xmlwrite.Leaf] = []
        for tag in self._children_to_write():
            if tag in texts:
                children.append((tag, texts[tag]))
                continue
            items = self.stamps if tag == "SignStampList" else self.signatures
            item = "SignStamp" if tag == "SignStampList" else "Signature"
            elements = [xmlwrite.Element(item, (("No", i.no), ("SN", i.sn)), i.value) for i in items]
            children.append(xmlwrite.Element(tag, (), elements))
        return xmlwrite.Element("VoucherBody", tuple((a, values[a]) for a in names), children)


def _only_elements(element: etree._Element, where: str) -> None:
    pieces = [element.text or ""] + [child.tail or "" for child in element]
    if "".join(pieces).strip():
        raise InvalidInput(f"{where} (line {element.sourceline}): text between elements is not allowed")


_Item = TypeVar("_Item", SignatureElement, SignStampElement)


def _items(container: etree._Element | None, tag: str, kind: type[_Item], where: str) -> list[_Item]:
    if container is None:
        return []
    path = f"{where}/{container.tag}"
    _only_elements(container, path)
    out: list[_Item] = []
    for child in container:
        if not isinstance(child.tag, str):
            continue
        if child.tag != tag:
            raise InvalidInput(f"{path}: unexpected element <{child.tag}> at line {child.sourceline}")
        no, sn = child.get("No"), child.get("SN")
        if not no or sn is None:
            raise InvalidInput(f"{path}/{tag} at line {child.sourceline}: attributes No and SN are required")
        out.append(
            kind(no=no, sn=sn, value=element_text(child, where=f"{path}/{tag}"), line=source_line(child))
        )
    return out


@dataclass
class Envelope:
    """A ``<MOF>`` envelope: one or more :class:`VoucherBody` (spec.md §2.1).

    ``declared_count`` is the ``VoucherCount`` text as read (``None`` for a built envelope);
    ``encoding`` the encoding declared by the document read (GBK by default).
    """

    bodies: list[VoucherBody] = field(default_factory=list)
    declared_count: str | None = field(default=None, compare=False)
    encoding: str = field(default="GBK", compare=False)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        check_count: bool = True,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> Envelope:
        """Read an envelope with the hardened parser (GBK, GB18030 or UTF-8).

        Raises :class:`~ezhifu.errors.InvalidInput` (or its subclasses ``HostileInputError``,
        ``DecodingError``) naming the element and line. With ``check_count=False`` a
        ``VoucherCount`` that differs from the number of bodies is kept in
        :attr:`declared_count` instead of refused (the validator reports it).
        """
        if isinstance(data, bytes | bytearray) and 0 < len(data) <= max_bytes:
            # Before parsing, as the streaming reader scans each chunk before feeding it.
            grammar.scan_markup(bytes(data), declared_encoding(bytes(data))[1])
        # The grammar (depth 4) refuses any deeper element at the first end tag inside it, as
        # the streaming reader does; libxml2 still stops nesting past 256 for both.
        root = parse_xml(data, what="envelope", max_bytes=max_bytes, max_depth=256)
        encoding = document_encoding(root, bytes(data)).upper()
        return cls.from_element(root, check_count=check_count, encoding=encoding)

    @classmethod
    def from_element(
        cls, root: etree._Element, *, check_count: bool = True, encoding: str = "GBK"
    ) -> Envelope:
        """Read a parsed tree with :class:`EnvelopeReader` (the elements in end-tag order,
        as the streaming reader sees them)."""
        markup = root.xpath("//comment() | //processing-instruction()")
        if isinstance(markup, list) and markup:
            node = markup[0]
            line = source_line(node) if isinstance(node, etree._Element) else None
            raise EnvelopeGrammarError(
                f"/ (line {line}): 信封中不允许注释或处理指令 / a comment or processing instruction "
                "is not allowed in an envelope",
                code="markup-not-allowed",
                path="/",
                line=line,
            )
        reader = EnvelopeReader()
        bodies: list[VoucherBody] = []
        for _event, element in etree.iterwalk(root, events=("end",)):
            if isinstance(element, etree._Element):
                body = reader.end(element)
                if body is not None:
                    bodies.append(body)
        declared = reader.finish(check_count=check_count)
        return cls(bodies=bodies, declared_count=declared, encoding=encoding)

    @classmethod
    def build(cls, vouchers: Iterable[Voucher | VoucherBody], *, voucher_flag: str = "0") -> Envelope:
        """A new envelope with one body per voucher (models are GBK-encoded then Base64)."""
        bodies = [
            v if isinstance(v, VoucherBody) else VoucherBody.from_voucher(v, voucher_flag=voucher_flag)
            for v in vouchers
        ]
        if not bodies:
            raise InvalidInput("Envelope.build: no voucher given")
        return cls(bodies=bodies, declared_count=str(len(bodies)))

    @property
    def count_matches(self) -> bool:
        """Whether the ``VoucherCount`` read equals the number of bodies (True when built)."""
        return voucher_count_matches(self.declared_count, len(self.bodies))

    def body(self, voucher_no: str) -> VoucherBody:
        """The body whose ``VoucherNo`` attribute is ``voucher_no``; failing that, the body whose
        signed inner ``VoucherNo`` is (the attribute may hold a placeholder, spec.md §5.5)."""
        for body in self.bodies:
            if body.voucher_no == voucher_no:
                return body
        for body in self.bodies:
            try:
                if body.voucher.voucher_no == voucher_no:
                    return body
            except InvalidInput:
                continue
        raise BodyNotFound(f"no VoucherBody with VoucherNo {voucher_no!r}")

    def to_bytes(self, encoding: str = "GBK") -> bytes:
        """Serialise (GBK by default; also UTF-8 or GB18030). ``VoucherCount`` is written as
        the number of bodies. Re-reading the bytes gives an equal envelope."""
        name = encoding.upper()
        codec = _ENCODINGS.get(name)
        if codec is None:
            raise InvalidInput(f"unsupported envelope encoding {encoding!r} (use GBK, UTF-8 or GB18030)")
        bodies = [body._element() for body in self.bodies]
        root = xmlwrite.Element("MOF", (), [("VoucherCount", str(len(self.bodies))), *bodies])
        data = xmlwrite.serialise(root, codec, where="envelope")
        return f'<?xml version="1.0" encoding="{name}"?>\n'.encode("ascii") + data


class EnvelopeReader:
    """The one envelope reader: fed every element when its end tag is read, in document order.

    :meth:`Envelope.from_element` feeds it the tree (``iterwalk``), the streaming reader
    (:func:`ezhifu.verify.stream.iter_bodies`) the pull parser's "end" events, so both refuse
    the same documents with the same :class:`~ezhifu.errors.EnvelopeGrammarError` (code, path,
    line; :mod:`ezhifu.document.grammar`). :meth:`end` returns each complete body.
    """

    def __init__(self) -> None:
        self.bodies = 0
        self.declared: str | None = None
        self._count_line: int | None = None
        self._root_checked = False

    def end(self, element: etree._Element) -> VoucherBody | None:
        """Check ``element`` (its end tag was just read); a complete top-level body is returned."""
        if not self._root_checked:
            root = element.getroottree().getroot()
            grammar.check_root(root)
            check_attributes(root, what="/MOF")
            self._root_checked = True
        check_attributes(element, what=str(element.tag))
        grammar.check_end(element, self.bodies + 1)
        parent = element.getparent()
        if parent is None or parent.getparent() is not None:
            return None  # deeper elements are read with their body; the root ends last
        if element.tag == "VoucherBody":
            self.bodies += 1
            return VoucherBody.from_element(element, index=self.bodies)
        if self.declared is not None:  # the grammar allows only these two under <MOF>
            raise EnvelopeGrammarError(
                f"/MOF: second <VoucherCount> at line {element.sourceline}; duplicated elements "
                "are refused / 元素重复",
                code="duplicate-element",
                path="/MOF/VoucherCount",
                line=source_line(element),
            )
        self.declared = element_text(element, where="/MOF/VoucherCount")
        self._count_line = source_line(element)
        return None

    def finish(self, *, check_count: bool = True) -> str | None:
        """After the last element: the ``VoucherCount`` text, checked against the bodies read."""
        if not check_count:
            return self.declared
        if self.declared is None:
            raise EnvelopeGrammarError(
                "/MOF: 缺少 <VoucherCount> / no <VoucherCount> element",
                code="missing-element",
                path="/MOF/VoucherCount",
            )
        if not voucher_count_matches(self.declared, self.bodies):
            raise EnvelopeGrammarError(
                f"/MOF/VoucherCount (line {self._count_line}): declares {self.declared!r} but the envelope "
                f"holds {self.bodies} VoucherBody / 凭证数不符",
                code="voucher-count",
                path="/MOF/VoucherCount",
                line=self._count_line,
            )
        if not self.bodies:
            raise EnvelopeGrammarError(
                "/MOF: no VoucherBody / 没有 VoucherBody", code="missing-element", path="/MOF/VoucherBody"
            )
        return self.declared
