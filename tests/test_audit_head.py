"""Issue 13 finding 7: the audit chain's head kept outside the database (head file, witness).

Each test fails on the old main (no head file: a trail with every row deleted, or restored from
an older copy, verified) and passes now.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhifu.crypto.sm3 import hmac_sm3
from ezhifu.errors import (
    AuditChainBroken,
    AuditHeadInvalid,
    AuditHeadUnsafe,
    AuditRolledBack,
    AuditTamperedError,
    ConfigurationError,
)
from ezhifu.keystore.audit import AuditHead, AuditLog, SQLiteAuditStorage, verify_audit
from ezhifu.keystore.audit_head import (
    MAX_HEAD_BYTES,
    HeadRecord,
    default_head_path,
    parse_witness_lines,
    read_head_file,
    read_heads,
)
from ezhifu.keystore.audit_use import open_audit

KEY = b"audit head test key, 32 bytes.."
WITNESS_KEY = b"a separate witness key 0123456"


def _trail(path: Path, count: int = 5) -> AuditLog:
    log = open_audit(str(path), KEY, actor="tester")
    for i in range(count):
        log.record(
            "sign", "ok", alias="unit-head", position="cz_dwfz", vt_code="5201", voucher_no=f"V{i:03d}"
        )
    return log


@contextmanager
def _db(path: Path) -> Iterator[sqlite3.Connection]:
    """A raw connection: what someone with write access to the database file can do."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


def _copy_db(src: Path, dst: Path) -> None:
    """A consistent copy of the database (SQLite backup API: WAL content included)."""
    with _db(src) as source, _db(dst) as target:
        source.backup(target)


def test_head_file_is_written_beside_the_trail_and_authenticated(tmp_path: Path) -> None:
    log = _trail(tmp_path / "audit.db", 3)
    head_path = tmp_path / "audit.db.head"
    assert log.head_file == head_path == default_head_path(tmp_path / "audit.db")
    assert head_path.stat().st_mode & 0o777 == 0o600
    record = read_head_file(head_path, KEY)
    assert record is not None and record.authenticated
    assert (record.seq, record.last_hash) == (3, log.entries()[-1].entry_hash)
    doc = json.loads(head_path.read_text())
    assert doc["format"] == "ezhifu-audit-head" and len(doc["mac"]) == 64
    report = log.verify()
    assert report.count == 3 and str(head_path) in report.anchors
    log.close()


def test_every_row_deleted_is_caught(tmp_path: Path) -> None:
    log = _trail(tmp_path / "audit.db")
    with _db(tmp_path / "audit.db") as db:
        db.execute("DELETE FROM audit_entry")
        db.execute("DELETE FROM audit_head")
    assert verify_audit(log.storage, KEY).count == 0  # consistent on its own (the old finding) ...
    with pytest.raises(AuditRolledBack, match="holds 0 entries, fewer than the 5") as info:
        log.verify()  # ... not against the head file
    assert isinstance(info.value, AuditTamperedError)
    with pytest.raises(AuditRolledBack, match="refusing to append"):
        log.record("sign", "ok")
    log.close()


def test_rollback_to_an_older_copy_is_caught(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    log = _trail(db, 3)
    _copy_db(db, tmp_path / "old.db")  # yesterday's backup
    for i in range(3):
        log.record("stamp", "ok", voucher_no=f"W{i}")
    log.close()
    shutil.copyfile(tmp_path / "old.db", db)  # an insider restores it: the head table agrees
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    reopened = AuditLog(SQLiteAuditStorage(db), KEY, head_file=True)
    assert verify_audit(reopened.storage, KEY).count == 3
    with pytest.raises(AuditRolledBack, match="fewer than the 6"):
        reopened.verify()
    with pytest.raises(AuditRolledBack):
        reopened.record("sign", "ok")  # no fork is appended to the old copy
    reopened.close()


def test_rollback_then_regrowth_with_the_key_is_a_rewritten_history(tmp_path: Path) -> None:
    """An insider who holds the trail key cuts two entries, re-MACs the stored head and appends
    two innocent entries with a writer that ignores the head file: the count is back to 4, the
    stored head authenticates, but entry 4 differs from the witness taken before."""
    db = tmp_path / "audit.db"
    log = _trail(db, 4)
    witness = parse_witness_lines(log.witness_line(), None, "witness")
    rows = log.entries()
    log.close()
    second = AuditHead(2, rows[1].entry_hash)
    mac = hmac_sm3(KEY, second.message()).hex()
    with _db(db) as raw:
        raw.execute("DELETE FROM audit_entry WHERE seq > 2")
        raw.execute("UPDATE audit_head SET count = 2, last_hash = ?, mac = ?", (second.last_hash, mac))
    forger = AuditLog(SQLiteAuditStorage(db), KEY)  # no head file: nothing stops it
    forger.record("verify", "ok")
    forger.record("verify", "ok")
    assert forger.verify().count == 4
    with pytest.raises(AuditChainBroken, match="history rewritten") as info:
        forger.verify(anchors=witness)
    assert info.value.seq == 4
    forger.close()
    fresh = AuditLog(SQLiteAuditStorage(db), KEY, head_file=True)  # the head file catches it too
    with pytest.raises(AuditChainBroken, match="history rewritten"):
        fresh.verify()
    fresh.close()


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit_entry SET reason = 'nothing happened' WHERE seq = 2",
        "DELETE FROM audit_entry WHERE seq = 3",
        "UPDATE audit_entry SET seq = 100 WHERE seq = 2",
    ],
)
def test_edits_deletions_reorders_still_caught_with_the_head_file(tmp_path: Path, tamper: str) -> None:
    log = _trail(tmp_path / "audit.db")
    with _db(tmp_path / "audit.db") as db:
        db.execute(tamper)
    with pytest.raises(AuditChainBroken):
        log.verify()
    log.close()


def test_truncation_with_the_stored_head_rewound_is_caught_by_the_head_file(tmp_path: Path) -> None:
    log = _trail(tmp_path / "audit.db", 3)
    old = log.head()
    assert old is not None
    log.record("stamp", "ok")
    with _db(tmp_path / "audit.db") as db:
        db.execute("DELETE FROM audit_entry WHERE seq = 4")
        db.execute(
            "UPDATE audit_head SET count = ?, last_hash = ?, mac = ?", (old.count, old.last_hash, old.mac)
        )
    assert verify_audit(log.storage, KEY).count == 3
    with pytest.raises(AuditRolledBack, match="fewer than the 4"):
        log.verify()
    log.close()


def test_witness_lines_plain_and_authenticated(tmp_path: Path) -> None:
    log = _trail(tmp_path / "audit.db", 2)
    plain = log.witness_line()
    signed = log.witness_line(WITNESS_KEY)
    assert plain.startswith("ezhifu-audit-head v1 seq=2 hash=") and "hmac-sm3=" not in plain
    assert signed.startswith(plain.split(" time=")[0]) and " hmac-sm3=" in signed
    for _ in range(3):
        log.record("sign", "ok")
    later = log.witness_line(WITNESS_KEY)
    witness = tmp_path / "witness.txt"
    witness.write_text(f"# copied daily\n{signed}\n\n{later}\n")
    witness.chmod(0o600)
    heads = read_heads(witness, key=KEY, witness_key=WITNESS_KEY)
    assert [h.seq for h in heads] == [2, 5] and all(h.authenticated for h in heads)
    assert log.verify(anchors=heads).count == 5
    with pytest.raises(AuditHeadInvalid, match="witness HMAC"):
        parse_witness_lines(later.replace("seq=5", "seq=4"), WITNESS_KEY, "w")
    with pytest.raises(AuditHeadInvalid, match="no hmac-sm3"):
        parse_witness_lines(plain, WITNESS_KEY, "w")
    unchecked = parse_witness_lines(later, None, "w")[0]
    assert not unchecked.authenticated
    log.close()


def test_forged_witness_for_a_longer_history_is_rollback(tmp_path: Path) -> None:
    log = _trail(tmp_path / "audit.db", 2)
    line = log.witness_line().replace("seq=2", "seq=9")
    with pytest.raises(AuditRolledBack, match="fewer than the 9"):
        log.verify(anchors=parse_witness_lines(line, None, "w"))
    log.close()


def test_head_file_forged_or_from_another_trail(tmp_path: Path) -> None:
    log = _trail(tmp_path / "audit.db", 2)
    head = tmp_path / "audit.db.head"
    doc = json.loads(head.read_text())
    doc["seq"] = 1
    head.write_text(json.dumps(doc))
    with pytest.raises(AuditHeadInvalid, match="MAC does not authenticate"):
        log.verify()
    with pytest.raises(AuditHeadInvalid):
        log.record("sign", "ok")
    with pytest.raises(AuditHeadInvalid):
        AuditLog(SQLiteAuditStorage(tmp_path / "other.db"), b"another trail key 0123456789", head_file=head)
    log.close()
    SQLiteAuditStorage(tmp_path / "other.db").close()


_HOSTILE_BODIES = {
    "not json": b"\xff\xfe{",
    "array": b"[1, 2]",
    "wrong format": json.dumps({"format": "x", "version": 1}).encode(),
    "negative seq": json.dumps(
        {"format": "ezhifu-audit-head", "version": 1, "seq": -1, "last_hash": "0" * 64}
    ).encode(),
    "bool seq": json.dumps(
        {"format": "ezhifu-audit-head", "version": 1, "seq": True, "last_hash": "0" * 64}
    ).encode(),
    "huge seq": json.dumps(
        {"format": "ezhifu-audit-head", "version": 1, "seq": 2**80, "last_hash": "0" * 64}
    ).encode(),
    "short hash": json.dumps(
        {"format": "ezhifu-audit-head", "version": 1, "seq": 1, "last_hash": "ab"}
    ).encode(),
    "unknown field": json.dumps(
        {"format": "ezhifu-audit-head", "version": 1, "seq": 1, "last_hash": "0" * 64, "extra": 1}
    ).encode(),
    "bad keystore id": json.dumps(
        {
            "format": "ezhifu-audit-head",
            "version": 1,
            "seq": 1,
            "last_hash": "0" * 64,
            "keystores": {"../x": 1},
        }
    ).encode(),
    "too many keystores": json.dumps(
        {
            "format": "ezhifu-audit-head",
            "version": 1,
            "seq": 1,
            "last_hash": "0" * 64,
            "keystores": {f"k{i}": 1 for i in range(300)},
        }
    ).encode(),
    "deep nesting": b"[" * 100_000,
}


@pytest.mark.parametrize("name", sorted(_HOSTILE_BODIES))
def test_hostile_head_files_are_named_errors(tmp_path: Path, name: str) -> None:
    head = tmp_path / "h.head"
    head.write_bytes(_HOSTILE_BODIES[name][: MAX_HEAD_BYTES - 1])
    head.chmod(0o600)
    with pytest.raises(AuditHeadInvalid, match="invalid audit head"):
        read_head_file(head, KEY)


def test_unsafe_head_files_are_refused_unread(tmp_path: Path) -> None:
    log = _trail(tmp_path / "audit.db", 1)
    head = tmp_path / "audit.db.head"
    head.chmod(0o622)
    with pytest.raises(AuditHeadUnsafe, match="writable by others") as info:
        log.verify()
    assert isinstance(info.value, ConfigurationError)  # exit 2 on the command line
    head.chmod(0o600)
    big = tmp_path / "big.head"
    big.write_bytes(b" " * (MAX_HEAD_BYTES + 1))
    big.chmod(0o600)
    with pytest.raises(AuditHeadUnsafe, match="larger than"):
        read_head_file(big, KEY)
    link = tmp_path / "link.head"
    link.symlink_to(head)
    with pytest.raises(AuditHeadUnsafe, match="not a regular file"):
        read_head_file(link, KEY)
    fifo = tmp_path / "fifo.head"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(AuditHeadUnsafe, match="not a regular file"):
        read_head_file(fifo, KEY)  # would block forever if it were opened
    with pytest.raises(AuditHeadUnsafe, match="no such file"):
        read_heads(tmp_path / "missing", key=KEY, witness_key=None)
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    (open_dir / "w.head").write_bytes(head.read_bytes())
    (open_dir / "w.head").chmod(0o600)
    open_dir.chmod(0o777)
    with pytest.raises(AuditHeadUnsafe, match="directory is writable by others"):
        read_head_file(open_dir / "w.head", KEY)
    open_dir.chmod(0o1777)  # sticky, like /tmp: others cannot replace the file
    assert read_head_file(open_dir / "w.head", KEY) is not None
    open_dir.chmod(0o700)
    log.close()


@pytest.mark.parametrize(
    "line",
    [
        "ezhifu-audit-head v2 seq=1 hash=" + "0" * 64 + " time=- ks=-",
        "ezhifu-audit-head v1 seq=x hash=" + "0" * 64 + " time=- ks=-",
        "ezhifu-audit-head v1 seq=1 hash=" + "0" * 63 + " time=- ks=-",
        "ezhifu-audit-head v1 seq=1 seq=2 hash=" + "0" * 64 + " time=- ks=-",
        "ezhifu-audit-head v1 seq=1 hash=" + "0" * 64 + " time=- ks=abc",
        "ezhifu-audit-head v1 seq=1 hash=" + "0" * 64 + " time=- ks=- evil=1",
        "ezhifu-audit-head v1 seq=1 hash=" + "0" * 64 + " time=-",
        "ezhifu-audit-head v1 seq=" + "9" * 40 + " hash=" + "0" * 64 + " time=- ks=-",
        "ezhifu-audit-head v1 " + "x" * 9000,
    ],
)
def test_hostile_witness_lines(line: str) -> None:
    with pytest.raises(AuditHeadInvalid):
        parse_witness_lines(line, None, "witness")


def test_head_file_never_goes_backwards(tmp_path: Path) -> None:
    """A stale writer (another process that committed earlier) cannot lower the head file."""
    from ezhifu.keystore.audit_head import update_head_file

    head = tmp_path / "x.head"
    update_head_file(head, KEY, seq=5, last_hash="a" * 64, keystore=("ks1", 7))
    update_head_file(head, KEY, seq=3, last_hash="b" * 64, keystore=("ks1", 2))
    record = read_head_file(head, KEY)
    assert record == HeadRecord(5, "a" * 64, "", {"ks1": 7}, str(head), authenticated=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.integers(min_value=1, max_value=12),
    data=st.data(),
)
def test_random_deletions_and_truncations_are_always_caught(
    tmp_path_factory: pytest.TempPathFactory, count: int, data: st.DataObject
) -> None:
    """Whatever rows are deleted (any subset, a suffix, everything), with or without the stored
    head rewound to match, verification against the head file fails."""
    folder = tmp_path_factory.mktemp("hyp")
    log = _trail(folder / "audit.db", count)
    rows = log.entries()
    doomed = data.draw(st.sets(st.integers(min_value=1, max_value=count), min_size=1))
    rewind = data.draw(st.booleans())
    with _db(folder / "audit.db") as db:
        db.executemany("DELETE FROM audit_entry WHERE seq = ?", [(n,) for n in doomed])
        kept = [r for r in rows if r.seq not in doomed]
        if rewind and kept and [r.seq for r in kept] == list(range(1, len(kept) + 1)):
            db.execute("UPDATE audit_head SET count = ?, last_hash = ?", (len(kept), kept[-1].entry_hash))
        elif rewind and not kept:
            db.execute("DELETE FROM audit_head")
    with pytest.raises(AuditTamperedError):
        log.verify()
    log.close()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.builds(lambda t: "ezhifu-audit-head v1 " + t, st.text(max_size=200)))
def test_any_witness_text_is_parsed_or_refused_by_name(text: str) -> None:
    try:
        heads = parse_witness_lines(text, None, "fuzz")
    except AuditHeadInvalid:
        return
    assert all(isinstance(h, HeadRecord) and 0 <= h.seq < 2**63 for h in heads)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000))
def test_any_head_file_bytes_are_parsed_or_refused_by_name(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    head = tmp_path_factory.mktemp("fuzz") / "x.head"
    head.write_bytes(data)
    head.chmod(0o600)
    try:
        read_head_file(head, KEY)
    except AuditHeadInvalid:
        return
    raise AssertionError("random bytes authenticated as a head file")
