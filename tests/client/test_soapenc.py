"""SOAP 1.1 rpc/encoded as Axis 1.x writes it: round trips, Axis's multiRef form, hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ezhifu.client.operations import OPERATIONS, operation
from ezhifu.client.soap_client import check_args
from ezhifu.client.soapenc import (
    decode_request,
    decode_response,
    encode_fault,
    encode_request,
    encode_response,
)
from ezhifu.errors import HostileInputError, InvalidBusinessYear, InvalidInput, ServiceFault, SoapError

# What Axis 1.4's Call.invoke("confirmVoucher", new Object[]{"001", "420000", 2024, "5201", nos})
# puts on the wire: the String[] as a multiRef referenced by href.
AXIS_REQUEST = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <confirmVoucher soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
   <arg0 xsi:type="xsd:string">001</arg0>
   <arg1 xsi:type="xsd:string">420000</arg1>
   <arg2 href="#id0"/>
   <arg3 xsi:type="xsd:string">5201</arg3>
   <arg4 href="#id1"/>
  </confirmVoucher>
  <multiRef id="id0" soapenc:root="0" soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"
   xsi:type="xsd:int" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/">2024</multiRef>
  <multiRef id="id1" soapenc:root="0" soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"
   soapenc:arrayType="xsd:string[2]" xsi:type="soapenc:Array"
   xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/">
   <item>A1</item><item xsi:type="xsd:string">凭证2</item>
  </multiRef>
 </soapenv:Body>
</soapenv:Envelope>""".encode()


def test_axis_multiref_request_is_read() -> None:
    request = decode_request(AXIS_REQUEST)
    assert request.operation == "confirmVoucher"
    assert request.args == ["001", "420000", 2024, "5201", ["A1", "凭证2"]]
    op = operation("confirmVoucher")
    assert op is not None
    check_args(op, request.args)


values = st.recursive(
    st.none() | st.text(max_size=30) | st.integers(-(2**31), 2**31 - 1) | st.binary(max_size=40),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _xml_safe(value: object) -> bool:
    if isinstance(value, str):
        return all(
            c in "\t\n" or (c >= " " and c not in "\r\ufffe\uffff" and not 0xD800 <= ord(c) <= 0xDFFF)
            for c in value
        )
    if isinstance(value, list):
        return all(_xml_safe(v) for v in value)
    if isinstance(value, dict):
        return all(_xml_safe(k) and _xml_safe(v) for k, v in value.items())
    return True


@given(st.lists(values, max_size=6))
def test_request_and_response_round_trip(args: list[object]) -> None:
    if not _xml_safe(args):
        return
    request = decode_request(encode_request("sendVoucher", args))  # type: ignore[arg-type]
    assert request.args == [([] if a == [] else a) for a in args]
    for value in args:
        assert decode_response(encode_response("op", value)) == value  # type: ignore[arg-type]


def test_fault_carries_the_evs_code_as_clients_parse_it() -> None:
    fault = InvalidBusinessYear("stYear 20x is not a year")
    data = encode_fault(fault.fault_string())
    text = fault.fault_string()
    assert text[text.index("Exception:") + len("Exception:") :].startswith("EVS103#业务年度不合法")
    with pytest.raises(ServiceFault) as info:
        decode_response(data)
    assert info.value.code == "EVS103"
    assert "业务年度不合法" in str(info.value)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", HostileInputError),
        (b"<notsoap/>", SoapError),
        (b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'/>", SoapError),
        (AXIS_REQUEST.replace(b'href="#id1"', b'href="#nope"'), SoapError),
        (AXIS_REQUEST.replace(b">2024<", b">20x4<"), SoapError),
        (AXIS_REQUEST.replace(b'xsi:type="xsd:int"', b'xsi:type="zz:int"'), SoapError),
        (AXIS_REQUEST.replace(b'xsi:type="xsd:int"', b'xsi:type="xsd:duration"'), SoapError),
        (b"\xff\xfe garbage", InvalidInput),
    ],
)
def test_hostile_requests_are_refused_with_named_errors(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_request(data)


def test_self_referencing_href_is_bounded() -> None:
    data = AXIS_REQUEST.replace(b'soapenc:arrayType="xsd:string[2]" xsi:type="soapenc:Array"', b'href="#id1"')
    with pytest.raises(SoapError, match="nested deeper"):
        decode_request(data)


def test_operations_table_is_consistent() -> None:
    names = [op.name for op in OPERATIONS]
    assert len(names) == len(set(names))
    for op in OPERATIONS:
        assert op.params[0].name.lower() == "certid"
        assert "admDivCode" in op.param_names()
    with pytest.raises(InvalidInput, match="stYear must be int"):
        check_args(operation("readVoucherAgain"), ["001", "420000", "2024", "5201", 100])  # type: ignore[arg-type]


def test_stamp_request_round_trip_and_refusals() -> None:
    from ezhifu.client.stamp_request import build_stamp_request, parse_stamp_request
    from ezhifu.errors import EmptyParameter, InvalidParameter

    text = build_stamp_request({"cz_qm": None, "cz_gz": "seal-01"})
    assert parse_stamp_request(text) == {"cz_qm": None, "cz_gz": "seal-01"}
    assert parse_stamp_request(
        '<?xml version="1.0" encoding="GBK"?><Root><Stamp No="rh_ywzqz">x</Stamp></Root>'
    ) == {"rh_ywzqz": "x"}
    with pytest.raises(EmptyParameter):
        parse_stamp_request("<Root/>")
    with pytest.raises(EmptyParameter):
        parse_stamp_request('<Root><Stamp No=" ">x</Stamp></Root>')
    with pytest.raises(InvalidInput):
        parse_stamp_request("<Root>" + "<Stamp No='a'/>" * 200 + "</Root>")
    with pytest.raises(InvalidParameter):
        build_stamp_request({})
