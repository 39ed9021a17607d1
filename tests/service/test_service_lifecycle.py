"""Health, readiness, request limits, the operation log and graceful shutdown of a real service."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request

import pytest
from service_support import ADM, FINANCE_STAMP, YEAR, Services, voucher_envelope

from ezhifu.client.soap_client import VoucherServiceClient
from ezhifu.client.soapenc import decode_response
from ezhifu.errors import ServiceFault


def test_limits_log_and_graceful_shutdown(services: Services) -> None:
    fin = services["finance"]
    with urllib.request.urlopen(fin.url + "/healthz", timeout=10) as response:
        assert json.loads(response.read()) == {"status": "ok", "party": "finance"}
    with urllib.request.urlopen(fin.url + "/readyz", timeout=10) as response:
        assert json.loads(response.read())["status"] == "ready"
    # a body announced over max_request_bytes is refused with a fault before it is read
    conn = http.client.HTTPConnection("127.0.0.1", fin.port, timeout=30)
    conn.putrequest("POST", "/realware/services/AsspCBankService")
    conn.putheader("Content-Length", str(16 * 1024 * 1024 + 1))
    conn.putheader("Content-Type", "text/xml")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 500
    with pytest.raises(ServiceFault) as fault:
        decode_response(response.read())
    conn.close()
    assert fault.value.code == "EVS100" and "exceeds" in str(fault.value)
    # not SOAP at all: a named fault too
    junk = urllib.request.Request(
        fin.url + "/realware/services/AsspCBankService", data=b"<x/>", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(junk, timeout=30)
    with pytest.raises(ServiceFault, match="EVS100"):
        decode_response(info.value.read())
    client = VoucherServiceClient(fin.url)
    _no, envelope = voucher_envelope(61)
    client.sign_stamp_by_nos_and_send("001", ADM, YEAR, "5201", envelope, FINANCE_STAMP, "011", "001")
    fin.stop()  # SIGTERM: graceful
    log = (services.directory / "finance-operations.jsonl").read_text(encoding="utf-8")
    entries = [json.loads(line) for line in log.splitlines()]
    events = [e["event"] for e in entries]
    assert events[0] == "start" and events[-1] == "stop"
    sent = [e for e in entries if e.get("operation") == "signStampByNosAndSend"]
    assert (
        sent and sent[0]["outcome"] == "ok" and sent[0]["cert_id"] == "001" and sent[0]["vt_code"] == "5201"
    )
    assert "MOF" not in log and "password" not in log.lower() and "PRIVATE" not in log
    assert fin.log.read_text(errors="replace").count("Traceback") == 0
