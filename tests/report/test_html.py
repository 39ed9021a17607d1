"""The HTML view without a browser: structure, statuses, sums, pictures and escaping."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.cli.demo import SEAL_POSITION, SIGNATURE_POSITION, run_demo, seal_picture_png
from ezhifu.document.envelope import Envelope, SignStampElement, VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import SealFormatError
from ezhifu.report.html import position_label, render_envelope_html, stamp_picture, write_envelope_html
from ezhifu.results import BodyResult, EnvelopeResult, ItemResult
from ezhifu.seal.picture import SealImage


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, EnvelopeResult]:
    result = run_demo(tmp_path_factory.mktemp("demo"))
    assert result.ok and result.envelope_path is not None and result.verification is not None
    return result.envelope_path.read_bytes(), result.verification


def _page(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(html)


def _statuses(page: lxml.html.HtmlElement) -> dict[str, str]:
    return {
        mark.get("data-position"): mark.xpath(".//*[@data-status]")[0].get("data-status")
        for mark in page.xpath("//div[@data-position]")
    }


def test_unverified_page_lists_fields_details_and_marks(demo: tuple[bytes, EnvelopeResult]) -> None:
    data, _ = demo
    page = _page(render_envelope_html(data, source_name="envelope.xml"))
    assert page.findtext(".//title").startswith("国库集中支付电子凭证")
    assert _statuses(page) == {SIGNATURE_POSITION: "unverified", SEAL_POSITION: "unverified"}
    body = Envelope.from_bytes(data).bodies[0]
    voucher = body.voucher
    # header fields in document order, each with its element name
    names = [th.get("data-field") for th in page.xpath("//table[@class='fields']//th")]
    assert names == [name for name, _ in voucher.fields]
    # detail rows and the sum of the amount column
    assert len(page.xpath("//table[@class='details']/tbody/tr")) == len(voucher.details) == 3
    total = sum(d.amount("PayAmt") or 0 for d in voucher.details)
    assert page.xpath("//td[@data-sum='PayAmt']")[0].text == str(total)
    assert page.xpath("//p[contains(@class, 'sum-ok')]")


def test_verified_page_shows_valid_and_position_names(demo: tuple[bytes, EnvelopeResult]) -> None:
    data, result = demo
    html = render_envelope_html(data, result=result)
    page = _page(html)
    assert _statuses(page) == {SIGNATURE_POSITION: "valid", SEAL_POSITION: "valid"}
    assert "财政单位公章" in page.text_content()
    assert "全部签名与印章有效" in page.text_content()


def test_invalid_items_show_their_reason(demo: tuple[bytes, EnvelopeResult]) -> None:
    data, result = demo
    body = result.bodies[0]
    broken = tuple(
        ItemResult(i.kind, i.position, False, f"broken <{i.kind}> & co", False, False) for i in body.items
    )
    bad = EnvelopeResult.of([BodyResult(body.vt_code, body.voucher_no, broken, ("VtCode relabelled",))])
    page = _page(render_envelope_html(data, result=bad))
    assert _statuses(page) == {SIGNATURE_POSITION: "invalid", SEAL_POSITION: "invalid"}
    text = page.text_content()
    assert "broken <signature> & co" in text and "broken <seal> & co" in text
    assert "VtCode relabelled" in text
    assert "验证失败" in text


def test_seal_picture_is_embedded_at_its_nominal_size(demo: tuple[bytes, EnvelopeResult]) -> None:
    data, _ = demo
    (img,) = _page(render_envelope_html(data)).xpath("//img")
    assert img.get("src") == "data:image/png;base64," + base64.b64encode(seal_picture_png()).decode()
    assert img.get("data-width-mm") == "40" and img.get("width") == str(round(40 * 96 / 25.4))


def test_stamp_picture_reads_the_seal_inside_the_stamp(demo: tuple[bytes, EnvelopeResult]) -> None:
    stamp = Envelope.from_bytes(demo[0]).bodies[0].stamps[0]
    image = stamp_picture(stamp)
    assert image is not None and image.data == seal_picture_png()
    assert (image.type, image.width_mm, image.height_mm) == ("PNG", 40, 40)


def test_unreadable_stamp_shows_the_reason_instead_of_a_picture(demo: tuple[bytes, EnvelopeResult]) -> None:
    envelope = Envelope.from_bytes(demo[0])
    body = envelope.bodies[0]
    body.stamps[0] = SignStampElement(
        body.stamps[0].no, body.stamps[0].sn, base64.b64encode(b"\x30\x03junk").decode()
    )
    with pytest.raises(SealFormatError):
        stamp_picture(body.stamps[0])
    page = _page(render_envelope_html(envelope))
    assert not page.xpath("//img")
    assert "无印章图片" in page.xpath("//div[@data-position='cz_dwgz']")[0].text_content()


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (b"PK\x03\x04ofd-package", False),  # an OFD vector seal is not an image
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", True),
        (b"GIF89a....", True),
        (b"not an image", False),
    ],
)
def test_only_images_become_data_uris(data: bytes, shown: bool) -> None:
    voucher = sample_voucher("5201")
    body = VoucherBody.from_voucher(voucher)
    body.stamps.append(SignStampElement("cz_dwgz", "00" * 16, "AAAA"))
    envelope = Envelope.build([body])
    image = SealImage("PNG", "image/png", "png", data, 40, 40)  # declared PNG: never trusted
    page = _page(render_envelope_html(envelope, picture_of=lambda s: image))
    imgs = page.xpath("//img")
    assert bool(imgs) is shown
    if shown:
        assert not imgs[0].get("src").startswith("data:image/png")


def test_csp_forbids_scripts_and_network() -> None:
    html = render_envelope_html(Envelope.build([sample_voucher("8202", details=2)]))
    (meta,) = _page(html).xpath("//meta[@http-equiv='Content-Security-Policy']")
    csp = meta.get("content")
    assert "default-src 'none'" in csp and "img-src data:" in csp
    assert "script-src" not in csp  # falls back to default-src 'none'
    assert not re.search(r"(src|href)=[\"'](https?:|//)", html)
    # the stylesheet is allowed by its hash, so inline style attributes would be refused
    assert "style=" not in html


def test_unreadable_inner_voucher_is_reported_not_raised() -> None:
    body = VoucherBody.from_voucher(sample_voucher("5201"))
    body.voucher_b64 = base64.b64encode(b"<Voucher><Id>1</Voucher>").decode()
    html = render_envelope_html(Envelope.build([body]))
    assert "凭证无法读取" in _page(html).text_content()


def test_position_labels() -> None:
    assert position_label("cz_dwgz") == "财政单位公章"
    assert position_label("rh_zqz") == "人民银行转讫章"
    assert position_label("xx_unknown") == ""


def test_write_envelope_html(tmp_path: Path, demo: tuple[bytes, EnvelopeResult]) -> None:
    out = write_envelope_html(tmp_path / "v.html", demo[0])
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


_HOSTILE = st.lists(
    st.sampled_from([*"<>&\"'/=; ()`财", "<script>", "</td>", "<img src=x onerror=", "javascript:", "&amp;"]),
    min_size=1,
    max_size=20,
).map("".join)


@settings(max_examples=40, deadline=None)
@given(name=_HOSTILE, summary=_HOSTILE, reason=_HOSTILE)
def test_any_voucher_text_stays_text(name: str, summary: str, reason: str) -> None:
    """Property: whatever the text in a voucher field or a result reason, it appears verbatim as
    text and never becomes an element or an attribute of the page."""
    voucher = sample_voucher("5201", AgencyName=name.strip() or "x", PaySummaryName=summary.strip() or "x")
    envelope = Envelope.build([voucher])
    body = envelope.bodies[0]
    result = EnvelopeResult.of([BodyResult(body.vt_code, body.voucher_no, (), (reason,))])
    page = _page(render_envelope_html(envelope, result=result, title=reason))
    assert not page.xpath("//script | //img | //iframe | //object | //embed | //a")
    assert not [a for el in page.iter() for a in el.attrib if a.lower().startswith("on")]
    text = page.text_content()
    for value in (voucher.get("AgencyName"), voucher.get("PaySummaryName"), reason):
        assert value is not None and value in text


def test_vendor_stamp_picture_is_shown() -> None:
    """The 2024 vendor stamp (spec.md §5.4) carries its image in its own seal layout."""
    from ezhifu.crypto.base import SignatureAlgorithm
    from ezhifu.pki.signer import SoftwareSigner
    from ezhifu.seal.vendor import apply_vendor_stamp, build_vendor_seal
    from ezhifu.testing.pki import make_pki

    pki = make_pki("rsa1024", subject_prefix="ezhifu vendor view test")
    signer = SoftwareSigner(
        pki.leaf_key, pki.leaf_cert, algorithm=SignatureAlgorithm.RSA_SHA1, allow_weak=True
    )
    picture = seal_picture_png(size=64)
    seal = build_vendor_seal(
        signer, seal_id="3f38e4aaee0c2acb3f38e4aaee0c2acb", name="支付测试印章", image=picture
    )
    body = VoucherBody.from_voucher(sample_voucher("5214"))
    stamp = apply_vendor_stamp(body, seal, signer, "cz_dwgz")
    image = stamp_picture(stamp)
    assert image is not None and image.type == "PNG" and image.data == picture
    (img,) = _page(render_envelope_html(Envelope.build([body]))).xpath("//img")
    assert img.get("src") == "data:image/png;base64," + base64.b64encode(picture).decode()


def test_details_put_amounts_first_and_name_empty_columns(demo: tuple[bytes, EnvelopeResult]) -> None:
    page = _page(render_envelope_html(demo[0]))
    columns = [th.get("data-field") for th in page.xpath("//table[@class='details']/thead//th[@data-field]")]
    assert columns[0] == "PayAmt"
    # X-fields are empty in a voucher as sent: named in a note, not drawn as empty columns
    assert "XPayAmt" not in columns and "Hold1" not in columns
    (note,) = page.xpath("//p[contains(@class, 'empty-columns')]")
    assert "XPayAmt" in note.text_content() and "Hold1" in note.text_content()


def test_each_body_gets_its_own_results() -> None:
    """Two vouchers; the second carries the first one's signature (moved): only it is invalid."""
    import dataclasses

    from ezhifu.pki.trust import TrustStore
    from ezhifu.sign.voucher import sign_envelope
    from ezhifu.testing.pki import make_pki
    from ezhifu.verify.envelope import verify_envelope

    pki = make_pki("sm2")
    envelope = Envelope.build([sample_voucher("5201", seed=1), sample_voucher("5201", seed=2)])
    sign_envelope(envelope, pki.signer(), SIGNATURE_POSITION)
    first, second = envelope.bodies
    second.signatures[0] = dataclasses.replace(second.signatures[0], value=first.signatures[0].value)
    result = verify_envelope(envelope.to_bytes(), trust=TrustStore(roots=[pki.root_cert]))
    assert [b.valid for b in result.bodies] == [True, False]
    page = _page(render_envelope_html(envelope, result=result))
    sections = page.xpath("//section[@data-voucher-no]")
    assert [s.get("data-voucher-no") for s in sections] == [first.voucher_no, second.voucher_no]
    states = [s.xpath(".//*[@data-status]")[0].get("data-status") for s in sections]
    assert states == ["valid", "invalid"]
    (banner,) = page.xpath("//div[contains(@class, 'banner')]")
    assert banner.get("class") == "banner bad" and "验证失败" in banner.text_content()
    assert f"signature at {SIGNATURE_POSITION}" in banner.text_content()
