"""The canonical form of the manifest (property tests), GB/T 7408 times and the generated XSD."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.archive.gbt7408 import datetime_text, parse_datetime, voucher_date
from ezhifu.archive.manifest import canonical_json, file_entry, parse_manifest
from ezhifu.archive.metadata import Agent, Event, b1_record, metadata_xml, missing_elements
from ezhifu.archive.metadata_xml import metadata_issues, read_metadata
from ezhifu.archive.xsdgen import SCHEMA_PATH, dat95_xsd, write_schema
from ezhifu.crypto.sm3 import sm3
from ezhifu.document.envelope import VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import ArchiveFormatError, InvalidInput
from ezhifu.flow.receipts import build_receipt

ROOT = Path(__file__).resolve().parent.parent

_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63) | st.text(max_size=20)
values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_canonical_form_is_a_fixed_point(value: object) -> None:
    once = canonical_json(value)
    assert canonical_json(json.loads(once)) == once
    assert json.loads(once) == value


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.integers(), min_size=2, max_size=6))
def test_key_order_does_not_matter(value: dict[str, int]) -> None:
    reversed_value = dict(reversed(list(value.items())))
    assert canonical_json(value) == canonical_json(reversed_value)


def test_canonical_bytes_are_compact_utf8_with_sorted_keys() -> None:
    assert canonical_json({"b": [1, "归档"], "a": None}) == '{"a":null,"b":[1,"归档"]}'.encode()
    assert canonical_json("\u2028") == '"\u2028"'.encode()


@pytest.mark.parametrize("bad", [1.5, {"a": float("nan")}, {1: "x"}, b"bytes", {"a": {1, 2}}])
def test_values_without_a_canonical_form_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput):
        canonical_json(bad)


def test_too_deep_values_are_refused() -> None:
    deep: object = 1
    for _ in range(20):
        deep = [deep]
    with pytest.raises(InvalidInput, match="deeper"):
        canonical_json(deep)


def test_file_entry_digests() -> None:
    entry = file_entry(b"abc")
    assert entry["size"] == 3
    assert entry["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    # GB/T 32905-2016 example 1
    assert (
        entry["sm3"]
        == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        == sm3(b"abc").hex()
    )


@pytest.mark.parametrize(
    "data",
    [
        b'{"format":"ezhifu-archive/1","package":"p","created":"2026-01-01","vouchers":[],"files":{}}',
        b'{"format":"ezhifu-archive/1","package":"p","created":"2026-01-01T00:00:00+08:00","vouchers":[],'
        b'"files":{"a":{"size":1}}}',
        b'{"format":"ezhifu-archive/1","package":"p","created":"2026-01-01T00:00:00Z","vouchers":[],'
        b'"files":{"a":{"size":1.0,"sha256":"","sm3":""}}}',
        b"\xff\xfe",
        b" " * (2 << 20),
    ],
)
def test_parse_manifest_refuses_bad_shapes(data: bytes) -> None:
    with pytest.raises(ArchiveFormatError):
        parse_manifest(data)


@settings(max_examples=100, deadline=None)
@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30), timezones=st.just(UTC)))
def test_gbt7408_times_round_trip(when: datetime) -> None:
    text = datetime_text(when)
    assert text.endswith("+08:00") and "T" in text and len(text) == 25
    assert parse_datetime(text) == when.replace(microsecond=0)


def test_gbt7408_refuses_naive_times_and_bad_dates() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        datetime_text(datetime(2026, 1, 1))
    assert (
        datetime_text(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5))))
        == "2026-01-01T13:00:00+08:00"
    )
    assert voucher_date("20240229") == "2024-02-29"
    assert voucher_date("") == ""
    for bad in ("20230229", "2024-02-29", "２０２４０２２９", "2024022"):
        with pytest.raises(InvalidInput):
            voucher_date(bad)
    with pytest.raises(InvalidInput):
        parse_datetime("2026-01-01 00:00:00")


def test_the_committed_schema_is_generated() -> None:
    assert write_schema(ROOT, check=True) == [], "run: python -m ezhifu.archive.xsdgen"
    assert (ROOT / SCHEMA_PATH).read_text(encoding="utf-8") == dat95_xsd()


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=6))
def test_b1_metadata_of_any_answered_voucher_is_schema_valid(seed: int, details: int) -> None:
    voucher = sample_voucher("8202", details=details, seed=seed)
    x = {"XPayDate": "20260101", "XAgentBusinessNo": "T1", "XPayeeAcctBankName": "银行", "XPayeeAcctNo": "1"}
    x |= {"XPayeeAcctName": "收款人"}
    header = {
        **x,
        "XPayAmt": voucher.get("PayAmt") or "0.00",
        "XFundDealModeCode": "2",
        "XFundDealModeName": "自助柜面",
    }
    rows = [{**x, "XPayAmt": d.get("PayAmt") or "0.00"} for d in voucher.details]
    receipt = build_receipt(VoucherBody.from_voucher(voucher), fields=header, details=rows).voucher
    record = b1_record(voucher, receipt)
    assert missing_elements(record) == []
    events = [Event("归档", "完成", datetime(2026, 1, 1, tzinfo=UTC))]
    data = metadata_xml([record], [Agent("档案室")], events, package_id="p")
    assert metadata_issues(data) == []
    parsed = read_metadata(data)
    assert parsed.item_counts == (details,) and parsed.vouchers[0]["XPayDate"] == "2026-01-01"
