"""Form layouts (ezhifu.report.form): shipped layouts load, hostile layouts are refused by name,
and the form shows the amount with separators and 大写金额, empty fields only with all_fields."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import cast

import lxml.html
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import InvalidInput, LayoutError
from ezhifu.report.form import MAX_BOXES, box_css, layout_for, parse_layout
from ezhifu.report.html import render_envelope_html

BOX = '[[box]]\nmatch = "*"\nlabel = "x"\nwidth_mm = 60\nheight_mm = 60\n'


def test_every_shipped_layout_loads() -> None:
    folder = resources.files("ezhifu.report").joinpath("layouts")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml"))
    assert "generic.toml" in names and "5201.toml" in names
    for name in names:
        layout = parse_layout(folder.joinpath(name).read_text(encoding="utf-8"), name=name)
        assert layout.boxes[-1].match == "*", f"{name}: the last box must take every other position"


def test_layout_per_vtcode_and_generic_fallback() -> None:
    assert layout_for("5201").name == "5201.toml"
    assert layout_for("8202").name == "8202.toml"
    assert layout_for("2301").name == "generic.toml"
    assert layout_for("../../etc/passwd").name == "generic.toml"  # never a path
    five = layout_for("5201")
    assert five.boxes[five.box_for("cz_dwgz")].match == "cz_*"
    assert five.boxes[five.box_for("rh_zqz")].match == "rh_*"
    assert five.boxes[five.box_for("xx_yy")].match == "*"
    assert "width: 68mm" in box_css(five)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("title = ", "TOML"),
        ('colour = "red"\n' + BOX, "unknown keys"),
        ("title = 3\n" + BOX, "title"),
        ('header = ["A", ""]\n' + BOX, "header"),
        ("header = " + repr(["F"] * 121) + "\n" + BOX, "more than 120"),
        ('title = "x"\n', "[[box]]"),
        (BOX * (MAX_BOXES + 1), "[[box]]"),
        (BOX.replace("width_mm = 60", "width_mm = 5"), "width_mm"),
        (BOX.replace("width_mm = 60", "width_mm = true"), "width_mm"),
        (BOX.replace("height_mm = 60", 'height_mm = "60"'), "height_mm"),
        (BOX.replace('match = "*"', 'match = ""'), "match"),
        (BOX + "extra = 1\n", "unknown keys"),
        ("x" * 70000, "bytes"),
    ],
)
def test_hostile_layouts_are_refused(text: str, needle: str) -> None:
    with pytest.raises(LayoutError, match=needle.replace("[", r"\[").replace("]", r"\]")) as info:
        parse_layout(text, name="bad.toml")
    assert isinstance(info.value, InvalidInput)
    assert "bad.toml" in str(info.value)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_layout_or_a_layout_error(text: str) -> None:
    try:
        layout = parse_layout(text, name="fuzz.toml")
    except LayoutError:
        return
    assert 1 <= len(layout.boxes) <= MAX_BOXES


def _form(html: str) -> lxml.html.HtmlElement:
    found = cast("list[lxml.html.HtmlElement]", lxml.html.fromstring(html).xpath("//div[@class='form']"))
    assert len(found) == 1
    return found[0]


def test_form_has_title_copies_amount_in_words_and_leaves_empty_fields_out() -> None:
    voucher = sample_voucher("5201", details=0, PayAmt="1234567.80")
    html = render_envelope_html(Envelope.build([voucher]))
    form = _form(html)
    assert form.get("data-layout") == "5201.toml"
    assert form.xpath(".//span[@class='form-name']")[0].text == "财政直接支付凭证"
    assert form.xpath(".//span[@class='copy']")[0].text == "第一联 财政留存"
    assert form.xpath(".//td[@data-amount='PayAmt']")[0].text == "¥1,234,567.80"
    assert form.xpath(".//td[@data-words='PayAmt']")[0].text == "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角"
    fields = [th.get("data-form-field") for th in form.xpath(".//th[@data-form-field]")]
    assert fields[:2] == ["VouDate", "VoucherNo"]  # the layout's reading order
    assert "XPayDate" not in fields and "PayAmt" not in fields
    full = _form(render_envelope_html(Envelope.build([voucher]), all_fields=True))
    assert "XPayDate" in [th.get("data-form-field") for th in full.xpath(".//th[@data-form-field]")]


def test_a_hostile_amount_is_shown_with_the_reason_not_rendered_in_words() -> None:
    voucher = sample_voucher("2301", details=0, PayAmt="1.005")
    form = _form(render_envelope_html(Envelope.build([voucher])))
    assert form.get("data-layout") == "generic.toml"
    words = form.xpath(".//td[@data-words]")
    assert words and "两位小数" in words[0].text


def test_view_all_fields_flag(tmp_path: Path) -> None:
    source = tmp_path / "env.xml"
    source.write_bytes(Envelope.build([sample_voucher("5201", details=1)]).to_bytes())
    for extra, present in (([], False), (["--all-fields"], True)):
        out = tmp_path / f"v{len(extra)}.html"  # a new file each time: replacing one needs --force
        result = CliRunner().invoke(cli, ["view", str(source), "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
        assert ('data-form-field="XPayDate"' in out.read_text(encoding="utf-8")) is present
