"""Human-readable views of envelopes: a self-contained HTML page (:mod:`ezhifu.report.html`).

The page shows what a person would check on paper: the voucher's header fields with their
Chinese labels, the details with sums, and every signature and seal at its position with its
picture and its verification status. It needs no network and no script to display.
"""

from __future__ import annotations

from ezhifu.report.html import PictureSource, render_envelope_html, stamp_picture, write_envelope_html

__all__ = ["PictureSource", "render_envelope_html", "stamp_picture", "write_envelope_html"]
