"""Faults on 127.0.0.1 with real service processes (issue 16, Must show).

* the receiving service stopped while the sender sends 50 vouchers, then started: all 50
  delivered, each once, without any call by the application (the outbox flusher retries);
* the sending service SIGKILLed in the middle of sending and restarted: nothing lost,
  nothing doubled;
* two sender processes on one PostgreSQL store: each message delivered once.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

from service_support import ADM, FINANCE_STAMP, YEAR, ServiceProcess, Services, voucher_envelope, wait_for

from ezhifu.client.soap_client import VoucherServiceClient
from ezhifu.errors import ServiceFault, TransportError
from ezhifu.flow.status import State
from ezhifu.flow.store import SQLiteStore


def _send(client: VoucherServiceClient, envelope: bytes) -> None:
    client.sign_stamp_by_nos_and_send("001", ADM, YEAR, "5201", envelope, FINANCE_STAMP, "011", "001")


def _received(directory: Path) -> dict[str, int]:
    """Voucher number → how many times the People's Bank's library recorded its arrival."""
    with SQLiteStore(directory / "pbc.db") as store:
        out = {}
        for record in store.find(direction="in", vt_code="5201"):
            assert record.state is State.RECEIVED
            out[record.key.voucher_no] = sum(h.action == "receive" for h in store.history(record.key))
        return out


def _message_events(log: Path) -> Counter[str]:
    events: Counter[str] = Counter()
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["event"] == "message":
            events["duplicate" if entry.get("duplicate") is True else entry["outcome"]] += 1
    return events


def _finance_status(services: Services, nos: list[str]) -> dict[str, int]:
    client = VoucherServiceClient(services["finance"].url)
    return {
        n: c for n, (c, _) in client.batch_query_all_voucher_status("001", ADM, YEAR, "5201", nos).items()
    }


def test_receiver_down_while_50_are_sent(services: Services) -> None:
    services["pbc"].stop()
    fin = VoucherServiceClient(services["finance"].url)
    nos = []
    for seed in range(50):
        no, envelope = voucher_envelope(1000 + seed)
        _send(fin, envelope)
        nos.append(no)
    assert set(_finance_status(services, nos).values()) == {0}  # 对方未接收
    services["pbc"].start()
    wait_for(lambda: set(_finance_status(services, nos).values()) == {1}, timeout=90, what="50 delivered")
    services["pbc"].stop()
    received = _received(services.directory)
    assert sorted(received) == sorted(nos) and set(received.values()) == {1}


def test_sender_killed_mid_sending_and_restarted(services: Services) -> None:
    fin = VoucherServiceClient(services["finance"].url, timeout=10)
    envelopes = [voucher_envelope(2000 + seed) for seed in range(40)]
    done: list[str] = []
    killer = threading.Timer(1.5, services["finance"].kill)
    killer.start()
    pending = list(envelopes)
    while pending:
        no, envelope = pending[0]
        try:
            _send(fin, envelope)
        except TransportError:
            # the service is gone: the application restarts it and repeats the call in doubt
            killer.join()
            if services["finance"].proc is None:
                services["finance"].start()
            continue
        except ServiceFault as fault:
            assert fault.code == "EVS700" and "already in this library" in str(fault)  # it had committed
        done.append(no)
        pending.pop(0)
    killer.join()
    if services["finance"].proc is None:
        # every call finished before the kill (a fast machine): restart as the application would
        services["finance"].start()
    nos = [no for no, _ in envelopes]
    assert done == nos
    wait_for(lambda: set(_finance_status(services, nos).values()) == {1}, timeout=90, what="40 delivered")
    services["pbc"].stop()
    received = _received(services.directory)
    assert sorted(received) == sorted(nos) and set(received.values()) == {1}


def test_two_senders_on_one_postgresql_store(tmp_path: Path, postgres_dsn: str) -> None:
    setup = Services(tmp_path, postgres_dsn={"finance": postgres_dsn})
    second = ServiceProcess(
        "finance", setup.paths["finance"], setup.base + 3, extra=("--port", str(setup.base + 3))
    )
    try:
        setup["pbc"].stop()
        setup["finance"].start()
        second.start()
        clients = [VoucherServiceClient(setup["finance"].url), VoucherServiceClient(second.url)]
        nos = []
        for seed in range(60):
            no, envelope = voucher_envelope(3000 + seed)
            _send(clients[seed % 2], envelope)  # both processes queue into one outbox
            nos.append(no)
        setup["pbc"].start()  # both flushers now race for the same 60+ messages
        wait_for(lambda: set(_finance_status(setup, nos).values()) == {1}, timeout=90, what="60 delivered")
        setup["pbc"].stop()
        events = _message_events(tmp_path / "pbc-operations.jsonl")
        assert events["duplicate"] == 0 and events["accepted"] >= 60, events
        received = _received(tmp_path)
        assert sorted(received) == sorted(nos) and set(received.values()) == {1}
    finally:
        second.stop()
        setup.close()
