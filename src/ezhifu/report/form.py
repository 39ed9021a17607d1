"""The paper form of a voucher: its layout (data, one TOML file per VtCode) and the form's HTML.

A layout (``report/layouts/<VtCode>.toml``, ``generic.toml`` for the other types) names:

* ``title`` — the form's title (empty: the type name from the field data, spec.md §4);
* ``copies`` — the voucher's 联 where the paper form has several (empty: none shown);
* ``header`` — the header fields a clerk reads, in reading order (empty: every filled field in
  document order); fields left empty are left out unless *all fields* are asked for;
* ``amount`` — the header amount shown with its 大写金额 (empty: the sum rule's header amount,
  spec.md §4.1);
* ``[[box]]`` — the places of the seals and signatures: a position name (spec.md §5.1) goes to the
  first box whose ``match`` (a shell pattern such as ``cz_*``) it matches; each box has a label and
  its size in millimetres, which the page's style sheet draws at that size.

A layout is validated when it is loaded: unknown keys, wrong types, more than :data:`MAX_FIELDS`
fields or :data:`MAX_BOXES` boxes, or a box outside :data:`BOX_MM` raise
:class:`~ezhifu.errors.LayoutError`. Amounts are printed with thousands separators and their
大写金额 by :mod:`ezhifu.report.amounts`; every piece of text is escaped by the caller's escaper.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ezhifu.errors import AmountOutOfRange, LayoutError
from ezhifu.report.amounts import amount_in_words, format_amount

__all__ = [
    "BOX_MM",
    "MAX_BOXES",
    "MAX_FIELDS",
    "Box",
    "FormLayout",
    "box_css",
    "boxes_html",
    "form_head_html",
    "layout_for",
    "parse_layout",
]

#: Most header fields a layout may name (the largest voucher type has fewer than 80).
MAX_FIELDS = 120
#: Most boxes (seal and signature places) a layout may have.
MAX_BOXES = 16
#: Most copies (联) a layout may name.
MAX_COPIES = 8
#: Smallest and largest side of a box in millimetres (a seal is 40-42 mm, seal_sm2.md §8; A4 is 210 mm wide).
BOX_MM = (20.0, 190.0)
#: Longest layout file read, in bytes.
MAX_LAYOUT_BYTES = 64 * 1024

_KEYS = frozenset({"title", "copies", "header", "amount", "box"})
_BOX_KEYS = frozenset({"match", "label", "width_mm", "height_mm"})
_VT_CODE = re.compile(r"^[0-9A-Za-z]{1,8}$")


@dataclass(frozen=True, slots=True)
class Box:
    """A place for seals and signatures on the form."""

    match: str
    label: str
    width_mm: float
    height_mm: float


@dataclass(frozen=True, slots=True)
class FormLayout:
    """The layout of one voucher type's paper form (see the module docstring)."""

    name: str
    title: str
    copies: tuple[str, ...]
    header: tuple[str, ...]
    amount: str
    boxes: tuple[Box, ...]

    def box_for(self, position: str) -> int:
        """Index of the box that holds ``position`` (the last box when none matches)."""
        for n, box in enumerate(self.boxes):
            if fnmatch.fnmatchcase(position, box.match):
                return n
        return len(self.boxes) - 1


def _str_list(data: Mapping[str, Any], key: str, limit: int, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise LayoutError(
            f"布局 {where}: {key} 须为非空字符串列表 / {key} must be a list of non-empty strings"
        )
    if len(value) > limit:
        raise LayoutError(f"布局 {where}: {key} 超过 {limit} 项 / {key} has more than {limit} entries")
    return tuple(value)


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > 200:
        raise LayoutError(
            f"布局 {where}: {key} 须为字符串 / {key} must be a string of at most 200 characters"
        )
    return value


def _box(data: object, n: int, where: str) -> Box:
    at = f"{where} box {n + 1}"
    if not isinstance(data, dict):
        raise LayoutError(f"布局 {at}: 须为表 / must be a table")
    unknown = set(data) - _BOX_KEYS
    if unknown:
        raise LayoutError(f"布局 {at}: 未知键 / unknown keys {sorted(unknown)}")
    match, label = _str(data, "match", at), _str(data, "label", at)
    if not match:
        raise LayoutError(f"布局 {at}: 缺少 match / match is missing")
    sizes: list[float] = []
    for key in ("width_mm", "height_mm"):
        value = data.get(key)
        low, high = BOX_MM
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise LayoutError(
                f"布局 {at}: {key} 须在 {low:g}-{high:g} 毫米之间 / {key} must be {low:g}-{high:g} mm"
            )
        sizes.append(float(value))
    return Box(match, label, sizes[0], sizes[1])


def parse_layout(text: str, *, name: str) -> FormLayout:
    """A layout from TOML ``text`` (``name`` says where it came from), validated."""
    if len(text.encode("utf-8")) > MAX_LAYOUT_BYTES:
        raise LayoutError(f"布局 {name}: 超过 {MAX_LAYOUT_BYTES} 字节 / larger than {MAX_LAYOUT_BYTES} bytes")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"布局 {name}: 不是有效的 TOML / not valid TOML: {exc}") from exc
    unknown = set(data) - _KEYS
    if unknown:
        raise LayoutError(f"布局 {name}: 未知键 / unknown keys {sorted(unknown)}")
    raw_boxes = data.get("box", [])
    if not isinstance(raw_boxes, list) or not 1 <= len(raw_boxes) <= MAX_BOXES:
        raise LayoutError(f"布局 {name}: 须有 1-{MAX_BOXES} 个 [[box]] / needs 1-{MAX_BOXES} [[box]] tables")
    return FormLayout(
        name=name,
        title=_str(data, "title", name),
        copies=_str_list(data, "copies", MAX_COPIES, name),
        header=_str_list(data, "header", MAX_FIELDS, name),
        amount=_str(data, "amount", name),
        boxes=tuple(_box(b, n, name) for n, b in enumerate(raw_boxes)),
    )


@cache
def layout_for(vt_code: str) -> FormLayout:
    """The layout of ``vt_code``: its own file under ``report/layouts/``, else ``generic.toml``."""
    folder = resources.files("ezhifu.report").joinpath("layouts")
    stem = vt_code if _VT_CODE.match(vt_code) else "generic"
    source = folder.joinpath(f"{stem}.toml")
    if not source.is_file():
        stem, source = "generic", folder.joinpath("generic.toml")
    return parse_layout(source.read_text(encoding="utf-8"), name=f"{stem}.toml")


def box_css(layout: FormLayout) -> str:
    """Style rules drawing each box of ``layout`` at its size (the page allows styles only from
    its one hashed style sheet, so the sizes go there, not into ``style`` attributes)."""
    rules = []
    for n, box in enumerate(layout.boxes):
        rules.append(
            f'.form[data-layout="{layout.name}"] .box[data-box="{n}"] '
            f"{{ width: {box.width_mm:g}mm; min-height: {box.height_mm:g}mm; }}"
        )
    return "\n".join(rules)


Escape = Callable[[object], str]


def _amount_cells(name: str, label: str, value: str, e: Escape) -> str:
    try:
        shown, words = format_amount(value), amount_in_words(value)
    except AmountOutOfRange as exc:
        shown, words = value, f"（{exc}）"
    return (
        f'<tr class="amount-row"><th>{e(label)}<span class="code">{e(name)}</span></th>'
        f'<td class="num amount" data-amount="{e(name)}">¥{e(shown)}</td>'
        f'<th>大写金额<span class="code">in words</span></th>'
        f'<td class="words" data-words="{e(name)}" colspan="3">{e(words)}</td></tr>'
    )


def form_head_html(
    layout: FormLayout,
    *,
    type_name: str,
    header: Sequence[tuple[str, str]],
    labels: Mapping[str, str],
    amounts: frozenset[str],
    amount: str,
    all_fields: bool,
    e: Escape,
) -> str:
    """The form's title, copies (联), header grid and amount row with its 大写金额.

    ``amount`` is the header amount to write in words when the layout names none (the type's sum
    rule). Empty fields are left out unless ``all_fields``.
    """
    values = dict(header)
    wanted = list(layout.header) or [n for n, _ in header]
    if all_fields:
        wanted += [n for n, _ in header if n not in wanted]
    amount_name = layout.amount or amount
    shown = [n for n in wanted if n != amount_name and n in values and (all_fields or values[n])]
    cells = []
    for name in shown:
        cls = ' class="num"' if name in amounts else ""
        value = format_amount(values[name]) if name in amounts and values[name] else values[name]
        cells.append(
            f'<th data-form-field="{e(name)}">{e(labels.get(name) or name)}</th><td{cls}>{e(value)}</td>'
        )
    rows = ["<tr>" + "".join(cells[i : i + 3]) + "</tr>" for i in range(0, len(cells), 3)]
    if amount_name and values.get(amount_name):
        rows.append(_amount_cells(amount_name, labels.get(amount_name, "金额"), values[amount_name], e))
    copies = "".join(f'<span class="copy">{e(c)}</span>' for c in layout.copies)
    title = layout.title or type_name
    return (
        f'<div class="form-title"><span class="form-name">{e(title)}</span>'
        f"{f'<span class=copies>{copies}</span>' if copies else ''}</div>"
        f'<table class="form-grid">{"".join(rows)}</table>'
    )


def boxes_html(layout: FormLayout, marks: Sequence[tuple[str, str, str]], e: Escape) -> str:
    """The seal and signature places: each ``(position, kind, card_html)`` drawn in its own box,
    sized and labelled by the layout box its position matches; ``kind`` is ``seal`` or ``signature``."""
    out = []
    for position, kind, card in marks:
        n = layout.box_for(position)
        box = layout.boxes[n]
        out.append(
            f'<div class="box {e(kind)}-box" data-box="{n}" data-box-for="{e(position)}">'
            f'<div class="box-label">{e(box.label)}</div>{card}</div>'
        )
    return '<div class="boxes">' + "".join(out) + "</div>"
