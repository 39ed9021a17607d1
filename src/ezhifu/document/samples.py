"""Sample vouchers for tests, demos and benchmarks.

:func:`sample_voucher` builds a voucher of any modelled VtCode from the field data
(:mod:`ezhifu.document.fields`): every element present in the type's order, required fields
filled, X-fields and ``Hold`` fields empty (a voucher as sent, before the 回单), header sums
equal to the details, Chinese names (so GBK is exercised). The values are synthetic, shaped
after the public samples (spec.md §4.9, §9): AdmDivCode ``420000``, 32-hex ``Id``, dates
``yyyyMMdd``. The output is deterministic for a given ``seed``.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from ezhifu.document import fields as _fields
from ezhifu.document.fields import DEFAULT_SCHEMA_VERSION, FieldDef, VoucherSpec
from ezhifu.document.models import FieldValue, Voucher, format_amount, format_date
from ezhifu.errors import InvalidInput

__all__ = ["sample_envelope_bytes", "sample_voucher"]

# A few code/name pairs actually observed (spec.md §4.9); others are synthetic.
_OBSERVED: dict[str, tuple[str, str]] = {
    "FundType": ("11111", "经费拨款补助"),
    "BgtType": ("11", "预拨指标"),
    "PayType": ("1", "国库集中支付"),
    "SetMode": ("1", "电子转账支付"),
    "BusinessType": ("1", "普通业务"),
    "PayMgr": ("0", "支付类型"),
    "FundDealMode": ("2", "自助柜面"),
    "ProCat": ("4", "公用支出"),
}
# Realistic roles (issue 15 item 9): a budget unit receives the payment, a commercial bank is
# the agent bank, the People's Bank clears; the payer is the unit's zero-balance account.
_UNITS = ["武汉市第一中学", "湖北省水利厅机关服务中心", "武汉市江汉区人民医院"]
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "PayeeAcctName": tuple(_UNITS),
    "AgencyName": tuple(_UNITS),
    "SupDepName": ("武汉市教育局", "湖北省水利厅", "武汉市卫生健康委员会"),
    "PayeeAcctBankName": ("中国工商银行武汉东湖支行", "中国建设银行武汉江汉支行"),
    "PayAcctName": ("武汉市第一中学零余额账户", "湖北省水利厅零余额账户"),
    "PayAcctBankName": ("中国工商银行股份有限公司武汉分行",),
    "PayBankName": ("中国工商银行股份有限公司武汉分行", "中国建设银行股份有限公司湖北省分行"),
    "ClearBankName": ("中国人民银行湖北省分行",),
    "ClearAcctName": ("湖北省财政厅国库支付中心清算账户",),
    "ClearAcctBankName": ("中国人民银行湖北省分行",),
    "AgentAcctName": ("中国工商银行股份有限公司武汉分行",),
    "AgentAcctBankName": ("中国工商银行股份有限公司武汉分行",),
    "MOFDepName": ("湖北省财政厅教科文处",),
}
_NAMES = [*_UNITS, "中国工商银行股份有限公司武汉分行", "国家金库湖北省分库"]


def _code_for(field: FieldDef, rng: random.Random) -> str:
    name = field.name
    if name.endswith(("AcctNo", "AccNo", "AccoCode")):
        return "".join(rng.choice("0123456789") for _ in range(19))
    if name.endswith(("BankNo", "BnkNo")) or name == "PayBankCode":
        return "".join(rng.choice("0123456789") for _ in range(12))
    for base, (code, _) in _OBSERVED.items():
        if name == f"{base}Code":
            return code
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(3, 9)))


def _name_for(field: FieldDef, rng: random.Random) -> str:
    for base, (_, label) in _OBSERVED.items():
        if field.name == f"{base}Name":
            return label
    role = _ROLE_NAMES.get(field.name) or _ROLE_NAMES.get(field.name.removeprefix("X"))
    if role is not None:
        return rng.choice(role)
    if field.name.endswith(("AcctName", "AccNanme", "BankName")):
        return rng.choice(_NAMES)
    return field.label.removesuffix("名称") + "示例"


def _value(field: FieldDef, rng: random.Random, vou_date: date) -> FieldValue:
    if field.x_field or (field.hold and not field.required):
        return ""
    kind = field.type
    if kind == "code":
        return _code_for(field, rng)
    if kind == "name":
        return _name_for(field, rng)
    if kind == "guid":
        return "".join(rng.choice("0123456789ABCDEF") for _ in range(32))
    if kind == "date":
        return vou_date
    if kind == "int":
        return 1 if field.name in {"ChildPackNum", "CurPackNo"} else rng.randint(1, 9)
    if kind == "amount":
        return Decimal(rng.randint(100, 9_999_999)) / 100
    return "测试" + field.label


def sample_voucher(
    vt_code: str,
    *,
    details: int = 1,
    seed: int | str = 0,
    schema_version: str = DEFAULT_SCHEMA_VERSION,
    **header: FieldValue,
) -> Voucher:
    """A valid voucher of ``vt_code`` with ``details`` detail rows.

    ``header`` overrides header fields (``PayAmt`` only when the type has no sum rule or
    no details, otherwise it is the sum of the details). Raises :class:`InvalidInput` for
    a VtCode not modelled in ``schema_version`` or an unknown field name.
    """
    spec: VoucherSpec | None = _fields.spec_for(vt_code, schema_version)
    if spec is None:
        raise InvalidInput(f"VtCode {vt_code!r} is not modelled in schema version {schema_version}")
    if details < 0:
        raise InvalidInput("details must be >= 0")
    if not spec.has_details and details:
        details = 0
    # Deterministic synthetic data, not security relevant.
    rng = random.Random(f"{seed}:{vt_code}:{details}")  # noqa: S311
    vou_date = date(2024, 1, 2) + timedelta(days=rng.randint(0, 360))
    values: dict[str, FieldValue] = {f.name: _value(f, rng, vou_date) for f in spec.header}
    values.update(
        AdmDivCode="420000",
        StYear=str(vou_date.year),
        VtCode=vt_code,
        VouDate=vou_date,
        VoucherNo=f"{vt_code}{format_date(vou_date)}{rng.randint(0, 999999):06d}",
    )
    rows: list[dict[str, FieldValue]] = []
    for i in range(details):
        row: dict[str, FieldValue] = {f.name: _value(f, rng, vou_date) for f in spec.detail}
        for name, value in (
            ("VoucherBillId", values.get("Id", "")),
            ("VoucherBillNo", values["VoucherNo"]),
            ("VoucherDetailNo", str(i + 1)),
        ):
            if name in row:
                row[name] = value
        if "VoucherNo" in row and vt_code not in {"2301", "2302", "3502", "3507", "2507", "5507"}:
            row["VoucherNo"] = f"{values['VoucherNo']}-{i + 1:03d}"
        rows.append(row)
    values.update(header)
    rule = spec.sum_rule
    if rule is not None and rows and rule.header not in header:
        total = sum((Decimal(str(r[rule.detail])) for r in rows), Decimal("0"))
        values[rule.header] = format_amount(total)
    for name in ("AllNum", "DeptNum"):
        if name in values and name not in header:
            values[name] = len(rows)
    if vt_code in {"3507", "2507", "5507"} and "AllAmt" not in header:
        values["AllAmt"] = format_amount(sum((Decimal(str(r["PayAmt"])) for r in rows), Decimal("0")))
    return Voucher.build(vt_code, values, rows, schema_version=schema_version)


def sample_envelope_bytes(vt_code: str = "5214", *, count: int = 1, details: int = 1, seed: int = 0) -> bytes:
    """A GBK ``<MOF>`` envelope holding ``count`` sample vouchers (unsigned)."""
    from ezhifu.document.envelope import Envelope  # envelope imports models; keep acyclic

    vouchers = [sample_voucher(vt_code, details=details, seed=f"{seed}-{i}") for i in range(count)]
    return Envelope.build(vouchers).to_bytes()
