"""The voucher library: the §6 operations, verification on arrival and the fault cases.

Fault cases (issue 7): duplicate delivery, out-of-order receipt, a message tampered in transit,
a voucher whose signed text was altered, a forged receipt, link and keystore failures; each
must leave no corrupted state and record the rejection with its reason.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flow_support import ADM, IDS, POSITIONS, YEAR, Material, Network, build_network

from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.models import Voucher
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import FlowError, IllegalTransition, InvalidInput, KeyStoreError
from ezhifu.flow.library import VoucherLibrary
from ezhifu.flow.status import RecordKey, State
from ezhifu.flow.store import Record, SQLiteStore
from ezhifu.flow.transport import DropFolderTransport, InMemoryTransport, Message, new_message_id


def _voucher(vt: str = "5201", seed: int = 1, payee: str | None = None) -> Voucher:
    voucher = sample_voucher(vt, details=1, seed=seed)
    assert voucher.st_year == YEAR  # sample dates lie in 2024
    return voucher if payee is None else voucher.replace(PayeeAcctNo=payee)


def _out(vt: str, no: str, flag: str = "0") -> RecordKey:
    return RecordKey("out", flag, ADM, YEAR, vt, no)


def _in(vt: str, no: str, flag: str = "0") -> RecordKey:
    return RecordKey("in", flag, ADM, YEAR, vt, no)


def _code(lib: VoucherLibrary, key: RecordKey) -> int:
    return int(lib.status(key)[0])


def _take(net: Network, party: str) -> list[bytes]:
    """Take (and acknowledge) every pending delivery for ``party`` without processing it."""
    deliveries = net.transport.receive(party)
    for delivery in deliveries:
        net.transport.ack(delivery)
    return [d.data for d in deliveries]


def _snapshot(lib: VoucherLibrary) -> list[tuple[Record, int]]:
    return [(r, len(lib.history(r.key))) for r in lib.records()]


def _send_5201(net: Network, seed: int = 1) -> str:
    voucher = _voucher(seed=seed)
    net["finance"].save(voucher, to="bank")
    net["finance"].send("5201", [voucher.voucher_no], **IDS)
    return voucher.voucher_no


def _relink(
    net: Network, data: bytes, *, payload: bytes | None = None, attachments: tuple[bytes, ...] = ()
) -> bytes:
    """Re-sign a message with its sender's link key after changing it (a sender that misbehaves)."""
    message = Message.from_bytes(data)
    changed = Message(
        new_message_id(),
        message.kind,
        message.sender,
        message.recipient,
        payload if payload is not None else message.payload,
        attachments or message.attachments,
        message.created_at,
    )
    return changed.with_signature(net.signers[message.sender].sign(changed.signed_bytes())).to_bytes()


# --- the normal life cycle --------------------------------------------------------------------


def test_voucher_and_receipt_life_cycle(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    voucher = _voucher()
    no = voucher.voucher_no
    key = fin.save(voucher, to="bank")
    assert _code(fin, key) == 13
    fin.send("5201", [no], **IDS)
    assert _code(fin, key) == 0
    net.pump()
    assert _code(fin, key) == 1
    envelope = bank.read("5201", **IDS)
    assert envelope is not None and [b.voucher_no for b in envelope.bodies] == [no]
    bank.confirm("5201", [no], **IDS)
    assert bank.read("5201", **IDS) is None  # signed in: no longer "not yet signed in"
    net.pump()
    assert _code(fin, key) == 3
    assert _code(bank, _in("5201", no)) == 14  # receipt not sent yet
    receipt_key = bank.send_receipt(
        "5201",
        no,
        **IDS,
        fields={"XPayDate": "20240506", "XPayAmt": voucher.get("PayAmt"), "XAgentBusinessNo": "B1"},
    )
    assert _code(bank, receipt_key) == 6
    net.pump()
    assert _code(fin, key) == 12
    assert _code(bank, receipt_key) == 7
    assert _code(bank, _in("5201", no)) == 7  # the received voucher reports its receipt's status
    fin.confirm("5201", [no], receipts=True, **IDS)
    net.pump()
    assert _code(bank, receipt_key) == 9
    # the receipt held by 财政: X-fields filled, Attach=SUCCESS, signed and sealed by the bank
    body = fin.body(_in("5201", no, "1"))
    assert body.voucher_flag == "1" and body.attach == "SUCCESS"
    assert body.voucher.get("XAgentBusinessNo") == "B1"
    assert [s.no for s in body.signatures] == ["yh_qm"] and [s.no for s in body.stamps] == ["yh_gz"]
    assert fin.batch_status("5201", [no, "NOPE"], **IDS) == {
        no: (12, fin.status(key)[1]),
        "NOPE": (-1, "未找到对应凭证"),
    }
    assert all(not lib.rejections() for lib in net.libs.values())
    actions = [h.action for h in fin.history(key)]
    assert actions == ["save", "send", "delivered", "signed_in", "receipted"]


def test_receipt_keeps_original_signatures_checkable(net: Network) -> None:
    """The receipt's text differs from what the sender signed; the original stays verifiable."""
    from ezhifu.verify.envelope import verify_envelope

    fin, bank = net["finance"], net["bank"]
    no = _send_5201(net)
    net.pump()
    bank.confirm("5201", [no], **IDS)
    bank.send_receipt("5201", no, **IDS, fields={"XAgentBusinessNo": "B7"})
    net.pump()
    record = fin.record(_in("5201", no, "1"))
    assert record is not None and record.original is not None
    original = Envelope.from_bytes(record.original)
    receipt = Envelope.from_bytes(record.envelope)
    assert original.bodies[0].voucher_b64 != receipt.bodies[0].voucher_b64
    assert verify_envelope(original, trust=net.trust).valid  # 财政's own signatures, on its text
    assert verify_envelope(receipt, trust=net.trust).valid  # the bank's, on the receipt's text
    # the sender's signature does not cover the receipt text (why the original is kept)
    moved = Envelope.from_bytes(record.envelope)
    moved.bodies[0].signatures = list(original.bodies[0].signatures)
    moved.bodies[0].stamps = []
    assert not verify_envelope(moved, trust=net.trust).valid


def test_clearing_receipt_copy_carries_the_original(net: Network) -> None:
    bank, pbc, fin = net["bank"], net["pbc"], net["finance"]
    voucher = _voucher("2301", seed=5)
    no = voucher.voucher_no
    bank.save(voucher, to="pbc")
    bank.send("2301", [no], **IDS)
    net.pump()
    pbc.confirm("2301", [no], **IDS)
    pbc.send_receipt(
        "2301",
        no,
        **IDS,
        fields={"XClearDate": "20240506", "XPayAmt": voucher.get("PayAmt")},
        copies=["finance"],
    )
    net.pump()
    assert _code(bank, _out("2301", no)) == 12
    copy = fin.record(_in("2301", no, "1"))
    assert copy is not None and copy.state is State.RECEIVED and copy.peer == "pbc"
    assert (
        copy.original is not None and Envelope.from_bytes(copy.original).bodies[0].signatures[0].no == "yh_qm"
    )
    # 财政 signs its copy in: the report reaches 人民银行 as a note, the bank's status is untouched
    fin.confirm("2301", [no], receipts=True, **IDS)
    net.pump()
    receipt_key = _out("2301", no, "1")
    assert _code(pbc, receipt_key) == 7
    assert any("copy recipient finance" in (h.reason or "") for h in pbc.history(receipt_key))
    assert not any(lib.rejections() for lib in net.libs.values())


def test_return_discard_and_resend(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    voucher = _voucher(seed=3, payee="0000")
    no = voucher.voucher_no
    fin.save(voucher, to="bank")
    fin.send("5201", [no], **IDS)
    net.pump()
    with pytest.raises(IllegalTransition, match="return"):
        bank.return_voucher("5201", [no], ["too early"], **IDS)  # return only after sign-in
    bank.confirm("5201", [no], **IDS)
    bank.return_voucher("5201", [no], ["收款人账号不存在"], **IDS)
    net.pump()
    code, text = fin.status(_out("5201", no))
    assert code == 5 and "收款人账号不存在" in text
    with pytest.raises(IllegalTransition):
        fin.resend(voucher.replace(PayeeAcctNo="1"))  # must discard first
    fin.discard("5201", [no], **IDS)
    net.pump()
    assert _code(fin, _out("5201", no)) == -1
    discarded = bank.record(_in("5201", no))
    assert discarded is not None and discarded.state is State.DISCARDED
    fixed = voucher.replace(PayeeAcctNo="6222020200001234567")
    fin.resend(fixed)
    net.pump()
    record = bank.record(_in("5201", no))
    assert record is not None and record.state is State.RECEIVED and record.revision == 2
    assert Envelope.from_bytes(record.envelope).bodies[0].voucher.get("PayeeAcctNo") == "6222020200001234567"
    assert [r for r, _ in fin.store.revisions(_out("5201", no))] == [1, 2]
    assert len(bank.store.revisions(_in("5201", no))) == 2
    assert _code(fin, _out("5201", no)) == 1


def test_confirm_fail_reason_is_clipped_and_reported(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    no = _send_5201(net)
    net.pump()
    bank.confirm_fail("5201", [no], ["报文不规范：" + "金额错误" * 100], **IDS)
    net.pump()
    assert _code(fin, _out("5201", no)) == 4
    record = fin.record(_out("5201", no))
    assert record is not None and record.reason is not None
    reason = record.reason
    assert reason and reason.startswith("报文不规范") and len(reason.encode("gbk")) <= 190
    fin.discard("5201", [no], **IDS)
    assert _code(fin, _out("5201", no)) == -1


def test_library_refuses_illegal_operations(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    no = _send_5201(net)
    with pytest.raises(IllegalTransition, match="discard"):
        fin.discard("5201", [no], **IDS)  # sent, not refused: cannot be discarded
    with pytest.raises(IllegalTransition):
        fin.save(_voucher(), to="bank")  # same voucher number again
    net.pump()
    bank.confirm("5201", [no], **IDS)
    with pytest.raises(IllegalTransition, match="sign_in"):
        bank.confirm("5201", [no], **IDS)
    with pytest.raises(FlowError, match="-1"):
        bank.confirm("5201", ["UNKNOWN"], **IDS)
    with pytest.raises(InvalidInput, match="reasons"):
        bank.return_voucher("5201", [no], [], **IDS)
    with pytest.raises(InvalidInput, match="X-field"):
        bank.send_receipt("5201", no, **IDS, fields={"PayAmt": "0.01"})  # a receipt fills X-fields only
    with pytest.raises(InvalidInput, match="between 1 and 100"):
        bank.read("5201", count=101, **IDS)
    with pytest.raises(FlowError, match="not a registered peer"):
        fin.save(_voucher(seed=9), to="nobody")


def test_positions_query(net: Network) -> None:
    positions = net["pbc"].positions("2301")
    assert positions["rh_qm"] == "人民银行签名" and positions["yh_gz"] == "代理银行公章"
    assert net["pbc"].positions("9999") == {}


# --- fault cases ----------------------------------------------------------------------------------


def test_duplicate_delivery_changes_nothing(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    no = _send_5201(net)
    [data] = _take(net, "bank")
    first = bank.receive_bytes(data)
    assert first.accepted and not first.duplicate
    before = _snapshot(bank)
    # at-least-once: the same message arrives twice more, once directly and once via the transport
    again = bank.receive_bytes(data)
    assert again.duplicate and again.accepted
    assert isinstance(net.transport, InMemoryTransport)
    net.transport.inject("bank", data)
    [third] = bank.poll()
    assert third.duplicate
    assert _snapshot(bank) == before
    assert not bank.rejections()
    net.pump()
    assert _code(fin, _out("5201", no)) == 1
    assert [h.action for h in fin.history(_out("5201", no))] == ["save", "send", "delivered"]


def test_retransmitted_text_under_a_new_message_id_is_not_duplicated(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    no = _send_5201(net)
    [data] = _take(net, "bank")
    assert bank.receive_bytes(data).accepted
    bank.confirm("5201", [no], **IDS)
    before = _snapshot(bank)
    outcome = bank.receive_bytes(_relink(net, data))  # same envelope, new message id
    assert outcome.accepted and "already held" in outcome.detail
    assert _snapshot(bank) == before
    net.pump()
    assert _code(fin, _out("5201", no)) == 3  # and the sender learns where it stands


def test_message_tampered_in_transit_is_rejected_with_reason(net: Network) -> None:
    bank = net["bank"]
    no = _send_5201(net)
    [data] = _take(net, "bank")
    document = json.loads(data)
    envelope = base64.b64decode(document["payload"])
    document["payload"] = base64.b64encode(envelope.replace(b"<VoucherFlag>0", b"<VoucherFlag>1")).decode()
    tampered = json.dumps(document).encode()
    outcome = bank.receive_bytes(tampered)
    assert not outcome.accepted and "link signature" in outcome.detail
    assert bank.records() == []
    [rejection] = bank.rejections()
    assert (
        rejection.raw == tampered
        and rejection.sender == "finance"
        and "altered in transit" in rejection.reason
    )
    # the genuine copy is still accepted (the tampered one did not poison the message id)
    assert bank.receive_bytes(data).accepted
    assert [r.key for r in bank.records()] == [_in("5201", no)]


def test_altered_voucher_text_fails_verification_and_sender_learns_it(net: Network) -> None:
    """The link is intact but the voucher text no longer matches its signatures (status 2)."""
    fin, bank = net["finance"], net["bank"]
    no = _send_5201(net)
    [data] = _take(net, "bank")
    envelope = Envelope.from_bytes(Message.from_bytes(data).payload)
    body = envelope.bodies[0]
    changed = body.voucher.replace(PayeeAcctNo="6217000000000000666")
    body.voucher_b64 = base64.b64encode(changed.to_xml()).decode("ascii")  # signatures kept
    outcome = bank.receive_bytes(_relink(net, data, payload=envelope.to_bytes()))
    assert not outcome.accepted
    assert bank.records() == []
    [rejection] = bank.rejections()
    assert no in rejection.reason and "signature" in rejection.reason
    net.pump()
    code, text = fin.status(_out("5201", no))
    assert code == 2 and "signature" in text
    # the genuine copy, delivered late, reaches the bank and the sender's status recovers
    assert bank.receive_bytes(data).accepted
    net.pump()
    assert _code(fin, _out("5201", no)) == 1


def test_voucher_signed_with_another_partys_certificate_is_refused(net: Network) -> None:
    """A trusted certificate of the bank cannot stand in for 财政's on a voucher 财政 sends."""
    fin, bank = net["finance"], net["bank"]
    fin.sealer = net.sealer("bank")  # e.g. an operator picked the wrong key
    no = _send_5201(net)
    net.pump()
    assert bank.records() == []
    [rejection] = bank.rejections()
    assert "not by a certificate of finance" in rejection.reason
    assert _code(fin, _out("5201", no)) == 2


def test_forged_receipt_changing_a_signed_field_is_rejected(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    voucher = _voucher()
    no = voucher.voucher_no
    fin.save(voucher, to="bank")
    fin.send("5201", [no], **IDS)
    net.pump()
    bank.confirm("5201", [no], **IDS)
    net.pump()
    # the bank's receipt claims another payee: signed and sealed by the bank, but not a receipt
    forged = VoucherBody.from_voucher(voucher.replace(PayeeAcctNo="6217999999999999999"), voucher_flag="1")
    net.sealer("bank")(forged)
    message = Message(new_message_id(), "envelope", "bank", "finance", Envelope.build([forged]).to_bytes())
    data = message.with_signature(net.signers["bank"].sign(message.signed_bytes())).to_bytes()
    outcome = fin.receive_bytes(data)
    assert not outcome.accepted and "PayeeAcctNo changed by the receipt" in outcome.detail
    assert fin.record(_in("5201", no, "1")) is None
    assert _code(fin, _out("5201", no)) == 3  # unchanged
    assert "PayeeAcctNo" in fin.rejections()[0].reason


def test_receipt_overtaking_the_reports_gives_the_final_state(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    no = _send_5201(net)
    [voucher] = _take(net, "bank")
    assert bank.receive_bytes(voucher).accepted
    held = _take(net, "finance")  # hold back the "delivered" report
    bank.confirm("5201", [no], **IDS)
    bank.send_receipt("5201", no, **IDS, fields={"XAgentBusinessNo": "B1"})
    messages = _take(net, "finance")  # signed_in report, then the receipt
    receipt = [m for m in messages if Message.from_bytes(m).kind == "envelope"]
    reports = held + [m for m in messages if Message.from_bytes(m).kind == "notice"]
    assert fin.receive_bytes(receipt[0]).accepted
    assert _code(fin, _out("5201", no)) == 12
    for data in reports:  # the late reports are noted as stale, the state stays
        assert fin.receive_bytes(data).accepted
    history = fin.history(_out("5201", no))
    assert [h.action for h in history][:5] == ["save", "send", "delivered", "signed_in", "receipted"]
    assert [h.action for h in history][5:] == ["stale:delivered", "stale:signed_in"]
    assert _code(fin, _out("5201", no)) == 12
    assert not fin.rejections()


def test_reports_in_any_order_and_duplicated_converge(net: Network, tmp_path: Path) -> None:
    """Every order of (delivered, signed_in, receipt), each with one message delivered twice,
    leaves 财政 in the same final state with each step recorded once and nothing rejected."""
    fin, bank = net["finance"], net["bank"]
    no = _send_5201(net)
    [voucher] = _take(net, "bank")
    assert bank.receive_bytes(voucher).accepted
    bank.confirm("5201", [no], **IDS)
    bank.send_receipt("5201", no, **IDS, fields={"XAgentBusinessNo": "B1"})
    messages = _take(net, "finance")
    assert sorted(Message.from_bytes(m).kind for m in messages) == ["envelope", "notice", "notice"]
    assert isinstance(fin.store, SQLiteStore)
    snapshot = tmp_path / "finance-snapshot.db"
    with sqlite3.connect(snapshot) as target:
        fin.store._db.backup(target)
    target.close()
    for run, (order, twice) in enumerate(itertools.product(itertools.permutations(range(3)), range(3))):
        copy = tmp_path / f"finance-{run}.db"
        shutil.copyfile(snapshot, copy)
        with SQLiteStore(copy, durability="normal") as store:
            lib = VoucherLibrary(
                fin.party,
                store=store,
                transport=InMemoryTransport(),
                trust=net.trust,
                link_signer=net.signers["finance"],
                peers=fin.peers,
                sealer=fin.sealer,
                positions=POSITIONS,
            )
            sequence = [messages[i] for i in order]
            sequence.insert(twice + 1, messages[order[twice]])
            outcomes = [lib.receive_bytes(m) for m in sequence]
            assert all(o.accepted for o in outcomes), [o.detail for o in outcomes]
            assert sum(o.duplicate for o in outcomes) == 1
            record = lib.record(_out("5201", no))
            assert record is not None and record.state is State.RECEIPTED, (order, twice)
            applied = [h.action for h in lib.history(_out("5201", no)) if not h.action.startswith("stale:")]
            assert applied == ["save", "send", "delivered", "signed_in", "receipted"], (order, applied)
            receipt = lib.record(_in("5201", no, "1"))
            assert receipt is not None and receipt.state is State.RECEIVED
            assert lib.rejections() == []


def test_receipt_before_its_voucher_is_rejected_and_kept(net: Network) -> None:
    """A receipt copy without its original, at a party that never saw the voucher."""
    bank, pbc, fin = net["bank"], net["pbc"], net["finance"]
    voucher = _voucher("2301", seed=8)
    no = voucher.voucher_no
    bank.save(voucher, to="pbc")
    bank.send("2301", [no], **IDS)
    net.pump()
    pbc.confirm("2301", [no], **IDS)
    pbc.send_receipt("2301", no, **IDS, fields={"XClearDate": "20240506"}, copies=["finance"])
    [copy] = [m for m in _take(net, "finance") if Message.from_bytes(m).kind == "envelope"]
    without_original = Message.from_bytes(copy)
    stripped = Message(new_message_id(), "envelope", "pbc", "finance", without_original.payload)
    early = stripped.with_signature(net.signers["pbc"].sign(stripped.signed_bytes())).to_bytes()
    outcome = fin.receive_bytes(early)
    assert not outcome.accepted and "receipt before its voucher" in outcome.detail
    assert fin.records() == []
    [rejection] = fin.rejections()
    assert rejection.raw == early and rejection.kind == "envelope"
    # with its original attached, the copy is accepted
    assert fin.receive_bytes(copy).accepted
    assert fin.record(_in("2301", no, "1")) is not None


def test_unknown_sender_then_replay_after_registration(net: Network) -> None:
    bank = net["bank"]
    del bank.peers["finance"]
    no = _send_5201(net)
    [outcome] = bank.poll()
    assert not outcome.accepted and "not a registered peer" in outcome.detail
    assert bank.records() == []
    bank.peers["finance"] = net.certs["finance"]  # the operator fixes the configuration (差错处理)
    [rejection] = bank.rejections()
    assert bank.replay(rejection.rejection_id).accepted
    assert bank.record(_in("5201", no)) is not None
    message_id = rejection.message_id
    assert message_id is not None and (bank.store.seen(message_id) or "").startswith("accepted")
    assert bank.receive_bytes(rejection.raw).duplicate  # a late copy changes nothing
    with pytest.raises(FlowError, match="no rejection"):
        bank.replay("nope")


def test_unreadable_and_misaddressed_messages_are_logged(net: Network) -> None:
    bank = net["bank"]
    assert not bank.receive_bytes(b"\x00garbage").accepted
    message = Message(new_message_id(), "notice", "finance", "pbc", b"{}")
    signed = message.with_signature(net.signers["finance"].sign(message.signed_bytes())).to_bytes()
    assert not bank.receive_bytes(signed).accepted
    bad_notice = Message(new_message_id(), "notice", "finance", "bank", b'{"action": "send", "items": []}')
    signed = bad_notice.with_signature(net.signers["finance"].sign(bad_notice.signed_bytes())).to_bytes()
    assert not bank.receive_bytes(signed).accepted
    reasons = [r.reason for r in bank.rejections()]
    assert len(reasons) == 3
    assert (
        "unreadable message" in reasons[0]
        and "addressed to 'pbc'" in reasons[1]
        and "not a notice" in reasons[2]
    )
    assert bank.records() == []


def test_report_for_a_voucher_never_sent_is_rejected(net: Network) -> None:
    fin = net["finance"]
    payload = json.dumps(
        {
            "action": "signed_in",
            "items": [
                {
                    "voucher_flag": "0",
                    "adm_div_code": ADM,
                    "st_year": YEAR,
                    "vt_code": "5201",
                    "voucher_no": "X1",
                    "reason": None,
                }
            ],
        }
    ).encode()
    message = Message(new_message_id(), "notice", "bank", "finance", payload)
    outcome = fin.receive_bytes(
        message.with_signature(net.signers["bank"].sign(message.signed_bytes())).to_bytes()
    )
    assert not outcome.accepted and "never sent" in outcome.detail
    assert fin.records() == []


# --- contingency (应急) ---------------------------------------------------------------------------


def test_link_down_queues_and_flushes_later(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    assert isinstance(net.transport, InMemoryTransport)
    net.transport.link_up = False
    no = _send_5201(net)
    assert _code(fin, _out("5201", no)) == 0
    [item] = fin.pending_outbox()
    assert item.attempts == 1 and "link down" in (item.last_error or "")
    assert bank.poll() == []
    net.transport.link_up = True
    assert fin.flush_outbox() == 1
    assert fin.pending_outbox() == []
    net.pump()
    assert _code(fin, _out("5201", no)) == 1


def test_keystore_down_defers_signing(net: Network) -> None:
    fin = net["finance"]
    real = fin.sealer
    assert real is not None

    def unavailable(body: VoucherBody) -> None:
        raise KeyStoreError("token not present (USB key removed)")

    fin.sealer = unavailable
    no = _send_5201(net)
    assert _code(fin, _out("5201", no)) == 13  # not sent: nothing unsigned leaves the library
    [item] = fin.pending_outbox()
    assert item.kind == "send"
    assert fin.flush_outbox() == 0  # still down
    assert "token not present" in (fin.pending_outbox()[0].last_error or "")
    fin.sealer = real
    assert fin.flush_outbox() == 1
    net.pump()
    assert _code(fin, _out("5201", no)) == 1
    assert any(h.action == "send-deferred" for h in fin.history(_out("5201", no)))


def test_link_key_unavailable_keeps_messages_queued(net: Network) -> None:
    fin = net["finance"]
    real = fin.link_signer

    class Unplugged:
        algorithm = real.algorithm
        certificate = real.certificate

        def sign(self, data: bytes) -> bytes:
            raise KeyStoreError("link key token removed")

    fin.link_signer = Unplugged()
    no = _send_5201(net)
    assert _code(fin, _out("5201", no)) == 0  # the state change is made and kept
    [item] = fin.pending_outbox()
    assert "link key token removed" in (item.last_error or "")
    assert net.transport.receive("bank") == []  # nothing unsigned left the library
    fin.link_signer = real
    assert fin.flush_outbox() == 1
    net.pump()
    assert _code(fin, _out("5201", no)) == 1


# --- drop folder, end to end --------------------------------------------------------------------


@pytest.fixture
def folder_net(pki_material: Material, tmp_path: Path) -> Iterator[Network]:
    (tmp_path / "exchange").mkdir()
    network = build_network(pki_material, tmp_path, DropFolderTransport(tmp_path / "exchange"))
    yield network
    for lib in network.libs.values():
        lib.store.close()


def test_drop_folder_consumer_crash_redelivers_without_duplicates(folder_net: Network) -> None:
    net = folder_net
    fin, bank = net["finance"], net["bank"]
    transport = net.transport
    assert isinstance(transport, DropFolderTransport)
    no = _send_5201(net)
    # the bank takes the file and processes it, then dies before acknowledging
    [delivery] = transport.receive("bank")
    assert bank.receive_bytes(delivery.data).accepted
    before = _snapshot(bank)
    assert transport.recover("bank") == 1  # restart: the claimed file goes back to the inbox
    [outcome] = bank.poll()
    assert outcome.duplicate
    assert _snapshot(bank) == before
    assert (
        transport.stage_files("bank", "processing") == [] and len(transport.stage_files("bank", "done")) == 1
    )
    net.pump()
    assert _code(fin, _out("5201", no)) == 1


def test_voucher_failing_validation_is_refused_and_reported(net: Network) -> None:
    """Properly signed and sealed, but the header amount is not the sum of the details."""
    fin, bank = net["finance"], net["bank"]
    voucher = _voucher(seed=21)
    wrong = voucher.replace(PayAmt="0.01")
    fin.save(wrong, to="bank")
    fin.send("5201", [wrong.voucher_no], **IDS)
    net.pump()
    assert bank.records() == []
    [rejection] = bank.rejections()
    assert "PayAmt" in rejection.reason
    code, text = fin.status(_out("5201", wrong.voucher_no))
    assert code == 2 and "PayAmt" in text


def test_expired_peer_certificate_is_refused(net: Network) -> None:
    from datetime import UTC, datetime, timedelta

    bank = net["bank"]
    _send_5201(net)
    bank.verify_at = datetime.now(UTC) + timedelta(days=800)  # the test leaves live one year
    [outcome] = bank.poll()
    assert not outcome.accepted and "registered certificate of 'finance' is not valid" in outcome.detail
    assert bank.records() == []


def test_peer_reasons_are_clipped(net: Network) -> None:
    fin = net["finance"]
    no = _send_5201(net)
    net.pump()
    item = {"voucher_flag": "0", "adm_div_code": ADM, "st_year": YEAR, "vt_code": "5201", "voucher_no": no}
    payload = json.dumps({"action": "sign_in_failed", "items": [dict(item, reason="错" * 10_000)]}).encode()
    message = Message(new_message_id(), "notice", "bank", "finance", payload)
    assert fin.receive_bytes(
        message.with_signature(net.signers["bank"].sign(message.signed_bytes())).to_bytes()
    ).accepted
    record = fin.record(_out("5201", no))
    assert record is not None and record.reason is not None and len(record.reason.encode("gbk")) <= 190
