"""Receipts: X-fields only, VoucherFlag=1, Attach=SUCCESS, and the binding to the original."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.document.envelope import VoucherBody
from ezhifu.document.fields import spec_for
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import InvalidInput
from ezhifu.flow.receipts import build_receipt, is_x_field, receipt_problems


def _body(vt: str = "5201", details: int = 2) -> VoucherBody:
    return VoucherBody.from_voucher(sample_voucher(vt, details=details, seed=4))


def test_x_fields_come_from_the_field_data() -> None:
    assert is_x_field("5201", "XPayAmt") and is_x_field("2301", "XClearDate")
    assert not is_x_field("5201", "PayAmt")
    assert is_x_field("5201", "XAddWord", detail=True)
    assert not is_x_field("5201", "NoSuchField")
    assert is_x_field("9999", "XAnything") and not is_x_field("9999", "Xylophone")  # unmodelled type
    spec = spec_for("5201")
    assert spec is not None
    assert {f.name for f in spec.header if f.x_field} >= {"XPayDate", "XPayAmt", "XAgentBusinessNo"}


def test_build_receipt() -> None:
    original = _body()
    receipt = build_receipt(
        original,
        fields={"XPayDate": "20240506", "XAgentBusinessNo": "B1"},
        details=[{"XPayAmt": "1.00"}, {"XAddWord": "账户冻结", "XPayAmt": "0.00"}],
    )
    assert receipt.voucher_flag == "1" and receipt.attach == "SUCCESS"
    assert (receipt.vt_code, receipt.voucher_no) == (original.vt_code, original.voucher_no)
    assert receipt.signatures == [] and receipt.voucher_b64 != original.voucher_b64
    voucher = receipt.voucher
    assert voucher.get("XAgentBusinessNo") == "B1"
    assert voucher.details[1].get("XAddWord") == "账户冻结"
    assert receipt_problems(original.voucher, voucher) == []


def test_build_receipt_refuses_non_x_fields() -> None:
    original = _body()
    with pytest.raises(InvalidInput, match="PayAmt"):
        build_receipt(original, fields={"PayAmt": "0.01"})
    with pytest.raises(InvalidInput, match="Detail\\[1\\]"):
        build_receipt(original, fields={}, details=[{"PayeeAcctNo": "1"}, {}])
    with pytest.raises(InvalidInput, match="2 detail rows"):
        build_receipt(original, fields={}, details=[{}])
    receipt = build_receipt(original, fields={})
    with pytest.raises(InvalidInput, match="VoucherFlag=1"):
        build_receipt(receipt, fields={})


def test_receipt_problems_detect_changes() -> None:
    original = _body().voucher
    assert receipt_problems(original, original.replace(XPayAmt="1.00")) == []
    [problem] = receipt_problems(original, original.replace(PayeeAcctName="别人"))
    assert "PayeeAcctName" in problem
    other = sample_voucher("5201", details=2, seed=99)
    assert any("VoucherNo" in p for p in receipt_problems(original, other))
    fewer = original.replace(details=original.details[:1])
    assert any("detail rows" in p for p in receipt_problems(original, fewer))
    row = original.details[0].replace(PayAmt="0.01")
    changed = original.replace(details=[row, *original.details[1:]])
    assert any("Detail[1]/PayAmt" in p for p in receipt_problems(original, changed))


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["5201", "2301", "8202", "5207"]), st.data())
def test_any_x_field_fill_is_a_receipt(vt: str, data: st.DataObject) -> None:
    original = VoucherBody.from_voucher(sample_voucher(vt, details=1, seed=vt))
    spec = spec_for(vt)
    assert spec is not None
    names = [f.name for f in spec.header if f.x_field and f.type in ("code", "text", "name")]
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True, max_size=3)) if names else []
    fields = {name: data.draw(st.text("ABC123", min_size=1, max_size=8)) for name in chosen}
    receipt = build_receipt(original, fields=fields)
    assert receipt_problems(original.voucher, receipt.voucher) == []
    for name, value in fields.items():
        assert receipt.voucher.get(name) == value
