"""Regenerate the invalid-voucher fixtures and MANIFEST.json of this folder.

Each fixture is a valid sample voucher (ezhifu.document.samples, deterministic) with one
deliberate defect (or, for ``must_show.xml``, five). ``MANIFEST.json`` maps each file to the
issues validation must report, as ``[code, path]`` pairs, in the style of xmlschema's test
manifest. ``test_manifest.py`` checks both the expectations and that the committed files equal
what this script writes. Run from the repository root::

    python tests/document/invalid/generate.py
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher

HERE = Path(__file__).parent
GBK_DECL = b'<?xml version="1.0" encoding="GBK"?>\n'


def _voucher_tree(vt: str = "5214", details: int = 2) -> etree._Element:
    return etree.fromstring(sample_voucher(vt, details=details, seed=7).to_xml())


def _dump(root: etree._Element) -> bytes:
    body = etree.tostring(root, encoding="GBK", xml_declaration=False, pretty_print=True)
    assert isinstance(body, bytes)
    return GBK_DECL + body


def _set(root: etree._Element, path: str, text: str) -> None:
    node = root.find(path)
    assert node is not None, path
    node.text = text


def _remove(root: etree._Element, path: str) -> None:
    node = root.find(path)
    assert node is not None, path
    parent = node.getparent()
    assert parent is not None
    parent.remove(node)


def _after(root: etree._Element, path: str, tag: str, text: str) -> None:
    node = root.find(path)
    assert node is not None, path
    new = etree.Element(tag)
    new.text = text
    node.addnext(new)


def _fix_sum(root: etree._Element) -> None:
    from decimal import Decimal

    total = sum(Decimal(d.findtext("PayAmt") or "0") for d in root.iterfind("DetailList/Detail"))
    _set(root, "PayAmt", f"{total:.2f}")


Case = tuple[str, Callable[[], bytes], list[tuple[str, str]]]


def _mutated(mutate: Callable[[etree._Element], None], vt: str = "5214") -> Callable[[], bytes]:
    def make() -> bytes:
        root = _voucher_tree(vt)
        mutate(root)
        return _dump(root)

    return make


def _must_show(root: etree._Element) -> None:
    _remove(root, "AgencyCode")  # missing required field
    _set(root, "DetailList/Detail[1]/ForeignAmt", "12.345")  # three decimals
    _set(root, "VouDate", "2024O510")  # letter O in a date
    _after(root, "BillNo", "PayNote", "unexpected")  # unknown element
    _set(root, "PayAmt", "1.00")  # header differs from the sum of the details


def _negative(root: etree._Element) -> None:
    _set(root, "DetailList/Detail[1]/PayAmt", "-1.00")
    _fix_sum(root)


def _empty_details(root: etree._Element) -> None:
    container = root.find("DetailList")
    assert container is not None
    for row in list(container):
        container.remove(row)


def _duplicate(root: etree._Element) -> None:
    _after(root, "PayAmt", "PayAmt", root.findtext("PayAmt") or "")


def _envelope(
    mutate: Callable[[etree._Element], None] | None = None, inner: bytes | None = None
) -> Callable[[], bytes]:
    def make() -> bytes:
        voucher = sample_voucher("5214", details=2, seed=7)
        data = Envelope.build([voucher]).to_bytes()
        root = etree.fromstring(data)
        if inner is not None:
            _set(root, "VoucherBody/Voucher", base64.b64encode(inner).decode("ascii"))
        if mutate is not None:
            mutate(root)
        return _dump(root)

    return make


def _inner_bad_amount() -> bytes:
    root = _voucher_tree()
    _set(root, "DetailList/Detail[2]/ForeignAmt", "12.345")
    return _dump(root)


def _dup_voucher(root: etree._Element) -> None:
    node = root.find("VoucherBody/Voucher")
    assert node is not None
    copy = etree.Element("Voucher")
    copy.text = node.text
    node.addprevious(copy)


CASES: list[Case] = [
    (
        "missing_required.xml",
        _mutated(lambda r: _remove(r, "AgencyCode")),
        [("missing-element", "/Voucher/AgencyCode")],
    ),
    (
        "detail_missing_required.xml",
        _mutated(lambda r: _remove(r, "DetailList/Detail[2]/PayAmt")),
        [("missing-element", "/Voucher/DetailList/Detail[2]/PayAmt")],
    ),
    (
        "required_empty.xml",
        _mutated(lambda r: _set(r, "AgencyCode", "")),
        [("required-empty", "/Voucher/AgencyCode")],
    ),
    (
        "amount_three_decimals.xml",
        _mutated(lambda r: _set(r, "DetailList/Detail[1]/ForeignAmt", "12.345")),
        [("amount-format", "/Voucher/DetailList/Detail[1]/ForeignAmt")],
    ),
    (
        "amount_spaces.xml",
        _mutated(lambda r: _set(r, "ForeignAmt", " 100.00 ")),
        [("amount-format", "/Voucher/ForeignAmt")],
    ),
    (
        "negative_amount.xml",
        _mutated(_negative),
        [("negative-amount", "/Voucher/DetailList/Detail[1]/PayAmt")],
    ),
    (
        "date_letter.xml",
        _mutated(lambda r: _set(r, "VouDate", "2024O510")),
        [("date-format", "/Voucher/VouDate")],
    ),
    (
        "date_fullwidth_digits.xml",
        _mutated(lambda r: _set(r, "VouDate", "２０２４０５１０")),
        [("date-format", "/Voucher/VouDate")],
    ),
    (
        "date_not_calendar.xml",
        _mutated(lambda r: _set(r, "VouDate", "20240230")),
        [("date-invalid", "/Voucher/VouDate")],
    ),
    (
        "unknown_element.xml",
        _mutated(lambda r: _after(r, "BillNo", "PayNote", "x")),
        [("unknown-element", "/Voucher/PayNote")],
    ),
    ("duplicate_field.xml", _mutated(_duplicate), [("duplicate-element", "/Voucher/PayAmt")]),
    (
        "sum_mismatch.xml",
        _mutated(lambda r: _set(r, "PayAmt", "1.00")),
        [("sum-mismatch", "/Voucher/PayAmt")],
    ),
    (
        "max_length.xml",
        _mutated(lambda r: _set(r, "DetailList/Detail[1]/Remark", "长" * 501)),
        [("max-length", "/Voucher/DetailList/Detail[1]/Remark")],
    ),
    (
        "bad_adm_div_code.xml",
        _mutated(lambda r: _set(r, "AdmDivCode", "42000")),
        [("value-format", "/Voucher/AdmDivCode")],
    ),
    (
        "int_format.xml",
        _mutated(lambda r: _set(r, "AllNum", "2a"), vt="3502"),
        [("int-format", "/Voucher/AllNum")],
    ),
    (
        "unknown_vtcode.xml",
        _mutated(lambda r: _set(r, "VtCode", "9999")),
        [("unknown-vtcode", "/Voucher/VtCode")],
    ),
    (
        "empty_detail_list.xml",
        _mutated(_empty_details),
        [("missing-element", "/Voucher/DetailList/Detail")],
    ),
    (
        "missing_detail_list.xml",
        _mutated(lambda r: _remove(r, "DetailList")),
        [("missing-element", "/Voucher/DetailList")],
    ),
    (
        "must_show.xml",
        _mutated(_must_show),
        [
            ("missing-element", "/Voucher/AgencyCode"),
            ("amount-format", "/Voucher/DetailList/Detail[1]/ForeignAmt"),
            ("date-format", "/Voucher/VouDate"),
            ("unknown-element", "/Voucher/PayNote"),
            ("sum-mismatch", "/Voucher/PayAmt"),
        ],
    ),
    (
        "envelope_count_mismatch.xml",
        _envelope(lambda r: _set(r, "VoucherCount", "2")),
        [("voucher-count", "/MOF/VoucherCount")],
    ),
    (
        "envelope_attribute_mismatch.xml",
        _envelope(lambda r: r.find("VoucherBody").set("VoucherNo", "PLACEHOLDER")),  # type: ignore[union-attr]
        [("attribute-mismatch", "/MOF/VoucherBody[1]/@VoucherNo")],
    ),
    (
        "envelope_bad_base64.xml",
        _envelope(lambda r: _set(r, "VoucherBody/Voucher", "PD94bWwg!!dmVyc2lvbj0=")),
        [("base64", "/MOF/VoucherBody[1]/Voucher")],
    ),
    (
        "envelope_inner_amount.xml",
        _envelope(inner=_inner_bad_amount()),
        [("amount-format", "/MOF/VoucherBody[1]/Voucher/DetailList/Detail[2]/ForeignAmt")],
    ),
    (
        "envelope_duplicate_voucher.xml",
        _envelope(_dup_voucher),
        [("envelope-structure", "/MOF/VoucherBody[1]")],
    ),
    (
        "envelope_bad_flag.xml",
        _envelope(lambda r: _set(r, "VoucherBody/VoucherFlag", "2")),
        [("envelope-value", "/MOF/VoucherBody[1]/VoucherFlag")],
    ),
]


def generate(directory: Path = HERE) -> dict[str, bytes]:
    """File name -> bytes for every fixture plus MANIFEST.json."""
    files = {name: make() for name, make, _ in CASES}
    manifest = {name: {"issues": [list(issue) for issue in issues]} for name, _, issues in CASES}
    files["MANIFEST.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return files


if __name__ == "__main__":
    for name, data in generate().items():
        (HERE / name).write_bytes(data)
        print("wrote", name)
