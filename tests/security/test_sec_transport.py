"""Security review, flow transport: hostile bytes from the network or a shared drop folder.

Findings FLOW-1 (nested JSON crashed the poll loop with ``RecursionError``: a poison message
re-delivered for ever), FLOW-2 (a symbolic link planted in a drop folder was followed) and
FLOW-3 (``ack`` joined an unchecked token into a path) in docs/security-review.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ezhifu.errors import InvalidInput
from ezhifu.flow.library import Party, VoucherLibrary
from ezhifu.flow.store import SQLiteStore
from ezhifu.flow.transport import (
    MAX_MESSAGE_BYTES,
    Delivery,
    DropFolderTransport,
    InMemoryTransport,
    Message,
    new_message_id,
)
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.testing.pki import make_pki

_DEEP = 100_000  # far beyond the interpreter's recursion limit


def test_deeply_nested_json_is_invalid_input_not_recursion_error() -> None:
    with pytest.raises(InvalidInput, match="nested too deeply"):
        Message.from_bytes(b"[" * _DEEP + b"]" * _DEEP)
    with pytest.raises(InvalidInput):
        Message.from_bytes(b'{"a":' * _DEEP + b"1" + b"}" * _DEEP)


def _pair() -> tuple[VoucherLibrary, VoucherLibrary, SoftwareSigner]:
    pki = make_pki("sm2")
    cert_a, key_a = pki.issue_leaf("library A")
    cert_b, key_b = pki.issue_leaf("library B")
    transport = InMemoryTransport()
    trust = TrustStore(roots=[pki.root_cert])
    signer_a = SoftwareSigner(key_a, cert_a)
    a = VoucherLibrary(
        Party("A", "011", "finance"),
        store=SQLiteStore(":memory:"),
        transport=transport,
        trust=trust,
        link_signer=signer_a,
        peers={"B": cert_b},
    )
    b = VoucherLibrary(
        Party("B", "001", "bank"),
        store=SQLiteStore(":memory:"),
        transport=transport,
        trust=trust,
        link_signer=SoftwareSigner(key_b, cert_b),
        peers={"A": cert_a},
    )
    return a, b, signer_a


def test_unauthenticated_nested_message_is_rejected_and_acknowledged() -> None:
    """Before the fix poll() raised RecursionError and never acked: a poison message."""
    _, b, _ = _pair()
    transport = b.transport
    assert isinstance(transport, InMemoryTransport)
    transport.inject("B", b"[" * _DEEP + b"]" * _DEEP)
    outcomes = b.poll()
    assert [o.accepted for o in outcomes] == [False]
    assert "unreadable message" in outcomes[0].detail
    assert transport.pending("B") == 0 and transport.recover("B") == 0  # acknowledged, gone
    assert len(b.rejections()) == 1


def test_authenticated_nested_notice_is_rejected_not_raised() -> None:
    _, b, signer_a = _pair()
    payload = b'{"action":' + b"[" * _DEEP + b"]" * _DEEP + b"}"
    message = Message(new_message_id(), "notice", "A", "B", payload)
    data = message.with_signature(signer_a.sign(message.signed_bytes())).to_bytes()
    outcome = b.receive_bytes(data)
    assert not outcome.accepted
    assert "notice cannot be read" in outcome.detail


_REF = {
    "voucher_flag": "0",
    "adm_div_code": "420000",
    "st_year": "2024",
    "vt_code": "5201",
    "voucher_no": "1",
}


@pytest.mark.parametrize("items", ["not a list", {"a": 1}, [_REF] * 10_001])
def test_authenticated_notice_with_too_many_or_odd_items_is_rejected(items: object) -> None:
    """A notice's item list is bounded (MAX_NOTICE_ITEMS) and must be a list."""
    _, b, signer_a = _pair()
    payload = json.dumps({"action": "delivered", "items": items}).encode()
    message = Message(new_message_id(), "notice", "A", "B", payload)
    data = message.with_signature(signer_a.sign(message.signed_bytes())).to_bytes()
    outcome = b.receive_bytes(data)
    assert not outcome.accepted
    assert "notice cannot be read" in outcome.detail


def _send(transport: DropFolderTransport) -> None:
    transport.send(Message(new_message_id(), "notice", "A", "B", json.dumps({"x": 1}).encode()))


def test_drop_folder_does_not_follow_planted_symlinks(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"local secret, not a message")
    root = tmp_path / "drop"
    root.mkdir()
    transport = DropFolderTransport(root)
    _send(transport)  # creates the folders and one genuine message
    inbox = root / "B" / "inbox"
    os.symlink(secret, inbox / "00000000000000000000-planted.msg")
    deliveries = transport.receive("B")
    assert len(deliveries) == 2
    planted = next(d for d in deliveries if "planted" in d.token)
    assert planted.data == b""  # the link's target was not read
    genuine = next(d for d in deliveries if "planted" not in d.token)
    assert Message.from_bytes(genuine.data).recipient == "B"  # positive control
    for delivery in deliveries:
        transport.ack(delivery)
    assert transport.stage_files("B", "processing") == []
    assert secret.read_bytes() == b"local secret, not a message"


def test_drop_folder_reads_at_most_the_message_limit(tmp_path: Path) -> None:
    root = tmp_path / "drop"
    root.mkdir()
    transport = DropFolderTransport(root)
    _send(transport)
    big = root / "B" / "inbox" / "99999999999999999999-big.msg"
    with open(big, "wb") as handle:
        handle.truncate(MAX_MESSAGE_BYTES + 4096)  # sparse: cheap on disk
    deliveries = transport.receive("B")
    sizes = sorted(len(d.data) for d in deliveries)
    assert sizes[-1] == MAX_MESSAGE_BYTES + 1
    with pytest.raises(InvalidInput, match="exceeds the limit"):
        Message.from_bytes(next(d.data for d in deliveries if "big" in d.token))


@pytest.mark.parametrize("token", ["../../x.msg", "../inbox/a.msg", "/etc/passwd", ".hidden.msg", "a/b.msg"])
def test_drop_folder_ack_refuses_path_tokens(tmp_path: Path, token: str) -> None:
    root = tmp_path / "drop"
    root.mkdir()
    victim = tmp_path / "x.msg"
    victim.write_bytes(b"keep me")
    transport = DropFolderTransport(root)
    with pytest.raises(InvalidInput, match="delivery token"):
        transport.ack(Delivery("B", b"", token))
    assert victim.read_bytes() == b"keep me"


@pytest.mark.parametrize("party", ["..", "../B", "a/b", ".", "", "a\x00b", "x" * 200])
def test_party_and_message_ids_cannot_name_paths(tmp_path: Path, party: str) -> None:
    transport = DropFolderTransport(tmp_path)
    with pytest.raises(InvalidInput):
        transport.receive(party)
    with pytest.raises(InvalidInput):
        Message(new_message_id(), "notice", "A", party, b"")
    with pytest.raises(InvalidInput):
        Message(party, "notice", "A", "B", b"")


def test_voucher_and_audit_databases_are_private(tmp_path: Path) -> None:
    """SQLite creates new databases with the umask (0644 here): vouchers carry account numbers
    and the audit trail who used which key, so both are created 0600, and SQLite gives its
    -wal/-shm files the database's mode (finding FILE-1)."""
    import stat

    from ezhifu.keystore.audit import AuditLog

    old = os.umask(0o022)
    try:
        store = SQLiteStore(tmp_path / "party.db")
        store.mark_seen("m1", "accepted")
        log = AuditLog(tmp_path / "audit.db", b"k" * 32)
        log.record("sign", "ok")
    finally:
        os.umask(old)
    try:
        files = sorted(p for p in tmp_path.iterdir() if p.name.startswith(("party.db", "audit.db")))
        assert {p.name for p in files} >= {"party.db", "audit.db", "party.db-wal", "audit.db-wal"}
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    finally:
        store.close()
        log.close()


def test_drop_folder_ignores_names_it_would_not_make(tmp_path: Path) -> None:
    """A planted file whose name send() never makes is left alone: it cannot reach ack() (which
    refuses such tokens) and so cannot wedge the consumer."""
    root = tmp_path / "drop"
    root.mkdir()
    transport = DropFolderTransport(root)
    _send(transport)
    inbox = root / "B" / "inbox"
    for name in ("bad name.msg", "\u00e9.msg", ".hidden.msg", "x.msg.tmp"):
        (inbox / name).write_bytes(b"junk")
    deliveries = transport.receive("B")
    assert len(deliveries) == 1 and Message.from_bytes(deliveries[0].data).sender == "A"
    transport.ack(deliveries[0])
    assert sorted(p.name for p in inbox.iterdir()) == sorted(
        ["bad name.msg", "\u00e9.msg", ".hidden.msg", "x.msg.tmp"]
    )
