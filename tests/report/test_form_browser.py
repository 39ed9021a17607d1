"""The paper form in a real browser and in the PDF (issue 19 Must show).

* headless Chromium screenshots the demo's form: every seal-red pixel lies inside the seal's
  position box, which is found in the same screenshot by its border colour (the layout's box
  drawn by the style sheet), and the box has the layout's size;
* the rendered DOM carries the 大写金额 of a set of amounts, checked against a table written by
  hand, next to the amount with thousands separators;
* the PDF's text (pdftotext -layout) has every amount of the form on one line, unbroken.
Chromium and poppler-utils are installed by scripts/test.sh.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path

import pytest
from test_html_browser import WIDTH, _by_class, _dom, _red_box, _screenshot, decode_png

from ezhifu.cli.demo import SEAL_POSITION, run_demo
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.report.form import layout_for
from ezhifu.report.html import render_envelope_html
from ezhifu.report.pdf import html_to_pdf

pytestmark = pytest.mark.interop

#: Border colour of a seal's box (html_page.CSS ``.box.seal-box``).
SEAL_BOX_RGB = (0, 96, 160)
PX_PER_MM = 96 / 25.4

#: Amounts and their 大写金额, by hand from 银发〔1997〕393号 (issue 19's set).
WORDS = [
    ("0.00", "0.00", "零元整"),
    ("0.05", "0.05", "伍分"),
    ("10.00", "10.00", "壹拾元整"),
    ("100000.01", "100,000.01", "壹拾万元零壹分"),
    ("120333.57", "120,333.57", "壹拾贰万零叁佰叁拾叁元伍角柒分"),
    (
        "999999999999999.99",
        "999,999,999,999,999.99",
        "玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分",
    ),
]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run_demo(out)
    assert result.ok, result.steps
    return out


def _colour_box(image: object, rgb: tuple[int, int, int]) -> tuple[int, int, int, int] | None:
    pattern = re.compile(b"(?=" + re.escape(bytes(rgb)) + b")")
    xs: list[int] = []
    ys: list[int] = []
    for y, row in enumerate(image.rows):  # type: ignore[attr-defined]
        for match in pattern.finditer(row):
            if match.start() % image.channels == 0:  # type: ignore[attr-defined]
                xs.append(match.start() // image.channels)  # type: ignore[attr-defined]
                ys.append(y)
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)


def _amounts_envelope() -> Envelope:
    vouchers = [sample_voucher("5201", details=0, seed=n, PayAmt=a) for n, (a, _, _) in enumerate(WORDS)]
    return Envelope.build(vouchers)


def test_seal_pixels_lie_inside_the_positions_box(demo_dir: Path, tmp_path: Path) -> None:
    image = decode_png(_screenshot(tmp_path, demo_dir / "voucher.html").read_bytes())
    box = _colour_box(image, SEAL_BOX_RGB)
    assert box is not None, "the seal's box is not drawn"
    b_left, b_top, b_right, b_bottom = box
    layout = layout_for("5201")
    expected = layout.boxes[layout.box_for(SEAL_POSITION)]
    # The box is drawn at the layout's width (border included, CSS box-sizing: border-box).
    assert abs((b_right - b_left + 1) - expected.width_mm * PX_PER_MM) <= 2
    assert b_bottom - b_top + 1 >= expected.height_mm * PX_PER_MM - 2
    count, red = _red_box(image)
    assert red is not None and count > 1000, "no seal on the form"
    left, top, right, bottom = red
    assert b_left < left and right < b_right, (box, red)
    assert b_top < top and bottom < b_bottom, (box, red)
    assert right < WIDTH


def test_a_seal_outside_its_box_would_be_seen(demo_dir: Path, tmp_path: Path) -> None:
    """Negative control of the geometry check: with the box's border colour changed the box is
    not found, so the test above cannot pass by finding some other blue."""
    page = tmp_path / "nobox.html"
    html = (demo_dir / "voucher.html").read_text(encoding="utf-8")
    assert "rgb(0, 96, 160)" in html
    # Changing the style sheet breaks its CSP hash: the page then has no style sheet at all.
    page.write_text(html.replace("rgb(0, 96, 160)", "rgb(0, 96, 161)"), encoding="utf-8")
    image = decode_png(_screenshot(tmp_path, page).read_bytes())
    assert _colour_box(image, SEAL_BOX_RGB) is None


def test_amount_in_words_next_to_the_amount_in_the_browser(tmp_path: Path) -> None:
    page = tmp_path / "amounts.html"
    page.write_text(render_envelope_html(_amounts_envelope()), encoding="utf-8")
    dom = _dom(tmp_path, page)
    sections = dom.xpath("//section[@data-voucher-no]")
    assert len(sections) == len(WORDS)
    for section, (_, shown, words) in zip(sections, WORDS, strict=True):
        (row,) = _by_class(section, "tr", "amount-row")
        (amount,) = row.xpath(".//td[@data-amount='PayAmt']")
        (in_words,) = row.xpath(".//td[@data-words='PayAmt']")
        assert amount.text_content() == f"¥{shown}"
        assert in_words.text_content() == words
    # Empty header fields are left out of the form, shown with all_fields.
    form_fields = [
        th.get("data-form-field") for th in dom.xpath("//table[@class='form-grid']//th[@data-form-field]")
    ]
    assert "XPayDate" not in form_fields
    full = render_envelope_html(_amounts_envelope(), all_fields=True)
    assert 'data-form-field="XPayDate"' in full


def test_no_amount_is_broken_across_lines_in_the_pdf(tmp_path: Path) -> None:
    pdf = tmp_path / "amounts.pdf"
    pdf.write_bytes(html_to_pdf(render_envelope_html(_amounts_envelope())))
    proc = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True
    )
    lines = proc.stdout.splitlines()
    for _, shown, words in WORDS:
        assert any(f"¥{shown}" in line for line in lines), shown
        if len(words) <= 16:  # the words may wrap in their cell (they are text, not a number)
            assert any(words in line for line in lines), words
    # Negative control: a number split by the renderer would leave a line ending in digits and
    # the next starting with the rest; pdftotext keeps each line whole, so look for such a split.
    for shown in (s for _, s, _ in WORDS if len(s) > 6):
        head, tail = shown[:4], shown[4:]
        assert not any(
            line.rstrip().endswith(head) and nxt.lstrip().startswith(tail)
            for line, nxt in itertools.pairwise(lines)
        )


def _ppm_boxes(
    pixels: bytes, width: int
) -> tuple[tuple[int, int, int, int] | None, tuple[int, int, int, int] | None]:
    """Bounding boxes of the seal box's border colour (±12 per channel) and of seal red."""
    blue: list[tuple[int, int]] = []
    red: list[tuple[int, int]] = []
    for i in range(0, len(pixels), 3):
        r, g, b = pixels[i], pixels[i + 1], pixels[i + 2]
        if r <= 12 and abs(g - 96) <= 12 and abs(b - 160) <= 12:
            blue.append(divmod(i // 3, width)[::-1])
        elif r >= 180 and g <= 90 and b <= 90:
            red.append(divmod(i // 3, width)[::-1])

    def bbox(points: list[tuple[int, int]]) -> tuple[int, int, int, int] | None:
        if not points:
            return None
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return min(xs), min(ys), max(xs), max(ys)

    return bbox(blue), bbox(red)


def test_pdf_draws_the_seal_inside_its_box(demo_dir: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "voucher.pdf"
    pdf.write_bytes(html_to_pdf((demo_dir / "voucher.html").read_text(encoding="utf-8")))
    subprocess.run(
        ["pdftoppm", "-r", "72", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        capture_output=True,
        timeout=60,
        check=True,
    )
    (ppm,) = tmp_path.glob("page*.ppm")
    data = ppm.read_bytes()
    header = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    assert header is not None
    width = int(header[1])
    box, red = _ppm_boxes(data[header.end() :], width)
    assert box is not None, "the seal's box is not on the PDF page"
    assert red is not None, "no seal on the PDF page"
    assert box[0] < red[0] and red[2] < box[2] and box[1] < red[1] and red[3] < box[3], (box, red)
    # Chromium may shrink the page to fit A4, but seal and box shrink together: the seal's ring
    # (94 % of its 40 mm picture) keeps its share of the layout's box width.
    layout = layout_for("5201")
    width_mm = layout.boxes[layout.box_for(SEAL_POSITION)].width_mm
    share = (red[2] - red[0] + 1) / (box[2] - box[0] + 1)
    assert abs(share - 0.94 * 40 / width_mm) <= 0.06, share
