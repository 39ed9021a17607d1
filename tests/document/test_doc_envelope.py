"""The <MOF> envelope: reading as producers write it, writing back unchanged, refusing tricks."""

from __future__ import annotations

import base64

import pytest
from doc_support import VT_CODES
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.document.envelope import (
    BodyNotFound,
    Envelope,
    SignatureElement,
    SignStampElement,
    VoucherBody,
    decode_base64_strict,
)
from ezhifu.document.models import Voucher
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import DecodingError, HostileInputError, InvalidInput


def _b64(voucher: Voucher) -> str:
    return base64.b64encode(voucher.to_xml()).decode("ascii")


# The shape of spec.md §9 (S9 messageFormatUtil.assembleXML): one line, Return_Reason present.
def _s9_style(voucher: Voucher, *, flag: str = "0", reason: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="GBK"?><MOF><VoucherCount>1</VoucherCount>'
        f'<VoucherBody AdmDivCode="{voucher.adm_div_code}" StYear="{voucher.st_year}" '
        f'VtCode="{voucher.vt_code}" VoucherNo="{voucher.voucher_no}"><VoucherFlag>{flag}</VoucherFlag>'
        f"<Return_Reason>{reason}</Return_Reason><Attach></Attach><Voucher>{_b64(voucher)}</Voucher>"
        "</VoucherBody></MOF>"
    ).encode("gbk")


# The 2024 form of spec.md §5.3 (S8): VoucherNo first, no Return_Reason/Attach, both lists.
def _s8_style(voucher: Voucher, b64: str | None = None) -> bytes:
    return (
        '<?xml version="1.0" encoding="GBK"?>\n<MOF>\n  <VoucherCount>1</VoucherCount>\n'
        f'  <VoucherBody VoucherNo="{voucher.voucher_no}" AdmDivCode="{voucher.adm_div_code}" '
        f'StYear="{voucher.st_year}" VtCode="{voucher.vt_code}">\n'
        "    <VoucherFlag>0</VoucherFlag>\n"
        f"    <Voucher>{b64 or _b64(voucher)}</Voucher>\n"
        "    <SignStampList />\n"
        "    <SignatureList>\n"
        '      <Signature No="cz_dwfz" SN="3f38e4aaee0c2acb">MIIFlgYJKoZIhvcNAQcCoIIFhzCC</Signature>\n'
        "    </SignatureList>\n"
        "  </VoucherBody>\n</MOF>\n"
    ).encode("gbk")


@pytest.mark.parametrize("vt", VT_CODES)
def test_build_serialize_parse_every_type(vt: str) -> None:
    voucher = sample_voucher(vt, details=2)
    envelope = Envelope.build([voucher])
    data = envelope.to_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="GBK"?>')
    again = Envelope.from_bytes(data)
    assert again == envelope
    body = again.bodies[0]
    assert (body.vt_code, body.voucher_no, body.adm_div_code, body.st_year) == (
        vt,
        voucher.voucher_no,
        "420000",
        voucher.st_year,
    )
    assert body.voucher == voucher
    assert body.voucher_xml == voucher.to_xml()
    assert again.to_bytes() == data


def test_several_bodies_and_lookup() -> None:
    vouchers = [sample_voucher("5201", seed=i) for i in range(3)]
    envelope = Envelope.from_bytes(Envelope.build(vouchers).to_bytes())
    assert [b.voucher_no for b in envelope.bodies] == [v.voucher_no for v in vouchers]
    assert envelope.body(vouchers[1].voucher_no).voucher == vouchers[1]
    with pytest.raises(BodyNotFound, match="NOPE"):
        envelope.body("NOPE")


def test_s9_single_line_envelope_is_read_and_written_back() -> None:
    voucher = sample_voucher("5207")
    data = _s9_style(voucher, reason="退回原因")
    envelope = Envelope.from_bytes(data)
    body = envelope.bodies[0]
    assert body.return_reason == "退回原因" and body.attach == ""
    assert body.signatures == [] and body.stamps == []
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert b"<SignatureList" not in envelope.to_bytes()  # not invented


def test_s8_form_keeps_attribute_order_and_empty_list() -> None:
    voucher = sample_voucher("5214")
    envelope = Envelope.from_bytes(_s8_style(voucher))
    body = envelope.bodies[0]
    assert body.attribute_order == ("VoucherNo", "AdmDivCode", "StYear", "VtCode")
    assert body.return_reason is None and body.attach is None
    assert body.signatures == [
        SignatureElement("cz_dwfz", "3f38e4aaee0c2acb", "MIIFlgYJKoZIhvcNAQcCoIIFhzCC")
    ]
    assert body.signatures[0].line == 9
    out = envelope.to_bytes().decode("gbk")
    assert out.index('VoucherNo="') < out.index('AdmDivCode="')
    assert "<SignStampList/>" in out
    assert "<Return_Reason>" not in out and "<Attach>" not in out
    assert out.index("<SignStampList/>") < out.index("<SignatureList>")
    assert Envelope.from_bytes(out.encode("gbk")) == envelope


def test_utf8_envelope_is_read() -> None:
    voucher = sample_voucher("5201")
    data = _s9_style(voucher, reason="账户已销户").decode("gbk").replace('encoding="GBK"', 'encoding="UTF-8"')
    envelope = Envelope.from_bytes(data.encode("utf-8"))
    assert envelope.encoding == "UTF-8"
    assert envelope.bodies[0].return_reason == "账户已销户"
    assert Envelope.from_bytes(envelope.to_bytes("UTF-8")) == envelope
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope  # GBK by default


def test_base64_text_is_kept_verbatim_even_with_line_breaks() -> None:
    voucher = sample_voucher("5214")
    raw = _b64(voucher)
    wrapped = "\n".join(raw[i : i + 76] for i in range(0, len(raw), 76))  # MIME-style
    envelope = Envelope.from_bytes(_s8_style(voucher, wrapped))
    body = envelope.bodies[0]
    assert body.voucher_b64 == wrapped
    assert body.voucher == voucher
    assert Envelope.from_bytes(envelope.to_bytes()).bodies[0].voucher_b64 == wrapped


def test_signatures_and_stamps_round_trip() -> None:
    body = VoucherBody.from_voucher(sample_voucher("5214"))
    body.stamps.append(SignStampElement("cz_dwgz", "0" * 32, "AAAA"))
    body.signatures.append(SignatureElement("cz_dwfz", "01ab", "BBBB"))
    envelope = Envelope.build([body])
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again.bodies[0].stamps == body.stamps
    assert again.bodies[0].signatures == body.signatures


def test_voucher_count_mismatch_refused_or_kept() -> None:
    data = _s9_style(sample_voucher("5201")).replace(b"<VoucherCount>1<", b"<VoucherCount>2<")
    with pytest.raises(InvalidInput, match="declares '2' but the envelope holds 1"):
        Envelope.from_bytes(data)
    lenient = Envelope.from_bytes(data, check_count=False)
    assert lenient.declared_count == "2" and not lenient.count_matches
    assert b"<VoucherCount>1</VoucherCount>" in lenient.to_bytes()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            b"<Voucher>",
            b"<Voucher>PD94bWwgdmVyc2lvbj0iMS4wIj8+PFZvdWNoZXIvPg==</Voucher><Voucher>",
            "second <Voucher>",
        ),
        (
            b"<VoucherCount>1</VoucherCount>",
            b"<VoucherCount>1</VoucherCount><VoucherCount>1</VoucherCount>",
            "second <VoucherCount>",
        ),
        (
            b"<VoucherFlag>0</VoucherFlag>",
            b"<VoucherFlag>0</VoucherFlag><VoucherFlag>1</VoucherFlag>",
            "second <VoucherFlag>",
        ),
        (b"<Attach></Attach>", b"<Attach></Attach><Extra/>", "unexpected element <Extra>"),
        (b' VtCode="5201"', b"", "missing attribute VtCode"),
        (b"<MOF>", b"<MOF>text", "text between elements"),
    ],
)
def test_structural_tricks_are_refused(old: bytes, new: bytes, message: str) -> None:
    data = _s9_style(sample_voucher("5201"))
    assert old in data
    with pytest.raises(InvalidInput, match=message):
        Envelope.from_bytes(data.replace(old, new, 1))


def test_duplicated_signature_list_refused() -> None:
    data = _s8_style(sample_voucher("5214")).replace(
        b"<SignStampList />", b"<SignatureList/><SignStampList />"
    )
    with pytest.raises(InvalidInput, match="second <SignatureList>"):
        Envelope.from_bytes(data)


def test_hostile_envelopes_refused() -> None:
    data = _s9_style(sample_voucher("5201"))
    doctype = data.replace(b"<MOF>", b'<!DOCTYPE MOF [<!ENTITY x SYSTEM "file:///etc/passwd">]><MOF>')
    with pytest.raises(HostileInputError):
        Envelope.from_bytes(doctype)
    with pytest.raises(DecodingError) as info:
        Envelope.from_bytes(data.replace(b"<Attach></Attach>", b"<Attach>\x81\x20</Attach>"))
    assert info.value.offset == data.index(b"<Attach>") + len(b"<Attach>")


def test_hostile_inner_voucher_refused() -> None:
    inner = b'<?xml version="1.0"?><!DOCTYPE Voucher [<!ENTITY a "b">]><Voucher/>'
    body = VoucherBody("420000", "2024", "5201", "1", voucher_b64=base64.b64encode(inner).decode())
    with pytest.raises(HostileInputError):
        _ = body.voucher


@pytest.mark.parametrize(
    ("text", "offset"),
    [("PD94!bWwg", 4), ("PD94 bWwg\u3000", 9), ("PD94bWwg*", 8)],
)
def test_base64_garbage_refused_with_offset(text: str, offset: int) -> None:
    with pytest.raises(DecodingError) as info:
        decode_base64_strict(text)
    assert info.value.offset == offset


@pytest.mark.parametrize("text", ["", "   ", "PD94bWw", "PD9=bWwg", "PD94bW===", "PD94bWwg=", "PQ=x"])
def test_base64_bad_shape_refused(text: str) -> None:
    with pytest.raises(DecodingError):
        decode_base64_strict(text)


def test_base64_whitespace_policy() -> None:
    assert decode_base64_strict("PD94\r\nbWwg\t") == base64.b64decode("PD94bWwg")
    assert decode_base64_strict(" PD94 bWwg ") == base64.b64decode("PD94bWwg")


def test_body_with_garbage_base64_refused_on_access() -> None:
    body = VoucherBody("420000", "2024", "5201", "1", voucher_b64="PD94bWwg!!")
    with pytest.raises(DecodingError):
        _ = body.voucher_xml


def test_attribute_mismatches_detect_relabelling() -> None:
    voucher = sample_voucher("5214")
    body = VoucherBody.from_voucher(voucher)
    assert body.attribute_mismatches() == []
    body.voucher_no = "PLACEHOLDER"
    body.adm_div_code = "110000"
    assert body.attribute_mismatches() == [
        ("AdmDivCode", "110000", "420000"),
        ("VoucherNo", "PLACEHOLDER", voucher.voucher_no),
    ]


def test_voucher_model_cache_follows_base64_text() -> None:
    first, second = sample_voucher("5201", seed=1), sample_voucher("5201", seed=2)
    body = VoucherBody.from_voucher(first)
    assert body.voucher == first
    body.voucher_b64 = VoucherBody.from_voucher(second).voucher_b64
    assert body.voucher == second


def test_build_requires_a_voucher_and_known_encoding() -> None:
    with pytest.raises(InvalidInput):
        Envelope.build([])
    with pytest.raises(InvalidInput, match="unsupported envelope encoding"):
        Envelope.build([sample_voucher("5201")]).to_bytes("latin-1")


# --- property: any body layout survives write -> read ------------------------------------


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=12,
)
_items = st.lists(
    st.tuples(
        st.from_regex(r"[a-z]{2}_[a-z]{2,5}", fullmatch=True),
        st.from_regex(r"[0-9a-f]{1,32}", fullmatch=True),
    ),
    max_size=3,
)


@settings(max_examples=40, deadline=None)
@given(
    reason=st.none() | _text,
    attach=st.none() | _text,
    flag=st.sampled_from(["0", "1"]),
    order=st.permutations(["AdmDivCode", "StYear", "VtCode", "VoucherNo"]),
    signatures=_items,
    stamps=_items,
    encoding=st.sampled_from(["GBK", "UTF-8", "GB18030"]),
)
def test_property_envelope_round_trip(
    reason: str | None,
    attach: str | None,
    flag: str,
    order: list[str],
    signatures: list[tuple[str, str]],
    stamps: list[tuple[str, str]],
    encoding: str,
) -> None:
    body = VoucherBody.from_voucher(
        sample_voucher("5201"), voucher_flag=flag, return_reason=reason, attach=attach
    )
    body.attribute_order = tuple(order)
    body.signatures = [SignatureElement(no, sn, "QUJD") for no, sn in signatures]
    body.stamps = [SignStampElement(no, sn, "REVG") for no, sn in stamps]
    envelope = Envelope.build([body, body])
    data = envelope.to_bytes(encoding)
    again = Envelope.from_bytes(data)
    assert again == envelope
    assert again.bodies[0].attribute_order == tuple(order)
    assert again.to_bytes(encoding) == data  # stable: the layout read is the layout written
