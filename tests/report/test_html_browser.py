"""The HTML view in a real browser: headless Chromium renders the demo's page, a screenshot shows
the seal's red picture where the seal card is, and the rendered DOM carries the Chinese labels,
the seal picture's data and each item's status. Chromium is installed by scripts/test.sh."""

from __future__ import annotations

import base64
import re
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import pytest

from ezhifu.cli.demo import SEAL_POSITION, SIGNATURE_POSITION, run_demo, seal_picture_png
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.report.html import render_envelope_html

pytestmark = pytest.mark.interop

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1200, 1600
SEAL_PX = round(40 * 96 / 25.4)  # the demo seal is 40 mm wide; CSS has 96 px per inch


def _chromium(tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={tmp / 'chromium-profile'}",
        f"--window-size={WIDTH},{HEIGHT}",
        *extra,
        url,
    ]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _screenshot(tmp: Path, page: Path) -> Path:
    shot = tmp / f"{page.stem}.png"
    _chromium(tmp, page.as_uri(), f"--screenshot={shot}")
    assert shot.is_file()
    return shot


def _by_class(root: lxml.html.HtmlElement, tag: str, cls: str) -> list[lxml.html.HtmlElement]:
    found: list[lxml.html.HtmlElement] = root.xpath(
        f".//{tag}[contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')]"
    )
    return found


def _dom(tmp: Path, page: Path) -> lxml.html.HtmlElement:
    proc = _chromium(tmp, page.as_uri(), "--dump-dom")
    assert "<html" in proc.stdout
    return lxml.html.fromstring(proc.stdout)


# --- a small PNG decoder (ISO/IEC 15948: 8-bit RGB/RGBA, not interlaced, filters 0-4) ----------


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int
    rows: list[bytes]

    def rgb(self, x: int, y: int) -> tuple[int, int, int]:
        i = x * self.channels
        row = self.rows[y]
        return row[i], row[i + 1], row[i + 2]


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(data: bytes) -> Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, bytearray(), b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, color, _comp, _filt, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0 and color in (2, 6), (depth, color, interlace)
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    rows: list[bytes] = []
    prev = bytes(stride)
    low7 = int.from_bytes(b"\x7f" * stride, "big")
    high = int.from_bytes(b"\x80" * stride, "big")
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        filtered = raw[start + 1 : start + 1 + stride]
        if kind == 0:
            rows.append(filtered)
            prev = filtered
            continue
        if kind == 2:
            # Up: bytewise (x + b) mod 256 on the whole row at once (SWAR on Python integers).
            a, b = int.from_bytes(filtered, "big"), int.from_bytes(prev, "big")
            line_int = ((a & low7) + (b & low7)) ^ ((a ^ b) & high)
            prev = line_int.to_bytes(stride, "big")
            rows.append(prev)
            continue
        line = bytearray(filtered)
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = prev[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                upleft = prev[i - channels] if i >= channels else 0
                line[i] = (line[i] + _paeth(left, up, upleft)) & 0xFF
            else:
                raise AssertionError(f"unknown PNG filter {kind}")
        prev = bytes(line)
        rows.append(prev)
    return Image(width, height, channels, rows)


def _is_seal_red(rgb: tuple[int, int, int]) -> bool:
    # The demo seal is (214, 32, 39); anti-aliased edges blend with white, so accept the body of
    # the ring: strong red, weak green and blue. The page's own colours (text, green status
    # badges, the dark red #8a1020 of failures) never pass this test.
    r, g, b = rgb
    return r >= 180 and g <= 90 and b <= 90


# A pixel whose bytes match _is_seal_red, found by a regular expression over each row (lookahead,
# so overlapping candidates are all seen; only pixel-aligned ones count).
_RED = re.compile(rb"(?=[\xb4-\xff][\x00-\x5a][\x00-\x5a])")


def _red_box(image: Image) -> tuple[int, tuple[int, int, int, int] | None]:
    count, xs, ys = 0, [], []
    for y, row in enumerate(image.rows):
        for match in _RED.finditer(row):
            if match.start() % image.channels:
                continue
            x = match.start() // image.channels
            assert _is_seal_red(image.rgb(x, y))
            count += 1
            xs.append(x)
            ys.append(y)
    if not count:
        return 0, None
    return count, (min(xs), min(ys), max(xs), max(ys))


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run_demo(out)
    assert result.ok, result.steps
    return out


def test_decoder_reads_the_demo_seal_picture() -> None:
    """Negative-free check of the test's own PNG decoder on a picture with known pixels."""
    image = decode_png(seal_picture_png(size=120))
    assert (image.width, image.height, image.channels) == (120, 120, 4)
    assert image.rows[60][60 * 4 : 60 * 4 + 4] == bytes((214, 32, 39, 255))  # the star's centre
    assert image.rows[0][3] == 0  # transparent corner


def test_screenshot_shows_the_seal_at_its_size(demo_dir: Path, tmp_path: Path) -> None:
    shot = _screenshot(tmp_path, demo_dir / "voucher.html")
    image = decode_png(shot.read_bytes())
    assert (image.width, image.height) == (WIDTH, HEIGHT)
    count, box = _red_box(image)
    assert box is not None, "no seal-red pixel in the screenshot"
    left, top, right, bottom = box
    # One round seal drawn at its nominal 40 mm: the ring's outer diameter is 94 % of the image.
    assert 0.85 * SEAL_PX <= right - left + 1 <= SEAL_PX + 2
    assert 0.85 * SEAL_PX <= bottom - top + 1 <= SEAL_PX + 2
    # Above the header table, in the signatures-and-seals row near the top of the page, and to
    # the right of the signature card (the seal is the second mark).
    assert top < HEIGHT // 2
    assert left > 300
    # A ring and a star are a good part of the square, not a few stray pixels.
    assert count > 0.15 * (right - left) * (bottom - top)


def test_screenshot_without_the_picture_has_no_seal_red(demo_dir: Path, tmp_path: Path) -> None:
    """Negative control: the same page with the picture left out has no red at all."""
    envelope = Envelope.from_bytes((demo_dir / "envelope.xml").read_bytes())
    page = tmp_path / "no-picture.html"
    page.write_text(render_envelope_html(envelope, picture_of=lambda stamp: None), encoding="utf-8")
    image = decode_png(_screenshot(tmp_path, page).read_bytes())
    assert _red_box(image) == (0, None)


def test_rendered_dom_has_labels_statuses_and_the_seal_picture(demo_dir: Path, tmp_path: Path) -> None:
    dom = _dom(tmp_path, demo_dir / "voucher.html")
    text = dom.text_content()
    for label in ("财政直接支付凭证", "资金性质代码", "收款人账号", "支付金额", "合计", "签名与印章"):
        assert label in text, label
    marks = {m.get("data-position"): m for m in _by_class(dom, "div", "mark")}
    assert set(marks) == {SIGNATURE_POSITION, SEAL_POSITION}
    for mark in marks.values():
        assert mark.xpath(".//*[@data-status]")[0].get("data-status") == "valid"
    (img,) = _by_class(marks[SEAL_POSITION], "img", "seal")
    prefix = "data:image/png;base64,"
    assert img.get("src").startswith(prefix)
    assert base64.b64decode(img.get("src")[len(prefix) :]) == seal_picture_png()
    assert img.get("width") == str(SEAL_PX)
    assert _by_class(dom, "p", "sum-ok"), "the header amount should equal the details' sum"
    assert not dom.xpath("//script")


def test_hostile_voucher_text_stays_text_in_the_browser(tmp_path: Path) -> None:
    attack = '</td><script>document.title="pwned"</script><img src=x onerror="document.title=1">'
    voucher = sample_voucher("5201", details=1, AgencyName=attack, PayeeAcctName='"><em id="injected">x</em>')
    page = tmp_path / "hostile.html"
    page.write_text(render_envelope_html(Envelope.build([voucher])), encoding="utf-8")
    dom = _dom(tmp_path, page)
    assert not dom.xpath("//script")
    assert not dom.xpath("//*[@id='injected']")
    assert [img for img in dom.iter("img")] == []
    assert dom.findtext(".//title") != "pwned"
    assert attack in dom.text_content()
