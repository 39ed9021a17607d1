"""大写金额 and thousands separators (ezhifu.report.amounts; issue 19 Must show).

The expected words are written by hand from the People's Bank rules cited in the module
(银发〔1997〕393号 annex: 壹拾, one 零 for a run of zeros, 整 after 元, 零 before 分 when 角 is 0).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ezhifu.errors import AmountOutOfRange, InvalidInput
from ezhifu.report.amounts import amount_in_words, format_amount, parse_amount

TABLE = [
    ("0.00", "零元整"),
    ("0.05", "伍分"),
    ("0.50", "伍角"),
    ("1.00", "壹元整"),
    ("10.00", "壹拾元整"),
    ("15.00", "壹拾伍元整"),
    ("101.00", "壹佰零壹元整"),
    ("1409.50", "壹仟肆佰零玖元伍角"),
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("100000.01", "壹拾万元零壹分"),
    ("107000.53", "壹拾万柒仟元伍角叁分"),
    ("120333.57", "壹拾贰万零叁佰叁拾叁元伍角柒分"),
    ("325000.00", "叁拾贰万伍仟元整"),
    ("100000000.00", "壹亿元整"),
    ("100010000.00", "壹亿零壹万元整"),
    ("1000000000000.00", "壹万亿元整"),
    ("999999999999999.99", "玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("-2.30", "负贰元叁角"),
    ("2", "贰元整"),
    ("2.0", "贰元整"),
]


@pytest.mark.parametrize(("amount", "words"), TABLE)
def test_amount_in_words(amount: str, words: str) -> None:
    assert amount_in_words(amount) == words
    assert amount_in_words(Decimal(amount)) == words


@pytest.mark.parametrize(
    ("amount", "text"),
    [("0", "0.00"), ("1234567.8", "1,234,567.80"), ("-3004.00", "-3,004.00"), ("999", "999.00")],
)
def test_format_amount(amount: str, text: str) -> None:
    assert format_amount(amount) == text


@pytest.mark.parametrize("bad", ["1.001", "1e20", "NaN", "Infinity", "12,3145771.73", "", "abc", "1" * 16])
def test_refused_not_rounded(bad: str) -> None:
    with pytest.raises(AmountOutOfRange) as info:
        amount_in_words(bad)
    assert isinstance(info.value, InvalidInput)
    assert "/" in str(info.value)  # Chinese / English


_DIGIT = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}


def _read_back(words: str) -> Decimal:
    """An independent reader of the words (a parser, not the writer run backwards)."""
    sign = -1 if words.startswith("负") else 1
    words = words.removeprefix("负").removesuffix("整")
    total = Decimal(0)
    section = Decimal(0)  # below 万
    number = Decimal(0)  # below 亿
    digit = 0
    small = {"拾": 10, "佰": 100, "仟": 1000}
    for ch in words:
        if ch in _DIGIT:
            digit = _DIGIT[ch]
        elif ch in small:
            section += digit * small[ch]
            digit = 0
        elif ch == "万":
            number += (section + digit) * 10_000
            section, digit = Decimal(0), 0
        elif ch == "亿":
            total = (total + number + section + digit) * 10**8
            number, section, digit = Decimal(0), Decimal(0), 0
        elif ch == "元":
            total += number + section + digit
            number, section, digit = Decimal(0), Decimal(0), 0
        elif ch == "角":
            total += Decimal(digit) / 10
            digit = 0
        elif ch == "分":
            total += Decimal(digit) / 100
            digit = 0
        else:
            raise AssertionError(ch)
    return sign * total


@given(st.integers(min_value=-(10**17) + 1, max_value=10**17 - 1))
def test_words_read_back_to_the_amount(cents: int) -> None:
    amount = Decimal(cents) / 100
    words = amount_in_words(amount)
    assert _read_back(words) == amount
    assert "零零" not in words and not words.endswith("零")
    assert parse_amount(format_amount(amount).replace(",", "")) == amount
