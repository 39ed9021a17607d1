"""Durable, all-or-nothing file writes, and the one reader of configuration files.

ezhifu never leaves a half-written file behind: a key file, a signed envelope or a seal is
either the old bytes or the new bytes, even when the process is killed mid-write.

:func:`read_config` reads every configuration file ezhifu owns (position tables, …): it
refuses, before parsing, a file that is not a regular file (a FIFO, a device, a directory), one
larger than :data:`MAX_CONFIG_BYTES`, and on POSIX one that group or others may write (whoever
can write the position table decides which key signs where).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ezhifu.errors import ConfigFileRefused, ConfigurationError, RunLimitExceeded

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_RUN_BYTES",
    "MAX_RUN_FILES",
    "RunBudget",
    "atomic_write",
    "check_config_file",
    "config_table",
    "create_private",
    "exclusive_lock",
    "fsync_dir",
    "parse_config",
    "read_config",
    "read_config_bytes",
]

#: Largest configuration file read (a position table of every VtCode fits in a few KiB).
MAX_CONFIG_BYTES = 1024 * 1024
#: Most files one run reads (``ezhifu verify DIR``, ``validate``, the batch API): a year of a
#: province's daily batches many times over (docs/security.md "Limits").
MAX_RUN_FILES = 100_000
#: Most bytes one run reads in all: 16 of the largest streamed envelopes (4 GiB each).
MAX_RUN_BYTES = 64 * 1024 * 1024 * 1024


class RunBudget:
    """The per-run limits across many files: at most ``max_files`` files and ``max_bytes``
    bytes in all, else :class:`~ezhifu.errors.RunLimitExceeded` naming the limit.

    A regular file counts its size; anything else (standard input ``-``, a FIFO, a device) counts
    ``unknown_size``, the bound its reader applies, so the bytes a run can read are bounded too.
    """

    def __init__(self, max_files: int = MAX_RUN_FILES, max_bytes: int = MAX_RUN_BYTES) -> None:
        if max_files < 1 or max_bytes < 1:
            raise ConfigurationError("run limits must be positive / 运行限额必须为正数")
        self.max_files, self.max_bytes = max_files, max_bytes
        self.files = 0
        self.bytes = 0

    def count_file(self, count: int = 1) -> None:
        """Count ``count`` more files (while listing a directory: refuse before listing it all)."""
        self.files += count
        _within(
            self.files,
            self.max_files,
            "max_run_files",
            "--max-files",
            f"本次运行文件过多 / more than {self.max_files} files in one run",
        )

    def take(self, path: str | os.PathLike[str], *, unknown_size: int) -> None:
        """Count ``path`` (one file and its bytes)."""
        self.count_file()
        size = unknown_size
        if str(path) != "-":
            info = os.stat(path)
            size = info.st_size if stat.S_ISREG(info.st_mode) else unknown_size
        self.bytes += size
        _within(
            self.bytes,
            self.max_bytes,
            "max_run_bytes",
            "--max-run-bytes",
            f"本次运行数据过多 / more than {self.max_bytes} bytes in one run at {os.fspath(path)}",
        )

    def check_all(self, paths: Iterable[str | os.PathLike[str]], *, unknown_size: int) -> None:
        """:meth:`take` every path of a run, before any is read."""
        for path in paths:
            self.take(path, unknown_size=unknown_size)


def _within(value: int, most: int, limit: str, option: str, message: str) -> None:
    """Refuse a run whose ``value`` went over ``most``, naming the ``limit`` and the ``option``
    that raises it (docs/security.md "Limits")."""
    if value > most:
        raise RunLimitExceeded(
            f"{message} (split the run, or raise the limit: {option})", limit=limit, value=value
        )


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable: fsync the directory (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    mode: int = 0o600,
    before_replace: Callable[[Path], None] | None = None,
    sync_dir: bool = True,
) -> None:
    """Replace ``path`` with ``data`` atomically.

    A temporary file is created in the same directory (``O_EXCL``, ``mode``, default 0600 so a
    key never exists readable by others even for a moment), written and fsynced, renamed over
    ``path`` with ``os.replace`` (atomic on POSIX), then the directory is fsynced so the rename
    itself survives a crash. On any error the temporary file is removed and ``path`` is
    untouched. ``before_replace`` is a test hook called between the fsync and the rename.
    ``sync_dir=False`` skips the directory fsync: after a crash ``path`` then holds the old or
    the new bytes (never a torn file), the old ones possibly even after the call returned.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    tmp = directory / f".tmp-{target.name}-{os.urandom(8).hex()}"  # what secrets.token_hex(8) is
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if before_replace is not None:
            before_replace(target)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if sync_dir:
        fsync_dir(directory)


def create_private(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (an existing file is left as is).

    For databases that SQLite then opens: SQLite creates a new database file with the process
    umask (usually 0644, readable by every local user) and gives its ``-wal``/``-shm``/journal
    files the database file's mode, so creating it 0600 first keeps vouchers, account numbers
    and audit entries private. Raises ``OSError`` like :func:`os.open`.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    os.close(fd)


def _owner_refusal(path: Path, what: str, info: os.stat_result) -> str | None:
    """Why a file owned by someone else may not be trusted (POSIX; ``None``: it may).

    Like ssh: a file owned by another non-root user is refused, since that user can change it.
    """
    if os.name != "posix" or info.st_uid in (0, os.geteuid()):
        return None
    return f"{what} 属于其他用户 / is owned by another user (uid {info.st_uid}); chown it or copy it"


def _refusal(path: Path, what: str, fd: int, max_bytes: int) -> str | None:
    """Why the opened file may not be read as configuration (``None``: it may)."""
    info = os.fstat(fd)
    owner = _owner_refusal(path, what, info)
    if owner is not None:
        return owner
    if not stat.S_ISREG(info.st_mode):
        return f"{what} 不是普通文件 / is not a regular file"
    if info.st_size > max_bytes:
        return f"{what} 超过 {max_bytes} 字节 / is larger than {max_bytes} bytes ({info.st_size})"
    if os.name == "posix" and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        mode = f"{stat.S_IMODE(info.st_mode):o}"
        return (
            f"{what} 可被组或其他用户写入 / is writable by group or others (mode {mode}); chmod go-w {path}"
        )
    return None


def check_config_file(path: str | os.PathLike[str], *, what: str = "configuration") -> None:
    """Refuse, like ssh does, a file whose content decides what ezhifu trusts or loads.

    For a keystore configuration, a key file or folder, a trust file or a PKCS#11 module:
    raises :class:`~ezhifu.errors.ConfigFileRefused` when it is not a regular file or a
    folder, when group or
    others may write it, or when another non-root user owns it (POSIX); and when its folder may
    be written by group or others without the sticky bit (they could replace the file). A file
    that does not exist is left to the reader to report.
    """
    file = Path(path)
    try:
        info = file.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigurationError(f"{file}: 无法读取{what} / cannot read {what}: {exc.strerror}") from exc
    refusal = _owner_refusal(file, what, info)
    if refusal is None and not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        refusal = f"{what} 不是普通文件或目录 / is not a regular file or folder"
    if refusal is None and os.name == "posix" and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        mode = f"{stat.S_IMODE(info.st_mode):o}"
        refusal = (
            f"{what} 可被组或其他用户写入 / is writable by group or others (mode {mode}); chmod go-w {file}"
        )
    if refusal is None and os.name == "posix":
        folder = file.resolve().parent
        dinfo = folder.stat()
        if dinfo.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not dinfo.st_mode & stat.S_ISVTX:
            mode = f"{stat.S_IMODE(dinfo.st_mode):o}"
            refusal = (
                f"{what} 所在目录可被组或其他用户写入 / is in a folder writable by group or others "
                f"({folder}, mode {mode}); chmod go-w {folder}"
            )
    if refusal is not None:
        raise ConfigFileRefused(f"{file}: {refusal}")


def read_config(
    path: str | os.PathLike[str], *, what: str = "configuration", max_bytes: int = MAX_CONFIG_BYTES
) -> dict[str, Any]:
    """Read a TOML configuration file (JSON when the name ends in ``.json``) into a dict.

    Refuses, with :class:`~ezhifu.errors.ConfigFileRefused` naming the file, what is not a
    regular file, larger than ``max_bytes`` or writable by group or others (POSIX); a file that
    cannot be read or parsed, or whose top level is not a table, raises
    :class:`~ezhifu.errors.ConfigurationError`.
    """
    file = Path(path)
    return parse_config(read_config_bytes(file, what=what, max_bytes=max_bytes), file, what=what)


def read_config_bytes(
    path: str | os.PathLike[str], *, what: str = "configuration", max_bytes: int = MAX_CONFIG_BYTES
) -> bytes:
    """The bytes of a configuration file, with the refusals of :func:`read_config`."""
    file = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before fstat can refuse it.
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ConfigurationError(f"{file}: 无法读取{what} / cannot read {what}: {exc.strerror}") from exc
    try:
        refusal = _refusal(file, what, fd, max_bytes)
        if refusal is not None:
            raise ConfigFileRefused(f"{file}: {refusal}")
        with os.fdopen(os.dup(fd), "rb") as handle:
            raw = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(raw) > max_bytes:  # grew between fstat and read
        raise ConfigFileRefused(f"{file}: {what} 超过 {max_bytes} 字节 / is larger than {max_bytes} bytes")
    return raw


def parse_config(raw: bytes, file: Path, *, what: str = "configuration") -> dict[str, Any]:
    """Parse the bytes of a configuration file named ``file`` (TOML, JSON for ``*.json``)."""
    try:
        text = raw.decode("utf-8")
        if file.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            # why: tomllib (pure Python) loads when a TOML file is read, not on every start-up
            import tomllib

            data = tomllib.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        kind = "JSON" if file.suffix.lower() == ".json" else "TOML"
        raise ConfigurationError(f"{file}: {what} 不是有效的 {kind} / is not valid {kind}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{file}: {what} 顶层必须是表 / must be a table at the top level")
    return data


def config_table(spec: object, where: str, keys: Collection[str], *, hint: str) -> Mapping[str, Any]:
    """``spec`` as a table of a configuration file whose keys are all among ``keys``; else a
    :class:`~ezhifu.errors.ConfigurationError` at ``where`` (``hint`` names the keys it takes)."""
    if not isinstance(spec, Mapping):
        raise ConfigurationError(f"{where}: 必须是表 / must be a table ({hint})")
    unknown = sorted(set(spec) - set(keys))
    if unknown:
        raise ConfigurationError(f"{where}: 未知的键 / unknown key(s) {', '.join(map(repr, unknown))}")
    return spec


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive advisory lock on the file ``path`` (created 0600) between processes.

    POSIX ``flock``; a no-op where ``fcntl`` does not exist (Windows). Closing the descriptor
    releases the lock. Raises ``OSError`` like :func:`os.open`.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl  # reason: POSIX only
        except ImportError:  # pragma: no cover - Windows
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
