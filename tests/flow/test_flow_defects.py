"""Issue 16 item 4: the flow defects measured on main, each reproduced first, then fixed."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from flow_support import ADM, IDS, YEAR, Material, Network, build_network

from ezhifu.document.samples import sample_voucher
from ezhifu.errors import TransportError
from ezhifu.flow.library import VoucherLibrary
from ezhifu.flow.status import RecordKey
from ezhifu.flow.store import SQLiteStore
from ezhifu.flow.transport import DropFolderTransport, InMemoryTransport, Message, new_message_id


def _out(no: str, flag: str = "0") -> RecordKey:
    return RecordKey("out", flag, ADM, YEAR, "5201", no)


def _in(no: str, flag: str = "0") -> RecordKey:
    return RecordKey("in", flag, ADM, YEAR, "5201", no)


def _send(net: Network, seed: int, to: str = "bank") -> str:
    voucher = sample_voucher("5201", details=1, seed=seed)
    net["finance"].save(voucher, to=to)
    net["finance"].send("5201", [voucher.voucher_no], **IDS)
    return voucher.voucher_no


class PartlyDown(InMemoryTransport):
    """An in-memory network on which the links to some parties are down."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[str] = set()

    def send(self, message: Message) -> None:
        if message.recipient in self.down:
            raise TransportError(f"link to {message.recipient} down")
        super().send(message)


def test_claims_of_a_crashed_receiver_are_retried_without_recover(
    pki_material: Material, tmp_path: Path
) -> None:
    (tmp_path / "exchange").mkdir()
    transport = DropFolderTransport(tmp_path / "exchange", claim_timeout=0.3)
    net = build_network(pki_material, tmp_path, transport=transport)
    nos = [_send(net, seed) for seed in range(9)]
    assert len(transport.receive("bank")) == 9  # the bank's process claims all nine, then dies
    restarted = DropFolderTransport(tmp_path / "exchange", claim_timeout=0.3)
    net["bank"].transport = restarted
    assert net["bank"].poll() == []  # not handed out twice at once
    time.sleep(0.4)
    outcomes = net["bank"].poll()  # no recover() call by the application
    assert len(outcomes) == 9 and all(o.accepted for o in outcomes)
    assert all(net["bank"].record(_in(no)) is not None for no in nos)
    with pytest.raises(Exception, match="claim_timeout"):
        DropFolderTransport(tmp_path, claim_timeout=0)


@pytest.fixture
def partly(pki_material: Material, tmp_path: Path) -> Network:
    return build_network(pki_material, tmp_path, transport=PartlyDown())


def test_a_dead_partner_does_not_block_the_others(partly: Network) -> None:
    transport = partly.transport
    assert isinstance(transport, PartlyDown)
    transport.down.add("bank")
    to_bank = _send(partly, 1, to="bank")
    to_pbc = _send(partly, 2, to="pbc")  # queued behind the message to the dead bank
    partly.pump()
    assert partly["pbc"].record(_in(to_pbc)) is not None
    assert int(partly["finance"].status(_out(to_pbc))[0]) == 1
    assert int(partly["finance"].status(_out(to_bank))[0]) == 0
    transport.down.clear()
    partly["finance"].flush_outbox()
    partly.pump()
    assert int(partly["finance"].status(_out(to_bank))[0]) == 1


def test_resending_an_unchanged_voucher_after_discard(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    voucher = sample_voucher("5201", details=1, seed=5)
    no = voucher.voucher_no
    fin.save(voucher, to="bank")
    fin.send("5201", [no], **IDS)
    net.pump()
    bank.confirm("5201", [no], **IDS)
    bank.return_voucher("5201", [no], ["请核对"], **IDS)
    net.pump()
    fin.discard("5201", [no], **IDS)
    net.pump()
    fin.resend(voucher)  # the same text: the bank only asked to check it
    net.pump()
    assert int(fin.status(_out(no))[0]) == 1
    record = bank.record(_in(no))
    assert record is not None and record.revision == 2


def _delivered_signed_in(net: Network, seed: int) -> str:
    no = _send(net, seed)
    net.pump()
    net["bank"].confirm("5201", [no], **IDS)
    net.pump()
    return no


def _receipt(net: Network, no: str, business_no: str = "BK1") -> None:
    net["bank"].send_receipt(
        "5201", no, **IDS, fields={"XAgentBusinessNo": business_no, "XPayDate": "20240506"}
    )


@pytest.mark.parametrize("refusal", ["confirm_fail", "return"])
def test_a_refused_receipt_can_be_redone(net: Network, refusal: str) -> None:
    fin, bank = net["finance"], net["bank"]
    no = _delivered_signed_in(net, 6)
    _receipt(net, no)
    net.pump()
    if refusal == "confirm_fail":
        fin.confirm_fail("5201", [no], ["回单要素不全"], **IDS, receipts=True)
        expected = 10
    else:
        fin.confirm("5201", [no], **IDS, receipts=True)
        fin.return_voucher("5201", [no], ["回单金额不符"], **IDS, receipts=True)
        expected = 11
    net.pump()
    assert int(bank.status(_out(no, "1"))[0]) == expected
    _receipt(net, no, "BK2")  # the corrected 回单, as its next revision
    net.pump()
    assert int(bank.status(_out(no, "1"))[0]) == 7
    record = fin.record(_in(no, "1"))
    assert record is not None and record.revision == 2
    fin.confirm("5201", [no], **IDS, receipts=True)
    net.pump()
    assert int(bank.status(_out(no, "1"))[0]) == 9
    assert int(fin.status(_out(no))[0]) == 12


def test_a_receipt_interrupted_while_being_signed_is_finished(net: Network) -> None:
    bank = net["bank"]
    no = _delivered_signed_in(net, 7)
    sealer = bank.sealer

    def killed(body: object) -> None:
        raise KeyboardInterrupt("process killed while signing")

    bank.sealer = killed
    with pytest.raises(KeyboardInterrupt):
        _receipt(net, no)
    bank.sealer = sealer  # the restarted process
    _receipt(net, no)
    net.pump()
    assert int(bank.status(_out(no, "1"))[0]) == 7


@pytest.mark.parametrize("refusal", ["return", "confirm_fail"])
def test_an_old_failure_reason_leaves_the_status_text(partly: Network, refusal: str) -> None:
    fin, bank = partly["finance"], partly["bank"]
    if refusal == "return":
        no = _delivered_signed_in(partly, 8)
        bank.return_voucher("5201", [no], ["收款人账号不存在"], **IDS)
    else:
        no = _send(partly, 8)
        partly.pump()
        bank.confirm_fail("5201", [no], ["收款人账号不存在"], **IDS)
    partly.pump()
    assert "收款人账号不存在" in fin.status(_out(no))[1]
    fin.discard("5201", [no], **IDS)
    fixed = sample_voucher("5201", details=1, seed=8).replace(PayeeAcctNo="6222020200001234567")
    fin.resend(fixed)
    partly.pump()
    code, text = fin.status(_out(no))
    assert code == 1 and "收款人账号不存在" not in text


def test_a_delivery_failure_reason_goes_once_the_copy_gets_through(partly: Network) -> None:
    fin = partly["finance"]
    transport = partly.transport
    assert isinstance(transport, PartlyDown)
    transport.down.add("bank")  # the voucher waits in finance's outbox
    no = _send(partly, 9)
    # the bank reports that a (damaged) copy could not be received
    payload = {
        "action": "receive_failed",
        "items": [
            {
                "voucher_flag": "0",
                "adm_div_code": ADM,
                "st_year": YEAR,
                "vt_code": "5201",
                "voucher_no": no,
                "direction": "in",
                "reason": "签名验证失败",
            }
        ],
    }
    notice = Message(
        new_message_id(),
        "notice",
        "bank",
        "finance",
        json.dumps(payload, ensure_ascii=False).encode(),
        (),
        "2024-05-06T00:00:00+00:00",
    )
    signed = notice.with_signature(partly.signers["bank"].sign(notice.signed_bytes()))
    outcome = fin.receive_bytes(signed.to_bytes())
    assert outcome.accepted, outcome.detail
    code, text = fin.status(_out(no))
    assert code == 2 and "签名验证失败" in text
    transport.down.clear()
    fin.send("5201", [no], **IDS)  # re-transmit
    partly.pump()
    code, text = fin.status(_out(no))
    assert code == 1 and "签名验证失败" not in text


def test_two_flushers_on_one_store_deliver_each_message_once(partly: Network, tmp_path: Path) -> None:
    fin = partly["finance"]
    transport = partly.transport
    assert isinstance(transport, PartlyDown)
    transport.down.add("bank")
    for seed in range(120):
        voucher = sample_voucher("5201", details=0, seed=100 + seed)
        fin.save(voucher, to="bank")
    fin.send("5201", [v.key.voucher_no for v in fin.records(direction="out")], **IDS)
    assert len(fin.pending_outbox()) == 120
    transport.down.clear()
    # a second process on the same store file (its own connection, its own claims)
    second = SQLiteStore(tmp_path / "finance.db")
    twin = VoucherLibrary(
        fin.party,
        store=second,
        transport=transport,
        trust=fin.trust,
        link_signer=fin.link_signer,
        peers=fin.peers,
    )
    barrier = threading.Barrier(2)

    def flush(lib: VoucherLibrary) -> None:
        barrier.wait()
        lib.flush_outbox()

    threads = [threading.Thread(target=flush, args=(lib,)) for lib in (fin, twin)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    second.close()
    assert transport.pending("bank") == 120  # not 197
    assert fin.pending_outbox() == []


def test_a_peer_may_send_only_its_voucher_types(net: Network) -> None:
    bank = net["bank"]
    bank.peer_vt_codes = {"finance": frozenset({"5106", "5108"})}
    no = _send(net, 11)
    net.pump()
    assert bank.record(_in(no)) is None
    [rejection] = bank.rejections()
    assert "may not send VtCode 5201" in rejection.reason
    assert int(net["finance"].status(_out(no))[0]) == 2  # 对方接收失败, with the reason
    assert "may not send VtCode 5201" in net["finance"].status(_out(no))[1]
