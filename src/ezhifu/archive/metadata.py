"""DA/T 95 metadata of a package: B.1 values mapped from the vouchers, D.1 agents, E.1 events.

:func:`b1_record` maps one voucher (and the 回单 answering it) to the elements of table B.1 by
name (spec.md §4.3: B.1 uses the interface's element names). A value comes from the receipt when
it has one (the bank fills the X-fields there, spec.md §4.1), else from the voucher as sent;
dates become ``YYYY-MM-DD`` (:mod:`ezhifu.archive.gbt7408`). Three detail elements have wire
names of their own: ``VoucherBillId`` / ``VoucherBillNo`` default to the header ``Id`` /
``VoucherNo`` (the table's remark "与主单 Id / VoucherNo 内容一致") and ``VoucherDetailNo`` to
the wire detail's ``VoucherNo`` (支付申请序号, spec.md §4.2); the agency, function and economic
classification of a detail default to the header's (remark "与主单一致").

:func:`missing_elements` lists the required elements without a value (the "mandatory elements
checked" of issue 19); :func:`metadata_xml` writes the document that ``dat95.xsd`` describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from ezhifu.archive.dat95 import B1_DETAIL, B1_HEADER, B1_ITEMS, B1_ROOT, D1_AGENT, E1_EVENT, Element
from ezhifu.archive.gbt7408 import datetime_text, voucher_date
from ezhifu.archive.xsdgen import MAX_AGENTS, MAX_EVENTS, MAX_TEXT, MAX_VOUCHERS, METADATA_ROOT
from ezhifu.document.models import Detail, Voucher
from ezhifu.errors import MetadataError

__all__ = [
    "Agent",
    "B1Record",
    "Event",
    "b1_record",
    "metadata_xml",
    "missing_elements",
]

#: B.1 detail element -> the wire detail fields tried in order (after the element's own name).
_DETAIL_ALIASES: dict[str, tuple[str, ...]] = {"VoucherDetailNo": ("VoucherNo",)}
#: B.1 detail element -> the header field it copies when the detail has no value (the table's
#: remarks "与主单 Id 内容一致", "与主单 VoucherNo 内容一致" and "与主单一致").
_FROM_HEADER: dict[str, str] = {
    "VoucherBillId": "Id",
    "VoucherBillNo": "VoucherNo",
    **{name: name for name in ("AgencyCode", "AgencyName", "ExpFuncCode", "ExpFuncName")},
    **{name: name for name in ("GovExpEcoCode", "GovExpEcoName")},
}


def _row(table: tuple[Element, ...], *values: str) -> tuple[tuple[str, str], ...]:
    """``(element, value)`` pairs of one D.1 or E.1 row: the names come from the table (dat95)."""
    if len(values) != len(table):  # a programming error: a row must fill every column
        raise MetadataError(
            f"DA/T 95 行的值数不符 / {len(values)} values for the {len(table)} elements of a DA/T 95 row"
        )
    return tuple((element.name, value) for element, value in zip(table, values, strict=True))


@dataclass(frozen=True, slots=True)
class Agent:
    """One D.1 机构人员实体 row."""

    name: str
    type: str = ""
    organization_code: str = ""
    finance_division_code: str = ""
    position: str = ""

    def values(self) -> tuple[tuple[str, str], ...]:
        return _row(
            D1_AGENT, self.type, self.name, self.organization_code, self.finance_division_code, self.position
        )


@dataclass(frozen=True, slots=True)
class Event:
    """One E.1 业务实体 row: an event in the voucher's life (接收, 验证, 归档 …)."""

    activity: str
    status: str
    time: datetime
    mandate: str = ""
    description: str = ""

    def values(self) -> tuple[tuple[str, str], ...]:
        return _row(
            E1_EVENT, self.status, self.activity, datetime_text(self.time), self.mandate, self.description
        )


@dataclass(frozen=True, slots=True)
class B1Record:
    """The B.1 values of one voucher: header pairs and one tuple of pairs per detail, in table order."""

    header: tuple[tuple[str, str], ...]
    items: tuple[tuple[tuple[str, str], ...], ...]

    def get(self, name: str) -> str:
        return dict(self.header).get(name, "")


def _value(element: Element, sources: Sequence[Voucher | Detail], names: Sequence[str], where: str) -> str:
    for source in sources:
        for name in names:
            value = (source.get(name) or "").strip()
            if value:
                return (
                    voucher_date(value, where=f"{where}/{element.name}") if element.kind == "date" else value
                )
    return ""


def b1_record(voucher: Voucher, receipt: Voucher | None = None) -> B1Record:
    """Map ``voucher`` (and its 回单 ``receipt``) to table B.1; raises :class:`MetadataError`
    when the receipt has another number of details (it must answer the same rows)."""
    where = f"{B1_ROOT}[{voucher.vt_code} {voucher.voucher_no}]"
    header_sources: list[Voucher] = [receipt, voucher] if receipt is not None else [voucher]
    header = tuple((e.name, _value(e, header_sources, (e.name,), where)) for e in B1_HEADER)
    values = dict(header)
    details = voucher.details
    answered = receipt.details if receipt is not None else ()
    if receipt is not None and len(answered) != len(details):
        raise MetadataError(
            f"{where}: 回单明细数与原凭证不符 / the receipt has {len(answered)} details, "
            f"the voucher {len(details)}"
        )
    items = []
    for index, detail in enumerate(details):
        sources: list[Detail] = [answered[index], detail] if answered else [detail]
        row = []
        for e in B1_DETAIL:
            names = (e.name, *_DETAIL_ALIASES.get(e.name, ()))
            value = _value(e, sources, names, f"{where}/{B1_ITEMS}[{index + 1}]")
            if not value and e.name in _FROM_HEADER:
                value = values.get(_FROM_HEADER[e.name], "")
            row.append((e.name, value))
        items.append(tuple(row))
    return B1Record(header, tuple(items))


def missing_elements(record: B1Record) -> list[str]:
    """The required B.1 elements of ``record`` without a value, as paths (``Items[2]/XPayDate``)."""
    out = [name for (name, value), e in zip(record.header, B1_HEADER, strict=True) if _lacks(e, value)]
    for index, row in enumerate(record.items, start=1):
        out.extend(
            f"{B1_ITEMS}[{index}]/{name}"
            for (name, value), e in zip(row, B1_DETAIL, strict=True)
            if _lacks(e, value)
        )
    return out


def _lacks(element: Element, value: str) -> bool:
    return element.required and not element.may_be_empty and not value


def _add_rows(parent: etree._Element, rows: Sequence[tuple[str, str]], table: Sequence[Element]) -> None:
    for (name, value), element in zip(rows, table, strict=True):
        if not value and not element.required:
            continue  # optional elements without a value are left out
        if len(value) > MAX_TEXT:
            raise MetadataError(f"{name}: 取值过长 / value of {len(value)} characters exceeds {MAX_TEXT}")
        etree.SubElement(parent, name).text = value


def metadata_xml(
    records: Sequence[B1Record], agents: Sequence[Agent], events: Sequence[Event], *, package_id: str
) -> bytes:
    """The ``metadata/dat95.xml`` document (UTF-8) of a package; bounds as in ``dat95.xsd``."""
    for what, count, limit in (
        ("vouchers", len(records), MAX_VOUCHERS),
        ("agents", len(agents), MAX_AGENTS),
        ("events", len(events), MAX_EVENTS),
    ):
        if count > limit or (what != "agents" and count == 0):
            raise MetadataError(f"元数据条目数不符 / {count} {what} in one package (allowed 1..{limit})")
    root = etree.Element(METADATA_ROOT, standard="DA/T 95—2022", package=package_id)
    for record in records:
        voucher = etree.SubElement(root, B1_ROOT)
        _add_rows(voucher, record.header, B1_HEADER)
        for row in record.items:
            _add_rows(etree.SubElement(voucher, B1_ITEMS), row, B1_DETAIL)
    for agent in agents:
        _add_rows(etree.SubElement(root, "AgentEntity"), agent.values(), D1_AGENT)
    for event in events:
        _add_rows(etree.SubElement(root, "BusinessEntity"), event.values(), E1_EVENT)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
