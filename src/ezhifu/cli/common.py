"""Shared pieces of the command line: exit codes, error handling, inputs, progress and tables.

Every verb uses the same conventions so the tool reads as one:

* exit codes: :data:`EXIT_OK` (0) everything valid or verified, :data:`EXIT_FAILED` (1) a
  validation or verification failed, :data:`EXIT_USAGE` (2) a usage or configuration error;
* errors are one line (``ezhifu: <Kind>: <what is wrong and where>``), without a traceback
  unless the global ``--verbose`` option is given;
* ``--json`` (:data:`json_option`) wherever a result is printed, through :func:`echo_json`;
* many inputs at once: files and directories, expanded by :func:`iter_input_files`, walked
  with :func:`progress` (a progress bar only when stderr is a terminal) and summed up with
  :func:`print_table`.
"""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from ezhifu.errors import ConfigurationError, EzhifuError, HostileInputError, SchemaValidationError

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "MAX_SMALL_FILE_BYTES",
    "CliState",
    "echo_json",
    "fail_usage",
    "format_table",
    "handle_errors",
    "is_verbose",
    "iter_input_files",
    "json_option",
    "mark",
    "print_table",
    "progress",
    "purpose_trust_options",
    "read_input",
]

#: Everything valid / verified.
EXIT_OK = 0
#: A validation or verification failed.
EXIT_FAILED = 1
#: Usage or configuration error (also click's own usage errors).
EXIT_USAGE = 2

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: ``--json``: print the result as JSON on stdout instead of text. The flag lands in the
#: command's ``as_json`` parameter.
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON (UTF-8) on stdout."
)


def purpose_trust_options(function: F) -> F:
    """``--seal-maker-trust`` and ``--tsa-trust`` (repeatable): the anchors of the seal makers
    and of the time-stamping authorities, beside ``--trust`` (the signers; issue 13 item 1)."""
    pem = click.Path(exists=True, dir_okay=False, path_type=Path)
    function = click.option(
        "--tsa-trust",
        "tsa_trust_files",
        multiple=True,
        type=pem,
        help="PEM file of trusted time-stamping authorities (RFC 3161; repeatable).",
    )(function)
    return click.option(
        "--seal-maker-trust",
        "seal_maker_trust_files",
        multiple=True,
        type=pem,
        help="PEM file of trusted seal makers (制章者) roots or certificates (repeatable).",
    )(function)


class CliState:
    """Global options, reachable from every command via ``click.get_current_context().obj``."""

    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose


def is_verbose() -> bool:
    """True when the global ``--verbose`` option was given (walks up the click contexts)."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if isinstance(ctx.obj, CliState):
            return ctx.obj.verbose
        ctx = ctx.parent
    return False


def _one_line(text: str) -> str:
    """The first line of a message, marking that more lines exist (shown with --verbose)."""
    lines = text.strip().splitlines() or [""]
    return lines[0]


def fail_usage(message: str) -> NoReturn:
    """Print a one-line usage/configuration error and exit 2."""
    click.echo(f"ezhifu: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def handle_errors(func: F) -> F:
    """Turn every ``EzhifuError`` (and OS errors on files) into a short message and an exit code.

    Configuration and usage problems (``ConfigurationError``, unreadable files) exit 2; any other
    ``EzhifuError`` means the input failed (validation, verification) and exits 1. A
    :class:`~ezhifu.errors.SchemaValidationError` keeps its list of issues, one per line, since
    that list *is* the answer. Anything else is a bug in ezhifu: it is reported in one line too,
    exit 1, so a script never takes a crash for success. ``--verbose`` re-raises for a traceback.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except BrokenPipeError:
            # The reader went away (``ezhifu ... | head``): nothing left to tell it. Point stdout
            # at /dev/null so the interpreter's final flush does not fail again (Python docs,
            # "Note on SIGPIPE").
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(EXIT_FAILED)
        except ConfigurationError as exc:
            if is_verbose():
                raise
            fail_usage(_one_line(str(exc)))
        except OSError as exc:
            if is_verbose():
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            fail_usage(f"{where}{exc.strerror or exc}")
        except EzhifuError as exc:
            if is_verbose():
                raise
            text = str(exc) if isinstance(exc, SchemaValidationError) else _one_line(str(exc))
            click.echo(f"ezhifu: {type(exc).__name__}: {text}", err=True)
            sys.exit(EXIT_FAILED)
        except Exception as exc:
            if is_verbose():
                raise
            click.echo(
                f"ezhifu: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
                "(run 'ezhifu --verbose ...' for the traceback)",
                err=True,
            )
            sys.exit(EXIT_FAILED)

    return wrapper  # type: ignore[return-value]


def echo_json(data: Any) -> None:
    """Print JSON (UTF-8, Chinese kept readable)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def mark(ok: bool) -> str:
    """``✓`` or ``✗``, the marks every verb uses in text reports."""
    return "✓" if ok else "✗"


# --- inputs ---------------------------------------------------------------------------


#: Largest key, certificate or position-table file read by the command line.
MAX_SMALL_FILE_BYTES = 1 << 20


def read_input(path: str | Path, *, max_bytes: int | None = None) -> bytes:
    """The bytes of a file, or of standard input when ``path`` is ``-``.

    With ``max_bytes`` the size is checked *before* reading (``stat``; a bounded read for
    standard input), so an oversized input is refused with
    :class:`~ezhifu.errors.HostileInputError` instead of being loaded into memory first
    (security review INFO-2).
    """
    limit = -1 if max_bytes is None else max_bytes + 1
    name = "standard input" if str(path) == "-" else str(path)
    if str(path) == "-":
        data = sys.stdin.buffer.read(limit)
    else:
        file = Path(path)
        if max_bytes is not None and file.stat().st_size > max_bytes:
            raise HostileInputError(
                f"{name}: {file.stat().st_size} bytes exceeds the limit of {max_bytes} bytes"
            )
        with file.open("rb") as handle:
            data = handle.read(limit)
    if max_bytes is not None and len(data) > max_bytes:
        raise HostileInputError(f"{name}: more than {max_bytes} bytes exceeds the limit")
    return data


def iter_input_files(
    paths: Iterable[str | Path], pattern: str = "*.xml", *, recursive: bool = True
) -> list[Path]:
    """Expand the command line's inputs into a list of files, in a stable order.

    A file is taken as given (whatever its name); a directory contributes every file below it
    matching ``pattern`` (recursively unless ``recursive=False``), sorted by path so runs and
    summary tables are reproducible. ``-`` (standard input) is kept as ``Path("-")``. A file
    named twice is listed once.

    Raises :class:`~ezhifu.errors.ConfigurationError` (exit 2) for a path that does not
    exist or a directory without any matching file: an empty run must not look like success.
    """
    out: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve() if str(p) != "-" else p
        if key not in seen:
            seen.add(key)
            out.append(p)

    for raw in paths:
        path = Path(raw)
        if str(raw) == "-":
            add(path)
        elif path.is_dir():
            found = sorted(path.rglob(pattern) if recursive else path.glob(pattern))
            files = [f for f in found if f.is_file()]
            if not files:
                raise ConfigurationError(f"{path}: no files matching {pattern!r} in this directory")
            for f in files:
                add(f)
        elif path.exists():
            add(path)
        else:
            raise ConfigurationError(f"{path}: no such file or directory")
    if not out:
        raise ConfigurationError("no input files given")
    return out


@contextmanager
def progress(items: Sequence[T], *, label: str = "") -> Iterator[Iterable[T]]:
    """Iterate ``items`` with a progress bar on stderr, shown only on a terminal.

    Pipes, CI logs and ``--json`` consumers get no bar and no control characters; a single item
    needs no bar either.
    """
    stream = sys.stderr
    if len(items) > 1 and stream.isatty():
        with click.progressbar(items, label=label, file=stream) as bar:
            yield bar
    else:
        yield items


# --- tables ---------------------------------------------------------------------------


def _width(text: str) -> int:
    """Display width in a terminal: CJK wide and full-width characters take two cells."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain-text table (columns aligned for Chinese text too), without trailing spaces."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    ncols = max(len(r) for r in cells)
    for r in cells:
        r.extend([""] * (ncols - len(r)))
    widths = [max(_width(r[i]) for r in cells) for i in range(ncols)]
    rule = "  ".join("-" * w for w in widths)
    lines = ["  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join([lines[0], rule, *lines[1:]])


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, err: bool = False) -> None:
    """Print :func:`format_table` (to stderr with ``err=True``, keeping stdout for data)."""
    click.echo(format_table(headers, rows), err=err)
