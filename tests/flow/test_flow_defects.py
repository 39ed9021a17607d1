"""Issue 16 item 4: the flow defects measured on main, each reproduced first, then fixed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flow_support import ADM, IDS, YEAR, Material, Network, build_network

from ezhifu.document.samples import sample_voucher
from ezhifu.errors import TransportError
from ezhifu.flow.status import RecordKey
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
