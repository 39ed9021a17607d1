"""The voucher library (电子凭证库) of one party: envelopes, status, history and the §6 operations.

Each of 财政, 人民银行 and 代理银行 runs its own library and exchanges vouchers with the others
(spec.md §1, S15).  :class:`VoucherLibrary` is that library as a Python object: it keeps every
voucher it sent or received in a :class:`~ezhifu.flow.store.VoucherStore` with its state and
history, and offers the operations of the 凭证库 service (spec.md §6, S2/S6) as methods:

=====================================  =====================================================
凭证库 operation (spec.md §6)           method
=====================================  =====================================================
sendVoucher                             :meth:`VoucherLibrary.send` (after :meth:`save`)
readVoucherAgain (≤ 100 未签收)         :meth:`VoucherLibrary.read`
confirmVoucher (签收)                   :meth:`VoucherLibrary.confirm`
confirmVoucherFail (签收失败)           :meth:`VoucherLibrary.confirm_fail`
returnVoucher (退回)                    :meth:`VoucherLibrary.return_voucher`
discardVoucher (作废)                   :meth:`VoucherLibrary.discard`, then :meth:`resend`
batchQueryAllVoucherStatus              :meth:`VoucherLibrary.batch_status`
queryStampPositionWithName              :meth:`VoucherLibrary.positions`
回单 (spec.md §5.6 step 3)              :meth:`VoucherLibrary.send_receipt`
=====================================  =====================================================

Incoming messages are processed by :meth:`VoucherLibrary.poll` (or :meth:`receive_bytes`).  In
order, a message must: parse; be addressed to this party; come from a registered peer whose
certificate still chains to the trust store under the policy; carry that peer's valid link
signature (so a message altered in transit is refused before its content is looked at); not be
a message already processed (duplicates from at-least-once delivery are
dropped by id).  Every voucher body must then verify (:func:`ezhifu.verify.envelope.verify_body`: every
signature and seal, envelope attributes against the signed voucher) and validate against the
field data (:func:`ezhifu.document.validation.iter_errors`); a receipt must also be bound to
the original voucher (:func:`ezhifu.flow.receipts.receipt_problems`).  Whatever fails is kept in
the rejection log with its reason and the raw bytes, never silently dropped, and nothing of it
reaches the records.  Each message is processed in one store transaction.

Outgoing messages go through the store's outbox in the same transaction as the state change
(transactional outbox): if the link is down (:class:`~ezhifu.errors.TransportError`) or the
process dies before the hand-over, they are sent by the next :meth:`flush_outbox`; if the
keystore is down when a voucher is to be signed, the send itself is queued (应急).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ezhifu.crypto import verify_signature
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.models import FieldValue, Voucher
from ezhifu.document.validation import iter_errors
from ezhifu.errors import (
    EzhifuError,
    FlowError,
    IllegalTransition,
    InvalidInput,
    InvalidSignature,
    KeyStoreError,
    SigningError,
    TransportError,
)
from ezhifu.flow.receipts import build_receipt, receipt_problems
from ezhifu.flow.status import (
    Action,
    RecordKey,
    State,
    StatusCode,
    describe,
    path_to,
    status_of,
    transition,
)
from ezhifu.flow.store import HistoryEntry, OutboxItem, Record, Rejection, VoucherStore, utc_now
from ezhifu.flow.transport import Message, Transport, new_message_id
from ezhifu.pki.trust import TrustStore, VerifyPolicy, validate_chain
from ezhifu.results import SignerInfo
from ezhifu.verify.envelope import verify_body

if TYPE_CHECKING:
    from asn1crypto import x509

    from ezhifu.crypto.base import Signer

__all__ = ["MAX_READ", "Outcome", "Party", "Sealer", "VoucherLibrary"]

#: readVoucherAgain returns at most 100 vouchers per call (S2: "一次读取的凭证数量，最大100").
MAX_READ = 100
#: S2 truncates sign-in failure messages to about 190 bytes; reasons are cut to this many GBK bytes.
MAX_REASON_BYTES = 190

#: Applies this party's signatures and seals to a body (appends to ``signatures``/``stamps``).
Sealer = Callable[[VoucherBody], None]

_NOTICE_ACTIONS = frozenset(
    {
        Action.DELIVERED,
        Action.RECEIVE_FAILED,
        Action.SIGNED_IN,
        Action.SIGN_IN_FAILED,
        Action.RETURNED,
        Action.DISCARDED,
    }
)
#: The report that tells a sender where a received voucher stands.
_STATE_REPORTS = {
    State.RECEIVED: Action.DELIVERED,
    State.SIGNED_IN: Action.SIGNED_IN,
    State.RECEIPTED: Action.SIGNED_IN,
    State.SIGN_IN_FAILED: Action.SIGN_IN_FAILED,
    State.RETURNED: Action.RETURNED,
}
#: States whose reason (退回 / 签收失败 / 接收失败 text) is kept in the status description.
_REASON_STATES = frozenset({State.DELIVERY_FAILED, State.SIGN_IN_FAILED, State.RETURNED, State.DISCARDED})
_LOG = logging.getLogger("ezhifu.flow")
_REPORTS = {
    Action.SIGN_IN: Action.SIGNED_IN,
    Action.SIGN_IN_FAIL: Action.SIGN_IN_FAILED,
    Action.RETURN: Action.RETURNED,
}


@dataclass(frozen=True, slots=True)
class Party:
    """A party running a library: an id used on the wire, its org type (spec.md §1:
    ``011`` 财政, ``001`` 人行, a bank's 行别代码) and a display name."""

    party_id: str
    org_type: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What processing one incoming message did.

    ``accepted`` is False when anything in it was rejected (see ``detail`` and the rejection
    log); ``duplicate`` when the message had been processed before and was ignored.
    """

    message_id: str | None
    accepted: bool
    detail: str
    keys: tuple[RecordKey, ...] = ()
    duplicate: bool = False


def _one_body_envelope(body: VoucherBody) -> bytes:
    """The ``<MOF>`` envelope holding exactly ``body``: what a :class:`Record` keeps and sends."""
    return Envelope.build([body]).to_bytes()


def _held_body(envelope: bytes) -> VoucherBody:
    """The voucher body of a one-body envelope (a record's, or an original it answers)."""
    return Envelope.from_bytes(envelope).bodies[0]


def _clip(reason: str) -> str:
    """A reason cut to :data:`MAX_REASON_BYTES` GBK bytes (S2 limit), on a character boundary."""
    data = reason.encode("gbk", errors="replace")
    if len(data) <= MAX_REASON_BYTES:
        return reason
    return data[:MAX_REASON_BYTES].decode("gbk", errors="ignore")


class VoucherLibrary:
    """One party's voucher library.

    ``trust``/``policy`` verify incoming vouchers; ``positions`` is the stamp-position table of
    the voucher templates (VtCode → {position: name}, spec.md §5.1), answered by
    :meth:`positions` and, when given, enforced on incoming signatures and seals.
    ``link_signer`` signs every message this library sends; ``peers`` maps each peer's party id
    to the certificate its messages are checked with.  ``sealer`` signs/stamps outgoing bodies
    that are not signed yet (vouchers saved unsigned, receipts).  ``party_certs``, when given,
    maps each peer to the certificates its people and seals sign with: every signature and seal
    on a voucher (or receipt) that peer sends must then be made with one of them, so that a
    trusted certificate of another party cannot stand in for the sender.  ``peer_vt_codes``,
    when given, lists per peer the VtCodes it may send; a voucher of another type from it is
    refused (rejection log, and the sender is told: 对方接收失败).
    """

    def __init__(
        self,
        party: Party,
        *,
        store: VoucherStore,
        transport: Transport,
        trust: TrustStore,
        link_signer: Signer,
        peers: Mapping[str, x509.Certificate],
        sealer: Sealer | None = None,
        policy: VerifyPolicy | None = None,
        positions: Mapping[str, Mapping[str, str]] | None = None,
        party_certs: Mapping[str, Sequence[x509.Certificate]] | None = None,
        verify_at: datetime | None = None,
        peer_vt_codes: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.party = party
        self.store = store
        self.transport = transport
        self.trust = trust
        self.policy = policy or VerifyPolicy()
        self.link_signer = link_signer
        self.peers = dict(peers)
        self.sealer = sealer
        self._positions = {vt: dict(table) for vt, table in (positions or {}).items()}
        self.party_certs = (
            None
            if party_certs is None
            else {
                party: {(c.issuer.human_friendly, c.serial_number) for c in certs}
                for party, certs in party_certs.items()
            }
        )
        self.verify_at = verify_at
        #: peer → the VtCodes it may send (a peer not listed may send any)
        self.peer_vt_codes = {p: frozenset(v) for p, v in (peer_vt_codes or {}).items()}

    # --- keys -----------------------------------------------------------------------------

    @staticmethod
    def key(
        direction: str, voucher_flag: str, vt_code: str, voucher_no: str, *, adm_div_code: str, st_year: str
    ) -> RecordKey:
        if direction not in ("in", "out"):
            raise InvalidInput(f"direction must be 'in' or 'out', not {direction!r}")
        return RecordKey(
            "in" if direction == "in" else "out", voucher_flag, adm_div_code, st_year, vt_code, voucher_no
        )

    @staticmethod
    def _body_key(direction: str, body: VoucherBody) -> RecordKey:
        return RecordKey(
            "in" if direction == "in" else "out",
            body.voucher_flag,
            body.adm_div_code,
            body.st_year,
            body.vt_code,
            body.voucher_no,
        )

    # --- queries --------------------------------------------------------------------------

    def record(self, key: RecordKey) -> Record | None:
        return self.store.get(key)

    def records(self, **filters: Any) -> list[Record]:
        """Records matching :meth:`VoucherStore.find` filters (``vt_code``, ``states`` …)."""
        return self.store.find(**filters)

    def history(self, key: RecordKey) -> list[HistoryEntry]:
        return self.store.history(key)

    def rejections(self) -> list[Rejection]:
        return self.store.rejections()

    def body(self, key: RecordKey) -> VoucherBody:
        record = self._require(key)
        return _held_body(record.envelope)

    def status(self, key: RecordKey) -> tuple[StatusCode, str]:
        """The 凭证库 status code of one record and its description (spec.md §8.1)."""
        record = self.store.get(key)
        if record is None:
            return StatusCode.NOT_FOUND, describe(StatusCode.NOT_FOUND)
        receipt_state = None
        if key.direction == "in" and key.voucher_flag == "0":
            receipt = self.store.get(replace(key, direction="out", voucher_flag="1"))
            receipt_state = receipt.state if receipt else None
        code = status_of(key, record.state, receipt_state=receipt_state)
        return code, describe(code, record.state, record.reason)

    def batch_status(
        self, vt_code: str, voucher_nos: Iterable[str], *, adm_div_code: str, st_year: str
    ) -> dict[str, tuple[int, str]]:
        """``batchQueryAllVoucherStatus``: voucher number → (status code, description).

        A voucher this party sent is reported by its 发送单 status (0–5, 12, 13); one it received
        by the status of its receipt (6–11, 14); an unknown one as −1.
        """
        out: dict[str, tuple[int, str]] = {}
        for no in voucher_nos:
            found: tuple[StatusCode, str] = (StatusCode.NOT_FOUND, describe(StatusCode.NOT_FOUND))
            for direction, flag in (("out", "0"), ("in", "0"), ("out", "1"), ("in", "1")):
                k = self.key(direction, flag, vt_code, no, adm_div_code=adm_div_code, st_year=st_year)
                if self.store.get(k) is not None:
                    found = self.status(k)
                    break
            out[no] = (int(found[0]), found[1])
        return out

    def positions(self, vt_code: str) -> dict[str, str]:
        """``queryStampPositionWithName``: the configured positions of ``vt_code`` with names."""
        return dict(self._positions.get(vt_code, {}))

    def read(
        self, vt_code: str, *, adm_div_code: str, st_year: str, count: int = MAX_READ, receipts: bool = False
    ) -> Envelope | None:
        """``readVoucherAgain``: up to ``count`` (≤ 100) received vouchers not yet signed in.

        Reading does not change any state (the 凭证库 re-delivers until 签收); ``receipts``
        selects received 回单 instead of 发送单.  ``None`` when there is nothing to read.
        """
        if not 1 <= count <= MAX_READ:
            raise InvalidInput(f"read count must be between 1 and {MAX_READ}, got {count}")
        records = self.store.find(
            direction="in",
            voucher_flag="1" if receipts else "0",
            adm_div_code=adm_div_code,
            st_year=st_year,
            vt_code=vt_code,
            states=[State.RECEIVED],
            limit=count,
        )
        if not records:
            return None
        return Envelope.build([_held_body(r.envelope) for r in records])

    # --- own vouchers ---------------------------------------------------------------------

    def save(self, voucher: Voucher | VoucherBody, *, to: str) -> RecordKey:
        """Keep a new 发送单 for peer ``to`` as a draft (status 13 本方未发送)."""
        self._peer_cert(to)
        body = voucher if isinstance(voucher, VoucherBody) else VoucherBody.from_voucher(voucher)
        if body.voucher_flag != "0":
            raise InvalidInput(
                f"{body.vt_code} {body.voucher_no}: save() takes a 发送单; receipts use send_receipt()"
            )
        key = self._body_key("out", body)
        with self.store.transaction():
            existing = self.store.get(key)
            if existing is not None:
                raise IllegalTransition(
                    f"{key}: already in this library (state {existing.state.value}); "
                    "a changed voucher is re-sent with resend() after discard()"
                )
            record = self._new_record(key, State.DRAFT, to, body)
            self.store.put(record)
            self.store.add_history(key, revision=1, action="save", from_state=None, to_state=State.DRAFT)
        return key

    def send(
        self, vt_code: str, voucher_nos: Iterable[str], *, adm_div_code: str, st_year: str
    ) -> dict[str, tuple[int, str]]:
        """``sendVoucher``: sign (if needed) and send drafts or re-transmit failed deliveries.

        Returns the status of each voucher afterwards (0 when handed over or queued for a link
        that is down, 13 when signing was deferred because the keystore is unavailable).
        """
        nos = list(voucher_nos)
        for no in nos:
            self._send_one(self.key("out", "0", vt_code, no, adm_div_code=adm_div_code, st_year=st_year))
        self.flush_outbox()
        return self.batch_status(vt_code, nos, adm_div_code=adm_div_code, st_year=st_year)

    def discard(self, vt_code: str, voucher_nos: Iterable[str], *, adm_div_code: str, st_year: str) -> None:
        """``discardVoucher`` (作废): a draft, or a voucher refused/returned by the peer."""
        for no in voucher_nos:
            key = self.key("out", "0", vt_code, no, adm_div_code=adm_div_code, st_year=st_year)
            with self.store.transaction():
                record = self._require(key)
                was_sent = record.state is not State.DRAFT
                self._apply(record, Action.DISCARD)
                if was_sent:
                    self._notify(record.peer, "discarded", [(key, None)])
        self.flush_outbox()

    def resend(self, voucher: Voucher | VoucherBody) -> RecordKey:
        """Re-send a discarded voucher, corrected, as its next revision (S4 discard-then-resend).

        The new text is signed first; if the keystore is unavailable the error is raised and
        nothing changes (the record stays discarded until the call is repeated).
        """
        body = voucher if isinstance(voucher, VoucherBody) else VoucherBody.from_voucher(voucher)
        key = self._body_key("out", body)
        record = self._require(key)
        transition(key, record.state, Action.RESEND)  # refuse early, before signing
        self._sign_if_needed(body, key)
        with self.store.transaction():
            record = self._require(key)
            revision = record.revision + 1
            envelope = _one_body_envelope(body)
            self.store.save_revision(key, revision, envelope)
            updated = self._apply(
                replace(self._new_record(key, record.state, record.peer, body), revision=revision),
                Action.RESEND,
            )
            self._queue("envelope", updated.peer, updated.envelope)
        self.flush_outbox()
        return key

    # --- received vouchers ----------------------------------------------------------------

    def confirm(
        self,
        vt_code: str,
        voucher_nos: Iterable[str],
        *,
        adm_div_code: str,
        st_year: str,
        receipts: bool = False,
    ) -> None:
        """``confirmVoucher`` (签收) of received vouchers (or received receipts)."""
        self._act_on_received(vt_code, voucher_nos, Action.SIGN_IN, None, adm_div_code, st_year, receipts)

    def confirm_fail(
        self,
        vt_code: str,
        voucher_nos: Sequence[str],
        reasons: Sequence[str],
        *,
        adm_div_code: str,
        st_year: str,
        receipts: bool = False,
    ) -> None:
        """``confirmVoucherFail`` (签收失败) with one reason per voucher (cut to 190 GBK bytes)."""
        self._act_on_received(
            vt_code, voucher_nos, Action.SIGN_IN_FAIL, reasons, adm_div_code, st_year, receipts
        )

    def return_voucher(
        self,
        vt_code: str,
        voucher_nos: Sequence[str],
        reasons: Sequence[str],
        *,
        adm_div_code: str,
        st_year: str,
        receipts: bool = False,
    ) -> None:
        """``returnVoucher`` (退回) of signed-in vouchers, one reason each (spec.md §8.3)."""
        self._act_on_received(vt_code, voucher_nos, Action.RETURN, reasons, adm_div_code, st_year, receipts)

    def send_receipt(
        self,
        vt_code: str,
        voucher_no: str,
        *,
        adm_div_code: str,
        st_year: str,
        fields: Mapping[str, FieldValue],
        details: Sequence[Mapping[str, FieldValue]] | None = None,
        copies: Sequence[str] = (),
        attach: str = "SUCCESS",
    ) -> RecordKey:
        """Answer a signed-in voucher with its 回单 (spec.md §5.6 step 3).

        The receipt fills X-fields only (:func:`~ezhifu.flow.receipts.build_receipt`), is
        signed/stamped by :attr:`sealer` and goes to the original sender; ``copies`` are further
        parties (``sendVoucherFullSigns``, e.g. a 2301 receipt to 财政), which also receive the
        original signed voucher so that they can check the sender's signatures.
        """
        in_key = self.key("in", "0", vt_code, voucher_no, adm_div_code=adm_div_code, st_year=st_year)
        original = self._require(in_key)
        for party in copies:
            self._peer_cert(party)
        body = build_receipt(_held_body(original.envelope), fields=fields, details=details, attach=attach)
        out_key = self._body_key("out", body)
        made = self.store.get(out_key)
        if made is not None:
            # issue 16: a receipt interrupted before it left (a draft) is finished; one the peer
            # refused (8 / 10 / 11) is redone as its next revision; anything else is refused.
            return self._redo_receipt(made, body, copies)
        transition(in_key, original.state, Action.RECEIPT)  # refuse early
        with self.store.transaction():
            if self.store.get(out_key) is not None:
                raise IllegalTransition(f"{out_key}: a receipt was already made for this voucher")
            record = replace(
                self._new_record(out_key, State.DRAFT, original.peer, body), original=original.envelope
            )
            self.store.put(record)
            self.store.add_history(
                out_key,
                revision=1,
                action="save",
                from_state=None,
                to_state=State.DRAFT,
                reason=f"receipt of {in_key}" + (f"; copies to {', '.join(copies)}" if copies else ""),
            )
        self._send_one(out_key, copies=tuple(copies))
        self.flush_outbox()
        return out_key

    def _redo_receipt(self, made: Record, body: VoucherBody, copies: Sequence[str]) -> RecordKey:
        """Finish a draft receipt, or re-send a refused one as its next revision."""
        key = made.key
        if made.state is State.DRAFT:
            with self.store.transaction():
                self.store.put(replace(made, envelope=_one_body_envelope(body)))
            self._send_one(key, copies=tuple(copies))
            self.flush_outbox()
            return key
        if made.state not in (State.DELIVERY_FAILED, State.SIGN_IN_FAILED, State.RETURNED):
            raise IllegalTransition(
                f"{key}: a receipt was already made for this voucher (state {made.state.value}); "
                "it can be redone only after the peer refused it (status 8, 10 or 11)"
            )
        self._sign_if_needed(body, key)
        envelope = _one_body_envelope(body)
        with self.store.transaction():
            discarded = self._apply(self._require(key), Action.DISCARD, reason="receipt redone")
            self._notify(made.peer, "discarded", [(key, None)])
            revision = discarded.revision + 1
            self.store.save_revision(key, revision, envelope)
            record = self._new_record(key, discarded.state, made.peer, body)
            self._apply(replace(record, revision=revision, original=made.original), Action.RESEND)
            self._queue("envelope", made.peer, envelope)
            for party in copies:
                self._queue("envelope", party, envelope, attachments=(made.original or b"",))
        self.flush_outbox()
        return key

    # --- outgoing machinery ---------------------------------------------------------------

    def _sign_if_needed(self, body: VoucherBody, key: RecordKey) -> None:
        if body.signatures or body.stamps:
            return
        if self.sealer is None:
            raise SigningError(f"{key}: the voucher is not signed and this library has no sealer")
        self.sealer(body)

    def _send_one(self, key: RecordKey, *, copies: tuple[str, ...] = ()) -> None:
        record = self._require(key)
        transition(key, record.state, Action.SEND)  # IllegalTransition before any signing
        body = _held_body(record.envelope)
        try:
            self._sign_if_needed(body, key)
        except (KeyStoreError, SigningError) as exc:
            if self.sealer is None:
                raise
            # 应急: the keystore is unavailable; keep the draft and queue the send itself.
            with self.store.transaction():
                item = {"key": _key_to_json(key), "copies": list(copies)}
                self.store.outbox_put(
                    OutboxItem(
                        f"send-{uuid.uuid4().hex}",
                        "send",
                        record.peer,
                        json.dumps(item).encode("utf-8"),
                        utc_now(),
                    )
                )
                self.store.add_history(
                    key,
                    revision=record.revision,
                    action="send-deferred",
                    from_state=record.state,
                    to_state=record.state,
                    reason=f"signing unavailable, send queued: {type(exc).__name__}: {exc}",
                )
            return
        envelope = _one_body_envelope(body)
        with self.store.transaction():
            record = self._require(key)
            # The text of each revision as it left this library (a re-transmission is the same).
            self.store.save_revision(key, record.revision, envelope)
            updated = self._apply(replace(record, envelope=envelope), Action.SEND)
            self._queue("envelope", updated.peer, envelope)
            if key.voucher_flag == "1" and updated.original is not None:
                in_key = replace(key, direction="in", voucher_flag="0")
                answered = self._require(in_key)
                if answered.state is not State.RECEIPTED:  # a finished draft may find it done
                    self._apply(answered, Action.RECEIPT, reason=f"receipt sent to {updated.peer}")
                for party in copies:
                    self._queue("envelope", party, envelope, attachments=(updated.original,))
                    self.store.add_history(
                        key,
                        revision=updated.revision,
                        action="copy",
                        from_state=updated.state,
                        to_state=updated.state,
                        reason=f"copy sent to {party} with the original voucher",
                    )

    def _queue(
        self, kind: str, recipient: str, payload: bytes, *, attachments: tuple[bytes, ...] = ()
    ) -> str:
        """Put a message in the outbox (inside the caller's transaction).

        The link signature is added when the message is flushed, so a state change never fails
        because the link key is unavailable: the message simply waits in the outbox.
        """
        message = Message(
            message_id=new_message_id(),
            kind="envelope" if kind == "envelope" else "notice",
            sender=self.party.party_id,
            recipient=recipient,
            payload=payload,
            attachments=attachments,
            created_at=utc_now(),
        )
        self.store.outbox_put(
            OutboxItem(message.message_id, "message", recipient, message.to_bytes(), utc_now())
        )
        return message.message_id

    def _notify(self, recipient: str, action: str, items: Sequence[tuple[RecordKey, str | None]]) -> None:
        payload = {
            "action": action,
            "items": [
                dict(_key_to_json(key), reason=_clip(reason) if reason else None) for key, reason in items
            ],
        }
        self._queue(
            "notice", recipient, json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        )

    def flush_outbox(self) -> int:
        """Send what is queued; stops at the first link failure (kept for the next flush).

        Returns how many messages were handed to the transport.  Deferred sends (keystore down)
        are signed and turned into messages first, which are then sent in the same call.
        """
        total = 0
        while True:
            sent, progressed = self._flush_once()
            total += sent
            if not progressed:
                return total

    def _flush_once(self) -> tuple[int, bool]:
        sent = 0
        progressed = False
        blocked: set[str] = set()  # peers whose link failed in this round: their order is kept
        for item in self.store.outbox_items():
            if item.recipient in blocked:
                continue
            if item.kind == "send":
                data = json.loads(item.data.decode("utf-8"))
                key = _key_from_json(data["key"])
                record = self.store.get(key)
                if record is None or record.state is not State.DRAFT:
                    self.store.outbox_remove(item.item_id)
                    continue
                body = _held_body(record.envelope)
                try:
                    self._sign_if_needed(body, key)
                except (KeyStoreError, SigningError) as exc:
                    self.store.outbox_failed(item.item_id, f"{type(exc).__name__}: {exc}")
                    continue
                with self.store.transaction():
                    self.store.put(replace(record, envelope=_one_body_envelope(body)))
                    self.store.outbox_remove(item.item_id)
                self._send_one(key, copies=tuple(data.get("copies", ())))
                progressed = True
                continue
            message = Message.from_bytes(item.data)
            try:
                signature = self.link_signer.sign(message.signed_bytes())
            except EzhifuError as exc:
                # the link key is unavailable: everything waits (all messages need it)
                self.store.outbox_failed(item.item_id, f"link signature: {type(exc).__name__}: {exc}")
                return sent, False
            try:
                self.transport.send(message.with_signature(signature))
            except TransportError as exc:
                # one dead partner must not block the others (issue 16): skip only its messages
                self.store.outbox_failed(item.item_id, str(exc))
                blocked.add(item.recipient)
                _LOG.warning("delivery to %s failed, kept in the outbox: %s", item.recipient, exc)
                continue
            self.store.outbox_remove(item.item_id)
            sent += 1
        return sent, progressed

    def pending_outbox(self) -> list[OutboxItem]:
        return self.store.outbox_items()

    # --- incoming -------------------------------------------------------------------------

    def poll(self, *, limit: int = MAX_READ) -> list[Outcome]:
        """Process up to ``limit`` deliveries from the transport, then flush the outbox.

        A delivery is acknowledged only after its outcome is committed, so a crash in between
        re-delivers it (and the message id makes the second processing a no-op).
        """
        outcomes = []
        for delivery in self.transport.receive(self.party.party_id, limit=limit):
            outcomes.append(self.receive_bytes(delivery.data))
            self.transport.ack(delivery)
        self.flush_outbox()
        return outcomes

    def replay(self, rejection_id: str) -> Outcome:
        """Process a rejected message again (差错处理, e.g. a receipt that came before its voucher)."""
        for rejection in self.store.rejections():
            if rejection.rejection_id == rejection_id:
                outcome = self.receive_bytes(rejection.raw, replay=True)
                self.flush_outbox()
                return outcome
        raise FlowError(f"no rejection {rejection_id!r} in the rejection log of {self.party.party_id}")

    def receive_bytes(self, data: bytes, *, replay: bool = False) -> Outcome:
        """Process one serialised message (see the module documentation for the checks)."""
        try:
            message = Message.from_bytes(data)
        except InvalidInput as exc:
            return self._reject_raw(data, None, None, None, f"unreadable message: {exc}")
        mid, sender = message.message_id, message.sender
        if message.recipient != self.party.party_id:
            return self._reject_raw(
                data,
                mid,
                sender,
                message.kind,
                f"addressed to {message.recipient!r}, not {self.party.party_id!r}",
            )
        cert = self.peers.get(sender)
        if cert is None:
            return self._reject_raw(
                data, mid, sender, message.kind, f"sender {sender!r} is not a registered peer"
            )
        if message.signature is None:
            return self._reject_raw(data, mid, sender, message.kind, "message carries no link signature")
        chain = validate_chain(cert, trust=self.trust, policy=self.policy, at=self.verify_at)
        if not chain.trusted:
            return self._reject_raw(
                data,
                mid,
                sender,
                message.kind,
                f"registered certificate of {sender!r} is not valid: {chain.reason}",
            )
        try:
            verify_signature(cert, message.signed_bytes(), message.signature)
        except (InvalidSignature, InvalidInput) as exc:
            return self._reject_raw(
                data,
                mid,
                sender,
                message.kind,
                f"link signature of {sender!r} does not verify "
                f"(altered in transit or not from {sender}): {exc}",
            )
        with self.store.transaction():
            prior = self.store.seen(mid)
            if prior is not None and not (replay and prior.startswith("rejected")):
                return Outcome(mid, True, f"duplicate of message already processed ({prior})", duplicate=True)
            ctx = _Context(self, message, data)
            if message.kind == "envelope":
                self._handle_envelope(ctx)
            else:
                self._handle_notice(ctx)
            outcome = ctx.outcome()
            summary = ("accepted: " if outcome.accepted else "rejected: ") + outcome.detail
            self.store.mark_seen(mid, summary[:500], replace=prior is not None)
        self.flush_outbox()
        return outcome

    def _reject_raw(
        self, data: bytes, mid: str | None, sender: str | None, kind: str | None, reason: str
    ) -> Outcome:
        self.store.add_rejection(Rejection(uuid.uuid4().hex, mid, sender, kind, reason, data, utc_now()))
        return Outcome(mid, False, reason)

    def _handle_envelope(self, ctx: _Context) -> None:
        try:
            envelope = Envelope.from_bytes(ctx.message.payload)
        except EzhifuError as exc:
            ctx.reject(f"envelope cannot be read: {exc}")
            return
        for body in envelope.bodies:
            label = f"{body.vt_code} {body.voucher_no} (VoucherFlag={body.voucher_flag})"
            if body.voucher_flag not in ("0", "1"):
                ctx.reject(f"{label}: VoucherFlag must be 0 or 1")
                continue
            allowed = self.peer_vt_codes.get(ctx.message.sender)
            if allowed is not None and body.vt_code not in allowed:
                problems = [
                    f"peer {ctx.message.sender!r} may not send VtCode {body.vt_code} "
                    f"(allowed: {', '.join(sorted(allowed)) or 'none'})"
                ]
            else:
                problems = self._check_body(body, ctx)
            if problems:
                ctx.reject(f"{label}: " + "; ".join(problems))
                # The sender is authenticated, so tell it (status 2/8 对方接收失败).
                self._notify(
                    ctx.message.sender, "receive_failed", [(self._body_key("out", body), problems[0])]
                )
                continue
            if body.voucher_flag == "0":
                self._accept_voucher(ctx, body)
            else:
                self._accept_receipt(ctx, body)

    def _check_body(self, body: VoucherBody, ctx: _Context, *, signer_party: str | None = None) -> list[str]:
        """Signatures, seals, envelope attributes, who signed, then the document's validity.

        ``signer_party`` is the party whose certificates must have made every signature and
        seal (default: the message's sender), checked when :attr:`party_certs` is configured.
        """
        positions = {vt: set(table) for vt, table in self._positions.items()} if self._positions else None
        result = verify_body(
            body, trust=self.trust, policy=self.policy, positions=positions, at=self.verify_at
        )
        if not result.valid:
            return list(result.reasons) or ["verification failed"]
        if self.party_certs is not None and signer_party != _ANY_PARTY:
            party = signer_party or ctx.message.sender
            allowed = self.party_certs.get(party, set())
            strangers = [
                f"{item.kind} at {item.position} was made by {item.signer.subject if item.signer else '?'}, "
                f"not by a certificate of {party}"
                for item in result.items
                if item.signer is None or _signer_id(item.signer) not in allowed
            ]
            if strangers:
                return strangers
        ctx.verified += len(result.items)
        try:
            issues = list(iter_errors(_one_body_envelope(body)))
        except EzhifuError as exc:
            return [f"cannot be validated: {exc}"]
        return [str(i) for i in issues]

    def _accept_voucher(self, ctx: _Context, body: VoucherBody) -> None:
        key = self._body_key("in", body)
        existing = self.store.get(key)
        sender = ctx.message.sender
        if existing is None:
            self._store_received(self._new_record(key, State.RECEIVED, sender, body), ctx)
        elif existing.peer != sender:
            ctx.reject(f"{key}: already received from {existing.peer}, now sent by {sender}")
            return
        elif existing.state is State.DISCARDED:
            # the next revision, even with the unchanged text (issue 16: it stayed at 0 for good)
            self._receive_revision(ctx, existing, body)
        elif _held_body(existing.envelope).voucher_b64 == body.voucher_b64:
            # A re-transmission (e.g. after a damaged copy was refused): nothing changes here,
            # but the sender learns again where the voucher stands.
            ctx.note(key, f"{key}: same voucher text already held (state {existing.state.value}); no change")
            report = _STATE_REPORTS.get(existing.state)
            if report is not None:
                self._notify(sender, report.value, [(self._body_key("out", body), existing.reason)])
            return
        else:
            ctx.reject(
                f"{key}: a different text arrived while the voucher is {existing.state.value}; "
                "the sender must discard (作废) it before re-sending"
            )
            return
        self._acknowledge(ctx, key, body)

    def _receive_revision(
        self, ctx: _Context, existing: Record, body: VoucherBody, original: bytes | None = None
    ) -> None:
        """A discarded record takes the re-sent text as its next revision."""
        revision = existing.revision + 1
        self.store.save_revision(existing.key, revision, _one_body_envelope(body))
        record = self._new_record(existing.key, existing.state, existing.peer, body)
        self._apply(
            replace(record, revision=revision, original=original or existing.original),
            Action.RECEIVE,
            message_id=ctx.mid,
            reason=f"revision {revision} after discard",
        )

    def _accept_receipt(self, ctx: _Context, body: VoucherBody) -> None:
        key = self._body_key("in", body)
        original_key = replace(key, voucher_flag="0", direction="out")
        original = self.store.get(original_key)
        sender = ctx.message.sender
        if original is None:
            original_env = self._attached_original(ctx, body)
            if original_env is None:
                return
            original_body = _held_body(original_env)
        else:
            if original.peer != sender:
                ctx.reject(f"{key}: receipt from {sender}, but the voucher was sent to {original.peer}")
                return
            original_env = original.envelope
            original_body = _held_body(original_env)
        problems = receipt_problems(original_body.voucher, body.voucher)
        if problems:
            ctx.reject(f"{key}: not a receipt of the voucher sent: " + "; ".join(problems))
            self._notify(sender, "receive_failed", [(self._body_key("out", body), problems[0])])
            return
        existing = self.store.get(key)
        if existing is not None and existing.state is State.DISCARDED and existing.peer == sender:
            # a receipt redone by its sender after we refused it (issue 16)
            self._receive_revision(ctx, existing, body, original_env)
            self._acknowledge(ctx, key, body)
            return
        if existing is not None:
            if _held_body(existing.envelope).voucher_b64 == body.voucher_b64:
                ctx.note(key, f"{key}: same receipt already held (state {existing.state.value}); no change")
            else:
                ctx.reject(f"{key}: a different receipt is already held (state {existing.state.value})")
            return
        if original is not None:
            steps = path_to(original_key, original.state, Action.RECEIPTED)
            if not steps:
                ctx.reject(
                    f"{key}: a receipt does not fit the voucher's state {original.state.value} "
                    "(returned, discarded or never delivered)"
                )
                return
            current = original
            for step in steps:
                current = self._apply(current, step, message_id=ctx.mid)
        self._store_received(
            replace(self._new_record(key, State.RECEIVED, sender, body), original=original_env), ctx
        )
        self._acknowledge(ctx, key, body)

    def _store_received(self, record: Record, ctx: _Context) -> None:
        """Keep a newly received voucher or receipt as revision 1, with its history entry."""
        self.store.put(record)
        self.store.save_revision(record.key, 1, record.envelope)
        self.store.add_history(
            record.key,
            revision=1,
            action="receive",
            from_state=None,
            to_state=State.RECEIVED,
            message_id=ctx.mid,
        )

    def _acknowledge(self, ctx: _Context, key: RecordKey, body: VoucherBody) -> None:
        """Count ``key`` as accepted and tell the sender its voucher was delivered (已送达)."""
        ctx.accepted(key)
        self._notify(ctx.message.sender, "delivered", [(self._body_key("out", body), None)])

    def _attached_original(self, ctx: _Context, body: VoucherBody) -> bytes | None:
        """The original voucher attached to a copy of a receipt, verified; else reject."""
        label = f"{body.vt_code} {body.voucher_no}"
        if not ctx.message.attachments:
            ctx.reject(
                f"receipt (回单) {label} arrived but this library never sent that voucher and no "
                "original is attached: receipt before its voucher, or misrouted"
            )
            return None
        try:
            attached = Envelope.from_bytes(ctx.message.attachments[0])
            original_body = attached.body(body.voucher_no)
        except EzhifuError as exc:
            ctx.reject(f"receipt {label}: the attached original cannot be read: {exc}")
            return None
        if original_body.voucher_flag != "0" or len(attached.bodies) != 1:
            ctx.reject(f"receipt {label}: the attachment is not the single original 发送单")
            return None
        problems = self._check_body(original_body, ctx, signer_party=_ANY_PARTY)
        if problems:
            ctx.reject(f"receipt {label}: the attached original does not verify: " + "; ".join(problems))
            return None
        return _one_body_envelope(original_body)

    def _handle_notice(self, ctx: _Context) -> None:
        try:
            payload = json.loads(ctx.message.payload.decode("utf-8"))
            action = Action(payload["action"])
            if action not in _NOTICE_ACTIONS:
                raise ValueError(f"action {action.value!r} is not a notice")
            items = [(_key_from_json(i), _peer_reason(i.get("reason"))) for i in payload["items"]]
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError, InvalidInput) as exc:
            ctx.reject(f"notice cannot be read: {exc}")
            return
        sender = ctx.message.sender
        for their_key, reason in items:
            if action is Action.DISCARDED:
                key = replace(their_key, direction="in")
                record = self.store.get(key)
                if record is None or record.peer != sender:
                    ctx.reject(f"discard notice from {sender} for {key}, which it never sent here")
                    continue
                try:
                    self._apply(record, Action.DISCARDED, message_id=ctx.mid)
                except IllegalTransition as exc:
                    ctx.reject(str(exc))
                    continue
                ctx.accepted(key)
                continue
            key = replace(their_key, direction="out")
            record = self.store.get(key)
            if record is None:
                ctx.reject(f"{action.value} report from {sender} for {key}, which this library never sent")
                continue
            if record.peer != sender:
                # A copy recipient reporting on a receipt: noted in the history, no state change.
                self.store.add_history(
                    key,
                    revision=record.revision,
                    action=f"report:{action.value}",
                    from_state=record.state,
                    to_state=record.state,
                    reason=f"from copy recipient {sender}" + (f": {reason}" if reason else ""),
                    message_id=ctx.mid,
                )
                ctx.accepted(key)
                continue
            steps = path_to(key, record.state, action)
            if steps is None:
                ctx.reject(
                    f"{action.value} report from {sender} contradicts {key} in state {record.state.value}"
                )
                continue
            if not steps:
                self.store.add_history(
                    key,
                    revision=record.revision,
                    action=f"stale:{action.value}",
                    from_state=record.state,
                    to_state=record.state,
                    reason="report already reflected (late or duplicate); state unchanged",
                    message_id=ctx.mid,
                )
            current = record
            for step in steps:
                current = self._apply(
                    current, step, message_id=ctx.mid, reason=reason if step is steps[-1] else None
                )
            ctx.accepted(key)

    # --- helpers --------------------------------------------------------------------------

    def _act_on_received(
        self,
        vt_code: str,
        voucher_nos: Iterable[str],
        action: Action,
        reasons: Sequence[str] | None,
        adm_div_code: str,
        st_year: str,
        receipts: bool,
    ) -> None:
        nos = list(voucher_nos)
        if reasons is not None and len(reasons) != len(nos):
            raise InvalidInput(f"{len(reasons)} reasons given for {len(nos)} vouchers")
        flag = "1" if receipts else "0"
        for i, no in enumerate(nos):
            key = self.key("in", flag, vt_code, no, adm_div_code=adm_div_code, st_year=st_year)
            reason = _clip(reasons[i]) if reasons is not None else None
            with self.store.transaction():
                record = self._require(key)
                self._apply(record, action, reason=reason)
                self._notify(record.peer, _REPORTS[action].value, [(key, reason)])
        self.flush_outbox()

    def _apply(
        self, record: Record, action: Action, *, reason: str | None = None, message_id: str | None = None
    ) -> Record:
        """One transition with its history entry (inside the caller's transaction)."""
        target = transition(record.key, record.state, action)
        # a failure's reason stays only while the record is in a failure state (issue 16)
        kept = record.reason if target in _REASON_STATES else None
        updated = self.store.put(replace(record, state=target, reason=reason if reason else kept))
        _LOG.info("%s: %s -> %s (%s)", record.key, record.state.value, target.value, action.value)
        self.store.add_history(
            record.key,
            revision=updated.revision,
            action=action.value,
            from_state=record.state,
            to_state=target,
            reason=reason,
            message_id=message_id,
        )
        return updated

    def _require(self, key: RecordKey) -> Record:
        record = self.store.get(key)
        if record is None:
            raise FlowError(f"{key}: not in the library of {self.party.party_id} (status -1 未找到对应凭证)")
        return record

    def _peer_cert(self, party: str) -> x509.Certificate:
        cert = self.peers.get(party)
        if cert is None:
            raise FlowError(f"{party!r} is not a registered peer of {self.party.party_id}")
        return cert

    @staticmethod
    def _new_record(key: RecordKey, state: State, peer: str, body: VoucherBody) -> Record:
        voucher = body.voucher
        amount = voucher.get("PayAmt") or voucher.get("AllAmt") or voucher.get("Amt") or None
        return Record(
            key=key,
            state=state,
            peer=peer,
            envelope=_one_body_envelope(body),
            amount=amount,
            vou_date=voucher.get("VouDate") or None,
            payee_acct_no=voucher.get("PayeeAcctNo") or None,
            payee_name=voucher.get("PayeeAcctName") or None,
        )


class _Context:
    """Collects what processing one message did (accepted keys, notes, rejections)."""

    def __init__(self, library: VoucherLibrary, message: Message, raw: bytes) -> None:
        self.library = library
        self.message = message
        self.raw = raw
        self.mid = message.message_id
        self.keys: list[RecordKey] = []
        self.notes: list[str] = []
        self.rejected: list[str] = []
        self.verified = 0

    def reject(self, reason: str) -> None:
        self.rejected.append(reason)
        self.library.store.add_rejection(
            Rejection(
                uuid.uuid4().hex,
                self.mid,
                self.message.sender,
                self.message.kind,
                reason,
                self.raw,
                utc_now(),
            )
        )

    def accepted(self, key: RecordKey) -> None:
        self.keys.append(key)

    def note(self, key: RecordKey, text: str) -> None:
        self.keys.append(key)
        self.notes.append(text)

    def outcome(self) -> Outcome:
        if self.rejected:
            return Outcome(self.mid, False, "; ".join(self.rejected), tuple(self.keys))
        detail = "; ".join(self.notes) or f"{self.message.kind} accepted ({len(self.keys)} voucher(s))"
        if self.verified:
            detail += f", {self.verified} signature(s) and seal(s) verified"
        return Outcome(self.mid, True, detail, tuple(self.keys))


#: Marks a body whose signer party is not known (a copy's attached original, which may come
#: from a party this library has no certificates for); the trust store still applies.
_ANY_PARTY = "*"


def _signer_id(info: SignerInfo) -> tuple[str, int]:
    """(issuer name, serial) of a result's signer, to compare with configured certificates."""
    return (info.issuer, int(info.serial_hex, 16))


def _peer_reason(value: object) -> str | None:
    """A reason sent by a peer: text or nothing, cut like our own (S2's 190 bytes)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"reason must be text, not {type(value).__name__}")
    return _clip(value)


def _key_to_json(key: RecordKey) -> dict[str, str]:
    return {
        "voucher_flag": key.voucher_flag,
        "adm_div_code": key.adm_div_code,
        "st_year": key.st_year,
        "vt_code": key.vt_code,
        "voucher_no": key.voucher_no,
        "direction": key.direction,
    }


def _key_from_json(data: Mapping[str, Any]) -> RecordKey:
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
