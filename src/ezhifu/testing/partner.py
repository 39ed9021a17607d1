"""Partner-shaped test vouchers: what real partners send, not what ezhifu writes.

:func:`partner_5214_inner` builds an inner 5214 voucher element by element from the facts of
the public 2024 Hubei messages (spec.md §4.4): the header and detail order of those messages
(``XAddWord`` before the X-payee fields), ``PayAmt`` ``2.00``, header ``ForeignAmt`` ``0`` and
``XPayAmt`` ``0``, detail ``ForeignAmt`` ``0`` and ``XPayAmt`` empty, ``CurrencyCode`` ``CNY``,
``EstRat`` and ``AmtUnit`` empty, every other element present and mostly empty, GBK with a
blank line after the declaration and two-space indentation. It validates at the ``partner``
level; the ``strict`` level reports its three ``0`` amounts. Values are synthetic (a school as
payee, a commercial bank as agent bank). Test and development only.
"""

from __future__ import annotations

from ezhifu.document import fields as _fields
from ezhifu.errors import ConfigurationError

__all__ = ["PARTNER_5214_VALUES", "partner_5214_inner"]

#: Values of the non-empty elements (header; detail values where they differ follow).
PARTNER_5214_VALUES: dict[str, str] = {
    "Id": "00EFB7F94EF349A289CDBD1EC0CF25CC",
    "AdmDivCode": "420000",
    "StYear": "2024",
    "VtCode": "5214",
    "VouDate": "20240510",
    "VoucherNo": "W0024180000001",
    "BillNo": "ZF2024000001",
    "FundTypeCode": "11111",
    "FundTypeName": "经费拨款补助",
    "BgtTypeCode": "11",
    "BgtTypeName": "预拨指标",
    "PayTypeCode": "1",
    "PayTypeName": "国库集中支付",
    "AgencyCode": "101001",
    "AgencyName": "湖北省第一中学",
    "SetModeCode": "1",
    "SetModeName": "电子转账支付",
    "PayBankCode": "102521000011",
    "PayBankName": "中国工商银行股份有限公司武汉分行",
    "PayeeAcctNo": "420010100000000001",
    "PayeeAcctName": "湖北省第一中学",
    "PayeeAcctBankName": "中国工商银行武汉东湖支行",
    "PayAcctNo": "420000000000000099",
    "PayAcctName": "湖北省第一中学零余额账户",
    "PayAcctBankName": "中国工商银行股份有限公司武汉分行",
    "BusinessTypeCode": "1",
    "BusinessTypeName": "普通业务",
    "PayAmt": "2.00",
    "CurrencyCode": "CNY",
    "ForeignAmt": "0",
    "XPayAmt": "0",
}
_DETAIL_VALUES: dict[str, str] = {
    "Id": "11EFB7F94EF349A289CDBD1EC0CF25CC",
    "VoucherBillId": "00EFB7F94EF349A289CDBD1EC0CF25CC",
    "VoucherBillNo": "W0024180000001",
    "VoucherDetailNo": "1",
    "XPayAmt": "",  # empty in the details of the real messages
}


def partner_5214_inner(*, xaddword_last: bool = False, **header: str) -> bytes:
    """The GBK inner voucher (``header`` overrides values); ``xaddword_last`` writes the detail's
    ``XAddWord`` after the X-payee fields, the order ezhifu used before issue 15."""
    spec = _fields.spec_for("5214", "2024")
    if spec is None:  # pragma: no cover - the field tables always hold 5214
        raise ConfigurationError("VtCode 5214 is missing from the 2024 field tables")
    values = {**PARTNER_5214_VALUES, **header}
    detail_order = [f.name for f in spec.detail]
    if xaddword_last:
        detail_order.remove("XAddWord")
        detail_order.insert(detail_order.index("XPayeeAcctName") + 1, "XAddWord")
    detail_values = {**values, **_DETAIL_VALUES}
    head = "".join(f"  <{f.name}>{values.get(f.name, '')}</{f.name}>\n" for f in spec.header)
    row = "".join(f"      <{n}>{detail_values.get(n, '')}</{n}>\n" for n in detail_order)
    text = (
        '<?xml version="1.0" encoding="GBK"?>\n\n<Voucher>\n'
        f"{head}  <DetailList>\n    <Detail>\n{row}    </Detail>\n  </DetailList>\n</Voucher>\n"
    )
    return text.encode("gbk")
