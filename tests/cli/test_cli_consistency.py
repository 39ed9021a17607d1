"""One tool, one set of conventions: every verb's help, exit codes 0/1/2, one-line errors,
``--json`` where results are printed, and the shared input/progress/table helpers."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ezhifu.cli import main as cli_main
from ezhifu.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliState,
    echo_json,
    format_table,
    handle_errors,
    iter_input_files,
    progress,
)
from ezhifu.errors import ConfigurationError, InvalidSignature, SchemaValidationError, ValidationIssue

cli = cli_main.cli


def _all_commands() -> list[tuple[str, ...]]:
    """Every command path: ("verify",), ("seal", "make"), ... (groups and their verbs)."""
    out: list[tuple[str, ...]] = []

    ctx = click.Context(cli)

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            assert cmd is not None, name
            out.append((*prefix, name))
            if isinstance(cmd, click.Group):
                walk(cmd, (*prefix, name))

    walk(cli, ())
    return out


def test_every_verb_in_the_table_is_its_module_command() -> None:
    ctx = click.Context(cli)
    for verb, (module, short_help) in cli_main.VERBS.items():
        assert importlib.util.find_spec(module) is not None, module
        command = importlib.import_module(module).command
        assert command.name == verb, module
        assert cli.get_command(ctx, verb) is command
        # The table's short help is what ``ezhifu --help`` shows without importing the verb.
        assert short_help == command.get_short_help_str(limit=65), verb


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_load_no_verb_and_no_heavy_library(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from ezhifu.cli.main import cli\n"
        f"try:\n    cli({argv!r}, prog_name='ezhifu')\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('lxml', 'xmlschema', 'asn1crypto')"
        " or m.startswith('cryptography.hazmat.primitives') or m.endswith('_cmd'))\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p))
def test_every_verb_help_works(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    assert " ".join(path) in result.output


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p))
def test_unknown_option_is_a_usage_error_without_traceback(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--no-such-option"])
    assert result.exit_code == EXIT_USAGE
    assert "Traceback" not in result.output
    assert "No such option" in result.output


def test_unknown_verb_exits_2() -> None:
    result = CliRunner().invoke(cli, ["no-such-verb"])
    assert result.exit_code == EXIT_USAGE
    assert "No such command" in result.output


def test_global_help_lists_exit_codes_and_verbs() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "0 ok, 1 validation or verification failed, 2 usage" in result.output
    for name in cli.list_commands(click.Context(cli)):
        assert name in result.output


def test_view_missing_file_is_one_line_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["view", str(tmp_path / "nope.xml"), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == EXIT_USAGE
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "nope.xml" in lines[0]


def test_view_requires_output() -> None:
    result = CliRunner().invoke(cli, ["view", "x.xml"])
    assert result.exit_code == EXIT_USAGE
    assert "--output" in result.output


@pytest.mark.parametrize(
    "path",
    [("validate",), ("inspect",), ("verify",), ("demo",), ("seal", "show"), ("keystore", "list")],
    ids=" ".join,
)
def test_result_printing_verbs_offer_json(path: tuple[str, ...]) -> None:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group), path
        found = command.get_command(click.Context(command), name)
        assert found is not None, f"verb {' '.join(path)!r} is not registered"
        command = found
    assert any("--json" in p.opts for p in command.params), path


# --- handle_errors --------------------------------------------------------------------------


def _command_raising(exc: BaseException) -> click.Group:
    @click.group()
    @click.option("-v", "--verbose", is_flag=True)
    @click.pass_context
    def root(ctx: click.Context, verbose: bool) -> None:
        ctx.obj = CliState(verbose=verbose)

    @root.command("boom")
    @handle_errors
    def boom() -> None:
        raise exc

    return root


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (ConfigurationError("keystore.toml: unknown key 'pathh'"), EXIT_USAGE, "unknown key 'pathh'"),
        (FileNotFoundError(2, "No such file or directory", "in.xml"), EXIT_USAGE, "in.xml"),
        (InvalidSignature("signature at cz_dwfz: digest mismatch"), EXIT_FAILED, "digest mismatch"),
        (RuntimeError("bug\nsecond line"), EXIT_FAILED, "internal error: RuntimeError: bug"),
    ],
)
def test_handle_errors_one_line_and_exit_code(exc: Exception, code: int, text: str) -> None:
    result = CliRunner().invoke(_command_raising(exc), ["boom"])
    assert result.exit_code == code
    assert text in result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


def test_handle_errors_keeps_every_validation_issue() -> None:
    issues = [
        ValidationIssue("/Voucher/PayAmt", 7, "not an amount", "1,00", "amount-format"),
        ValidationIssue("/Voucher/VouDate", 5, "missing", None, "missing-element"),
    ]
    result = CliRunner().invoke(_command_raising(SchemaValidationError(issues, source="a.xml")), ["boom"])
    assert result.exit_code == EXIT_FAILED
    assert "PayAmt" in result.output and "VouDate" in result.output


def test_verbose_shows_the_traceback() -> None:
    result = CliRunner().invoke(_command_raising(RuntimeError("bug")), ["--verbose", "boom"])
    assert isinstance(result.exception, RuntimeError)


def test_echo_json_keeps_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    @click.command()
    def show() -> None:
        echo_json({"name": "财政直接支付凭证"})

    result = CliRunner().invoke(show, [])
    assert "财政直接支付凭证" in result.output
    assert json.loads(result.output) == {"name": "财政直接支付凭证"}


# --- inputs, progress, tables ------------------------------------------------------------------


def test_iter_input_files_expands_directories_sorted_and_deduplicated(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ["b/2.xml", "b/1.xml", "a.xml", "b/notes.txt"]:
        (tmp_path / name).write_text("x")
    files = iter_input_files([tmp_path / "b", tmp_path / "a.xml", tmp_path / "b" / "1.xml"])
    assert files == [tmp_path / "b" / "1.xml", tmp_path / "b" / "2.xml", tmp_path / "a.xml"]
    assert iter_input_files([tmp_path / "b"], "*.txt") == [tmp_path / "b" / "notes.txt"]
    assert iter_input_files(["-"]) == [Path("-")]


def test_iter_input_files_non_recursive(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "top.xml").write_text("x")
    (tmp_path / "sub" / "deep.xml").write_text("x")
    assert iter_input_files([tmp_path], recursive=False) == [tmp_path / "top.xml"]
    assert len(iter_input_files([tmp_path])) == 2


def test_iter_input_files_refuses_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such file"):
        iter_input_files([tmp_path / "missing.xml"])
    with pytest.raises(ConfigurationError, match=r"no files matching '\*.xml'"):
        iter_input_files([tmp_path])
    with pytest.raises(ConfigurationError, match="no input files"):
        iter_input_files([])


def test_progress_is_plain_iteration_off_a_terminal() -> None:
    items = [1, 2, 3]
    with progress(items, label="checking") as it:
        assert list(it) == items


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress([1, 2, 3], label="verifying") as it:
        assert list(it) == [1, 2, 3]
    assert "verifying" in terminal.getvalue()
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    with progress([1], label="one file") as it:  # a single item needs no bar
        assert list(it) == [1]
    assert quiet.getvalue() == ""


def test_format_table_aligns_chinese_text() -> None:
    text = format_table(["file", "结果"], [["凭证.xml", "✓ 有效"], ["b.xml", "✗ invalid"]])
    lines = text.splitlines()
    assert lines[0].startswith("file")
    assert set(lines[1].replace(" ", "")) == {"-"}
    # the second column starts at the same display column in every row (CJK = 2 cells)
    import unicodedata

    def col(line: str, marker: str) -> int:
        prefix = line[: line.index(marker)]
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in prefix)

    assert col(lines[0], "结果") == col(lines[2], "✓") == col(lines[3], "✗")
    assert all(line == line.rstrip() for line in lines)


# --- the real console script -----------------------------------------------------------------


def test_console_script_runs_as_module(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ezhifu", "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == EXIT_OK, proc.stderr
    assert "demo" in proc.stdout and "view" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "ezhifu", "view"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == EXIT_USAGE
    assert "Traceback" not in proc.stderr
