"""Status re-sync after an outage: pending 发送单 classified from batchQueryAllVoucherStatus."""

from __future__ import annotations

from flow_support import IDS, Network

from ezhifu.contingency import resync
from ezhifu.document.samples import sample_voucher


def _send(net: Network, seed: int) -> str:
    voucher = sample_voucher("5201", details=1, seed=seed)
    net["finance"].save(voucher, to="bank")
    net["finance"].send("5201", [voucher.voucher_no], **IDS)
    return voucher.voucher_no


def test_lost_during_outage_then_delivered(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    delivered = _send(net, 60)
    net.pump()
    net.transport.link_up = False  # type: ignore[attr-defined]
    waiting = [_send(net, 61), _send(net, 62)]
    report = resync(fin, remote=bank)
    assert {i.key.voucher_no for i in report.by_category("lost")} == set(waiting)
    assert [i.key.voucher_no for i in report.by_category("delivered")] == [delivered]
    assert all(i.remote_code == -1 for i in report.by_category("lost"))
    assert report.flushed == 0  # the link is still down
    net.transport.link_up = True  # type: ignore[attr-defined]
    after = resync(fin, remote=bank)  # flushes the outbox; the bank answers on its next poll
    assert after.flushed == 2
    bank.poll()
    final = resync(fin, remote=bank)
    assert final.counts() == {"delivered": 3}
    assert '"category": "delivered"' in final.to_json()


def test_rejected_returned_and_changed_after_signed_in(net: Network) -> None:
    fin, bank = net["finance"], net["bank"]
    signed, returned, refused = _send(net, 70), _send(net, 71), _send(net, 72)
    net.pump()
    bank.confirm("5201", [signed, returned], **IDS)
    bank.confirm_fail("5201", [refused], ["金额有误"], **IDS)
    net.pump()
    bank.return_voucher("5201", [returned], ["收款人账号错误"], **IDS)
    net.pump()
    report = resync(fin)
    by_no = {i.key.voucher_no: i for i in report.items}
    assert by_no[signed].category == "signed_in" and not by_no[signed].changed_after_signed_in
    assert by_no[returned].category == "returned" and by_no[returned].changed_after_signed_in
    assert by_no[refused].category == "rejected" and "作废" in by_no[refused].action
    assert by_no[refused].code == 4
