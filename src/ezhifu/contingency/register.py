"""The outage register and emergency (paper) payments with their back-filled electronic vouchers.

What must be recorded during an outage (reference §2.5): the outage itself (scope, start and
end, who declared it on whose approval), every payment made outside the electronic path (paper
slip serial, amount, payer and payee, hand signers and seals used, approval, bank transaction
number), the electronic voucher later created for it (补录, "事后补录") and who back-filled it,
and the offline packages exchanged. :class:`ContingencyRegister` keeps all of it as entries of
the audit chain (:class:`~ezhifu.keystore.audit.AuditLog`: SM3 chain, HMAC-SM3, anchored head,
SQLite), so the register is tamper-evident; its state is rebuilt from the entries.

Links both ways: the back-filled voucher carries the marker ``事后补录:<paper serial>`` in a
reserved field (``Hold2`` by default; the official field is unknown, spec.md §4.1 notes that
regions overload ``Hold1``..``Hold4``) and the payment record names the voucher
(VtCode, VoucherNo, Id); :meth:`ContingencyRegister.payment_for_voucher` goes from the voucher
back to the payment. :meth:`~ContingencyRegister.link_backfill` refuses a voucher whose amount,
payee account or marker does not match the paper payment.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from ezhifu.document.models import FieldValue, Voucher
from ezhifu.errors import RegisterError
from ezhifu.keystore.audit import AuditJournal
from ezhifu.results import JsonFields

__all__ = [
    "BACKFILL_MARK",
    "OUTAGE_SCOPES",
    "ContingencyRegister",
    "EmergencyPayment",
    "Outage",
    "backfill_voucher",
]

#: Prefix of the marker written into the back-filled voucher's reserved field.
BACKFILL_MARK = "事后补录:"
#: What can be down (reference §2.2 fault classes, §2.3 ladder).
OUTAGE_SCOPES = (
    "network",
    "voucher_library",
    "seal_service",
    "signing_device",
    "counterparty",
    "business_system",
)


@dataclass(frozen=True, slots=True)
class Outage(JsonFields):
    outage_id: str
    scope: str
    started: str
    declared_by: str
    approval_ref: str = ""
    notes: str = ""
    ended: str | None = None
    ended_by: str | None = None


@dataclass(frozen=True, slots=True)
class EmergencyPayment(JsonFields):
    """A payment made on paper during an outage, and the electronic voucher back-filled for it."""

    payment_id: str
    outage_id: str
    paper_serial: str
    vt_code: str
    amount: str
    payer_acct_no: str
    payee_acct_name: str
    payee_acct_no: str
    hand_signers: tuple[str, ...]
    seal_refs: tuple[str, ...]
    approval_ref: str
    bank_txn_no: str
    paid_on: str
    recorded_by: str
    backfill_vt_code: str | None = None
    backfill_voucher_no: str | None = None
    backfill_id: str | None = None
    backfilled_by: str | None = None
    backfilled_at: str | None = None


class ContingencyRegister(AuditJournal):
    """Outages, emergency payments, offline packages and drills on an audit chain."""

    ACTOR = "contingency"

    # --- writing --------------------------------------------------------------------------

    def _record(self, operation: str, actor: str, alias: str, data: Mapping[str, Any], **extra: str) -> str:
        if not actor.strip():
            raise RegisterError(f"{operation}: 须写明操作人 / who did it is required")
        entry = self._log.record(
            operation,
            "ok",
            actor=actor,
            alias=alias,
            reason=json.dumps(data, ensure_ascii=False, sort_keys=True),
            **extra,
        )
        return entry.time

    def declare_outage(
        self, scope: str, *, declared_by: str, approval_ref: str = "", notes: str = ""
    ) -> Outage:
        if scope not in OUTAGE_SCOPES:
            raise RegisterError(
                f"未知的故障范围 {scope!r} / unknown outage scope (known: {', '.join(OUTAGE_SCOPES)})"
            )
        outage_id = f"OUT-{uuid.uuid4().hex[:12]}"
        data = {"scope": scope, "approval_ref": approval_ref, "notes": notes}
        self._record("outage.declare", declared_by, outage_id, data)
        return self.outage(outage_id)

    def end_outage(self, outage_id: str, *, ended_by: str, notes: str = "") -> Outage:
        outage = self.outage(outage_id)
        if outage.ended is not None:
            raise RegisterError(f"故障 {outage_id} 已结束 / outage {outage_id} already ended")
        self._record("outage.end", ended_by, outage_id, {"notes": notes})
        return self.outage(outage_id)

    def record_emergency_payment(
        self,
        outage_id: str,
        *,
        paper_serial: str,
        vt_code: str,
        amount: Decimal | str,
        payer_acct_no: str,
        payee_acct_name: str,
        payee_acct_no: str,
        hand_signers: Sequence[str],
        seal_refs: Sequence[str],
        approval_ref: str,
        bank_txn_no: str,
        paid_on: date,
        recorded_by: str,
    ) -> EmergencyPayment:
        """Record a paper payment made during ``outage_id`` (which must be declared)."""
        self.outage(outage_id)
        if not paper_serial or any(p.paper_serial == paper_serial for p in self.payments()):
            raise RegisterError(
                f"纸质凭证号 {paper_serial!r} 为空或重复 / paper serial empty or already recorded"
            )
        if not hand_signers:
            raise RegisterError("须记录手签人 / the hand signers are required")
        payment_id = f"EMP-{uuid.uuid4().hex[:12]}"
        data = {
            "outage_id": outage_id,
            "paper_serial": paper_serial,
            "vt_code": vt_code,
            "amount": f"{Decimal(amount):.2f}",
            "payer_acct_no": payer_acct_no,
            "payee_acct_name": payee_acct_name,
            "payee_acct_no": payee_acct_no,
            "hand_signers": list(hand_signers),
            "seal_refs": list(seal_refs),
            "approval_ref": approval_ref,
            "bank_txn_no": bank_txn_no,
            "paid_on": paid_on.isoformat(),
        }
        self._record("payment.record", recorded_by, payment_id, data, vt_code=vt_code)
        return self.payment(payment_id)

    def link_backfill(
        self, payment_id: str, voucher: Voucher, *, by: str, marker_field: str = "Hold2"
    ) -> EmergencyPayment:
        """Link the back-filled electronic ``voucher`` to the paper payment; checks it matches."""
        payment = self.payment(payment_id)
        if payment.backfill_voucher_no is not None:
            raise RegisterError(
                f"{payment_id}: 已补录 / already back-filled by {payment.backfill_voucher_no}"
            )
        problems = []
        if voucher.vt_code != payment.vt_code:
            problems.append(f"VtCode {voucher.vt_code} != {payment.vt_code}")
        if voucher.pay_amt is None or f"{voucher.pay_amt:.2f}" != payment.amount:
            problems.append(f"PayAmt {voucher.get('PayAmt')} != {payment.amount}")
        if voucher.get("PayeeAcctNo") != payment.payee_acct_no:
            problems.append(f"PayeeAcctNo {voucher.get('PayeeAcctNo')} != {payment.payee_acct_no}")
        if voucher.get(marker_field) != BACKFILL_MARK + payment.paper_serial:
            problems.append(f"{marker_field} does not carry {BACKFILL_MARK}{payment.paper_serial}")
        if problems:
            raise RegisterError(
                f"{payment_id}: 补录凭证与纸质支付不符 / back-filled voucher does not match: "
                + "; ".join(problems)
            )
        data = {"vt_code": voucher.vt_code, "voucher_no": voucher.voucher_no, "id": voucher.id}
        self._record(
            "payment.backfill", by, payment_id, data, vt_code=voucher.vt_code, voucher_no=voucher.voucher_no
        )
        return self.payment(payment_id)

    def record_package(
        self, direction: str, package_id: str, *, peer: str, by: str, detail: Mapping[str, Any]
    ) -> None:
        """Record an offline package exported, imported or acknowledged (``direction``)."""
        if direction not in ("export", "import", "ack"):
            raise RegisterError(f"未知的包操作 {direction!r} / unknown package step")
        self._record(f"package.{direction}", by, package_id, {"peer": peer, **detail})

    def record_drill(self, drill_id: str, *, by: str, summary: Mapping[str, Any]) -> None:
        self._record("drill.run", by, drill_id, summary)

    # --- reading --------------------------------------------------------------------------

    def _state(self) -> tuple[dict[str, Outage], dict[str, EmergencyPayment], list[dict[str, Any]]]:
        outages: dict[str, Outage] = {}
        payments: dict[str, EmergencyPayment] = {}
        events: list[dict[str, Any]] = []
        for entry in self._log.entries():
            data = json.loads(entry.reason) if entry.reason else {}
            op, alias = entry.operation, entry.alias
            if op == "outage.declare":
                outages[alias] = Outage(
                    alias, data["scope"], entry.time, entry.actor, data["approval_ref"], data["notes"]
                )
            elif op == "outage.end" and alias in outages:
                outages[alias] = replace(outages[alias], ended=entry.time, ended_by=entry.actor)
            elif op == "payment.record":
                payments[alias] = _payment(alias, data, entry.actor)
            elif op == "payment.backfill" and alias in payments:
                payments[alias] = replace(
                    payments[alias],
                    backfill_vt_code=data["vt_code"],
                    backfill_voucher_no=data["voucher_no"],
                    backfill_id=data["id"],
                    backfilled_by=entry.actor,
                    backfilled_at=entry.time,
                )
            events.append({"time": entry.time, "actor": entry.actor, "operation": op, "id": alias, **data})
        return outages, payments, events

    def outage(self, outage_id: str) -> Outage:
        found = self._state()[0].get(outage_id)
        if found is None:
            raise RegisterError(f"没有故障记录 {outage_id} / no outage {outage_id}")
        return found

    def outages(self) -> list[Outage]:
        return list(self._state()[0].values())

    def payment(self, payment_id: str) -> EmergencyPayment:
        found = self._state()[1].get(payment_id)
        if found is None:
            raise RegisterError(f"没有应急支付记录 {payment_id} / no emergency payment {payment_id}")
        return found

    def payments(self, *, outage_id: str | None = None) -> list[EmergencyPayment]:
        return [p for p in self._state()[1].values() if outage_id is None or p.outage_id == outage_id]

    def payment_for_voucher(
        self, voucher: Voucher, *, marker_field: str = "Hold2"
    ) -> EmergencyPayment | None:
        """The paper payment a back-filled voucher stands for (by its marker, then by its link)."""
        mark = voucher.get(marker_field) or ""
        for p in self.payments():
            if (p.backfill_voucher_no == voucher.voucher_no and p.backfill_vt_code == voucher.vt_code) or (
                mark == BACKFILL_MARK + p.paper_serial
            ):
                return p
        return None

    def events(self) -> list[dict[str, Any]]:
        return self._state()[2]


def _payment(payment_id: str, data: Mapping[str, Any], actor: str) -> EmergencyPayment:
    return EmergencyPayment(
        payment_id,
        data["outage_id"],
        data["paper_serial"],
        data["vt_code"],
        data["amount"],
        data["payer_acct_no"],
        data["payee_acct_name"],
        data["payee_acct_no"],
        tuple(data["hand_signers"]),
        tuple(data["seal_refs"]),
        data["approval_ref"],
        data["bank_txn_no"],
        data["paid_on"],
        actor,
    )


def backfill_voucher(
    payment: EmergencyPayment,
    fields: Mapping[str, FieldValue],
    *,
    marker_field: str = "Hold2",
    details: Sequence[Mapping[str, FieldValue]] | None = None,
) -> Voucher:
    """The electronic voucher for a paper payment (补录): ``fields`` (identifiers, codes ...)
    plus the payment's amount, accounts and the marker; one detail mirroring it unless given.

    ``VouDate`` is the business date (the paper payment's day); the signing time will be the
    time of signing, so business time and signing time stay apart. The bank transaction number
    stays in the register: X-fields are the receiver's to fill (spec.md §4.1).
    """
    header: dict[str, FieldValue] = dict(fields)
    header.update(
        {
            "VouDate": date.fromisoformat(payment.paid_on),
            "PayAmt": Decimal(payment.amount),
            "PayAcctNo": payment.payer_acct_no,
            "PayeeAcctName": payment.payee_acct_name,
            "PayeeAcctNo": payment.payee_acct_no,
            marker_field: BACKFILL_MARK + payment.paper_serial,
        }
    )
    mirror: dict[str, FieldValue] = {
        "PayeeAcctName": payment.payee_acct_name,
        "PayeeAcctNo": payment.payee_acct_no,
        "PayAmt": Decimal(payment.amount),
    }
    rows: list[Mapping[str, FieldValue]] = list(details) if details is not None else [mirror]
    return Voucher.build(payment.vt_code, header, rows)
