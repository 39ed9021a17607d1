"""The view as PDF (issue 19 item 2): printed by real headless Chromium, read back with poppler
(pdffonts, pdftotext, pdftoppm) — the CJK fonts are embedded, the Chinese text is there, and the
seal's red picture is on the page."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezhifu.cli.demo import run_demo
from ezhifu.cli.main import cli
from ezhifu.errors import RenderingError
from ezhifu.report.pdf import html_to_pdf

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run_demo(out)
    assert result.ok, result.steps
    return out


def _poppler(tool: str, *args: str) -> str:
    proc = subprocess.run([tool, *args], capture_output=True, text=True, timeout=60, check=True)
    return proc.stdout


def _read_ppm(data: bytes) -> tuple[int, int, bytes]:
    """A binary PPM (P6, maxval 255) as written by pdftoppm: width, height, RGB bytes."""
    header = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)  # exactly one whitespace byte after 255
    assert header is not None, data[:20]
    width, height = int(header[1]), int(header[2])
    pixels = data[header.end() :]
    assert len(pixels) == width * height * 3
    return width, height, pixels


def test_view_pdf_embeds_cjk_fonts_and_draws_the_seal(demo: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "voucher.pdf"
    result = CliRunner().invoke(
        cli,
        [
            *("view", str(demo / "envelope.xml"), "--trust", str(demo / "root.pem")),
            *("--seal-maker-trust", str(demo / "seal-maker-root.pem"), "--pdf", "-o", str(pdf)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF-")
    fonts = _poppler("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts, "the PDF uses no font"
    assert all(line.split()[-5] == "yes" for line in fonts), fonts  # the "emb" column
    text = _poppler("pdftotext", "-layout", str(pdf), "-")
    assert "财政直接支付凭证" in text or "5201" in text
    assert "收款人" in text  # a Chinese field label, so CJK glyphs were drawn as text
    _poppler("pdftoppm", "-r", "48", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page"))
    (ppm,) = tmp_path.glob("page*.ppm")
    width, height, pixels = _read_ppm(ppm.read_bytes())
    red = sum(
        1
        for i in range(0, width * height * 3, 3)
        if pixels[i] > 180 and pixels[i + 1] < 90 and pixels[i + 2] < 90
    )
    assert red > 20, "no red seal pixels on the first page"


def test_missing_chromium_is_a_named_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EZHIFU_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(RenderingError, match="EZHIFU_CHROMIUM"):
        html_to_pdf("<html></html>")


def test_a_page_cannot_reach_the_network(tmp_path: Path) -> None:
    # The page asks for a remote image; the print still finishes (the request goes nowhere).
    pdf = html_to_pdf('<html><body><img src="http://192.0.2.1/x.png">无网络 / offline</body></html>')
    assert pdf.startswith(b"%PDF-")
