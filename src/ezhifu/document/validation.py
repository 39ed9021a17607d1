"""Validation of envelopes and inner vouchers against the bundled schemas, plus the rules XSD
cannot express: the ``validate`` / ``is_valid`` / ``iter_errors`` triad.

Two paths over the same XSDs (generated from :mod:`ezhifu.document.fields`, see
:mod:`ezhifu.document.xsdgen`):

* :func:`iter_errors` / :func:`validate`: the detailed report. xmlschema (prebuilt
  ``XMLSchema`` instances, ``allow="none"``, ``defuse="always"``, no location hints, no
  network) checks every value; ezhifu's own structural check, generated from the same field
  data, reports each missing, unknown or duplicated element separately (an ``xs:all``
  content-model error lumps them together); then the rules beyond XSD. Every issue found is
  reported, not only the first. With the default ``engine="auto"`` libxml2 looks first and
  xmlschema runs only on a document libxml2 refuses (a property test checks that the two
  agree); ``engine="xmlschema"`` always runs it.
* :func:`is_valid`: a fast yes/no through libxml2's C validator (``lxml.etree.XMLSchema``)
  over the same XSDs, plus the same rules.

Documents are always parsed by the hardened parser (:func:`~ezhifu.document.xmlparse.parse_xml`)
and handed to the validators as lxml trees, so GBK is read correctly (expat cannot, parsing.md)
and each element keeps its source line.

Rules beyond XSD (each reported as a :class:`~ezhifu.errors.ValidationIssue` with a stable
``code``): header amount equals the sum of the details where the type has a sum rule
(``sum-mismatch``); ``VoucherCount`` equals the number of bodies (``voucher-count``); the
envelope attributes equal the signed inner voucher's (``attribute-mismatch``, spec.md §5.5);
fewer than 500 details (``too-many-details``, S1); the VtCode is modelled in the schema
version (``unknown-vtcode``); dates are real calendar dates (``date-invalid``).

**Paths and lines.** Issues inside an inner voucher have paths such as
``/MOF/VoucherBody[1]/Voucher/DetailList/Detail[2]/PayAmt``. The inner voucher travels as
Base64 inside the envelope, so its ``line`` is the line **in the decoded inner voucher
document**, not in the envelope. Issues on the envelope itself carry envelope lines.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator, Sequence
from typing import Literal

import xmlschema
from lxml import etree

from ezhifu.document import fields as _fields
from ezhifu.document.envelope import Envelope, decode_base64_strict
from ezhifu.document.fields import MAX_DETAILS, FieldDef, VoucherSpec
from ezhifu.document.grammar import BODY_ATTRIBUTES
from ezhifu.document.issues import (
    BODY_ATTRS,
    HOSTILE_CODES,
    ISSUE_CODES,
    MAX_ISSUES,
    MAX_XSD_ERRORS,
    Collector,
    child_elements,
    issue_path,
    string_value,
)
from ezhifu.document.models import Voucher, parse_date
from ezhifu.document.rules import (
    attribute_mismatches,
    classify_refused_value,
    sum_amounts,
    voucher_count_matches,
)
from ezhifu.document.xmlparse import parse_xml, source_line
from ezhifu.document.xsdgen import check_schema_version, lxml_schema, xmlschema_for
from ezhifu.errors import (
    ConfigurationError,
    HostileDocumentError,
    HostileInputError,
    InvalidInput,
    SchemaValidationError,
    ValidationIssue,
)

__all__ = [
    "ISSUE_CODES",
    "MAX_ISSUES",
    "Engine",
    "check_schema_version",
    "is_valid",
    "iter_errors",
    "validate",
    "xmlschema_for",
]

# --- inner voucher ----------------------------------------------------------------------------


def _structure(
    parent: etree._Element,
    defs: Sequence[FieldDef],
    container: str | None,
    root: etree._Element,
    prefix: str,
    out: Collector,
) -> set[str]:
    """Missing / unknown / duplicated children of a header or detail row. Returns the names
    of children that are known leaves (for value checks)."""
    known = {f.name: f for f in defs}
    seen: dict[str, etree._Element] = {}
    before = len(out.issues)
    for child in child_elements(parent):
        tag = str(child.tag)
        if tag == container:
            if tag in seen:
                out.at(child, root, prefix, f"second <{tag}>: it may appear once", tag, "duplicate-element")
            seen[tag] = child
            continue
        if tag not in known:
            out.at(child, root, prefix, f"unknown element <{tag}>", string_value(child), "unknown-element")
            continue
        if tag in seen:
            out.at(
                child,
                root,
                prefix,
                f"<{tag}> appears again (first at line {source_line(seen[tag])}): single-valued",
                string_value(child),
                "duplicate-element",
            )
            continue
        seen[tag] = child
    for f in defs:
        if f.required and f.name not in seen:
            out.add(
                f"{issue_path(parent, root, prefix)}/{f.name}",
                source_line(parent),
                f"required element {f.name} ({f.label}) is missing",
                None,
                "missing-element",
            )
    if len(out.issues) > before:
        out.structural.add(issue_path(parent, root, prefix))
    return set(seen)


def _voucher_checks(
    root: etree._Element,
    spec: VoucherSpec,
    prefix: str,
    out: Collector,
    *,
    detailed: bool,
    version: str,
    engine: str = "auto",
) -> bool:
    """Structure, XSD values and rules of one inner voucher. Returns XSD validity (fast path)."""
    if not detailed:
        # fast path: the XSD enforces the same structure (xs:all: nothing missing, unknown or
        # repeated; Detail maxOccurs 499); only the rules beyond XSD remain
        if not lxml_schema(version, f"voucher_{spec.vt_code}").validate(root):
            return False
        _rules(root, spec, list(root.iterfind("DetailList/Detail")), prefix, out)
        return True
    _structure(root, spec.header, "DetailList" if spec.detail else None, root, prefix, out)
    rows = _detail_rows(root, spec, prefix, out)
    xsd_ok = _xsd_values(root, spec, prefix, out, version=version, engine=engine)
    _rules(root, spec, rows, prefix, out)
    return xsd_ok


def _detail_rows(
    root: etree._Element, spec: VoucherSpec, prefix: str, out: Collector
) -> list[etree._Element]:
    """The ``Detail`` rows of the voucher, their structure checked (at most MAX_DETAILS, S1)."""
    detail_list = [c for c in child_elements(root) if c.tag == "DetailList"]
    rows: list[etree._Element] = []
    if not detail_list:
        if spec.detail:
            out.add(
                f"{prefix}/Voucher/DetailList",
                source_line(root),
                "required element DetailList is missing",
                None,
                "missing-element",
            )
            out.structural.add(f"{prefix}/Voucher")
        return rows
    container = detail_list[0]
    where = issue_path(container, root, prefix)
    for child in child_elements(container):
        if child.tag != "Detail":
            out.at(
                child,
                root,
                prefix,
                f"unknown element <{child.tag}> in DetailList",
                str(child.tag),
                "unknown-element",
            )
            continue
        rows.append(child)
    if len(rows) != len(child_elements(container)):
        out.structural.add(where)
    if not rows:
        out.add(
            where + "/Detail", source_line(container), "DetailList holds no Detail", None, "missing-element"
        )
        out.structural.add(where)
    if len(rows) > MAX_DETAILS:
        out.structural.add(where)
        out.add(
            where,
            source_line(container),
            f"{len(rows)} details: a voucher must have fewer than {MAX_DETAILS + 1} (S1 rule)",
            str(len(rows)),
            "too-many-details",
        )
    for row in rows:
        _structure(row, spec.detail, None, root, prefix, out)
    return rows


def _xsd_values(
    root: etree._Element, spec: VoucherSpec, prefix: str, out: Collector, *, version: str, engine: str
) -> bool:
    """The XSD's verdict on the values, each error classified by the field's type."""
    if engine == "auto" and lxml_schema(version, f"voucher_{spec.vt_code}").validate(root):
        return True  # libxml2 found nothing: xmlschema would not either (same XSD, [0-9] patterns only)
    xsd_ok = True
    schema = xmlschema_for(version, f"voucher_{spec.vt_code}")
    for error in schema.iter_errors(etree.ElementTree(root)):
        xsd_ok = False
        elem = error.elem
        if elem is None or not isinstance(getattr(elem, "tag", None), str):
            out.add(prefix + (error.path or "/Voucher"), None, str(error.reason), None, "content")
            continue
        f = _definition_of(elem, spec)
        if f is not None and not len(elem):
            code, reason = classify_refused_value(f, string_value(elem))
            out.add(issue_path(elem, root, prefix), source_line(elem), reason, string_value(elem), code)
        elif issue_path(elem, root, prefix) not in out.structural:
            out.add(issue_path(elem, root, prefix), source_line(elem), str(error.reason), None, "content")
    return xsd_ok


def _definition_of(elem: etree._Element, spec: VoucherSpec) -> FieldDef | None:
    parent = elem.getparent()
    if parent is None:
        return None
    if parent.tag == "Detail":
        return spec.detail_field(str(elem.tag))
    if parent.tag == "Voucher":
        return spec.header_field(str(elem.tag))
    return None


def _rules(
    root: etree._Element, spec: VoucherSpec, rows: list[etree._Element], prefix: str, out: Collector
) -> None:
    # calendar dates (the XSD pattern only checks [0-9]{8})
    header_dates = {f.name: f for f in spec.header if f.type == "date"}
    detail_dates = {f.name: f for f in spec.detail if f.type == "date"}
    for parent, by_name in [(root, header_dates), *((row, detail_dates) for row in rows)]:
        for child in child_elements(parent):
            f = by_name.get(str(child.tag))
            if f is None:
                continue
            value = string_value(child)
            if len(value) != 8 or not value.isascii() or not value.isdigit():
                continue
            try:
                parse_date(value)
            except InvalidInput:
                out.at(
                    child, root, prefix, f"{f.name} ({f.label}) is not a calendar date", value, "date-invalid"
                )
    # header amount = sum of detail amounts
    rule = spec.sum_rule
    if rule is None or not rows:
        return
    header = [c for c in child_elements(root) if c.tag == rule.header]
    if len(header) != 1:
        return
    cells = [[c for c in child_elements(row) if c.tag == rule.detail] for row in rows]
    if any(len(c) != 1 for c in cells):
        return
    total_header = sum_amounts([string_value(header[0])], skip_empty=False)
    total = sum_amounts([string_value(c[0]) for c in cells], skip_empty=False)
    if total is None or total_header is None:
        return  # the format issue is already reported
    if total != total_header:
        out.add(
            issue_path(header[0], root, prefix),
            source_line(header[0]),
            f"{rule.header} {total_header} differs from the sum of the {len(rows)} detail "
            f"{rule.detail} values {total}",
            string_value(header[0]),
            "sum-mismatch",
        )


def _inner(
    root: etree._Element, prefix: str, version: str, out: Collector, *, detailed: bool, engine: str = "auto"
) -> tuple[bool, dict[str, str]]:
    """Check one inner voucher root. Returns (xsd_ok, its envelope attribute values)."""
    if root.tag != "Voucher":
        out.add(
            f"{prefix}/{root.tag}", source_line(root), "root element must be <Voucher>", None, "not-a-voucher"
        )
        return False, {}
    attrs: dict[str, str] = {}
    for child in child_elements(root):
        if child.tag in BODY_ATTRS and child.tag not in attrs:
            attrs[str(child.tag)] = string_value(child)
    vt_code = attrs.get("VtCode")
    if vt_code is None:
        out.add(
            f"{prefix}/Voucher/VtCode",
            source_line(root),
            "required element VtCode is missing",
            None,
            "missing-element",
        )
        return False, attrs
    spec = _fields.spec_for(vt_code, version)
    if spec is None:
        known = ", ".join(_fields.known_vt_codes(version))
        vt_node = next(c for c in child_elements(root) if c.tag == "VtCode")
        out.add(
            f"{prefix}/Voucher/VtCode",
            source_line(vt_node),
            f"VtCode {vt_code!r} is not modelled in schema version {version} (known: {known})",
            vt_code,
            "unknown-vtcode",
        )
        return False, attrs
    mine = Collector()
    ok = _voucher_checks(root, spec, prefix, mine, detailed=detailed, version=version, engine=engine)
    for issue in sorted(mine.issues, key=lambda i: i.line or 0):  # document order (stable)
        out.add(issue.path, issue.line, issue.reason, issue.value, issue.code)
    return ok, attrs


# --- envelope ---------------------------------------------------------------------------------


def _envelope(
    root: etree._Element, version: str, out: Collector, *, detailed: bool, engine: str = "auto"
) -> bool:
    xsd_ok = True
    if detailed and engine == "auto" and lxml_schema(version, "envelope").validate(root):
        pass
    elif detailed:
        schema = xmlschema_for(version, "envelope")
        taken = 0
        unknown = _hide_unknown_attributes(root)  # reported per attribute below, not per XSD error
        errors = list(itertools.islice(schema.iter_errors(etree.ElementTree(root)), MAX_XSD_ERRORS + 1))
        for owner, attribute, text in unknown:
            owner.set(attribute, text)
        for error in errors:
            xsd_ok = False
            elem = error.elem
            if (
                elem is not None
                and elem.tag == "VoucherBody"
                and "attribute not allowed" in str(error.reason)
            ):
                continue  # reported below as unknown-attribute, with the attribute's own value
            taken += 1
            if taken > MAX_XSD_ERRORS:
                out.more += 1  # not counted further: the cost of xmlschema is per error
                break
            path = issue_path(elem, root, "") if elem is not None else (error.path or "/MOF")
            line = source_line(elem) if elem is not None else None
            children_error = isinstance(error, xmlschema.XMLSchemaChildrenValidationError)
            if not children_error and elem is not None and elem.tag == "Voucher":
                continue  # the Base64 text is checked below, with the offset of the bad character
            code = "envelope-structure" if children_error else "envelope-value"
            value = None if children_error or elem is None else string_value(elem)
            out.add(path, line, str(error.reason), value, code)
    else:
        xsd_ok = bool(lxml_schema(version, "envelope").validate(root))

    bodies = [c for c in child_elements(root) if c.tag == "VoucherBody"]
    counts = [c for c in child_elements(root) if c.tag == "VoucherCount"]
    if len(counts) == 1:
        declared = string_value(counts[0])
        if not voucher_count_matches(declared, len(bodies)):
            out.add(
                "/MOF/VoucherCount",
                source_line(counts[0]),
                f"VoucherCount declares {declared!r} but the envelope holds {len(bodies)} VoucherBody",
                declared,
                "voucher-count",
            )
    for index, body in enumerate(bodies, 1):
        body_ok = _body(body, index, version, out, detailed=detailed, engine=engine)
        xsd_ok = xsd_ok and body_ok
    return xsd_ok


def _body(
    body: etree._Element, index: int, version: str, out: Collector, *, detailed: bool, engine: str
) -> bool:
    """The checks of one ``VoucherBody`` beyond the envelope XSD; whether it passed."""
    prefix = f"/MOF/VoucherBody[{index}]"
    ok = True
    for name, value in body.attrib.items():
        if str(name) not in BODY_ATTRIBUTES:
            ok = False
            reason = f"VoucherBody 的属性 {name!s} 不属于信封格式 / attribute {name!s} is not in the grammar"
            out.add(f"{prefix}/@{name!s}", source_line(body), reason, str(value), "unknown-attribute")
    vouchers = [c for c in child_elements(body) if c.tag == "Voucher"]
    if len(vouchers) != 1:
        return ok and detailed  # missing/duplicated: reported by the envelope XSD
    node = vouchers[0]
    try:
        data = decode_base64_strict(string_value(node), where="Voucher text")
    except InvalidInput as exc:
        out.add(f"{prefix}/Voucher", source_line(node), str(exc), None, "base64")
        return False
    if not _canonical_base64(string_value(node), data):
        reason = (
            "Voucher 的 Base64 不规范 / the Base64 text is not canonical (non-zero padding bits): "
            "another text decodes to the same voucher"
        )
        out.add(f"{prefix}/Voucher", source_line(node), reason, None, "base64-noncanonical")
        ok = False
    try:
        inner = parse_xml(data, what=f"inner voucher of {prefix}")
    except HostileInputError as exc:  # reported, never raised (issue 14 item 5)
        out.add(f"{prefix}/Voucher", source_line(node), str(exc), None, "hostile-input")
        return False
    except InvalidInput as exc:
        out.add(f"{prefix}/Voucher", source_line(node), str(exc), None, "inner-xml")
        return False
    inner_ok, inner_attrs = _inner(inner, prefix, version, out, detailed=detailed, engine=engine)
    outer_attrs = {attr: body.get(attr) for attr in BODY_ATTRS}
    for mismatch in attribute_mismatches(outer_attrs, dict(inner_attrs), only_present=True):
        out.add(
            f"{prefix}/@{mismatch.attribute}",
            source_line(body),
            mismatch.describe(),
            mismatch.envelope,
            "attribute-mismatch",
        )
    return ok and inner_ok


def _hide_unknown_attributes(root: etree._Element) -> list[tuple[etree._Element, str, str]]:
    """Remove (to put back after the XSD pass) the VoucherBody attributes outside the grammar:
    xmlschema builds one costly error object per attribute."""
    hidden: list[tuple[etree._Element, str, str]] = []
    for body in root.iterchildren("VoucherBody"):
        for name, value in list(body.attrib.items()):
            if str(name) not in BODY_ATTRIBUTES:
                hidden.append((body, str(name), str(value)))
                del body.attrib[name]
    return hidden


def _canonical_base64(text: str, data: bytes) -> bool:
    """Whether ``text`` (white space aside, as Java encoders wrap lines) is the one Base64
    encoding of ``data``: a final group with non-zero padding bits decodes to the same bytes."""
    compact = "".join(text.split())
    return base64.b64encode(data).decode("ascii") == compact


# --- public API -------------------------------------------------------------------------------


def _as_bytes(data: bytes | bytearray | Envelope | Voucher) -> bytes:
    if isinstance(data, Envelope):
        return data.to_bytes()
    if isinstance(data, Voucher):
        return data.to_xml()
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise InvalidInput(f"cannot validate a {type(data).__name__}: give bytes, an Envelope or a Voucher")


Engine = Literal["auto", "xmlschema"]


def _run(
    data: bytes | bytearray | Envelope | Voucher,
    schema_version: str | None,
    *,
    detailed: bool,
    engine: Engine = "auto",
) -> tuple[bool, list[ValidationIssue]]:
    if engine not in ("auto", "xmlschema"):
        raise ConfigurationError(f"unknown validation engine {engine!r} (use 'auto' or 'xmlschema')")
    version = check_schema_version(schema_version)
    root = parse_xml(_as_bytes(data), what="document")
    out = Collector()
    if root.tag == "MOF":
        ok = _envelope(root, version, out, detailed=detailed, engine=engine)
    elif root.tag == "Voucher":
        ok, _ = _inner(root, "", version, out, detailed=detailed, engine=engine)
    else:
        out.add(
            f"/{root.tag}",
            source_line(root),
            "root element must be <MOF> or <Voucher>",
            None,
            "not-a-voucher",
        )
        ok = False
    issues = out.final()
    return ok and not issues, issues


def iter_errors(
    data: bytes | bytearray | Envelope | Voucher,
    schema_version: str | None = None,
    *,
    engine: Engine = "auto",
) -> Iterator[ValidationIssue]:
    """Yield every issue of an envelope (root ``MOF``) or an inner voucher (root ``Voucher``).

    ``schema_version`` is ``"2014"`` or ``"2024"`` (default :data:`DEFAULT_SCHEMA_VERSION`);
    an unknown version raises :class:`~ezhifu.errors.ConfigurationError`. Input that cannot
    be read at all raises :class:`~ezhifu.errors.HostileInputError`,
    :class:`~ezhifu.errors.DecodingError` or :class:`~ezhifu.errors.InvalidInput`.

    ``engine="auto"`` first asks libxml2 and runs xmlschema only on a document libxml2
    refuses (both use the same XSD); ``engine="xmlschema"`` always runs xmlschema.
    """
    _, issues = _run(data, schema_version, detailed=True, engine=engine)
    yield from issues


def validate(
    data: bytes | bytearray | Envelope | Voucher,
    schema_version: str | None = None,
    *,
    source: str | None = None,
    engine: Engine = "auto",
) -> None:
    """Raise :class:`~ezhifu.errors.SchemaValidationError` carrying every issue, if any.

    ``source`` (a file name) is put into the error and its issues for messages; ``engine``
    as for :func:`iter_errors`.
    """
    if engine == "auto":
        # A valid document (the common case) needs only libxml2's XSD validation and the rules
        # beyond the XSD: the structure checks of the detailed pass find nothing the generated
        # XSD accepts (xs:all, minOccurs/maxOccurs from the same field data; see is_valid).
        # Anything else, or an invalid document, takes the detailed pass for its messages.
        ok, fast_issues = _run(data, schema_version, detailed=False)
        if ok and not fast_issues:
            return
    issues = list(iter_errors(data, schema_version, engine=engine))
    if issues:
        if source is not None:
            issues = [ValidationIssue(i.path, i.line, i.reason, i.value, i.code, source) for i in issues]
        if any(issue.code in HOSTILE_CODES for issue in issues):
            raise HostileDocumentError(issues, source=source)
        raise SchemaValidationError(issues, source=source)


def is_valid(data: bytes | bytearray | Envelope | Voucher, schema_version: str | None = None) -> bool:
    """Fast check through libxml2's XSD validator plus the same rules; ``False`` for any
    invalid or unreadable input (an unknown ``schema_version`` still raises)."""
    version = check_schema_version(schema_version)
    try:
        ok, _ = _run(data, version, detailed=False)
    except InvalidInput:
        return False
    return ok
