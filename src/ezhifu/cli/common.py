"""Shared pieces of the command line: exit codes, error handling, inputs, progress and tables.

Every verb uses the same conventions so the tool reads as one:

* exit codes: the one table of :mod:`ezhifu.cli.exitcodes` — :data:`EXIT_OK` (0) everything
  valid or verified, :data:`EXIT_FAILED` (1) a validation or verification failed,
  :data:`EXIT_USAGE` (2) a usage, configuration or credential error;
* errors are one line (``ezhifu: <Kind>: <what is wrong and where>``), without a traceback
  unless the global ``--verbose`` option is given;
* ``--json`` (:data:`ezhifu.cli.options.json_option`) wherever a result is printed, through :func:`echo_json`;
* many inputs at once: files and directories, expanded by :func:`iter_input_files`, walked
  with :func:`progress` (a progress bar only when stderr is a terminal) and summed up with
  :func:`print_table`.
"""

from __future__ import annotations

import itertools
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

from ezhifu._fileio import RunBudget, check_config_file
from ezhifu.cli.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE, cli_wording, exit_code_for
from ezhifu.cli.i18n import _
from ezhifu.errors import ConfigurationError, EzhifuError, HostileInputError, SchemaValidationError

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "MAX_SMALL_FILE_BYTES",
    "CliState",
    "JsonListWriter",
    "check_config",
    "cli_state",
    "echo",
    "echo_json",
    "fail_usage",
    "format_table",
    "handle_errors",
    "is_verbose",
    "iter_input_files",
    "load_keystore_config",
    "mark",
    "print_table",
    "progress",
    "quiet_broken_pipe",
    "read_input",
    "shown",
]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class CliState:
    """Global options, reachable from every command via ``click.get_current_context().obj``."""

    def __init__(
        self,
        *,
        verbose: bool = False,
        insecure_config_ok: bool = False,
        show_identifiers: bool = False,
    ) -> None:
        self.verbose = verbose
        self.insecure_config_ok = insecure_config_ok
        self.show_identifiers = show_identifiers


def cli_state() -> CliState:
    """The global options of the running command (defaults outside a command)."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if isinstance(ctx.obj, CliState):
            return ctx.obj
        ctx = ctx.parent
    return CliState()


def is_verbose() -> bool:
    """True when the global ``--verbose`` option was given (walks up the click contexts)."""
    return cli_state().verbose


def check_config(path: str | os.PathLike[str] | None, what: str) -> None:
    """Refuse a configuration, key, trust file or PKCS#11 module others may change (exit 2).

    :func:`ezhifu._fileio.check_config_file` (the checks ssh makes), skipped with the global
    ``--insecure-config-ok`` option.
    """
    if path is None or str(path) == "-" or cli_state().insecure_config_ok:
        return
    check_config_file(path, what=f"{what} (--insecure-config-ok to accept)")


#: Keystore configuration keys naming files whose content decides what is signed with.
_CHECKED_KEYSTORE_PATHS = {
    "path": "the keystore file",
    "password_file": "the password file",
    "pin_file": "the PIN file",
    "audit_key_file": "the audit key file",
    "module": "the PKCS#11 module",
}


def load_keystore_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a keystore configuration after :func:`check_config` on it and on every file it names.

    A ``module`` given as a bare library name is left to the dynamic loader (it is searched in
    the system's library folders, which only root may write).
    """
    # deferred: keeps `ezhifu --help` from loading the keystore backends
    from ezhifu.keystore import load_config

    check_config(path, "keystore configuration")
    config = load_config(path)
    for key, what in _CHECKED_KEYSTORE_PATHS.items():
        value = config.get(key)
        if isinstance(value, str) and (key != "module" or os.sep in value or "/" in value):
            check_config(value, f"{what} ({key} in {path})")
    return config


def _one_line(text: str) -> str:
    """The first line of a message, marking that more lines exist (shown with --verbose)."""
    lines = text.strip().splitlines() or [""]
    return lines[0]


def fail_usage(message: str) -> NoReturn:
    """Print a one-line usage/configuration error and exit 2."""
    click.echo(shown(f"ezhifu: {_('error')}: {cli_wording(message)}"), err=True)
    sys.exit(EXIT_USAGE)


def quiet_broken_pipe() -> NoReturn:
    """The reader of stdout went away (``ezhifu ... | head``): end quietly, exit 1.

    Points stdout at /dev/null so the interpreter's final flush does not fail again (Python
    docs, "Note on SIGPIPE"); exit 1 because the verdict was not all delivered.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a descriptor (a test runner's buffer)
        pass
    finally:
        os.close(devnull)
    sys.exit(EXIT_FAILED)


def _report(exc: Exception) -> NoReturn:
    """One line (every issue for a schema validation error) and the exit code of the table."""
    code = exit_code_for(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        fail_usage(f"{where}{exc.strerror or exc}")
    if code == EXIT_USAGE and isinstance(exc, ConfigurationError):
        fail_usage(_one_line(str(exc)))
    if isinstance(exc, EzhifuError):
        text = str(exc) if isinstance(exc, SchemaValidationError) else _one_line(str(exc))
        click.echo(shown(f"ezhifu: {type(exc).__name__}: {cli_wording(text)}"), err=True)
        sys.exit(code)
    click.echo(
        f"ezhifu: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
        "(run 'ezhifu --verbose ...' for the traceback)",
        err=True,
    )
    sys.exit(EXIT_FAILED)


def handle_errors(func: F) -> F:
    """Turn every ``EzhifuError`` (and OS errors on files) into a short message and an exit code.

    The code comes from :func:`ezhifu.cli.exitcodes.exit_code_for`: configuration, usage and
    credential problems (``ConfigurationError``, unreadable files, a wrong password, an unknown
    alias, a PKCS#11 failure) exit 2; any other ``EzhifuError`` means the input failed
    (validation, verification) and exits 1. A :class:`~ezhifu.errors.SchemaValidationError`
    keeps its list of issues, one per line, since that list *is* the answer. Anything else is a
    bug in ezhifu: it is reported in one line too, exit 1, so a script never takes a crash for
    success. ``--verbose`` re-raises for a traceback. Messages name CLI options, not Python
    (:func:`~ezhifu.cli.exitcodes.cli_wording`). A closed pipe ends quietly
    (:func:`quiet_broken_pipe`).
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except BrokenPipeError:
            quiet_broken_pipe()
        except Exception as exc:
            if is_verbose():
                raise
            _report(exc)

    return wrapper  # type: ignore[return-value]


def shown(text: str) -> str:
    """``text`` as the command line shows it: resident identity numbers masked
    (:func:`ezhifu.report.identifiers.mask_identifiers`) unless ``--show-identifiers``."""
    if cli_state().show_identifiers:
        return text
    # reason: the report package loads lxml; ezhifu --help must not
    from ezhifu.report.identifiers import mask_identifiers

    return mask_identifiers(text)


def echo(text: str = "", *, err: bool = False) -> None:
    """``click.echo`` of :func:`shown` text (identifiers masked)."""
    click.echo(shown(text), err=err)


def echo_json(data: Any) -> None:
    """Print JSON (UTF-8, Chinese kept readable; identifiers masked as :func:`shown` does)."""
    click.echo(shown(json.dumps(data, ensure_ascii=False, indent=2, default=str)))


class JsonListWriter:
    """Print ``{"<key>": [item, ...], **tail}`` one item at a time, as :func:`echo_json` would
    print the whole object (indent 2, UTF-8, identifiers masked): a run over many files prints
    each file's result when it is done instead of keeping them all for the end."""

    def __init__(self, key: str, *, head: dict[str, Any] | None = None) -> None:
        self.count = 0
        opening = "{"
        for name, value in (head or {}).items():  # keys known before the list
            opening += (
                "\n  " + json.dumps(name) + ": " + json.dumps(value, ensure_ascii=False, default=str) + ","
            )
        click.echo(opening + "\n  " + json.dumps(key) + ": [", nl=False)

    def add(self, item: Any) -> None:
        text = json.dumps(item, ensure_ascii=False, indent=2, default=str)
        lines = "\n".join("    " + line for line in text.splitlines())
        click.echo(("," if self.count else "") + "\n" + shown(lines), nl=False)
        self.count += 1

    def close(self, **tail: Any) -> None:
        """End the list and the object with the ``tail`` keys (known only at the end)."""
        ending = "\n  ]" if self.count else "]"
        for name, value in tail.items():
            ending += ",\n  " + json.dumps(name) + ": " + json.dumps(value, ensure_ascii=False, default=str)
        click.echo(ending + "\n}")


def mark(ok: bool) -> str:
    """``✓`` or ``✗``, the marks every verb uses in text reports."""
    return "✓" if ok else "✗"


# --- inputs ---------------------------------------------------------------------------


#: Largest key, certificate or position-table file read by the command line.
MAX_SMALL_FILE_BYTES = 1 << 20


def _read_bounded(handle: Any, limit: int) -> bytes:
    """At most ``limit`` bytes (all with -1), in chunks: ``read(limit)`` would allocate the
    whole bound (64 MiB) for every small file of a run."""
    if limit < 0:
        return bytes(handle.read())
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        chunk = handle.read(min(1 << 20, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


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
        data = _read_bounded(sys.stdin.buffer, limit)
    else:
        file = Path(path)
        if max_bytes is not None and file.stat().st_size > max_bytes:
            raise HostileInputError(
                f"{name}: {file.stat().st_size} bytes exceeds the limit of {max_bytes} bytes"
            )
        with file.open("rb") as handle:
            data = _read_bounded(handle, limit)
    if max_bytes is not None and len(data) > max_bytes:
        raise HostileInputError(f"{name}: more than {max_bytes} bytes exceeds the limit")
    return data


def iter_input_files(
    paths: Iterable[str | Path],
    pattern: str = "*.xml",
    *,
    recursive: bool = True,
    max_files: int | None = None,
) -> list[Path]:
    """Expand the command line's inputs into a list of files, in a stable order.

    A file is taken as given (whatever its name); a directory contributes every file below it
    matching ``pattern`` (recursively unless ``recursive=False``), sorted by path so runs and
    summary tables are reproducible. ``-`` (standard input) is kept as ``Path("-")``. A file
    named twice is listed once.

    Raises :class:`~ezhifu.errors.ConfigurationError` (exit 2) for a path that does not
    exist or a directory without any matching file: an empty run must not look like success.
    With ``max_files``, more files than that is :class:`~ezhifu.errors.RunLimitExceeded`
    (exit 2), raised while listing, so a huge directory is never listed whole.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    budget = RunBudget(max_files=max_files) if max_files is not None else None

    def add(p: Path) -> None:
        key = p.resolve() if str(p) != "-" else p
        if key not in seen:
            if budget is not None:
                budget.count_file()
            seen.add(key)
            out.append(p)

    for raw in paths:
        path = Path(raw)
        if str(raw) == "-":
            add(path)
        elif path.is_dir():
            listed: Iterable[Path] = (
                f for f in (path.rglob(pattern) if recursive else path.glob(pattern)) if f.is_file()
            )
            if budget is not None:  # stop listing past the limit (the files are sorted after)
                listed = itertools.islice(listed, budget.max_files - budget.files + 1)
            files = sorted(listed)
            if budget is not None and len(files) > budget.max_files - budget.files:
                budget.count_file(len(files))
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
