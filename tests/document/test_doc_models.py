"""Inner voucher models: round trips, typed access, immutability, producer XML kept as sent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from doc_support import ALL_TYPES, VT_CODES
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.document.fields import specs
from ezhifu.document.models import (
    VOUCHER_CLASSES,
    Detail,
    Voucher,
    format_amount,
    parse_amount,
    parse_date,
    voucher_class,
)
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import InvalidInput

GBK_DECL = b'<?xml version="1.0" encoding="GBK"?>\n'


@pytest.mark.parametrize(("version", "vt"), ALL_TYPES)
def test_sample_round_trip_every_type(version: str, vt: str) -> None:
    voucher = sample_voucher(vt, details=3, schema_version=version)
    assert type(voucher) is VOUCHER_CLASSES[vt]
    again = Voucher.from_xml(voucher.to_xml())
    assert again == voucher
    assert type(again) is type(voucher)
    # every element of the type is written, in the type's order, empty ones included
    assert again.field_names == tuple(f.name for f in specs(version)[vt].header)
    assert len(again.details) == 3


def test_to_xml_is_gbk_with_empty_elements() -> None:
    xml = sample_voucher("5214").to_xml()
    assert xml.startswith(GBK_DECL)
    text = xml.decode("gbk")
    assert "<XPayDate></XPayDate>" in text
    assert "<Hold1></Hold1>" in text
    assert "经费拨款补助" in text


def test_chinese_names_round_trip_through_gbk() -> None:
    names = "湖北省武汉市第一中学（东校区）·国库集中支付"
    voucher = sample_voucher("5201").replace(PayeeAcctName=names, AgencyName="省直机关事务管理局")
    raw = voucher.to_xml()
    assert names.encode("gbk") in raw
    again = Voucher.from_xml(raw)
    assert again.get("PayeeAcctName") == names
    assert again == voucher


def test_characters_outside_gbk_survive_as_references() -> None:
    voucher = sample_voucher("5214").replace(Hold1="𠀀😀")
    raw = voucher.to_xml()
    assert b"&#" in raw
    assert Voucher.from_xml(raw).get("Hold1") == "𠀀😀"


def test_typed_accessors() -> None:
    voucher = sample_voucher("5214", details=2, VouDate=date(2024, 5, 10), PayAmt=Decimal("0.00"))
    assert voucher.vou_date == date(2024, 5, 10)
    assert voucher.get("VouDate") == "20240510"
    assert voucher.typed("StYear") == 2024
    assert voucher.typed("AdmDivCode") == "420000"  # codes stay strings
    assert voucher.typed("XPayDate") is None  # empty X-field
    amount = voucher.details[0].amount("PayAmt")
    assert isinstance(amount, Decimal) and amount.as_tuple().exponent == -2
    assert voucher.detail_sum() == sum(
        (d.amount("PayAmt") or Decimal(0) for d in voucher.details), Decimal(0)
    )
    assert "XPayAmt" in voucher.x_fields and "PayAmt" not in voucher.x_fields


def test_header_equals_detail_sum_in_samples() -> None:
    for vt in VT_CODES:
        voucher = sample_voucher(vt, details=4)
        spec = type(voucher).spec() or next(s[vt] for s in (specs("2014"),))
        if spec.sum_rule:
            assert voucher.amount(spec.sum_rule.header) == voucher.detail_sum(spec.sum_rule.detail), vt


def test_samples_are_deterministic_per_seed() -> None:
    assert sample_voucher("5201", seed=3) == sample_voucher("5201", seed=3)
    assert sample_voucher("5201", seed=3) != sample_voucher("5201", seed=4)


def test_sample_refuses_unknown_type_and_field() -> None:
    with pytest.raises(InvalidInput):
        sample_voucher("9999")
    with pytest.raises(InvalidInput):
        sample_voucher("5214", schema_version="2014")
    with pytest.raises(InvalidInput, match="NoSuchField"):
        sample_voucher("5201", NoSuchField="x")


def test_replace_returns_new_voucher_and_fills_x_fields() -> None:
    sent = sample_voucher("8202", details=2)
    receipt = sent.replace(XPayDate=date(2024, 6, 1), XPayAmt=sent.pay_amt, XAgentBusinessNo="20240601000123")
    assert sent.get("XPayDate") == ""
    assert receipt.get("XPayDate") == "20240601"
    assert receipt.get("XPayAmt") == sent.get("PayAmt")
    assert receipt.field_names == sent.field_names
    assert receipt != sent
    assert Voucher.from_xml(receipt.to_xml()) == receipt


def test_replace_details_and_detail_replace() -> None:
    voucher = sample_voucher("5214", details=2)
    row = voucher.details[0].replace(XPayAmt=Decimal("0.00"), XAddWord="账号不存在")
    changed = voucher.replace(details=[row, voucher.details[1]])
    assert changed.details[0].get("XAddWord") == "账号不存在"
    assert changed.details[0].get("XPayAmt") == "0.00"
    assert voucher.details[0].get("XAddWord") == ""


def test_replace_refuses_unknown_field_rounding_and_type_change() -> None:
    voucher = sample_voucher("5201")
    with pytest.raises(InvalidInput, match="XpayAmt"):
        voucher.replace(XpayAmt="1.00")  # only 5207 details spell it that way
    with pytest.raises(InvalidInput, match="more than two decimals"):
        voucher.replace(PayAmt=Decimal("12.345"))
    with pytest.raises(InvalidInput, match="cannot be changed"):
        voucher.replace(VtCode="5214")


def test_replace_inserts_missing_known_field_at_its_place() -> None:
    xml = (
        GBK_DECL
        + b"<Voucher><AdmDivCode>420000</AdmDivCode><VtCode>5201</VtCode><PayAmt>1.00</PayAmt></Voucher>"
    )
    voucher = Voucher.from_xml(xml)
    changed = voucher.replace(StYear="2024", Hold2="x")
    assert changed.field_names == ("AdmDivCode", "StYear", "VtCode", "PayAmt", "Hold2")


def test_unknown_vtcode_is_generic_and_kept_as_sent() -> None:
    xml = (
        GBK_DECL
        + """<Voucher>
  <VtCode>8207</VtCode>
  <OriginalVtCode>5201</OriginalVtCode>
  <Empty></Empty>
  <Name>上海市</Name>
  <DetailList>
    <Detail><A>1</A><B></B></Detail>
  </DetailList>
  <After>tail</After>
</Voucher>
""".encode("gbk")
    )
    voucher = Voucher.from_xml(xml)
    assert type(voucher) is Voucher
    assert voucher.vt_code == "8207"
    assert voucher.field_names == ("VtCode", "OriginalVtCode", "Empty", "Name", "After")
    assert voucher.detail_index == 4
    again = Voucher.from_xml(voucher.to_xml())
    assert again == voucher
    text = voucher.to_xml().decode("gbk")
    assert text.index("<DetailList>") < text.index("<After>")
    assert "<Empty></Empty>" in text and "<B></B>" in text
    assert voucher.replace(NewField="1").get("NewField") == "1"  # generic: appended


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"<Voucher><PayAmt>1.00</PayAmt><PayAmt>2.00</PayAmt></Voucher>", "appears more than once"),
        (b"<Voucher><DetailList><Detail><A>1</A><A>2</A></Detail></DetailList></Voucher>", "more than once"),
        (b"<Voucher><DetailList/><DetailList/></Voucher>", "second <DetailList>"),
        (b"<Voucher><DetailList><Row/></DetailList></Voucher>", "unexpected <Row>"),
        (b"<Voucher><PayAmt a='1'>1.00</PayAmt></Voucher>", "attributes"),
        (b"<Voucher><PayAmt><b>1</b></PayAmt></Voucher>", "text only"),
        (b"<Voucher>loose text<A/></Voucher>", "text is not allowed"),
        (b"<MOF/>", "expected <Voucher>"),
        (b"<Voucher xmlns='urn:x'><A/></Voucher>", "expected <Voucher>"),
    ],
)
def test_malformed_vouchers_are_refused(xml: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Voucher.from_xml(xml)


def test_typed_class_refuses_other_vtcode() -> None:
    cls = voucher_class("5201")
    with pytest.raises(InvalidInput):
        cls([("VtCode", "5214")])
    assert voucher_class("0000") is Voucher


@pytest.mark.parametrize(
    "text", ["12.345", "1.5", "+1.00", " 1.00", "1,00", "１.００", "1e2", "", "-.50", "NaN"]
)
def test_amount_grammar_is_strict(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(text)


def test_amount_formatting() -> None:
    assert format_amount(Decimal("12.3")) == "12.30"
    assert format_amount(5) == "5.00"
    assert format_amount(Decimal("-0.00")) == "0.00"
    assert parse_amount("-3.00") == Decimal("-3.00")
    with pytest.raises(InvalidInput):
        format_amount(Decimal("Infinity"))


@pytest.mark.parametrize("text", ["20240230", "2024O510", "２０２４０５１０", "2024-05-10", "20241301"])
def test_date_grammar_is_strict(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_date(text)


# --- property tests -----------------------------------------------------------------------

_names = st.from_regex(r"[A-Z][A-Za-z0-9_]{0,12}", fullmatch=True).filter(lambda n: n != "DetailList")
# XML 1.0 characters only; GBK-unencodable ones become character references
_values = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff", max_codepoint=0x2FFFF
    ),
    max_size=20,
)
_pairs = st.lists(st.tuples(_names, _values), max_size=12, unique_by=lambda p: p[0])

#: The 25 GB18030 byte sequences read differently by the editions: Python's ``gb18030`` codec
#: maps them to Private Use code points (GB18030-2000/2005), libxml2 (through glibc iconv, which
#: ezhifu's reader uses) to the standard characters of GB18030-2022 (GB18030-2022 Annex D; the
#: table was measured on this machine by encoding each code point with Python and reading it
#: with lxml). ``(sequence, Python's PUA code point, what ezhifu reads)``.
GB18030_EDITION_CHANGES = (
    ("a6d9", 0xE78D, 0xFE10), ("a6da", 0xE78E, 0xFE12), ("a6db", 0xE78F, 0xFE11),
    ("a6dc", 0xE790, 0xFE13), ("a6dd", 0xE791, 0xFE14), ("a6de", 0xE792, 0xFE15),
    ("a6df", 0xE793, 0xFE16), ("a6ec", 0xE794, 0xFE17), ("a6ed", 0xE795, 0xFE18),
    ("a6f3", 0xE796, 0xFE19), ("a8bc", 0xE7C7, 0x1E3F), ("fe51", 0xE816, 0x20087),
    ("fe52", 0xE817, 0x20089), ("fe53", 0xE818, 0x200CC), ("fe59", 0xE81E, 0x9FB4),
    ("fe61", 0xE826, 0x9FB5), ("fe66", 0xE82B, 0x9FB6), ("fe67", 0xE82C, 0x9FB7),
    ("fe6c", 0xE831, 0x215D7), ("fe6d", 0xE832, 0x9FB8), ("fe76", 0xE83B, 0x2298F),
    ("fe7e", 0xE843, 0x9FB9), ("fe90", 0xE854, 0x9FBA), ("fe91", 0xE855, 0x241FE),
    ("fea0", 0xE864, 0x9FBB),
)  # fmt: skip
_EDITION_DEPENDENT = frozenset(chr(c) for _, pua, std in GB18030_EDITION_CHANGES for c in (pua, std))


@pytest.mark.parametrize(("sequence", "pua", "standard"), GB18030_EDITION_CHANGES)
def test_gb18030_reads_by_the_2022_edition(sequence: str, pua: int, standard: int) -> None:
    """Found by the producer property test below: these bytes mean a Private Use character to
    Python's codec and a standard character to libxml2. ezhifu's reader gives the GB18030-2022
    character (docs/reader.md, "Encodings"); a producer that wrote the PUA code point with an
    older table is read as the standard one."""
    data = (
        b'<?xml version="1.0" encoding="GB18030"?>\n<Voucher><A>'
        + bytes.fromhex(sequence)
        + b"</A></Voucher>"
    )
    assert bytes.fromhex(sequence).decode("gb18030") == chr(pua)
    assert Voucher.from_xml(data).fields == (("A", chr(standard)),)


@settings(max_examples=60, deadline=None)
@given(header=_pairs, rows=st.lists(_pairs, max_size=4), position=st.integers(min_value=0, max_value=12))
def test_property_model_xml_model(
    header: list[tuple[str, str]], rows: list[list[tuple[str, str]]], position: int
) -> None:
    fields = [("VtCode", "7777"), *[(n, v) for n, v in header if n != "VtCode"]]
    voucher = Voucher(
        fields,
        [Detail(r) for r in rows],
        detail_list=bool(rows) or position % 2 == 0,
        detail_index=min(position, len(fields)),
    )
    again = Voucher.from_xml(voucher.to_xml())
    assert again == voucher


@settings(max_examples=60, deadline=None)
@given(
    header=_pairs,
    indent=st.sampled_from(["", "\n", "\n  ", "\r\n\t"]),
    self_closing=st.booleans(),
    encoding=st.sampled_from(["GBK", "UTF-8", "GB18030"]),
)
def test_property_producer_xml_keeps_order_and_empty_elements(
    header: list[tuple[str, str]], indent: str, self_closing: bool, encoding: str
) -> None:
    """XML as a producer wrote it -> model -> XML keeps element order and empty elements."""
    from xml.sax.saxutils import escape

    if encoding == "GB18030":  # Python's codec and libxml2 follow different editions there
        header = [(n, "".join(c for c in v if c not in _EDITION_DEPENDENT)) for n, v in header]
    fields = [("VtCode", "7777"), *[(n, v.strip()) for n, v in header if n != "VtCode"]]
    parts = []
    for name, value in fields:
        if value == "" and self_closing:
            parts.append(f"{indent}<{name}/>")
        else:
            parts.append(f"{indent}<{name}>{escape(value)}</{name}>")
    doc = f'<?xml version="1.0" encoding="{encoding}"?>\n<Voucher>{"".join(parts)}{indent}</Voucher>'
    data = doc.encode(encoding.lower(), errors="xmlcharrefreplace")
    voucher = Voucher.from_xml(data)
    assert voucher.fields == tuple(fields)
    written = Voucher.from_xml(voucher.to_xml())
    assert written.fields == tuple(fields)
    out = voucher.to_xml().decode("gbk")
    for name, value in fields:
        if value == "":
            assert f"<{name}></{name}>" in out


def test_hold_fields_and_code_lists_as_data() -> None:
    from ezhifu.document.codes import code_list, label_of, load_code_lists

    voucher = sample_voucher("8202")
    assert voucher.hold_fields == ("Hold1", "Hold2")
    assert voucher.get("Hold1")  # S13 marks header Hold1 必选
    # observed values carry their source; differing regional values coexist (spec.md §4.9)
    assert {v.code for v in code_list("PayTypeCode")} >= {"11", "12", "1", "91"}
    assert label_of("PayTypeCode", "1") == "国库集中支付"
    assert label_of("PayTypeCode", "no-such") is None
    custom = load_code_lists(
        '{"_about": "x", "PayTypeCode": [{"code": "7", "name": "本地", "source": "cfg"}]}'
    )
    assert custom["PayTypeCode"][0].name == "本地"
    from ezhifu.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        load_code_lists('{"PayTypeCode": [{"name": "no code"}]}')
