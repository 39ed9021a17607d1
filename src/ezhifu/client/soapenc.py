"""SOAP 1.1 rpc/encoded messages as Apache Axis 1.x writes and reads them (spec.md §6).

No maintained Python library speaks SOAP *encoded* RPC any more: zeep reads WSDL and speaks
document/literal (its rpc/encoded support stops at simple types, no ``soapenc:Array`` with
``href``/``multiRef``), spyne is unmaintained. The subset the 凭证库 clients use is small, so it
is written here on lxml, parsed with the project's hardened parser
(:func:`ezhifu.document.xmlparse.parse_xml`: no DTD, no entities, bounded size and depth):

* a request is ``Body/<operation>`` with one child per positional argument (Axis names them
  ``arg0`` … when the call declares no parameters), each typed with ``xsi:type``: ``xsd:string``,
  ``xsd:int``, ``xsd:base64Binary`` / ``soapenc:base64`` (Java ``byte[]``), ``soapenc:Array``
  (Java ``String[]``), ``xsi:nil``; Axis sends arrays as ``href="#id0"`` with a ``multiRef``
  sibling of the operation element, and both forms are read;
* a response is ``Body/<operation>Response/<operation>Return`` typed the same way, a Java
  ``Map`` as ``apachesoap:Map`` (``item``/``key``/``value``), an ``Object[]`` as an array of
  ``xsd:anyType``;
* a fault is ``Body/Fault`` with ``faultcode`` and ``faultstring``; the 凭证库 fault strings hold
  ``Exception:`` and the EVS code (:class:`~ezhifu.errors.ServiceFault`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from lxml import etree

from ezhifu.document.xmlparse import parse_xml
from ezhifu.errors import HostileInputError, InvalidInput, ServiceFault, SoapError

__all__ = [
    "APACHESOAP",
    "MAX_ARRAY_ITEMS",
    "MAX_SOAP_BYTES",
    "SOAPENC",
    "SOAPENV",
    "XSD",
    "XSI",
    "Fault",
    "SoapRequest",
    "SoapValue",
    "decode_request",
    "decode_response",
    "encode_fault",
    "encode_request",
    "encode_response",
]

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAPENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
APACHESOAP = "http://xml.apache.org/xml-soap"

#: A SOAP message larger than this is refused (100 vouchers of a few KB each fit easily).
MAX_SOAP_BYTES = 32 * 1024 * 1024
#: Items of one array or map, arguments of one call, multiRef elements of one message.
MAX_ARRAY_ITEMS = 10_000
MAX_ARGS = 32
MAX_NESTING = 4

SoapValue: TypeAlias = str | int | bytes | list["SoapValue"] | dict[str, "SoapValue"] | None

_NSMAP = {"soapenv": SOAPENV, "xsd": XSD, "xsi": XSI, "soapenc": SOAPENC, "apachesoap": APACHESOAP}
_XSI_TYPE = f"{{{XSI}}}type"
_XSI_NIL = f"{{{XSI}}}nil"
_ARRAY_TYPE = f"{{{SOAPENC}}}arrayType"
_INT_TYPES = frozenset({"int", "long", "short", "integer", "byte"})
_STRING_TYPES = frozenset({"string", "anyURI", "QName", "normalizedString", "token"})


@dataclass(frozen=True, slots=True)
class SoapRequest:
    operation: str
    namespace: str
    args: list[SoapValue]


@dataclass(frozen=True, slots=True)
class Fault:
    faultcode: str
    faultstring: str


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def _type_of(element: etree._Element) -> tuple[str, str] | None:
    """``(namespace, local name)`` of the element's ``xsi:type``, None without one."""
    value = element.get(_XSI_TYPE)
    if not value:
        return None
    prefix, _, local = value.rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    if namespace is None and prefix:
        raise SoapError(f"SOAP element <{_local(element.tag)}>: xsi:type prefix {prefix!r} is not declared")
    return namespace or "", local


class _Reader:
    """Decodes typed values, following ``href`` to ``multiRef`` (bounded, no cycles)."""

    def __init__(self, refs: Mapping[str, etree._Element]) -> None:
        self.refs = refs

    def value(self, element: etree._Element, where: str, depth: int = 0) -> SoapValue:
        if depth > MAX_NESTING:
            raise SoapError(f"{where}: values nested deeper than {MAX_NESTING}")
        href = element.get("href")
        if href is not None:
            target = self.refs.get(href.removeprefix("#"))
            if target is None or not href.startswith("#"):
                raise SoapError(f"{where}: href {href!r} names no multiRef element")
            return self.value(target, where, depth + 1)
        if element.get(_XSI_NIL) in ("true", "1"):
            return None
        kind = _type_of(element)
        children = list(element)
        text = element.text or ""
        if kind is None:
            if not children:
                return text
            kind = (SOAPENC, "Array")
        namespace, local = kind
        if local == "Array" or element.get(_ARRAY_TYPE) is not None:
            if len(children) > MAX_ARRAY_ITEMS:
                raise SoapError(f"{where}: array of {len(children)} items exceeds {MAX_ARRAY_ITEMS}")
            return [self.value(c, f"{where}[{i}]", depth + 1) for i, c in enumerate(children)]
        if local == "Map" and namespace == APACHESOAP:
            return self._map(children, where, depth)
        if local in ("base64Binary", "base64"):
            try:
                return base64.b64decode("".join(text.split()), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise SoapError(f"{where}: not valid base64: {exc}") from exc
        if local in _INT_TYPES:
            try:
                return int(text.strip())
            except ValueError as exc:
                raise SoapError(f"{where}: {text.strip()[:40]!r} is not an xsd:{local}") from exc
        if local in _STRING_TYPES or local == "anyType":
            return text
        raise SoapError(f"{where}: unsupported xsi:type {local!r}")

    def _map(self, items: list[etree._Element], where: str, depth: int) -> dict[str, SoapValue]:
        if len(items) > MAX_ARRAY_ITEMS:
            raise SoapError(f"{where}: map of {len(items)} entries exceeds {MAX_ARRAY_ITEMS}")
        out: dict[str, SoapValue] = {}
        for i, item in enumerate(items):
            parts = {_local(c.tag): c for c in item}
            if "key" not in parts or "value" not in parts:
                raise SoapError(f"{where}: map item {i} lacks <key> or <value>")
            key = self.value(parts["key"], f"{where}.key[{i}]", depth + 1)
            name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
            out[name] = self.value(parts["value"], f"{where}[{name}]", depth + 1)
        return out


def _body(data: bytes, what: str) -> tuple[etree._Element, dict[str, etree._Element]]:
    try:
        root = parse_xml(data, what=what, max_bytes=MAX_SOAP_BYTES, max_elements=4 * MAX_ARRAY_ITEMS + 100)
    except HostileInputError:
        raise
    except InvalidInput as exc:
        raise SoapError(str(exc)) from exc
    if root.tag != f"{{{SOAPENV}}}Envelope":
        raise SoapError(f"{what}: the root is <{_local(root.tag)}>, not a SOAP 1.1 Envelope")
    bodies = [c for c in root if c.tag == f"{{{SOAPENV}}}Body"]
    if len(bodies) != 1:
        raise SoapError(f"{what}: expected one soapenv:Body, found {len(bodies)}")
    entries = [c for c in bodies[0] if isinstance(c.tag, str)]
    if not entries:
        raise SoapError(f"{what}: the soapenv:Body is empty")
    refs: dict[str, etree._Element] = {}
    for entry in entries[1:]:
        ref_id = entry.get("id")
        if ref_id is None:
            raise SoapError(f"{what}: Body entry <{_local(entry.tag)}> after the call has no id")
        refs[ref_id] = entry
    return entries[0], refs


def decode_request(data: bytes) -> SoapRequest:
    """The operation name, its namespace and positional arguments of an rpc/encoded request."""
    call, refs = _body(data, "SOAP request")
    children = [c for c in call if isinstance(c.tag, str)]
    if len(children) > MAX_ARGS:
        raise SoapError(f"SOAP request: {len(children)} arguments exceed the limit of {MAX_ARGS}")
    reader = _Reader(refs)
    name = _local(call.tag)
    args = [reader.value(c, f"{name} argument {i + 1} <{_local(c.tag)}>") for i, c in enumerate(children)]
    return SoapRequest(name, etree.QName(call).namespace or "", args)


def decode_response(data: bytes) -> SoapValue:
    """The return value of a response; a fault raises :class:`ServiceFault` with its string."""
    entry, refs = _body(data, "SOAP response")
    if entry.tag == f"{{{SOAPENV}}}Fault":
        fault = {_local(c.tag): (c.text or "") for c in entry}
        raise _fault_error(fault.get("faultstring", ""))
    children = [c for c in entry if isinstance(c.tag, str)]
    if not children:
        return None
    return _Reader(refs).value(children[0], f"{_local(entry.tag)} return value")


def _fault_error(faultstring: str) -> ServiceFault:
    """A :class:`ServiceFault` carrying the code and text after ``Exception:`` (as clients parse)."""
    marker = faultstring.find("Exception:")
    tail = faultstring[marker + len("Exception:") :] if marker >= 0 else faultstring
    code, sep, rest = tail.strip().partition("#")
    if sep and code.startswith("EVS") and len(code) <= 8:
        zh, _, detail = rest.partition(" / ")
        return ServiceFault(detail, code=code, zh=zh)
    return ServiceFault(tail.strip()[:2000])


# --- writing -----------------------------------------------------------------------------


def _envelope() -> tuple[etree._Element, etree._Element]:
    root = etree.Element(f"{{{SOAPENV}}}Envelope", nsmap=_NSMAP)
    body = etree.SubElement(root, f"{{{SOAPENV}}}Body")
    return root, body


def _put(element: etree._Element, value: SoapValue) -> None:
    """Write ``value`` into ``element`` with its ``xsi:type`` (Axis's default mappings)."""
    if value is None:
        element.set(_XSI_NIL, "true")
    elif isinstance(value, bool):
        raise SoapError("booleans are not part of the 凭证库 interface")
    elif isinstance(value, int):
        element.set(_XSI_TYPE, "xsd:int")
        element.text = str(value)
    elif isinstance(value, str):
        element.set(_XSI_TYPE, "xsd:string")
        element.text = value
    elif isinstance(value, bytes | bytearray):
        element.set(_XSI_TYPE, "xsd:base64Binary")
        element.text = base64.b64encode(bytes(value)).decode("ascii")
    elif isinstance(value, dict):
        element.set(_XSI_TYPE, "apachesoap:Map")
        for key, item_value in value.items():
            item = etree.SubElement(element, "item")
            _put(etree.SubElement(item, "key"), str(key))
            _put(etree.SubElement(item, "value"), item_value)
    elif isinstance(value, list):
        all_strings = all(isinstance(v, str) for v in value)
        element.set(_XSI_TYPE, "soapenc:Array")
        element.set(_ARRAY_TYPE, f"xsd:{'string' if all_strings else 'anyType'}[{len(value)}]")
        for v in value:
            _put(etree.SubElement(element, "item"), v)
    else:
        raise SoapError(f"cannot encode a {type(value).__name__} in SOAP")


def _serialise(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def encode_request(operation: str, args: Sequence[SoapValue], *, namespace: str = "") -> bytes:
    """An rpc/encoded request as Axis's dynamic ``Call.invoke`` writes it (``arg0`` …)."""
    root, body = _envelope()
    tag = f"{{{namespace}}}{operation}" if namespace else operation
    call = etree.SubElement(body, tag, nsmap={"ns1": namespace} if namespace else None)
    call.set(f"{{{SOAPENV}}}encodingStyle", SOAPENC)
    for i, value in enumerate(args):
        _put(etree.SubElement(call, f"arg{i}"), value)
    return _serialise(root)


def encode_response(operation: str, value: SoapValue, *, namespace: str = "", void: bool = False) -> bytes:
    """The response to ``operation``: ``<operationResponse><operationReturn>`` (none when void)."""
    root, body = _envelope()
    tag = f"{{{namespace}}}{operation}Response" if namespace else f"{operation}Response"
    response = etree.SubElement(body, tag, nsmap={"ns1": namespace} if namespace else None)
    response.set(f"{{{SOAPENV}}}encodingStyle", SOAPENC)
    if not void:
        _put(etree.SubElement(response, f"{operation}Return"), value)
    return _serialise(root)


def encode_fault(faultstring: str, *, faultcode: str = "soapenv:Server.userException") -> bytes:
    """A SOAP 1.1 fault (sent with HTTP 500, as Axis servers do)."""
    root, body = _envelope()
    fault = etree.SubElement(body, f"{{{SOAPENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = faultcode
    etree.SubElement(fault, "faultstring").text = faultstring
    etree.SubElement(fault, "detail")
    return _serialise(root)
