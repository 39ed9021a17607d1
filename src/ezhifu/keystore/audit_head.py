"""The audit chain's head kept outside the audited database: a head file and witness lines.

The trail's own head (``audit_head`` table) lives in the same database as the entries, so
someone who restores an older copy of the database, or deletes every row, leaves a trail that
is consistent with itself. The head is therefore also written *outside* it:

* a **head file** beside the database (``<trail>.head`` by default), rewritten atomically
  (:func:`ezhifu._fileio.atomic_write`, mode 0600) after every committed entry, holding the
  sequence number and hash of the last entry and the generation of every keystore bound to
  the trail, authenticated with HMAC-SM3 (RFC 2104 over SM3, GB/T 32905-2016) under the
  trail's key::

      {"format": "ezhifu-audit-head", "version": 1, "seq": 42, "last_hash": "<64 hex>",
       "time": "2026-12-03T14:00:00.000000+00:00", "keystores": {"<id>": 7}, "mac": "<64 hex>"}

  A head file that others can write, that is not a regular file (a symlink, a FIFO) or that is
  larger than :data:`MAX_HEAD_BYTES` is refused before it is parsed (:class:`AuditHeadUnsafe`);
  one that is malformed or does not authenticate is :class:`AuditHeadInvalid`. Writes never
  lower the remembered sequence number or a keystore generation.

* a **witness line**, one line of text an operator copies to another system (a ticket, a mail,
  a print-out, a write-once log)::

      ezhifu-audit-head v1 seq=42 hash=<64 hex> time=<ISO 8601> ks=<id>:7 hmac-sm3=<64 hex>

  The ``hmac-sm3`` field is optional (a separate witness key, so a witness can be checked by
  someone who does not hold the trail key); without it the line is signed by nothing and is
  only as good as the place it is kept.

What each detects is stated in docs/security.md ("Audit trail").
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ezhifu import _fileio
from ezhifu.crypto.sm3 import hmac_sm3
from ezhifu.errors import AuditError, AuditHeadInvalid, AuditHeadUnsafe, AuditRolledBack
from ezhifu.keystore.integrity import canonical_json, same_text

__all__ = [
    "HEAD_SUFFIX",
    "MAX_HEAD_BYTES",
    "MAX_KEYSTORES",
    "MAX_WITNESS_LINES",
    "HeadRecord",
    "check_head_file_current",
    "default_head_path",
    "parse_witness_lines",
    "read_head_file",
    "read_heads",
    "update_head_file",
]

#: The head file's name is the trail's name plus this suffix unless given.
HEAD_SUFFIX = ".head"
#: A head file or witness file larger than this is refused unread.
MAX_HEAD_BYTES = 64 * 1024
#: Keystores one head may remember.
MAX_KEYSTORES = 256
#: Witness lines one file may hold (each names one earlier head of the chain).
MAX_WITNESS_LINES = 1000

_FORMAT = "ezhifu-audit-head"
_VERSION = 1
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[0-9A-Za-z._-]{1,64}")
_MAX_SEQ = 2**63 - 1
_MAC_LABEL = b"ezhifu-audit-head-file\x00"
_WITNESS_PREFIX = "ezhifu-audit-head v1 "


@dataclass(frozen=True, slots=True)
class HeadRecord:
    """One head kept outside the trail: entry ``seq`` has hash ``last_hash``.

    ``keystores`` maps a keystore id to the generation last written through the trail;
    ``source`` says where the head came from (a file name and line) for messages;
    ``authenticated`` is True when its MAC was checked.
    """

    seq: int
    last_hash: str
    time: str = ""
    keystores: Mapping[str, int] = field(default_factory=dict)
    source: str = ""
    authenticated: bool = False

    def body(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "seq": self.seq,
            "last_hash": self.last_hash,
            "time": self.time,
            "keystores": dict(sorted(self.keystores.items())),
        }

    def witness_line(self, key: bytes | None = None) -> str:
        """The one-line export of this head; with ``key``, HMAC-SM3-authenticated."""
        stores = ",".join(f"{k}:{v}" for k, v in sorted(self.keystores.items())) or "-"
        line = f"{_WITNESS_PREFIX}seq={self.seq} hash={self.last_hash} time={self.time or '-'} ks={stores}"
        if key is not None:
            line += f" hmac-sm3={hmac_sm3(key, line.encode('utf-8')).hex()}"
        return line


def default_head_path(trail: str | os.PathLike[str]) -> Path:
    """``<trail>.head``: the head file beside the database."""
    path = Path(trail)
    return path.with_name(path.name + HEAD_SUFFIX)


def _file_mac(key: bytes, body: Mapping[str, Any]) -> str:
    return hmac_sm3(key, _MAC_LABEL + canonical_json(body)).hex()


def _read_safely(path: Path, what: str) -> bytes | None:
    """The bytes of ``path`` after the safety checks; ``None`` when it does not exist."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditHeadUnsafe(f"{what} {path}: 无法读取 / cannot stat: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise AuditHeadUnsafe(f"{what} {path}: 不是普通文件 / not a regular file (symlink or device refused)")
    if os.name == "posix":
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise AuditHeadUnsafe(
                f"{what} {path}: 其他用户可写 / writable by others (mode {stat.S_IMODE(info.st_mode):o}); "
                "chmod 600 it"
            )
        if info.st_uid not in (os.geteuid(), 0):
            raise AuditHeadUnsafe(f"{what} {path}: 属于其他用户 / owned by another user (uid {info.st_uid})")
        try:
            folder = (path.parent if str(path.parent) else Path(".")).stat().st_mode
        except OSError as exc:
            raise AuditHeadUnsafe(f"{what} {path}: 无法读取目录 / cannot stat its directory") from exc
        if folder & stat.S_IWOTH and not folder & stat.S_ISVTX:
            raise AuditHeadUnsafe(
                f"{what} {path}: 目录其他用户可写 / its directory is writable by others (no sticky bit): "
                "anyone could replace it"
            )
    if info.st_size > MAX_HEAD_BYTES:
        raise AuditHeadUnsafe(
            f"{what} {path}: 超过 {MAX_HEAD_BYTES} 字节 / larger than {MAX_HEAD_BYTES} bytes"
        )
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_HEAD_BYTES + 1)
    except OSError as exc:
        raise AuditHeadUnsafe(f"{what} {path}: 无法读取 / cannot read: {exc.strerror}") from exc
    if len(data) > MAX_HEAD_BYTES:
        raise AuditHeadUnsafe(
            f"{what} {path}: 超过 {MAX_HEAD_BYTES} 字节 / larger than {MAX_HEAD_BYTES} bytes"
        )
    return data


def _bad(source: str, problem: str) -> AuditHeadInvalid:
    return AuditHeadInvalid(f"{source}: 审计链头无效 / invalid audit head: {problem}")


def _check_fields(
    seq: object, last_hash: object, time: object, stores: object, source: str
) -> dict[str, int]:
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= _MAX_SEQ:
        raise _bad(source, f"seq must be an integer in 0..2**63-1, not {seq!r}"[:200])
    if not isinstance(last_hash, str) or not _HEX64.fullmatch(last_hash):
        raise _bad(source, "last_hash must be 64 lower-case hex digits")
    if not isinstance(time, str) or len(time) > 64:
        raise _bad(source, "time must be a string of at most 64 characters")
    if not isinstance(stores, dict) or len(stores) > MAX_KEYSTORES:
        raise _bad(source, f"keystores must be a table of at most {MAX_KEYSTORES} entries")
    out: dict[str, int] = {}
    for name, generation in stores.items():
        if not isinstance(name, str) or not _ID.fullmatch(name):
            raise _bad(source, f"keystore id {str(name)[:80]!r} is not 1-64 of [0-9A-Za-z._-]")
        if not isinstance(generation, int) or isinstance(generation, bool) or not 0 <= generation <= _MAX_SEQ:
            raise _bad(source, f"keystore {name}: generation must be a non-negative integer")
        out[name] = generation
    return out


def _parse_head_json(data: bytes, key: bytes | None, source: str) -> HeadRecord:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _bad(source, f"not JSON ({exc})"[:200]) from exc
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT or doc.get("version") != _VERSION:
        raise _bad(source, f"not an {_FORMAT} v{_VERSION} file")
    unknown = sorted(set(doc) - {"format", "version", "seq", "last_hash", "time", "keystores", "mac"})
    if unknown:
        raise _bad(source, f"unknown field(s) {', '.join(map(repr, unknown))}"[:200])
    stores = _check_fields(
        doc.get("seq"), doc.get("last_hash"), doc.get("time", ""), doc.get("keystores", {}), source
    )
    record = HeadRecord(doc["seq"], doc["last_hash"], doc.get("time", ""), stores, source)
    if key is not None:
        if not same_text(_file_mac(key, record.body()), doc.get("mac")):
            raise _bad(source, "MAC does not authenticate (edited, forged or another trail's key)")
        record = HeadRecord(record.seq, record.last_hash, record.time, stores, source, authenticated=True)
    return record


def read_head_file(path: str | os.PathLike[str], key: bytes | None) -> HeadRecord | None:
    """The head file at ``path`` (``None`` when absent), its MAC checked when ``key`` is given."""
    file = Path(path)
    data = _read_safely(file, "audit head file")
    if data is None:
        return None
    return _parse_head_json(data, key, str(file))


def update_head_file(
    path: str | os.PathLike[str],
    key: bytes,
    *,
    seq: int | None = None,
    last_hash: str | None = None,
    time: str = "",
    keystore: tuple[str, int] | None = None,
) -> HeadRecord:
    """Merge a new head into the file at ``path`` and rewrite it atomically (mode 0600).

    The sequence number and each keystore generation only ever grow: a stale writer (another
    process that committed earlier) never lowers what the file remembers. The caller holds
    the trail's append lock; between processes the rewrite is serialised by an advisory lock
    on ``<path>.lock``.
    """
    file = Path(path)
    lock_path = file.with_name(file.name + ".lock")
    try:
        _fileio.create_private(lock_path)
    except OSError as exc:
        raise AuditError(f"audit head {file}: cannot create its lock file: {exc.strerror}") from exc
    with _fileio.exclusive_lock(lock_path):
        return _merge_head(file, key, seq, last_hash, time, keystore)


def _merge_head(
    file: Path,
    key: bytes,
    seq: int | None,
    last_hash: str | None,
    time: str,
    keystore: tuple[str, int] | None,
) -> HeadRecord:
    current = read_head_file(file, key)
    stores = dict(current.keystores) if current is not None else {}
    new_seq, new_hash, new_time = (
        (current.seq, current.last_hash, current.time) if current else (0, "0" * 64, "")
    )
    if seq is not None and last_hash is not None and seq >= new_seq:
        new_seq, new_hash, new_time = seq, last_hash, time
    if keystore is not None:
        name, generation = keystore
        if not _ID.fullmatch(name):
            raise AuditError(f"audit head: keystore id {name!r} is not 1-64 of [0-9A-Za-z._-]")
        if generation >= stores.get(name, 0):
            stores[name] = generation
        if len(stores) > MAX_KEYSTORES:
            raise AuditError(f"audit head {file}: more than {MAX_KEYSTORES} keystores bound to one trail")
    record = HeadRecord(new_seq, new_hash, new_time, stores, str(file), authenticated=True)
    body = record.body()
    body["mac"] = _file_mac(key, record.body())
    text = json.dumps(body, sort_keys=True, indent=1).encode("utf-8") + b"\n"
    try:
        # No directory fsync: after a crash the head file may lag the trail (an older head, which
        # verification accepts) but never lead it or be torn; it saves one fsync per entry.
        _fileio.atomic_write(file, text, mode=0o600, sync_dir=False)
    except OSError as exc:
        raise AuditError(f"audit head file {file}: 无法写入 / cannot write: {exc.strerror or exc}") from exc
    return record


def _parse_witness_line(line: str, key: bytes | None, source: str) -> HeadRecord:
    if not line.startswith(_WITNESS_PREFIX) or len(line) > 8192:
        raise _bad(source, "not an 'ezhifu-audit-head v1' witness line")
    body, _, mac = line.partition(" hmac-sm3=")
    fields: dict[str, str] = {}
    for token in body[len(_WITNESS_PREFIX) :].split(" "):
        name, sep, value = token.partition("=")
        if not sep or name in fields or name not in ("seq", "hash", "time", "ks"):
            raise _bad(source, f"unexpected token {token[:40]!r}")
        fields[name] = value
    if set(fields) != {"seq", "hash", "time", "ks"}:
        raise _bad(source, "a witness line needs seq=, hash=, time= and ks=")
    if not fields["seq"].isdigit() or len(fields["seq"]) > 19:
        raise _bad(source, "seq must be a decimal number")
    stores: dict[str, object] = {}
    if fields["ks"] != "-":
        for item in fields["ks"].split(",")[: MAX_KEYSTORES + 1]:
            name, sep, generation = item.rpartition(":")
            if not sep or not generation.isdigit() or len(generation) > 19:
                raise _bad(source, f"keystore entry {item[:80]!r} is not id:generation")
            stores[name] = int(generation)
    time = "" if fields["time"] == "-" else fields["time"]
    checked = _check_fields(int(fields["seq"]), fields["hash"], time, stores, source)
    authenticated = False
    if mac:
        if key is None:
            authenticated = False  # an HMAC is present but no witness key was given: unchecked
        elif not same_text(hmac_sm3(key, body.encode("utf-8")).hex(), mac):
            raise _bad(source, "witness HMAC does not authenticate (edited or forged line, or wrong key)")
        else:
            authenticated = True
    elif key is not None:
        raise _bad(source, "the witness line carries no hmac-sm3 but a witness key was given")
    return HeadRecord(int(fields["seq"]), fields["hash"], time, checked, source, authenticated)


def parse_witness_lines(text: str, key: bytes | None, source: str) -> list[HeadRecord]:
    """Every witness line of ``text`` (blank lines and ``#`` comments skipped)."""
    out: list[HeadRecord] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(out) >= MAX_WITNESS_LINES:
            raise _bad(source, f"more than {MAX_WITNESS_LINES} witness lines")
        out.append(_parse_witness_line(line, key, f"{source}:{number}"))
    return out


def read_heads(
    path: str | os.PathLike[str], *, key: bytes | None, witness_key: bytes | None
) -> list[HeadRecord]:
    """The heads in ``path``: a head file (JSON, MAC checked with ``key``) or witness lines.

    A missing file is :class:`AuditHeadUnsafe` here (the caller named it).
    """
    file = Path(path)
    data = _read_safely(file, "audit head")
    if data is None:
        raise AuditHeadUnsafe(f"audit head {file}: 文件不存在 / no such file")
    if data.lstrip()[:1] == b"{":
        return [_parse_head_json(data, key, str(file))]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(str(file), "neither a head file (JSON) nor UTF-8 witness lines") from exc
    heads = parse_witness_lines(text, witness_key, str(file))
    if not heads:
        raise _bad(str(file), "no witness line in the file")
    return heads


def check_head_file_current(head: HeadRecord, witnesses: list[HeadRecord]) -> None:
    """Refuse a head file older than a witness taken from it (:class:`AuditRolledBack`).

    The head file only grows, and a witness line is exported from it, so a head file whose
    sequence number or keystore generation is below a witness's was restored from an older
    copy: the trail may still be intact, but a keystore restored with it would be accepted.
    """
    for witness in witnesses:
        if head.seq < witness.seq:
            raise AuditRolledBack(
                f"{head.source}: 链头文件被回滚 / the head file records entry {head.seq}, older than "
                f"entry {witness.seq} of {witness.source} (restored from an older copy)"
            )
        for store, generation in witness.keystores.items():
            if head.keystores.get(store, -1) < generation:
                raise AuditRolledBack(
                    f"{head.source}: 链头文件被回滚 / the head file remembers keystore {store} at generation "
                    f"{head.keystores.get(store)}, older than the {generation} of {witness.source}"
                )
