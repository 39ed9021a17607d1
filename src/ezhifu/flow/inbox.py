"""The inbox of a voucher library: accepting and checking incoming messages.

In order, a message must: parse; be addressed to this party; come from a registered peer whose
certificate still chains to the trust store under the policy; carry that peer's valid link
signature (so a message altered in transit is refused before its content is looked at); not be
a message already processed (duplicates from at-least-once delivery are dropped by id). Every
voucher body must then verify (:func:`ezhifu.verify.envelope.verify_body`: every signature and
seal, envelope attributes against the signed voucher, positions against the template's
:class:`~ezhifu.document.positions.PositionTable`), be signed by the sender's own certificates
when those are configured, and validate against the field data
(:func:`ezhifu.document.validation.iter_errors`); a receipt must also be bound to the original
voucher (:func:`ezhifu.flow.receipts.receipt_problems`). Whatever fails is kept in the rejection
log with its reason and the raw bytes, never silently dropped, and nothing of it reaches the
records. Each message is processed in one store transaction (spec.md §6, §8.3).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.positions import PositionTable
from ezhifu.document.validation import iter_errors
from ezhifu.errors import EzhifuError, HookRefused, IllegalTransition, InvalidInput, InvalidSignature
from ezhifu.flow.hooks import VoucherHook, run_hooks
from ezhifu.flow.outbox import LibraryOwner, LibraryPart, Outbox, clip, key_from_json
from ezhifu.flow.receipts import receipt_problems
from ezhifu.flow.status import (
    Action,
    Record,
    RecordKey,
    Rejection,
    State,
    body_key,
    held_body,
    new_record,
    one_body_envelope,
    path_to,
    utc_now,
)
from ezhifu.flow.store import VoucherStore
from ezhifu.flow.transport import Message
from ezhifu.pki.path import validate_chain
from ezhifu.pki.signer import verify_signature
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.results import SignerInfo
from ezhifu.verify.envelope import verify_body

if TYPE_CHECKING:
    from asn1crypto import x509

__all__ = ["MAX_NOTICE_ITEMS", "MAX_REASONS", "Inbox", "InboxOwner", "Outcome"]

#: At most this many reasons are joined into one outcome's detail (the log keeps every one).
MAX_REASONS = 100
#: Most voucher references one notice may carry (a batch operation takes at most 10,000).
MAX_NOTICE_ITEMS = 10_000
#: Marks a body whose signer party is not known (a copy's attached original, which may come
#: from a party this library has no certificates for); the trust store still applies.
_ANY_PARTY = "*"
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


class InboxOwner(LibraryOwner, Protocol):
    """What the inbox reads of its library (read at each message: configuration may change)."""

    trust: TrustStore
    policy: VerifyPolicy
    peers: dict[str, x509.Certificate]
    party_certs: dict[str, set[tuple[str, int]]] | None
    verify_at: datetime | None
    stamp_positions: PositionTable
    hooks: tuple[VoucherHook, ...]
    peer_vt_codes: dict[str, frozenset[str]]

    @property
    def outbox(self) -> Outbox: ...


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


class _Context:
    """Collects what processing one message did (accepted keys, notes, rejections)."""

    def __init__(self, store: VoucherStore, message: Message, raw: bytes) -> None:
        self.store = store
        self.message = message
        self.raw = raw
        self.mid = message.message_id
        self.keys: list[RecordKey] = []
        self.notes: list[str] = []
        self.rejected: list[str] = []
        self.verified = 0

    def reject(self, reason: str) -> None:
        self.rejected.append(reason)
        self.store.add_rejection(
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
            return Outcome(self.mid, False, "; ".join(self.rejected[:MAX_REASONS]), tuple(self.keys))
        detail = (
            "; ".join(self.notes[:MAX_REASONS])
            or f"{self.message.kind} accepted ({len(self.keys)} voucher(s))"
        )
        if self.verified:
            detail += f", {self.verified} signature(s) and seal(s) verified"
        return Outcome(self.mid, True, detail, tuple(self.keys))


def _signer_id(info: SignerInfo) -> tuple[str, int]:
    """(issuer name, serial) of a result's signer, to compare with configured certificates."""
    return (info.issuer, int(info.serial_hex, 16))


def _peer_reason(value: object) -> str | None:
    """A reason sent by a peer: text or nothing, cut like our own (S2's 190 bytes)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"reason must be text, not {type(value).__name__}")
    return clip(value)


class Inbox(LibraryPart[InboxOwner]):
    """Accepts and checks what arrives for one library (see the module docstring)."""

    def _notify(self, recipient: str, action: str, items: Sequence[tuple[RecordKey, str | None]]) -> None:
        self._owner.outbox.notify(recipient, action, items)

    # --- one message --------------------------------------------------------------------------

    def receive(self, data: bytes, *, replay: bool = False) -> Outcome:
        """Process one serialised message: authenticate it, then its content in one transaction,
        then flush the outbox (the answers it queued: delivered, receive failed …)."""
        try:
            message = Message.from_bytes(data)
        except InvalidInput as exc:
            return self._reject_raw(data, None, None, None, f"unreadable message: {exc}")
        refusal = self._authenticate(message)
        if refusal is not None:
            return self._reject_raw(data, message.message_id, message.sender, message.kind, refusal)
        mid = message.message_id
        with self._store.transaction():
            prior = self._store.seen(mid)
            if prior is not None and not (replay and prior.startswith("rejected")):
                return Outcome(mid, True, f"duplicate of message already processed ({prior})", duplicate=True)
            ctx = _Context(self._store, message, data)
            if message.kind == "envelope":
                self._handle_envelope(ctx)
            else:
                self._handle_notice(ctx)
            outcome = ctx.outcome()
            summary = ("accepted: " if outcome.accepted else "rejected: ") + outcome.detail
            self._store.mark_seen(mid, summary[:500], replace=prior is not None)
        self._owner.outbox.flush()
        return outcome

    def _authenticate(self, message: Message) -> str | None:
        """Why the message may not be looked at (addressee, sender, its certificate, the link
        signature), or ``None``."""
        owner, sender = self._owner, message.sender
        if message.recipient != owner.party.party_id:
            return f"addressed to {message.recipient!r}, not {owner.party.party_id!r}"
        cert = owner.peers.get(sender)
        if cert is None:
            return f"sender {sender!r} is not a registered peer"
        if message.signature is None:
            return "message carries no link signature"
        chain = validate_chain(cert, trust=owner.trust, policy=owner.policy, at=owner.verify_at)
        if not chain.trusted:
            return f"registered certificate of {sender!r} is not valid: {chain.reason}"
        try:
            verify_signature(cert, message.signed_bytes(), message.signature)
        except (InvalidSignature, InvalidInput) as exc:
            why = f"altered in transit or not from {sender}"
            return f"link signature of {sender!r} does not verify ({why}): {exc}"
        return None

    def _reject_raw(
        self, data: bytes, mid: str | None, sender: str | None, kind: str | None, reason: str
    ) -> Outcome:
        self._store.add_rejection(Rejection(uuid.uuid4().hex, mid, sender, kind, reason, data, utc_now()))
        return Outcome(mid, False, reason)

    # --- envelopes ----------------------------------------------------------------------------

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
            allowed = self._owner.peer_vt_codes.get(ctx.message.sender)
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
                self._notify(ctx.message.sender, "receive_failed", [(body_key("out", body), problems[0])])
                continue
            try:
                run_hooks(self._owner.hooks, "on_receipt", body_key("in", body), body)
            except HookRefused as exc:
                ctx.reject(f"{label}: {exc}")
                self._notify(ctx.message.sender, "receive_failed", [(body_key("out", body), str(exc))])
                continue
            if body.voucher_flag == "0":
                self._accept_voucher(ctx, body)
            else:
                self._accept_receipt(ctx, body)

    def _check_body(self, body: VoucherBody, ctx: _Context, *, signer_party: str | None = None) -> list[str]:
        """Signatures, seals, envelope attributes, who signed, then the document's validity.

        ``signer_party`` is the party whose certificates must have made every signature and
        seal (default: the message's sender), checked when the library's ``party_certs`` is set.
        """
        owner = self._owner
        positions = owner.stamp_positions if len(owner.stamp_positions) else None
        result = verify_body(
            body, trust=owner.trust, policy=owner.policy, positions=positions, at=owner.verify_at
        )
        if not result.valid:
            return list(result.reasons) or ["verification failed"]
        if owner.party_certs is not None and signer_party != _ANY_PARTY:
            party = signer_party or ctx.message.sender
            allowed = owner.party_certs.get(party, set())
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
            issues = list(iter_errors(one_body_envelope(body)))
        except EzhifuError as exc:
            return [f"cannot be validated: {exc}"]
        return [str(i) for i in issues]

    def _accept_voucher(self, ctx: _Context, body: VoucherBody) -> None:
        key = body_key("in", body)
        existing = self._store.get(key)
        sender = ctx.message.sender
        if existing is None:
            self._store_received(new_record(key, State.RECEIVED, sender, body), ctx)
        elif existing.peer != sender:
            ctx.reject(f"{key}: already received from {existing.peer}, now sent by {sender}")
            return
        elif existing.state is State.DISCARDED:
            # the next revision, even with the unchanged text (issue 16: it stayed at 0 for good)
            self._receive_revision(ctx, existing, body)
        elif held_body(existing.envelope).voucher_b64 == body.voucher_b64:
            # A re-transmission (e.g. after a damaged copy was refused): nothing changes here,
            # but the sender learns again where the voucher stands.
            ctx.note(key, f"{key}: same voucher text already held (state {existing.state.value}); no change")
            report = _STATE_REPORTS.get(existing.state)
            if report is not None:
                self._notify(sender, report.value, [(body_key("out", body), existing.reason)])
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
        record = new_record(existing.key, existing.state, existing.peer, body)
        self._store.apply(
            replace(record, revision=revision, original=original or existing.original),
            Action.RECEIVE,
            message_id=ctx.mid,
            reason=f"revision {revision} after discard",
            text=one_body_envelope(body),
        )

    def _accept_receipt(self, ctx: _Context, body: VoucherBody) -> None:
        key = body_key("in", body)
        original_key = replace(key, voucher_flag="0", direction="out")
        original = self._store.get(original_key)
        sender = ctx.message.sender
        if original is None:
            original_env = self._attached_original(ctx, body)
            if original_env is None:
                return
        elif original.peer != sender:
            ctx.reject(f"{key}: receipt from {sender}, but the voucher was sent to {original.peer}")
            return
        else:
            original_env = original.envelope
        problems = receipt_problems(held_body(original_env).voucher, body.voucher)
        if problems:
            ctx.reject(f"{key}: not a receipt of the voucher sent: " + "; ".join(problems))
            self._notify(sender, "receive_failed", [(body_key("out", body), problems[0])])
            return
        existing = self._store.get(key)
        if existing is not None and existing.state is State.DISCARDED and existing.peer == sender:
            # a receipt redone by its sender after this library refused it (issue 16)
            self._receive_revision(ctx, existing, body, original_env)
            self._acknowledge(ctx, key, body)
            return
        if existing is not None:
            if held_body(existing.envelope).voucher_b64 == body.voucher_b64:
                ctx.note(key, f"{key}: same receipt already held (state {existing.state.value}); no change")
            else:
                ctx.reject(f"{key}: a different receipt is already held (state {existing.state.value})")
            return
        if original is not None and not self._mark_receipted(ctx, key, original):
            return
        self._store_received(
            replace(new_record(key, State.RECEIVED, sender, body), original=original_env), ctx
        )
        self._acknowledge(ctx, key, body)

    def _mark_receipted(self, ctx: _Context, key: RecordKey, original: Record) -> bool:
        """Move the voucher this library sent to RECEIPTED; ``False`` (rejected) if it cannot."""
        steps = path_to(original.key, original.state, Action.RECEIPTED)
        if not steps:
            ctx.reject(
                f"{key}: a receipt does not fit the voucher's state {original.state.value} "
                "(returned, discarded or never delivered)"
            )
            return False
        current = original
        for step in steps:
            current = self._store.apply(current, step, message_id=ctx.mid)
        return True

    def _store_received(self, record: Record, ctx: _Context) -> None:
        """Keep a newly received voucher or receipt as revision 1, with its history entry."""
        self._store.apply(record, "receive", new=True, message_id=ctx.mid, text=record.envelope)

    def _acknowledge(self, ctx: _Context, key: RecordKey, body: VoucherBody) -> None:
        """Count ``key`` as accepted and tell the sender its voucher was delivered (已送达)."""
        ctx.accepted(key)
        self._notify(ctx.message.sender, "delivered", [(body_key("out", body), None)])

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
        return one_body_envelope(original_body)

    # --- notices ------------------------------------------------------------------------------

    def _handle_notice(self, ctx: _Context) -> None:
        try:
            payload = json.loads(ctx.message.payload.decode("utf-8"))
            action = Action(payload["action"])
            if action not in _NOTICE_ACTIONS:
                raise ValueError(f"action {action.value!r} is not a notice")
            if not isinstance(payload["items"], list) or len(payload["items"]) > MAX_NOTICE_ITEMS:
                raise ValueError(f"items must be a list of at most {MAX_NOTICE_ITEMS} voucher references")
            items = [(key_from_json(i), _peer_reason(i.get("reason"))) for i in payload["items"]]
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError, InvalidInput) as exc:
            ctx.reject(f"notice cannot be read: {exc}")
            return
        for their_key, reason in items:
            if action is Action.DISCARDED:
                self._discarded(ctx, replace(their_key, direction="in"))
            else:
                self._report(ctx, action, replace(their_key, direction="out"), reason)

    def _discarded(self, ctx: _Context, key: RecordKey) -> None:
        """The sender discarded (作废) a voucher it sent here."""
        sender = ctx.message.sender
        record = self._store.get(key)
        if record is None or record.peer != sender:
            ctx.reject(f"discard notice from {sender} for {key}, which it never sent here")
            return
        try:
            self._store.apply(record, Action.DISCARDED, message_id=ctx.mid)
        except IllegalTransition as exc:
            ctx.reject(str(exc))
            return
        ctx.accepted(key)

    def _report(self, ctx: _Context, action: Action, key: RecordKey, reason: str | None) -> None:
        """A peer's report on a voucher this library sent (delivered, signed in, returned …)."""
        sender = ctx.message.sender
        record = self._store.get(key)
        if record is None:
            ctx.reject(f"{action.value} report from {sender} for {key}, which this library never sent")
            return
        if record.peer != sender:
            # A copy recipient reporting on a receipt: noted in the history, no state change.
            note = f"from copy recipient {sender}" + (f": {reason}" if reason else "")
            self._store.apply(record, f"report:{action.value}", reason=note, message_id=ctx.mid)
            ctx.accepted(key)
            return
        steps = path_to(key, record.state, action)
        if steps is None:
            ctx.reject(f"{action.value} report from {sender} contradicts {key} in state {record.state.value}")
            return
        if not steps:
            stale = "report already reflected (late or duplicate); state unchanged"
            self._store.apply(record, f"stale:{action.value}", reason=stale, message_id=ctx.mid)
        current = record
        for step in steps:
            current = self._store.apply(
                current, step, message_id=ctx.mid, reason=reason if step is steps[-1] else None
            )
        ctx.accepted(key)


def party_cert_ids(party_certs: Mapping[str, Sequence[x509.Certificate]]) -> dict[str, set[tuple[str, int]]]:
    """Each party's certificates as (issuer name, serial), what :class:`Inbox` compares signers with."""
    return {
        party: {(c.issuer.human_friendly, c.serial_number) for c in certs}
        for party, certs in party_certs.items()
    }
