"""Transports: message format, in-memory and drop-folder delivery, atomic moves, at-least-once."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.errors import InvalidInput, TransportError
from ezhifu.flow.transport import DropFolderTransport, InMemoryTransport, Message, new_message_id


def _message(payload: bytes = b"<MOF/>", recipient: str = "bank") -> Message:
    return Message(
        new_message_id(), "envelope", "finance", recipient, payload, created_at="2024-05-01T00:00:00"
    )


@settings(deadline=None)  # no timing in tests; CI machines are shared
@given(
    payload=st.binary(max_size=300),
    attachments=st.lists(st.binary(max_size=50), max_size=3),
    signature=st.none() | st.binary(min_size=1, max_size=80),
    kind=st.sampled_from(["envelope", "notice"]),
)
def test_message_round_trip(
    payload: bytes, attachments: list[bytes], signature: bytes | None, kind: str
) -> None:
    message = Message(
        new_message_id(),
        "envelope" if kind == "envelope" else "notice",
        "pbc",
        "finance",
        payload,
        tuple(attachments),
        "t",
        signature,
    )
    again = Message.from_bytes(message.to_bytes())
    assert again == message and again.signature == signature
    assert again.signed_bytes() == message.signed_bytes()


def test_signed_bytes_cover_everything_but_the_signature() -> None:
    message = _message()
    base = message.signed_bytes()
    assert message.with_signature(b"sig").signed_bytes() == base
    for changed in (
        Message(
            message.message_id, "envelope", "finance", "bank", b"<MOF>x</MOF>", created_at=message.created_at
        ),
        Message(
            message.message_id, "envelope", "finance", "pbc", message.payload, created_at=message.created_at
        ),
        Message(
            message.message_id, "notice", "finance", "bank", message.payload, created_at=message.created_at
        ),
        Message(
            message.message_id, "envelope", "finance", "bank", message.payload, (b"a",), message.created_at
        ),
    ):
        assert changed.signed_bytes() != base


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\xff\xfe", "UTF-8 JSON"),
        (b"[]", "not an ezhifu-flow/1"),
        (b'{"format": "ezhifu-flow/1", "id": "a", "kind": "mail"}', "kind"),
        (
            b'{"format":"ezhifu-flow/1","id":"a","kind":"notice","sender":"x","recipient":"y",'
            b'"created_at":"","payload":"%%%"}',
            "Base64",
        ),
        (
            b'{"format":"ezhifu-flow/1","id":"../etc","kind":"notice","sender":"x","recipient":"y",'
            b'"created_at":"","payload":""}',
            "identifier",
        ),
    ],
)
def test_bad_messages_are_invalid_input(data: bytes, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        Message.from_bytes(data)


def test_message_size_limit() -> None:
    with pytest.raises(InvalidInput, match="exceeds"):
        Message.from_bytes(b"x" * 100, max_bytes=10)


def test_in_memory_at_least_once_and_link_down() -> None:
    transport = InMemoryTransport()
    first, second = _message(b"1"), _message(b"2")
    transport.send(first)
    transport.send(second)
    taken = transport.receive("bank", limit=1)
    assert [Message.from_bytes(d.data) for d in taken] == [first]
    # the consumer dies before acknowledging: recover puts it back in front
    assert transport.recover("bank") == 1
    again = transport.receive("bank")
    assert [Message.from_bytes(d.data).payload for d in again] == [b"1", b"2"]
    for delivery in again:
        transport.ack(delivery)
    assert transport.recover("bank") == 0 and transport.pending("bank") == 0
    transport.link_up = False
    with pytest.raises(TransportError, match="link down"):
        transport.send(first)


def test_drop_folder_atomic_moves(tmp_path: Path) -> None:
    transport = DropFolderTransport(tmp_path)
    message = _message(b"payload")
    transport.send(message)
    assert transport.stage_files("bank", "tmp") == []  # nothing half-written is left behind
    [name] = transport.stage_files("bank", "inbox")
    assert name.endswith(".msg") and message.message_id in name
    [delivery] = transport.receive("bank")
    assert transport.stage_files("bank", "inbox") == []
    assert transport.stage_files("bank", "processing") == [name]
    assert Message.from_bytes(delivery.data) == message
    transport.ack(delivery)
    assert transport.stage_files("bank", "processing") == []
    assert transport.stage_files("bank", "done") == [name]
    transport.ack(delivery)  # acknowledging twice is harmless


def test_drop_folder_ignores_partial_files_in_tmp(tmp_path: Path) -> None:
    transport = DropFolderTransport(tmp_path)
    transport.send(_message(b"whole"))
    # a sender that crashed mid-write leaves its file in tmp, where no consumer looks
    (tmp_path / "bank" / "tmp" / "00000000000000000001-crashed.msg").write_bytes(b'{"format": "ezh')
    deliveries = transport.receive("bank")
    assert [Message.from_bytes(d.data).payload for d in deliveries] == [b"whole"]


def test_drop_folder_redelivers_after_consumer_crash(tmp_path: Path) -> None:
    transport = DropFolderTransport(tmp_path)
    message = _message(b"again")
    transport.send(message)
    [taken] = transport.receive("bank")  # consumer claims it, then dies without ack
    restarted = DropFolderTransport(tmp_path)
    assert restarted.receive("bank") == []  # claimed files are not handed out twice at once
    assert restarted.recover("bank") == 1
    [again] = restarted.receive("bank")
    assert again.data == taken.data
    restarted.ack(again)
    assert restarted.stage_files("bank", "processing") == []


def test_drop_folder_competing_consumers_take_each_file_once(tmp_path: Path) -> None:
    producer = DropFolderTransport(tmp_path)
    sent = [_message(str(i).encode()) for i in range(20)]
    for message in sent:
        producer.send(message)
    a, b = DropFolderTransport(tmp_path), DropFolderTransport(tmp_path)
    got: list[bytes] = []
    while True:
        batch = a.receive("bank", limit=3) + b.receive("bank", limit=2)
        if not batch:
            break
        got.extend(d.data for d in batch)
    assert sorted(got) == sorted(m.to_bytes() for m in sent)


def test_drop_folder_same_message_twice_is_two_files(tmp_path: Path) -> None:
    transport = DropFolderTransport(tmp_path)
    message = _message()
    transport.send(message)
    transport.send(message)  # at-least-once: the library drops the duplicate by message id
    assert len(transport.stage_files("bank", "inbox")) == 2


def test_drop_folder_link_down(tmp_path: Path) -> None:
    transport = DropFolderTransport(tmp_path / "unmounted-share")
    with pytest.raises(TransportError, match="not available"):
        transport.send(_message())
    with pytest.raises(TransportError):
        transport.receive("bank")


def test_drop_folder_broken_stage_is_a_transport_error(tmp_path: Path) -> None:
    # a file where the party's stage folder should be (works as root too, unlike chmod)
    (tmp_path / "bank").mkdir()
    (tmp_path / "bank" / "tmp").write_bytes(b"not a folder")
    with pytest.raises(TransportError, match="cannot prepare stages"):
        DropFolderTransport(tmp_path).send(_message())
