"""The Must-show scenario with the Python client and with the JSON API, on real services.

finance ``signStampByNosAndSend`` of a 5201 to the People's Bank; the People's Bank
``readVoucherAgain`` gets it (GBK bytes that verify) and ``confirmVoucher``; finance
``batchQueryAllVoucherStatus`` answers 3 with its text; ``returnVoucher`` with a reason gives 5
at the sender; a bad ``stYear`` is the fault EVS103.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from service_support import ADM, FINANCE_STAMP, YEAR, Services, voucher_envelope, wait_for

from ezhifu.client.soap_client import VoucherServiceClient
from ezhifu.document.envelope import Envelope
from ezhifu.errors import ServiceFault
from ezhifu.pki.keys import load_certificates
from ezhifu.pki.trust import TrustStore
from ezhifu.verify.envelope import verify_envelope


def _verify(data: bytes, services: Services) -> None:
    folder = services.paths["finance"].parent
    root = load_certificates((folder / "root.pem").read_bytes())
    makers = load_certificates((folder / "seal-maker-root.pem").read_bytes())
    result = verify_envelope(data, trust=TrustStore(roots=root, seal_makers=makers))
    assert result.valid, [b.reasons for b in result.bodies]
    assert data.startswith(b'<?xml version="1.0" encoding="GBK"?>')


def test_scenario_with_the_python_client(services: Services) -> None:
    fin = VoucherServiceClient(services["finance"].url, path="/realware/services/AsspFinanceService")
    pbc = VoucherServiceClient(services["pbc"].url)
    no, envelope = voucher_envelope(11)
    sent = fin.sign_stamp_by_nos_and_send("001", ADM, YEAR, "5201", envelope, FINANCE_STAMP, "011", "001")
    assert isinstance(sent, dict) and no in sent
    holder: dict[str, bytes] = {}

    def delivered() -> bool:
        data = pbc.read_voucher_again("001", ADM, YEAR, "5201", 100)
        if data is not None:
            holder["data"] = data
        return data is not None

    wait_for(delivered, what="the 5201 at the People's Bank")
    read = Envelope.from_bytes(holder["data"])
    assert [b.voucher_no for b in read.bodies] == [no]
    assert {s.no for s in read.bodies[0].signatures} == {"cz_qm"} and {
        s.no for s in read.bodies[0].stamps
    } == {"cz_gz"}
    _verify(holder["data"], services)
    pbc.call("confirmVoucher", "001", ADM, YEAR, "5201", [no])
    wait_for(
        lambda: fin.batch_query_all_voucher_status("001", ADM, YEAR, "5201", [no])[no][0] == 3,
        what="status 3",
    )
    code, text = fin.batch_query_all_voucher_status("001", ADM, YEAR, "5201", [no])[no]
    assert (code, text.split("（")[0]) == (3, "发送单状态：对方签收成功")
    pbc.call("returnVoucher", "001", ADM, YEAR, "5201", [no], ["收款人账号错误"])
    wait_for(
        lambda: fin.batch_query_all_voucher_status("001", ADM, YEAR, "5201", [no])[no][0] == 5,
        what="status 5",
    )
    assert "收款人账号错误" in fin.batch_query_all_voucher_status("001", ADM, YEAR, "5201", [no])[no][1]
    with pytest.raises(ServiceFault) as info:
        fin.call("batchQueryAllVoucherStatus", "001", ADM, 20, "5201", [no])
    assert info.value.code == "EVS103" and str(info.value).startswith("EVS103#业务年度不合法")


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_scenario_with_the_json_api(services: Services) -> None:
    fin, pbc = services["finance"].url + "/api/v1", services["pbc"].url + "/api/v1"
    no, envelope = voucher_envelope(12)
    b64 = base64.b64encode(envelope).decode()
    status, answer = _post(f"{fin}/validate", {"envelope": b64})
    assert status == 200 and answer["valid"], answer
    status, answer = _post(
        f"{fin}/operations/signStampByNosAndSend",
        {"args": ["001", ADM, YEAR, "5201", b64, FINANCE_STAMP, "011", "001"]},
    )
    assert status == 200, answer
    read: dict[str, Any] = {}

    def delivered() -> bool:
        read.update(_post(f"{pbc}/operations/readVoucherAgain", {"args": ["001", ADM, YEAR, "5201", 100]})[1])
        return read.get("result") is not None

    wait_for(delivered, what="the voucher at pbc")
    data = base64.b64decode(read["result"])
    _verify(data, services)
    status, verified = _post(f"{pbc}/verify", {"envelope": read["result"]})
    assert status == 200 and verified["valid"] is True
    assert _post(f"{pbc}/operations/confirmVoucher", {"args": ["001", ADM, YEAR, "5201", [no]]})[0] == 200

    def status_code() -> int:
        url = f"{fin}/status/5201?certID=001&admDivCode={ADM}&stYear={YEAR}&voucherNo={no}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(json.loads(response.read())["result"][no][0])

    wait_for(lambda: status_code() == 3, what="status 3 over JSON")
    assert (
        _post(f"{pbc}/operations/returnVoucher", {"args": ["001", ADM, YEAR, "5201", [no], ["退回"]]})[0]
        == 200
    )
    wait_for(lambda: status_code() == 5, what="status 5 over JSON")
    status, fault = _post(f"{fin}/operations/readVoucherAgain", {"args": ["001", ADM, "2024", "5201", 100]})
    assert status == 422 and fault["fault"]["code"] == "EVS103"
    status, fault = _post(f"{fin}/operations/readVoucherAgain", {"args": ["999", ADM, YEAR, "5201", 100]})
    assert status == 422 and fault["fault"]["code"] == "EVS112"
    with urllib.request.urlopen(f"{fin}/openapi.json", timeout=30) as response:
        spec = json.loads(response.read())
    assert "/api/v1/operations/readVoucherAgain" in spec["paths"]
