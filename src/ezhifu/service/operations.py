"""Each 凭证库 operation (spec.md §6) as a call of the party's voucher library.

:func:`dispatch` checks the arguments against the one operations table
(:mod:`ezhifu.client.operations`): count and types (EVS100 参数不合法), empty required values
(EVS111 参数存在空值), ``stYear`` (EVS103 业务年度不合法), ``admDivCode`` / ``vtCode`` forms
(EVS100), and the caller's rights: the certID must be configured in ``[rights]`` for the
operation and the VtCode (EVS112 凭证类型无对应证书id权限). The library's refusals become named
faults: a life-cycle refusal or an unknown voucher EVS700 业务逻辑不合法, bad input EVS100, a
SafeBox refusal EVS100 with the control's code (spec.md §7), anything else EVS999.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TypedDict

from ezhifu.client.operations import Operation, operation
from ezhifu.client.soapenc import SoapValue
from ezhifu.client.stamp_request import parse_stamp_request
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.models import FieldValue
from ezhifu.errors import (
    BusinessRuleViolated,
    EmptyParameter,
    EzhifuError,
    FlowError,
    IllegalTransition,
    InvalidBusinessYear,
    InvalidInput,
    InvalidParameter,
    NotAuthorised,
    OcxRefusal,
    RequestRejected,
    ServiceFault,
    StoreError,
    TransportError,
)
from ezhifu.flow.library import MAX_READ, VoucherLibrary
from ezhifu.flow.receipts import is_x_field
from ezhifu.flow.status import State
from ezhifu.service.runtime import Runtime

__all__ = ["MAX_VOUCHER_NOS", "Call", "dispatch"]

#: Voucher numbers in one call (a batch of 100 per readVoucherAgain, some slack for queries).
MAX_VOUCHER_NOS = 1000
_ADM = re.compile(r"\d{6,9}")
_VT = re.compile(r"\d{4}")
_TYPES = {"string": str, "int": int, "bytes": bytes}


class Ids(TypedDict):
    adm_div_code: str
    st_year: str


class Call:
    """One checked call: the named arguments and the identifiers every operation takes."""

    def __init__(self, op: Operation, args: list[SoapValue]) -> None:
        self.op = op
        self.args = dict(zip(op.param_names(), args, strict=True))
        self.cert_id = str(args[0])
        self.adm = str(self.args["admDivCode"])
        self.year = str(self.args["stYear"])
        self.vt = str(self.args["vtCode"])

    @property
    def ids(self) -> Ids:
        return {"adm_div_code": self.adm, "st_year": self.year}

    def nos(self, name: str = "voucherNos") -> list[str]:
        value = self.args[name]
        assert isinstance(value, list)  # checked against the table
        return [str(v) for v in value]


def _check(op: Operation, args: list[SoapValue]) -> Call:
    if len(args) != len(op.params):
        raise InvalidParameter(f"{op.name} takes {len(op.params)} arguments, got {len(args)} / 参数个数不符")
    for param, value in zip(op.params, args, strict=True):
        if value is None or value == "" or value == b"" or value == []:
            if param.required:
                raise EmptyParameter(f"{op.name}: {param.name} is empty / {param.name} 为空")
            continue
        if param.type == "string[]":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            if ok and isinstance(value, list) and len(value) > MAX_VOUCHER_NOS:
                raise InvalidParameter(f"{op.name}: {param.name} has more than {MAX_VOUCHER_NOS} items")
        else:
            ok = isinstance(value, _TYPES[param.type]) and not isinstance(value, bool)
        if not ok and param.name == "stYear":
            raise InvalidBusinessYear(f"{op.name}: stYear must be xsd:int, got {type(value).__name__}")
        if not ok:
            raise InvalidParameter(
                f"{op.name}: {param.name} must be {param.type}, got {type(value).__name__}"
            )
    call = Call(op, args)
    year = call.args["stYear"]
    if not isinstance(year, int) or not 1990 <= year <= 2200:
        raise InvalidBusinessYear(f"{op.name}: stYear {year!r} is not a year between 1990 and 2200")
    if not _ADM.fullmatch(call.adm):
        raise InvalidParameter(f"{op.name}: admDivCode {call.adm[:20]!r} is not a 6-9 digit code")
    if not _VT.fullmatch(call.vt):
        raise InvalidParameter(f"{op.name}: vtCode {call.vt[:20]!r} is not a 4-digit VtCode")
    return call


def _fault(exc: EzhifuError) -> ServiceFault:
    if isinstance(exc, ServiceFault):
        return exc
    if isinstance(exc, IllegalTransition | FlowError) and not isinstance(exc, StoreError | TransportError):
        return BusinessRuleViolated(str(exc))  # the life cycle refuses, or no such voucher
    if isinstance(exc, OcxRefusal):
        return InvalidParameter(f"OCX {exc.ocx_code}: {exc}")
    if isinstance(exc, InvalidInput):
        return InvalidParameter(str(exc))
    return ServiceFault(f"{type(exc).__name__}: {exc}")


def _envelope(data: SoapValue, name: str) -> Envelope:
    if not isinstance(data, bytes):
        raise InvalidParameter(f"{name} must be byte[]")
    return Envelope.from_bytes(data)


def _stamp_positions(text: SoapValue) -> dict[str, str | None]:
    if not isinstance(text, str):
        raise InvalidParameter("stamp must be a string")
    return parse_stamp_request(text)


def _check_bodies(call: Call, envelope: Envelope) -> list[VoucherBody]:
    for body in envelope.bodies:
        if (body.adm_div_code, body.st_year, body.vt_code) != (call.adm, call.year, call.vt):
            raise InvalidParameter(
                f"voucher {body.voucher_no}: AdmDivCode/StYear/VtCode {body.adm_div_code}/{body.st_year}/"
                f"{body.vt_code} differ from the call's {call.adm}/{call.year}/{call.vt}"
            )
    return list(envelope.bodies)


def _peer_for(rt: Runtime, call: Call, dec_org_type: str | None) -> str:
    routed = rt.config.routes.get(call.vt)
    candidates = [
        p for p, peer in rt.config.peers.items() if dec_org_type is None or peer.org_type == dec_org_type
    ]
    if routed is not None and routed in candidates:
        return routed
    if len(candidates) == 1:
        return candidates[0]
    raise InvalidParameter(
        f"no single peer for decOrgType {dec_org_type!r} and VtCode {call.vt} / 无法确定接收方"
    )


def _save(
    rt: Runtime, lib: VoucherLibrary, call: Call, bodies: list[VoucherBody], dec: str | None
) -> list[str]:
    peer = _peer_for(rt, call, dec)
    for body in bodies:
        if body.voucher_flag != "0":
            raise InvalidParameter(
                f"voucher {body.voucher_no}: only 发送单 are saved; 回单 are sent with *AndSend"
            )
        lib.save(body, to=peer)
    return [b.voucher_no for b in bodies]


def _receipt_fields(body: VoucherBody) -> tuple[dict[str, FieldValue], list[dict[str, FieldValue]]]:
    voucher = body.voucher
    vt = body.vt_code
    fields: dict[str, FieldValue] = {n: v for n, v in voucher.fields if v and is_x_field(vt, n)}
    details: list[dict[str, FieldValue]] = [
        {n: v for n, v in row if v and is_x_field(vt, n, detail=True)} for row in voucher.details
    ]
    return fields, details


def _sign_and_send(rt: Runtime, lib: VoucherLibrary, call: Call, *, stamps: bool) -> SoapValue:
    envelope = _envelope(call.args["voucherMessage"], "voucherMessage")
    bodies = _check_bodies(call, envelope)
    positions = _stamp_positions(call.args["stamp"])
    if not stamps:
        table = rt.positions.positions(call.vt)
        positions = {p: i for p, i in positions.items() if p not in table or table[p].kind == "signature"}
    dec = str(call.args["decOrgType"])
    out: dict[str, SoapValue] = {}
    for body in bodies:
        if body.voucher_flag == "1":
            fields, details = _receipt_fields(body)
            lib.send_receipt(
                call.vt, body.voucher_no, **call.ids, fields=fields, details=details if any(details) else None
            )
        else:
            rt.sign_at(body, positions)
            _save(rt, lib, call, [body], dec)
            lib.send(call.vt, [body.voucher_no], **call.ids)
    for no, (code, text) in lib.batch_status(call.vt, [b.voucher_no for b in bodies], **call.ids).items():
        out[no] = [code, text]
    return out


def _read(rt: Runtime, lib: VoucherLibrary, call: Call) -> SoapValue:
    count = call.args["voucherCount"]
    if not isinstance(count, int) or not 1 <= count <= MAX_READ:
        raise InvalidParameter(f"voucherCount must be between 1 and {MAX_READ}, got {count!r}")
    envelope = lib.read(call.vt, **call.ids, count=count)
    receipts = lib.read(call.vt, **call.ids, count=count, receipts=True)
    bodies = (list(envelope.bodies) if envelope else []) + (list(receipts.bodies) if receipts else [])
    if not bodies:
        return None
    return Envelope.build(bodies[:count]).to_bytes("GBK")


def _split_receipts(lib: VoucherLibrary, call: Call, nos: list[str]) -> tuple[list[str], list[str]]:
    """Voucher numbers of received 发送单 and of received 回单 (confirm serves both)."""
    receipts = []
    for no in nos:
        in0 = lib.record(lib.key("in", "0", call.vt, no, **call.ids))
        in1 = lib.record(lib.key("in", "1", call.vt, no, **call.ids))
        if (
            in1 is not None
            and (in0 is None or in0.state is not State.RECEIVED)
            and in1.state is State.RECEIVED
        ):
            receipts.append(no)
    return [n for n in nos if n not in receipts], receipts


def _on_received(lib: VoucherLibrary, call: Call, kind: str) -> SoapValue:
    nos = call.nos()
    reasons = call.nos("errMsgs" if kind == "fail" else "reasons") if kind != "confirm" else []
    if kind != "confirm" and len(reasons) != len(nos):
        raise InvalidParameter(
            f"{len(nos)} voucher numbers but {len(reasons)} reasons / 凭证号与原因个数不符"
        )
    why = dict(zip(nos, reasons, strict=False))
    for group, receipts in zip(_split_receipts(lib, call, nos), (False, True), strict=True):
        if not group:
            continue
        if kind == "confirm":
            lib.confirm(call.vt, group, **call.ids, receipts=receipts)
        elif kind == "fail":
            lib.confirm_fail(call.vt, group, [why[n] for n in group], **call.ids, receipts=receipts)
        else:
            lib.return_voucher(call.vt, group, [why[n] for n in group], **call.ids, receipts=receipts)
    return None


def _status(
    rt: Runtime, lib: VoucherLibrary, call: Call, *, sent_only: bool = False, org: str | None = None
) -> SoapValue:
    nos = call.nos()
    status = lib.batch_status(call.vt, nos, **call.ids)
    out: dict[str, SoapValue] = {}
    for no, (code, text) in status.items():
        record = lib.record(lib.key("out", "0", call.vt, no, **call.ids))
        if sent_only and record is None:
            code, text = -1, "未找到对应凭证"
        if (
            org is not None
            and record is not None
            and lib.peers
            and record.peer not in _peers_of_org(lib, org)
        ):
            code, text = -1, "未找到对应凭证"
        out[no] = [code, text]
    return out


def _peers_of_org(lib: VoucherLibrary, org: str) -> set[str]:
    return {p for p in lib.peers if p.startswith(org) or org == p}


def _cancel_stamp(lib: VoucherLibrary, call: Call) -> SoapValue:
    no, position = str(call.args["voucherNo"]), str(call.args["position"])
    key = lib.key("out", "0", call.vt, no, **call.ids)
    with lib.store.transaction():
        record = lib.record(key)
        if record is None or record.state is not State.DRAFT:
            raise BusinessRuleViolated(
                f"{key}: only an unsent voucher's stamp can be cancelled / 仅未发送凭证可撤销签章"
            )
        body = Envelope.from_bytes(record.envelope).bodies[0]
        kept_sigs = [s for s in body.signatures if s.no != position]
        kept_stamps = [s for s in body.stamps if s.no != position]
        if len(kept_sigs) == len(body.signatures) and len(kept_stamps) == len(body.stamps):
            raise InvalidParameter(f"{key}: position {position!r} is neither signed nor stamped")
        body.signatures[:] = kept_sigs
        body.stamps[:] = kept_stamps
        lib.store.put(replace(record, envelope=Envelope.build([body]).to_bytes()))
    return None


def _sign_without_position(rt: Runtime, call: Call) -> SoapValue:
    envelope = _envelope(call.args["voucher"], "voucher")
    _check_bodies(call, envelope)
    table = rt.positions.positions(call.vt)
    signature = [p for p in rt.config.sign_positions if p in table and table[p].kind == "signature"]
    if not signature:
        raise InvalidParameter(f"VtCode {call.vt}: no signature position configured in [signing].positions")
    rt.safebox.sign(envelope, signature[0])
    return envelope.to_bytes("GBK")


Handler = Callable[[Runtime, VoucherLibrary, Call], SoapValue]

_HANDLERS: dict[str, Handler] = {
    "readVoucherAgain": _read,
    "confirmVoucher": lambda rt, lib, c: _on_received(lib, c, "confirm"),
    "confirmVoucherFail": lambda rt, lib, c: _on_received(lib, c, "fail"),
    "returnVoucher": lambda rt, lib, c: _on_received(lib, c, "return"),
    "discardVoucher": lambda rt, lib, c: lib.discard(c.vt, c.nos(), **c.ids),
    "sendVoucher": lambda rt, lib, c: (lib.send(c.vt, c.nos(), **c.ids), None)[1],
    "sendVoucherFullSigns": lambda rt, lib, c: (lib.send(c.vt, c.nos(), **c.ids), None)[1],
    "batchQueryAllVoucherStatus": lambda rt, lib, c: _status(rt, lib, c),
    "batchQuerySentVoucherStatus": lambda rt, lib, c: _status(rt, lib, c, sent_only=True),
    "queryVoucherStatusByOrgType": lambda rt, lib, c: _status(rt, lib, c, org=str(c.args["decOrgType"])),
    "queryStampPositionWithName": lambda rt, lib, c: dict(lib.positions(c.vt)),
    "saveSignVoucher": lambda rt, lib, c: (
        _save(rt, lib, c, _check_bodies(c, _envelope(c.args["voucher"], "voucher")), None),
        None,
    )[1],
    "saveStampVoucher": lambda rt, lib, c: (
        _save(rt, lib, c, _check_bodies(c, _envelope(c.args["signedVoucher"], "signedVoucher")), None),
        None,
    )[1],
    "signStampByNos": lambda rt, lib, c: _sign_and_save(rt, lib, c, stamps=True),
    "signByNos": lambda rt, lib, c: _sign_and_save(rt, lib, c, stamps=False),
    "signStampByNosAndSend": lambda rt, lib, c: _sign_and_send(rt, lib, c, stamps=True),
    "signByNosAndSend": lambda rt, lib, c: _sign_and_send(rt, lib, c, stamps=False),
    "cancelStampWithPosition": lambda rt, lib, c: _cancel_stamp(lib, c),
    "signWithoutPosition": lambda rt, lib, c: _sign_without_position(rt, c),
}


def _sign_and_save(rt: Runtime, lib: VoucherLibrary, call: Call, *, stamps: bool) -> SoapValue:
    envelope = _envelope(call.args["vouchers"], "vouchers")
    bodies = _check_bodies(call, envelope)
    positions = _stamp_positions(call.args["stamp"])
    table = rt.positions.positions(call.vt)
    if not stamps:
        positions = {p: i for p, i in positions.items() if p not in table or table[p].kind == "signature"}
    for body in bodies:
        rt.sign_at(body, positions)
    _save(rt, lib, call, bodies, None)
    return None


def dispatch(rt: Runtime, name: str, args: list[SoapValue]) -> SoapValue:
    """Run operation ``name`` with positional ``args``; a refusal raises a :class:`ServiceFault`."""
    op = operation(name)
    handler = _HANDLERS.get(name)
    if op is None or handler is None:
        raise RequestRejected(f"unknown operation {name[:60]!r} / 未知的操作")
    call = _check(op, args)
    rights = rt.config.rights.get(call.cert_id)
    if rights is None or not rights.allows(name, call.vt):
        raise NotAuthorised(f"certID {call.cert_id[:40]!r} may not call {name} for VtCode {call.vt}")
    try:
        with rt.locked() as lib:
            return handler(rt, lib, call)
    except EzhifuError as exc:
        raise _fault(exc) from exc
