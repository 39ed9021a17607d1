"""Security review, XML: the hardened parser cannot be sidestepped by the encoding.

libxml2 guesses UTF-16/UCS-4 (no byte-order mark) and EBCDIC from the first four octets
(XML 1.0 Appendix F.1), while :func:`ezhifu.document.xmlparse.parse_xml` scans the text for
``<!DOCTYPE``/``<!ENTITY`` in the declared (ASCII-compatible) encoding. A document in a guessed
encoding must therefore be refused *before* lxml sees it, not only by the DOCTYPE check after
parsing (finding XML-1 in docs/security-review.md).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ezhifu.document import xmlparse
from ezhifu.document.envelope import Envelope
from ezhifu.document.models import Voucher
from ezhifu.document.samples import sample_voucher
from ezhifu.document.xmlparse import declared_encoding, parse_xml
from ezhifu.errors import EzhifuError, HostileInputError, InvalidInput

SRC = Path(__file__).resolve().parents[2] / "src" / "ezhifu"

_DTD_DOC = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x "42">]><a b="&x;">t</a>'


@pytest.fixture
def lxml_never_called(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if the document reaches lxml at all: the refusal must come from the pre-scan."""

    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("lxml was handed a document the pre-scan should have refused")

    monkeypatch.setattr(etree, "fromstring", boom)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_bomless_wide_encodings_with_a_dtd_are_refused_before_parsing(
    codec: str, lxml_never_called: None
) -> None:
    with pytest.raises(InvalidInput):
        parse_xml(_DTD_DOC.encode(codec))


def test_bomless_utf16_plain_document_is_refused() -> None:
    """Negative control for the policy "GBK, GB18030 or UTF-8 only": no BOM, still refused."""
    with pytest.raises(InvalidInput, match=r"NUL|start with"):
        parse_xml("<a>ok</a>".encode("utf-16-le"))
    with pytest.raises(InvalidInput, match="start with"):
        parse_xml("<a>ok</a>".encode("utf-16-be"))


def test_ebcdic_start_is_refused(lxml_never_called: None) -> None:
    data = '<?xml version="1.0" encoding="IBM037"?><a/>'.encode("cp037")
    with pytest.raises(InvalidInput, match="start with"):
        parse_xml(data)


def test_nul_octet_is_hostile_with_its_offset() -> None:
    with pytest.raises(HostileInputError, match="byte offset 4"):
        parse_xml(b"<a>x\x00\x00</a>")


def test_declared_encoding_checks_the_start() -> None:
    assert declared_encoding(b'<?xml version="1.0" encoding="GBK"?><a/>') == ("gbk", 0)
    assert declared_encoding(b"\xef\xbb\xbf<a/>") == ("utf-8", 3)
    assert declared_encoding(b"\n  <a/>") == ("utf-8", 0)  # white space before a root is legal
    assert declared_encoding(b"\n  ") == ("utf-8", 0)  # a streaming reader's first chunk
    with pytest.raises(InvalidInput):
        declared_encoding("<a/>".encode("utf-16-be"))


def test_envelope_and_voucher_readers_refuse_wide_encodings() -> None:
    envelope = Envelope.build([sample_voucher("5201")]).to_bytes(encoding="UTF-8").decode("utf-8")
    wide = envelope.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le")
    with pytest.raises(InvalidInput):
        Envelope.from_bytes(wide)
    voucher = sample_voucher("5201").to_xml().decode("gbk").replace('encoding="GBK"', 'encoding="UTF-16"')
    with pytest.raises(InvalidInput):
        Voucher.from_xml(voucher.encode("utf-16-le"))


def test_still_parses_what_the_interface_uses() -> None:
    """Positive control: GBK, UTF-8 with and without BOM, leading white space."""
    voucher = sample_voucher("5201")
    assert Voucher.from_xml(voucher.to_xml()).voucher_no == voucher.voucher_no
    assert parse_xml(b"\xef\xbb\xbf<a>\xe4\xb8\xad</a>").text == "中"
    assert parse_xml(b'\r\n<?xml version="1.0"?><a/>'.lstrip()).tag == "a"
    assert parse_xml(" <a/>".encode("gb18030")).tag == "a"


def test_no_xml_parser_is_built_outside_the_hardened_modules() -> None:
    """Every XML parse goes through xmlparse.parse_xml, or batch.py's hardened pull parser."""
    allowed = {SRC / "document" / "xmlparse.py", SRC / "verify" / "stream.py"}
    pattern = re.compile(
        r"etree\.(fromstring|XML|parse|iterparse|XMLParser|XMLPullParser|HTML)\s*\("
        r"|\bxml\.dom|\bxml\.sax\.(make_parser|parse)|\bxml\.etree|minidom"
        r"|xmlschema\.(validate|to_dict|iter_errors|XMLResource)\s*\("
    )
    offenders = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if path not in allowed
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_hardened_parser_options() -> None:
    """The options the parser is built with (the ones the review relies on)."""
    parser = xmlparse._new_parser()
    doc = b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/x.dtd"><a/>'
    # Even given straight to the parser (bypassing the pre-scan), nothing is fetched.
    with pytest.raises(etree.XMLSyntaxError, match="network"):
        etree.fromstring(doc, parser)
    entity = b'<!DOCTYPE a [<!ENTITY x "expanded">]><a>&x;</a>'
    assert etree.fromstring(entity, parser).text is None  # not expanded
    with pytest.raises(HostileInputError, match="DOCTYPE"):
        parse_xml(doc)


def test_errors_stay_in_the_ezhifu_tree() -> None:
    for data in (b"\x00", b"\xff\xfe<\x00a\x00/\x00>\x00", b"<a>&x;</a>", b"<a", "<a/>".encode("utf-32")):
        with pytest.raises(EzhifuError):
            parse_xml(data)
