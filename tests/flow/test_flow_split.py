"""The library split by job: one mutation path (VoucherStore.apply), inbox, outbox, facade."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flow_support import IDS, Network

from ezhifu.document.positions import PositionTable
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import FlowError, IllegalTransition
from ezhifu.flow.inbox import Inbox
from ezhifu.flow.outbox import Outbox, clip, key_from_json, key_to_json
from ezhifu.flow.status import Action, Record, RecordKey, State
from ezhifu.flow.store import SQLiteStore

FLOW = Path(__file__).resolve().parents[2] / "src" / "ezhifu" / "flow"
#: The store methods that change a record or its history; only VoucherStore.apply calls them.
_MUTATIONS = {"put", "add_history", "save_revision"}


def _key(no: str = "A") -> RecordKey:
    return RecordKey("out", "0", "420000", "2024", "5201", no)


def _record(state: State = State.DRAFT, revision: int = 1) -> Record:
    return Record(key=_key(), state=state, peer="bank", envelope=b"<MOF/>", revision=revision)


def test_apply_new_transition_note_and_silent_update(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "lib.db") as store:
        created = store.apply(_record(), "save", new=True, text=b"rev1")
        assert store.get(_key()) == created
        sent = store.apply(created, Action.SEND, reason="handed over", message_id="m1")
        assert sent.state is State.SENT and sent.reason == "handed over"
        noted = store.apply(sent, "copy", reason="copy to treasury")
        assert noted == sent and store.get(_key()) == sent  # a note changes nothing
        store.apply(Record(_key(), State.SENT, "bank", b"<MOF>signed</MOF>", revision=1), None)
        assert store.get(_key()).envelope == b"<MOF>signed</MOF>"  # type: ignore[union-attr]
        history = [
            (h.action, h.from_state, h.to_state, h.reason, h.message_id) for h in store.history(_key())
        ]
        assert history == [
            ("save", None, "draft", None, None),
            ("send", "draft", "sent", "handed over", "m1"),
            ("copy", "sent", "sent", "copy to treasury", None),
        ]
        assert store.revisions(_key()) == [(1, b"rev1")]


def test_apply_refuses_an_illegal_transition_and_changes_nothing(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "lib.db") as store:
        draft = store.apply(_record(), "save", new=True)
        with pytest.raises(IllegalTransition):
            store.apply(draft, Action.SIGN_IN, text=b"never kept")
        assert store.get(_key()) == draft
        assert [h.action for h in store.history(_key())] == ["save"]
        assert store.revisions(_key()) == []


def test_require_names_the_record_and_library(tmp_path: Path) -> None:
    with (
        SQLiteStore(tmp_path / "lib.db") as store,
        pytest.raises(FlowError, match="not in the library of bank"),
    ):
        store.require(_key("Z"), library="bank")


def test_only_apply_mutates_records() -> None:
    """No module of flow/ calls put/add_history/save_revision except the store itself."""
    offenders = []
    for path in sorted(FLOW.glob("*.py")):
        if path.name == "store.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATIONS
            ):
                offenders.append(f"{path.name}:{node.lineno} .{node.func.attr}(")
    assert offenders == []


def test_library_is_split_by_job(net: Network) -> None:
    fin = net.libs["finance"]
    assert isinstance(fin.inbox, Inbox) and isinstance(fin.outbox, Outbox)
    assert isinstance(fin.stamp_positions, PositionTable)
    for name in ("library.py", "inbox.py", "outbox.py", "store.py", "status.py"):
        assert len((FLOW / name).read_text(encoding="utf-8").splitlines()) <= 600, name


def test_outbox_follows_a_swapped_sealer(net: Network) -> None:
    """Configuration is read at each use: the outbox sees a sealer set after construction."""
    fin = net.libs["finance"]
    calls: list[str] = []
    real = fin.sealer
    assert real is not None

    def counting(body):  # type: ignore[no-untyped-def]
        calls.append(body.voucher_no)
        real(body)

    fin.sealer = counting
    voucher = sample_voucher("5201", details=1, seed=77)
    fin.save(voucher, to="bank")
    assert fin.send("5201", [voucher.voucher_no], **IDS)[voucher.voucher_no][0] == 0
    assert calls == [voucher.voucher_no]


def test_wire_forms_round_trip() -> None:
    key = RecordKey("in", "1", "420000", "2024", "8202", "V-1")
    assert key_from_json(key_to_json(key)) == key
    assert len(clip("错" * 200).encode("gbk")) <= 190
