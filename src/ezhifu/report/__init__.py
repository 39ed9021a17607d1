"""Human-readable views of envelopes: a self-contained HTML page (:mod:`ezhifu.report.html`).

The page shows what a person would check on paper: the voucher's header fields with their
Chinese labels, the details with sums, and every signature and seal at its position with its
picture and its verification status. It needs no network and no script to display.

Names are loaded on first use, so that a verb which only masks identifiers in its output
(:mod:`ezhifu.report.identifiers`) does not load the HTML renderer at start-up.
"""

from __future__ import annotations

from ezhifu._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "PictureSource": "ezhifu.report.html",
    "render_envelope_html": "ezhifu.report.html",
    "stamp_picture": "ezhifu.report.html",
    "write_envelope_html": "ezhifu.report.html",
}

__all__ = ["PictureSource", "render_envelope_html", "stamp_picture", "write_envelope_html"]

__getattr__, __dir__ = lazy_exports("ezhifu.report", _EXPORTS, globals(), __all__)
