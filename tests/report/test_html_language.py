"""The HTML view's own labels in one language (issue 15 Build 8): Chinese under ``zh``, English
under ``en``, both (Chinese first, the library default) without a language; through the API and
through ``ezhifu --lang zh|en view``.

The labels are taken from the renderer's source — every ``_say(中文, English)`` call with two
literal strings in :mod:`ezhifu.report.html` — so a label added later is checked as well.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any, cast

import lxml.html
import pytest
from click.testing import CliRunner

from ezhifu.cli import main as cli_main
from ezhifu.cli.demo import run_demo
from ezhifu.cli.i18n import localize, set_language
from ezhifu.report import html as html_module
from ezhifu.report.html import render_envelope_html
from ezhifu.results import EnvelopeResult


def _labels() -> list[tuple[str, str]]:
    tree = ast.parse(inspect.getsource(html_module))
    pairs = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_say":
            args = node.args
            if len(args) == 2 and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
                pairs.append((args[0].value, args[1].value))  # type: ignore[attr-defined]
    return pairs


LABELS = _labels()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EnvelopeResult]:
    out = tmp_path_factory.mktemp("demo")
    result = run_demo(out)
    assert result.ok and result.envelope_path is not None and result.verification is not None
    return out, result.verification


def _chrome_text(page: str) -> str:
    """The page's text outside the paper form (its title, grid, box labels and the Chinese readings
    of position names: the form's own Chinese names, in every language), the signer facts and the
    seal names (data)."""
    root = lxml.html.fromstring(page)
    form = "contains(@class, 'form-title') or contains(@class, 'form-grid') or @class='box-label'"
    data = "//style | //*[@class='meta' or @class='code' or @class='seal-name']"
    for el in cast(list[Any], root.xpath(f"//*[{form}] | //div[@class='pos']/span | {data}")):
        el.drop_tree()
    return str(cast(Any, root).text_content())


def _shown(pairs: list[tuple[str, str]], text: str, index: int) -> list[str]:
    return [pair[index] for pair in pairs if pair[index] in text]


def test_the_labels_are_found_in_the_source() -> None:
    assert len(LABELS) > 20
    assert ("有效", "valid") in LABELS and ("签名与印章", "Signatures and seals") in LABELS


def test_chinese_page_has_no_english_label(demo: tuple[Path, EnvelopeResult]) -> None:
    out, result = demo
    data = (out / "envelope.xml").read_bytes()
    for verified in (None, result):
        page = render_envelope_html(data, result=verified, language="zh")
        text = _chrome_text(page)
        english = [en for en in _shown(LABELS, text, 1) if len(en) > 3 and en not in {"seal", "time"}]
        assert not english, english
        assert _shown(LABELS, text, 0), "no Chinese label at all"
        assert '<html lang="zh-CN">' in page


def test_english_page_has_no_chinese_label(demo: tuple[Path, EnvelopeResult]) -> None:
    out, result = demo
    data = (out / "envelope.xml").read_bytes()
    for verified in (None, result):
        page = render_envelope_html(data, result=verified, language="en")
        text = _chrome_text(page)
        chinese = _shown(LABELS, text, 0)
        assert not chinese, chinese
        assert _shown(LABELS, text, 1)
        assert '<html lang="en">' in page
        attrs = cast(list[Any], lxml.html.fromstring(page).xpath("//div[@class='attrs']"))[0].text_content()
        assert "AdmDivCode" in attrs and "行政区划" not in attrs and "(unsigned)" not in attrs
    page = render_envelope_html(data, result=result, language="en")
    assert "All signatures and seals are valid." in page and "Signatures and seals" in page


def test_without_a_language_both_as_before(demo: tuple[Path, EnvelopeResult]) -> None:
    out, result = demo
    page = render_envelope_html((out / "envelope.xml").read_bytes(), result=result)
    assert "✓ 有效 valid" in page and "签名与印章 Signatures and seals" in page
    assert "全部签名与印章有效。 All signatures and seals are valid." in page


@pytest.mark.parametrize(
    ("lang", "expected", "absent"), [("zh", "✓ 有效<", "valid<"), ("en", "✓ valid<", "有效")]
)
def test_view_verb_follows_lang(
    demo: tuple[Path, EnvelopeResult], tmp_path: Path, lang: str, expected: str, absent: str
) -> None:
    out, _ = demo
    page_path = tmp_path / "v.html"
    trust = ["--trust", str(out / "root.pem"), "--seal-maker-trust", str(out / "seal-maker-root.pem")]
    args = ["--lang", lang, "view", str(out / "envelope.xml"), *trust]
    try:
        result = CliRunner().invoke(cli_main.cli, [*args, "-o", str(page_path)])
    finally:
        set_language("en")
        localize(cli_main.cli)  # the help strings back in English for the tests that follow
    assert result.exit_code == 0, result.output
    page = page_path.read_text(encoding="utf-8")
    assert expected in page and absent not in page
