"""The writer without a tree (``document/xmlwrite.py``) gives the bytes lxml gives.

The oracle is the writer it replaced, copied here as it was (lxml trees serialised by
``etree.tostring(..., pretty_print=True)``): every voucher and envelope, of every VtCode, with
hostile field text (markup characters, quotes, CR/LF, TAB, non-BMP, characters GBK lacks or
that libxml2's GBK table maps otherwise than Python's), is written to the same bytes, and a
value XML cannot carry (control characters, lone surrogates) is refused with the same error.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ezhifu.document import xmlwrite
from ezhifu.document.envelope import Envelope, SignatureElement, SignStampElement, VoucherBody
from ezhifu.document.fields import known_vt_codes
from ezhifu.document.models import Voucher
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import InvalidInput

_CODECS = ("gbk", "utf-8", "gb18030")
_GBK_DECL = b'<?xml version="1.0" encoding="GBK"?>\n'


# --- the oracle: the writers before xmlwrite, unchanged ----------------------------------------


def _old_voucher_xml(v: Voucher) -> bytes:
    try:
        root = etree.Element("Voucher", dict(v.attributes))

        def details() -> None:
            if not v.detail_list:
                return
            container = etree.SubElement(root, "DetailList")
            for row in v.details:
                node = etree.SubElement(container, "Detail")
                for name, value in row:
                    etree.SubElement(node, name).text = value

        for i, (name, value) in enumerate(v.fields):
            if i == v.detail_index:
                details()
            etree.SubElement(root, name).text = value
        if v.detail_index == len(v.fields):
            details()
        body = etree.tostring(root, encoding="GBK", xml_declaration=False, pretty_print=True)
    except ValueError as exc:
        raise InvalidInput(f"/Voucher: cannot serialise: {exc}") from exc
    assert isinstance(body, bytes)
    return _GBK_DECL + body


def _old_body_element(b: VoucherBody) -> etree._Element:
    node = etree.Element("VoucherBody")
    values = {
        "AdmDivCode": b.adm_div_code,
        "StYear": b.st_year,
        "VtCode": b.vt_code,
        "VoucherNo": b.voucher_no,
    }
    values.update(b.extra_attributes)
    names = [a for a in b.attribute_order if a in values]
    names += [a for a in values if a not in names]
    for attr in names:
        node.set(attr, values[attr])
    texts = {
        "VoucherFlag": b.voucher_flag,
        "Return_Reason": b.return_reason or "",
        "Attach": b.attach or "",
        "Voucher": b.voucher_b64,
    }
    for tag in b._children_to_write():
        child = etree.SubElement(node, tag)
        if tag in texts:
            child.text = texts[tag]
            continue
        items = b.stamps if tag == "SignStampList" else b.signatures
        for item in items:
            leaf = etree.SubElement(child, "SignStamp" if tag == "SignStampList" else "Signature")
            leaf.set("No", item.no)
            leaf.set("SN", item.sn)
            leaf.text = item.value
    return node


def _old_envelope_bytes(env: Envelope, encoding: str) -> bytes:
    root = etree.Element("MOF")
    etree.SubElement(root, "VoucherCount").text = str(len(env.bodies))
    try:
        for body in env.bodies:
            root.append(_old_body_element(body))
        data = etree.tostring(root, encoding=encoding, xml_declaration=False, pretty_print=True)
    except ValueError as exc:
        raise InvalidInput(f"envelope: cannot serialise: {exc}") from exc
    assert isinstance(data, bytes)
    return f'<?xml version="1.0" encoding="{encoding}"?>\n'.encode("ascii") + data


def _same(mine: Callable[[], bytes], oracle: Callable[[], bytes]) -> None:
    """Both give the same bytes, or both refuse with the same message."""
    try:
        expected = oracle()
    except InvalidInput as exc:
        with pytest.raises(InvalidInput) as refused:
            mine()
        assert str(refused.value) == str(exc)
        return
    assert mine() == expected


# --- hostile text ------------------------------------------------------------------------------

_HOSTILE = [
    "&<>\"'",
    "a\rb\r\nc\n",
    "\t tab",
    "]]>",
    "&amp;",
    "\U0001f600 non-BMP",
    "€",  # one byte to Python's GBK, a character reference to libxml2's
    "・\ue000\u00b7—…",
    "　、。《》【】ＡＢ￥",
    "中文名称·维吾尔",
    "\x01",  # refused by lxml
    "\x7f\x85\u2028",
    "\ud800",  # a lone surrogate: refused
    "\ufffe",
]
_texts = (
    st.sampled_from(_HOSTILE)
    | st.text(alphabet=st.characters(exclude_categories=()), max_size=12)  # surrogates too
    | st.text(alphabet="&<>\"'\r\n\t 中·€😀\x00\x1fA", max_size=8)
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    vt=st.sampled_from(known_vt_codes()),
    details=st.integers(0, 3),
    edits=st.lists(st.tuples(st.integers(0, 10_000), _texts), max_size=4),
    detail_edit=st.none() | _texts,
)
def test_a_voucher_is_written_as_lxml_wrote_it(
    vt: str, details: int, edits: list[tuple[int, str]], detail_edit: str | None
) -> None:
    voucher = sample_voucher(vt, details=details, seed=details)
    names = [n for n in voucher.field_names if n != "VtCode"]
    changes = {names[i % len(names)]: text for i, text in edits}
    rows = list(voucher.details)
    if rows and detail_edit is not None and rows[0].names:
        rows[0] = rows[0].replace(**{rows[0].names[-1]: detail_edit})
    try:
        voucher = voucher.replace(details=rows, **changes)
    except InvalidInput:
        return  # the model refuses it (not a question of writing)
    _same(voucher.to_xml, lambda: _old_voucher_xml(voucher))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    vt=st.sampled_from(known_vt_codes()),
    reason=st.none() | _texts,
    number=_texts,
    stamp=st.tuples(_texts, _texts),
    extra=st.booleans(),
    encoding=st.sampled_from(["GBK", "UTF-8", "GB18030"]),
)
def test_an_envelope_is_written_as_lxml_wrote_it(
    vt: str, reason: str | None, number: str, stamp: tuple[str, str], extra: bool, encoding: str
) -> None:
    env = Envelope.build([sample_voucher(vt, details=1, seed=2), sample_voucher(vt, details=0, seed=3)])
    first = env.bodies[0]
    first.return_reason, first.voucher_no = reason, number
    first.stamps = [SignStampElement(no=stamp[0], sn="b" * 32, value=stamp[1])]
    first.signatures = [SignatureElement(no="cz_dwfz", sn=stamp[0], value="AAAA")]
    if extra:
        first.extra_attributes = (("Extra", stamp[1]),)
        first.attribute_order = ("VoucherNo", "Extra", "VtCode")
    _same(lambda: env.to_bytes(encoding), lambda: _old_envelope_bytes(env, encoding))


def test_every_voucher_type_takes_the_fast_writer_and_gives_lxml_bytes() -> None:
    for vt in known_vt_codes():
        for details in (0, 1, 5):
            voucher = sample_voucher(vt, details=details, seed=details)
            assert xmlwrite.write(voucher._element(), "gbk") is not None, vt
            assert voucher.to_xml() == _old_voucher_xml(voucher)
            env = Envelope.build([voucher])
            for encoding in ("GBK", "UTF-8", "GB18030"):
                assert env.to_bytes(encoding) == _old_envelope_bytes(env, encoding)


def test_every_basic_plane_character_is_written_as_lxml_writes_it() -> None:
    """Every plain character, in a text and in an attribute value of its own, is written to
    lxml's bytes by the fast writer; every other code point of the BMP is left to lxml."""
    plain = [chr(c) for lo, hi in xmlwrite.PLAIN_RANGES for c in range(lo, hi + 1)]
    node = xmlwrite.Element(
        "a", (), [xmlwrite.Element("b", (("c", ch),), [xmlwrite.Leaves([("d", ch)])]) for ch in plain]
    )
    others = set(range(0x10000)) - {ord(c) for c in plain} - set(range(0xD800, 0xE000))
    for codec in _CODECS:
        assert xmlwrite.writes_like_lxml(codec)
        assert xmlwrite.write(node, codec) == xmlwrite.reference(node, codec)
        for cp in others:
            assert xmlwrite.write(xmlwrite.Element("a", (), chr(cp)), codec) is None, hex(cp)
            assert xmlwrite.write(xmlwrite.Element("a", (("b", chr(cp)),)), codec) is None, hex(cp)


def test_the_reference_is_lxmls_own_tree() -> None:
    """``reference`` and ``tree`` build what the old code built (attributes in order, empty
    containers written empty, an element with an empty text as a start and end tag)."""
    node = xmlwrite.Element(
        "R",
        (("z", "1"), ("a", "2")),
        [
            xmlwrite.Leaves([("A", ""), ("B", "x")]),
            xmlwrite.Element("L"),
            xmlwrite.Element("M", (), [xmlwrite.Leaves([])]),
            xmlwrite.Element("S", (("No", "n"),), "t"),
            ("C", "&"),
        ],
    )
    expected = (
        b'<R z="1" a="2">\n  <A></A>\n  <B>x</B>\n  <L/>\n  <M/>\n  <S No="n">t</S>\n  <C>&amp;</C>\n</R>\n'
    )
    assert xmlwrite.reference(node, "gbk") == expected
    assert xmlwrite.write(node, "gbk") == expected


class _Loud(str):
    def __str__(self) -> str:
        return "forged"

    def __format__(self, spec: str) -> str:
        return "forged"


@pytest.mark.parametrize(
    "node",
    [
        xmlwrite.Element("a", (), [("b", _Loud("real"))]),  # a str subclass: lxml reads its characters
        xmlwrite.Element("a", (("x", "1"), ("x", "2"))),  # lxml keeps the last of a repeated name
        xmlwrite.Element("a", (("{urn:x}y", "1"),)),  # a namespaced name: lxml declares it
        xmlwrite.Element("a", (), [("b c", "1")]),
        xmlwrite.Element("a", (), [("b", "\x85")]),  # not a plain character
    ],
)
def test_anything_not_plain_is_left_to_lxml(node: xmlwrite.Element) -> None:
    assert xmlwrite.write(node, "gbk") is None
    try:
        expected = xmlwrite.reference(node, "gbk")
    except ValueError:
        with pytest.raises(InvalidInput, match=r"^x: cannot serialise: "):
            xmlwrite.serialise(node, "gbk", where="x")
        return
    assert xmlwrite.serialise(node, "gbk", where="x") == expected


def test_a_str_subclass_is_written_by_its_characters() -> None:
    voucher = sample_voucher("5201", details=1, seed=1)
    loud = Voucher(
        [(n, _Loud(v)) if n == "AgencyName" else (n, v) for n, v in voucher.fields],
        voucher.details,
    )
    assert loud.to_xml() == _old_voucher_xml(loud) == voucher.to_xml()
