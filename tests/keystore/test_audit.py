"""The audit trail: SM3 hash chain, HMAC-SM3, anchored head; every kind of tampering is caught."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, hmac

from ezhifu.errors import AuditTamperedError, ConfigurationError
from ezhifu.keystore.audit import (
    GENESIS_HASH,
    AuditChainBroken,
    AuditHead,
    AuditLog,
    MemoryAuditStorage,
    SQLiteAuditStorage,
    verify_audit,
)

KEY = b"audit-test-key-0123456789abcdef!"


def _log(path: Path, count: int = 5) -> AuditLog:
    log = AuditLog(SQLiteAuditStorage(path), KEY, actor="tester")
    for i in range(count):
        log.record(
            "sign",
            "ok",
            alias="unit-head",
            position="cz_dwfz",
            vt_code="5201",
            voucher_no=f"V{i:03d}",
            reason="SN=1a",
        )
    return log


@contextmanager
def _db(path: Path) -> Iterator[sqlite3.Connection]:
    """A second, raw connection: what someone with write access to the file can do."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


def test_chain_is_sm3_over_previous_hash_and_canonical_entry(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.db", 2)
    first, second = log.entries()
    assert first.prev_hash == GENESIS_HASH.hex() and second.prev_hash == first.entry_hash
    digest = hashes.Hash(hashes.SM3())
    digest.update(bytes.fromhex(first.entry_hash) + second.canonical())
    assert digest.finalize().hex() == second.entry_hash  # recomputed independently of the module
    mac = hmac.HMAC(KEY, hashes.SM3())
    mac.update(bytes.fromhex(second.entry_hash))
    assert mac.finalize().hex() == second.mac
    assert b"SN=1a" in second.canonical() and KEY not in second.canonical()
    report = log.verify()
    assert report.count == 2 and report.head_hash == second.entry_hash
    log.close()


def test_edit_is_caught(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.db")
    with _db(tmp_path / "a.db") as db:
        db.execute("UPDATE audit_entry SET outcome = 'refused' WHERE seq = 3")
    with pytest.raises(AuditChainBroken, match="audit entry 3") as info:
        log.verify()
    assert info.value.seq == 3 and isinstance(info.value, AuditTamperedError)
    log.close()


def test_edit_with_recomputed_hash_is_caught_by_the_mac(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.db")
    entry = log.entries()[1]
    forged = type(entry)(**{**entry.to_dict(), "voucher_no": "FORGED"})  # type: ignore[arg-type]
    with _db(tmp_path / "a.db") as db:
        db.execute(
            "UPDATE audit_entry SET voucher_no = 'FORGED', entry_hash = ? WHERE seq = 2",
            (forged.compute_hash().hex(),),
        )
    with pytest.raises(AuditChainBroken, match="audit entry 2"):
        log.verify()
    log.close()


def test_delete_is_caught(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.db")
    with _db(tmp_path / "a.db") as db:
        db.execute("DELETE FROM audit_entry WHERE seq = 2")
    with pytest.raises(AuditChainBroken, match="audit entry 2") as info:
        log.verify()
    assert "deleted" in str(info.value)
    log.close()


def test_reorder_is_caught(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.db")
    with _db(tmp_path / "a.db") as db:  # swap entries 2 and 3 by renumbering them
        db.execute("UPDATE audit_entry SET seq = 100 WHERE seq = 2")
        db.execute("UPDATE audit_entry SET seq = 2 WHERE seq = 3")
        db.execute("UPDATE audit_entry SET seq = 3 WHERE seq = 100")
    with pytest.raises(AuditChainBroken, match="audit entry 2") as info:
        log.verify()
    assert info.value.seq == 2
    log.close()


def test_truncate_is_caught_by_the_head(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.db")
    with _db(tmp_path / "a.db") as db:
        db.execute("DELETE FROM audit_entry WHERE seq >= 4")
    with pytest.raises(AuditChainBroken, match="head records 5 entries but 3") as info:
        log.verify()
    assert info.value.seq == 4
    log.close()


def test_truncate_with_rolled_back_head_needs_the_anchor(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.db", 3)
    old_head = log.head()
    assert old_head is not None
    log.record("stamp", "ok", alias="unit-sealer")
    anchor = log.head()  # kept elsewhere, e.g. in the daily report
    assert anchor is not None
    with _db(tmp_path / "a.db") as db:  # an insider restores the older, genuine head
        db.execute("DELETE FROM audit_entry WHERE seq = 4")
        db.execute(
            "UPDATE audit_head SET count = ?, last_hash = ?, mac = ?",
            (old_head.count, old_head.last_hash, old_head.mac),
        )
    assert log.verify().count == 3  # consistent on its own ...
    with pytest.raises(AuditChainBroken, match="fewer than the 4"):
        log.verify(expected_head=AuditHead(anchor.count, anchor.last_hash))  # ... but not with the anchor
    log.close()


def test_forged_head_and_wrong_key(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.db", 2)
    with _db(tmp_path / "a.db") as db:
        db.execute("UPDATE audit_head SET count = 1")
    with pytest.raises(AuditChainBroken, match="head does not authenticate"):
        log.verify()
    with pytest.raises(AuditChainBroken, match="head does not authenticate"):
        log.record("sign", "ok")  # appending refuses a forged head too
    log.close()
    fresh = _log(tmp_path / "b.db", 2)
    with pytest.raises(AuditChainBroken, match="MAC"):
        verify_audit(fresh.storage, b"another key of at least 16 bytes")
    fresh.close()


def test_threads_append_one_chain(tmp_path: Path) -> None:
    log = AuditLog(MemoryAuditStorage(), KEY, clock=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    threads = [
        threading.Thread(
            target=lambda n=n: [log.record("sign", "ok", voucher_no=f"{n}-{i}") for i in range(50)]
        )
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.verify().count == 400
    assert log.entries()[0].time == "2026-01-02T03:04:05.000000+00:00"


def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="16 bytes"):
        AuditLog(MemoryAuditStorage(), b"short")
    log = AuditLog(MemoryAuditStorage(), KEY)
    with pytest.raises(ConfigurationError, match="outcome"):
        log.record("sign", "maybe")
    assert log.verify().count == 0
