"""The 凭证库 status table (spec.md §8.1) and the life-cycle state machine."""

from __future__ import annotations

import itertools

import pytest

from ezhifu.errors import FlowError, IllegalTransition
from ezhifu.flow.status import (
    STATUS_MEANINGS,
    Action,
    RecordKey,
    State,
    StatusCode,
    describe,
    path_to,
    status_of,
    transition,
)

OUT0 = RecordKey("out", "0", "420000", "2024", "5201", "V1")
OUT1 = RecordKey("out", "1", "420000", "2024", "5201", "V1")
IN0 = RecordKey("in", "0", "420000", "2024", "5201", "V1")
IN1 = RecordKey("in", "1", "420000", "2024", "5201", "V1")


def test_status_table_is_complete_and_matches_spec() -> None:
    assert sorted(STATUS_MEANINGS) == list(range(-1, 15))
    assert [c.value for c in StatusCode] == list(range(-1, 15))
    # spot checks against spec.md §8.1 wording
    assert STATUS_MEANINGS[-1] == "未找到对应凭证"
    assert "对方签收失败" in StatusCode.SENT_SIGN_IN_FAILED.meaning
    assert int(StatusCode.SENT_SIGN_IN_FAILED) == 4
    assert STATUS_MEANINGS[11].startswith("回单状态") and "已退回" in STATUS_MEANINGS[11]
    assert STATUS_MEANINGS[12] == "发送单状态：已收到对方回单"
    assert STATUS_MEANINGS[13] == "发送单状态：本方未发送"
    assert STATUS_MEANINGS[14] == "回单状态：本方未发送"
    for code in range(0, 6):  # 发送单 and 回单 share the same six meanings, offset by 6
        assert STATUS_MEANINGS[code].split("：")[1] == STATUS_MEANINGS[code + 6].split("：")[1]


def test_sender_life_cycle_codes() -> None:
    state = State.DRAFT
    codes = [status_of(OUT0, state)]
    for action in (Action.SEND, Action.DELIVERED, Action.SIGNED_IN, Action.RECEIPTED):
        state = transition(OUT0, state, action)
        codes.append(status_of(OUT0, state))
    assert codes == [13, 0, 1, 3, 12]


def test_receipt_life_cycle_codes() -> None:
    state = State.DRAFT
    codes = [status_of(OUT1, state)]
    for action in (Action.SEND, Action.DELIVERED, Action.SIGNED_IN, Action.RETURNED):
        state = transition(OUT1, state, action)
        codes.append(status_of(OUT1, state))
    assert codes == [14, 6, 7, 9, 11]


def test_failure_codes() -> None:
    assert status_of(OUT0, transition(OUT0, State.SENT, Action.RECEIVE_FAILED)) == 2
    assert status_of(OUT0, transition(OUT0, State.DELIVERED, Action.SIGN_IN_FAILED)) == 4
    assert status_of(OUT1, State.DELIVERY_FAILED) == 8
    assert status_of(OUT1, State.SIGN_IN_FAILED) == 10


def test_incoming_reports_status_of_our_receipt() -> None:
    assert status_of(IN0, State.SIGNED_IN) == 14
    assert status_of(IN0, State.RECEIPTED, receipt_state=State.SENT) == 6
    assert status_of(IN0, State.RECEIPTED, receipt_state=State.SIGNED_IN) == 9
    assert status_of(IN1, State.RECEIVED) == 14


def test_discarded_reports_not_found() -> None:
    discarded = transition(OUT0, State.RETURNED, Action.DISCARD)
    assert discarded is State.DISCARDED
    assert status_of(OUT0, discarded) == StatusCode.NOT_FOUND
    assert "已作废" in describe(StatusCode.NOT_FOUND, discarded)


def test_discard_and_resend() -> None:
    state = transition(OUT0, State.DRAFT, Action.SEND)
    state = transition(OUT0, state, Action.DELIVERED)
    state = transition(OUT0, state, Action.SIGNED_IN)
    state = transition(OUT0, state, Action.RETURNED)
    state = transition(OUT0, state, Action.DISCARD)
    assert transition(OUT0, state, Action.RESEND) is State.SENT
    # the receiving side mirrors it
    in_state = transition(IN0, State.RECEIVED, Action.SIGN_IN)
    in_state = transition(IN0, in_state, Action.RETURN)
    in_state = transition(IN0, in_state, Action.DISCARDED)
    assert transition(IN0, in_state, Action.RECEIVE) is State.RECEIVED


@pytest.mark.parametrize(
    ("key", "state", "action"),
    [
        (OUT0, State.SENT, Action.DISCARD),  # cannot discard what the peer may be processing
        (OUT0, State.SIGNED_IN, Action.DISCARD),
        (OUT0, State.RECEIPTED, Action.SEND),
        (OUT0, State.DRAFT, Action.RESEND),
        (OUT1, State.SIGNED_IN, Action.RECEIPTED),  # a receipt is never receipted
        (IN0, State.RECEIVED, Action.RETURN),  # return only after sign-in
        (IN0, State.RECEIVED, Action.RECEIPT),
        (IN0, State.SIGNED_IN, Action.SIGN_IN),
        (IN1, State.SIGNED_IN, Action.RECEIPT),
    ],
)
def test_illegal_transitions_are_refused(key: RecordKey, state: State, action: Action) -> None:
    with pytest.raises(IllegalTransition) as info:
        transition(key, state, action)
    message = str(info.value)
    assert key.voucher_no in message and f"from {state.value!r}" in message and action.value in message
    assert isinstance(info.value, FlowError)


def test_refusal_names_from_and_to() -> None:
    with pytest.raises(IllegalTransition) as info:
        transition(IN0, State.RECEIVED, Action.RETURN)
    assert str(info.value) == (
        "in 发送单 5201 V1 (420000/2024): cannot go from 'received' to 'returned' by action 'return'"
        " (allowed from 'received': sign_in, sign_in_fail)"
    )


def test_every_pair_either_transitions_or_raises() -> None:
    """The table is total: no combination slips through with a wrong type or None."""
    for key, state, action in itertools.product((OUT0, OUT1, IN0, IN1), State, Action):
        try:
            target = transition(key, state, action)
        except IllegalTransition:
            continue
        assert isinstance(target, State)


def test_reports_overtaking_each_other() -> None:
    assert path_to(OUT0, State.SENT, Action.SIGNED_IN) == [Action.DELIVERED, Action.SIGNED_IN]
    assert path_to(OUT0, State.SENT, Action.RECEIPTED) == [
        Action.DELIVERED,
        Action.SIGNED_IN,
        Action.RECEIPTED,
    ]
    assert path_to(OUT0, State.SIGNED_IN, Action.DELIVERED) == []  # late report: stale
    assert path_to(OUT0, State.DELIVERED, Action.DELIVERED) == []  # duplicate
    assert path_to(OUT0, State.DRAFT, Action.SIGNED_IN) is None  # never sent: contradiction
    assert path_to(OUT1, State.SIGNED_IN, Action.RECEIPTED) is None
    assert path_to(IN0, State.RECEIVED, Action.SIGNED_IN) is None
