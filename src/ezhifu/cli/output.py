"""Safe outputs for every verb that writes a file (docs/cli.md, "Outputs").

* ``-o -`` writes to standard output;
* a command never writes over one of its inputs (same path or same file through a link);
* an existing file is replaced only with ``--force`` (:data:`force_option`);
* never through a symbolic link: an output path that is a symlink is refused, even with
  ``--force`` (remove the link first);
* a missing output folder is named as such (not as a temporary file name);
* files are written atomically (:func:`ezhifu._fileio.atomic_write`: a temporary file in the
  same folder, fsync, rename): readers see the old bytes or the new bytes, never a torn file.
  Envelopes, certificates, seals, HTML and PDF are written mode 0644 (they are public
  artefacts); keys and keystores are written 0600 by the keystore.

Each refusal raises :class:`~ezhifu.errors.OutputRefused` (exit 2) naming the path.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from ezhifu._fileio import atomic_write
from ezhifu.cli.options import FILE_PATH
from ezhifu.errors import OutputRefused

__all__ = [
    "PUBLIC_MODE",
    "check_output",
    "force_option",
    "is_stdout",
    "note",
    "output_option",
    "write_output",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Mode of the files the command line writes (envelopes, certificates, seals, HTML, PDF).
PUBLIC_MODE = 0o644

_FORCE_KEY = "ezhifu.force"


def _remember_force(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.meta[_FORCE_KEY] = bool(value)
    return value


#: ``--force``: allow replacing an existing output file (never the input, never a symlink).
#: The flag is kept in the click context, so a verb's function does not take a parameter.
force_option = click.option(
    "--force",
    is_flag=True,
    expose_value=False,
    callback=_remember_force,
    help="Replace an existing output file (never the input file, never through a symbolic link).",
)


def output_option(help: str, *, required: bool = True) -> Callable[[F], F]:
    """``-o/--output FILE`` (required unless ``required=False``): the one output option of the
    verbs that write one file.

    ``help`` says what is written there (and whether ``-`` means standard output for the verb).
    """
    return click.option("-o", "--output", type=FILE_PATH, required=required, help=help)


def _force_given() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_FORCE_KEY, False))


def is_stdout(output: str | os.PathLike[str] | None) -> bool:
    """True for ``-o -`` (standard output)."""
    return output is not None and str(output) == "-"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False


def check_output(
    output: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    force: bool | None = None,
) -> None:
    """Refuse ``output`` unless it may be written (see the module docstring).

    ``force`` defaults to the ``--force`` flag of the running command.
    """
    if is_stdout(output):
        return
    target = Path(output)
    allowed = _force_given() if force is None else force
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputRefused(f"{folder}: 输出目录不存在 / output folder does not exist (for {target})")
    for source in inputs:
        if source is not None and str(source) != "-" and _same_file(target, Path(source)):
            raise OutputRefused(f"{target}: 输出即输入文件 / output is the input file; write elsewhere")
    try:
        info = target.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise OutputRefused(f"{target}: 输出是符号链接 / output is a symbolic link; not written through it")
    if not stat.S_ISREG(info.st_mode):
        raise OutputRefused(f"{target}: 输出不是普通文件 / output exists and is not a regular file")
    if not allowed:
        raise OutputRefused(f"{target}: 文件已存在 / already exists; give --force to replace it")


def write_output(
    output: str | os.PathLike[str],
    data: bytes,
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    mode: int = PUBLIC_MODE,
    force: bool | None = None,
) -> None:
    """Write ``data`` to ``output`` (standard output for ``-``) after :func:`check_output`."""
    inputs = tuple(inputs)
    check_output(output, inputs=inputs, force=force)
    if is_stdout(output):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    atomic_write(output, data, mode=mode)


def note(text: str, output: str | os.PathLike[str] | None) -> None:
    """Say what a verb wrote to ``output``: on standard error when the data itself went to
    standard output (``-o -``), so that it stays clean; on standard output otherwise."""
    click.echo(text, err=is_stdout(output))
