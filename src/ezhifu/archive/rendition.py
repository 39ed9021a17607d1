"""The readable rendition of each archived envelope (DA/T 95 §5.1: a layout for people).

Today the rendition is the self-contained HTML page of :mod:`ezhifu.report.html` (the same page
``ezhifu view`` writes), with the verdict captured at archiving time. DA/T 95 prefers OFD layout
files (GB/T 33190); ezhifu does not write OFD, and says so in docs/archive.md.
"""

from __future__ import annotations

from ezhifu.document.envelope import Envelope
from ezhifu.report.html import render_envelope_html
from ezhifu.results import EnvelopeResult

__all__ = ["RENDITION_SUFFIX", "render", "rendition_name"]

RENDITION_SUFFIX = ".html"


def rendition_name(content_name: str) -> str:
    """``content/envelope.xml`` -> ``rendition/envelope.html``."""
    stem = content_name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return f"rendition/{stem}{RENDITION_SUFFIX}"


def render(envelope: Envelope, result: EnvelopeResult, *, source_name: str) -> bytes:
    """The rendition bytes (UTF-8 HTML) of one envelope with its archived verdict."""
    title = "归档凭证 Archived treasury payment e-voucher"
    return render_envelope_html(envelope, result=result, source_name=source_name, title=title).encode("utf-8")
