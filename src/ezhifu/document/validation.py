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

**Levels** (docs/validation.md): ``partner`` (default) accepts amounts ``0``, ``2.0`` and any
element order, as real messages have them (spec.md §4.4); ``strict`` is what ezhifu writes
(two decimals, the field-table order, ``element-order``). Each has its own XSDs; every report
names the level (:func:`check`'s :class:`~ezhifu.results.ValidationReport`, the error).

**Paths and lines.** Issues inside an inner voucher have paths such as
``/MOF/VoucherBody[1]/Voucher/DetailList/Detail[2]/PayAmt``. The inner voucher travels as
Base64 inside the envelope, so its ``line`` is the line **in the decoded inner voucher
document**, not in the envelope. Issues on the envelope itself carry envelope lines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Literal

from lxml import etree

from ezhifu.document import fields as _fields
from ezhifu.document.envelope import MAX_VOUCHER_BYTES, Envelope, canonical_base64, decode_base64_strict
from ezhifu.document.envelope_xsd import envelope_xsd_issues, flagged_bodies
from ezhifu.document.fields import LEVELS, MAX_DETAILS, FieldDef, Level, VoucherSpec
from ezhifu.document.issues import HOSTILE_CODES, MAX_ISSUES, unreadable_issue
from ezhifu.document.issues import Collector as _Collector
from ezhifu.document.levels import (
    ISSUE_CODES,
    check_level,
    order_violation,
)
from ezhifu.document.levels import element_children as _children
from ezhifu.document.levels import element_path as _path
from ezhifu.document.levels import element_text as _text
from ezhifu.document.models import Voucher, parse_date
from ezhifu.document.rules import (
    ENVELOPE_ATTRIBUTES,
    ValidatedVoucher,
    attribute_mismatches,
    classify_refused_value,
    sum_amounts,
    voucher_count_matches,
)
from ezhifu.document.xmlparse import parse_xml, source_line
from ezhifu.document.xsdgen import check_schema_version, lxml_schema, schema_name, xmlschema_for
from ezhifu.errors import (
    ConfigurationError,
    HostileDocumentError,
    HostileInputError,
    InvalidInput,
    SchemaValidationError,
    ValidationIssue,
)
from ezhifu.results import ValidationReport

__all__ = [
    "ISSUE_CODES",
    "LEVELS",
    "MAX_ISSUES",
    "Engine",
    "Level",
    "check",
    "check_level",
    "check_schema_version",
    "is_valid",
    "iter_errors",
    "validate",
    "xmlschema_for",
]


_BODY_ATTRS = tuple(ENVELOPE_ATTRIBUTES)


# --- inner voucher ----------------------------------------------------------------------------


def _structure(
    parent: etree._Element,
    defs: Sequence[FieldDef],
    container: str | None,
    root: etree._Element,
    prefix: str,
    out: _Collector,
) -> set[str]:
    """Missing / unknown / duplicated children of a header or detail row, and at the strict
    level the first one out of order. Returns the names of the children that are known leaves."""
    known = {f.name: f for f in defs}
    seen: dict[str, etree._Element] = {}
    before = len(out.issues)
    for child in _children(parent):
        tag = str(child.tag)
        if tag == container:
            if tag in seen:
                out.at(child, root, prefix, f"second <{tag}>: it may appear once", tag, "duplicate-element")
            seen[tag] = child
            continue
        if tag not in known:
            out.at(child, root, prefix, f"unknown element <{tag}>", _text(child), "unknown-element")
            continue
        if tag in seen:
            out.at(
                child,
                root,
                prefix,
                f"<{tag}> appears again (first at line {source_line(seen[tag])}): single-valued",
                _text(child),
                "duplicate-element",
            )
            continue
        seen[tag] = child
    if out.level == "strict":
        children = _children(parent)
        # DetailList comes after every header field (ezhifu writes it last, as producers do)
        order = [*defs, *([FieldDef(container, "明细", "text")] if container else [])]
        wrong = order_violation([str(c.tag) for c in children], order)
        if wrong is not None:
            out.at(children[wrong[0]], root, prefix, wrong[1], None, "element-order")
    for f in defs:
        if f.required and f.name not in seen:
            out.add(
                f"{_path(parent, root, prefix)}/{f.name}",
                source_line(parent),
                f"required element {f.name} ({f.label}) is missing",
                None,
                "missing-element",
            )
    if len(out.issues) > before:
        out.structural.add(_path(parent, root, prefix))
    return set(seen)


def _voucher_checks(
    root: etree._Element,
    spec: VoucherSpec,
    prefix: str,
    out: _Collector,
    *,
    detailed: bool,
    version: str,
    engine: str = "auto",
) -> bool:
    """Structure, XSD values and rules of one inner voucher. Returns XSD validity (fast path)."""
    if not detailed or engine == "auto":
        # fast path: the XSD enforces the same structure (xs:all: nothing missing, unknown or
        # repeated; Detail maxOccurs 499); only the rules beyond XSD remain. The detailed pass
        # takes it too for a voucher libxml2 accepts (its structure checks would find nothing):
        # 1,200 bodies with an envelope issue each no longer check every voucher twice.
        if lxml_schema(version, schema_name(spec.vt_code, out.level)).validate(root):
            _rules(root, spec, list(root.iterfind("DetailList/Detail")), prefix, out)
            return True
        if not detailed:
            return False
    _structure(root, spec.header, "DetailList" if spec.detail else None, root, prefix, out)
    rows = _detail_rows(root, spec, prefix, out)
    xsd_ok = _xsd_values(root, spec, prefix, out, version=version, engine=engine)
    _rules(root, spec, rows, prefix, out)
    return xsd_ok


def _detail_rows(
    root: etree._Element, spec: VoucherSpec, prefix: str, out: _Collector
) -> list[etree._Element]:
    """The ``Detail`` rows of the voucher, their structure checked (at most MAX_DETAILS, S1)."""
    detail_list = [c for c in _children(root) if c.tag == "DetailList"]
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
    where = _path(container, root, prefix)
    for child in _children(container):
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
    if len(rows) != len(_children(container)):
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
    root: etree._Element, spec: VoucherSpec, prefix: str, out: _Collector, *, version: str, engine: str
) -> bool:
    """The XSD's verdict on the values, each error classified by the field's type."""
    name = schema_name(spec.vt_code, out.level)
    if engine == "auto" and lxml_schema(version, name).validate(root):
        return True  # libxml2 found nothing: xmlschema would not either (same XSD, [0-9] patterns only)
    xsd_ok = True
    schema = xmlschema_for(version, name)
    for error in schema.iter_errors(etree.ElementTree(root)):
        xsd_ok = False
        elem = error.elem
        if elem is None or not isinstance(getattr(elem, "tag", None), str):
            out.add(prefix + (error.path or "/Voucher"), None, str(error.reason), None, "content")
            continue
        f = _definition_of(elem, spec)
        if f is not None and not len(elem):
            code, reason = classify_refused_value(f, _text(elem), out.level)
            out.add(_path(elem, root, prefix), source_line(elem), reason, _text(elem), code)
        elif _path(elem, root, prefix) not in out.structural:
            out.add(_path(elem, root, prefix), source_line(elem), str(error.reason), None, "content")
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
    root: etree._Element, spec: VoucherSpec, rows: list[etree._Element], prefix: str, out: _Collector
) -> None:
    """Calendar dates (the XSD pattern only checks ``[0-9]{8}``) and the sum rule. The elements
    of both are picked from each parent in one pass in C (``iterchildren`` by tag)."""
    rule = spec.sum_rule
    header: list[etree._Element] = []
    cells: list[list[etree._Element]] = []
    for parent, dates in [(root, spec.header_dates), *((row, spec.detail_dates) for row in rows)]:
        amount = None if rule is None else rule.header if parent is root else rule.detail
        if not dates and amount is None:
            continue
        picked = list(parent.iterchildren(*dates, *(() if amount is None else (amount,))))
        for child in picked:
            f = dates.get(str(child.tag))
            value = _text(child) if f is not None else ""
            if len(value) != 8 or not value.isascii() or not value.isdigit():
                continue
            try:
                parse_date(value)
            except InvalidInput:
                assert f is not None
                out.at(
                    child, root, prefix, f"{f.name} ({f.label}) is not a calendar date", value, "date-invalid"
                )
        if amount is not None:
            amounts = [c for c in picked if c.tag == amount]
            if parent is root:
                header = amounts
            else:
                cells.append(amounts)
    # header amount = sum of detail amounts
    if rule is None or not rows or len(header) != 1 or any(len(c) != 1 for c in cells):
        return
    total_header = sum_amounts([_text(header[0])], skip_empty=False, level=out.level)
    total = sum_amounts([_text(c[0]) for c in cells], skip_empty=False, level=out.level)
    if total is None or total_header is None:
        return  # the format issue is already reported
    if total != total_header:
        out.add(
            _path(header[0], root, prefix),
            source_line(header[0]),
            f"{rule.header} {total_header} differs from the sum of the {len(rows)} detail "
            f"{rule.detail} values {total}",
            _text(header[0]),
            "sum-mismatch",
        )


def _inner(
    root: etree._Element, prefix: str, version: str, out: _Collector, *, detailed: bool, engine: str = "auto"
) -> tuple[bool, dict[str, str]]:
    """Check one inner voucher root. Returns (xsd_ok, its envelope attribute values)."""
    if root.tag != "Voucher":
        out.add(
            f"{prefix}/{root.tag}", source_line(root), "root element must be <Voucher>", None, "not-a-voucher"
        )
        return False, {}
    attrs: dict[str, str] = {}
    for child in root.iterchildren(*_BODY_ATTRS):  # picked in C, in document order
        attrs.setdefault(str(child.tag), _text(child))
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
        vt_node = next(c for c in _children(root) if c.tag == "VtCode")
        out.add(
            f"{prefix}/Voucher/VtCode",
            source_line(vt_node),
            f"VtCode {vt_code!r} is not modelled in schema version {version} (known: {known})",
            vt_code,
            "unknown-vtcode",
        )
        return False, attrs
    mine = _Collector(out.level)
    ok = _voucher_checks(root, spec, prefix, mine, detailed=detailed, version=version, engine=engine)
    for issue in sorted(mine.issues, key=lambda i: i.line or 0):  # document order (stable)
        out.add(issue.path, issue.line, issue.reason, issue.value, issue.code)
    return ok, attrs


# --- envelope ---------------------------------------------------------------------------------


def _envelope(
    root: etree._Element,
    version: str,
    out: _Collector,
    *,
    detailed: bool,
    engine: str = "auto",
    read: list[ValidatedVoucher] | None = None,
) -> bool:
    xsd_ok = True
    if detailed and engine == "auto":
        schema = lxml_schema(version, "envelope")
        if not schema.validate(root):  # xmlschema only on the bodies libxml2 refused
            xsd_ok = envelope_xsd_issues(root, version, out, only=flagged_bodies(schema.error_log))
    elif detailed:
        xsd_ok = envelope_xsd_issues(root, version, out, only=None)
    else:
        xsd_ok = bool(lxml_schema(version, "envelope").validate(root))
        if not xsd_ok:
            return False  # the fast pass answers yes/no: the first problem is enough

    bodies, counts = list(root.iterchildren("VoucherBody")), list(root.iterchildren("VoucherCount"))
    if len(counts) == 1:
        declared = _text(counts[0])
        if not voucher_count_matches(declared, len(bodies)):
            out.add(
                "/MOF/VoucherCount",
                source_line(counts[0]),
                f"VoucherCount declares {declared!r} but the envelope holds {len(bodies)} VoucherBody",
                declared,
                "voucher-count",
            )
    for index, body in enumerate(bodies, 1):
        prefix = f"/MOF/VoucherBody[{index}]"
        vouchers = list(body.iterchildren("Voucher"))
        if len(vouchers) != 1:
            if not detailed:
                xsd_ok = False
            continue  # missing/duplicated: reported by the envelope XSD
        node = vouchers[0]
        text = _text(node)
        try:
            data = decode_base64_strict(text, where="Voucher text")
        except InvalidInput as exc:
            out.add(f"{prefix}/Voucher", source_line(node), str(exc), None, "base64")
            xsd_ok = False
            continue
        if not canonical_base64(text, data):
            reason = "Voucher 的 Base64 不规范 / the Base64 text is not canonical (non-zero padding bits)"
            out.add(f"{prefix}/Voucher", source_line(node), reason, None, "base64-noncanonical")
            xsd_ok = False
        try:
            inner = parse_xml(data, what=f"inner voucher of {prefix}")
        except HostileInputError as exc:  # an issue, never raised (issue 14 item 5)
            out.add(f"{prefix}/Voucher", source_line(node), str(exc), None, "hostile-input")
            xsd_ok = False
            continue
        except InvalidInput as exc:
            out.add(f"{prefix}/Voucher", source_line(node), str(exc), None, "inner-xml")
            xsd_ok = False
            continue
        inner_ok, inner_attrs = _inner(inner, prefix, version, out, detailed=detailed, engine=engine)
        xsd_ok = xsd_ok and inner_ok
        if read is not None and inner_ok and len(data) <= MAX_VOUCHER_BYTES:
            signed = tuple((a, inner_attrs.get(a, "")) for a in _BODY_ATTRS)
            read.append(ValidatedVoucher(text, signed))
        if not detailed and not (xsd_ok and not out.issues):
            return False
        outer_attrs = {attr: body.get(attr) for attr in _BODY_ATTRS}
        for mismatch in attribute_mismatches(outer_attrs, dict(inner_attrs), only_present=True):
            out.add(
                f"{prefix}/@{mismatch.attribute}",
                source_line(body),
                mismatch.describe(),
                mismatch.envelope,
                "attribute-mismatch",
            )
    return xsd_ok


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
#: What the validator takes: document bytes, an :class:`Envelope` or a :class:`Voucher`.
Document = bytes | bytearray | Envelope | Voucher


def _read(data: Document) -> etree._Element | ValidationIssue:
    """The parsed root of ``data``, or the one issue of a document that cannot be read."""
    raw = _as_bytes(data)  # a wrong argument type is misuse of the API: it raises
    try:
        return parse_xml(raw, what="document")
    except InvalidInput as exc:  # unreadable: one issue, never parsed further (issue 14 item 5)
        return unreadable_issue(exc, raw)


def _run(
    data: Document | etree._Element | ValidationIssue,
    schema_version: str | None,
    *,
    detailed: bool,
    engine: Engine = "auto",
    level: Level = "partner",
    read: list[ValidatedVoucher] | None = None,
) -> tuple[bool, list[ValidationIssue]]:
    """Check ``data`` (or its root or unreadable issue from :func:`_read`, so that ``validate``
    parses once for both passes). The fast pass (``detailed=False``) stops at the first problem:
    its callers only need the yes/no. ``read`` collects each inner voucher's reading."""
    if engine not in ("auto", "xmlschema"):
        raise ConfigurationError(f"unknown validation engine {engine!r} (use 'auto' or 'xmlschema')")
    version, out = check_schema_version(schema_version), _Collector(check_level(level))
    root = data if isinstance(data, etree._Element | ValidationIssue) else _read(data)
    if isinstance(root, ValidationIssue):
        return False, [root]
    if root.tag == "MOF":
        ok = _envelope(root, version, out, detailed=detailed, engine=engine, read=read)
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
    data: Document,
    schema_version: str | None = None,
    *,
    engine: Engine = "auto",
    level: Level = "partner",
) -> Iterator[ValidationIssue]:
    """Yield every issue of an envelope (root ``MOF``) or an inner voucher (root ``Voucher``).

    ``schema_version`` is ``"2014"`` or ``"2024"`` (default :data:`DEFAULT_SCHEMA_VERSION`);
    an unknown version raises :class:`~ezhifu.errors.ConfigurationError`, an argument that is
    not bytes, an Envelope or a Voucher :class:`~ezhifu.errors.InvalidInput` (misuse of the
    API). Nothing else raises: a document that cannot be read at all (DOCTYPE or entity, bad
    bytes in its encoding, not XML, over a size limit) is one issue at ``/`` with the code of
    :data:`~ezhifu.document.issues.UNREADABLE_CODES` (``hostile-input``, ``input-limit``,
    ``decoding``, ``not-xml``), its line when known and the refusal as its reason: it is refused,
    never parsed further.

    ``engine="auto"`` first asks libxml2 and runs xmlschema only on a document libxml2
    refuses (both use the same XSD); ``engine="xmlschema"`` always runs xmlschema.
    ``level`` is ``"partner"`` (default) or ``"strict"`` (module docstring).
    """
    _, issues = _run(data, schema_version, detailed=True, engine=engine, level=level)
    yield from issues


def check(
    data: Document,
    schema_version: str | None = None,
    *,
    level: Level = "partner",
    source: str | None = None,
) -> ValidationReport:
    """The :class:`~ezhifu.results.ValidationReport` of a document (every issue, the level and
    schema version used); unreadable input is its one issue, as for :func:`iter_errors`."""
    version = check_schema_version(schema_version)
    issues = tuple(iter_errors(data, version, level=level))
    if source is not None:
        issues = tuple(dataclasses.replace(i, source=source) for i in issues)
    return ValidationReport(level=check_level(level), schema_version=version, issues=issues, source=source)


def validate(
    data: Document,
    schema_version: str | None = None,
    *,
    source: str | None = None,
    engine: Engine = "auto",
    level: Level = "partner",
) -> tuple[ValidatedVoucher, ...]:
    """Raise :class:`~ezhifu.errors.SchemaValidationError` carrying every issue, if any.

    It raises nothing else for any document (as :func:`iter_errors`): an unreadable or hostile
    one is the error carrying its issue, :class:`~ezhifu.errors.HostileDocumentError` (also a
    :class:`~ezhifu.errors.HostileInputError`) for the codes of ``HOSTILE_CODES``.

    ``source`` (a file name) is put into the error and its issues for messages; ``engine``
    and ``level`` as for :func:`iter_errors`; the error names the level.

    A valid envelope returns what was read of each inner voucher, in body order (a
    :class:`~ezhifu.document.rules.ValidatedVoucher` each, ``()`` for a lone voucher), so that
    ``sign_body(..., validated=...)`` does not parse the same text again.
    """
    root = _read(data)  # parsed once for both passes
    read: list[ValidatedVoucher] = []
    if engine == "auto":
        # A valid document (the common case) needs only libxml2's XSD validation and the rules
        # beyond the XSD: the structure checks of the detailed pass find nothing the generated
        # XSD accepts (xs:all / xs:sequence, occurrences from the same field data; see is_valid).
        # Anything else, or an invalid document, takes the detailed pass for its messages.
        ok, fast_issues = _run(root, schema_version, detailed=False, level=level, read=read)
        if ok and not fast_issues:
            return tuple(read)
        read.clear()
    _, issues = _run(root, schema_version, detailed=True, engine=engine, level=level, read=read)
    if issues:
        if source is not None:
            issues = [dataclasses.replace(i, source=source) for i in issues]
        kind = HostileDocumentError if any(i.code in HOSTILE_CODES for i in issues) else SchemaValidationError
        raise kind(issues, source=source, level=level)
    return tuple(read)


def is_valid(data: Document, schema_version: str | None = None, *, level: Level = "partner") -> bool:
    """Fast check through libxml2's XSD validator plus the same rules; ``False`` for any
    invalid or unreadable input (an unknown ``schema_version`` or ``level``, or an argument of
    the wrong type, still raises: misuse of the API)."""
    version = check_schema_version(schema_version)
    ok, _ = _run(data, version, detailed=False, level=check_level(level))
    return ok
