"""What a display needs of a verified envelope: each body with its result, each mark with its item.

A view (the HTML page, a report, a CLI listing) walks the envelope's bodies and their
``<Signature>`` / ``<SignStamp>`` elements in document order; :func:`describe_envelope` hands it
each one paired with its :mod:`ezhifu.results` object, so the view renders from the result and
parses nothing again (docs/verification.md). Results are matched by ``VoucherNo`` (bodies, in
order when a number repeats) and by kind and position (items, in order when a position repeats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ezhifu.results import BodyResult, EnvelopeResult, ItemResult

if TYPE_CHECKING:
    from ezhifu.document.envelope import Envelope, SignatureElement, SignStampElement, VoucherBody

__all__ = ["BodyView", "describe_envelope"]


@dataclass(frozen=True, slots=True)
class BodyView:
    """One body, its result (``None`` when not verified) and its marks with their items."""

    body: VoucherBody
    result: BodyResult | None
    signatures: tuple[tuple[SignatureElement, ItemResult | None], ...]
    stamps: tuple[tuple[SignStampElement, ItemResult | None], ...]


def _take(items: list[ItemResult], position: str) -> ItemResult | None:
    """The first unused result for ``position`` (the same position may appear twice)."""
    for n, item in enumerate(items):
        if item.position == position:
            return items.pop(n)
    return None


def describe_body(body: VoucherBody, result: BodyResult | None) -> BodyView:
    """Pair every mark of ``body`` with its item of ``result``."""
    items: Sequence[ItemResult] = result.items if result is not None else ()
    signature_items = [i for i in items if i.kind == "signature"]
    seal_items = [i for i in items if i.kind == "seal"]
    return BodyView(
        body,
        result,
        tuple((s, _take(signature_items, s.no)) for s in body.signatures),
        tuple((s, _take(seal_items, s.no)) for s in body.stamps),
    )


def describe_envelope(envelope: Envelope, result: EnvelopeResult | None = None) -> tuple[BodyView, ...]:
    """Every body of ``envelope`` in order, paired with its result from ``result`` (if given)."""
    by_no: dict[str, list[BodyResult]] = {}
    for body_result in result.bodies if result is not None else ():
        by_no.setdefault(body_result.voucher_no, []).append(body_result)
    views = []
    for body in envelope.bodies:
        found = by_no.get(body.voucher_no) or []
        views.append(describe_body(body, found.pop(0) if found else None))
    return tuple(views)
