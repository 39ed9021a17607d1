"""Reading a package zip with bounds: nothing is trusted before it passes these checks.

:func:`read_members` refuses, each with its named error (all :class:`~ezhifu.errors.UnsafeArchive`,
a :class:`~ezhifu.errors.HostileInputError`):

* :class:`~ezhifu.errors.ArchiveTooLarge`: more than :attr:`ZipLimits.max_members` members, a
  member above :attr:`ZipLimits.max_member_bytes` or all members above
  :attr:`ZipLimits.max_total_bytes` once inflated (checked on the sizes the zip declares *and*
  while inflating, since declared sizes can lie), or a compression ratio above
  :attr:`ZipLimits.max_ratio` (a zip bomb);
* :class:`~ezhifu.errors.ArchivePathRefused`: a name that is absolute, has a drive letter, a
  backslash, a ``..`` or ``.`` segment, an empty segment, a control character, is longer than
  :data:`MAX_NAME_LENGTH`, or is a directory, a symbolic link or encrypted (DA/T 95 §8.2.4 c:
  decrypt before archiving);
* :class:`~ezhifu.errors.ArchiveDuplicateMember`: two members with the same name, also when they
  differ only in case or Unicode normalisation (they would overwrite each other when extracted).

Bytes that are not a zip at all raise :class:`~ezhifu.errors.ArchiveFormatError`.
"""

from __future__ import annotations

import io
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass

from ezhifu.errors import ArchiveDuplicateMember, ArchiveFormatError, ArchivePathRefused, ArchiveTooLarge

__all__ = ["MAX_NAME_LENGTH", "ZipLimits", "check_member_name", "read_members"]

#: Longest member name accepted (characters).
MAX_NAME_LENGTH = 255
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Bounds on a package zip (defaults fit a voucher package with room to spare)."""

    #: Members in one package.
    max_members: int = 1000
    #: Inflated bytes of one member (the envelope limit of the parser is 64 MiB, parsing.md).
    max_member_bytes: int = 64 << 20
    #: Inflated bytes of all members together.
    max_total_bytes: int = 256 << 20
    #: Largest inflated / compressed ratio of a member larger than 1 MiB.
    max_ratio: int = 200
    #: Bytes of the zip file itself.
    max_package_bytes: int = 256 << 20


def check_member_name(name: str) -> None:
    """Raise :class:`ArchivePathRefused` unless ``name`` is a plain relative path (see module doc)."""
    shown = repr(name[:80])
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ArchivePathRefused(
            f"成员名长度无效 / member name {shown} is empty or over {MAX_NAME_LENGTH} characters"
        )
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise ArchivePathRefused(f"成员名含控制字符 / member name {shown} contains a control character")
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchivePathRefused(f"成员路径不安全 / member {shown} is absolute or uses a backslash or drive")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise ArchivePathRefused(f"成员路径不安全 / member {shown} has an empty, '.' or '..' segment")


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _check_info(info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    check_member_name(info.filename)
    mode = info.external_attr >> 16
    if info.is_dir() or stat.S_ISLNK(mode):
        raise ArchivePathRefused(
            f"不接受目录或链接 / member {info.filename!r} is a directory or symbolic link"
        )
    if info.flag_bits & 0x1:
        raise ArchivePathRefused(
            f"成员已加密 / member {info.filename!r} is encrypted; decrypt before archiving"
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchivePathRefused(
            f"压缩方式不支持 / member {info.filename!r} uses compression {info.compress_type}"
        )
    if info.file_size > limits.max_member_bytes:
        raise ArchiveTooLarge(
            f"成员过大 / member {info.filename!r} declares {info.file_size} bytes "
            f"(limit {limits.max_member_bytes})"
        )


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits, budget: int) -> bytes:
    cap = min(limits.max_member_bytes, budget)
    out = bytearray()
    with archive.open(info) as handle:
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            out += chunk
            if len(out) > cap:
                raise ArchiveTooLarge(
                    f"解压后过大 / member {info.filename!r} inflates beyond {cap} bytes (zip bomb refused)"
                )
    compressed = max(info.compress_size, 1)
    if len(out) > (1 << 20) and len(out) // compressed > limits.max_ratio:
        raise ArchiveTooLarge(
            f"压缩比异常 / member {info.filename!r} ratio {len(out) // compressed}:1 exceeds "
            f"{limits.max_ratio}:1 (zip bomb refused)"
        )
    return bytes(out)


def read_members(data: bytes, limits: ZipLimits | None = None) -> dict[str, bytes]:
    """Every member of a package zip, name -> bytes, after the checks of the module docstring."""
    limits = limits or ZipLimits()
    if len(data) > limits.max_package_bytes:
        raise ArchiveTooLarge(f"归档包过大 / package of {len(data)} bytes exceeds {limits.max_package_bytes}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveFormatError(f"不是 zip 归档包 / not a zip package: {exc}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise ArchiveTooLarge(f"成员过多 / {len(infos)} members exceed the limit of {limits.max_members}")
        seen: dict[str, str] = {}
        declared = 0
        for info in infos:
            _check_info(info, limits)
            key = _fold(info.filename)
            if key in seen:
                raise ArchiveDuplicateMember(
                    f"成员重名 / members {seen[key]!r} and {info.filename!r} have the same name"
                )
            seen[key] = info.filename
            declared += info.file_size
        if declared > limits.max_total_bytes:
            raise ArchiveTooLarge(
                f"解压总量过大 / members declare {declared} bytes (limit {limits.max_total_bytes})"
            )
        members: dict[str, bytes] = {}
        total = 0
        for info in infos:
            try:
                content = _inflate(archive, info, limits, limits.max_total_bytes - total)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as exc:
                raise ArchiveFormatError(
                    f"成员损坏 / member {info.filename!r} cannot be read: {exc}"
                ) from exc
            total += len(content)
            members[info.filename] = content
        return members
