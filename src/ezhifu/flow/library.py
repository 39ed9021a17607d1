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

The jobs behind the operations live in their own modules: :mod:`ezhifu.flow.inbox` accepts
and checks incoming messages (:meth:`VoucherLibrary.poll`, :meth:`receive_bytes`),
:mod:`ezhifu.flow.outbox` signs, queues, delivers and retries what goes out
(:meth:`VoucherLibrary.flush_outbox`), and every change of a record goes through
:meth:`ezhifu.flow.store.VoucherStore.apply` (the record, its history entry and the revision
text in one transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Unpack

from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.models import FieldValue, Voucher
from ezhifu.document.positions import PositionTable
from ezhifu.errors import FlowError, IllegalTransition, InvalidInput
from ezhifu.flow.hooks import VoucherHook
from ezhifu.flow.inbox import Inbox, Outcome, party_cert_ids
from ezhifu.flow.outbox import MAX_REASON_BYTES, Outbox, Sealer, clip
from ezhifu.flow.receipts import build_receipt
from ezhifu.flow.status import (
    Action,
    HistoryEntry,
    OutboxItem,
    Party,
    Record,
    RecordKey,
    Rejection,
    State,
    StatusCode,
    body_key,
    describe,
    held_body,
    new_record,
    one_body_envelope,
    status_of,
    transition,
)
from ezhifu.flow.store import RecordFilter, VoucherStore
from ezhifu.flow.transport import Transport
from ezhifu.pki.trust import TrustStore, VerifyPolicy

if TYPE_CHECKING:
    from asn1crypto import x509

    from ezhifu.crypto.base import Signer

__all__ = ["MAX_READ", "MAX_REASON_BYTES", "Outcome", "Party", "Sealer", "VoucherLibrary"]

#: readVoucherAgain returns at most 100 vouchers per call (S2: "一次读取的凭证数量，最大100").
MAX_READ = 100
#: batchQueryAllVoucherStatus and the other batch operations take at most this many numbers.
MAX_BATCH = 10_000

_REPORTS = {
    Action.SIGN_IN: Action.SIGNED_IN,
    Action.SIGN_IN_FAIL: Action.SIGN_IN_FAILED,
    Action.RETURN: Action.RETURNED,
}


def _batch(voucher_nos: Iterable[str]) -> list[str]:
    """The voucher numbers of one batch operation, at most :data:`MAX_BATCH`."""
    nos: list[str] = []
    for no in voucher_nos:
        if len(nos) == MAX_BATCH:
            raise InvalidInput(f"at most {MAX_BATCH} voucher numbers per call / 每次最多 {MAX_BATCH} 张凭证")
        nos.append(no)
    return nos


class VoucherLibrary:
    """One party's voucher library.

    ``trust``/``policy`` verify incoming vouchers; ``positions`` is the stamp-position table of
    the voucher templates (a :class:`~ezhifu.document.positions.PositionTable`, or VtCode →
    {position: name}, spec.md §5.1), answered by :meth:`positions` and, when given, enforced on
    incoming signatures and seals.
    ``link_signer`` signs every message this library sends; ``peers`` maps each peer's party id
    to the certificate its messages are checked with.  ``sealer`` signs/stamps outgoing bodies
    that are not signed yet (vouchers saved unsigned, receipts).  ``party_certs``, when given,
    maps each peer to the certificates its people and seals sign with: every signature and seal
    on a voucher (or receipt) that peer sends must then be made with one of them, so that a
    trusted certificate of another party cannot stand in for the sender.
    ``hooks`` run before signing and on receipt (:mod:`ezhifu.flow.hooks`, e.g. fund monitoring).
    ``peer_vt_codes``,
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
        positions: PositionTable | Mapping[str, Mapping[str, str]] | None = None,
        party_certs: Mapping[str, Sequence[x509.Certificate]] | None = None,
        verify_at: datetime | None = None,
        hooks: Sequence[VoucherHook] = (),
        peer_vt_codes: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.party = party
        self.hooks: tuple[VoucherHook, ...] = tuple(hooks)
        self.store = store
        self.transport = transport
        self.trust = trust
        self.policy = policy or VerifyPolicy()
        self.link_signer = link_signer
        self.peers = dict(peers)
        self.sealer = sealer
        self.stamp_positions = (
            positions if isinstance(positions, PositionTable) else PositionTable.from_names(positions or {})
        )
        self.party_certs = None if party_certs is None else party_cert_ids(party_certs)
        self.verify_at = verify_at
        #: peer → the VtCodes it may send (a peer not listed may send any)
        self.peer_vt_codes = {p: frozenset(v) for p, v in (peer_vt_codes or {}).items()}
        self.outbox = Outbox(self)
        self.inbox = Inbox(self)

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

    # --- queries --------------------------------------------------------------------------

    def record(self, key: RecordKey) -> Record | None:
        return self.store.get(key)

    def records(self, **filters: Unpack[RecordFilter]) -> list[Record]:
        """Records matching :meth:`VoucherStore.find` filters (:class:`~ezhifu.flow.store.RecordFilter`)."""
        return self.store.find(**filters)

    def history(self, key: RecordKey) -> list[HistoryEntry]:
        return self.store.history(key)

    def rejections(self) -> list[Rejection]:
        return self.store.rejections()

    def body(self, key: RecordKey) -> VoucherBody:
        return held_body(self._require(key).envelope)

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
        for no in _batch(voucher_nos):
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
        return self.stamp_positions.names(vt_code) if vt_code in self.stamp_positions else {}

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
        return Envelope.build([held_body(r.envelope) for r in records])

    # --- own vouchers ---------------------------------------------------------------------

    def save(self, voucher: Voucher | VoucherBody, *, to: str) -> RecordKey:
        """Keep a new 发送单 for peer ``to`` as a draft (status 13 本方未发送)."""
        self._peer_cert(to)
        body = voucher if isinstance(voucher, VoucherBody) else VoucherBody.from_voucher(voucher)
        if body.voucher_flag != "0":
            raise InvalidInput(
                f"{body.vt_code} {body.voucher_no}: save() takes a 发送单; receipts use send_receipt()"
            )
        key = body_key("out", body)
        with self.store.transaction():
            existing = self.store.get(key)
            if existing is not None:
                raise IllegalTransition(
                    f"{key}: already in this library (state {existing.state.value}); "
                    "a changed voucher is re-sent with resend() after discard()"
                )
            self.store.apply(new_record(key, State.DRAFT, to, body), "save", new=True)
        return key

    def send(
        self, vt_code: str, voucher_nos: Iterable[str], *, adm_div_code: str, st_year: str
    ) -> dict[str, tuple[int, str]]:
        """``sendVoucher``: sign (if needed) and send drafts or re-transmit failed deliveries.

        Returns the status of each voucher afterwards (0 when handed over or queued for a link
        that is down, 13 when signing was deferred because the keystore is unavailable).
        """
        nos = _batch(voucher_nos)
        for no in nos:
            self.outbox.send(self.key("out", "0", vt_code, no, adm_div_code=adm_div_code, st_year=st_year))
        self.flush_outbox()
        return self.batch_status(vt_code, nos, adm_div_code=adm_div_code, st_year=st_year)

    def discard(self, vt_code: str, voucher_nos: Iterable[str], *, adm_div_code: str, st_year: str) -> None:
        """``discardVoucher`` (作废): a draft, or a voucher refused/returned by the peer."""
        for no in _batch(voucher_nos):
            key = self.key("out", "0", vt_code, no, adm_div_code=adm_div_code, st_year=st_year)
            with self.store.transaction():
                record = self._require(key)
                self.store.apply(record, Action.DISCARD)
                if record.state is not State.DRAFT:
                    self.outbox.notify(record.peer, "discarded", [(key, None)])
        self.flush_outbox()

    def resend(self, voucher: Voucher | VoucherBody) -> RecordKey:
        """Re-send a discarded voucher, corrected, as its next revision (S4 discard-then-resend).

        The new text is signed first; if the keystore is unavailable the error is raised and
        nothing changes (the record stays discarded until the call is repeated).
        """
        body = voucher if isinstance(voucher, VoucherBody) else VoucherBody.from_voucher(voucher)
        key = body_key("out", body)
        record = self._require(key)
        transition(key, record.state, Action.RESEND)  # refuse early, before signing
        self.outbox.sign_if_needed(body, key)
        with self.store.transaction():
            record = self._require(key)
            revised = replace(new_record(key, record.state, record.peer, body), revision=record.revision + 1)
            updated = self.store.apply(revised, Action.RESEND, text=revised.envelope)
            self.outbox.queue("envelope", updated.peer, updated.envelope)
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
        body = build_receipt(held_body(original.envelope), fields=fields, details=details, attach=attach)
        out_key = body_key("out", body)
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
                new_record(out_key, State.DRAFT, original.peer, body), original=original.envelope
            )
            reason = f"receipt of {in_key}" + (f"; copies to {', '.join(copies)}" if copies else "")
            self.store.apply(record, "save", new=True, reason=reason)
        self.outbox.send(out_key, copies=tuple(copies))
        self.flush_outbox()
        return out_key

    def _redo_receipt(self, made: Record, body: VoucherBody, copies: Sequence[str]) -> RecordKey:
        """Finish a draft receipt, or re-send a refused one as its next revision."""
        key = made.key
        if made.state is State.DRAFT:
            with self.store.transaction():
                self.store.apply(replace(made, envelope=one_body_envelope(body)), None)
            self.outbox.send(key, copies=tuple(copies))
            self.flush_outbox()
            return key
        if made.state not in (State.DELIVERY_FAILED, State.SIGN_IN_FAILED, State.RETURNED):
            raise IllegalTransition(
                f"{key}: a receipt was already made for this voucher (state {made.state.value}); "
                "it can be redone only after the peer refused it (status 8, 10 or 11)"
            )
        self.outbox.sign_if_needed(body, key)
        envelope = one_body_envelope(body)
        with self.store.transaction():
            discarded = self.store.apply(self._require(key), Action.DISCARD, reason="receipt redone")
            self.outbox.notify(made.peer, "discarded", [(key, None)])
            record = new_record(key, discarded.state, made.peer, body)
            record = replace(record, revision=discarded.revision + 1, original=made.original)
            self.store.apply(record, Action.RESEND, text=envelope)
            self.outbox.queue("envelope", made.peer, envelope)
            for party in copies:
                self.outbox.queue("envelope", party, envelope, attachments=(made.original or b"",))
        self.flush_outbox()
        return key

    # --- delivery and arrival -------------------------------------------------------------

    def flush_outbox(self) -> int:
        """Send what is queued (:meth:`ezhifu.flow.outbox.Outbox.flush`); how many went out."""
        return self.outbox.flush()

    def pending_outbox(self) -> list[OutboxItem]:
        return self.outbox.pending()

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
        """Process one serialised message (:meth:`ezhifu.flow.inbox.Inbox.receive`)."""
        return self.inbox.receive(data, replay=replay)

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
        nos = _batch(voucher_nos)
        if reasons is not None and len(reasons) != len(nos):
            raise InvalidInput(f"{len(reasons)} reasons given for {len(nos)} vouchers")
        flag = "1" if receipts else "0"
        for i, no in enumerate(nos):
            key = self.key("in", flag, vt_code, no, adm_div_code=adm_div_code, st_year=st_year)
            reason = clip(reasons[i]) if reasons is not None else None
            with self.store.transaction():
                record = self._require(key)
                self.store.apply(record, action, reason=reason)
                self.outbox.notify(record.peer, _REPORTS[action].value, [(key, reason)])
        self.flush_outbox()

    def _require(self, key: RecordKey) -> Record:
        return self.store.require(key, library=self.party.party_id)

    def _peer_cert(self, party: str) -> x509.Certificate:
        cert = self.peers.get(party)
        if cert is None:
            raise FlowError(f"{party!r} is not a registered peer of {self.party.party_id}")
        return cert
