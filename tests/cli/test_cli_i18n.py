"""Chinese and Beijing time (issue 15 item 8): gettext catalogue complete for the translated
help strings and in agreement with its source, the language from LANG or --lang (through a real
subprocess), and times shown in Asia/Shanghai with their offset."""

from __future__ import annotations

import ast
import gettext
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import click
import pytest

from ezhifu.cli import main as cli_main
from ezhifu.cli.i18n import LOCALE_DIR, _, language_from_env, set_language
from ezhifu.cli.options import json_option
from ezhifu.cli.output import force_option
from ezhifu.report.localtime import display_time

PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "ezhifu.po"
MO = PO.with_suffix(".mo")


def _parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of a .po file (the subset of the format the catalogue uses; plural: msgstr[0])."""
    entries: dict[str, str] = {}
    key: str | None = None
    current: dict[str, list[str]] = {}
    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("msgid "):
            if current.get("msgid") is not None and current.get("msgstr") is not None:
                entries["".join(current["msgid"])] = "".join(current["msgstr"])
            current = {"msgid": [ast.literal_eval(stripped[6:])]}
            key = "msgid"
        elif stripped.startswith("msgid_plural "):
            current["plural"] = [ast.literal_eval(stripped[13:])]
            key = "plural"
        elif stripped.startswith(("msgstr ", "msgstr[0] ")):
            current["msgstr"] = [ast.literal_eval(stripped.split(" ", 1)[1])]
            key = "msgstr"
        elif stripped.startswith('"') and key is not None:
            current[key].append(ast.literal_eval(stripped))
    if current.get("msgid") is not None and current.get("msgstr") is not None:
        entries["".join(current["msgid"])] = "".join(current["msgstr"])
    entries.pop("", None)
    return entries


def _translated_strings() -> list[str]:
    """Every help string the command line translates."""
    strings = [cli_main.CLI_HELP, "Commands"]
    strings += [p.help for p in cli_main.cli.params if isinstance(p, click.Option) and p.help]
    strings += [short for _module, short in cli_main.VERBS.values()]

    @click.command()
    @json_option
    @force_option
    def probe(as_json: bool) -> None:  # pragma: no cover - only its options are read
        pass

    strings += [p.help for p in probe.params if isinstance(p, click.Option) and p.help]
    return strings


@pytest.fixture(autouse=True)
def _english_afterwards() -> object:
    yield None
    set_language("en")


def test_compiled_catalogue_agrees_with_its_source() -> None:
    source = _parse_po(PO.read_text(encoding="utf-8"))
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert source, "empty catalogue"
    for msgid, msgstr in source.items():
        assert msgstr, f"untranslated: {msgid!r}"
        assert compiled.gettext(msgid) == msgstr, msgid


def test_catalogue_is_complete_for_the_help_strings() -> None:
    source = _parse_po(PO.read_text(encoding="utf-8"))
    missing = [s for s in _translated_strings() if s not in source]
    assert not missing, missing
    set_language("zh")
    for text in _translated_strings():
        assert _(text) != text and any("\u4e00" <= ch <= "\u9fff" for ch in _(text)), text


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_language_from_the_environment(env: dict[str, str], expected: str) -> None:
    assert language_from_env(env) == expected


def _run(*args: str, lang: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")} | {"LANG": lang}
    return subprocess.run(
        [sys.executable, "-m", "ezhifu", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("i18n") / "demo"
    proc = _run("demo", "-o", str(out), lang="C.UTF-8")
    assert proc.returncode == 0, proc.stderr
    return out


def test_chinese_messages_with_lang_zh_cn(demo: Path) -> None:
    anchors = ("--trust", str(demo / "root.pem"), "--seal-maker-trust", str(demo / "seal-maker-root.pem"))
    proc = _run("verify", str(demo / "envelope.xml"), *anchors, lang="zh_CN.UTF-8")
    assert proc.returncode == 0, proc.stderr
    assert f"{demo / 'envelope.xml'}: 通过" in proc.stdout
    helped = _run("--help", lang="zh_CN.UTF-8")
    assert "退出码" in helped.stdout and "命令" in helped.stdout
    missing = _run("view", str(demo / "nope.xml"), "-o", str(demo / "x.html"), lang="zh_CN.UTF-8")
    assert missing.returncode == 2 and "ezhifu: 错误:" in missing.stderr


def test_lang_option_wins_over_the_locale(demo: Path) -> None:
    args = (
        "verify",
        str(demo / "envelope.xml"),
        "--trust",
        str(demo / "root.pem"),
        "--seal-maker-trust",
        str(demo / "seal-maker-root.pem"),
    )
    english = _run("--lang", "en", *args, lang="zh_CN.UTF-8")
    assert english.returncode == 0 and ": OK" in english.stdout
    chinese = _run("--lang", "zh", *args, lang="C.UTF-8")
    assert chinese.returncode == 0 and ": 通过" in chinese.stdout
    sub_help = _run("--lang", "zh", "verify", "--help", lang="C.UTF-8")
    assert "以 JSON（UTF-8）在标准输出打印结果。" in sub_help.stdout


def test_display_time_is_beijing_with_offset() -> None:
    assert display_time(datetime(2026, 12, 3, 15, 14, 17, tzinfo=UTC)) == "2026-12-03 23:14:17 +08:00"
    assert display_time(datetime(2026, 12, 3, 15, 14, 17)) == "2026-12-03 23:14:17 +08:00"  # naive = UTC
    other = timezone(timedelta(hours=-5))
    assert display_time(datetime(2026, 1, 1, 0, 0, 0, tzinfo=other)) == "2026-01-01 13:00:00 +08:00"
    assert display_time(None) == ""


def test_verify_result_lines_in_chinese(demo: Path) -> None:
    """Issue 15 point 8: the result lines of ``verify`` (not only 通过/未通过) under zh; the
    English lines stay the default."""
    args = ("verify", str(demo / "envelope.xml"), "--trust", str(demo / "root.pem"))
    chinese = _run("--lang", "zh", *args, lang="C.UTF-8")
    assert chinese.returncode == 1  # no seal-maker anchor: the seal's maker is not trusted
    lines = (
        "未核对参与方：位置未与参与方绑定",
        "位置 cz_dwfz 的签名",
        "位置 cz_dwgz 的印章",
        "时间依据：验证时间",
        "制章人证书：失败（maker not trusted: no seal-maker anchors）",  # the step's line, detail kept
    )
    for line in lines:
        assert line in chinese.stdout, chinese.stdout
    english = _run("--lang", "en", *args, lang="zh_CN.UTF-8")
    assert "parties not checked" in english.stdout and "signature at cz_dwfz" in english.stdout
    assert "time basis: verification\n" in english.stdout
