"""Writing the package container: a deterministic zip, written atomically.

The same files always give the same zip bytes: members sorted by name (``manifest.json`` and
``manifest.p7s`` first, so a reader meets the manifest before anything it lists), DEFLATE at
level 9, a fixed timestamp (1980-01-01, the zip epoch; the real times are in the manifest and
the metadata), no extra fields, Unix mode 0644. :func:`write_atomically` never leaves a
half-written package (``ezhifu._fileio.atomic_write``: temporary file, fsync, rename).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

from ezhifu._fileio import atomic_write
from ezhifu.archive.manifest import MANIFEST_NAME, SIGNATURE_NAME
from ezhifu.archive.reader import check_member_name

__all__ = ["build_zip", "write_atomically"]

_EPOCH = (1980, 1, 1, 0, 0, 0)
_FIRST = (MANIFEST_NAME, SIGNATURE_NAME)


def _order(name: str) -> tuple[int, str]:
    return (_FIRST.index(name) if name in _FIRST else len(_FIRST), name)


def build_zip(members: Mapping[str, bytes]) -> bytes:
    """The zip bytes of ``members`` (name -> bytes); every name is checked as a reader would."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(members, key=_order):
            check_member_name(name)
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            info.create_system = 3  # Unix, so the mode above is read as such
            archive.writestr(info, members[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def write_atomically(path: str | Path, data: bytes) -> Path:
    """Write the package bytes to ``path`` all or nothing (mode 0644: an archive is meant to be read)."""
    out = Path(path)
    atomic_write(out, data, mode=0o644)
    return out
