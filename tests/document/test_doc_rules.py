"""document/rules.py: envelope attributes versus the signed voucher, VoucherCount, amounts, sums."""

from __future__ import annotations

from decimal import Decimal

import pytest
from doc_support import VT_CODES
from hypothesis import given
from hypothesis import strategies as st

from ezhifu.document import fields
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.rules import (
    ENVELOPE_ATTRIBUTES,
    AttributeMismatch,
    amount_fields,
    attribute_mismatches,
    sum_amounts,
    voucher_count_matches,
)
from ezhifu.document.samples import sample_voucher
from ezhifu.document.validation import iter_errors
from ezhifu.sign.voucher import body_mismatches

_VALUE = st.one_of(st.none(), st.text(max_size=12))
_ATTRS = st.fixed_dictionaries({a: _VALUE for a in ENVELOPE_ATTRIBUTES})


@given(_ATTRS, _ATTRS)
def test_mismatches_are_exactly_the_differing_attributes(outer: dict, inner: dict) -> None:
    found = attribute_mismatches(outer, inner)
    expected = [a for a in ENVELOPE_ATTRIBUTES if (outer[a] or "") != (inner[a] or "")]
    assert [m.attribute for m in found] == expected
    for m in found:
        assert m.envelope == (outer[m.attribute] or "") and m.signed == (inner[m.attribute] or "")
        assert "spec.md §5.5" in m.describe() and m.attribute in m.describe()


@given(_ATTRS, _ATTRS)
def test_only_present_skips_what_one_side_lacks(outer: dict, inner: dict) -> None:
    found = attribute_mismatches(outer, inner, only_present=True)
    assert all(outer[m.attribute] is not None and inner[m.attribute] is not None for m in found)
    assert {m.attribute for m in found} <= {m.attribute for m in attribute_mismatches(outer, inner)}


def test_one_rule_for_signer_envelope_and_validator() -> None:
    """A relabelled body: the signer, the envelope model and the validator say the same."""
    voucher = sample_voucher("5201")
    body = VoucherBody.from_voucher(voucher)
    body.vt_code = "8202"
    mismatch = AttributeMismatch("VtCode", "8202", "5201")
    assert body.attribute_mismatches() == [mismatch]
    assert body_mismatches(body) == [mismatch.describe()]
    issues = [i for i in iter_errors(Envelope.build([body]).to_bytes()) if i.code == "attribute-mismatch"]
    assert [i.reason for i in issues] == [mismatch.describe()]


@pytest.mark.parametrize(
    ("declared", "bodies", "ok"),
    [
        (None, 3, True),
        ("3", 3, True),
        ("03", 3, True),
        ("2", 3, False),
        ("", 0, False),
        (" 3", 3, False),
        ("+3", 3, False),
        ("٣", 3, False),  # an Arabic-Indic digit: str.isdigit() says yes, the interface says no
        ("1" * 10, 1111111111, False),  # more than nine digits
        ("-1", -1, False),
    ],
)
def test_voucher_count(declared: str | None, bodies: int, ok: bool) -> None:
    assert voucher_count_matches(declared, bodies) is ok


@pytest.mark.parametrize("vt_code", VT_CODES)
def test_amount_fields_come_from_the_field_types(vt_code: str) -> None:
    for detail in (False, True):
        typed = {
            f.name
            for v in fields.SCHEMA_VERSIONS
            if (spec := fields.spec_for(vt_code, v)) is not None
            for f in (spec.detail if detail else spec.header)
            if f.type == "amount"
        }
        assert amount_fields(vt_code, detail=detail) == typed
    spec = fields.spec_for(vt_code)
    if spec is not None:
        assert set(spec.amount_fields()) == amount_fields(vt_code, version=fields.DEFAULT_SCHEMA_VERSION)


def test_amount_fields_spelling_quirk_and_unknown_type() -> None:
    assert "XpayAmt" in amount_fields("5207", detail=True)  # spec.md §4.1 quirk, typed amount
    assert "EstRat" not in amount_fields("5201")  # an exchange rate is text, not an amount
    assert amount_fields("0000") == frozenset()


def test_sum_amounts() -> None:
    assert sum_amounts(["1.10", "", "-0.10"]) == Decimal("1.00")
    assert sum_amounts([]) == Decimal("0.00")
    assert sum_amounts(["1.10", ""], skip_empty=False) is None
    for hostile in ("1e3", "1.1", " 1.00", "１.00", "NaN", "Infinity", "1_000.00"):
        assert sum_amounts(["1.00", hostile]) is None, hostile


@given(st.lists(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False), max_size=30))
def test_sum_amounts_is_the_decimal_sum(values: list[Decimal]) -> None:
    assert sum_amounts([f"{v:.2f}" for v in values]) == sum(values, Decimal("0.00"))
