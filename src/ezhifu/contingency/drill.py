"""Drill mode (应急演练): run the contingency ladder between two libraries and write a report.

:func:`run_drill` takes a sending and a receiving :class:`~ezhifu.flow.library.VoucherLibrary`
(local ones, e.g. the test network or ``ezhifu contingency drill``'s demo parties), a way to cut
and restore the link, a :class:`~ezhifu.contingency.register.ContingencyRegister` and a few valid
vouchers, and walks the ladder of docs/contingency.md:

1. baseline: one voucher sent and delivered normally;
2. outage declared (network) and the link cut; vouchers sent meanwhile wait in the outbox;
3. status re-sync during the outage: the waiting vouchers are ``lost`` to the counterparty;
4. offline package exported by the sender, imported by the receiver (accepted), imported again
   (every message a duplicate), and the receiver's signed acknowledgement checked by the sender;
5. an emergency (paper) payment recorded, its electronic voucher back-filled and linked both ways;
6. recovery: link restored, outboxes flushed, the back-filled voucher sent, outage ended, status
   re-synced: nothing lost, nothing received twice.

Each step is checked; the :class:`DrillReport` (JSON and Markdown) says what passed, with figures.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ezhifu._fileio import atomic_write
from ezhifu.contingency.offline import export_offline, import_offline, read_acknowledgement
from ezhifu.contingency.register import ContingencyRegister, backfill_voucher
from ezhifu.contingency.resync import resync
from ezhifu.document.models import Voucher
from ezhifu.errors import ContingencyError
from ezhifu.flow.library import VoucherLibrary
from ezhifu.flow.store import utc_now
from ezhifu.results import record_dict

__all__ = ["MAX_PUMP_ROUNDS", "DrillReport", "DrillStep", "run_drill"]

#: Rounds of polling both libraries until quiet.
MAX_PUMP_ROUNDS = 20


@dataclass(frozen=True, slots=True)
class DrillStep:
    name: str
    ok: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DrillReport:
    drill_id: str
    started: str
    finished: str
    sender: str
    receiver: str
    steps: tuple[DrillStep, ...]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self, ok=self.ok)

    def to_markdown(self) -> str:
        lines = [
            f"# 应急演练报告 / contingency drill report {self.drill_id}",
            "",
            f"- 发送方 / sender: {self.sender}; 接收方 / receiver: {self.receiver}",
            f"- 开始 / started: {self.started}; 结束 / finished: {self.finished}",
            f"- 结论 / result: {'通过 / PASSED' if self.ok else '未通过 / FAILED'}",
            "",
            "| # | step | result | detail |",
            "|---|---|---|---|",
        ]
        for i, s in enumerate(self.steps, 1):
            lines.append(f"| {i} | {s.name} | {'ok' if s.ok else 'FAILED'} | {s.detail} |")
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path) -> tuple[Path, Path]:
        """Write ``drill-<id>.json`` and ``drill-<id>.md`` into ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        json_path, md_path = out / f"drill-{self.drill_id}.json", out / f"drill-{self.drill_id}.md"
        atomic_write(json_path, json.dumps(self.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"))
        atomic_write(md_path, self.to_markdown().encode("utf-8"))
        return json_path, md_path


def _pump(*libraries: VoucherLibrary) -> None:
    for _ in range(MAX_PUMP_ROUNDS):
        flushed = sum(lib.flush_outbox() for lib in libraries)
        received = sum(len(lib.poll()) for lib in libraries)
        if not flushed and not received:
            return


def _send(library: VoucherLibrary, voucher: Voucher, to: str) -> None:
    library.save(voucher, to=to)
    library.send(
        voucher.vt_code, [voucher.voucher_no], adm_div_code=voucher.adm_div_code, st_year=voucher.st_year
    )


def _code(library: VoucherLibrary, voucher: Voucher) -> int:
    status = library.batch_status(
        voucher.vt_code, [voucher.voucher_no], adm_div_code=voucher.adm_div_code, st_year=voucher.st_year
    )
    return status[voucher.voucher_no][0]


class _Drill:
    def __init__(
        self, sender: VoucherLibrary, receiver: VoucherLibrary, register: ContingencyRegister, actor: str
    ):
        self.sender, self.receiver, self.register, self.actor = sender, receiver, register, actor
        self.steps: list[DrillStep] = []

    def step(self, name: str, ok: bool, detail: str, **data: Any) -> bool:
        self.steps.append(DrillStep(name, ok, detail, data))
        return ok

    def offline(self, waiting: Sequence[Voucher]) -> None:
        sender, receiver = self.sender, self.receiver
        exported = export_offline(sender, receiver.party.party_id)
        self.register.record_package(
            "export",
            exported.package_id,
            peer=receiver.party.party_id,
            by=self.actor,
            detail={"messages": len(exported.message_ids), "sha256": exported.sha256},
        )
        self.step(
            "offline_export",
            len(exported.message_ids) >= len(waiting),
            f"{len(exported.message_ids)} message(s) packaged, outbox emptied",
            package_sha256=exported.sha256,
        )
        first = import_offline(receiver, exported.package)
        delivered = all(_code(sender, v) in (0, 1) for v in waiting)
        self.register.record_package(
            "import",
            exported.package_id,
            peer=sender.party.party_id,
            by=self.actor,
            detail=first.acknowledgement.counts(),
        )
        self.step(
            "offline_import",
            len(first.accepted) == len(exported.message_ids) and delivered,
            f"accepted {len(first.accepted)}, rejected {len(first.rejected)}",
            **first.acknowledgement.counts(),
        )
        second = import_offline(receiver, exported.package)
        self.step(
            "duplicate_refused",
            len(second.duplicates) == len(exported.message_ids),
            f"second import: {len(second.duplicates)} duplicate(s), nothing changed",
            **second.acknowledgement.counts(),
        )
        ack = read_acknowledgement(sender, first.ack_bytes)
        self.register.record_package(
            "ack", exported.package_id, peer=receiver.party.party_id, by=self.actor, detail=ack.counts()
        )
        self.step(
            "acknowledgement",
            ack.package_sha256 == exported.sha256,
            "receiver's signed acknowledgement verified by the sender",
        )

    def emergency(self, outage_id: str, template: Voucher, to: str) -> Voucher:
        payee = template.get("PayeeAcctNo") or "6222000000000000"
        payment = self.register.record_emergency_payment(
            outage_id,
            paper_serial=f"PAPER-{uuid.uuid4().hex[:8]}",
            vt_code=template.vt_code,
            amount=template.pay_amt or Decimal(0),
            payer_acct_no=template.get("PayAcctNo") or "",
            payee_acct_name=template.get("PayeeAcctName") or "",
            payee_acct_no=payee,
            hand_signers=("经办 张三", "复核 李四"),
            seal_refs=("财务专用章(实物)",),
            approval_ref="应急审批-001",
            bank_txn_no=f"TXN{uuid.uuid4().hex[:10]}",
            paid_on=template.vou_date or date.today(),
            recorded_by=self.actor,
        )
        fields = dict(template.fields)
        fields["VoucherNo"] = template.voucher_no[:-4] + "BF01" if len(template.voucher_no) > 4 else "BF01"
        fields["Id"] = uuid.uuid4().hex[:32]
        rows = [dict(d.fields) for d in template.details]
        voucher = backfill_voucher(payment, fields, details=rows or None)
        linked = self.register.link_backfill(payment.payment_id, voucher, by=self.actor)
        back = self.register.payment_for_voucher(voucher)
        self.step(
            "emergency_payment",
            back is not None
            and back.payment_id == payment.payment_id
            and linked.backfill_voucher_no == voucher.voucher_no,
            f"paper {payment.paper_serial} ↔ voucher {voucher.vt_code}/{voucher.voucher_no}",
        )
        return voucher


def run_drill(
    sender: VoucherLibrary,
    receiver: VoucherLibrary,
    *,
    set_link: Callable[[bool], None],
    register: ContingencyRegister,
    vouchers: Sequence[Voucher],
    actor: str = "drill",
) -> DrillReport:
    """Run the ladder (module documentation); ``vouchers``: at least 3 valid, unsent vouchers."""
    if len(vouchers) < 3:
        raise ContingencyError("演练至少需要 3 张凭证 / a drill needs at least 3 vouchers")
    drill_id, started = uuid.uuid4().hex[:12], utc_now()
    to = receiver.party.party_id
    d = _Drill(sender, receiver, register, actor)
    baseline, waiting = vouchers[0], list(vouchers[1:-1])
    _send(sender, baseline, to)
    _pump(sender, receiver)
    d.step("baseline", _code(sender, baseline) == 1, "one voucher sent and delivered (status 1)")
    set_link(False)
    outage = register.declare_outage(
        "network", declared_by=actor, approval_ref="演练", notes=f"drill {drill_id}"
    )
    for v in waiting:
        _send(sender, v, to)
    queued = len(sender.pending_outbox())
    d.step(
        "outage_queued",
        queued >= len(waiting) and all(_code(sender, v) == 0 for v in waiting),
        f"link down: {queued} message(s) wait in the outbox",
        outage_id=outage.outage_id,
    )
    during = resync(sender, remote=receiver)
    lost = {i.key.voucher_no for i in during.by_category("lost")}
    d.step(
        "resync_during_outage",
        lost == {v.voucher_no for v in waiting},
        f"{len(lost)} voucher(s) classified lost",
        **during.counts(),
    )
    d.offline(waiting)
    backfilled = d.emergency(outage.outage_id, vouchers[-1], to)
    set_link(True)
    _send(sender, backfilled, to)
    _pump(sender, receiver)
    register.end_outage(outage.outage_id, ended_by=actor, notes="link restored")
    after = resync(sender, remote=receiver)
    every = [baseline, *waiting, backfilled]
    in_receiver = [r for r in receiver.records(direction="in", voucher_flag="0")]
    counted = {r.key.voucher_no for r in in_receiver}
    d.step(
        "recovery",
        not after.by_category("lost") and all(_code(sender, v) == 1 for v in every),
        f"link restored: {len(every)} voucher(s) delivered, none lost",
        **after.counts(),
    )
    d.step(
        "no_duplicates",
        len(in_receiver) == len(counted)
        and {v.voucher_no for v in every} <= counted
        and not receiver.rejections(),
        f"receiver holds {len(in_receiver)} voucher(s), each once; {len(receiver.rejections())} rejection(s)",
    )
    report = DrillReport(drill_id, started, utc_now(), sender.party.party_id, to, tuple(d.steps))
    register.record_drill(drill_id, by=actor, summary={"ok": report.ok, "steps": len(report.steps)})
    return report
