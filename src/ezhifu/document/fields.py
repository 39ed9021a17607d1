"""Field definitions per voucher type (VtCode): the one source of truth.

Every element of every modelled inner voucher is declared here exactly once: its element
name, Chinese label, value type, whether it is required, whether it is an X-field (filled by
the receiver in the 回单), its maximum length, whether it sits in the header or in a
``DetailList/Detail`` row, the schema versions it belongs to and the public source that
shows it. The typed models (:mod:`ezhifu.document.models`), the bundled XSDs
(:mod:`ezhifu.document.xsdgen`, ``schemas/``), the field tables in ``docs/fields.md`` and
the validation rules are all generated from, or checked against, these tables.

The official 《国库集中支付电子化管理接口报文规范》 (text, XSD, code tables) is not public. The
field lists are those reconstructed in the developers' reference (spec.md §4), with their
sources:

* ``S1``: ``caoyanguo/ITFE`` parsers and templates (``Process5201.java``,
  ``Process8202.java``, ``Process2301.java``, ``voucher_*_java2xml.ftl``,
  ``Voucher5106MsgServer`` ...), the 人民银行-side front end (V2.0, 2014 era).
* ``S8``: public 2024 Hubei treasury test messages (VtCode 5214, decoded).
* ``S13``: DA/T 95—2022 Appendix B.1 (8202 支付回单 with 必选 constraints, citing the
  2019-12-25 edition of the interface specification).

What is *not* confirmed by any public source, and therefore marked inferred (``"I"``) in
:attr:`FieldDef.source` / :attr:`FieldDef.required_source` and in ``schemas/README.md``:
value types beyond amounts and dates, every maximum length, most required flags (only
8202 has published 必选 marks, S13), where negative amounts are allowed, and which header
amount must equal the sum of the details.

Spelling quirks producers really emit are kept (``TaxayerID``, ``ClearAccNanme``,
``XpayAmt`` in 5207 details; spec.md §4.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ALL_VERSIONS",
    "DEFAULT_SCHEMA_VERSION",
    "MAX_DETAILS",
    "SCHEMA_VERSIONS",
    "FieldDef",
    "FieldType",
    "SumRule",
    "VoucherSpec",
    "known_vt_codes",
    "spec_for",
    "specs",
]

#: Value types. ``code``: identifiers and classification codes (strings, never numbers);
#: ``name``: Chinese names; ``text``: free text; ``amount``: ``-?[0-9]+\.[0-9]{2}``;
#: ``date``: ``yyyyMMdd``; ``int``: ``[0-9]+``; ``guid``: record identifier.
FieldType = Literal["code", "name", "text", "amount", "date", "int", "guid"]

#: Schema versions: ``"2014"`` the V2.0-era element set (S1, "20141015_V2.0最新接口增加字段"),
#: ``"2024"`` the 预算管理一体化 set (S8; adds 5214 and the 2019-edition 8202 fields of S13).
SCHEMA_VERSIONS: tuple[str, ...] = ("2014", "2024")
ALL_VERSIONS: frozenset[str] = frozenset(SCHEMA_VERSIONS)
#: Used when a caller does not name a version: the newest set, a superset of 2014 for every
#: type both contain (fields added later are optional).
DEFAULT_SCHEMA_VERSION = "2024"

#: S1 refuses vouchers with 500 details or more ("明细条数必须小于500", spec.md §4.1).
MAX_DETAILS = 499

_DEFAULT_MAX: dict[str, int] = {
    "code": 60,
    "name": 300,
    "text": 500,
    "amount": 21,
    "date": 8,
    "int": 10,
    "guid": 64,
}


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One element of an inner voucher (header or detail row).

    ``required``: the element must be present and not empty. ``x_field``: filled by the
    receiver in the 回单 (spec.md §4.1), present and empty in a voucher as sent.
    ``negative``: an amount that may be negative (refunds/corrections, S13 "退款、更正业务允许为负").
    ``source``: which public source shows the element (``S1``, ``S8``, ``S13``; ``I`` inferred);
    ``required_source`` the same for the required flag.
    """

    name: str
    label: str
    type: FieldType
    required: bool = False
    x_field: bool = False
    max_length: int = 0
    negative: bool = False
    versions: frozenset[str] = ALL_VERSIONS
    source: str = "I"
    required_source: str = "I"

    @property
    def hold(self) -> bool:
        """A reserved ``Hold1``..``Hold4`` field (regions overload them, spec.md §4.1)."""
        return self.name.startswith("Hold")

    def limit(self) -> int:
        return self.max_length or _DEFAULT_MAX[self.type]


@dataclass(frozen=True, slots=True)
class SumRule:
    """``header`` amount must equal the sum of ``detail`` amounts over all rows."""

    header: str
    detail: str
    source: str = "I"


@dataclass(frozen=True, slots=True)
class VoucherSpec:
    """The element set of one VtCode in one schema version."""

    vt_code: str
    name: str
    version: str
    header: tuple[FieldDef, ...]
    detail: tuple[FieldDef, ...]
    sum_rule: SumRule | None
    source: str
    _index: Mapping[str, FieldDef] = field(default_factory=dict, compare=False, repr=False)
    _dindex: Mapping[str, FieldDef] = field(default_factory=dict, compare=False, repr=False)

    def header_field(self, name: str) -> FieldDef | None:
        return self._index.get(name)

    def detail_field(self, name: str) -> FieldDef | None:
        return self._dindex.get(name)

    @property
    def has_details(self) -> bool:
        return bool(self.detail)


# --- labels and types of every element name -------------------------------------------------

# code/name pairs: base -> Chinese label of the classification
_PAIRS: dict[str, str] = {
    "FundType": "资金性质",
    "BgtType": "预算类型",
    "PayType": "支付方式",
    "ProCat": "收支管理",
    "MOFDep": "业务处室",
    "FileNo": "指标文号",
    "SupDep": "一级预算单位",
    "Agency": "基层预算单位",
    "ExpFunc": "支出功能分类科目",
    "ExpEco": "支出经济分类科目",
    "GovExpEco": "政府预算支出经济分类",
    "DepExpEco": "部门预算支出经济分类",
    "DepPro": "预算项目",
    "SetMode": "结算方式",
    "PayBank": "代理银行",
    "ClearBank": "清算银行",
    "PaySummary": "用途",
    "BusinessType": "业务类型",
    "PayKind": "支出类型",
    "PayMgr": "支付类型",
    "FundDealMode": "办理方式",
    "XFundDealMode": "办理方式(回单)",
    "IncomeSort": "收入分类科目",
}
_LEVELS = {"1": "类", "2": "款", "3": "项", "4": "目"}

_SINGLE: dict[str, tuple[str, FieldType]] = {
    "Id": ("凭证ID", "guid"),
    "AdmDivCode": ("行政区划代码", "code"),
    "StYear": ("业务年度", "int"),
    "VtCode": ("凭证类型编号", "code"),
    "VouDate": ("凭证日期", "date"),
    "VoucherNo": ("凭证号", "code"),
    "BillNo": ("支付申请号", "code"),
    "PayAmt": ("支付金额", "amount"),
    "CheckNo": ("支票号", "code"),
    "XPayDate": ("实际支付日期", "date"),
    "XAgentBusinessNo": ("银行交易流水号", "code"),
    "XCheckNo": ("实际支票号", "code"),
    "XPayAmt": ("实际支付金额", "amount"),
    "XpayAmt": ("实际支付金额(小写p)", "amount"),
    "XPayeeAcctNo": ("实际收款人账号", "code"),
    "XPayeeAcctName": ("实际收款人名称", "name"),
    "XPayeeAcctBankName": ("实际收款人开户行", "name"),
    "XAddWord": ("附言/失败原因", "text"),
    "XClearDate": ("清算日期", "date"),
    "XPaySndBnkNo": ("支付发起行行号", "code"),
    "PayeeAcctNo": ("收款人账号", "code"),
    "PayeeAcctName": ("收款人名称", "name"),
    "PayeeAcctBankName": ("收款人开户银行", "name"),
    "PayeeAcctBankNo": ("收款人开户行行号", "code"),
    "PayAcctNo": ("付款人账号", "code"),
    "PayAcctName": ("付款人名称", "name"),
    "PayAcctBankName": ("付款人开户银行", "name"),
    "ClearAcctNo": ("清算账号", "code"),
    "ClearAcctName": ("清算账户名称", "name"),
    "ClearAcctBankName": ("清算账户开户银行", "name"),
    "AgentAcctNo": ("代理银行账号", "code"),
    "AgentAcctName": ("代理银行账户名称", "name"),
    "AgentAcctBankName": ("代理银行开户银行", "name"),
    "AcessAuthGroupCode": ("自助柜面业务权限分组标识", "code"),
    "TaxBillNo": ("完税凭证号", "code"),
    "TaxayerID": ("纳税人识别号", "code"),
    "TaxOrgCode": ("征收机关代码", "code"),
    "PayCode": ("缴款识别码", "code"),
    "GovProcurementID": ("政府采购交易识别码", "code"),
    "ForeignAmt": ("外币金额", "amount"),
    "CurrencyCode": ("币种代码", "code"),
    "CurrencyName": ("币种名称", "name"),
    "EstRat": ("汇率", "text"),
    "AmtUnit": ("金额单位", "code"),
    "TreCode": ("国库主体代码", "code"),
    "FinOrgCode": ("财政机关代码", "code"),
    "PayBankNo": ("代理银行行号", "code"),
    "Remark": ("备注", "text"),
    "MoneyCorpCode": ("金融机构编码", "code"),
    "PayDictateNo": ("支付交易序号", "code"),
    "PayMsgNo": ("支付报文编号", "code"),
    "PayEntrustDate": ("委托日期", "date"),
    "TKLX": ("退款类型", "code"),
    "PlanAmt": ("清算额度金额", "amount"),
    "ClearVoucherNo": ("申请划款凭证号", "code"),
    "SetMonth": ("计划月份", "int"),
    "DeptNum": ("一级预算单位数量", "int"),
    "PayVoucherNo": ("支付凭证号", "code"),
    "ReturnReasonName": ("退付原因", "name"),
    "AgentBusinessNo": ("原银行交易流水号", "code"),
    "OriBillNo": ("原凭证号", "code"),
    "OriVouDate": ("原凭证日期", "date"),
    "OriPayDate": ("原支付日期", "date"),
    "PeriodTypeCode": ("业务期间类型代码", "code"),
    "PeriodType": ("业务期间类型", "name"),
    "Amt": ("金额", "amount"),
    "VoucherBillId": ("主单ID", "guid"),
    "VoucherBillNo": ("主单凭证号", "code"),
    "VoucherDetailNo": ("明细编号", "code"),
    "TrackingID": ("业务追溯识别码", "code"),
    "ReceiverCode": ("收款人代码", "code"),
    "DirectVoucherNo": ("支付申请序号", "code"),
    "AgencyAccoCode": ("单位零余额账户", "code"),
    "AgencyBankName": ("单位零余额账户开户银行", "name"),
    "PayDate": ("支付日期", "date"),
    "VoucherCheckNo": ("对账单号", "code"),
    "ChildPackNum": ("子包总数", "int"),
    "CurPackNo": ("本包序号", "int"),
    "ClearAccNo": ("清算账号", "code"),
    "ClearAccNanme": ("清算账户名称", "name"),
    "BeginDate": ("对账起始日期", "date"),
    "EndDate": ("对账终止日期", "date"),
    "AllNum": ("总笔数", "int"),
    "AllAmt": ("总金额", "amount"),
    "PayAgentBillNo": ("代理银行凭证号", "code"),
    "PayDetailId": ("支付明细ID", "guid"),
    "PlanRemainAmt": ("额度余额", "amount"),
    "RefundAmt": ("退款金额", "amount"),
    "XCheckResult": ("对账结果", "code"),
    "XCheckReason": ("不符原因", "text"),
    "XDiffNum": ("不符笔数", "int"),
    "CheckDate": ("对账日期", "date"),
    "EVoucherType": ("电子凭证类型", "code"),
    "ProState": ("处理状态", "code"),
    "Hold1": ("预留字段1", "text"),
    "Hold2": ("预留字段2", "text"),
    "Hold3": ("预留字段3", "text"),
    "Hold4": ("预留字段4", "text"),
}

# fixed maximum lengths where the value shape is known (the rest use _DEFAULT_MAX, inferred)
_MAXLEN: dict[str, int] = {"AdmDivCode": 9, "StYear": 4, "VtCode": 4, "SetMonth": 2}


def _lookup(name: str) -> tuple[str, FieldType]:
    if name in _SINGLE:
        return _SINGLE[name]
    for kind, ftype in (("Code", "code"), ("Name", "name")):
        for base, label in _PAIRS.items():
            if name == f"{base}{kind}":
                return f"{label}{'代码' if kind == 'Code' else '名称'}", ftype  # type: ignore[return-value]
            for level, level_label in _LEVELS.items():
                if name == f"{base}{kind}{level}":
                    suffix = "代码" if kind == "Code" else "名称"
                    return f"{label}({level_label}){suffix}", ftype  # type: ignore[return-value]
    raise KeyError(f"no label for element {name!r}: add it to ezhifu.document.fields")


def _expand(spec: str) -> list[str]:
    """``"FundType* ExpFunc*1..3 PayAmt"`` -> element names (``*`` = Code/Name pair)."""
    out: list[str] = []
    for token in spec.split():
        if "*" in token:
            base, _, levels = token.partition("*")
            if levels:
                lo, _, hi = levels.partition("..")
                for n in range(int(lo), int(hi or lo) + 1):
                    out += [f"{base}Code{n}", f"{base}Name{n}"]
            else:
                out += [f"{base}Code", f"{base}Name"]
        else:
            out.append(token)
    return out


def _fields(
    spec: str,
    *,
    source: str,
    required: Iterable[str] = (),
    required_source: str = "I",
    negative: Iterable[str] = (),
    only: Mapping[str, str] | None = None,
    sources: Mapping[str, str] | None = None,
) -> tuple[FieldDef, ...]:
    req = set(required)
    neg = set(negative)
    only = only or {}
    sources = sources or {}
    names = _expand(spec)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate element in field list: {spec}")
    out = []
    for name in names:
        label, ftype = _lookup(name)
        x_field = (name.startswith("X") and name[1:2].isupper()) or name.startswith("Xp")
        out.append(
            FieldDef(
                name=name,
                label=label,
                type=ftype,
                required=name in req,
                x_field=x_field,
                max_length=_MAXLEN.get(name, 0),
                negative=ftype == "amount" and name in neg,
                versions=frozenset({only[name]}) if name in only else ALL_VERSIONS,
                source=sources.get(name, source),
                required_source=required_source if name in req else "I",
            )
        )
    return tuple(out)


_HEAD = "Id AdmDivCode StYear VtCode VouDate VoucherNo"
_HEAD_REQUIRED = ("Id", "AdmDivCode", "StYear", "VtCode", "VouDate", "VoucherNo")
_PAY_RECEIPT = "XPayDate XAgentBusinessNo XCheckNo XPayAmt XPayeeAcctBankName XPayeeAcctNo XPayeeAcctName"
_DETAIL_HOLD = "Hold1 Hold2 Hold3 Hold4"


@dataclass(frozen=True, slots=True)
class _TypeDef:
    vt_code: str
    name: str
    source: str
    header: tuple[FieldDef, ...]
    detail: tuple[FieldDef, ...]
    sum_rule: SumRule | None
    versions: frozenset[str] = ALL_VERSIONS


def _types() -> list[_TypeDef]:
    pay_sum = SumRule("PayAmt", "PayAmt", source="I")
    types: list[_TypeDef] = []

    # 4.2 5201 财政直接支付凭证 (S1 Process5201.java)
    types.append(
        _TypeDef(
            "5201",
            "财政直接支付凭证",
            "S1 Process5201.java",
            _fields(
                f"{_HEAD} FundType* BgtType* PayType* ProCat* MOFDep* FileNo* SupDep* Agency* ExpFunc* "
                "ExpFunc*1..3 ExpEco* ExpEco*1..2 DepPro* SetMode* PayBank* ClearBank* "
                "PayeeAcctNo PayeeAcctName PayeeAcctBankName PayeeAcctBankNo PayAcctNo PayAcctName "
                f"PayAcctBankName PaySummary* PayAmt BusinessType* CheckNo {_PAY_RECEIPT} Hold1 Hold2",
                source="S1",
                required=(*_HEAD_REQUIRED, "AgencyCode", "PayeeAcctNo", "PayeeAcctName", "PayAmt"),
            ),
            _fields(
                "Id VoucherBillId VoucherBillNo VoucherNo FundType* BgtType* ProCat* PayKind* MOFDep* "
                "FileNo* SupDep* Agency* ExpFunc* ExpEco* DepPro* PayeeAcctNo PayeeAcctName "
                f"PayeeAcctBankName PayeeAcctBankNo PayAmt Remark {_PAY_RECEIPT} XAddWord {_DETAIL_HOLD}",
                source="S1",
                required=("Id", "PayAmt"),
            ),
            pay_sum,
        )
    )

    # 4.3 8202 财政授权支付凭证 (S1 Process8202.java; S13 Table B.1 with 必选 marks)
    s13_only = {
        n: "2024"
        for n in _expand(
            "PayCode GovProcurementID GovExpEco* DepExpEco* ClearAcctNo ClearAcctName ClearAcctBankName"
        )
    }
    s13_detail_only = {n: "2024" for n in ("VoucherDetailNo", "TrackingID")}
    types.append(
        _TypeDef(
            "8202",
            "财政授权支付凭证",
            "S1 Process8202.java; S13 DA/T 95-2022 Table B.1",
            _fields(
                f"{_HEAD} FundType* BgtType* PayType* ProCat* MOFDep* FileNo* SupDep* Agency* ExpFunc* "
                "ExpFunc*1..3 ExpEco* ExpEco*1..2 GovExpEco* DepExpEco* DepPro* SetMode* PayMgr* "
                "FundDealMode* AcessAuthGroupCode PayBank* ClearBank* ClearAcctNo ClearAcctName "
                "ClearAcctBankName PayeeAcctNo PayeeAcctName PayeeAcctBankName PayeeAcctBankNo PayAcctNo "
                "PayAcctName PayAcctBankName PaySummary* PayAmt BusinessType* CheckNo TaxBillNo TaxayerID "
                f"TaxOrgCode PayCode GovProcurementID {_PAY_RECEIPT} XFundDealMode* Hold1 Hold2",
                source="S1",
                sources={**dict.fromkeys(s13_only, "S13")},
                required=(
                    *_HEAD_REQUIRED,
                    "BgtTypeCode",
                    "ProCatCode",
                    "AgencyCode",
                    "AgencyName",
                    "ExpFuncCode",
                    "PayAcctNo",
                    "PayAcctName",
                    "PayAcctBankName",
                    "PayAmt",
                    "Hold1",
                ),
                required_source="S13",
                only=s13_only,
            ),
            _fields(
                "Id VoucherBillId VoucherBillNo VoucherDetailNo FundType* BgtType* ProCat* PayKind* "
                "MOFDep* FileNo* SupDep* Agency* ExpFunc* ExpEco* DepPro* PayeeAcctNo PayeeAcctName "
                f"PayeeAcctBankName PayeeAcctBankNo TrackingID PayAmt Remark {_PAY_RECEIPT} XAddWord "
                f"{_DETAIL_HOLD}",
                source="S1",
                sources={n: "S13" for n in s13_detail_only},
                required=("PayKindCode", "PayeeAcctNo", "PayeeAcctName", "PayeeAcctBankName", "PayAmt"),
                required_source="S13",
                only=s13_detail_only,
            ),
            pay_sum,
        )
    )

    # 4.4 5214 支付凭证 (2024 一体化; S8 decoded samples). Order as in the real messages
    # (spec.md §4.4): in the detail XAddWord stands before the X-payee fields.
    x_detail = (
        "XPayDate XAgentBusinessNo XCheckNo XPayAmt XAddWord XPayeeAcctBankName XPayeeAcctNo XPayeeAcctName"
    )
    types.append(
        _TypeDef(
            "5214",
            "支付凭证(预算管理一体化)",
            "S8 public 2024 Hubei treasury test messages",
            _fields(
                f"{_HEAD} BillNo FundType* BgtType* PayType* ProCat* MOFDep* SupDep* Agency* ExpFunc* "
                "ExpFunc*1..3 GovExpEco* DepExpEco* DepPro* SetMode* PayBank* ClearBank* ClearAcctNo "
                "ClearAcctName ClearAcctBankName PayeeAcctNo PayeeAcctName PayeeAcctBankName "
                "PayeeAcctBankNo PayAcctNo PayAcctName PayAcctBankName PaySummary* PayAmt BusinessType* "
                "TaxBillNo TaxayerID TaxOrgCode GovProcurementID CheckNo PayCode ForeignAmt CurrencyCode "
                f"EstRat AmtUnit {_PAY_RECEIPT} Hold1 Hold2",
                source="S8",
                required=(*_HEAD_REQUIRED, "AgencyCode", "PayeeAcctNo", "PayeeAcctName", "PayAmt"),
            ),
            _fields(
                "Id VoucherBillId VoucherBillNo VoucherDetailNo FundType* BgtType* ProCat* PayKind* "
                "MOFDep* SupDep* Agency* ExpFunc* GovExpEco* DepExpEco* DepPro* PayeeAcctNo PayeeAcctName "
                "PayeeAcctBankName PayeeAcctBankNo TrackingID PayAmt Remark ForeignAmt CurrencyCode EstRat "
                f"ReceiverCode AmtUnit {x_detail} {_DETAIL_HOLD}",
                source="S8",
                required=("Id", "PayAmt"),
            ),
            pay_sum,
            versions=frozenset({"2024"}),
        )
    )

    # 4.5 2301 申请划款凭证 / 2302 申请退款凭证 (S1 Process2301.java, voucher_2301/2302_java2xml.ftl)
    head_2301 = (
        f"{_HEAD} TreCode FinOrgCode BgtType* FundType* PayType* AgentAcctNo AgentAcctName "
        "AgentAcctBankName ClearAcctNo ClearAcctName ClearAcctBankName PayAmt PayBankName PayBankNo Remark "
        "MoneyCorpCode"
    )
    detail_2301 = f"Id VoucherNo SupDep* ExpFunc* PayAmt PaySummaryName PayDate {_DETAIL_HOLD}"
    for vt, name, extra, neg in (
        ("2301", "申请划款凭证", "", ()),
        ("2302", "申请退款凭证", " PayDictateNo PayMsgNo PayEntrustDate TKLX", ("PayAmt",)),
    ):
        types.append(
            _TypeDef(
                vt,
                name,
                f"S1 Process2301.java, voucher_{vt}_java2xml.ftl",
                _fields(
                    f"{head_2301}{extra} XPaySndBnkNo XAddWord XClearDate XPayAmt Hold1 Hold2",
                    source="S1",
                    required=(*_HEAD_REQUIRED, "TreCode", "PayAmt", "PayBankNo"),
                    negative=neg,
                ),
                _fields(detail_2301, source="S1", required=("PayAmt",), negative=neg),
                pay_sum,
            )
        )

    # 4.6 5106 授权支付清算额度通知单 / 5108 直接支付清算额度通知单 (S1 Voucher5106/5108MsgServer)
    types.append(
        _TypeDef(
            "5106",
            "授权支付清算额度通知单",
            "S1 Voucher5106MsgServer",
            _fields(
                f"{_HEAD} TreCode FinOrgCode PlanAmt ClearVoucherNo PayAcctNo PayAcctName PayeeAcctNo "
                "PayeeAcctName SetMonth DeptNum FundType* ClearBank* PayBankCode PayBankName PayBankNo "
                "Hold1 Hold2",
                source="S1",
                required=(*_HEAD_REQUIRED, "TreCode", "PlanAmt"),
            ),
            _fields(
                "Id SupDep* ExpFunc* ExpFunc*1..3 ProCat* PlanAmt FundType* Agency* ExpEco* DepPro* "
                f"AgencyAccoCode AgencyBankName {_DETAIL_HOLD}",
                source="S1",
                required=("PlanAmt",),
            ),
            SumRule("PlanAmt", "PlanAmt", source="I"),
        )
    )
    types.append(
        _TypeDef(
            "5108",
            "直接支付清算额度通知单",
            "S1 Voucher5108MsgServer",
            _fields(
                f"{_HEAD} TreCode FinOrgCode PayAmt FundType* PayeeAcctNo PayeeAcctName PayeeAcctBankName "
                "PayAcctNo PayAcctName PayAcctBankName PayBankCode PayBankName PayBankNo PayVoucherNo "
                "Hold1 Hold2",
                source="S1",
                required=(*_HEAD_REQUIRED, "TreCode", "PayAmt"),
            ),
            _fields(
                "SupDep* ExpFunc* ExpFunc*1..3 ProCat* PayAmt DirectVoucherNo FundType* Agency* ExpEco* "
                f"PayeeAcctNo PayeeAcctName PayeeAcctBankName {_DETAIL_HOLD}",
                source="S1",
                required=("PayAmt",),
            ),
            pay_sum,
        )
    )

    # 4.7 5207 实拨拨款凭证 / 5209 收入退付凭证 / 3208 实拨退款通知书 (S1)
    head_5207 = (
        f"{_HEAD} TreCode FinOrgCode FundType* PayType* ClearBank* PayeeAcctNo PayeeAcctName "
        "PayeeAcctBankName PayeeAcctBankNo PayAcctNo PayAcctName PayAcctBankName PaySummary* PayAmt "
        "XAgentBusinessNo Agency* BusinessTypeCode"
    )
    req_5207 = (*_HEAD_REQUIRED, "TreCode", "PayeeAcctNo", "PayeeAcctName", "PayAmt")
    types.append(
        _TypeDef(
            "5207",
            "实拨拨款凭证",
            "S1 Voucher5207MsgServer",
            _fields(f"{head_5207} Hold1 Hold2", source="S1", required=req_5207),
            _fields(
                "Id VoucherBillId VoucherDetailNo BgtType* ProCat* Agency* ExpFunc* ExpFunc*1..3 ExpEco* "
                "ExpEco*1..2 PayAmt PayeeAcctNo PayeeAcctName PayeeAcctBankName PaySummary* Remark XpayAmt "
                f"XPayDate XAgentBusinessNo XAddWord {_DETAIL_HOLD}",
                source="S1",
                required=("PayAmt",),
            ),
            pay_sum,
        )
    )
    types.append(
        _TypeDef(
            "5209",
            "收入退付凭证",
            "S1 Voucher5209MsgServer",
            _fields(f"{head_5207} ReturnReasonName Hold1 Hold2", source="S1", required=req_5207),
            _fields(
                "Id VoucherBillId VoucherDetailNo BgtType* IncomeSort* IncomeSort*1..4 PayAmt PayeeAcctNo "
                "PayeeAcctName PayeeAcctBankName Remark XPayAmt XPayDate XAgentBusinessNo XAddWord "
                f"{_DETAIL_HOLD}",
                source="S1",
                required=("PayAmt",),
            ),
            pay_sum,
        )
    )
    types.append(
        _TypeDef(
            "3208",
            "实拨退款通知书",
            "S1 voucher_3208_java2xml.ftl",
            _fields(
                f"{head_5207} AgentBusinessNo OriBillNo OriVouDate OriPayDate CurrencyCode CurrencyName "
                "PeriodTypeCode PeriodType Hold1 Hold2",
                source="S1",
                required=req_5207,
                negative=("PayAmt",),
            ),
            _fields(
                "Id VoucherBillId VoucherDetailNo BgtType* ProCat* Agency* ExpFunc* GovExpEco* DepExpEco* "
                f"Amt Remark {_DETAIL_HOLD}",
                source="S1",
                required=("Amt",),
                negative=("Amt",),
            ),
            SumRule("PayAmt", "Amt", source="I"),
        )
    )

    # 4.8 reconciliation (S1 templates). Multi-package (ChildPackNum/CurPackNo): AllAmt covers
    # every package, so no per-voucher sum rule.
    head_3507 = (
        "AdmDivCode StYear VtCode VouDate VoucherNo VoucherCheckNo ChildPackNum CurPackNo TreCode "
        "ClearBank* ClearAccNo ClearAccNanme BeginDate EndDate AllNum AllAmt"
    )
    detail_3507 = (
        "Id PayAgentBillNo PayDetailId VoucherNo SupDep* ExpFunc* ProCat* FundType* PayType* PayBankCode "
        f"PayBankName PayBankNo PayAmt PlanAmt PlanRemainAmt RefundAmt {_DETAIL_HOLD}"
    )
    req_3507 = ("AdmDivCode", "StYear", "VtCode", "VouDate", "VoucherNo", "TreCode", "AllNum", "AllAmt")
    for vt, name, reply in (
        ("3507", "清算信息对账", ""),
        ("2507", "清算信息对账回执(代理银行)", " XCheckResult XCheckReason XDiffNum"),
        ("5507", "清算信息对账回执(财政)", " XCheckResult XCheckReason XDiffNum"),
    ):
        types.append(
            _TypeDef(
                vt,
                name,
                "S1 voucher_3507/2507/5507 templates",
                _fields(
                    f"{head_3507}{reply} Hold1 Hold2",
                    source="S1",
                    required=req_3507,
                    negative=("AllAmt",),
                ),
                _fields(detail_3507, source="S1", negative=("RefundAmt",)),
                None,
            )
        )
    types.append(
        _TypeDef(
            "3502",
            "人民银行与代理银行凭证对账",
            "S1 voucher_3502 template; S3 MsgConstant",
            _fields(
                "AdmDivCode StYear VtCode VouDate VoucherNo CheckDate EVoucherType AllNum AllAmt Hold1 Hold2",
                source="S1",
                required=("AdmDivCode", "StYear", "VtCode", "VoucherNo", "CheckDate", "AllNum", "AllAmt"),
            ),
            _fields("Id VoucherNo Amt ProState Hold1 Hold2", source="S1", required=("VoucherNo", "Amt")),
            SumRule("AllAmt", "Amt", source="I"),
        )
    )
    return types


def _build() -> dict[str, dict[str, VoucherSpec]]:
    out: dict[str, dict[str, VoucherSpec]] = {v: {} for v in SCHEMA_VERSIONS}
    for t in _types():
        for version in SCHEMA_VERSIONS:
            if version not in t.versions:
                continue
            header = tuple(f for f in t.header if version in f.versions)
            detail = tuple(f for f in t.detail if version in f.versions)
            out[version][t.vt_code] = VoucherSpec(
                vt_code=t.vt_code,
                name=t.name,
                version=version,
                header=header,
                detail=detail,
                sum_rule=t.sum_rule,
                source=t.source,
                _index={f.name: f for f in header},
                _dindex={f.name: f for f in detail},
            )
    return out


_SPECS = _build()


def specs(version: str = DEFAULT_SCHEMA_VERSION) -> Mapping[str, VoucherSpec]:
    """Every modelled VtCode of a schema version (``KeyError`` for an unknown version)."""
    return _SPECS[version]


def spec_for(vt_code: str, version: str = DEFAULT_SCHEMA_VERSION) -> VoucherSpec | None:
    """The spec of ``vt_code`` in ``version``, or ``None`` when the version has no such type."""
    return _SPECS[version].get(vt_code)


def known_vt_codes(version: str | None = None) -> tuple[str, ...]:
    """VtCodes modelled in ``version`` (all versions when ``None``), sorted."""
    if version is not None:
        return tuple(sorted(_SPECS[version]))
    return tuple(sorted({vt for by_vt in _SPECS.values() for vt in by_vt}))
