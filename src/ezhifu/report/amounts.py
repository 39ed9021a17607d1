"""Amounts as people read them on a voucher: 大写金额 and thousands separators.

The uppercase amount (中文大写金额) follows the People's Bank rules for filling in bills and
settlement vouchers (《正确填写票据和结算凭证的基本规定》, 银发〔1997〕393号 annex, items 2-4):

* digits 零壹贰叁肆伍陆柒捌玖 and units 拾佰仟万亿 (10^12 is written 万亿), with 元角分;
* a leading 1 in the tens is written 壹拾 (15.00 → 壹拾伍元整);
* zeros between digits are written as one 零 (1409.50 → 壹仟肆佰零玖元伍角), also across the
  万 and 亿 groups (120333.57 → 壹拾贰万零叁佰叁拾叁元伍角柒分); a 元 digit of 0 with 角 present
  takes no 零 (the rule allows either, ezhifu writes the shorter);
* an amount ending in 元 ends with 整; one ending in 角 takes no 整 (the rule allows either);
  one with 分 never does; 角 of 0 before 分 is written 零 (100000.01 → 壹拾万元零壹分);
* an amount below one 元 has no 元 (0.05 → 伍分); zero is 零元整; a negative amount (a refund
  voucher) is prefixed 负.

Voucher amounts have at most 15 integer digits and two decimals (spec.md §4.1); anything else is
refused with :class:`~ezhifu.errors.AmountOutOfRange` rather than rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ezhifu.errors import AmountOutOfRange

__all__ = ["MAX_INTEGER_DIGITS", "amount_in_words", "format_amount", "parse_amount"]

#: Integer digits of a voucher amount (spec.md §4.1, the XSD amount type: 15 digits, 2 decimals).
MAX_INTEGER_DIGITS = 15

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_GROUP_UNITS = ("仟", "佰", "拾", "")
_CENT = Decimal("0.01")


def parse_amount(value: Decimal | str | int) -> Decimal:
    """``value`` as an exact amount with at most two decimals and 15 integer digits."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise AmountOutOfRange(f"金额不是数字 / not an amount: {str(value)[:40]!r}") from exc
    if not amount.is_finite():
        raise AmountOutOfRange(f"金额不是有限数 / not a finite amount: {amount}")
    if amount != amount.quantize(_CENT):
        raise AmountOutOfRange(f"金额超过两位小数 / more than two decimals: {amount}")
    if abs(amount) >= Decimal(10) ** MAX_INTEGER_DIGITS:
        raise AmountOutOfRange(
            f"金额超过{MAX_INTEGER_DIGITS}位整数 / more than {MAX_INTEGER_DIGITS} integer digits: {amount}"
        )
    return amount.quantize(_CENT)


def _group(n: int) -> str:
    """0 < n < 10000: digits with 仟佰拾, inner zeros as one 零, no trailing zero."""
    out: list[str] = []
    zero_pending = False
    for unit, digit in zip(_GROUP_UNITS, f"{n:04d}", strict=True):
        d = int(digit)
        if d == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(_DIGITS[d] + unit)
    return "".join(out)


def _below_1e8(n: int) -> str:
    high, low = divmod(n, 10_000)
    text = _group(high) + "万" if high else ""
    if low:
        if high and low < 1000:
            text += "零"
        text += _group(low)
    return text


def _integer(n: int) -> str:
    """0 < n: the 元 part; 10^8 and above recurse on 亿 (so 10^12 reads 壹万亿)."""
    if n < 10**8:
        return _below_1e8(n)
    high, low = divmod(n, 10**8)
    text = _integer(high) + "亿"
    if low:
        if low < 10**7:
            text += "零"
        text += _below_1e8(low)
    return text


def amount_in_words(value: Decimal | str | int) -> str:
    """The 大写金额 of ``value`` (see the module docstring for the rules and their source)."""
    amount = parse_amount(value)
    sign = "负" if amount < 0 else ""
    cents = int(abs(amount) * 100)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    if cents == 0:
        return "零元整"
    text = _integer(yuan) + "元" if yuan else ""
    if jiao:
        text += _DIGITS[jiao] + "角"
    if fen:
        if yuan and not jiao:
            text += "零"
        text += _DIGITS[fen] + "分"
    elif not jiao:
        text += "整"
    return sign + text


def format_amount(value: Decimal | str | int) -> str:
    """``value`` with thousands separators and two decimals: ``1,234,567.80``."""
    return f"{parse_amount(value):,.2f}"
