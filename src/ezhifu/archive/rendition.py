"""The readable rendition of each archived envelope (DA/T 95 §5.1: a layout for people).

The rendition is the self-contained HTML page of :mod:`ezhifu.report.html` (the same page
``ezhifu view`` writes), with the verdict captured at archiving time, and on request the same
page printed to PDF by :func:`ezhifu.report.pdf.html_to_pdf` (headless Chromium, as
``ezhifu view --pdf``). DA/T 95 prefers OFD layout files (GB/T 33190); ezhifu does not write OFD,
and says so in docs/archive.md.
"""

from __future__ import annotations

from ezhifu.document.envelope import Envelope
from ezhifu.report.html import render_envelope_html
from ezhifu.report.pdf import html_to_pdf
from ezhifu.results import EnvelopeResult

__all__ = ["PDF_SUFFIX", "RENDITION_SUFFIX", "looks_like_pdf", "render", "render_pdf", "rendition_name"]

RENDITION_SUFFIX = ".html"
PDF_SUFFIX = ".pdf"


def rendition_name(content_name: str, suffix: str = RENDITION_SUFFIX) -> str:
    """``content/envelope.xml`` -> ``rendition/envelope.html`` (or ``.pdf``)."""
    stem = content_name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return f"rendition/{stem}{suffix}"


def render(envelope: Envelope, result: EnvelopeResult, *, source_name: str) -> bytes:
    """The rendition bytes (UTF-8 HTML) of one envelope with its archived verdict."""
    title = "归档凭证 Archived treasury payment e-voucher"
    return render_envelope_html(envelope, result=result, source_name=source_name, title=title).encode("utf-8")


def render_pdf(html: bytes) -> bytes:
    """The rendition printed to PDF (raises :class:`~ezhifu.errors.RenderingError` without Chromium)."""
    return html_to_pdf(html.decode("utf-8"))


def looks_like_pdf(data: bytes) -> bool:
    """A PDF header at the start and an end-of-file marker in the last kilobyte."""
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]
