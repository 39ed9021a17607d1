"""One voucher from finance to the People's Bank and back as a 回单, over SOAP (docs/service.md).

The People's Bank fills the X-fields of the voucher it read and calls
``signStampByNosAndSend`` with the ``VoucherFlag=1`` body: the service answers it with a
receipt signed and stamped at its own positions, bound to the original; finance reads the
receipt with ``readVoucherAgain``, confirms it, and its status becomes 12 (已收到对方回单).
A peer sending a VtCode outside its ``[peers.ID].vt_codes`` is refused into the rejection log.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from service_support import ADM, FINANCE_STAMP, YEAR, Services, voucher_envelope, wait_for

from ezhifu.client.soap_client import VoucherServiceClient
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.flow.store import SQLiteStore

PBC_STAMP = '<Root><Stamp No="rh_qm"></Stamp><Stamp No="rh_gz">pbc-seal-01</Stamp></Root>'


def test_voucher_and_its_receipt_over_soap(services: Services) -> None:
    fin = VoucherServiceClient(services["finance"].url, path="/realware/services/AsspFinanceService")
    pbc = VoucherServiceClient(services["pbc"].url)
    no, envelope = voucher_envelope(31)
    fin.sign_stamp_by_nos_and_send("001", ADM, YEAR, "5201", envelope, FINANCE_STAMP, "011", "001")
    wait_for(lambda: pbc.read_voucher_again("001", ADM, YEAR, "5201", 100) is not None, what="voucher at pbc")
    read = pbc.read_voucher_again("001", ADM, YEAR, "5201", 100)
    assert read is not None
    pbc.call("confirmVoucher", "001", ADM, YEAR, "5201", [no])
    voucher = Envelope.from_bytes(read).bodies[0].voucher
    answered = voucher.replace(
        XPayDate=date(2024, 5, 6), XPayAmt=voucher.get("PayAmt"), XAgentBusinessNo="RH0001"
    )
    receipt = Envelope.build([VoucherBody.from_voucher(answered, voucher_flag="1")]).to_bytes()
    result = pbc.call("signStampByNosAndSend", "001", ADM, YEAR, "5201", receipt, PBC_STAMP, "001", "011")
    assert isinstance(result, dict) and result[no][0] == 6  # 回单状态：对方未接收

    def receipt_read() -> bool:
        return fin.read_voucher_again("001", ADM, YEAR, "5201", 100) is not None

    wait_for(receipt_read, what="receipt at finance")
    got = Envelope.from_bytes(fin.read_voucher_again("001", ADM, YEAR, "5201", 100) or b"").bodies[0]
    assert got.voucher_flag == "1" and got.voucher.get("XAgentBusinessNo") == "RH0001"
    assert {s.no for s in got.signatures} == {"rh_qm"} and {s.no for s in got.stamps} == {"rh_gz"}
    fin.call("confirmVoucher", "001", ADM, YEAR, "5201", [no])
    wait_for(
        lambda: fin.batch_query_all_voucher_status("001", ADM, YEAR, "5201", [no])[no][0] == 12, what="12"
    )
    wait_for(lambda: pbc.batch_query_all_voucher_status("001", ADM, YEAR, "5201", [no])[no][0] == 9, what="9")


def test_a_peer_may_send_only_its_vt_codes(tmp_path: Path) -> None:
    setup = Services(tmp_path)
    config = setup.paths["pbc"]
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('org_type = "011"', 'org_type = "011"\nvt_codes = ["2301"]', 1), encoding="utf-8"
    )
    try:
        setup["finance"].start()
        setup["pbc"].start()
        fin = VoucherServiceClient(setup["finance"].url)
        _no, envelope = voucher_envelope(41)
        fin.sign_stamp_by_nos_and_send("001", ADM, YEAR, "5201", envelope, FINANCE_STAMP, "011", "001")
        pbc = VoucherServiceClient(setup["pbc"].url)
        wait_for(lambda: _rejected(tmp_path), what="the refusal in the operation log")
        assert pbc.read_voucher_again("001", ADM, YEAR, "5201", 100) is None
    finally:
        setup.close()
    with SQLiteStore(tmp_path / "pbc.db") as store:
        [rejection] = store.rejections()
        assert "may not send VtCode 5201" in rejection.reason


def _rejected(directory: Path) -> bool:
    log = directory / "pbc-operations.jsonl"
    return log.exists() and '"outcome": "rejected"' in log.read_text(encoding="utf-8")
