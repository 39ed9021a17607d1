"""The 凭证库 operations table (spec.md §6): one table for the client, the service and the WSDL.

Each :class:`Operation` names the SOAP operation, its positional parameters with their Axis
types, and its return type, in the order the published Axis 1.x clients pass them to
``Call.invoke(new Object[]{...})`` (S2 ``VoucherService.java``, S7). Types:

``string`` (``xsd:string``), ``int`` (``xsd:int``, Java ``int`` boxed), ``bytes``
(``xsd:base64Binary``, Java ``byte[]``), ``string[]`` (a SOAP-encoded array of ``xsd:string``),
and for returns also ``map`` (``apachesoap:Map``) and ``void``.

The service paths are those of the real servers (spec.md §1): ``/realware/services/
AsspCBankService`` (人民银行 side), ``AsspPBankService`` (代理银行), ``AsspFinanceService`` (财政).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["OPERATIONS", "SERVICE_PATHS", "Operation", "Param", "ParamType", "ReturnType", "operation"]

ParamType = Literal["string", "int", "bytes", "string[]"]
ReturnType = Literal["void", "string", "bytes", "map"]

#: The three service endpoints of a 凭证库 (spec.md §1, S2, S6, S7).
SERVICE_PATHS = (
    "/realware/services/AsspCBankService",
    "/realware/services/AsspPBankService",
    "/realware/services/AsspFinanceService",
)


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: ParamType
    #: an empty value is a fault (EVS111) when required
    required: bool = True


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation: ``name``, positional ``params``, ``returns``, its clause and meaning."""

    name: str
    params: tuple[Param, ...]
    returns: ReturnType
    clause: str
    summary: str

    def param_names(self) -> list[str]:
        return [p.name for p in self.params]


def _p(spec: str) -> tuple[Param, ...]:
    """``"certID admDivCode stYear:int"`` → params (type after ``:``, default string; ``?`` optional)."""
    out = []
    for word in spec.split():
        name, _, kind = word.partition(":")
        required = not name.endswith("?")
        out.append(Param(name.rstrip("?"), (kind or "string"), required))  # type: ignore[arg-type]
    return tuple(out)


_IDS = "certID admDivCode stYear:int vtCode"
_SEND = "certID admDivCode srcOrgType decOrgType stYear:int vtCode voucherNos:string[]"
_SIGN_SEND = "certID admDivCode stYear:int vtCode voucherMessage:bytes stamp srcOrgType decOrgType"

#: spec.md §6, in the order of its table.
OPERATIONS: tuple[Operation, ...] = (
    Operation("saveStampVoucher", _p(f"{_IDS} signedVoucher:bytes"), "void", "3.1.1", "保存已签章凭证"),
    Operation("saveSignVoucher", _p(f"{_IDS} voucher:bytes"), "void", "3.1.2", "保存已签名凭证"),
    Operation("signStampByNos", _p(f"{_IDS} vouchers:bytes stamp"), "void", "3.1.3", "服务器签章并保存"),
    Operation("signByNos", _p(f"{_IDS} vouchers:bytes stamp"), "void", "3.1.4", "服务器签名并保存"),
    Operation("signStampByNosAndSend", _p(_SIGN_SEND), "map", "3.1.5", "服务器签章并发送"),
    Operation("signByNosAndSend", _p(_SIGN_SEND), "map", "3.1.6", "服务器签名并发送"),
    Operation("readVoucherAgain", _p(f"{_IDS} voucherCount:int"), "bytes", "3.2.1", "查询未签收的凭证"),
    Operation(
        "batchQueryAllVoucherStatus", _p(f"{_IDS} voucherNos:string[]"), "map", "3.2.2", "凭证状态批量查询"
    ),
    Operation("queryStampPositionWithName", _p(_IDS), "map", "3.2.4", "查询盖章位置及名称"),
    Operation("confirmVoucher", _p(f"{_IDS} voucherNos:string[]"), "void", "—", "凭证签收"),
    Operation(
        "confirmVoucherFail",
        _p(f"{_IDS} voucherNos:string[] errMsgs:string[]"),
        "void",
        "—",
        "凭证签收失败",
    ),
    Operation("returnVoucher", _p(f"{_IDS} voucherNos:string[] reasons:string[]"), "void", "—", "凭证退回"),
    Operation("discardVoucher", _p(f"{_IDS} voucherNos:string[]"), "void", "—", "凭证作废"),
    Operation("sendVoucher", _p(_SEND), "void", "—", "发送凭证"),
    Operation("sendVoucherFullSigns", _p(_SEND), "void", "—", "发送全版本凭证"),
    Operation(
        "batchQuerySentVoucherStatus", _p(f"{_IDS} voucherNos:string[]"), "map", "—", "已发送凭证状态批量查询"
    ),
    Operation(
        "queryVoucherStatusByOrgType",
        _p(f"{_IDS} voucherNos:string[] decOrgType"),
        "map",
        "—",
        "指定机构查询凭证状态",
    ),
    Operation(
        "cancelStampWithPosition", _p(f"{_IDS} voucherNo position"), "void", "—", "撤销指定位置凭证签章"
    ),
    Operation("signWithoutPosition", _p(f"{_IDS} voucher:bytes"), "bytes", "—", "不带位置服务器签名"),
)

_BY_NAME = {op.name: op for op in OPERATIONS}


def operation(name: str) -> Operation | None:
    """The operation called ``name``, or None."""
    return _BY_NAME.get(name)
