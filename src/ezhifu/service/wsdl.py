"""The WSDL 1.1 (rpc/encoded, as Axis 1.x publishes it) of a service, from the one table.

Generated from :data:`ezhifu.client.operations.OPERATIONS`, so the WSDL, the client and the
service cannot disagree about an operation. Served at ``<service path>?wsdl``. Parameters are
named as in spec.md §6; Axis's dynamic ``Call`` ignores the names and sends ``arg0`` …, which
the service reads by position.
"""

from __future__ import annotations

from lxml import etree

from ezhifu.client.operations import OPERATIONS, Param
from ezhifu.client.soapenc import APACHESOAP, SOAPENC, XSD

__all__ = ["build_wsdl"]

WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDLSOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
_TYPES = {
    "string": "xsd:string",
    "int": "xsd:int",
    "bytes": "xsd:base64Binary",
    "string[]": "impl:ArrayOf_xsd_string",
    "map": "apachesoap:Map",
}


def _w(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{WSDL}}}{tag}", attrs)


def _types(definitions: etree._Element, namespace: str) -> None:
    types = _w(definitions, "types")
    schema = etree.SubElement(types, f"{{{XSD}}}schema", targetNamespace=namespace)
    etree.SubElement(schema, f"{{{XSD}}}import", namespace=SOAPENC)
    array = etree.SubElement(schema, f"{{{XSD}}}complexType", name="ArrayOf_xsd_string")
    content = etree.SubElement(array, f"{{{XSD}}}complexContent")
    restriction = etree.SubElement(content, f"{{{XSD}}}restriction", base="soapenc:Array")
    etree.SubElement(
        restriction,
        f"{{{XSD}}}attribute",
        {"ref": "soapenc:arrayType", f"{{{WSDL}}}arrayType": "xsd:string[]"},
    )
    apache = etree.SubElement(types, f"{{{XSD}}}schema", targetNamespace=APACHESOAP)
    etree.SubElement(apache, f"{{{XSD}}}import", namespace=SOAPENC)
    item = etree.SubElement(apache, f"{{{XSD}}}complexType", name="mapItem")
    seq = etree.SubElement(item, f"{{{XSD}}}sequence")
    for name in ("key", "value"):
        etree.SubElement(seq, f"{{{XSD}}}element", name=name, nillable="true", type="xsd:anyType")
    map_type = etree.SubElement(apache, f"{{{XSD}}}complexType", name="Map")
    seq = etree.SubElement(map_type, f"{{{XSD}}}sequence")
    etree.SubElement(
        seq, f"{{{XSD}}}element", name="item", minOccurs="0", maxOccurs="unbounded", type="apachesoap:mapItem"
    )


def _part(message: etree._Element, param: Param) -> None:
    _w(message, "part", name=param.name, type=_TYPES[param.type])


def build_wsdl(service_name: str, location: str, *, namespace: str = "urn:ezhifu:voucher-library") -> bytes:
    """The WSDL document of ``service_name`` at ``location`` (the endpoint URL)."""
    nsmap = {
        "wsdl": WSDL,
        "wsdlsoap": WSDLSOAP,
        "xsd": XSD,
        "soapenc": SOAPENC,
        "apachesoap": APACHESOAP,
        "impl": namespace,
    }
    definitions = etree.Element(f"{{{WSDL}}}definitions", targetNamespace=namespace, nsmap=nsmap)
    _types(definitions, namespace)
    for op in OPERATIONS:
        request = _w(definitions, "message", name=f"{op.name}Request")
        for param in op.params:
            _part(request, param)
        response = _w(definitions, "message", name=f"{op.name}Response")
        if op.returns != "void":
            _w(response, "part", name=f"{op.name}Return", type=_TYPES[op.returns])
    port_type = _w(definitions, "portType", name=service_name)
    for op in OPERATIONS:
        element = _w(port_type, "operation", name=op.name, parameterOrder=" ".join(op.param_names()))
        _w(element, "documentation").text = f"{op.summary} (spec.md §6, clause {op.clause})"
        _w(element, "input", name=f"{op.name}Request", message=f"impl:{op.name}Request")
        _w(element, "output", name=f"{op.name}Response", message=f"impl:{op.name}Response")
    binding = _w(definitions, "binding", name=f"{service_name}SoapBinding", type=f"impl:{service_name}")
    etree.SubElement(
        binding, f"{{{WSDLSOAP}}}binding", style="rpc", transport="http://schemas.xmlsoap.org/soap/http"
    )
    for op in OPERATIONS:
        element = _w(binding, "operation", name=op.name)
        etree.SubElement(element, f"{{{WSDLSOAP}}}operation", soapAction="")
        for direction in ("input", "output"):
            io = _w(element, direction, name=f"{op.name}{'Request' if direction == 'input' else 'Response'}")
            etree.SubElement(
                io, f"{{{WSDLSOAP}}}body", use="encoded", encodingStyle=SOAPENC, namespace=namespace
            )
    service = _w(definitions, "service", name=f"{service_name}Service")
    port = _w(service, "port", name=service_name, binding=f"impl:{service_name}SoapBinding")
    etree.SubElement(port, f"{{{WSDLSOAP}}}address", location=location)
    return bytes(etree.tostring(definitions, xml_declaration=True, encoding="UTF-8", pretty_print=True))
