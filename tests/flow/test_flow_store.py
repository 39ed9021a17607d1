"""The SQLite store: round trips, transactions, and survival of a process killed mid-transaction."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ezhifu.flow.status import RecordKey, State
from ezhifu.flow.store import (
    OutboxItem,
    Record,
    Rejection,
    SQLiteStore,
    StoreError,
    schema_statements,
    utc_now,
)


def _key(no: str, direction: str = "out") -> RecordKey:
    return RecordKey("out" if direction == "out" else "in", "0", "420000", "2024", "5201", no)


def _record(no: str, state: State = State.DRAFT, **kw: str) -> Record:
    return Record(key=_key(no), state=state, peer="bank", envelope=b"<MOF/>" + no.encode(), **kw)  # type: ignore[arg-type]


def test_record_round_trip_and_update(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "lib.db") as store:
        stored = store.put(_record("A", amount="12.50", vou_date="20240501", payee_acct_no="622"))
        assert stored.created_at and stored.updated_at
        got = store.get(_key("A"))
        assert got == stored
        store.put(Record(_key("A"), State.SENT, "bank", b"signed", amount="12.50"))
        again = store.get(_key("A"))
        assert again is not None
        assert again.state is State.SENT and again.envelope == b"signed"
        assert again.created_at == stored.created_at  # creation time kept
        assert store.get(_key("B")) is None


def test_find_filters(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "lib.db") as store:
        store.put(_record("A", vou_date="20240501"))
        store.put(_record("B", State.SENT, vou_date="20240502"))
        store.put(_record("C", State.SENT, vou_date="20240510"))
        assert [r.key.voucher_no for r in store.find(states=[State.SENT])] == ["B", "C"]
        assert [r.key.voucher_no for r in store.find(date_from="20240502", date_to="20240505")] == ["B"]
        assert [r.key.voucher_no for r in store.find(limit=1)] == ["A"]
        assert store.find(states=[]) == []
        assert store.find(direction="in") == []


def test_history_sequence_and_transaction_rollback(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "lib.db") as store:
        store.put(_record("A"))
        store.add_history(_key("A"), revision=1, action="save", from_state=None, to_state=State.DRAFT)
        with pytest.raises(RuntimeError), store.transaction():
            store.put(_record("A", State.SENT))
            store.add_history(
                _key("A"), revision=1, action="send", from_state=State.DRAFT, to_state=State.SENT
            )
            raise RuntimeError("crash inside the operation")
        record = store.get(_key("A"))
        assert record is not None and record.state is State.DRAFT
        assert [h.action for h in store.history(_key("A"))] == ["save"]
        entry = store.add_history(
            _key("A"), revision=1, action="send", from_state=State.DRAFT, to_state=State.SENT
        )
        assert entry.seq == 2


def test_seen_rejections_outbox_revisions(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "lib.db") as store:
        assert store.mark_seen("m1", "accepted") is True
        assert store.mark_seen("m1", "accepted") is False  # idempotent
        assert store.seen("m1") == "accepted" and store.seen("m2") is None
        assert store.mark_seen("m1", "rejected: x") is False and store.seen("m1") == "accepted"
        store.mark_seen("m1", "accepted after replay", replace=True)
        assert store.seen("m1") == "accepted after replay"
        store.add_rejection(Rejection("r1", "m9", "bank", "envelope", "bad signature", b"raw", utc_now()))
        [rej] = store.rejections(message_id="m9")
        assert rej.reason == "bad signature" and rej.raw == b"raw"
        store.outbox_put(OutboxItem("o1", "message", "bank", b"data", utc_now()))
        store.outbox_failed("o1", "link down")
        [item] = store.outbox_items()
        assert item.attempts == 1 and item.last_error == "link down"
        store.outbox_remove("o1")
        assert store.outbox_items() == []
        store.save_revision(_key("A"), 1, b"one")
        store.save_revision(_key("A"), 1, b"other")  # first text of a revision is kept
        store.save_revision(_key("A"), 2, b"two")
        assert store.revisions(_key("A")) == [(1, b"one"), (2, b"two")]


def test_wal_mode_and_schema_dialects(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "lib.db") as store:
        assert store._exec("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._exec("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with SQLiteStore(tmp_path / "lib.db", durability="normal") as store:
        assert store._exec("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    pg = schema_statements("postgresql")
    assert all("BLOB" not in s for s in pg) and any("BYTEA" in s for s in pg)
    assert all("AUTOINCREMENT" not in s for s in schema_statements("sqlite"))


def test_unopenable_store_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        SQLiteStore(tmp_path / "missing-dir" / "lib.db")
    with pytest.raises(StoreError, match="durability"):
        SQLiteStore(tmp_path / "lib.db", durability="none")  # type: ignore[arg-type]


_WRITER = textwrap.dedent(
    """
    import sys, time
    from ezhifu.flow.status import RecordKey, State
    from ezhifu.flow.store import Record, SQLiteStore

    store = SQLiteStore(sys.argv[1], durability=sys.argv[4])
    def key(no):
        return RecordKey("out", "0", "420000", "2024", "5201", no)
    def save(no):
        store.add_history(key(no), revision=1, action="save", from_state=None, to_state=State.DRAFT)
    for i in range(int(sys.argv[2])):
        with store.transaction():
            store.put(Record(key(f"C{i}"), State.DRAFT, "bank", b"x" * 2000))
            save(f"C{i}")
    if sys.argv[3] == "hang-in-transaction":
        with store.transaction():
            store.put(Record(key("PARTIAL"), State.DRAFT, "bank", b"y" * 2000))
            print("in-transaction", flush=True)
            time.sleep(60)  # killed here, before the history entry and the commit
            save("PARTIAL")
    else:
        print("looping", flush=True)
        i = 0
        while True:
            with store.transaction():
                store.put(Record(key(f"L{i}"), State.DRAFT, "bank", b"z" * 4000))
                save(f"L{i}")
            i += 1
    """
)


def _committed_rows(db: Path) -> int:
    """Records committed so far, read through a second connection (WAL allows it)."""
    reader = sqlite3.connect(db, timeout=5)
    try:
        return int(reader.execute("SELECT COUNT(*) FROM records").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # schema not created yet
    finally:
        reader.close()


def _run_and_kill(
    db: Path, committed: int, mode: str, *, wait_for_rows: int = 0, durability: str = "full"
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db), str(committed), mode, durability],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        assert line in ("in-transaction", "looping"), proc.stderr.read().decode() if proc.stderr else line
        deadline = time.monotonic() + 30
        # kill in the middle of the stream, once it has committed a few (no timing assumptions)
        while wait_for_rows and _committed_rows(db) < wait_for_rows and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_survives_sigkill_inside_a_transaction(tmp_path: Path, durability: str) -> None:
    db = tmp_path / "killed.db"
    _run_and_kill(db, 5, "hang-in-transaction", durability=durability)
    # The WAL and the file are left as the killed process had them; reopening recovers.
    with SQLiteStore(db) as store:
        assert store.integrity_check() == "ok"
        assert store.get(RecordKey("out", "0", "420000", "2024", "5201", "PARTIAL")) is None
        records = store.find()
        assert sorted(r.key.voucher_no for r in records) == [f"C{i}" for i in range(5)]
        for record in records:
            assert [h.action for h in store.history(record.key)] == ["save"]
        # and the store is fully usable afterwards
        store.put(_record("AFTER"))
        assert store.get(_key("AFTER")) is not None


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_survives_sigkill_during_a_stream_of_transactions(tmp_path: Path, durability: str) -> None:
    db = tmp_path / "stream.db"
    _run_and_kill(db, 0, "loop", wait_for_rows=20, durability=durability)
    with SQLiteStore(db) as store:
        assert store.integrity_check() == "ok"
        records = store.find()
        assert len(records) >= 20, "the writer was killed before committing 20 operations"
        # every committed operation is whole: each record has exactly its one history entry
        for record in records:
            assert len(store.history(record.key)) == 1
        numbers = sorted(int(r.key.voucher_no[1:]) for r in records)
        assert numbers == list(range(len(numbers)))  # no gap: commits are in order
