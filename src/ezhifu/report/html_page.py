"""The page around the HTML view (:mod:`ezhifu.report.html`): its style sheet and its template.

Pure data. The style sheet is inlined and allowed by its SHA-256 in the page's Content Security
Policy, so the page loads nothing and runs nothing.
"""

from __future__ import annotations

from string import Template

__all__ = ["CSS", "PAGE"]

CSS = """
:root { --ok: #176f2c; --bad: #8a1020; --muted: #5b6270; --line: #c9ced6; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px; font: 14px/1.45 "Noto Sans CJK SC", "Source Han Sans SC",
  "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; color: #1d2129; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
.sub { color: var(--muted); margin: 0 0 14px; }
.banner { padding: 10px 14px; border-radius: 6px; font-weight: 600; margin: 0 0 18px; }
.banner.ok { background: #e3f4e6; color: var(--ok); }
.banner.bad { background: #f8e4e6; color: var(--bad); }
.banner.none { background: #eef0f3; color: var(--muted); }
.voucher { border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; margin: 0 0 24px; }
.attrs { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 0 0 12px; color: var(--muted); }
.attrs b { color: #1d2129; font-weight: 600; }
.problems { color: var(--bad); margin: 6px 0 12px; padding-left: 20px; }
.marks { display: flex; flex-wrap: wrap; gap: 16px; margin: 0 0 8px; }
.mark { border: 1px dashed var(--line); border-radius: 8px; padding: 10px 12px; width: 260px;
  overflow-wrap: anywhere; }
.mark .pic { height: 170px; display: flex; align-items: center; justify-content: center; }
.mark .sig { font-size: 28px; color: #1f3c88; font-style: italic; }
.mark .nopic { color: var(--muted); }
.mark .pos { font-weight: 600; }
.mark .meta { color: var(--muted); font-size: 12px; word-break: break-all; }
.status { display: inline-block; margin: 4px 0; padding: 1px 8px; border-radius: 10px; font-size: 13px; }
.status.ok { background: #e3f4e6; color: var(--ok); }
.status.bad { background: #f8e4e6; color: var(--bad); }
.status.none { background: #eef0f3; color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top; text-align: left; }
table.fields th { width: 16%; background: #f5f6f8; font-weight: 600; }
table.fields td { width: 17%; word-break: break-all; }
th .code, .code { color: var(--muted); font-weight: 400; font-size: 11px; display: block; }
.scroll { overflow-x: auto; }
table.details { font-size: 12.5px; }
table.details td { word-break: break-all; min-width: 4em; }
table.details td:first-child, table.details th:first-child { white-space: nowrap; }
table.details thead th { background: #f5f6f8; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: 600; background: #fafbfc; }
.warn { color: var(--bad); }
footer { color: var(--muted); font-size: 12px; margin-top: 8px; }
.form { border: 2px solid #1d2129; padding: 10px 14px; margin: 0 0 14px; }
.form-title { display: flex; align-items: baseline; justify-content: center; gap: 18px; margin: 0 0 8px; }
.form-name { font-size: 20px; font-weight: 700; letter-spacing: 4px; }
.copies { display: flex; gap: 8px; color: var(--muted); font-size: 12px; }
table.form-grid th { width: 12%; background: #f5f6f8; font-weight: 600; white-space: nowrap; }
table.form-grid td { width: 21%; overflow-wrap: anywhere; }
table.form-grid td.words { font-weight: 600; letter-spacing: 1px; }
td.amount { font-weight: 700; }
td.num, th.num, td[data-sum] { white-space: nowrap; }
.boxes { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.box { padding: 4px; overflow: hidden; }
.box.seal-box { border: 2px solid rgb(0, 96, 160); }
.box.signature-box { border: 2px solid rgb(0, 128, 96); }
.box-label { color: var(--muted); font-size: 12px; }
.box .mark { width: auto; border: none; padding: 2px 4px; }
details.all-fields { margin: 10px 0 0; }
details.all-fields > summary { cursor: default; font-weight: 600; margin: 0 0 6px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { padding: 0; font-size: 11px; }
  .scroll { overflow: visible; }
  thead { display: table-header-group; }
  tfoot { display: table-footer-group; }
  tr, .box, .form-title { break-inside: avoid; }
  .voucher { border: none; padding: 0; break-after: page; }
}
"""

PAGE = Template(
    """<!DOCTYPE html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="$csp">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="ezhifu">
<title>$title</title>
<style>$css</style>
</head>
<body>
<h1>$title</h1>
<p class="sub">$subtitle</p>
$banner
$bodies
<footer>$footer</footer>
</body>
</html>
"""
)
