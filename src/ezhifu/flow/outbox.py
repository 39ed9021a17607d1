"""The outbox of a voucher library: what it sends, signs on the way out, and retries.

Outgoing messages go through the store's outbox in the same transaction as the state change
(transactional outbox): if the link is down (:class:`~ezhifu.errors.TransportError`) or the
process dies before the hand-over, they are sent by the next :meth:`Outbox.flush`. The link
signature is added when a message is flushed, so a state change never fails because the link
key is unavailable. If the keystore is down when a voucher is to be signed, the send itself is
queued (应急, spec.md §8.3) and the next flush signs and sends it.

Also here: the wire form of a record reference (:func:`key_to_json` / :func:`key_from_json`)
and of a reason (:func:`clip`, S2's 190 GBK bytes), which the inbox reads back.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from ezhifu.document.envelope import VoucherBody
from ezhifu.errors import EzhifuError, InvalidInput, KeyStoreError, SigningError, TransportError
from ezhifu.flow.hooks import VoucherHook, run_hooks
from ezhifu.flow.status import (
    Action,
    OutboxItem,
    Party,
    Record,
    RecordKey,
    State,
    held_body,
    one_body_envelope,
    transition,
    utc_now,
)
from ezhifu.flow.store import VoucherStore
from ezhifu.flow.transport import Message, Transport, new_message_id

if TYPE_CHECKING:
    from ezhifu.crypto.base import Signer

__all__ = [
    "MAX_REASON_BYTES",
    "LibraryOwner",
    "LibraryPart",
    "Outbox",
    "OutboxOwner",
    "Sealer",
    "clip",
    "key_from_json",
    "key_to_json",
]

#: S2 truncates sign-in failure messages to about 190 bytes; reasons are cut to this many GBK bytes.
MAX_REASON_BYTES = 190
#: Most outbox items one flush pass looks at (the rest wait for the next pass of the same flush).
MAX_FLUSH_PASSES = 10_000

_LOG = logging.getLogger("ezhifu.flow")

#: Applies this party's signatures and seals to a body (appends to ``signatures``/``stamps``).
Sealer = Callable[[VoucherBody], None]


class LibraryOwner(Protocol):
    """What every part of a library reads of it: the party it is and the store it keeps."""

    party: Party
    store: VoucherStore


_Owner = TypeVar("_Owner", bound=LibraryOwner)


class LibraryPart(Generic[_Owner]):
    """One job of a voucher library (its :class:`Outbox`, its :class:`~ezhifu.flow.inbox.Inbox`),
    reading what it needs of the library, its owner, at each use: configuration may change."""

    def __init__(self, owner: _Owner) -> None:
        self._owner = owner

    @property
    def _store(self) -> VoucherStore:
        return self._owner.store


class OutboxOwner(LibraryOwner, Protocol):
    """What the outbox reads of its library (read at each use: an operator may swap a key)."""

    transport: Transport
    link_signer: Signer
    sealer: Sealer | None
    hooks: tuple[VoucherHook, ...]


def clip(reason: str) -> str:
    """A reason cut to :data:`MAX_REASON_BYTES` GBK bytes (S2 limit), on a character boundary."""
    data = reason.encode("gbk", errors="replace")
    if len(data) <= MAX_REASON_BYTES:
        return reason
    return data[:MAX_REASON_BYTES].decode("gbk", errors="ignore")


def key_to_json(key: RecordKey) -> dict[str, str]:
    """A record reference as it travels in a notice or a queued send."""
    return {
        "voucher_flag": key.voucher_flag,
        "adm_div_code": key.adm_div_code,
        "st_year": key.st_year,
        "vt_code": key.vt_code,
        "voucher_no": key.voucher_no,
        "direction": key.direction,
    }


def key_from_json(data: Mapping[str, Any]) -> RecordKey:
    """The record reference of :func:`key_to_json`; :class:`InvalidInput` naming what lacks."""
    try:
        values = [str(data[n]) for n in ("voucher_flag", "adm_div_code", "st_year", "vt_code", "voucher_no")]
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"voucher reference lacks {exc}") from exc
    if values[0] not in ("0", "1"):
        raise InvalidInput(f"voucher reference has VoucherFlag {values[0]!r}")
    flag, adm_div_code, st_year, vt_code, voucher_no = values
    return RecordKey(
        "in" if data.get("direction") == "in" else "out", flag, adm_div_code, st_year, vt_code, voucher_no
    )


class Outbox(LibraryPart[OutboxOwner]):
    """Delivery for one library: queue, notify, send (signing first), flush and retry."""

    # --- queueing (inside the caller's transaction) -------------------------------------------

    def queue(self, kind: str, recipient: str, payload: bytes, *, attachments: tuple[bytes, ...] = ()) -> str:
        """Put a message in the outbox; the link signature is added when it is flushed."""
        message = Message(
            message_id=new_message_id(),
            kind="envelope" if kind == "envelope" else "notice",
            sender=self._owner.party.party_id,
            recipient=recipient,
            payload=payload,
            attachments=attachments,
            created_at=utc_now(),
        )
        self._store.outbox_put(
            OutboxItem(message.message_id, "message", recipient, message.to_bytes(), utc_now())
        )
        return message.message_id

    def notify(self, recipient: str, action: str, items: Sequence[tuple[RecordKey, str | None]]) -> None:
        """Queue a notice (delivered, signed in, returned …) about ``items`` for ``recipient``."""
        payload = {
            "action": action,
            "items": [
                dict(key_to_json(key), reason=clip(reason) if reason else None) for key, reason in items
            ],
        }
        self.queue(
            "notice", recipient, json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        )

    # --- sending a record ---------------------------------------------------------------------

    def sign_if_needed(self, body: VoucherBody, key: RecordKey) -> None:
        """Apply the library's sealer to an unsigned body (signed bodies are left as they are)."""
        if body.signatures or body.stamps:
            return
        sealer = self._owner.sealer
        if sealer is None:
            raise SigningError(f"{key}: the voucher is not signed and this library has no sealer")
        sealer(body)

    def send(self, key: RecordKey, *, copies: tuple[str, ...] = ()) -> None:
        """Sign (if needed) and queue the record ``key``; a receipt also goes to ``copies`` with
        its original. With the keystore down, the send itself is queued (应急)."""
        record = self._require(key)
        transition(key, record.state, Action.SEND)  # IllegalTransition before any signing
        body = held_body(record.envelope)
        if record.state is State.DRAFT:
            run_hooks(self._owner.hooks, "pre_sign", key, body)  # HookRefused reaches the caller
        try:
            self.sign_if_needed(body, key)
        except (KeyStoreError, SigningError) as exc:
            if self._owner.sealer is None:
                raise
            self._defer(record, copies, exc)
            return
        envelope = one_body_envelope(body)
        with self._store.transaction():
            record = self._require(key)
            # The text of each revision as it left this library (a re-transmission is the same).
            updated = self._store.apply(replace(record, envelope=envelope), Action.SEND, text=envelope)
            self.queue("envelope", updated.peer, envelope)
            if key.voucher_flag == "1" and updated.original is not None:
                self._receipt_sent(updated, envelope, copies)

    def _receipt_sent(self, receipt: Record, envelope: bytes, copies: tuple[str, ...]) -> None:
        """The answered voucher becomes RECEIPTED; copies go out with the original attached."""
        in_key = replace(receipt.key, direction="in", voucher_flag="0")
        answered = self._require(in_key)
        if answered.state is not State.RECEIPTED:  # a redone or finished receipt finds it done
            self._store.apply(answered, Action.RECEIPT, reason=f"receipt sent to {receipt.peer}")
        for party in copies:
            self.queue("envelope", party, envelope, attachments=(receipt.original or b"",))
            self._store.apply(receipt, "copy", reason=f"copy sent to {party} with the original voucher")

    def _defer(self, record: Record, copies: tuple[str, ...], exc: EzhifuError) -> None:
        """应急: the keystore is unavailable; keep the draft and queue the send itself."""
        with self._store.transaction():
            item = {"key": key_to_json(record.key), "copies": list(copies)}
            self._store.outbox_put(
                OutboxItem(
                    f"send-{uuid.uuid4().hex}",
                    "send",
                    record.peer,
                    json.dumps(item).encode("utf-8"),
                    utc_now(),
                )
            )
            self._store.apply(
                record,
                "send-deferred",
                reason=f"signing unavailable, send queued: {type(exc).__name__}: {exc}",
            )

    # --- flushing -----------------------------------------------------------------------------

    def flush(self) -> int:
        """Send what is queued; a peer whose link fails is skipped (its messages kept, in order,
        for the next flush) and the others go on; only an unavailable link key stops it all.

        Returns how many messages were handed to the transport. Deferred sends (keystore down)
        are signed and turned into messages first, which are then sent in the same call.
        """
        total = 0
        for _ in range(MAX_FLUSH_PASSES):
            sent, progressed = self._flush_once()
            total += sent
            if not progressed:
                break
        return total

    def pending(self) -> list[OutboxItem]:
        return self._store.outbox_items()

    def _flush_once(self) -> tuple[int, bool]:
        sent = 0
        progressed = False
        blocked: set[str] = set()  # peers whose link failed in this pass: their order is kept
        for item in self._store.outbox_items():
            if item.recipient in blocked:
                continue
            if item.kind == "send":
                progressed = self._run_deferred(item) or progressed
                continue
            outcome = self._deliver(item)
            if outcome == "stop":
                return sent, False
            if outcome == "peer":
                # one dead partner must not block the others (issue 16): skip only its messages
                blocked.add(item.recipient)
                continue
            sent += 1
        return sent, progressed

    def _run_deferred(self, item: OutboxItem) -> bool:
        """Sign and send a queued send; ``True`` when it went out (new messages to flush)."""
        data = json.loads(item.data.decode("utf-8"))
        key = key_from_json(data["key"])
        record = self._store.get(key)
        if record is None or record.state is not State.DRAFT:
            self._store.outbox_remove(item.item_id)
            return False
        body = held_body(record.envelope)
        try:
            self.sign_if_needed(body, key)
        except (KeyStoreError, SigningError) as exc:
            self._store.outbox_failed(item.item_id, f"{type(exc).__name__}: {exc}")
            return False
        with self._store.transaction():
            self._store.apply(replace(record, envelope=one_body_envelope(body)), None)
            self._store.outbox_remove(item.item_id)
        self.send(key, copies=tuple(data.get("copies", ())))
        return True

    def _deliver(self, item: OutboxItem) -> Literal["sent", "peer", "stop"]:
        """Link-sign and hand one message to the transport: ``"sent"``; ``"peer"`` when the
        link to its recipient failed; ``"stop"`` when nothing can go (the link key is down)."""
        message = Message.from_bytes(item.data)
        try:
            signature = self._owner.link_signer.sign(message.signed_bytes())
        except EzhifuError as exc:
            # the link key is unavailable: everything waits (all messages need it)
            self._store.outbox_failed(item.item_id, f"link signature: {type(exc).__name__}: {exc}")
            return "stop"
        try:
            self._owner.transport.send(message.with_signature(signature))
        except TransportError as exc:
            self._store.outbox_failed(item.item_id, str(exc))
            _LOG.warning("delivery to %s failed, kept in the outbox: %s", item.recipient, exc)
            return "peer"
        self._store.outbox_remove(item.item_id)
        return "sent"

    def _require(self, key: RecordKey) -> Record:
        return self._store.require(key, library=self._owner.party.party_id)
