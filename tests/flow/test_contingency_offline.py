"""Offline exchange round trip: export on 财政, import on the bank (another store), the duplicate
refused, tampered packages and acknowledgements refused (issue 18 "Must show")."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from flow_support import ADM, IDS, YEAR, Network

from ezhifu.contingency import export_offline, import_offline, read_acknowledgement
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import OfflinePackageError, OfflinePackageTampered
from ezhifu.flow.status import RecordKey


def _send_during_outage(net: Network, count: int = 2) -> list[str]:
    fin = net["finance"]
    net.transport.link_up = False  # type: ignore[attr-defined]
    nos = []
    for seed in range(40, 40 + count):
        voucher = sample_voucher("5201", details=1, seed=seed)
        fin.save(voucher, to="bank")
        fin.send("5201", [voucher.voucher_no], **IDS)
        nos.append(voucher.voucher_no)
    return nos


def _rezip(package: bytes, change: dict[str, bytes | None]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        names = src.namelist()
        for name in names:
            data = change.get(name, src.read(name))
            if data is not None:
                dst.writestr(name, data)
        for name, data in change.items():
            if name not in names and data is not None:
                dst.writestr(name, data)
    return out.getvalue()


def test_round_trip_duplicate_and_acknowledgement(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    nos = _send_during_outage(net)
    exported = export_offline(fin, "bank")
    assert len(exported.message_ids) == 2
    assert [i for i in fin.pending_outbox() if i.recipient == "bank"] == []  # carried, not re-sent later
    with zipfile.ZipFile(io.BytesIO(exported.package)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["sender"] == "finance" and manifest["recipient"] == "bank"
    assert [v for item in manifest["items"] for v in item["vouchers"]] == [f"5201/{n}" for n in nos]
    assert all(len(item["sm3"]) == 64 and len(item["sha256"]) == 64 for item in manifest["items"])

    first = import_offline(bank, exported.package)
    assert len(first.accepted) == 2 and first.rejected == []
    for no in nos:
        assert bank.record(RecordKey("in", "0", ADM, YEAR, "5201", no)) is not None
    again = import_offline(bank, exported.package)
    assert again.duplicates == list(exported.message_ids)  # nothing changes the second time
    assert len(bank.records(direction="in")) == 2

    ack = read_acknowledgement(fin, first.ack_bytes)
    assert ack.package_sha256 == exported.sha256 and ack.counts() == {
        "accepted": 2,
        "duplicate": 0,
        "rejected": 0,
    }
    forged = json.loads(first.ack_bytes)
    forged["ack"]["items"][0]["outcome"] = "rejected"
    with pytest.raises(OfflinePackageTampered):
        read_acknowledgement(fin, json.dumps(forged).encode())

    net.transport.link_up = True  # type: ignore[attr-defined]
    bank.flush_outbox()
    net.pump()  # the bank's "delivered" notices flow once the link is back
    assert [fin.status(RecordKey("out", "0", ADM, YEAR, "5201", n))[0] for n in nos] == [1, 1]


@pytest.mark.parametrize("how", ["message", "manifest", "signature", "extra", "missing"])
def test_tampered_package_is_refused_whole(net: Network, how: str) -> None:
    fin, bank = net["finance"], net["bank"]
    _send_during_outage(net)
    package = export_offline(fin, "bank").package
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        message = zf.read("messages/0001.msg")
        manifest = zf.read("manifest.json")
    changes: dict[str, dict[str, bytes | None]] = {
        "message": {"messages/0001.msg": message.replace(b'"payload":"', b'"payload":"A', 1)},
        "manifest": {"manifest.json": manifest.replace(b'"recipient":"bank"', b'"recipient":"bank" ', 1)},
        "signature": {"manifest.sig": b"\x00" * 64},
        "extra": {"messages/9999.msg": message},
        "missing": {"messages/0002.msg": None},
    }
    with pytest.raises(OfflinePackageTampered):
        import_offline(bank, _rezip(package, changes[how]))
    assert bank.records(direction="in") == []  # nothing of it was processed


def test_package_for_someone_else_or_garbage(net: Network) -> None:
    fin = net["finance"]
    _send_during_outage(net)
    package = export_offline(fin, "bank").package
    with pytest.raises(OfflinePackageError, match="bank"):
        import_offline(net["pbc"], package)
    with pytest.raises(OfflinePackageError):
        import_offline(net["bank"], b"not a zip")
    with pytest.raises(OfflinePackageError, match="nothing queued"):
        export_offline(fin, "bank")  # already exported
