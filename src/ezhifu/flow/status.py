"""凭证库 status codes and the voucher life cycle per party.

The status codes −1 … 14 are those returned by the 电子凭证库 operation
``batchQueryAllVoucherStatus`` (spec.md §8.1, from S4 ``VoucherUtil.getVoucherReturnStatus`` and
S12): codes 0–5 and 12–13 describe a *sent voucher* (发送单) as seen by its sender, 6–11 and 14 the
*receipt* (回单) as seen by the party that sends the receipt, −1 "no such voucher".

The codes only say what happened to something *this* library sent.  A library also needs to
know what it did with what it *received* (read, signed in, refused, returned), which the code
table does not express; so the life cycle is kept as a richer :class:`State` per record, and
:func:`status_of` projects it onto the official code.  A record is one voucher in one party's
library, identified by :class:`RecordKey`: its direction (``out`` = this party is the sender,
``in`` = this party received it), its ``VoucherFlag`` (``"0"`` 发送单, ``"1"`` 回单) and the four
envelope identifiers.

Transitions (spec.md §5.6 and §8.3; [I] where the spec is silent, noted inline):

==========================  ===========================================================
outgoing (发送单 or 回单)      DRAFT →send→ SENT →delivered→ DELIVERED →signed_in→ SIGNED_IN
                             SENT/DELIVERED →receive_failed→ DELIVERY_FAILED →delivered→ DELIVERED
                             DELIVERED →sign_in_failed→ SIGN_IN_FAILED
                             SIGNED_IN →returned→ RETURNED (S12: 签收成功不是终止状态)
                             SIGNED_IN →receipted→ RECEIPTED (发送单 only: 已收到对方回单)
                             DRAFT/DELIVERY_FAILED/SIGN_IN_FAILED/RETURNED →discard→ DISCARDED
                             DELIVERY_FAILED →send→ SENT (re-transmission of the same text)
                             DISCARDED →resend→ SENT (a new revision, S4 discard-then-resend)
incoming (发送单 or 回单)      RECEIVED →sign_in→ SIGNED_IN | →sign_in_fail→ SIGN_IN_FAILED
                             SIGNED_IN →return→ RETURNED
                             SIGNED_IN →receipt→ RECEIPTED (发送单 only: our 回单 was sent)
                             SIGN_IN_FAILED/RETURNED →discarded→ DISCARDED (sender discarded)
                             DISCARDED →received→ RECEIVED (the re-sent revision arrives)
==========================  ===========================================================

Any other change raises :class:`~ezhifu.errors.IllegalTransition`, naming the record, the
states and the action.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.errors import IllegalTransition

__all__ = [
    "RECEIPT_STATUS",
    "SENT_STATUS",
    "STATUS_MEANINGS",
    "Action",
    "Direction",
    "HistoryEntry",
    "OutboxItem",
    "Party",
    "Record",
    "RecordKey",
    "Rejection",
    "State",
    "StatusCode",
    "body_key",
    "describe",
    "held_body",
    "new_record",
    "one_body_envelope",
    "path_to",
    "status_of",
    "transition",
    "utc_now",
]

Direction = Literal["out", "in"]


class StatusCode(enum.IntEnum):
    """The 凭证库 status codes of spec.md §8.1 (``batchQueryAllVoucherStatus``)."""

    NOT_FOUND = -1
    SENT_NOT_RECEIVED = 0
    SENT_RECEIVED = 1
    SENT_RECEIVE_FAILED = 2
    SENT_SIGNED_IN = 3
    SENT_SIGN_IN_FAILED = 4
    SENT_RETURNED = 5
    RECEIPT_NOT_RECEIVED = 6
    RECEIPT_RECEIVED = 7
    RECEIPT_RECEIVE_FAILED = 8
    RECEIPT_SIGNED_IN = 9
    RECEIPT_SIGN_IN_FAILED = 10
    RECEIPT_RETURNED = 11
    SENT_RECEIPT_RECEIVED = 12
    SENT_NOT_SENT = 13
    RECEIPT_NOT_SENT = 14

    @property
    def meaning(self) -> str:
        """The Chinese meaning as listed in spec.md §8.1."""
        return STATUS_MEANINGS[int(self)]


#: spec.md §8.1, verbatim meanings (S4 ``getVoucherReturnStatus``).
STATUS_MEANINGS: Mapping[int, str] = {
    -1: "未找到对应凭证",
    0: "发送单状态：对方未接收",
    1: "发送单状态：对方接收成功",
    2: "发送单状态：对方接收失败",
    3: "发送单状态：对方签收成功",
    4: "发送单状态：对方签收失败",
    5: "发送单状态：对方已退回",
    6: "回单状态：对方未接收",
    7: "回单状态：对方接收成功",
    8: "回单状态：对方接收失败",
    9: "回单状态：对方签收成功",
    10: "回单状态：对方签收失败",
    11: "回单状态：对方已退回",
    12: "发送单状态：已收到对方回单",
    13: "发送单状态：本方未发送",
    14: "回单状态：本方未发送",
}


class State(enum.StrEnum):
    """The life-cycle state of one record in one party's library."""

    DRAFT = "draft"
    SENT = "sent"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    SIGNED_IN = "signed_in"
    SIGN_IN_FAILED = "sign_in_failed"
    RETURNED = "returned"
    RECEIPTED = "receipted"
    DISCARDED = "discarded"
    RECEIVED = "received"


class Action(enum.StrEnum):
    """What moves a record from one state to another."""

    # outgoing: our own acts
    SEND = "send"
    DISCARD = "discard"
    RESEND = "resend"
    # outgoing: what the peer tells us
    DELIVERED = "delivered"
    RECEIVE_FAILED = "receive_failed"
    SIGNED_IN = "signed_in"
    SIGN_IN_FAILED = "sign_in_failed"
    RETURNED = "returned"
    RECEIPTED = "receipted"
    # incoming: our own acts
    RECEIVE = "receive"
    SIGN_IN = "sign_in"
    SIGN_IN_FAIL = "sign_in_fail"
    RETURN = "return"
    RECEIPT = "receipt"
    # incoming: what the sender tells us
    DISCARDED = "discarded"


S = State
A = Action

_OUT: dict[tuple[State, Action], State] = {
    (S.DRAFT, A.SEND): S.SENT,
    (S.SENT, A.DELIVERED): S.DELIVERED,
    (S.SENT, A.RECEIVE_FAILED): S.DELIVERY_FAILED,
    (S.DELIVERED, A.RECEIVE_FAILED): S.DELIVERY_FAILED,
    (S.DELIVERED, A.SIGNED_IN): S.SIGNED_IN,
    (S.DELIVERED, A.SIGN_IN_FAILED): S.SIGN_IN_FAILED,
    (S.SIGNED_IN, A.RETURNED): S.RETURNED,
    (S.SIGNED_IN, A.RECEIPTED): S.RECEIPTED,
    (S.DRAFT, A.DISCARD): S.DISCARDED,
    (S.DELIVERY_FAILED, A.DISCARD): S.DISCARDED,
    (S.SIGN_IN_FAILED, A.DISCARD): S.DISCARDED,
    (S.RETURNED, A.DISCARD): S.DISCARDED,
    (S.DELIVERY_FAILED, A.SEND): S.SENT,
    # A copy that did reach the peer after another (damaged) copy was refused.
    (S.DELIVERY_FAILED, A.DELIVERED): S.DELIVERED,
    (S.DISCARDED, A.RESEND): S.SENT,
}

_IN: dict[tuple[State, Action], State] = {
    (S.RECEIVED, A.SIGN_IN): S.SIGNED_IN,
    (S.RECEIVED, A.SIGN_IN_FAIL): S.SIGN_IN_FAILED,
    (S.SIGNED_IN, A.RETURN): S.RETURNED,
    (S.SIGNED_IN, A.RECEIPT): S.RECEIPTED,
    (S.SIGN_IN_FAILED, A.DISCARDED): S.DISCARDED,
    (S.RETURNED, A.DISCARDED): S.DISCARDED,
    (S.DISCARDED, A.RECEIVE): S.RECEIVED,
}

#: The order in which a peer's reports about an outgoing record can arrive.  Reports travel
#: as separate messages and may overtake each other (at-least-once delivery, no ordering
#: guarantee); a report that is *behind* the current state is stale and ignored.
_OUT_RANK: Mapping[State, int] = {
    S.DRAFT: 0,
    S.SENT: 1,
    S.DELIVERED: 2,
    S.DELIVERY_FAILED: 3,
    S.SIGN_IN_FAILED: 3,
    S.SIGNED_IN: 3,
    S.RETURNED: 4,
    S.RECEIPTED: 4,
    S.DISCARDED: 5,
}


@dataclass(frozen=True, slots=True, order=True)
class RecordKey:
    """Identity of one record in a party's library.

    ``direction`` is ``"out"`` when this party sent the voucher and ``"in"`` when it received
    it; ``voucher_flag`` is ``"0"`` for a 发送单 and ``"1"`` for a 回单 (spec.md §2.1).
    """

    direction: Direction
    voucher_flag: str
    adm_div_code: str
    st_year: str
    vt_code: str
    voucher_no: str

    def __str__(self) -> str:
        kind = "回单" if self.voucher_flag == "1" else "发送单"
        return (
            f"{self.direction} {kind} {self.vt_code} {self.voucher_no} ({self.adm_div_code}/{self.st_year})"
        )


def transition(key: RecordKey, current: State, action: Action) -> State:
    """The state after ``action`` on a record in ``current``, or :class:`IllegalTransition`."""
    table = _OUT if key.direction == "out" else _IN
    target = table.get((current, action))
    # Only a 发送单 is answered with a 回单; a 回单 is never receipted (spec.md §5.6 step 3).
    if target is S.RECEIPTED and key.voucher_flag != "0":
        target = None
    if target is None:
        allowed = sorted(a.value for (s, a) in table if s is current)
        intended = next((dst for (_, a), dst in table.items() if a is action), None)
        towards = f" to {intended.value!r}" if intended is not None else ""
        raise IllegalTransition(
            f"{key}: cannot go from {current.value!r}{towards} by action {action.value!r}"
            f" (allowed from {current.value!r}: {', '.join(allowed) or 'none'})"
        )
    return target


_REPORTS: Mapping[Action, State] = {
    A.DELIVERED: S.DELIVERED,
    A.RECEIVE_FAILED: S.DELIVERY_FAILED,
    A.SIGNED_IN: S.SIGNED_IN,
    A.SIGN_IN_FAILED: S.SIGN_IN_FAILED,
    A.RETURNED: S.RETURNED,
    A.RECEIPTED: S.RECEIPTED,
}


def path_to(key: RecordKey, current: State, report: Action) -> list[Action] | None:
    """The actions that bring an outgoing record to the state a peer's ``report`` implies.

    Reports travel as separate messages and may overtake each other (at-least-once delivery
    without ordering).  Returns the shortest list of peer-report actions leading from
    ``current`` to the implied state (e.g. a sign-in report overtaking the delivery report
    gives ``[DELIVERED, SIGNED_IN]``); ``[]`` when the report is a duplicate or stale (the
    record is already at or past it); ``None`` when the report contradicts the record.
    """
    target = _REPORTS.get(report)
    if key.direction != "out" or target is None:
        return None
    if target is S.RECEIPTED and key.voucher_flag != "0":
        return None
    if current is target:
        return []
    frontier: list[tuple[State, list[Action]]] = [(current, [])]
    seen = {current}
    while frontier:
        state, steps = frontier.pop(0)
        for (src, action), dst in _OUT.items():
            if src is not state or action not in _REPORTS or dst in seen:
                continue
            if dst is target:
                return [*steps, action]
            seen.add(dst)
            frontier.append((dst, [*steps, action]))
    if _OUT_RANK[current] >= _OUT_RANK[target]:
        return []
    return None


def status_of(key: RecordKey, state: State, *, receipt_state: State | None = None) -> StatusCode:
    """Project a record's state onto the 凭证库 status code (spec.md §8.1).

    * outgoing 发送单: 13 not sent, 0–5 by the peer's handling, 12 receipt received;
    * outgoing 回单: 14 not sent, 6–11 by the peer's handling;
    * incoming 发送单: the status of *our* receipt for it (``receipt_state``), 14 while none was
      sent, since the code table describes only what this party sends;
    * incoming 回单: 14 (we never answer a receipt with a receipt).

    [I] A discarded (作废) voucher has no code in §8.1; it is reported as −1 (未找到对应凭证)
    with a description saying it was discarded, because it is no longer a live voucher.
    """
    if state is S.DISCARDED:
        return StatusCode.NOT_FOUND
    if key.direction == "in":
        if key.voucher_flag == "0" and receipt_state is not None:
            return status_of(
                RecordKey("out", "1", key.adm_div_code, key.st_year, key.vt_code, key.voucher_no),
                receipt_state,
            )
        return StatusCode.RECEIPT_NOT_SENT
    table = SENT_STATUS if key.voucher_flag == "0" else RECEIPT_STATUS
    return table[state]


#: Outgoing 发送单 state → code.
SENT_STATUS: Mapping[State, StatusCode] = {
    S.DRAFT: StatusCode.SENT_NOT_SENT,
    S.SENT: StatusCode.SENT_NOT_RECEIVED,
    S.DELIVERED: StatusCode.SENT_RECEIVED,
    S.DELIVERY_FAILED: StatusCode.SENT_RECEIVE_FAILED,
    S.SIGNED_IN: StatusCode.SENT_SIGNED_IN,
    S.SIGN_IN_FAILED: StatusCode.SENT_SIGN_IN_FAILED,
    S.RETURNED: StatusCode.SENT_RETURNED,
    S.RECEIPTED: StatusCode.SENT_RECEIPT_RECEIVED,
}

#: Outgoing 回单 state → code.
RECEIPT_STATUS: Mapping[State, StatusCode] = {
    S.DRAFT: StatusCode.RECEIPT_NOT_SENT,
    S.SENT: StatusCode.RECEIPT_NOT_RECEIVED,
    S.DELIVERED: StatusCode.RECEIPT_RECEIVED,
    S.DELIVERY_FAILED: StatusCode.RECEIPT_RECEIVE_FAILED,
    S.SIGNED_IN: StatusCode.RECEIPT_SIGNED_IN,
    S.SIGN_IN_FAILED: StatusCode.RECEIPT_SIGN_IN_FAILED,
    S.RETURNED: StatusCode.RECEIPT_RETURNED,
}

_STATE_WORDS: Mapping[State, str] = {
    S.DRAFT: "本方未发送",
    S.SENT: "已发送",
    S.DELIVERED: "对方接收成功",
    S.DELIVERY_FAILED: "对方接收失败",
    S.SIGNED_IN: "已签收",
    S.SIGN_IN_FAILED: "签收失败",
    S.RETURNED: "已退回",
    S.RECEIPTED: "已回单",
    S.DISCARDED: "已作废",
    S.RECEIVED: "已接收，未签收",
}


def describe(code: int | StatusCode, state: State | None = None, reason: str | None = None) -> str:
    """A one-line description: the §8.1 meaning, the local state and any reason."""
    text = STATUS_MEANINGS.get(int(code), f"未知状态 {int(code)}")
    if state is not None:
        text += f"（本地：{_STATE_WORDS[state]}）"
    if reason:
        text += f"：{reason}"
    return text


# --- records: what a library keeps of each voucher -------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    """A party running a library: an id used on the wire, its org type (spec.md §1:
    ``011`` 财政, ``001`` 人行, a bank's 行别代码) and a display name."""

    party_id: str
    org_type: str
    name: str = ""


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string (what every timestamp column holds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Record:
    """One voucher in one party's library, with its current state.

    ``envelope`` is the ``<MOF>`` envelope holding exactly this voucher body, as sent or as
    accepted: the Base64 voucher text and the signature and seal elements are kept verbatim
    (they are what the signatures cover); only the envelope XML around them is written anew.
    ``original`` is, for a receipt, the original signed 发送单 envelope it answers (see
    docs/flow.md, "Receipts and the original signatures").  ``amount``, ``vou_date``,
    ``payee_acct_no`` and ``payee_name`` are copied out of the voucher for reconciliation and
    monitoring queries.
    """

    key: RecordKey
    state: State
    peer: str
    envelope: bytes
    revision: int = 1
    reason: str | None = None
    original: bytes | None = None
    amount: str | None = None
    vou_date: str | None = None
    payee_acct_no: str | None = None
    payee_name: str | None = None
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One state change (or a noted event that did not change the state)."""

    key: RecordKey
    seq: int
    revision: int
    action: str
    from_state: str | None
    to_state: str
    reason: str | None
    message_id: str | None
    at: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """An incoming message that was not accepted, with the reason, kept for 差错处理.

    ``raw`` is the message exactly as received so that an operator can inspect or replay it.
    """

    rejection_id: str
    message_id: str | None
    sender: str | None
    kind: str | None
    reason: str
    raw: bytes
    at: str


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """Work queued while the link or the keystore is down (应急): sent by a later flush.

    ``kind`` is ``"message"`` (``data`` is a serialised transport message ready to go) or
    ``"send"`` (``data`` names a draft record still to be signed and sent).
    """

    item_id: str
    kind: Literal["message", "send"]
    recipient: str
    data: bytes
    created_at: str
    attempts: int = 0
    last_error: str | None = None


def body_key(direction: str, body: VoucherBody) -> RecordKey:
    """The key of ``body`` in this library, ``"in"`` or ``"out"``."""
    return RecordKey(
        "in" if direction == "in" else "out",
        body.voucher_flag,
        body.adm_div_code,
        body.st_year,
        body.vt_code,
        body.voucher_no,
    )


def one_body_envelope(body: VoucherBody) -> bytes:
    """The ``<MOF>`` envelope holding exactly ``body``: what a :class:`Record` keeps and sends."""
    return Envelope.build([body]).to_bytes()


def held_body(envelope: bytes) -> VoucherBody:
    """The voucher body of a one-body envelope (a record's, or an original it answers)."""
    return Envelope.from_bytes(envelope).bodies[0]


def new_record(key: RecordKey, state: State, peer: str, body: VoucherBody) -> Record:
    """A record of ``body`` in ``state``, with the fields reconciliation and monitoring query."""
    voucher = body.voucher
    amount = voucher.get("PayAmt") or voucher.get("AllAmt") or voucher.get("Amt") or None
    return Record(
        key=key,
        state=state,
        peer=peer,
        envelope=one_body_envelope(body),
        amount=amount,
        vou_date=voucher.get("VouDate") or None,
        payee_acct_no=voucher.get("PayeeAcctNo") or None,
        payee_name=voucher.get("PayeeAcctName") or None,
    )
