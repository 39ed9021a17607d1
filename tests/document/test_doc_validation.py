"""Validation: the validate / is_valid / iter_errors triad, the invalid-voucher manifest,
rules beyond XSD, and the must-show case (five issues, one error, path and line each)."""

from __future__ import annotations

import json

import pytest
from doc_support import ALL_TYPES, INVALID
from lxml import etree

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.document.validation import ISSUE_CODES, is_valid, iter_errors, validate, xmlschema_for
from ezhifu.document.xmlparse import parse_xml
from ezhifu.errors import (
    ConfigurationError,
    DecodingError,
    HostileDocumentError,
    HostileInputError,
    InvalidInput,
    SchemaValidationError,
)

MANIFEST = json.loads((INVALID / "MANIFEST.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("version", "vt"), ALL_TYPES)
def test_must_show_build_serialize_validate_parse(version: str, vt: str) -> None:
    voucher = sample_voucher(vt, details=3, schema_version=version)
    data = Envelope.build([voucher]).to_bytes()
    validate(data, version)
    assert is_valid(data, version)
    validate(voucher.to_xml(), version)
    assert Envelope.from_bytes(data).bodies[0].voucher == voucher


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_manifest(name: str) -> None:
    data = (INVALID / name).read_bytes()
    expected = sorted(tuple(issue) for issue in MANIFEST[name]["issues"])
    issues = list(iter_errors(data))
    assert sorted((i.code, i.path) for i in issues) == expected
    assert all(i.code in ISSUE_CODES for i in issues)
    assert all(i.line is not None and i.line > 0 for i in issues)
    assert all(i.reason for i in issues)
    # the libxml2 fast path agrees, and forcing xmlschema gives the same report
    assert is_valid(data) is False
    assert [(i.code, i.path) for i in iter_errors(data, engine="xmlschema")] == [
        (i.code, i.path) for i in issues
    ]
    with pytest.raises(SchemaValidationError) as info:
        validate(data)
    assert [(i.code, i.path) for i in info.value.issues] == [(i.code, i.path) for i in issues]


def test_manifest_fixtures_are_up_to_date() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("invalid_generate", INVALID / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, data in module.generate().items():
        assert (INVALID / name).read_bytes() == data, (
            f"{name} is stale: run tests/document/invalid/generate.py"
        )
    listed = set(MANIFEST) | {"MANIFEST.json", "generate.py"}
    assert {p.name for p in INVALID.iterdir() if p.is_file()} == listed


def _line_of(data: bytes, needle: str) -> int:
    text = data.decode("gbk")
    return text[: text.index(needle)].count("\n") + 1


def test_must_show_five_issues_in_one_error_with_path_and_line() -> None:
    data = (INVALID / "must_show.xml").read_bytes()
    with pytest.raises(SchemaValidationError) as info:
        validate(data, source="must_show.xml")
    error = info.value
    by_code = {i.code: i for i in error.issues}
    assert set(by_code) == {
        "missing-element",
        "amount-format",
        "date-format",
        "unknown-element",
        "sum-mismatch",
    }
    assert len(error.issues) == 5
    assert by_code["missing-element"].path == "/Voucher/AgencyCode"
    assert by_code["missing-element"].line == _line_of(data, "<Voucher>")
    assert by_code["amount-format"].path == "/Voucher/DetailList/Detail[1]/ForeignAmt"
    assert by_code["amount-format"].value == "12.345"
    assert by_code["amount-format"].line == _line_of(data, "<ForeignAmt>12.345")
    assert by_code["date-format"].value == "2024O510"
    assert by_code["date-format"].line == _line_of(data, "<VouDate>")
    assert by_code["unknown-element"].path == "/Voucher/PayNote"
    assert by_code["unknown-element"].line == _line_of(data, "<PayNote>")
    assert by_code["sum-mismatch"].path == "/Voucher/PayAmt"
    assert by_code["sum-mismatch"].line == _line_of(data, "<PayAmt>1.00")
    message = str(error)
    assert message.startswith("must_show.xml: 5 validation issues")
    for issue in error.issues:
        assert issue.path in message and issue.source == "must_show.xml"
    assert "Traceback" not in message


def test_inner_voucher_issue_in_envelope_reports_inner_line() -> None:
    data = (INVALID / "envelope_inner_amount.xml").read_bytes()
    [issue] = list(iter_errors(data))
    inner = Envelope.from_bytes(data).bodies[0].voucher_xml
    assert issue.path == "/MOF/VoucherBody[1]/Voucher/DetailList/Detail[2]/ForeignAmt"
    text = inner.decode("gbk")
    second = text.index("<ForeignAmt>12.345")
    assert issue.line == text[:second].count("\n") + 1  # line in the decoded inner voucher


def test_499_details_valid_500_refused() -> None:
    # S1: "明细条数必须小于500". 3502 has short detail rows, which keeps the test fast.
    ok = sample_voucher("3502", details=499)
    data = Envelope.build([ok]).to_bytes()
    assert is_valid(data)
    validate(data, engine="xmlschema")
    rows = ok.details
    extra = rows[0].replace(VoucherNo="EXTRA")
    extra_amount = extra.amount("Amt")
    assert extra_amount is not None
    too_many = ok.replace(details=[*rows, extra], AllNum=500, AllAmt=ok.detail_sum("Amt") + extra_amount)
    data = Envelope.build([too_many]).to_bytes()
    assert not is_valid(data)
    issues = list(iter_errors(data))
    assert [(i.code, i.path) for i in issues] == [
        ("too-many-details", "/MOF/VoucherBody[1]/Voucher/DetailList")
    ]
    assert issues[0].value == "500"


def test_499_details_of_a_5214_voucher_valid() -> None:
    data = Envelope.build([sample_voucher("5214", details=499)]).to_bytes()
    assert is_valid(data)
    validate(data)


def test_several_bodies_each_reported() -> None:
    good = sample_voucher("5201", seed=1)
    bad = sample_voucher("5201", seed=2).replace(PayAmt="0.01")
    data = Envelope.build([good, bad, good]).to_bytes()
    issues = list(iter_errors(data))
    assert [(i.code, i.path) for i in issues] == [("sum-mismatch", "/MOF/VoucherBody[2]/Voucher/PayAmt")]


def test_schema_version_selects_types() -> None:
    voucher = sample_voucher("5214")
    assert is_valid(voucher.to_xml(), "2024")
    issues = list(iter_errors(voucher.to_xml(), "2014"))
    assert [(i.code, i.path) for i in issues] == [("unknown-vtcode", "/Voucher/VtCode")]
    # 2019-edition 8202 fields exist only in the 2024 set
    v8202 = sample_voucher("8202", schema_version="2024")
    assert [i.path for i in iter_errors(v8202.to_xml(), "2014") if i.code == "unknown-element"] == [
        "/Voucher/GovExpEcoCode",
        "/Voucher/GovExpEcoName",
        "/Voucher/DepExpEcoCode",
        "/Voucher/DepExpEcoName",
        "/Voucher/ClearAcctNo",
        "/Voucher/ClearAcctName",
        "/Voucher/ClearAcctBankName",
        "/Voucher/PayCode",
        "/Voucher/GovProcurementID",
        "/Voucher/DetailList/Detail[1]/VoucherDetailNo",
        "/Voucher/DetailList/Detail[1]/TrackingID",
    ]


def test_unknown_schema_version_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="1999"):
        validate(sample_voucher("5201").to_xml(), "1999")
    with pytest.raises(ConfigurationError):
        is_valid(b"<Voucher/>", "1999")


def test_accepts_models_and_envelopes() -> None:
    voucher = sample_voucher("2301", details=2)
    validate(voucher)
    validate(Envelope.build([voucher]))
    assert is_valid(voucher)
    with pytest.raises(InvalidInput):
        validate(42)  # type: ignore[arg-type]


def test_unreadable_input_raises_its_own_error() -> None:
    # Changed by issue 14 item 5 (iter_errors never raises for a document): the undecodable
    # document used to raise DecodingError from iter_errors; it is now its one issue, with the
    # same reason and the byte offset. validate still raises a HostileInputError (the
    # HostileDocumentError carrying the issue) for the DOCTYPE, refused before parsing.
    with pytest.raises(HostileInputError) as hostile:
        validate(b"<!DOCTYPE MOF><MOF/>")
    assert isinstance(hostile.value, HostileDocumentError)
    assert [(i.code, i.path, i.line) for i in hostile.value.issues] == [("hostile-input", "/", 1)]
    assert "DOCTYPE" in hostile.value.issues[0].reason
    bad = b'<?xml version="1.0" encoding="GBK"?><Voucher>\xff</Voucher>'
    with pytest.raises(DecodingError) as refused:
        parse_xml(bad)
    issues = list(iter_errors(bad))
    assert [(i.code, i.path, i.line, i.reason, i.offset) for i in issues] == [
        ("decoding", "/", 1, str(refused.value), refused.value.offset)
    ]
    assert is_valid(b"<!DOCTYPE MOF><MOF/>") is False
    assert is_valid(b"<a") is False
    assert [i.code for i in iter_errors(b"<a")] == ["not-xml"]


def test_other_root_element() -> None:
    issues = list(iter_errors(b"<Root><Stamp No='x'>1</Stamp></Root>"))
    assert [i.code for i in issues] == ["not-a-voucher"]


def test_negative_amount_allowed_only_where_the_type_allows() -> None:
    refund = sample_voucher("2302", details=2)
    rows = [refund.details[0].replace(PayAmt="-10.00"), refund.details[1].replace(PayAmt="-5.50")]
    refund = refund.replace(details=rows, PayAmt="-15.50")
    validate(refund)
    payment = sample_voucher("2301", details=1)
    payment = payment.replace(details=[payment.details[0].replace(PayAmt="-15.50")], PayAmt="-15.50")
    codes = sorted(i.code for i in iter_errors(payment))
    assert codes == ["negative-amount", "negative-amount"]


def test_xsd_patterns_never_use_backslash_d() -> None:
    from importlib import resources

    root = resources.files("ezhifu.schemas")
    for version in ("2014", "2024"):
        folder = root.joinpath(version)
        entries = [*folder.iterdir(), *folder.joinpath("strict").iterdir()]
        assert sum(1 for e in entries if e.name.endswith(".xsd")) > 20
        for entry in entries:
            if not entry.is_file():
                continue  # the strict level's folder, listed above
            text = entry.read_text(encoding="utf-8")
            assert "\\d" not in text, entry.name
            etree.XMLSchema(etree.fromstring(text.encode()))  # libxml2 accepts it


def test_xmlschema_instances_are_cached_and_sandboxed() -> None:
    first = xmlschema_for("2024", "voucher_5214")
    assert first is xmlschema_for("2024", "voucher_5214")
    assert first.source.allow == "none"
    assert first.source.defuse == "always"


def test_threads_share_the_schema_cache() -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = Envelope.build([sample_voucher("5108", details=5)]).to_bytes()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: list(iter_errors(data, "2014", engine="xmlschema")), range(8)))
    assert results == [[]] * 8


def test_hostile_inner_voucher_is_refused_by_validation() -> None:
    import base64

    inner = b'<?xml version="1.0"?><!DOCTYPE Voucher [<!ENTITY a "aaaa">]><Voucher>&a;</Voucher>'
    envelope = Envelope.build([sample_voucher("5201")])
    envelope.bodies[0].voucher_b64 = base64.b64encode(inner).decode("ascii")
    data = envelope.to_bytes()
    with pytest.raises(HostileInputError, match="inner voucher of /MOF/VoucherBody\\[1\\]"):
        validate(data)
    assert is_valid(data) is False


def test_inner_voucher_with_bad_gbk_is_an_issue_with_offset() -> None:
    import base64

    inner = b'<?xml version="1.0" encoding="GBK"?>\n<Voucher><VtCode>5201</VtCode>\xff</Voucher>'
    envelope = Envelope.build([sample_voucher("5201")])
    envelope.bodies[0].voucher_b64 = base64.b64encode(inner).decode("ascii")
    [issue] = list(iter_errors(envelope.to_bytes()))
    assert issue.code == "inner-xml" and issue.path == "/MOF/VoucherBody[1]/Voucher"
    offset = inner.index(b"\xff")
    assert f"byte offset {offset}" in issue.reason
