"""The voucher page as PDF, printed by headless Chromium (issue 19 item 2; docs/view.md).

Why Chromium: the form is HTML with print CSS (A4, repeated table headers), and the browser that
renders it on screen is the one that prints it, so the PDF is the same form; Chromium embeds the
CJK font subsets it used (fonts-wqy-microhei on Debian) and needs no Python dependency. WeasyPrint
would add a second layout engine whose CSS support differs from the screen's.

The page is self-contained (pictures as ``data:`` URIs). Chromium runs with a throw-away
profile, no extensions, every request sent to a proxy that does not exist (so a page can fetch
nothing from the network), a time limit and a size limit on the result.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ezhifu._fileio import atomic_write
from ezhifu.errors import RenderingError

__all__ = ["MAX_PDF_BYTES", "PDF_TIMEOUT_SECONDS", "find_chromium", "html_to_pdf", "write_pdf"]

#: How long Chromium may take to print one page set.
PDF_TIMEOUT_SECONDS = 120
#: The largest PDF accepted from the renderer.
MAX_PDF_BYTES = 64 * 1024 * 1024
#: Looked up in this order; ``EZHIFU_CHROMIUM`` (a path) comes first.
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str:
    """The Chromium executable: ``$EZHIFU_CHROMIUM`` or the first of :data:`_CANDIDATES` on PATH."""
    configured = os.environ.get("EZHIFU_CHROMIUM")
    if configured:
        if not os.access(configured, os.X_OK):
            raise RenderingError(
                f"EZHIFU_CHROMIUM 指向的文件不可执行 / EZHIFU_CHROMIUM is not an executable: {configured}"
            )
        return configured
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise RenderingError(
        "找不到 Chromium，无法生成 PDF（Debian: apt install chromium，或设置 EZHIFU_CHROMIUM）/ "
        "no Chromium found to print the PDF (Debian: apt install chromium, or set EZHIFU_CHROMIUM)"
    )


def _arguments(chromium: str, profile: Path, pdf: Path, page: Path) -> list[str]:
    args = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        # Every request goes to a proxy that is not there: the page can load nothing remote.
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        page.as_uri(),
    ]
    if os.geteuid() == 0:
        # Chromium refuses to start as root with its sandbox (containers, CI runners).
        args.insert(1, "--no-sandbox")
    return args


def html_to_pdf(html: str) -> bytes:
    """Print ``html`` (a self-contained page) to PDF bytes with headless Chromium."""
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="ezhifu-pdf-") as tmp:
        work = Path(tmp)
        page = work / "voucher.html"
        page.write_text(html, encoding="utf-8")
        pdf = work / "voucher.pdf"
        try:
            # The executable is found by find_chromium and every argument is ours (no shell).
            proc = subprocess.run(  # noqa: S603
                _arguments(chromium, work / "profile", pdf, page),
                capture_output=True,
                text=True,
                timeout=PDF_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RenderingError(
                f"Chromium 在 {PDF_TIMEOUT_SECONDS} 秒内未完成打印 / Chromium did not print the PDF "
                f"within {PDF_TIMEOUT_SECONDS} s"
            ) from exc
        if proc.returncode != 0 or not pdf.is_file():
            tail = proc.stderr.strip().splitlines()[-3:]
            raise RenderingError(
                f"Chromium 打印 PDF 失败（退出码 {proc.returncode}）/ Chromium failed to print the PDF "
                f"(exit {proc.returncode}): {' | '.join(tail)[:500]}"
            )
        size = pdf.stat().st_size
        if size > MAX_PDF_BYTES:
            raise RenderingError(f"PDF 过大 / the PDF is larger than {MAX_PDF_BYTES} bytes: {size} bytes")
        data = pdf.read_bytes()
    if not data.startswith(b"%PDF-"):
        raise RenderingError("Chromium 输出的不是 PDF / Chromium's output is not a PDF")
    return data


def write_pdf(path: str | Path, html: str) -> Path:
    """Print ``html`` to ``path`` (written atomically: a complete PDF or nothing)."""
    target = Path(path)
    atomic_write(target, html_to_pdf(html), mode=0o644)
    return target
