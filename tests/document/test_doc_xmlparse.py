"""The hardened parser: hostile documents, encodings, limits (parsing.md findings)."""

from __future__ import annotations

import pytest

from ezhifu.document.xmlparse import element_text, parse_xml, source_line
from ezhifu.errors import DecodingError, HostileInputError, InvalidInput

GBK_DECL = b'<?xml version="1.0" encoding="GBK"?>\n'

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<MOF>&lol3;</MOF>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE MOF [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<MOF>&xxe;</MOF>"""

EXTERNAL_DTD = b'<?xml version="1.0"?>\n<!DOCTYPE MOF SYSTEM "http://example.invalid/mof.dtd">\n<MOF/>'

ATTLIST_DEFAULT = b"""<?xml version="1.0"?>
<!DOCTYPE MOF [<!ATTLIST VoucherBody VtCode CDATA "5201">]>
<MOF><VoucherBody/></MOF>"""


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, XXE, EXTERNAL_DTD, ATTLIST_DEFAULT, b"<!DOCTYPE MOF><MOF/>"])
def test_any_doctype_is_refused(doc: bytes) -> None:
    with pytest.raises(HostileInputError, match="DOCTYPE"):
        parse_xml(doc)


def test_doctype_in_gbk_document_is_refused_with_line() -> None:
    doc = GBK_DECL + "<!-- 中文 -->\n".encode("gbk") + b"<!DOCTYPE MOF [<!ENTITY a 'b'>]>\n<MOF/>"
    with pytest.raises(HostileInputError, match="line 3"):
        parse_xml(doc)


def test_gbk_document_is_read() -> None:
    root = parse_xml(GBK_DECL + "<MOF><Name>湖北省财政厅</Name></MOF>".encode("gbk"))
    assert root.findtext("Name") == "湖北省财政厅"
    assert source_line(root[0]) == 2


def test_gb18030_document_with_four_byte_character_is_read() -> None:
    text = "<?xml version='1.0' encoding='GB18030'?><a>\U00020000 € 㐀</a>"
    root = parse_xml(text.encode("gb18030"))
    assert root.text == "\U00020000 € 㐀"


def test_utf8_document_with_and_without_declaration() -> None:
    assert parse_xml("<a>人民币</a>".encode()).text == "人民币"
    assert parse_xml('<?xml version="1.0" encoding="UTF-8"?><a>人民币</a>'.encode()).text == "人民币"
    assert parse_xml(b"\xef\xbb\xbf<a>x</a>").text == "x"


def test_invalid_gbk_bytes_report_their_byte_offset() -> None:
    prefix = GBK_DECL + "<a>中".encode("gbk")
    data = prefix + b"\xff\x30</a>"
    with pytest.raises(DecodingError) as info:
        parse_xml(data)
    assert info.value.offset == len(prefix)
    assert f"byte offset {len(prefix)}" in str(info.value)


def test_invalid_utf8_bytes_report_their_byte_offset() -> None:
    data = b"<a>ok\xc3\x28</a>"
    with pytest.raises(DecodingError) as info:
        parse_xml(data)
    assert info.value.offset == 5


def test_gbk_bytes_without_declaration_are_not_utf8() -> None:
    data = "<a>中文</a>".encode("gbk")
    with pytest.raises(DecodingError) as info:
        parse_xml(data)
    assert info.value.offset == 3


@pytest.mark.parametrize(
    "doc",
    [
        b'<?xml version="1.0" encoding="ISO-8859-1"?><a/>',
        b'<?xml version="1.0" encoding="UTF-16"?><a/>',
        "<a/>".encode("utf-16"),
        b'\xef\xbb\xbf<?xml version="1.0" encoding="GBK"?><a/>',
    ],
)
def test_unsupported_encodings_are_refused(doc: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_xml(doc)


def test_comment_inside_value_is_refused() -> None:
    # lxml's .text would be '1' (parsing.md "Values")
    with pytest.raises(HostileInputError, match="comment inside the value of <PayAmt>"):
        parse_xml(b"<Voucher><PayAmt>1<!---->00.00</PayAmt></Voucher>")


def test_processing_instruction_inside_value_is_refused() -> None:
    with pytest.raises(HostileInputError, match="processing instruction"):
        parse_xml(b"<Voucher><PayAmt><?x y?>100.00</PayAmt></Voucher>")


def test_comment_between_elements_is_accepted() -> None:
    root = parse_xml(b"<Voucher>\n  <!-- header -->\n  <PayAmt>1.00</PayAmt>\n</Voucher>")
    assert root.findtext("PayAmt") == "1.00"


def test_size_cap_applies_before_parsing() -> None:
    with pytest.raises(HostileInputError, match="exceeds the limit"):
        parse_xml(b"<a>" + b"x" * 2000 + b"</a>", max_bytes=1000)


def test_depth_cap() -> None:
    doc = b"<a>" * 20 + b"</a>" * 20
    with pytest.raises(HostileInputError, match="nesting deeper than 16"):
        parse_xml(doc)
    assert parse_xml(doc, max_depth=20).tag == "a"


def test_huge_text_node_refused_by_libxml2() -> None:
    doc = b"<a>" + b"x" * 11_000_000 + b"</a>"
    with pytest.raises(HostileInputError):
        parse_xml(doc)


def test_not_well_formed_reports_line() -> None:
    with pytest.raises(InvalidInput, match="line 2") as info:
        parse_xml(b"<a>\n<b></a>")
    assert not isinstance(info.value, HostileInputError)


@pytest.mark.parametrize("doc", [b"", b"   ", b"not xml"])
def test_empty_or_garbage(doc: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_xml(doc)


def test_non_bytes_refused() -> None:
    with pytest.raises(InvalidInput, match="expected bytes"):
        parse_xml("<a/>")  # type: ignore[arg-type]


def test_element_text_is_strict() -> None:
    root = parse_xml(b"<V><A>x</A><B><C/></B><D/></V>")
    assert element_text(root[0]) == "x"
    assert element_text(root[2]) == ""
    with pytest.raises(InvalidInput, match="text only"):
        element_text(root[1])


def test_no_network_access_for_external_entities_even_inside_values() -> None:
    # an undeclared entity cannot be resolved without a DTD: plain syntax error
    with pytest.raises(InvalidInput):
        parse_xml(b"<a>&xxe;</a>")
