"""The HTML view of an envelope: one self-contained page a person can read and print.

For each ``VoucherBody`` of a ``<MOF>`` envelope (spec.md §2.1) the page shows:

* the envelope attributes (``AdmDivCode``, ``StYear``, ``VtCode``, ``VoucherNo``, ``VoucherFlag``),
  which are *not* signed (spec.md §5.5), apart from the inner voucher;
* every signature and seal at its position (spec.md §5.1 position names), the seal's picture
  (GM/T 0031-2014 / GB/T 38540-2020 ``SES_ESPictrueInfo``, seal_sm2.md §8) drawn at its nominal
  size in millimetres, and its verification status (valid, or invalid with the reason);
* the inner voucher's header fields in document order with their Chinese labels, and the
  ``DetailList`` as a table with the sum of every amount column (amounts are decimal strings
  with two decimals, spec.md §4.1), checked against the header amount the type's sum rule names.

Security: every piece of document text is escaped with :func:`html.escape` (quotes too), the
inner voucher is parsed with the hardened parser, pictures are embedded as ``data:`` URIs only
after their magic bytes name a raster or SVG image type, and the page carries a
Content-Security-Policy that forbids scripts, frames, forms and every network load, with the one
stylesheet allowed by its hash. A hostile voucher can therefore neither inject markup nor make
the page fetch anything. The view never re-serialises the voucher: it reads the decoded bytes
that the signatures cover.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ezhifu._fileio import atomic_write
from ezhifu.document.positions import INFERRED_POSITION_KINDS, POSITION_KINDS, POSITION_PARTIES
from ezhifu.document.rules import amount_fields, sum_amounts
from ezhifu.errors import EzhifuError
from ezhifu.report.form import box_css, boxes_html, form_head_html, layout_for
from ezhifu.report.html_page import CSS as _CSS
from ezhifu.report.html_page import PAGE as _PAGE
from ezhifu.report.identifiers import mask_identifiers
from ezhifu.report.localtime import display_time
from ezhifu.report.pictures import PictureSource, data_uri, picture_for, stamp_picture
from ezhifu.report.wording import current as _language
from ezhifu.report.wording import name as _name
from ezhifu.report.wording import page_language
from ezhifu.report.wording import say as _say
from ezhifu.verify.describe import BodyView, describe_envelope

if TYPE_CHECKING:
    from ezhifu.document.envelope import Envelope, SignatureElement, SignStampElement, VoucherBody
    from ezhifu.results import EnvelopeResult, ItemResult

__all__ = ["PictureSource", "position_label", "render_envelope_html", "stamp_picture", "write_envelope_html"]

#: 1 mm in CSS pixels (CSS fixes 96 px per inch).
_PX_PER_MM = 96 / 25.4
#: Nominal size of a seal when its picture does not say (seal_sm2.md §8: 40 or 42 mm is usual).
_DEFAULT_SEAL_MM = 40.0

# --- labels -----------------------------------------------------------------------------

# Position names and their readings: the vocabulary of ezhifu.document.positions (spec.md §5.1).
_POSITION_KINDS = POSITION_KINDS
_INFERRED_KINDS = INFERRED_POSITION_KINDS
_PARTIES = POSITION_PARTIES

_ENVELOPE_LABELS: dict[str, str] = {
    "AdmDivCode": "行政区划",
    "StYear": "业务年度",
    "VtCode": "凭证类型",
    "VoucherNo": "凭证号",
    "VoucherFlag": "回单标志",
    "Return_Reason": "退回原因",
    "Attach": "附加信息",
}


def position_label(position: str) -> str:
    """A Chinese reading of a position name such as ``cz_dwgz`` (empty when not known)."""
    party, _, kind = position.partition("_")
    reading = _POSITION_KINDS.get(kind) or _INFERRED_KINDS.get(kind, "")
    return f"{_PARTIES.get(party, '')}{reading}" if reading else ""


def _position_inferred(position: str) -> bool:
    party, _, kind = position.partition("_")
    # Only ``rh`` (人民银行, S1 keeps the positions starting with it) is a confirmed party prefix.
    return kind in _INFERRED_KINDS or party != "rh"


@dataclass(frozen=True, slots=True)
class _Labels:
    """Chinese labels, type name and sum rule of a VtCode from :mod:`ezhifu.document.fields`."""

    type_name: str
    header: Mapping[str, str]
    detail: Mapping[str, str]
    sum_rule: tuple[str, str] | None
    header_amounts: frozenset[str] = frozenset()
    detail_amounts: frozenset[str] = frozenset()


def _labels(vt_code: str) -> _Labels:
    """Field data of ``vt_code``; the default schema version first, then the older ones."""
    # reason: the view loads lxml, the field tables and the seal layer on first render
    from ezhifu.document import fields

    versions = [fields.DEFAULT_SCHEMA_VERSION, *reversed(fields.SCHEMA_VERSIONS)]
    header: dict[str, str] = {}
    detail: dict[str, str] = {}
    type_name = ""
    sum_rule: tuple[str, str] | None = None
    for version in versions:
        spec = fields.spec_for(vt_code, version)
        if spec is None:
            continue
        type_name = type_name or spec.name
        for f in spec.header:
            header.setdefault(f.name, f.label)
        for f in spec.detail:
            detail.setdefault(f.name, f.label)
        if sum_rule is None and spec.sum_rule is not None:
            sum_rule = (spec.sum_rule.header, spec.sum_rule.detail)
    amounts = (amount_fields(vt_code), amount_fields(vt_code, detail=True))
    return _Labels(type_name, header, detail, sum_rule, *amounts)


# --- voucher content ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _VoucherContent:
    header: tuple[tuple[str, str], ...]
    columns: tuple[str, ...]
    details: tuple[dict[str, str], ...]
    error: str | None = None


def _text(el: Any) -> str:
    return "".join(el.itertext()).strip()


def _voucher_content(body: VoucherBody) -> _VoucherContent:
    """Header fields and details read from the decoded inner voucher, in document order."""
    # reason: the view loads lxml, the field tables and the seal layer on first render
    from ezhifu.document.xmlparse import parse_xml

    try:
        root = parse_xml(body.voucher_xml, what=f"voucher {body.voucher_no}")
    except EzhifuError as exc:
        return _VoucherContent((), (), (), error=str(exc))
    header: list[tuple[str, str]] = []
    details: list[dict[str, str]] = []
    columns: list[str] = []
    for child in root:
        if not isinstance(child.tag, str):  # comments, processing instructions
            continue
        if child.tag == "DetailList":
            for detail in child:
                if not isinstance(detail.tag, str):
                    continue
                row: dict[str, str] = {}
                for cell in detail:
                    if isinstance(cell.tag, str):
                        row[cell.tag] = _text(cell)
                        if cell.tag not in columns:
                            columns.append(cell.tag)
                details.append(row)
        else:
            header.append((child.tag, _text(child)))
    return _VoucherContent(tuple(header), tuple(columns), tuple(details))


def _is_amount_column(name: str, amounts: frozenset[str]) -> bool:
    # The fields typed ``amount`` in the field data (spec.md §4.1), not a guess from the name.
    return name in amounts


def _sum(values: Iterable[str]) -> Decimal | None:
    return sum_amounts(values)


# --- rendering --------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _status_html(item: ItemResult | None) -> str:
    if item is None:
        return f'<span class="status none" data-status="unverified">{_say("未验证", "not verified")}</span>'
    if item.valid:
        return f'<span class="status ok" data-status="valid">✓ {_say("有效", "valid")}</span>'
    reason = f": {_e(item.reason)}" if item.reason else ""
    return f'<span class="status bad" data-status="invalid">✗ {_say("无效", "invalid")}{reason}</span>'


def _signer_meta(item: ItemResult | None) -> str:
    if item is None:
        return ""
    parts: list[str] = []
    if item.signer is not None:
        parts.append(f"{_say('签名人', 'signer')}: {_e(item.signer.subject)}")
        parts.append(f"{_say('签发者', 'issuer')}: {_e(item.signer.issuer)}")
    if item.anchors:
        parts.append(f"{_say('信任锚', 'anchor')}: {_e(', '.join(item.anchors))}")
    if item.signature_algorithm:
        parts.append(f"{_say('算法', 'algorithm')}: {_e(item.signature_algorithm)}")
    if item.signing_time is not None:
        # issue 13 item 2: the signer's time is a claim, shown as such; validity was decided
        # at the time basis (a verified time-stamp, an asserted time or the verification time)
        claimed = _say("签章时间（签章人声称）", "claimed time")
        parts.append(f"{claimed}: {_e(display_time(item.signing_time))}")
    basis = next((dict(s.evidence) for s in item.steps if s.name == "time-basis"), None)
    if basis:
        by = f" ({basis['tsa']})" if basis.get("tsa") else ""
        when = f" {display_time(datetime.fromisoformat(basis['at']))}" if basis.get("at") else ""
        named = _BASIS_LABELS.get(basis["basis"])
        label = _say(*named) if named else basis["basis"]
        parts.append(f"{_say('验证时间依据', 'time basis')}: {_e(label)}{_e(when)}{_e(by)}")
    return "<br>".join(parts)


#: How the HTML view names each time basis (ezhifu.pki.tsp.TimeBasis).
_BASIS_LABELS = {
    "token": ("可信时间戳", "verified time-stamp"),
    "asserted": ("调用方指定", "asserted"),
    "verification": ("验证时间", "verification time"),
}


def _position_html(position: str) -> str:
    label = position_label(position)
    if not label:
        return f'<div class="pos">{_e(position)}</div>'
    tip = _say("推断的含义", "inferred reading of the position name") if _position_inferred(position) else ""
    title = f' title="{_e(tip)}"' if tip else ""
    return f'<div class="pos">{_e(position)} <span{title}>{_e(label)}</span></div>'


def _signature_card(sig: SignatureElement, item: ItemResult | None) -> str:
    return (
        f'<div class="mark signature" data-kind="signature" data-position="{_e(sig.no)}">'
        f'<div class="pic"><span class="sig">{_say("签名", "signature")} ✍</span></div>'
        f"{_position_html(sig.no)}<div>{_say('数字签名', 'signature')} · SN {_e(sig.sn)}</div>"
        f'{_status_html(item)}<div class="meta">{_signer_meta(item)}</div></div>'
    )


def _stamp_card(stamp: SignStampElement, item: ItemResult | None, picture_of: PictureSource | None) -> str:
    try:
        picture = picture_for(stamp, item, picture_of)
        problem = None
    except EzhifuError as exc:
        picture, problem = None, str(exc)
    uri = data_uri(picture) if picture is not None else None
    if picture is not None and uri is not None:
        w_mm = float(picture.width_mm or _DEFAULT_SEAL_MM)
        h_mm = float(picture.height_mm or w_mm)
        scale = min(1.0, 160 / max(w_mm * _PX_PER_MM, h_mm * _PX_PER_MM))  # fit the card
        w_px = max(1, round(w_mm * _PX_PER_MM * scale))
        h_px = max(1, round(h_mm * _PX_PER_MM * scale))
        alt = f"{_say('印章', 'seal')} {stamp.no}"
        pic = (
            f'<img class="seal" alt="{_e(alt)}" width="{w_px}" height="{h_px}" '
            f'data-width-mm="{_e(f"{w_mm:g}")}" data-height-mm="{_e(f"{h_mm:g}")}" src="{uri}">'
        )
    else:
        if picture is not None and problem is None:
            problem = f"{picture.type} {_say('图片不显示', 'picture not shown')}"
        why = f"（{_e(problem)}）" if problem else ""
        pic = f'<span class="nopic">{_say("无印章图片", "no picture")}{why}</span>'
    name = ""
    if item is not None and item.seal_name:
        name = f'<div class="seal-name">{_e(item.seal_name)}</div>'
    return (
        f'<div class="mark seal" data-kind="seal" data-position="{_e(stamp.no)}">'
        f'<div class="pic">{pic}</div>{_position_html(stamp.no)}{name}'
        f"<div>{_say('电子印章', 'seal')} · ID {_e(stamp.sn)}</div>"
        f'{_status_html(item)}<div class="meta">{_signer_meta(item)}</div></div>'
    )


def _fields_table(
    header: Sequence[tuple[str, str]], labels: Mapping[str, str], amounts: frozenset[str]
) -> str:
    cells: list[str] = []
    for name, value in header:
        zh = labels.get(name)
        head = f'{_e(zh)}<span class="code">{_e(name)}</span>' if zh else _e(name)
        cls = ' class="num"' if _is_amount_column(name, amounts) else ""
        cells.append(f'<th data-field="{_e(name)}">{head}</th><td{cls}>{_e(value)}</td>')
    rows = ["<tr>" + "".join(cells[i : i + 3]) + "</tr>" for i in range(0, len(cells), 3)]
    return '<table class="fields">' + "".join(rows) + "</table>"


def _details_table(content: _VoucherContent, labels: Mapping[str, str], amounts: frozenset[str]) -> str:
    """The ``DetailList`` as a table; columns empty in every row are named below it instead.

    A sent voucher carries many empty columns (the receiver's X-fields, ``Hold1``..``Hold4``,
    spec.md §4.1); leaving them out, and putting the amount columns first, keeps the amounts on
    screen.
    """
    if not content.details:
        return f'<p class="sub">{_say("无明细", "no details")}</p>'
    filled = [c for c in content.columns if any(row.get(c, "") for row in content.details)]
    # Amounts first, so the sums stay on screen however many columns follow.
    cols = tuple(
        [c for c in filled if _is_amount_column(c, amounts)]
        + [c for c in filled if not _is_amount_column(c, amounts)]
    )
    empty = [c for c in content.columns if c not in cols]
    head = "".join(
        f'<th data-field="{_e(c)}"{" class=num" if _is_amount_column(c, amounts) else ""}>'
        f'{_e(labels.get(c) or c)}<span class="code">{_e(c)}</span></th>'
        for c in cols
    )
    body_rows = []
    for n, row in enumerate(content.details, 1):
        tds = "".join(
            f"<td{' class=num' if _is_amount_column(c, amounts) else ''}>{_e(row.get(c, ''))}</td>"
            for c in cols
        )
        body_rows.append(f"<tr><td>{n}</td>{tds}</tr>")
    sums = []
    for c in cols:
        if _is_amount_column(c, amounts):
            total = _sum(row.get(c, "") for row in content.details)
            sums.append(f'<td class="num" data-sum="{_e(c)}">{_e(total) if total is not None else "?"}</td>')
        else:
            sums.append("<td></td>")
    foot = f"<tr><td>{_say('合计', 'Total')}</td>{''.join(sums)}</tr>"
    note = ""
    if empty:
        empty_note = _say("空白栏目", "empty in every row")
        note = f'<p class="sub empty-columns">{empty_note}: {_e(", ".join(empty))}</p>'
    return (
        f'<div class="scroll"><table class="details"><thead><tr><th>#</th>{head}</tr></thead>'
        f"<tbody>{''.join(body_rows)}</tbody><tfoot>{foot}</tfoot></table></div>{note}"
    )


def _sum_check(content: _VoucherContent, rule: tuple[str, str] | None) -> str:
    """Compare a header amount with the sum of a detail column (the type's ``SumRule``).

    Which header amount must equal which detail sum comes from the field data
    (:class:`ezhifu.document.fields.SumRule`; ``PayAmt`` for the payment vouchers, spec.md §4.1).
    """
    if rule is None:
        return ""
    head_name, detail_name = rule
    header = dict(content.header)
    if head_name not in header or not content.details:
        return ""
    total = _sum(row.get(detail_name, "") for row in content.details)
    try:
        stated = Decimal(header[head_name])
    except InvalidOperation:
        return f'<p class="warn">{_e(head_name)} {_say("不是金额", "is not an amount")}</p>'
    if total is not None and total == stated:
        return (
            f'<p class="sub sum-ok">{_say("明细合计", "details total")} {_e(total)} = '
            f"{_say('凭证金额', 'voucher amount')} {_e(head_name)} {_e(stated)} ✓</p>"
        )
    return (
        f'<p class="warn sum-bad">{_say("明细合计", "details total")} {_e(total)} ≠ '
        f"{_say('凭证金额', 'voucher amount')} {_e(head_name)} {_e(stated)} ✗</p>"
    )


def _body_problems(view: BodyView) -> str:
    body_result = view.result
    problems = list(body_result.problems) if body_result is not None else []
    if body_result is not None and not body_result.items:
        problems.append(_say("此凭证无签名或印章", "no signature or seal on this voucher"))
    if not problems:
        return ""
    return '<ul class="problems">' + "".join(f"<li>{_e(p)}</li>" for p in problems) + "</ul>"


def _form_html(view: BodyView, labels: _Labels, content: _VoucherContent, options: _Options) -> str:
    """The paper form (:mod:`ezhifu.report.form`): title, 联, header grid, amount in words and the
    seals and signatures each in its layout box."""
    layout = layout_for(view.body.vt_code)
    marks = [(s.no, "signature", _signature_card(s, item)) for s, item in view.signatures]
    marks += [(s.no, "seal", _stamp_card(s, item, options.picture_of)) for s, item in view.stamps]
    none = f'<p class="sub">{_say("无签名或印章", "no signature or seal")}</p>'
    boxes = boxes_html(layout, marks, _e) if marks else none
    head = ""
    if content.error is None:
        head = form_head_html(
            layout,
            type_name=labels.type_name,
            header=content.header,
            labels=labels.header,
            amounts=labels.header_amounts,
            amount=labels.sum_rule[0] if labels.sum_rule else "",
            all_fields=options.all_fields,
            e=_e,
        )
    return (
        f'<div class="form" data-layout="{_e(layout.name)}">{head}'
        f"<h3>{_say('签名与印章', 'Signatures and seals')}</h3>{boxes}</div>"
    )


def _body_html(view: BodyView, options: _Options) -> str:
    body, body_result = view.body, view.result
    labels = _labels(body.vt_code)
    title = f"{body.vt_code} {labels.type_name}".strip()
    attrs = {
        "AdmDivCode": body.adm_div_code,
        "StYear": body.st_year,
        "VtCode": body.vt_code,
        "VoucherNo": body.voucher_no,
        "VoucherFlag": {"0": f"0 {_name('发送单', 'sent')}", "1": f"1 {_name('回单', 'receipt')}"}.get(
            body.voucher_flag, body.voucher_flag
        ),
    }
    if body.return_reason:
        attrs["Return_Reason"] = body.return_reason
    if body.attach:
        attrs["Attach"] = body.attach
    unsigned = {"VoucherFlag", "Return_Reason", "Attach"}  # no signature covers them (spec.md §5.5)
    attrs_html = "".join(
        f"<span>{_e(_name(_ENVELOPE_LABELS[k], k))} <b>{_e(v)}</b>"
        + (f' <i class="unsigned">（{_say("未签名", "unsigned")}）</i>' if k in unsigned else "")
        + "</span>"
        for k, v in attrs.items()
    )
    content = _voucher_content(body)
    if content.error is not None:
        main = f'<p class="warn">{_say("凭证无法读取", "voucher cannot be read")}: {_e(content.error)}</p>'
    else:
        opened = " open" if options.all_fields else ""
        main = (
            f'<details class="all-fields"{opened}><summary>{_say("全部要素", "All header fields")}</summary>'
            + _fields_table(content.header, labels.header, labels.header_amounts)
            + "</details>"
            + f"<h3>{_say('明细', 'Details')} ({len(content.details)})</h3>"
            + _details_table(content, labels.detail, labels.detail_amounts)
            + _sum_check(content, labels.sum_rule)
        )
    status = ""
    if body_result is not None:
        status = (
            f'<span class="status ok">✓ {_say("已验证", "verified")}</span>'
            if body_result.valid
            else f'<span class="status bad">✗ {_say("验证失败", "not verified")}</span>'
        )
    return (
        f'<section class="voucher" data-voucher-no="{_e(body.voucher_no)}">'
        f"<h2>{_e(title)} · {_e(body.voucher_no)} {status}</h2>"
        f'<div class="attrs">{attrs_html}</div>{_body_problems(view)}'
        f"{_form_html(view, labels, content, options)}{main}</section>"
    )


@dataclass(frozen=True, slots=True)
class _Options:
    picture_of: PictureSource | None
    all_fields: bool


def render_envelope_html(
    source: Envelope | bytes,
    *,
    result: EnvelopeResult | None = None,
    title: str | None = None,
    source_name: str | None = None,
    picture_of: PictureSource | None = None,
    show_identifiers: bool = False,
    all_fields: bool = False,
    language: str | None = None,
) -> str:
    """Render an envelope as one self-contained HTML page (a ``str``; write it as UTF-8).

    ``language`` is the language of the page's own labels (banner, statuses, signer facts,
    headings): ``"zh"`` Chinese, ``"en"`` English, ``None`` both (Chinese first). The paper form
    itself (its title, 联, the spec's field labels, 大写金额) is the Chinese form in every language.

    Resident identity numbers (in certificate subjects, reasons or fields) are shown masked
    (:func:`ezhifu.report.identifiers.mask_identifiers`) unless ``show_identifiers``.

    ``result`` is the envelope's verification (:func:`ezhifu.verify.envelope.verify_envelope`); without
    it every signature and seal is shown as "not verified". ``picture_of`` maps a
    ``<SignStamp>`` to its :class:`~ezhifu.seal.picture.SealImage` (default: :func:`stamp_picture`);
    a stamp whose picture cannot be read is shown with the reason instead of a picture.
    ``all_fields`` also shows the form's empty header fields and opens the list of all fields.
    """
    if isinstance(source, bytes | bytearray):
        # reason: the view loads lxml, the field tables and the seal layer on first render
        from ezhifu.document.envelope import Envelope

        envelope = Envelope.from_bytes(bytes(source))
    else:
        envelope = source
    with page_language(language):
        return _page(envelope, result, title, source_name, _Options(picture_of, all_fields), show_identifiers)


def _page(
    envelope: Envelope,
    result: EnvelopeResult | None,
    title: str | None,
    source_name: str | None,
    options: _Options,
    show_identifiers: bool,
) -> str:
    """The page of :func:`render_envelope_html` (in the language of :func:`page_language`)."""
    sections = [_body_html(view, options) for view in describe_envelope(envelope, result)]
    css = "\n".join([_CSS, *sorted({box_css(layout_for(b.vt_code)) for b in envelope.bodies})])

    if result is None:
        unverified = _say("未验证：未给出信任库。", "Not verified: no trust store was given.")
        banner = f'<div class="banner none">{unverified}</div>'
    elif result.valid:
        all_valid = _say("全部签名与印章有效。", "All signatures and seals are valid.")
        banner = f'<div class="banner ok">✓ {all_valid}</div>'
    else:
        reasons = [*result.problems, *(f"{b.voucher_no}: {r}" for b in result.bodies for r in b.reasons)]
        items = "".join(f"<li>{_e(r)}</li>" for r in reasons)
        banner = f'<div class="banner bad">✗ {_say("验证失败", "Verification failed")}<ul>{items}</ul></div>'
    if result is not None and not result.parties_checked:  # a position name is no party's approval
        notice = _say(
            "签名位置未与参与方绑定（未给出参与方文件）：位置名称并不说明是谁的批准。",
            "Positions were not bound to parties (no parties file): a position name does not say "
            "whose approval it is.",
        )
        banner = banner.removesuffix("</div>") + f'<p class="notice">{notice}</p></div>'

    count = len(envelope.bodies)
    subtitle = _say(f"{count} 张凭证", f"{count} voucher{'s' if count != 1 else ''}")
    if source_name:
        subtitle = f"{source_name} · {subtitle}"
    style_hash = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src 'sha256-{style_hash}'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    if not show_identifiers:
        sections = [mask_identifiers(section) for section in sections]
        banner = mask_identifiers(banner)
    return _PAGE.substitute(
        lang="en" if _language() == "en" else "zh-CN",
        csp=_e(csp),
        title=_e(title or _say("国库集中支付电子凭证", "Treasury payment e-voucher")),
        css=css,
        subtitle=_e(subtitle),
        banner=banner,
        bodies="\n".join(sections),
        footer=_e(
            "ezhifu view. "
            + _say(
                "软件密钥制作的印章仅用于测试与开发。",
                "Seals made with software keys are for testing and development only.",
            )
        ),
    )


def write_envelope_html(path: str | Path, source: Envelope | bytes, **options: Any) -> Path:
    """Render with :func:`render_envelope_html` and write the page as UTF-8 to ``path``."""
    out = Path(path)
    atomic_write(out, render_envelope_html(source, **options).encode("utf-8"), mode=0o644)
    return out
