"""Every verb's help in Simplified Chinese under ``--lang zh`` (issue 15 Build 8).

The walk asks ``ezhifu [VERB [SUBVERB]] --help`` of every command the command line has (the
verbs of :data:`ezhifu.cli.main.VERBS` and every subcommand of a group) and fails on any English
word of running text left in the output: the help of the command, of each option, and click's own
words (``Usage:``, ``Options``, ``Commands``, ``[required]``, ``[default: ...]``, "Show this
message and exit."), which click takes from the same gettext catalogue. What may stay in Latin
letters is what a user types or reads as a name: option names (``--trust``), metavars (``FILE``),
choices (``[zh|en]``) and default values, file names and paths (``spec.md``, ``OUT/root.pem``),
URLs, standards and algorithm names (``GB/T 38540``, ``SM2``) — none of them is in the list of
English running-text words below, which is what the test looks for.
"""

from __future__ import annotations

import gettext
import importlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ezhifu.cli import main as cli_main
from ezhifu.cli.i18n import localize, set_language

#: Words of English running text (function words and click's own words). A help line holding one
#: of them as a word of its own (outside option names, metavars, paths and quoted literals) was
#: not translated.
_WORDS_TEXT = """the and of to is are be by with for from on in into at this that these when not only also
    an or as it its if else than then each every one all any no yes do does use used uses using
    shows message exit print prints write writes read reads file files option options usage
    commands command error try help default required instead given without which what where"""
ENGLISH_WORDS = frozenset(_WORDS_TEXT.split())

_OPTION = re.compile(r"(?<![\w])--?[A-Za-z][\w-]*")
_PATHISH = re.compile(r"\S*[/\\.@:=_*#](?=\S)\S*")
_CHOICES = re.compile(r"\[[^\]|]*(?:\|[^\]|]*)+\]")
_DEFAULT_VALUE = re.compile(r"(?<=\[默认：)[^\]]*")
_QUOTED = re.compile(r"'[^']*'|`[^`]*`|\"[^\"]*\"")
_WORD = re.compile(r"[A-Za-z]+")


def _commands() -> Iterator[tuple[str, ...]]:
    """The argument paths of every command: (), (verb,), (verb, subverb), ..."""
    yield ()

    def walk(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        if isinstance(command, click.Group):
            for name in sorted(command.commands):
                yield from walk(command.commands[name], (*path, name))

    for verb in sorted(cli_main.VERBS):
        yield from walk(importlib.import_module(cli_main.VERBS[verb][0]).command, (verb,))


def _english_left(text: str) -> list[str]:
    """Lines of ``text`` that still hold an English running-text word."""
    bad = []
    for line in text.splitlines():
        rest = _CHOICES.sub(" ", _DEFAULT_VALUE.sub(" ", line))
        rest = _QUOTED.sub(" ", rest)
        rest = _OPTION.sub(" ", rest)
        rest = _PATHISH.sub(" ", rest)
        words = [w for w in _WORD.findall(rest) if not w.isupper() and w.lower() in ENGLISH_WORDS]
        if words:
            bad.append(f"{line!r} ({', '.join(words)})")
    return bad


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    set_language("en")
    localize(cli_main.cli)  # the help strings back in English, in place, for the tests that follow


ALL_COMMANDS = list(_commands())


def test_the_walk_covers_every_verb_and_subverb() -> None:
    verbs = {path[0] for path in ALL_COMMANDS if path}
    assert verbs == set(cli_main.VERBS)
    assert ("seal", "apply") in ALL_COMMANDS and ("keystore", "import") in ALL_COMMANDS
    assert len(ALL_COMMANDS) > 30


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "ezhifu")
def test_help_under_lang_zh_has_no_english_left(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli_main.cli, ["--lang", "zh", *path, "--help"], prog_name="ezhifu")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("用法: ezhifu"), out[:80]
    assert "选项:" in out and "显示此帮助信息并退出。" in out
    assert not _english_left(out), "\n".join(_english_left(out))
    # The English help is the same command's: the walk really compares two languages.
    english = CliRunner().invoke(cli_main.cli, ["--lang", "en", *path, "--help"], prog_name="ezhifu")
    assert english.exit_code == 0 and english.output.startswith("Usage: ezhifu")
    assert _english_left(english.output), "the detector finds nothing in the English help"


def test_the_detector_flags_english_and_spares_names() -> None:
    assert _english_left("  --trust FILE  PEM file of trusted roots (repeatable).")
    assert _english_left("  [default: legacy]")
    assert not _english_left("  --trust FILE  可信根证书 PEM 文件（可重复；spec.md §5.3，GB/T 38540）。")
    assert not _english_left("      ezhifu verify OUT/envelope.xml --trust OUT/root.pem")
    assert not _english_left("  --policy [default|legacy]  验证策略：'legacy' 还接受 SHA-1。")
    assert not _english_left("                         [默认：default]")


def test_click_usage_errors_are_chinese_under_lang_zh(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_main.cli, ["--lang", "zh", "sign", "--bogus"], prog_name="ezhifu")
    assert result.exit_code == 2
    assert "错误：没有选项 '--bogus'。" in result.output
    assert "可用 'ezhifu sign --help' 查看帮助。" in result.output
    missing = CliRunner().invoke(cli_main.cli, ["--lang", "zh", "sign", str(tmp_path)], prog_name="ezhifu")
    assert missing.exit_code == 2 and "Error" not in missing.output
    assert "缺少选项" in missing.output or "是目录" in missing.output
    choice = CliRunner().invoke(cli_main.cli, ["--lang", "zh", "verify", "--policy", "weak", "x"])
    assert choice.exit_code == 2 and "的值无效" in choice.output


def test_english_again_after_chinese() -> None:
    CliRunner().invoke(cli_main.cli, ["--lang", "zh", "verify", "--help"])
    result = CliRunner().invoke(cli_main.cli, ["--lang", "en", "verify", "--help"], prog_name="ezhifu")
    assert result.output.startswith("Usage: ezhifu verify") and "Show this message and exit." in result.output
    assert "用法" not in result.output and "显示" not in result.output


def test_verb_messages_are_chinese_under_lang_zh(tmp_path: Path) -> None:
    """The verbs' own result lines (validate, build, view, demo) come from the same catalogue."""
    runner = CliRunner()
    demo = runner.invoke(cli_main.cli, ["--lang", "zh", "demo", "-o", str(tmp_path / "d")])
    assert demo.exit_code == 0, demo.output
    assert "全部验证通过。可试：ezhifu verify" in demo.output and "打开视图：" in demo.output
    envelope = tmp_path / "d" / "envelope.xml"
    valid = runner.invoke(cli_main.cli, ["--lang", "zh", "validate", str(envelope)])
    assert valid.exit_code == 0 and valid.output.startswith("校验级别 partner，Schema 版本 2024\n")
    assert f"{envelope}：有效" in valid.output
    second = tmp_path / "second.xml"
    second.write_bytes(envelope.read_bytes())
    both = runner.invoke(cli_main.cli, ["--lang", "zh", "validate", str(envelope), str(second)])
    assert "2 个文件：2 个有效，0 个无效" in both.output
    page = tmp_path / "v.html"
    view = runner.invoke(cli_main.cli, ["--lang", "zh", "view", str(envelope), "-o", str(page)])
    assert view.exit_code == 0 and f"已写出 {page}（未验证：未给出 --trust）" in view.output
    data = tmp_path / "data.json"
    fields = {
        "AdmDivCode": "420100",
        "VouDate": "20240315",
        "VoucherNo": "V1",
        "AgencyCode": "205001",
        "PayeeAcctNo": "3202001109000012345",
        "PayeeAcctName": "武汉市第一中学",
        "DetailList": [{"PayAmt": "10"}],
    }
    data.write_text(json.dumps(fields, ensure_ascii=False), encoding="utf-8")
    built = runner.invoke(cli_main.cli, ["--lang", "zh", "build", "--type", "5201", str(data), "-o", "-"])
    assert built.exit_code == 0, built.output
    assert "已生成 5201 凭证" in built.stderr and "1 条明细" in built.stderr
    english = runner.invoke(cli_main.cli, ["--lang", "en", "validate", str(envelope)])
    assert english.output.startswith("level partner, schema version 2024\n") and ": valid" in english.output


def test_the_host_programs_gettext_state_is_given_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A program that runs the command line in-process keeps its text domain and LANGUAGE."""
    monkeypatch.setenv("LANGUAGE", "fr")
    previous = gettext.textdomain("host-program")
    try:
        english = CliRunner().invoke(cli_main.cli, ["--lang", "en", "verify", "--help"])
        assert english.exit_code == 0 and gettext.textdomain() == "host-program"
        chinese = CliRunner().invoke(cli_main.cli, ["--lang", "zh", "verify", "--help"])
        assert "用法" in chinese.output and os.environ["LANGUAGE"] == "zh_CN"
        set_language("en")
        assert gettext.textdomain() == "host-program" and os.environ["LANGUAGE"] == "fr"
    finally:
        gettext.textdomain(previous)
