"""The DA/T 95—2022 element tables ezhifu writes: B.1 支付回单, D.1 机构人员实体, E.1 业务实体.

Source: DA/T 95—2022 《行政事业单位一般公共预算支出财务报销电子会计凭证档案管理技术规范》,
Appendix B table B.1 (支付回单主单元数据及组织方式), Appendix D table D.1 and Appendix E table E.1
(spec.md §4.3 calls it S13; the developers' reference, monitoring_contingency_archive.md §3.2,
names the public copy of the full text). Every row below is copied from those tables in their
order: element name, Chinese label (中文标签), level (级次), constraint (约束性: 必选 → required);
the value kind (date, amount, date-time) is ezhifu's reading of the label [I]. A classification's
two rows (``…Code`` 编码 then ``…Name`` 名称, as the tables pair them) are written once, by :func:`_pair`.

Two readings of the table are ezhifu's own [I] and documented in docs/archive.md:

* ``may_be_empty``: the rows whose remark says the value may be empty (``XAgentBusinessNo`` and the
  ``XPayee*`` rows: "主单无收款人的可以为空"; ``Hold1`` is a reserved field) must be present but
  may carry no value; every other 必选 element needs a value;
* ``Items`` (the level-2 container of the details) is repeated once per detail row, its level-3
  elements inside.

B.1 is the 8202 财政授权支付凭证 (``AuthorizedPaymentVoucher``) with the bank's X-fields; its
element names are those of the interface (spec.md §4.3), so a voucher maps to it by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "B1_DETAIL",
    "B1_HEADER",
    "B1_ITEMS",
    "B1_ROOT",
    "D1_AGENT",
    "E1_EVENT",
    "Element",
    "ValueKind",
]

ValueKind = Literal["text", "date", "amount", "datetime"]


@dataclass(frozen=True, slots=True)
class Element:
    """One row of a DA/T 95 table."""

    name: str
    label: str
    required: bool
    kind: ValueKind = "text"
    may_be_empty: bool = False


def _e(
    name: str, label: str, required: bool = False, kind: ValueKind = "text", empty: bool = False
) -> Element:
    return Element(name, label, required, kind, empty)


def _pair(
    stem: str, label: str, required: Literal["code", "both"] | None = None, *, number: str = ""
) -> tuple[Element, Element]:
    """The two rows of a classification as the tables list them: ``<stem>Code<n>`` labelled
    ``<label>编码``, then ``<stem>Name<n>`` labelled ``<label>名称``. ``required`` is which of
    them the table marks 必选: the code alone (``"code"``, the usual case) or both."""
    return (
        Element(f"{stem}Code{number}", f"{label}编码", required is not None),
        Element(f"{stem}Name{number}", f"{label}名称", required == "both"),
    )


#: The level-1 container of table B.1 (财政授权支付凭证).
B1_ROOT = "AuthorizedPaymentVoucher"
#: The level-2 container of the details in table B.1 (支付明细信息).
B1_ITEMS = "Items"

#: Table B.1, level 2 (the header of the 支付回单), in the table's order.
B1_HEADER: tuple[Element, ...] = (
    _e("Id", "凭证号", True),
    _e("AdmDivCode", "行政区划代码", True),
    _e("StYear", "业务年度", True),
    _e("VtCode", "凭证类型编号", True),
    _e("VouDate", "凭证日期", True, "date"),
    _e("VoucherNo", "凭证号", True),
    *_pair("FundType", "资金性质"),
    *_pair("BgtType", "预算类型", "code"),
    *_pair("PayType", "支付方式"),
    *_pair("ProCat", "收支管理", "code"),
    *_pair("MOFDep", "业务处室"),
    *_pair("SupDep", "一级预算单位"),
    *_pair("Agency", "基层预算单位", "both"),
    *_pair("ExpFunc", "支出功能分类科目", "code"),
    *_pair("ExpFunc", "支出功能分类类", number="1"),
    *_pair("ExpFunc", "支出功能分类款", number="2"),
    *_pair("ExpFunc", "支出功能分类项", number="3"),
    *_pair("GovExpEco", "政府预算支出经济分类科目", "code"),
    *_pair("DepExpEco", "部门预算支出经济分类科目"),
    *_pair("DepPro", "预算项目"),
    *_pair("SetMode", "结算方式"),
    *_pair("PayBank", "代理银行"),
    *_pair("ClearBank", "清算银行"),
    _e("ClearAcctNo", "清算账号"),
    _e("ClearAcctName", "清算账户名称"),
    _e("ClearAcctBankName", "清算账号开户行"),
    _e("PayeeAcctNo", "收款人账号"),
    _e("PayeeAcctName", "收款人名称"),
    _e("PayeeAcctBankName", "收款人银行"),
    _e("PayeeAcctBankNo", "收款人银行行号"),
    _e("PayAcctNo", "付款人账号", True),
    _e("PayAcctName", "付款人名称", True),
    _e("PayAcctBankName", "付款人银行", True),
    *_pair("PaySummary", "用途"),
    _e("PayAmt", "支付金额", True, "amount"),
    *_pair("PayMgr", "支付类型"),
    *_pair("FundDealMode", "办理方式"),
    _e("AcessAuthGroupCode", "自助柜面业务权限分组标识"),
    *_pair("BusinessType", "业务类型"),
    _e("TaxBillNo", "申报完税凭证号"),
    _e("TaxayerID", "纳税人识别号"),
    _e("TaxOrgCode", "税务征收机关代码"),
    _e("PayCode", "缴款识别码"),
    _e("GovProcurementID", "政府采购交易识别码"),
    _e("CheckNo", "支票号(结算号)"),
    _e("XPayDate", "实际支付日期", True, "date"),
    *_pair("XFundDealMode", "实际办理方式", "both"),
    _e("XAgentBusinessNo", "银行交易流水号", True, empty=True),
    _e("XCheckNo", "支票号(结算号)"),
    _e("XPayAmt", "实际支付金额", True, "amount"),
    _e("XPayeeAcctBankName", "实际收款人银行", True, empty=True),
    _e("XPayeeAcctNo", "实际收款人账号", True, empty=True),
    _e("XPayeeAcctName", "实际收款人全称", True, empty=True),
    _e("Hold1", "预留字段1", True, empty=True),
    _e("Hold2", "预留字段2"),
)

#: Table B.1, level 3 (inside each ``Items``: one detail row), in the table's order.
B1_DETAIL: tuple[Element, ...] = (
    _e("Id", "支付明细Id", True),
    _e("VoucherBillId", "财政授权支付凭证Id", True),
    _e("VoucherBillNo", "财政授权支付凭证单号", True),
    _e("VoucherDetailNo", "支付申请序号"),
    *_pair("FundType", "资金性质"),
    *_pair("BgtType", "预算类型", "code"),
    *_pair("ProCat", "收支管理", "code"),
    *_pair("PayKind", "支出类型", "code"),
    *_pair("SupDep", "一级预算单位"),
    *_pair("Agency", "基层预算单位", "both"),
    *_pair("ExpFunc", "支出功能分类科目", "code"),
    *_pair("GovExpEco", "政府预算支出经济分类科目", "code"),
    *_pair("DepExpEco", "部门预算支出经济分类科目"),
    *_pair("DepPro", "预算项目"),
    _e("TrackingID", "业务追溯识别码"),
    _e("PayeeAcctNo", "收款人账号", True),
    _e("PayeeAcctName", "收款人名称", True),
    _e("PayeeAcctBankName", "收款人银行", True),
    _e("PayeeAcctBankNo", "收款人银行行号"),
    _e("PayAmt", "支付金额", True, "amount"),
    _e("XPayDate", "实际支付日期", True, "date"),
    _e("XAgentBusinessNo", "银行交易流水号", True),
    _e("XCheckNo", "支票号(结算号)"),
    _e("XPayAmt", "实际支付金额", True, "amount"),
    _e("XAddWord", "附言"),
    _e("XPayeeAcctBankName", "收款人银行", True),
    _e("XPayeeAcctNo", "收款人账号", True),
    _e("XPayeeAcctName", "收款人全称", True),
    _e("Remark", "备注"),
)

#: Table D.1 机构人员实体 (one ``AgentEntity`` per organisation or person).
D1_AGENT: tuple[Element, ...] = (
    _e("AgentType", "机构人员类型"),
    _e("AgentName", "机构人员名称", True),
    _e("OrganizationCode", "组织机构代码"),
    _e("FinanceDivisionCode", "财政区划代码"),
    _e("PositionName", "个人职位"),
)

#: Table E.1 业务实体 (one ``BusinessEntity`` per event: 接收, 验证, 归档 …).
E1_EVENT: tuple[Element, ...] = (
    _e("BusinessStatus", "业务状态", True),
    _e("BusinessActivity", "业务行为", True),
    _e("ActionTime", "行为时间", True, "datetime"),
    _e("ActionMandate", "行为依据"),
    _e("ActionDescription", "行为描述"),
)
