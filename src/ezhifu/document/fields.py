"""Field definitions per voucher type (VtCode): the one source of truth.

Every element of every modelled inner voucher is declared exactly once, in the data file
``document/data/fields.toml`` that this module reads once at import (as its generated JSON copy
``fields.json``, see :data:`_READ_FILE`): its element
name, Chinese label, value type, whether it is required, whether it is an X-field (filled by
the receiver in the 回单), its maximum length, whether it sits in the header or in a
``DetailList/Detail`` row, the schema versions it belongs to and the public source that
shows it. The typed models (:mod:`ezhifu.document.models`), the bundled XSDs
(:mod:`ezhifu.document.xsdgen`, ``schemas/``), the field tables in ``docs/fields.md`` and
the validation rules are all generated from, or checked against, these tables.

The official 《国库集中支付电子化管理接口报文规范》 (text, XSD, code tables) is not public. The
field lists are those reconstructed in the developers' reference (spec.md §4), with their
sources:

* ``S1``: ``caoyanguo/ITFE`` parsers and templates (``Process5201.java``,
  ``Process8202.java``, ``Process2301.java``, ``voucher_*_java2xml.ftl``,
  ``Voucher5106MsgServer`` ...), the 人民银行-side front end (V2.0, 2014 era).
* ``S8``: public 2024 Hubei treasury test messages (VtCode 5214, decoded).
* ``S13``: DA/T 95—2022 Appendix B.1 (8202 支付回单 with 必选 constraints, citing the
  2019-12-25 edition of the interface specification).

What is *not* confirmed by any public source, and therefore marked inferred (``"I"``) in
:attr:`FieldDef.source` / :attr:`FieldDef.required_source` and in ``schemas/README.md``:
value types beyond amounts and dates, every maximum length, most required flags (only
8202 has published 必选 marks, S13), where negative amounts are allowed, and which header
amount must equal the sum of the details.

Spelling quirks producers really emit are kept (``TaxayerID``, ``ClearAccNanme``,
``XpayAmt`` in 5207 details; spec.md §4.1).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ezhifu.errors import ConfigurationError

__all__ = [
    "ADM_DIV",
    "ALL_VERSIONS",
    "AMOUNT",
    "DATE",
    "DEFAULT_SCHEMA_VERSION",
    "INT",
    "LEVELS",
    "MAX_AMOUNT_INTEGER_DIGITS",
    "MAX_DETAILS",
    "PARTNER_AMOUNT",
    "PARTNER_SIGNED_AMOUNT",
    "SCHEMA_VERSIONS",
    "SIGNED_AMOUNT",
    "YEAR",
    "FieldDef",
    "FieldType",
    "Level",
    "SumRule",
    "VoucherSpec",
    "field_pattern",
    "known_vt_codes",
    "spec_for",
    "specs",
    "type_name",
]

#: Value types. ``code``: identifiers and classification codes (strings, never numbers);
#: ``name``: Chinese names; ``text``: free text; ``amount``: ``-?[0-9]+\.[0-9]{2}``;
#: ``date``: ``yyyyMMdd``; ``int``: ``[0-9]+``; ``guid``: record identifier.
FieldType = Literal["code", "name", "text", "amount", "date", "int", "guid"]

#: Schema versions: ``"2014"`` the V2.0-era element set (S1, "20141015_V2.0最新接口增加字段"),
#: ``"2024"`` the 预算管理一体化 set (S8; adds 5214 and the 2019-edition 8202 fields of S13).
SCHEMA_VERSIONS: tuple[str, ...] = ("2014", "2024")
ALL_VERSIONS: frozenset[str] = frozenset(SCHEMA_VERSIONS)
#: Used when a caller does not name a version: the newest set, a superset of 2014 for every
#: type both contain (fields added later are optional).
DEFAULT_SCHEMA_VERSION = "2024"

#: S1 refuses vouchers with 500 details or more ("明细条数必须小于500", spec.md §4.1).
MAX_DETAILS = 499


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One element of an inner voucher (header or detail row).

    ``required``: the element must be present and not empty. ``x_field``: filled by the
    receiver in the 回单 (spec.md §4.1), present and empty in a voucher as sent.
    ``negative``: an amount that may be negative (refunds/corrections, S13 "退款、更正业务允许为负").
    ``source``: which public source shows the element (``S1``, ``S8``, ``S13``; ``I`` inferred);
    ``required_source`` the same for the required flag.
    """

    name: str
    label: str
    type: FieldType
    required: bool = False
    x_field: bool = False
    max_length: int = 0
    negative: bool = False
    versions: frozenset[str] = ALL_VERSIONS
    source: str = "I"
    required_source: str = "I"

    @property
    def hold(self) -> bool:
        """A reserved ``Hold1``..``Hold4`` field (regions overload them, spec.md §4.1)."""
        return self.name.startswith("Hold")

    def limit(self) -> int:
        return self.max_length or _DEFAULT_MAX[self.type]


@dataclass(frozen=True, slots=True)
class SumRule:
    """``header`` amount must equal the sum of ``detail`` amounts over all rows."""

    header: str
    detail: str
    source: str = "I"


@dataclass(frozen=True, slots=True)
class VoucherSpec:
    """The element set of one VtCode in one schema version."""

    vt_code: str
    name: str
    version: str
    header: tuple[FieldDef, ...]
    detail: tuple[FieldDef, ...]
    sum_rule: SumRule | None
    source: str
    _index: Mapping[str, FieldDef] = field(default_factory=dict, compare=False, repr=False)
    _dindex: Mapping[str, FieldDef] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Derived once here, read per document by the validator's rules (docs/performance.md).
        dates = {f.name: f for f in self.header if f.type == "date"}
        object.__setattr__(self, "header_dates", dates)
        object.__setattr__(self, "detail_dates", {f.name: f for f in self.detail if f.type == "date"})

    #: The header (detail) fields typed ``date``, by name (the calendar rule, spec.md §4.1).
    header_dates: Mapping[str, FieldDef] = field(init=False, compare=False, repr=False)
    detail_dates: Mapping[str, FieldDef] = field(init=False, compare=False, repr=False)

    def header_field(self, name: str) -> FieldDef | None:
        return self._index.get(name)

    def detail_field(self, name: str) -> FieldDef | None:
        return self._dindex.get(name)

    @property
    def has_details(self) -> bool:
        return bool(self.detail)

    def amount_fields(self, *, detail: bool = False) -> tuple[str, ...]:
        """The header (or ``detail``) element names typed ``amount`` (spec.md §4.1), in order."""
        return tuple(f.name for f in (self.detail if detail else self.header) if f.type == "amount")


# --- value patterns (the XSD restrictions of the typed values, spec.md §4.1) ------------------

#: At most 15 integer digits (below 10**15 yuan): no voucher comes near it, and larger values
#: lose cents in partner systems that hold amounts as IEEE doubles (issue 9 hostile amounts).
MAX_AMOUNT_INTEGER_DIGITS = 15
AMOUNT = r"[0-9]{1,15}\.[0-9]{2}"
SIGNED_AMOUNT = r"-?[0-9]{1,15}\.[0-9]{2}"
#: ``partner`` level: what the XSD decimal type allows that a money amount can mean (``0``,
#: ``2.0``, ``2.00``); no exponent, sign ``+``, spaces or more than two decimals (cents).
PARTNER_AMOUNT = r"[0-9]{1,15}(\.[0-9]{1,2})?"
PARTNER_SIGNED_AMOUNT = r"-?[0-9]{1,15}(\.[0-9]{1,2})?"
DATE = "[0-9]{8}"
INT = "[0-9]{1,10}"
ADM_DIV = "[0-9]{6}([0-9]{3})?"
YEAR = "[0-9]{4}"


#: Validation levels (docs/validation.md): ``partner`` reads what real partners send (amounts
#: ``0``, ``2.0``; any element order, spec.md §4.4), ``strict`` is what ezhifu writes.
Level = Literal["partner", "strict"]
#: The validation levels, default first.
LEVELS: tuple[Level, ...] = ("partner", "strict")


def field_pattern(f: FieldDef, level: Level = "strict") -> str | None:
    """The XSD pattern of a field's value at ``level`` (``None``: any text up to the maximum
    length). Only amounts differ between the levels."""
    if f.name == "AdmDivCode":
        return ADM_DIV
    if f.name == "StYear":
        return YEAR
    if f.type == "amount":
        if level == "partner":
            return PARTNER_SIGNED_AMOUNT if f.negative else PARTNER_AMOUNT
        return SIGNED_AMOUNT if f.negative else AMOUNT
    if f.type == "date":
        return DATE
    if f.type == "int":
        return INT
    return None


# --- the field data (data/fields.toml), read once --------------------------------------------

_DATA_FILE = "data/fields.toml"
#: What is read at import: the same data as JSON, generated from :data:`_DATA_FILE` by
#: :mod:`ezhifu.document.xsdgen` (a test keeps the two equal). The C JSON reader takes ~0.2 ms
#: where tomllib, pure Python, took ~8 ms of every start-up (docs/performance.md "The command line").
_READ_FILE = "data/fields.json"
_TYPES: frozenset[str] = frozenset({"code", "name", "text", "amount", "date", "int", "guid"})
#: Most ``{NAME}`` substitutions in one field list (the data nests them two deep).
_MAX_EXPANSIONS = 8


def _load_data() -> dict[str, Any]:
    """The bundled field data; :class:`ConfigurationError` naming the file when it is broken."""
    try:
        # A path next to this module, not importlib.resources: the package is installed as files
        # (setuptools package-data); importlib.resources would cost every import of the document layer.
        with open(os.path.join(os.path.dirname(__file__), _READ_FILE), "rb") as handle:
            data: dict[str, Any] = json.load(handle)
            return data
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ConfigurationError(
            f"ezhifu/document/{_READ_FILE}: 字段数据无法读取 / cannot be read: {exc}"
        ) from exc


_DATA = _load_data()
_PAIRS: dict[str, str] = dict(_DATA["labels"]["pairs"])
_LEVELS: dict[str, str] = dict(_DATA["labels"]["levels"])
_SINGLE: dict[str, tuple[str, FieldType]] = {n: (v[0], v[1]) for n, v in _DATA["labels"]["single"].items()}
_MAXLEN: dict[str, int] = dict(_DATA["max_length"])
_DEFAULT_MAX: dict[str, int] = dict(_DATA["default_max_length"])
if bad := sorted({t for _, t in _SINGLE.values()} - _TYPES):
    raise ConfigurationError(f"ezhifu/document/{_DATA_FILE}: 未知的值类型 / unknown value type(s) {bad}")


def _lookup(name: str) -> tuple[str, FieldType]:
    if name in _SINGLE:
        return _SINGLE[name]
    for kind, ftype in (("Code", "code"), ("Name", "name")):
        for base, label in _PAIRS.items():
            if name == f"{base}{kind}":
                return f"{label}{'代码' if kind == 'Code' else '名称'}", ftype  # type: ignore[return-value]
            for level, level_label in _LEVELS.items():
                if name == f"{base}{kind}{level}":
                    suffix = "代码" if kind == "Code" else "名称"
                    return f"{label}({level_label}){suffix}", ftype  # type: ignore[return-value]
    raise KeyError(f"no label for element {name!r}: add it to ezhifu/document/{_DATA_FILE}")


def _substitute(text: str, lists: Mapping[str, str]) -> str:
    """``{NAME}`` replaced by ``[lists].NAME`` (itself substituted), at most a few levels deep."""
    for _ in range(_MAX_EXPANSIONS):
        if "{" not in text:
            return text
        text = text.format_map(lists)
    raise ConfigurationError(f"ezhifu/document/{_DATA_FILE}: {{NAME}} nested too deep in {text[:60]!r}")


def _expand(spec: str) -> list[str]:
    """``"FundType* ExpFunc*1..3 PayAmt"`` -> element names (``*`` = Code/Name pair)."""
    out: list[str] = []
    for token in spec.split():
        if "*" in token:
            base, _, levels = token.partition("*")
            if levels:
                lo, _, hi = levels.partition("..")
                for n in range(int(lo), int(hi or lo) + 1):
                    out += [f"{base}Code{n}", f"{base}Name{n}"]
            else:
                out += [f"{base}Code", f"{base}Name"]
        else:
            out.append(token)
    return out


def _names(values: Iterable[str], groups: Mapping[str, list[str]]) -> list[str]:
    """Element names, ``"@NAME"`` standing for the (expanded) names of ``[names].NAME``."""
    out: list[str] = []
    for value in values:
        out.extend(_names(groups[value[1:]], groups) if value.startswith("@") else [value])
    return out


def _fields(
    section: Mapping[str, Any], lists: Mapping[str, str], groups: Mapping[str, list[str]]
) -> tuple[FieldDef, ...]:
    """The header or detail fields of one type from its ``[types.header]``/``[types.detail]``."""
    spec = _substitute(section["fields"], lists)
    source = section["source"]
    req = set(_names(section.get("required", ()), groups))
    neg = set(section.get("negative", ()))
    only_spec = section.get("only", {})
    only = set(_expand(_substitute(only_spec.get("fields", ""), lists)))
    names = _expand(spec)
    if len(set(names)) != len(names):
        raise ConfigurationError(f"ezhifu/document/{_DATA_FILE}: duplicate element in field list: {spec}")
    out = []
    for name in names:
        label, ftype = _lookup(name)
        x_field = (name.startswith("X") and name[1:2].isupper()) or name.startswith("Xp")
        out.append(
            FieldDef(
                name=name,
                label=label,
                type=ftype,
                required=name in req,
                x_field=x_field,
                max_length=_MAXLEN.get(name, 0),
                negative=ftype == "amount" and name in neg,
                versions=frozenset({only_spec["version"]}) if name in only else ALL_VERSIONS,
                source=only_spec.get("source", source) if name in only else source,
                required_source=section.get("required_source", "I") if name in req else "I",
            )
        )
    return tuple(out)


#: Each VtCode's entry of the field data, in file order.
_VOUCHER_TYPES: dict[str, dict[str, Any]] = {t["vt_code"]: t for t in _DATA["types"]}


@functools.cache
def _type_specs(vt_code: str) -> dict[str, VoucherSpec]:
    """``vt_code``'s spec in each schema version it has, built on first use (all 27 specs take
    about 12 ms, a tenth of ``ezhifu verify``'s start-up; docs/performance.md "The command line")."""
    t = _VOUCHER_TYPES[vt_code]
    lists: dict[str, str] = dict(_DATA["lists"])
    groups: dict[str, list[str]] = dict(_DATA["names"])
    rule = t.get("sum_rule")
    sum_rule = SumRule(rule[0], rule[1], source="I") if rule else None
    all_header = _fields(t["header"], lists, groups)
    all_detail = _fields(t["detail"], lists, groups)
    out: dict[str, VoucherSpec] = {}
    for version in _versions_of(t):
        header = tuple(f for f in all_header if version in f.versions)
        detail = tuple(f for f in all_detail if version in f.versions)
        out[version] = VoucherSpec(
            vt_code=vt_code,
            name=t["name"],
            version=version,
            header=header,
            detail=detail,
            sum_rule=sum_rule,
            source=t["source"],
            _index={f.name: f for f in header},
            _dindex={f.name: f for f in detail},
        )
    return out


def _versions_of(t: Mapping[str, Any]) -> tuple[str, ...]:
    """The schema versions a type of the field data belongs to, in :data:`SCHEMA_VERSIONS` order."""
    versions = frozenset(t.get("versions", SCHEMA_VERSIONS))
    return tuple(v for v in SCHEMA_VERSIONS if v in versions)


def _known(version: str) -> list[str]:
    """VtCodes of ``version`` in file order (``KeyError`` for an unknown version)."""
    if version not in ALL_VERSIONS:
        raise KeyError(version)
    return [vt for vt, t in _VOUCHER_TYPES.items() if version in _versions_of(t)]


@functools.cache
def specs(version: str = DEFAULT_SCHEMA_VERSION) -> Mapping[str, VoucherSpec]:
    """Every modelled VtCode of a schema version (``KeyError`` for an unknown version)."""
    return {vt: _type_specs(vt)[version] for vt in _known(version)}


def spec_for(vt_code: str, version: str = DEFAULT_SCHEMA_VERSION) -> VoucherSpec | None:
    """The spec of ``vt_code`` in ``version``, or ``None`` when the version has no such type."""
    if version not in ALL_VERSIONS:
        raise KeyError(version)
    return _type_specs(vt_code).get(version) if vt_code in _VOUCHER_TYPES else None


def type_name(vt_code: str) -> tuple[str, str]:
    """``(name, source)`` of a VtCode of the field data, without building its specs."""
    t = _VOUCHER_TYPES[vt_code]
    return t["name"], t["source"]


def known_vt_codes(version: str | None = None) -> tuple[str, ...]:
    """VtCodes modelled in ``version`` (all versions when ``None``), sorted."""
    if version is not None:
        return tuple(sorted(_known(version)))
    return tuple(sorted(vt for vt, t in _VOUCHER_TYPES.items() if _versions_of(t)))
