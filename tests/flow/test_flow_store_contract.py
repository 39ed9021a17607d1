"""The store interface, run against both stores: SQLite (default) and a real PostgreSQL server.

PostgreSQL-only: migrations applied once (also by two stores opening together), and outbox
claiming with ``FOR UPDATE SKIP LOCKED``: two stores on one database never get the same item,
and an item whose claimer died is claimed again when its lease has run out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ezhifu.flow import store_postgres
from ezhifu.flow.status import RecordKey, State
from ezhifu.flow.store import OutboxItem, Record, Rejection, SQLiteStore, VoucherStore, utc_now
from ezhifu.flow.store_postgres import MIGRATIONS, PostgresStore


def _key(no: str) -> RecordKey:
    return RecordKey("out", "0", "420000", "2024", "5201", no)


def _record(no: str, state: State = State.DRAFT, **kw: str) -> Record:
    return Record(key=_key(no), state=state, peer="bank", envelope=b"<MOF/>" + no.encode(), **kw)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VoucherStore]:
    if request.param == "sqlite":
        opened: VoucherStore = SQLiteStore(tmp_path / "lib.db")
    else:
        opened = PostgresStore(request.getfixturevalue("postgres_dsn"))
    with opened:
        yield opened


def test_record_round_trip_update_and_find(store: VoucherStore) -> None:
    stored = store.put(_record("A", amount="12.50", vou_date="20240501", payee_acct_no="622"))
    assert store.get(_key("A")) == stored
    store.put(Record(_key("A"), State.SENT, "bank", b"signed\x00\xff", amount="12.50"))
    again = store.get(_key("A"))
    assert again is not None and again.state is State.SENT and again.envelope == b"signed\x00\xff"
    assert again.created_at == stored.created_at
    assert store.get(_key("B")) is None
    store.put(_record("B", State.SENT, vou_date="20240502"))
    store.put(_record("C", State.SENT, vou_date="20240510"))
    assert [r.key.voucher_no for r in store.find(states=[State.SENT], date_from="20240502")] == ["B", "C"]
    assert [r.key.voucher_no for r in store.find(date_from="20240502", date_to="20240505")] == ["B"]
    assert len(store.find(limit=1)) == 1
    assert store.find(states=[]) == [] and store.find(direction="in") == []


def test_find_filters_by_payee_and_refuses_a_filter_it_does_not_know(store: VoucherStore) -> None:
    store.put(_record("A", payee_acct_no="622"))
    store.put(_record("B", payee_acct_no="621"))
    assert [r.key.voucher_no for r in store.find(payee_acct_no="622", vt_code="5201")] == ["A"]
    assert store.find(voucher_flag="1") == [] and len(store.find(adm_div_code="420000", st_year="2024")) == 2
    with pytest.raises(TypeError, match="vtcode"):  # a misspelt filter is an error, not "no filter"
        store.find(vtcode="5202")  # type: ignore[call-arg]


def test_history_and_rollback(store: VoucherStore) -> None:
    store.put(_record("A"))
    store.add_history(_key("A"), revision=1, action="save", from_state=None, to_state=State.DRAFT)
    with pytest.raises(RuntimeError), store.transaction():
        store.put(_record("A", State.SENT))
        store.add_history(_key("A"), revision=1, action="send", from_state=State.DRAFT, to_state=State.SENT)
        raise RuntimeError("crash inside the operation")
    record = store.get(_key("A"))
    assert record is not None and record.state is State.DRAFT
    assert [h.action for h in store.history(_key("A"))] == ["save"]
    assert store.add_history(_key("A"), revision=1, action="x", from_state=None, to_state=State.SENT).seq == 2


def test_seen_rejections_outbox_revisions(store: VoucherStore) -> None:
    assert store.mark_seen("m1", "accepted") is True
    assert store.mark_seen("m1", "accepted") is False
    assert store.seen("m1") == "accepted" and store.seen("m2") is None
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
    store.save_revision(_key("A"), 1, b"other")
    store.save_revision(_key("A"), 2, b"two")
    assert store.revisions(_key("A")) == [(1, b"one"), (2, b"two")]


def test_hostile_values_are_bound_not_interpolated(store: VoucherStore) -> None:
    no = "A'; DROP TABLE records; -- ? %s"
    store.put(_record(no))
    got = store.get(_key(no))
    assert got is not None and got.key.voucher_no == no
    assert store.seen("x' OR '1'='1") is None


def test_migrations_run_once_even_when_stores_open_together(postgres_dsn: str) -> None:
    stores: list[PostgresStore] = []
    threads = [threading.Thread(target=lambda: stores.append(PostgresStore(postgres_dsn))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len(stores) == 3
        for s in stores:
            assert s.migrations() == sorted(MIGRATIONS)
            assert s.integrity_check() == "ok"
    finally:
        for s in stores:
            s.close()


def test_two_stores_never_claim_the_same_outbox_item(postgres_dsn: str) -> None:
    with PostgresStore(postgres_dsn) as seed:
        for i in range(200):
            seed.outbox_put(OutboxItem(f"o{i:03d}", "message", "bank", b"m", utc_now()))
    a, b = PostgresStore(postgres_dsn), PostgresStore(postgres_dsn)
    got: dict[str, list[str]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def drain(name: str, s: PostgresStore) -> None:
        barrier.wait()
        for _ in range(50):
            for item in s.outbox_items():
                got[name].append(item.item_id)
                s.outbox_remove(item.item_id)

    try:
        threads = [threading.Thread(target=drain, args=(n, s)) for n, s in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not set(got["a"]) & set(got["b"])
        assert sorted(got["a"] + got["b"]) == [f"o{i:03d}" for i in range(200)]
    finally:
        a.close()
        b.close()


def test_a_dead_claimers_items_are_claimed_after_the_lease(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PostgresStore(postgres_dsn) as first, PostgresStore(postgres_dsn) as second:
        first.outbox_put(OutboxItem("o1", "message", "bank", b"m", utc_now()))
        assert [i.item_id for i in first.outbox_items()] == ["o1"]
        assert second.outbox_items() == []  # claimed by the first
        assert [i.item_id for i in first.outbox_items()] == ["o1"]  # the claimer sees its own
        monkeypatch.setattr(store_postgres, "CLAIM_SECONDS", -1.0)  # the first dies; its lease runs out
        assert [i.item_id for i in first.outbox_items()] == ["o1"]  # renewed with an expired lease
        assert [i.item_id for i in second.outbox_items()] == ["o1"]
