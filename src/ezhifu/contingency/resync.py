"""Status re-sync after an outage: ``batchQueryAllVoucherStatus`` over what is pending, classified.

After the link, the library or the business system was down, nobody knows for sure where the
vouchers in flight stand. :func:`resync` first lets the library catch up (flush the outbox,
process what arrived), then asks a :class:`StatusSource` — the library itself, or the 凭证库
service of the counterparty (spec.md §6 ``batchQueryAllVoucherStatus``, at most
:data:`BATCH_SIZE` numbers per call) — for every 发送单 still pending, and classifies each:

==================  ============================================  ============================
category            status (spec.md §8.1)                          what to do
==================  ============================================  ============================
``not_sent``        13 本方未发送                                    send (or wait for the key)
``in_flight``       0 对方未接收                                     wait; retransmit if lost
``lost``            0 here, −1 at the counterparty                   retransmit (offline package)
``delivered``       1 对方接收成功                                   wait for 签收
``signed_in``       3 对方签收成功                                   wait for the 回单
``rejected``        2 接收失败 / 4 签收失败                          correct, discard, resend
``returned``        5 对方已退回                                     discard (作废), resend
``done``            12 已收到对方回单                                nothing
==================  ============================================  ============================

A voucher whose history shows it was returned after it had been signed in (S12: 签收成功不是终止
状态) is flagged ``changed_after_signed_in``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ezhifu.flow.library import VoucherLibrary
from ezhifu.flow.status import RecordKey, State

__all__ = [
    "BATCH_SIZE",
    "CATEGORIES",
    "MAX_CATCH_UP_ROUNDS",
    "ResyncItem",
    "ResyncReport",
    "StatusSource",
    "resync",
]

#: Voucher numbers per ``batchQueryAllVoucherStatus`` call.
BATCH_SIZE = 100
#: At most this many rounds of :meth:`~ezhifu.flow.library.VoucherLibrary.poll` when catching up.
MAX_CATCH_UP_ROUNDS = 50
_PENDING = (
    State.DRAFT,
    State.SENT,
    State.DELIVERED,
    State.DELIVERY_FAILED,
    State.SIGNED_IN,
    State.SIGN_IN_FAILED,
    State.RETURNED,
)
CATEGORIES: dict[int, tuple[str, str]] = {
    13: ("not_sent", "发送 / send (or wait for the signing key)"),
    0: ("in_flight", "等待; 若丢失则重发 / wait; retransmit if lost"),
    1: ("delivered", "等待签收 / wait for sign-in"),
    3: ("signed_in", "等待回单 / wait for the receipt"),
    2: ("rejected", "更正后作废重发 / correct, discard and resend"),
    4: ("rejected", "更正后作废重发 / correct, discard and resend"),
    5: ("returned", "作废后重发 / discard and resend"),
    12: ("done", "无 / nothing"),
}
_LOST = ("lost", "重发或离线交换 / retransmit, or carry an offline package")


class StatusSource(Protocol):
    """Anything answering ``batchQueryAllVoucherStatus`` (a library, a 凭证库 service client)."""

    def batch_status(
        self, vt_code: str, voucher_nos: Iterable[str], *, adm_div_code: str, st_year: str
    ) -> dict[str, tuple[int, str]]: ...


@dataclass(frozen=True, slots=True)
class ResyncItem:
    key: RecordKey
    code: int
    description: str
    remote_code: int | None
    category: str
    action: str
    changed_after_signed_in: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "vt_code": self.key.vt_code,
            "voucher_no": self.key.voucher_no,
            "adm_div_code": self.key.adm_div_code,
            "st_year": self.key.st_year,
            "code": self.code,
            "description": self.description,
            "remote_code": self.remote_code,
            "category": self.category,
            "action": self.action,
            "changed_after_signed_in": self.changed_after_signed_in,
        }


@dataclass(frozen=True, slots=True)
class ResyncReport:
    items: tuple[ResyncItem, ...]
    flushed: int

    def counts(self) -> dict[str, int]:
        return dict(Counter(i.category for i in self.items))

    def by_category(self, category: str) -> list[ResyncItem]:
        return [i for i in self.items if i.category == category]

    def to_dict(self) -> dict[str, Any]:
        return {"flushed": self.flushed, "counts": self.counts(), "items": [i.to_dict() for i in self.items]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)


def _returned_after_sign_in(library: VoucherLibrary, key: RecordKey) -> bool:
    seen_signed = False
    for entry in library.history(key):
        if entry.to_state == State.SIGNED_IN:
            seen_signed = True
        elif entry.to_state == State.RETURNED and seen_signed:
            return True
    return False


def _batches(keys: Sequence[RecordKey]) -> dict[tuple[str, str, str], list[RecordKey]]:
    groups: dict[tuple[str, str, str], list[RecordKey]] = {}
    for key in keys:
        groups.setdefault((key.vt_code, key.adm_div_code, key.st_year), []).append(key)
    return groups


def resync(
    library: VoucherLibrary, *, remote: StatusSource | None = None, catch_up: bool = True
) -> ResyncReport:
    """Classify every pending 发送单 of ``library`` (see the module documentation).

    With ``catch_up`` the outbox is flushed and waiting deliveries processed first. ``remote``
    is asked too when given: a voucher it does not know (−1) while it is in flight here is ``lost``.
    """
    flushed = 0
    if catch_up:
        flushed = library.flush_outbox()
        for _ in range(MAX_CATCH_UP_ROUNDS):
            if not library.poll():
                break
    pending = [r.key for r in library.records(direction="out", voucher_flag="0", states=list(_PENDING))]
    items: list[ResyncItem] = []
    for (vt, adm, year), keys in sorted(_batches(pending).items()):
        for start in range(0, len(keys), BATCH_SIZE):
            chunk = keys[start : start + BATCH_SIZE]
            nos = [k.voucher_no for k in chunk]
            local = library.batch_status(vt, nos, adm_div_code=adm, st_year=year)
            far = remote.batch_status(vt, nos, adm_div_code=adm, st_year=year) if remote else {}
            for key in chunk:
                code, text = local[key.voucher_no]
                remote_code = far[key.voucher_no][0] if key.voucher_no in far else None
                category, action = CATEGORIES.get(code, ("unknown", "人工核查 / check by hand"))
                if code == 0 and remote_code == -1:
                    category, action = _LOST
                items.append(
                    ResyncItem(
                        key, code, text, remote_code, category, action, _returned_after_sign_in(library, key)
                    )
                )
    return ResyncReport(tuple(items), flushed)
