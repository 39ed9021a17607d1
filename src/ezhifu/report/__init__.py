"""Human-readable views of envelopes: a self-contained HTML page (:mod:`ezhifu.report.html`).

The page shows what a person would check on paper: the voucher's header fields with their
Chinese labels, the details with sums, and every signature and seal at its position with its
picture and its verification status. It needs no network and no script to display.

Names are loaded on first use, so that a verb which only masks identifiers in its output
(:mod:`ezhifu.report.identifiers`) does not load the HTML renderer at start-up.
"""

from __future__ import annotations

from ezhifu._lazy import TYPE_CHECKING, lazy_exports

_EXPORTS = """
    ezhifu.report.html: PictureSource render_envelope_html stamp_picture write_envelope_html
"""

if TYPE_CHECKING:
    from ezhifu.report.html import PictureSource as PictureSource
    from ezhifu.report.html import render_envelope_html as render_envelope_html
    from ezhifu.report.html import stamp_picture as stamp_picture
    from ezhifu.report.html import write_envelope_html as write_envelope_html

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
