"""Where the audit trail's entries live: the entry and head records and the storages.

:class:`SQLiteAuditStorage` (stdlib ``sqlite3``) is the default, :class:`MemoryAuditStorage`
serves tests; any :class:`AuditStorage` whose ``append`` is atomic will do. The chain and its
verification are in :mod:`ezhifu.keystore.audit`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from os import PathLike
from pathlib import Path
from typing import Protocol

from ezhifu._fileio import create_private
from ezhifu.crypto.sm3 import sm3
from ezhifu.errors import AuditError, ConfigurationError
from ezhifu.keystore.integrity import canonical_json

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditHead",
    "AuditStorage",
    "MemoryAuditStorage",
    "SQLiteAuditStorage",
    "head_message",
]

#: The value chained into the first entry.
GENESIS_HASH = bytes(32)


def head_message(head: AuditHead) -> bytes | None:
    """``head.message()``, or ``None`` when a tampered head does not even have the right form."""
    try:
        return head.message()
    except (ValueError, TypeError, OverflowError, AttributeError):
        return None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit trail. ``prev_hash``, ``entry_hash`` and ``mac`` are lower-case hex."""

    seq: int
    time: str
    actor: str
    alias: str
    operation: str
    position: str
    vt_code: str
    voucher_no: str
    outcome: str
    reason: str
    prev_hash: str
    entry_hash: str = ""
    mac: str = ""

    def canonical(self) -> bytes:
        """The bytes hashed into the chain: every field except ``entry_hash`` and ``mac``."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("entry_hash", "mac")}
        return canonical_json(data)

    def compute_hash(self) -> bytes:
        return sm3(bytes.fromhex(self.prev_hash) + self.canonical())

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The anchored end of the chain: how many entries and the hash of the last one."""

    count: int
    last_hash: str
    mac: str = ""

    def message(self) -> bytes:
        return b"ezhifu-audit-head\x00" + self.count.to_bytes(8, "big") + bytes.fromhex(self.last_hash)


class AuditStorage(Protocol):
    """Where entries live. ``append`` must be atomic: the entry and the new head together."""

    def append(self, build: Callable[[AuditHead | None], tuple[AuditEntry, AuditHead]]) -> AuditEntry:
        """Read the current head, call ``build`` with it and store what it returns, atomically."""
        ...

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry in stored sequence order."""
        ...

    def head(self) -> AuditHead | None:
        """The stored head (``None`` for an empty log)."""
        ...

    def close(self) -> None: ...


class MemoryAuditStorage:
    """Entries in a list (tests, short-lived processes). ``rows`` is exposed for tests."""

    def __init__(self) -> None:
        self.rows: list[AuditEntry] = []
        self.stored_head: AuditHead | None = None
        self._lock = threading.Lock()

    def append(self, build: Callable[[AuditHead | None], tuple[AuditEntry, AuditHead]]) -> AuditEntry:
        with self._lock:
            entry, head = build(self.stored_head)
            self.rows.append(entry)
            self.stored_head = head
            return entry

    def entries(self) -> Iterator[AuditEntry]:
        with self._lock:
            rows = list(self.rows)
        return iter(rows)

    def head(self) -> AuditHead | None:
        return self.stored_head

    def close(self) -> None:
        """Nothing to release."""


_COLUMNS = tuple(f.name for f in fields(AuditEntry))


class SQLiteAuditStorage:
    """Entries in an SQLite database (table ``audit_entry``, head in ``audit_head``).

    Appends run in ``BEGIN IMMEDIATE`` transactions, so several processes may share a file.
    ``synchronous`` is SQLite's durability setting (``"FULL"`` by default).
    """

    def __init__(
        self, path: str | PathLike[str], *, synchronous: str = "FULL", read_only: bool = False
    ) -> None:
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ConfigurationError(f"audit storage: unknown synchronous mode {synchronous!r}")
        self.path = Path(path)
        self._lock = threading.Lock()
        if read_only:  # verification: never create, migrate or write the file
            try:
                self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
                self._db.execute("SELECT count(*) FROM audit_entry").fetchone()
            except (sqlite3.Error, OSError, ValueError) as exc:
                raise AuditError(
                    f"audit log {self.path}: 无法读取审计记录 / not a readable audit trail: {exc}"
                ) from exc
            return
        try:
            if str(path) not in (":memory:", ""):
                create_private(self.path)  # who used which key, when: not for every local user
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS audit_entry (seq INTEGER PRIMARY KEY, time TEXT NOT NULL, "
                "actor TEXT NOT NULL, alias TEXT NOT NULL, operation TEXT NOT NULL, position TEXT NOT NULL, "
                "vt_code TEXT NOT NULL, voucher_no TEXT NOT NULL, outcome TEXT NOT NULL, "
                "reason TEXT NOT NULL, prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL, mac TEXT NOT NULL)"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "count INTEGER NOT NULL, last_hash TEXT NOT NULL, mac TEXT NOT NULL)"
            )
        except (sqlite3.Error, OSError) as exc:
            raise AuditError(f"audit log {self.path}: cannot open: {exc}") from exc

    def append(self, build: Callable[[AuditHead | None], tuple[AuditEntry, AuditHead]]) -> AuditEntry:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    entry, head = build(self._read_head())
                    placeholders = ", ".join("?" for _ in _COLUMNS)
                    self._db.execute(
                        f"INSERT INTO audit_entry ({', '.join(_COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
                        tuple(getattr(entry, c) for c in _COLUMNS),
                    )
                    self._db.execute(
                        "INSERT OR REPLACE INTO audit_head (id, count, last_hash, mac) VALUES (1, ?, ?, ?)",
                        (head.count, head.last_hash, head.mac),
                    )
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return entry
            except sqlite3.Error as exc:
                raise AuditError(f"audit log {self.path}: cannot append: {exc}") from exc

    def _read_head(self) -> AuditHead | None:
        row = self._db.execute("SELECT count, last_hash, mac FROM audit_head WHERE id = 1").fetchone()
        return None if row is None else AuditHead(int(row[0]), str(row[1]), str(row[2]))

    def entries(self) -> Iterator[AuditEntry]:
        with self._lock:
            try:
                rows = self._db.execute(
                    f"SELECT {', '.join(_COLUMNS)} FROM audit_entry ORDER BY seq"  # noqa: S608
                ).fetchall()
            except sqlite3.Error as exc:
                raise AuditError(f"audit log {self.path}: cannot read: {exc}") from exc
        return iter([AuditEntry(*row) for row in rows])

    def head(self) -> AuditHead | None:
        with self._lock:
            try:
                return self._read_head()
            except sqlite3.Error as exc:
                raise AuditError(f"audit log {self.path}: cannot read head: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()
