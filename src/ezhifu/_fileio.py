"""Durable, all-or-nothing file writes (used by keystores, transports and every CLI output).

ezhifu never leaves a half-written file behind: a key file, a signed envelope or a seal is
either the old bytes or the new bytes, even when the process is killed mid-write.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["atomic_write", "create_private", "exclusive_lock", "fsync_dir"]


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
    tmp = directory / f".tmp-{target.name}-{secrets.token_hex(8)}"
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
