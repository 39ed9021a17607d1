"""Issue 16 item 4: the flow defects measured on main, each reproduced first, then fixed."""

from __future__ import annotations

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
from ezhifu.flow.transport import DropFolderTransport, InMemoryTransport, Message


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
