"""Inner voucher models: the decoded ``<Voucher>`` document of each ``VoucherBody``.

An inner voucher (spec.md §2.2) is ``<Voucher>`` with header fields as child elements and
``<DetailList><Detail>…</Detail>…</DetailList>``. :class:`Voucher` keeps **every** element
in the order read, including empty ones and elements it does not know, so a partner's new
type is readable and is written back unchanged; typed subclasses (one per modelled VtCode,
generated from :mod:`ezhifu.document.fields`) add typed access through the field data:
amounts as :class:`~decimal.Decimal` with exactly two decimals, dates ``yyyyMMdd`` as
:class:`datetime.date`, codes as strings (code lists are data, never enums).

Models are immutable: :meth:`Voucher.replace` returns a new voucher (for instance a 回单 with
its X-fields filled). Remember that a voucher's XML must not be re-serialised after it has
been signed (spec.md §2.2, §5.5): signatures cover the verbatim Base64 text kept by
:class:`ezhifu.document.envelope.VoucherBody`, not this model.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple, overload

from lxml import etree

from ezhifu.document import fields as _fields
from ezhifu.document import xmlwrite
from ezhifu.document.fields import DEFAULT_SCHEMA_VERSION, FieldDef, VoucherSpec
from ezhifu.document.values import (
    FieldValue,
    format_amount,
    format_date,
    parse_amount,
    parse_date,
    to_text,
    typed_value,
)
from ezhifu.document.xmlparse import parse_xml
from ezhifu.errors import InvalidInput

__all__ = [
    "VOUCHER_CLASSES",
    "Detail",
    "FieldValue",
    "Voucher",
    "format_amount",
    "format_date",
    "parse_amount",
    "parse_date",
    "to_text",
    "voucher_class",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_GBK_DECL = b'<?xml version="1.0" encoding="GBK"?>\n'
_STR = frozenset({str})


@functools.lru_cache(maxsize=4096)
def _valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def _check_pairs(pairs: Iterable[tuple[str, str]], where: str) -> tuple[tuple[str, str], ...]:
    out = tuple(pairs)
    seen: set[str] = set()
    for name, value in out:
        if not isinstance(name, str) or not _valid_name(name):
            raise InvalidInput(f"{where}: {name!r} is not a valid element name")
        if not isinstance(value, str):
            raise InvalidInput(f"{where}/{name}: value must be a string, got {type(value).__name__}")
        if name in seen:
            raise InvalidInput(f"{where}: element {name} appears twice")
        seen.add(name)
    return out


class _FieldNames(NamedTuple):
    """A modelled type's element names in order and as sets (:meth:`Voucher.build`)."""

    header: tuple[str, ...]
    header_set: frozenset[str]
    detail: tuple[str, ...]
    detail_set: frozenset[str]


@functools.cache
def _field_names(vt_code: str, version: str) -> _FieldNames:
    """The names of a modelled type, checked once as :func:`_check_pairs` checks given names
    (valid element names, none twice): a built voucher's pairs need no check of their own."""
    spec = _fields.spec_for(vt_code, version)
    assert spec is not None  # the caller looked it up
    header = tuple(n for n, _ in _check_pairs(((f.name, "") for f in spec.header), "/Voucher"))
    detail = tuple(n for n, _ in _check_pairs(((f.name, "") for f in spec.detail), "Detail"))
    return _FieldNames(header, frozenset(header), detail, frozenset(detail))


def _texts(
    defs: tuple[FieldDef, ...], names: tuple[str, ...], values: Mapping[str, FieldValue], where: str
) -> tuple[tuple[str, str], ...]:
    """``(name, text)`` of every field of ``defs`` (named ``names``) in order, ``""`` for one
    not given; a value that is not a ``str`` converted by :func:`to_text`, in field order."""
    texts: list[Any] = list(map(values.get, names))
    if not set(map(type, texts)) <= _STR:
        for i, value in enumerate(texts):
            if type(value) is not str:
                texts[i] = to_text(value, defs[i], where=where + names[i])
    return tuple(zip(names, texts, strict=True))


class _Elements:
    """Ordered ``(element, text)`` pairs and their index by name: a voucher header, a detail row."""

    __slots__ = ("_fields", "_index")
    _WHERE: ClassVar[str]  # the path prefix named in amount errors
    _fields: tuple[tuple[str, str], ...]
    _index: dict[str, str]

    @property
    def fields(self) -> tuple[tuple[str, str], ...]:
        return self._fields

    def get(self, name: str, default: str | None = None) -> str | None:
        """The text of element ``name`` (``default`` when absent)."""
        return self._index.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def amount(self, name: str) -> Decimal | None:
        """The amount in ``name`` (``None`` when absent or empty); strict two-decimal grammar."""
        text = self._index.get(name)
        return parse_amount(text, where=f"{self._WHERE}{name}", level="partner") if text else None


class Detail(_Elements):
    """One ``DetailList/Detail`` row: ordered ``(element, text)`` pairs, immutable."""

    __slots__ = ()
    _WHERE = "Detail/"

    def __init__(self, fields: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        items = fields.items() if isinstance(fields, Mapping) else fields
        self._fields = _check_pairs(items, "Detail")
        self._index = dict(self._fields)

    @classmethod
    def _checked(cls, pairs: tuple[tuple[str, str], ...]) -> Detail:
        """A row of pairs already checked (names of the field data, str texts)."""
        row = cls.__new__(cls)
        row._fields = pairs
        row._index = dict(pairs)
        return row

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._fields)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def replace(self, **fields: FieldValue) -> Detail:
        """A copy with ``fields`` changed; new elements are appended in call order."""
        return Detail(_replace_pairs(self._fields, fields, None, "Detail"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Detail):
            return NotImplemented
        return self._fields == other._fields

    def __hash__(self) -> int:
        return hash(self._fields)

    def __repr__(self) -> str:
        return f"Detail({dict(self._fields)!r})"


def _replace_pairs(
    pairs: tuple[tuple[str, str], ...],
    changes: Mapping[str, FieldValue],
    order: tuple[FieldDef, ...] | None,
    where: str,
) -> list[tuple[str, str]]:
    """Replace in place; insert a missing field after its predecessor in ``order``."""
    out = list(pairs)
    index = {name: i for i, (name, _) in enumerate(out)}
    defs = {d.name: d for d in order} if order else {}
    for name, value in changes.items():
        if order is not None and name not in defs and name not in index:
            raise InvalidInput(f"{where}: no element {name} in this voucher type")
        text = to_text(value, defs.get(name), where=f"{where}/{name}")
        if name in index:
            out[index[name]] = (name, text)
            continue
        position = len(out)
        if order is not None:
            names = [d.name for d in order]
            before = {n for n in names[: names.index(name)]}
            position = 0
            for i, (present, _) in enumerate(out):
                if present in before:
                    position = i + 1
        out.insert(position, (name, text))
        index = {n: i for i, (n, _) in enumerate(out)}
    return out


class _HeaderText:
    """A voucher's header element read as an attribute: its text, ``""`` when absent."""

    __slots__ = ("element",)

    def __init__(self, element: str) -> None:
        self.element = element

    @overload
    def __get__(self, voucher: None, owner: type) -> _HeaderText: ...
    @overload
    def __get__(self, voucher: Voucher, owner: type) -> str: ...
    def __get__(self, voucher: Voucher | None, owner: type) -> _HeaderText | str:
        return self if voucher is None else voucher._index.get(self.element, "")


class Voucher(_Elements):
    """A generic inner voucher: ordered header fields plus detail rows.

    ``fields`` are ``(element, text)`` pairs in document order, ``""`` for an empty element;
    ``details`` the ``DetailList/Detail`` rows; ``detail_list`` whether a ``DetailList``
    element is present (even empty) and ``detail_index`` how many header fields precede it.
    Typed subclasses set :attr:`VT_CODE` (see :data:`VOUCHER_CLASSES`).
    """

    VT_CODE: ClassVar[str | None] = None

    __slots__ = ("_attributes", "_detail_index", "_detail_list", "_details")
    _WHERE = "/Voucher/"

    def __init__(
        self,
        fields: Iterable[tuple[str, str]] | Mapping[str, str],
        details: Iterable[Detail | Mapping[str, str]] = (),
        *,
        detail_list: bool | None = None,
        detail_index: int | None = None,
        attributes: Iterable[tuple[str, str]] = (),
    ) -> None:
        items = fields.items() if isinstance(fields, Mapping) else fields
        rows = tuple(d if isinstance(d, Detail) else Detail(d) for d in details)
        self._set(_check_pairs(items, "/Voucher"), rows, detail_list, detail_index, tuple(attributes))

    def _set(
        self,
        fields: tuple[tuple[str, str], ...],
        details: tuple[Detail, ...],
        detail_list: bool | None,
        detail_index: int | None,
        attributes: tuple[tuple[str, str], ...],
    ) -> None:
        """The checks of the whole voucher, on checked pairs and rows."""
        self._fields = fields
        self._index = dict(fields)
        self._details = details
        self._detail_list = bool(details) if detail_list is None else detail_list
        if self._details and not self._detail_list:
            raise InvalidInput("/Voucher: details given but detail_list=False")
        n = len(self._fields)
        # without a DetailList the position is meaningless: normalise it (for equality)
        self._detail_index = n if detail_index is None or not self._detail_list else detail_index
        if not 0 <= self._detail_index <= n:
            raise InvalidInput(f"/Voucher: detail_index {self._detail_index} out of range 0..{n}")
        self._attributes = attributes
        if self.VT_CODE is not None and self._index.get("VtCode") != self.VT_CODE:
            raise InvalidInput(
                f"/Voucher/VtCode: {self._index.get('VtCode')!r} does not match {type(self).__name__}"
            )

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        vt_code: str,
        fields: Mapping[str, FieldValue] | None = None,
        details: Iterable[Mapping[str, FieldValue]] = (),
        *,
        schema_version: str = DEFAULT_SCHEMA_VERSION,
    ) -> Voucher:
        """A new voucher of a modelled type with **every** element of the type, in order.

        Elements not given are written empty, as producers do (spec.md §2.2). Values are
        converted by field type (``Decimal`` -> two decimals, ``date`` -> ``yyyyMMdd``).
        """
        spec = _fields.spec_for(vt_code, schema_version)
        if spec is None:
            raise InvalidInput(f"VtCode {vt_code!r} is not modelled in schema version {schema_version}")
        names = _field_names(vt_code, schema_version)
        given = dict(fields or {})
        given.setdefault("VtCode", vt_code)
        if not names.header_set.issuperset(given):
            unknown = sorted(set(given) - names.header_set)
            raise InvalidInput(f"/Voucher: no element {', '.join(unknown)} in VtCode {vt_code}")
        header = _texts(spec.header, names.header, given, "/Voucher/")
        rows: list[Detail] = []
        for i, row in enumerate(details, 1):
            if not names.detail_set.issuperset(row):
                extra = sorted(set(row) - names.detail_set)
                raise InvalidInput(f"/Voucher/DetailList/Detail[{i}]: no element {', '.join(extra)}")
            rows.append(Detail._checked(_texts(spec.detail, names.detail, row, f"Detail[{i}]/")))
        target = voucher_class(vt_code)
        voucher = target.__new__(target)  # names checked once per type (_field_names), texts are str
        voucher._set(header, tuple(rows), spec.has_details, None, ())
        return voucher

    @classmethod
    def from_xml(cls, data: bytes, *, what: str = "inner voucher") -> Voucher:
        """Parse an inner voucher document (GBK or UTF-8) with the hardened parser.

        Duplicated header elements and duplicated elements in a detail row are refused
        (a forged copy placed first would otherwise win, parsing.md "Values").
        """
        return cls.from_element(parse_xml(data, what=what), what=what)

    @classmethod
    def from_element(cls, root: etree._Element, *, what: str = "inner voucher") -> Voucher:
        if root.tag != "Voucher":
            raise InvalidInput(f"{what}: root element is <{root.tag}>, expected <Voucher>")
        _no_text(root, what, "/Voucher")
        header: list[tuple[str, str]] = []
        details: list[Detail] = []
        detail_list = False
        detail_index = 0
        for child in root:
            if not isinstance(child.tag, str):
                continue  # comment or PI between fields (inside values they are refused)
            path = f"/Voucher/{child.tag}"
            if child.tag == "DetailList":
                if detail_list:
                    raise InvalidInput(f"{what}: second <DetailList> at line {child.sourceline}")
                detail_list, detail_index = True, len(header)
                _no_text(child, what, path)
                for row in child:
                    if not isinstance(row.tag, str):
                        continue
                    if row.tag != "Detail":
                        raise InvalidInput(
                            f"{what}: unexpected <{row.tag}> in DetailList at line {row.sourceline}"
                        )
                    _no_text(row, what, f"{path}/Detail")
                    details.append(Detail(_leaf_pairs(row, what, f"{path}/Detail[{len(details) + 1}]")))
                continue
            header.append(_leaf(child, what, path))
        _no_duplicates(header, what, "/Voucher", root)
        vt_code = dict(header).get("VtCode", "")
        target = cls if cls.VT_CODE is not None else voucher_class(vt_code)
        return target(
            header,
            details,
            detail_list=detail_list,
            detail_index=detail_index,
            attributes=tuple((str(k), str(v)) for k, v in root.attrib.items()),
        )

    def to_xml(self) -> bytes:
        """Serialise as a GBK document, one element per line, empty elements written empty.

        Characters GBK cannot encode are written as character references (:mod:`xmlwrite`:
        the bytes lxml writes for the same tree)."""
        return _GBK_DECL + xmlwrite.serialise(self._element(), "gbk", where="/Voucher")

    def _element(self) -> xmlwrite.Element:
        fields, at = self._fields, self._detail_index
        if not self._detail_list:
            return xmlwrite.Element("Voucher", self._attributes, [xmlwrite.Leaves(fields)])
        rows = [xmlwrite.Element("Detail", (), [xmlwrite.Leaves(row.fields)]) for row in self._details]
        content = [
            xmlwrite.Leaves(fields[:at]),
            xmlwrite.Element("DetailList", (), rows),
            xmlwrite.Leaves(fields[at:]),
        ]
        return xmlwrite.Element("Voucher", self._attributes, content)

    # --- access -----------------------------------------------------------------------

    @classmethod
    def spec(cls, schema_version: str = DEFAULT_SCHEMA_VERSION) -> VoucherSpec | None:
        """The field data of this class's VtCode (``None`` for the generic model)."""
        return _fields.spec_for(cls.VT_CODE, schema_version) if cls.VT_CODE else None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._fields)

    @property
    def details(self) -> tuple[Detail, ...]:
        return self._details

    @property
    def detail_list(self) -> bool:
        return self._detail_list

    @property
    def detail_index(self) -> int:
        return self._detail_index

    @property
    def attributes(self) -> tuple[tuple[str, str], ...]:
        return self._attributes

    def _definition(self, name: str) -> FieldDef | None:
        spec = type(self).spec() or _fields.spec_for(self.vt_code)
        return spec.header_field(name) if spec else None

    def typed(self, name: str) -> str | Decimal | date | int | None:
        """The header value converted by its field type (text for an unknown type/field)."""
        text = self._index.get(name)
        if text is None:
            return None
        return typed_value(text, self._definition(name), f"/Voucher/{name}")

    def date_value(self, name: str) -> date | None:
        text = self._index.get(name)
        return parse_date(text, where=f"/Voucher/{name}") if text else None

    vt_code = _HeaderText("VtCode")
    voucher_no = _HeaderText("VoucherNo")
    adm_div_code = _HeaderText("AdmDivCode")
    st_year = _HeaderText("StYear")
    id = _HeaderText("Id")

    @property
    def vou_date(self) -> date | None:
        return self.date_value("VouDate")

    @property
    def pay_amt(self) -> Decimal | None:
        return self.amount("PayAmt")

    @property
    def x_fields(self) -> tuple[str, ...]:
        """Header X-fields present (filled by the receiver in the 回单, spec.md §4.1)."""
        out = []
        for name in self.field_names:
            definition = self._definition(name)
            if definition.x_field if definition else name[:1] == "X" and name[1:2].isupper():
                out.append(name)
        return tuple(out)

    @property
    def hold_fields(self) -> tuple[str, ...]:
        """Reserved ``Hold1``/``Hold2`` header fields present (regions overload them, spec.md §4.1)."""
        return tuple(name for name in self.field_names if name.startswith("Hold"))

    def detail_sum(self, name: str = "PayAmt") -> Decimal:
        """Sum of ``name`` over the detail rows (empty values count as zero)."""
        return sum((d.amount(name) or Decimal("0.00") for d in self._details), Decimal("0.00"))

    def replace(
        self, *, details: Iterable[Detail | Mapping[str, str]] | None = None, **fields: FieldValue
    ) -> Voucher:
        """A new voucher with header ``fields`` changed (and ``details`` replaced if given).

        For a modelled type only its elements are accepted; a missing one is inserted at its
        place in the type's order. The voucher type (``VtCode``) cannot be changed.
        """
        if "VtCode" in fields and to_text(fields["VtCode"]) != self.vt_code:
            raise InvalidInput("/Voucher/VtCode: the voucher type cannot be changed; build a new voucher")
        spec = type(self).spec() or _fields.spec_for(self.vt_code)
        order = spec.header if spec else None
        pairs = _replace_pairs(self._fields, fields, order, "/Voucher")
        index = self._detail_index
        old_names = self.field_names
        if index < len(old_names):  # keep DetailList before the same element
            anchor = old_names[index]
            index = [n for n, _ in pairs].index(anchor)
        else:
            index = len(pairs)
        rows = self._details if details is None else tuple(details)
        return type(self)(
            pairs,
            rows,
            detail_list=self._detail_list or bool(rows),
            detail_index=index,
            attributes=self._attributes,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Voucher):
            return NotImplemented
        return self._key() == other._key()

    def _key(self) -> tuple[Any, ...]:
        return (self._fields, self._details, self._detail_list, self._detail_index, self._attributes)

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(VtCode={self.vt_code!r}, VoucherNo={self.voucher_no!r}, "
            f"fields={len(self._fields)}, details={len(self._details)})"
        )


def _no_text(element: etree._Element, what: str, path: str) -> None:
    """Container elements hold elements only: refuse text between them (mixed content)."""
    pieces = [element.text or ""] + [child.tail or "" for child in element]
    if "".join(pieces).strip():
        raise InvalidInput(f"{what}: text is not allowed directly inside {path} (line {element.sourceline})")


def _leaf(child: etree._Element, what: str, path: str) -> tuple[str, str]:
    """A leaf field: text only (no child markup, no attributes), no namespace."""
    tag = child.tag
    if not isinstance(tag, str) or tag[:1] == "{":
        raise InvalidInput(f"{what}: namespaced element {tag!r} at line {child.sourceline} refused")
    if len(child):
        raise InvalidInput(f"{what}: <{path}> at line {child.sourceline} must hold text only")
    if child.attrib:
        raise InvalidInput(f"{what}: attributes on {path} at line {child.sourceline} are not allowed")
    return tag, child.text or ""


def _leaf_pairs(row: etree._Element, what: str, path: str) -> list[tuple[str, str]]:
    pairs = [_leaf(child, what, path) for child in row.iterchildren(etree.Element)]
    _no_duplicates(pairs, what, path, row)
    return pairs


def _no_duplicates(pairs: list[tuple[str, str]], what: str, path: str, parent: etree._Element) -> None:
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            lines = [c.sourceline for c in parent if c.tag == name]
            raise InvalidInput(
                f"{what}: element {path}/{name} appears more than once (lines {lines}); "
                "duplicated single-valued fields are refused"
            )
        seen.add(name)


def _make_class(vt_code: str) -> type[Voucher]:
    name, source = _fields.type_name(vt_code)  # not its spec: specs are built on first use
    doc = f"VtCode {vt_code} {name} (fields: {source}; generated from ezhifu.document.fields)."
    return type(f"Voucher{vt_code}", (Voucher,), {"VT_CODE": vt_code, "__doc__": doc, "__slots__": ()})


#: VtCode -> typed model class, for every VtCode in any schema version.
VOUCHER_CLASSES: Mapping[str, type[Voucher]] = {vt: _make_class(vt) for vt in _fields.known_vt_codes()}


def voucher_class(vt_code: str) -> type[Voucher]:
    """The typed class of ``vt_code``, or the generic :class:`Voucher` for an unknown type."""
    return VOUCHER_CLASSES.get(vt_code, Voucher)
