"""Validation levels (issue 15 item 1): real-shaped partner vouchers validate at ``partner`` and
their ``0`` amounts are reported at ``strict``; error reports name attributes and quote excerpts
(item 2).

The 5214 voucher is built element by element from the facts of the real 2024 messages
(docs/spec.md §4.4): the header and detail order written there, ``PayAmt`` ``2.00``, header
``ForeignAmt`` ``0`` and ``XPayAmt`` ``0``, detail ``ForeignAmt`` ``0`` and ``XPayAmt`` empty,
``CurrencyCode`` ``CNY``, ``EstRat`` and ``AmtUnit`` empty.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ezhifu.document.envelope import Envelope
from ezhifu.document.fields import known_vt_codes, spec_for
from ezhifu.document.models import Voucher
from ezhifu.document.samples import sample_voucher
from ezhifu.document.validation import check, is_valid, iter_errors, validate
from ezhifu.errors import ConfigurationError, SchemaValidationError
from ezhifu.testing.partner import partner_5214_inner

REPO = Path(__file__).resolve().parents[2]


def _spec_md_order(kind: str) -> list[str]:
    """The element order of the real 5214 messages, read from docs/spec.md §4.4."""
    text = (REPO / "docs" / "spec.md").read_text(encoding="utf-8")
    section = text[text.index("### 4.4 5214") : text.index("### 4.5")]
    match = re.search(rf"- {kind} order: (.*?)(?:, then `DetailList`|\. In the detail)", section, re.S)
    assert match is not None, kind
    return match.group(1).replace("*", "").split()


HEADER_ORDER = _spec_md_order("Header")
DETAIL_ORDER = _spec_md_order("Detail")


def real_5214_inner(*, xaddword_last: bool = False) -> bytes:
    return partner_5214_inner(xaddword_last=xaddword_last)


def real_5214_envelope(**kwargs: bool) -> bytes:
    voucher = Voucher.from_xml(real_5214_inner(**kwargs))
    return Envelope.build([voucher]).to_bytes()


def test_reference_order_is_the_field_table_order() -> None:
    spec = spec_for("5214")
    assert spec is not None
    assert [f.name for f in spec.header] == HEADER_ORDER
    assert [f.name for f in spec.detail] == DETAIL_ORDER
    assert DETAIL_ORDER.index("XAddWord") < DETAIL_ORDER.index("XPayeeAcctBankName")
    assert len(HEADER_ORDER) == 75 and len(DETAIL_ORDER) == 50


def test_the_89_elements_of_a_real_5214() -> None:
    """Issue 15's "89 elements" (docs/spec.md §4.4, "Element count"): the real-shaped 5214 uses
    89 distinct element names, the 86 distinct field names of the header (75) and detail (50)
    orders, 39 shared, plus ``Voucher``, ``DetailList`` and ``Detail``; with one detail the
    document holds 1 + 75 + 1 + (1 + 50) = 128 elements."""
    shared = set(HEADER_ORDER) & set(DETAIL_ORDER)
    assert (len(HEADER_ORDER), len(DETAIL_ORDER), len(shared)) == (75, 50, 39)
    assert len(set(HEADER_ORDER) | set(DETAIL_ORDER)) == 86
    root = etree.fromstring(real_5214_inner())
    tags = [el.tag for el in root.iter()]
    assert len(set(tags)) == 89
    assert set(tags) == {*HEADER_ORDER, *DETAIL_ORDER, "Voucher", "DetailList", "Detail"}
    details = len(root.findall("DetailList/Detail"))
    assert details >= 1 and len(tags) == 1 + 75 + 1 + details * (1 + 50)


def test_writer_emits_the_order_of_real_messages() -> None:
    voucher = Voucher.build("5214", {"PayAmt": "2.00"}, [{"PayAmt": "2.00"}])
    assert voucher.field_names == tuple(HEADER_ORDER)
    assert voucher.details[0].names == tuple(DETAIL_ORDER)
    again = Voucher.from_xml(real_5214_inner())
    assert again.field_names == tuple(HEADER_ORDER)


def test_partner_sample_has_the_order_and_values_of_the_reference() -> None:
    root = Voucher.from_xml(real_5214_inner())
    assert root.field_names == tuple(HEADER_ORDER)
    assert root.details[0].names == tuple(DETAIL_ORDER)
    assert (root.get("PayAmt"), root.get("ForeignAmt"), root.get("XPayAmt")) == ("2.00", "0", "0")
    detail = root.details[0]
    assert (detail.get("ForeignAmt"), detail.get("XPayAmt"), detail.get("CurrencyCode")) == ("0", "", "CNY")
    assert (root.get("EstRat"), root.get("AmtUnit")) == ("", "")
    old = Voucher.from_xml(real_5214_inner(xaddword_last=True)).details[0].names
    assert old.index("XAddWord") > old.index("XPayeeAcctName")


def test_real_5214_valid_at_partner_level() -> None:
    data = real_5214_envelope()
    assert list(iter_errors(data)) == []
    assert is_valid(data)
    validate(data)  # the default level is partner
    report = check(data)
    assert report.valid and report.level == "partner"
    assert Voucher.from_xml(real_5214_inner()).amount("ForeignAmt") == 0


def test_real_5214_zero_amounts_reported_at_strict_level() -> None:
    data = real_5214_envelope()
    issues = list(iter_errors(data, level="strict"))
    assert [(i.path, i.code, i.value) for i in issues] == [
        ("/MOF/VoucherBody[1]/Voucher/ForeignAmt", "amount-format", "0"),
        ("/MOF/VoucherBody[1]/Voucher/XPayAmt", "amount-format", "0"),
        ("/MOF/VoucherBody[1]/Voucher/DetailList/Detail[1]/ForeignAmt", "amount-format", "0"),
    ]
    assert all("exactly two decimals" in i.reason and "level strict" in i.reason for i in issues)
    assert not is_valid(data, level="strict")
    with pytest.raises(SchemaValidationError) as info:
        validate(data, level="strict")
    assert info.value.level == "strict"
    assert "3 validation issues (level strict)" in str(info.value)
    report = check(data, level="strict", source="real.xml")
    assert not report.valid
    as_dict = json.loads(report.to_json())
    assert as_dict["level"] == "strict" and len(as_dict["issues"]) == 3 and as_dict["file"] == "real.xml"


def test_old_detail_order_is_an_order_issue_only_at_strict() -> None:
    data = real_5214_envelope(xaddword_last=True)
    assert is_valid(data)
    issues = [i for i in iter_errors(data, level="strict") if i.code == "element-order"]
    assert len(issues) == 1
    assert issues[0].path == "/MOF/VoucherBody[1]/Voucher/DetailList/Detail[1]/XAddWord"
    assert "<XAddWord> stands after <XPayeeAcctName>" in issues[0].reason
    # the fast path (libxml2, xs:sequence) agrees that it is not valid at strict
    assert not is_valid(data, level="strict")


@pytest.mark.parametrize("vt_code", ["5201", "8202"])
def test_5201_8202_from_the_field_lists(vt_code: str) -> None:
    spec = spec_for(vt_code)
    assert spec is not None
    header: dict[str, str] = {f.name: "" for f in spec.header}
    header.update(
        Id="A" * 32,
        AdmDivCode="420100",
        StYear="2024",
        VtCode=vt_code,
        VouDate="20240315",
        VoucherNo=f"{vt_code}0001",
        AgencyCode="101001",
        AgencyName="武汉市第一中学",
        PayeeAcctNo="420010100000000001",
        PayeeAcctName="武汉市第一中学",
        PayAcctNo="420000000000000099",
        PayAcctName="武汉市第一中学零余额账户",
        PayAcctBankName="中国建设银行武汉江汉支行",
        BgtTypeCode="11",
        ProCatCode="4",
        ExpFuncCode="2050201",
        Hold1="0",
        PayAmt="1200.5",  # partner: one decimal
        XPayAmt="0",
    )
    row = {f.name: "" for f in spec.detail}
    row.update(
        Id="B" * 32,
        PayAmt="1200.50",
        PayKindCode="1",
        PayeeAcctNo="420010100000000001",
        PayeeAcctName="武汉市第一中学",
        PayeeAcctBankName="中国工商银行武汉东湖支行",
        XPayAmt="0",
    )
    voucher = Voucher.build(vt_code, header, [row])
    data = Envelope.build([voucher]).to_bytes()
    assert list(iter_errors(data)) == []
    strict = list(iter_errors(data, level="strict"))
    assert sorted((i.path.rsplit("/", 1)[1], i.value) for i in strict) == [
        ("PayAmt", "1200.5"),
        ("XPayAmt", "0"),
        ("XPayAmt", "0"),
    ]
    assert all(i.code == "amount-format" for i in strict)


def test_unknown_level_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="partner"):
        check(real_5214_envelope(), level="lenient")  # type: ignore[arg-type]


@settings(deadline=None, max_examples=40)  # each example is a full validation (no timing asserts)
@given(st.from_regex(r"[0-9]{1,15}(\.[0-9]{1,2})?", fullmatch=True))
def test_partner_accepts_every_amount_of_at_most_two_decimals(amount: str) -> None:
    voucher = Voucher.build("5214", {"PayAmt": amount, "AgencyCode": "1"}, [{"PayAmt": amount, "Id": "1"}])
    codes = {i.code for i in iter_errors(voucher) if i.path.endswith("PayAmt")}
    assert "amount-format" not in codes


@pytest.mark.parametrize("amount", ["12,3145771.73", "2.000", "+2.00", "2e3", " 2.00", "２.00", "."])
def test_both_levels_refuse_what_is_not_an_amount(amount: str) -> None:
    voucher = Voucher.build("5214", {"PayAmt": amount}, [{"PayAmt": "2.00"}])
    for level in ("partner", "strict"):
        issues = [i for i in iter_errors(voucher, level=level) if i.code == "amount-format"]
        assert [i.path for i in issues] == ["/Voucher/PayAmt"], (level, amount)


# --- item 2: error reports -------------------------------------------------------------------


def test_attribute_issue_names_the_attribute_and_the_rule() -> None:
    data = real_5214_envelope().replace(b'StYear="2024"', b'StYear="20245"', 1)
    issues = [i for i in iter_errors(data) if i.path.endswith("@StYear")]
    assert sorted(i.code for i in issues) == ["attribute-mismatch", "envelope-value"]
    issues = [i for i in issues if i.code == "envelope-value"]
    issue = issues[0]
    assert issue.path == "/MOF/VoucherBody[1]/@StYear"
    assert issue.value == "20245"
    assert "4 ASCII digits" in issue.reason and "4 位数字" in issue.reason


def test_missing_and_unknown_attributes_are_named() -> None:
    data = real_5214_envelope().replace(b' StYear="2024"', b"", 1)
    (missing,) = [i for i in iter_errors(data) if i.code == "envelope-value"]
    assert missing.path == "/MOF/VoucherBody[1]/@StYear" and missing.value is None
    assert "required attribute StYear" in missing.reason and "4 ASCII digits" in missing.reason
    data = real_5214_envelope().replace(b'VtCode="5214"', b'VtCode="5214" Foo="x"', 1)
    (unknown,) = [i for i in iter_errors(data) if i.code == "envelope-value"]
    assert unknown.path == "/MOF/VoucherBody[1]/@Foo" and unknown.value == "x"
    assert "attribute Foo is not allowed" in unknown.reason


def test_inner_styear_gives_the_real_rule() -> None:
    inner = real_5214_inner().replace(b"<StYear>2024</StYear>", b"<StYear>20245</StYear>")
    issues = [i for i in iter_errors(inner) if i.path == "/Voucher/StYear"]
    assert len(issues) == 1 and "4 ASCII digits" in issues[0].reason
    assert "integer" not in issues[0].reason


def test_values_are_quoted_as_short_excerpts() -> None:
    data = real_5214_envelope()
    huge = "x" * 5000
    data = data.replace(b'VoucherNo="', f'Bogus="{huge}" VoucherNo="'.encode(), 1)
    data = data.replace(b"<VoucherFlag>0</VoucherFlag>", f"<VoucherFlag>{huge}</VoucherFlag>".encode())
    issues = list(iter_errors(data, engine="xmlschema"))
    assert issues
    for issue in issues:
        assert issue.value is None or len(issue.value) <= 65, issue
    assert any(i.value is not None and i.value.endswith("…") for i in issues)


@pytest.mark.parametrize("vt_code", sorted(known_vt_codes()))
def test_every_sample_is_valid_at_both_levels(vt_code: str) -> None:
    voucher = sample_voucher(vt_code, details=2)
    data = Envelope.build([voucher]).to_bytes()
    for level in ("partner", "strict"):
        assert list(iter_errors(data, level=level)) == [], (vt_code, level)
        assert is_valid(data, level=level)


@settings(deadline=None, max_examples=40)
@given(
    st.sampled_from(["PayAmt", "VouDate", "AgencyCode", "StYear"]),
    st.sampled_from(["0", "2.0", "2.00", "-1.00", "", "2024", "20240230", "x" * 70, "1,0"]),
)
def test_fast_path_agrees_with_the_report_and_strict_implies_partner(name: str, value: str) -> None:
    voucher = sample_voucher("5201", details=1).replace(**{name: value})
    data = Envelope.build([voucher]).to_bytes()
    verdicts = {}
    for level in ("partner", "strict"):
        issues = list(iter_errors(data, level=level))
        assert is_valid(data, level=level) == (not issues), (level, issues)
        verdicts[level] = not issues
    assert verdicts["partner"] or not verdicts["strict"]
