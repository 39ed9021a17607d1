"""From data to voucher (issue 15 item 4): build_voucher, JSON / TOML / CSV, bounds and errors that
name the field and the row."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ezhifu
from ezhifu.document.build import (
    MAX_COLUMNS,
    MAX_DATA_BYTES,
    build_voucher,
    load_voucher_data,
    parse_voucher_data,
)
from ezhifu.document.fields import MAX_DETAILS, spec_for
from ezhifu.document.validation import check
from ezhifu.errors import EzhifuError, SchemaValidationError, VoucherDataError

HEADER_5201 = {
    "AdmDivCode": "420100",
    "VouDate": "20240315",
    "VoucherNo": "5201202403150001",
    "AgencyCode": "205001",
    "AgencyName": "武汉市第一中学",
    "PayeeAcctNo": "3202001109000012345",
    "PayeeAcctName": "武汉市第一中学",
    "PayBankName": "中国工商银行股份有限公司武汉分行",
}


def _data(**extra: object) -> dict[str, object]:
    return {**HEADER_5201, "DetailList": [{"PayAmt": "12800.00"}, {"PayAmt": "1450.5"}], **extra}


def test_build_fills_what_a_newcomer_should_not_write() -> None:
    voucher = build_voucher("5201", _data())
    spec = spec_for("5201")
    assert spec is not None
    assert voucher.field_names == tuple(f.name for f in spec.header)
    assert voucher.get("VtCode") == "5201" and voucher.get("StYear") == "2024"
    assert len(voucher.get("Id") or "") == 32
    assert voucher.get("PayAmt") == "14250.50"
    rows = voucher.details
    assert [r.get("PayAmt") for r in rows] == ["12800.00", "1450.50"]
    assert all(r.get("VoucherBillId") == voucher.get("Id") for r in rows)
    assert all(r.get("VoucherBillNo") == "5201202403150001" for r in rows)
    assert check(voucher, level="strict").valid
    assert ezhifu.build_voucher is build_voucher  # on the curated API


def test_json_toml_csv_give_the_same_voucher(tmp_path: Path) -> None:
    data = _data(Id="A" * 32, DetailList=[{"Id": "B" * 32, "PayAmt": 12.5}, {"Id": "C" * 32, "PayAmt": "7"}])
    (tmp_path / "v.json").write_text(
        json.dumps(
            {**data, "DetailList": [{"Id": "B" * 32, "PayAmt": 12.5}, {"Id": "C" * 32, "PayAmt": "7"}]}
        ),
        encoding="utf-8",
    )
    toml_head = "\n".join(f'{k} = "{v}"' for k, v in HEADER_5201.items())
    (tmp_path / "v.toml").write_text(
        f'Id = "{"A" * 32}"\n{toml_head}\n\n[[DetailList]]\nId = "{"B" * 32}"\nPayAmt = 12.50\n\n'
        f'[[DetailList]]\nId = "{"C" * 32}"\nPayAmt = "7"\n',
        encoding="utf-8",
    )
    csv_head = "\n".join(f"{k},{v}" for k, v in HEADER_5201.items())
    (tmp_path / "v.csv").write_text(
        f"Id,{'A' * 32}\n{csv_head}\n\nDetailList\nId,PayAmt\n{'B' * 32},12.5\n{'C' * 32},7\n",
        encoding="utf-8",
    )
    built = [
        build_voucher("5201", load_voucher_data(tmp_path / f"v.{ext}")) for ext in ("json", "toml", "csv")
    ]
    assert built[0] == built[1] == built[2]
    assert built[0].get("PayAmt") == "19.50"


def test_unknown_field_names_the_field_and_row() -> None:
    with pytest.raises(VoucherDataError) as info:
        build_voucher("5201", _data(DetailList=[{"PayAmt": "1.00"}, {"PayAmt": "1.00", "PayAmount": "1"}]))
    assert info.value.field == "PayAmount" and info.value.row == 2
    assert "DetailList row 2 PayAmount" in str(info.value) and "明细第 2 行" in str(info.value)
    with pytest.raises(VoucherDataError) as info:
        build_voucher("5201", _data(AgencyNmae="x"))
    assert (
        info.value.field == "AgencyNmae" and info.value.row is None and "header AgencyNmae" in str(info.value)
    )


@pytest.mark.parametrize("bad", ["12,3145771.73", "1e3", "2.005", "--1", "１.00", "NaN", ""])
def test_bad_amount_names_field_and_row(bad: str) -> None:
    data = _data(DetailList=[{"PayAmt": "1.00"}, {"PayAmt": bad}])
    if bad == "":
        # an empty required amount: a strict-level issue, every problem listed
        with pytest.raises(SchemaValidationError) as schema_info:
            build_voucher("5201", {**data, "PayAmt": "1.00"})
        assert any(i.path.endswith("Detail[2]/PayAmt") for i in schema_info.value.issues)
        return
    with pytest.raises(VoucherDataError) as info:
        build_voucher("5201", data)
    assert (info.value.field, info.value.row) == ("PayAmt", 2)


def test_invalid_voucher_lists_every_problem_at_strict_level() -> None:
    data = _data(VouDate="20240230", AdmDivCode="4201")
    with pytest.raises(SchemaValidationError) as info:
        build_voucher("5201", data)
    assert info.value.level == "strict"
    codes = {i.code for i in info.value.issues}
    assert {"date-invalid", "value-format"} <= codes
    assert build_voucher("5201", data, check=False).get("VouDate") == "20240230"


def test_refusals_of_shape() -> None:
    with pytest.raises(VoucherDataError, match="VtCode '9999'"):
        build_voucher("9999", _data())
    with pytest.raises(VoucherDataError, match="differs from the type 5201"):
        build_voucher("5201", _data(VtCode="8202"))
    with pytest.raises(VoucherDataError, match="DetailList must be a list"):
        build_voucher("5201", _data(DetailList={"PayAmt": "1"}))
    with pytest.raises(VoucherDataError, match="a bool"):
        build_voucher("5201", _data(Hold1=True))
    with pytest.raises(VoucherDataError, match="float loses cents"):
        build_voucher("5201", _data(DetailList=[{"PayAmt": 0.1}]))
    with pytest.raises(VoucherDataError, match="row 1"):
        build_voucher("5201", _data(DetailList=["not a row"]))


def test_bounds() -> None:
    rows = [{"PayAmt": "1.00"}] * (MAX_DETAILS + 1)
    with pytest.raises(VoucherDataError, match=f"limit of {MAX_DETAILS}"):
        build_voucher("5201", _data(DetailList=rows))
    wide = {f"X{i}": "1" for i in range(MAX_COLUMNS + 1)}
    with pytest.raises(VoucherDataError, match=f"limit of {MAX_COLUMNS}"):
        build_voucher("5201", {**HEADER_5201, **wide})
    with pytest.raises(VoucherDataError, match="exceed the limit"):
        parse_voucher_data(b" " * (MAX_DATA_BYTES + 1), "json")
    for deep, fmt in ((b"[" * 100_000, "json"), (b"a = " + b"[" * 100_000, "toml")):
        with pytest.raises(VoucherDataError, match="nested too deeply"):
            parse_voucher_data(deep, fmt)  # type: ignore[arg-type]
    csv_rows = "DetailList\nPayAmt\n" + "1.00\n" * (MAX_DETAILS + 1)
    with pytest.raises(VoucherDataError, match=f"more than {MAX_DETAILS} details"):
        parse_voucher_data(csv_rows.encode(), "csv")


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"VouDate": ', encoding="utf-8")
    with pytest.raises(VoucherDataError, match=r"bad\.json"):
        load_voucher_data(bad)
    (tmp_path / "gbk.json").write_bytes('{"AgencyName": "中学"}'.encode("gbk"))
    with pytest.raises(VoucherDataError, match="not UTF-8 at byte"):
        load_voucher_data(tmp_path / "gbk.json")
    (tmp_path / "x.yaml").write_text("a: 1", encoding="utf-8")
    with pytest.raises(VoucherDataError, match="suffix"):
        load_voucher_data(tmp_path / "x.yaml")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(VoucherDataError, match="top level"):
        load_voucher_data(tmp_path / "list.json")
    (tmp_path / "short.csv").write_text("DetailList\nId,PayAmt\n1\n", encoding="utf-8")
    with pytest.raises(VoucherDataError, match="row 1"):
        load_voucher_data(tmp_path / "short.csv")
    (tmp_path / "three.csv").write_text("VouDate,2024,extra\n", encoding="utf-8")
    with pytest.raises(VoucherDataError, match="CSV line 1"):
        load_voucher_data(tmp_path / "three.csv")


@settings(deadline=None, max_examples=30)
@given(st.lists(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False), min_size=1, max_size=5))
def test_header_sum_is_the_sum_of_the_details(amounts: list[Decimal]) -> None:
    voucher = build_voucher("5201", _data(DetailList=[{"PayAmt": a} for a in amounts]))
    assert Decimal(voucher.get("PayAmt") or "x") == sum(amounts, Decimal("0"))
    assert check(voucher, level="strict").valid


_SEEDS = {
    "json": json.dumps(_data(), ensure_ascii=False).encode(),
    "toml": (b'VouDate = "20240315"\nAgencyCode = "1"\n[[DetailList]]\nPayAmt = 1.50\n'),
    "csv": b"VouDate,20240315\nAgencyCode,1\nDetailList\nPayAmt,Id\n1.5,A\n",
}


@settings(deadline=None, max_examples=120)
@given(st.sampled_from(sorted(_SEEDS)), st.data())
def test_mutated_data_raises_only_ezhifu_errors(fmt: str, data: st.DataObject) -> None:
    raw = bytearray(_SEEDS[fmt])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "flip":
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del raw[at : at + data.draw(st.integers(1, 8))]
        if not raw:
            break
    try:
        build_voucher("5201", parse_voucher_data(bytes(raw), fmt))  # type: ignore[arg-type]
    except EzhifuError as exc:
        assert str(exc).strip()
