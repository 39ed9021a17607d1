"""A tamper-evident audit trail of key use (电子审计).

Every use of a key and every refusal is appended as one :class:`AuditEntry` (time, actor,
alias, operation, position, VtCode, voucher number, outcome, reason; never a secret).
Entries form a hash chain with SM3 (GB/T 32905-2016)::

    hash_0 = 32 zero octets
    hash_i = SM3(hash_{i-1} || canonical(entry_i))

where ``canonical`` is the UTF-8 JSON of the entry's fields (sorted keys, no spaces) including
its sequence number and ``hash_{i-1}``. Each ``hash_i`` is authenticated with HMAC-SM3
(RFC 2104 over SM3) under a key held by the caller, so someone who can write the database but
does not hold the key cannot rebuild a consistent chain after changing it.

Truncation (dropping the newest entries) leaves a valid prefix chain, so the log also keeps
an anchored *head* (entry count and last hash, MACed) written in the same transaction as the
entry. Rolling the database back to an older copy, or deleting every row, is only detectable
against a head kept elsewhere: the head file beside the database (``head_file``) and witness
lines copied to another system (:mod:`ezhifu.keystore.audit_head`), passed to
:func:`verify_audit` as ``anchors`` (or a head as ``expected_head``).

Storage is pluggable (:class:`AuditStorage`); :class:`SQLiteAuditStorage` (stdlib ``sqlite3``)
is the default and :class:`MemoryAuditStorage` serves tests.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ezhifu._closing import Closing
from ezhifu.crypto.sm3 import hmac_sm3, sm3
from ezhifu.errors import (
    AuditChainBroken,
    AuditRolledBack,
    ConfigurationError,
    EzhifuError,
    KeyStoreRolledBack,
)
from ezhifu.keystore.audit_head import (
    HeadRecord,
    check_head_file_current,
    default_head_path,
    read_head_file,
    update_head_file,
)
from ezhifu.keystore.audit_store import (
    GENESIS_HASH,
    AuditEntry,
    AuditHead,
    AuditStorage,
    MemoryAuditStorage,
    SQLiteAuditStorage,
    head_message,
)
from ezhifu.keystore.integrity import same_text

if TYPE_CHECKING:
    from asn1crypto import x509

    from ezhifu.crypto.base import SignatureAlgorithm, Signer

__all__ = [
    "GENESIS_HASH",
    "AuditChainBroken",
    "AuditEntry",
    "AuditHead",
    "AuditLog",
    "AuditReport",
    "AuditRolledBack",
    "AuditStorage",
    "AuditedSigner",
    "HeadRecord",
    "MemoryAuditStorage",
    "SQLiteAuditStorage",
    "audit_context",
    "verify_audit",
]

_OUTCOMES = ("ok", "refused", "error")
_MIN_KEY_BYTES = 16


@dataclass(frozen=True, slots=True)
class AuditReport:
    """A verified log: ``count`` entries ending in ``head_hash``.

    ``macs_checked`` is False when verified without the key (hash chain only); ``anchors``
    names the heads kept outside the trail it was checked against.
    """

    count: int
    head_hash: str
    macs_checked: bool = True
    anchors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "entries": self.count,
            "head_hash": self.head_hash,
            "macs_checked": self.macs_checked,
            "anchors": list(self.anchors),
        }

    @property
    def head(self) -> AuditHead:
        return AuditHead(self.count, self.head_hash)


class AuditLog(Closing):
    """Appends authenticated entries to a storage and verifies them.

    ``key`` is the HMAC-SM3 key (at least 16 bytes), held by the caller or derived from
    the keystore's secret; it is never stored in the log. ``head_file`` (a path, or ``True``
    for ``<database>.head`` beside an SQLite trail) keeps the head outside the database
    (:mod:`ezhifu.keystore.audit_head`): it is rewritten after every entry, an append to a
    trail older than it is refused (:class:`AuditRolledBack`), :meth:`verify` checks against
    it, and it remembers the generation of every keystore bound with :meth:`bind_keystore`.
    Thread-safe.
    """

    def __init__(
        self,
        storage: AuditStorage | str | PathLike[str],
        key: bytes,
        *,
        actor: str = "",
        clock: Callable[[], datetime] | None = None,
        head_file: str | PathLike[str] | bool | None = None,
    ) -> None:
        if len(key) < _MIN_KEY_BYTES:
            raise ConfigurationError(f"audit log: the MAC key must be at least {_MIN_KEY_BYTES} bytes")
        if isinstance(storage, (str, PathLike)):
            storage = SQLiteAuditStorage(storage)
        self.storage: AuditStorage = storage
        self.actor = actor
        self._key = bytes(key)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self.head_file: Path | None = None
        if head_file is True:
            if not isinstance(storage, SQLiteAuditStorage) or str(storage.path) in (":memory:", ""):
                raise ConfigurationError("audit log: head_file=True needs an SQLite trail in a file")
            self.head_file = default_head_path(storage.path)
        elif head_file not in (None, False):
            self.head_file = Path(head_file)  # type: ignore[arg-type]
        if self.head_file is not None and read_head_file(self.head_file, self._key) is None:
            # First use: the head file starts from the trail's current head (trust on first use;
            # a deleted head file is only noticed against a witness, see audit_head).
            head = self.storage.head()
            if head is not None:
                self._check_head(head)
            seq, last = (head.count, head.last_hash) if head is not None else (0, GENESIS_HASH.hex())
            update_head_file(self.head_file, self._key, seq=seq, last_hash=last)

    def record(
        self,
        operation: str,
        outcome: str,
        *,
        actor: str | None = None,
        alias: str = "",
        position: str = "",
        vt_code: str = "",
        voucher_no: str = "",
        reason: str = "",
    ) -> AuditEntry:
        """Append one entry; ``outcome`` is ``"ok"``, ``"refused"`` or ``"error"``."""
        if outcome not in _OUTCOMES:
            raise ConfigurationError(f"audit log: outcome must be one of {_OUTCOMES}, not {outcome!r}")
        when = self._clock().astimezone(UTC).isoformat(timespec="microseconds")

        def build(head: AuditHead | None) -> tuple[AuditEntry, AuditHead]:
            if head is None:
                count, prev = 0, GENESIS_HASH.hex()
            else:
                self._check_head(head)
                count, prev = head.count, head.last_hash
            if outside is not None and count < outside.seq:
                raise AuditRolledBack(
                    f"audit log: 审计记录被删除或回滚 / the trail holds {count} entries but its head file "
                    f"{outside.source} records {outside.seq}: refusing to append to an older copy"
                )
            draft = AuditEntry(
                seq=count + 1,
                time=when,
                actor=self.actor if actor is None else actor,
                alias=alias,
                operation=operation,
                position=position,
                vt_code=vt_code,
                voucher_no=voucher_no,
                outcome=outcome,
                reason=reason,
                prev_hash=prev,
            )
            digest = draft.compute_hash()
            entry = AuditEntry(
                **{**asdict(draft), "entry_hash": digest.hex(), "mac": hmac_sm3(self._key, digest).hex()}
            )
            new_head = AuditHead(count + 1, digest.hex())
            return entry, AuditHead(new_head.count, new_head.last_hash, self._head_mac(new_head))

        with self._lock:
            outside = None if self.head_file is None else read_head_file(self.head_file, self._key)
            entry = self.storage.append(build)
            if self.head_file is not None:
                update_head_file(
                    self.head_file, self._key, seq=entry.seq, last_hash=entry.entry_hash, time=when
                )
            return entry

    def _head_mac(self, head: AuditHead) -> str:
        return hmac_sm3(self._key, head.message()).hex()

    def _check_head(self, head: AuditHead) -> None:
        message = head_message(head)
        if message is None or not same_text(hmac_sm3(self._key, message).hex(), head.mac):
            raise AuditChainBroken(
                "audit log: 链头被修改 / the stored head does not authenticate (edited)", seq=None
            )

    def head(self) -> AuditHead | None:
        """The current authenticated head; keep a copy elsewhere to detect roll-back."""
        return self.storage.head()

    def outside_head(self) -> HeadRecord | None:
        """The head file's record (``None`` without a head file or before the first entry)."""
        return None if self.head_file is None else read_head_file(self.head_file, self._key)

    def witness_line(self, witness_key: bytes | None = None) -> str:
        """The current head as one line for a witness (see :mod:`ezhifu.keystore.audit_head`)."""
        with self._lock:
            record = self.outside_head()
            head = self.storage.head()
            if head is not None:
                self._check_head(head)
                stores = record.keystores if record is not None else {}
                time = record.time if record is not None and record.seq == head.count else ""
                record = HeadRecord(head.count, head.last_hash, time, stores)
            if record is None:
                record = HeadRecord(0, GENESIS_HASH.hex())
            return record.witness_line(witness_key)

    # -- keystores bound to the trail ----------------------------------------------------

    def bind_keystore(self, store_id: str, generation: int, *, where: str) -> None:
        """Refuse a keystore older than the head file remembers (:class:`KeyStoreRolledBack`).

        A newer generation (written while the store was not bound to this trail) is accepted
        and recorded. Without a head file there is nothing outside the trail to compare with.
        """
        if self.head_file is None:
            return
        with self._lock:
            record = self.outside_head()
            known = None if record is None else record.keystores.get(store_id)
            if known is not None and generation < known:
                self.record(
                    "keystore-open",
                    "refused",
                    reason=f"keystore {store_id}: generation {generation} < {known} (older copy)",
                )
                raise KeyStoreRolledBack(
                    f"{where}: 密钥库已回滚到旧副本 / keystore rolled back: generation {generation} is older "
                    f"than the {known} recorded in {record.source if record else ''}; "
                    "a removed key or an older key set would come back"
                )
            if known is None or generation > known:
                self.keystore_written(
                    store_id, generation, note="first seen" if known is None else "advanced"
                )

    def keystore_written(self, store_id: str, generation: int, *, note: str = "write") -> None:
        """Record that keystore ``store_id`` reached ``generation`` and remember it in the head file."""
        with self._lock:
            self.record(
                "keystore-write", "ok", reason=f"keystore {store_id} generation {generation} ({note})"
            )
            if self.head_file is not None:
                update_head_file(self.head_file, self._key, keystore=(store_id, generation))

    def wrap_signer(self, signer: Signer, *, alias: str, where: str) -> Signer:
        """``signer``, recording every use of its private key in this trail."""
        return AuditedSigner(signer, self, alias=alias, where=where)

    def entries(self) -> list[AuditEntry]:
        return list(self.storage.entries())

    def verify(
        self, *, expected_head: AuditHead | None = None, anchors: Sequence[HeadRecord] = ()
    ) -> AuditReport:
        """See :func:`verify_audit`; the head file, when configured, is one of the anchors."""
        with self._lock:
            record = self.outside_head()
            extra = [record, *anchors] if record is not None else list(anchors)
            report = verify_audit(self.storage, self._key, expected_head=expected_head, anchors=extra)
            if record is not None:  # a rolled-back head file hides a keystore rollback
                check_head_file_current(record, list(anchors))
            return report

    def close(self) -> None:
        self.storage.close()


class AuditJournal:
    """A register kept on its own :class:`AuditLog` (the monitor's case log, the contingency
    register): opens the chain under :attr:`ACTOR`, and verifies and closes it."""

    #: the ``actor`` of the chain's entries (set by each subclass)
    ACTOR: str = "audit"

    def __init__(
        self,
        storage: AuditStorage | str | PathLike[str],
        key: bytes,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._log = AuditLog(storage, key, actor=self.ACTOR, clock=clock)

    def verify(self) -> AuditReport:
        """Check the whole chain (:func:`verify_audit`)."""
        return self._log.verify()

    def close(self) -> None:
        self._log.close()


@dataclass(frozen=True, slots=True)
class _Context:
    operation: str = "key-use"
    position: str = ""
    vt_code: str = ""
    voucher_no: str = ""


_NO_CONTEXT = _Context()
_CONTEXT: contextvars.ContextVar[_Context | None] = contextvars.ContextVar(
    "ezhifu_audit_context", default=None
)


@contextlib.contextmanager
def audit_context(
    operation: str = "key-use", *, position: str = "", vt_code: str = "", voucher_no: str = ""
) -> Iterator[None]:
    """Name what the key uses inside the block are for (they are recorded with it)."""
    token = _CONTEXT.set(_Context(operation, position, vt_code, voucher_no))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class AuditedSigner:
    """A :class:`~ezhifu.crypto.base.Signer` whose every ``sign()`` is appended to an audit trail.

    The signature is returned only after its ``ok`` entry is written; if the trail cannot
    take it, :class:`ezhifu.errors.AuditError` is raised and the signature is dropped. A
    failed signature is recorded as ``error``. Other attributes are those of the wrapped signer.
    """

    def __init__(self, signer: Signer, audit: AuditLog, *, alias: str, where: str = "") -> None:
        self._inner = signer
        self._audit = audit
        self.alias = alias
        self.where = where

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return self._inner.algorithm

    @property
    def certificate(self) -> x509.Certificate | None:
        return self._inner.certificate

    @property
    def wrapped(self) -> Signer:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def sign(self, data: bytes) -> bytes:
        context = _CONTEXT.get() or _NO_CONTEXT
        fields = {
            "alias": self.alias,
            "position": context.position,
            "vt_code": context.vt_code,
            "voucher_no": context.voucher_no,
        }
        where = f"{self.where}; " if self.where else ""
        what = f"{where}{self.algorithm.name}; sm3(data)={sm3(bytes(data)).hex()}"
        try:
            signature = self._inner.sign(data)
        except EzhifuError as exc:
            self._audit.record(
                context.operation, "error", reason=f"{what}; {type(exc).__name__}: {exc}"[:500], **fields
            )
            raise
        self._audit.record(context.operation, "ok", reason=what, **fields)
        return signature


def verify_audit(
    storage: AuditStorage,
    key: bytes | None,
    *,
    expected_head: AuditHead | None = None,
    anchors: Sequence[HeadRecord] = (),
) -> AuditReport:
    """Check the whole chain; raise :class:`AuditChainBroken` naming the first bad entry.

    Steps: sequence numbers run 1, 2, 3 ... without gaps (a deleted or reordered entry
    breaks this or the chain); each entry's ``prev_hash`` is the previous entry's hash; the
    SM3 hash recomputed over the canonical entry matches ``entry_hash``; the HMAC-SM3 over it
    authenticates (an edited entry); the stored head authenticates and names the last entry
    and the count (a truncated log). With ``expected_head`` (a head kept elsewhere) the log
    must contain that head at its position, so a log rolled back to an older head is caught.
    ``anchors`` are heads kept outside the database (the head file, witness lines:
    :mod:`ezhifu.keystore.audit_head`); each must lie on the chain, else
    :class:`AuditRolledBack` (fewer entries than the anchor: every row deleted, truncated, an
    older copy restored) or a rewritten-history break. Without ``key`` (``None``) the MACs are
    not checked and the report says so: the hash chain alone can be rebuilt by anyone who can
    write the database.
    """
    wanted = {a.seq for a in anchors}
    if expected_head is not None:
        wanted.add(expected_head.count)
    count, prev, hashes_at = _check_entries(storage, key, wanted)
    _check_stored_head(storage.head(), key, count, prev)
    if expected_head is not None:
        if count < expected_head.count:
            raise AuditChainBroken(
                f"audit log: 审计记录被截断或回滚 / {count} entries, fewer than the "
                f"{expected_head.count} of the expected head (truncated or rolled back)",
                seq=count + 1,
            )
        expected_hash = hashes_at.get(expected_head.count, "")
        if expected_head.count and not same_text(expected_hash, expected_head.last_hash):
            raise AuditChainBroken(
                f"audit entry {expected_head.count}: 审计历史被改写 / "
                "differs from the expected head (rewritten history)",
                seq=expected_head.count,
            )
    for anchor in anchors:
        _check_anchor(anchor, count, hashes_at)
    return AuditReport(count, prev, key is not None, tuple(a.source for a in anchors))


def _check_entries(
    storage: AuditStorage, key: bytes | None, wanted: set[int]
) -> tuple[int, str, dict[int, str]]:
    """Walk the entries: (count, hash of the last, {seq: hash} for the ``wanted`` seqs)."""
    prev = GENESIS_HASH.hex()
    count = 0
    hashes_at: dict[int, str] = {}
    for entry in storage.entries():
        count += 1
        where = f"audit entry {count}"
        if entry.seq != count:
            raise AuditChainBroken(
                f"{where}: 序号不连续 / has sequence number {entry.seq} "
                "(an entry was deleted, inserted or reordered)",
                seq=count,
            )
        if not same_text(prev, entry.prev_hash):
            raise AuditChainBroken(
                f"{where}: 哈希链断裂 / does not chain to entry {count - 1} "
                "(edited, reordered or an entry deleted)",
                seq=count,
            )
        try:
            digest = entry.compute_hash()
        except (ValueError, TypeError) as exc:  # a field of the wrong type: edited in storage
            raise AuditChainBroken(f"{where}: 记录已损坏 / damaged ({exc})", seq=count) from exc
        if not same_text(digest.hex(), entry.entry_hash):
            raise AuditChainBroken(
                f"{where}: 记录被修改 / content does not match its hash (edited)", seq=count
            )
        if key is not None and not same_text(hmac_sm3(key, digest).hex(), entry.mac):
            raise AuditChainBroken(
                f"{where}: MAC 校验失败 / MAC does not authenticate (edited, or wrong key)", seq=count
            )
        prev = entry.entry_hash
        if count in wanted:
            hashes_at[count] = prev
    return count, prev, hashes_at


def _check_stored_head(head: AuditHead | None, key: bytes | None, count: int, prev: str) -> None:
    if head is None:
        if count:
            raise AuditChainBroken(
                f"audit log: 链头被删除 / {count} entries but no head (head deleted)", seq=None
            )
        return
    message = head_message(head)
    if message is None or (key is not None and not same_text(hmac_sm3(key, message).hex(), head.mac)):
        raise AuditChainBroken(
            "audit log: 链头被修改 / the stored head does not authenticate (edited)", seq=None
        )
    if head.count != count or not same_text(prev, head.last_hash):
        raise AuditChainBroken(
            f"audit log: 审计记录被截断 / the head records {head.count} entries but {count} are present "
            f"(truncated or entries removed after entry {min(count, head.count)})",
            seq=min(count, head.count) + 1,
        )


def _check_anchor(anchor: HeadRecord, count: int, hashes_at: Mapping[int, str]) -> None:
    if count < anchor.seq:
        raise AuditRolledBack(
            f"{anchor.source}: 审计记录被删除或回滚 / the trail holds {count} entries, fewer than the "
            f"{anchor.seq} this head records (rows deleted, truncated, or an older copy restored)"
        )
    if anchor.seq and not same_text(hashes_at.get(anchor.seq, ""), anchor.last_hash):
        raise AuditChainBroken(
            f"{anchor.source}: 审计历史被改写 / audit entry {anchor.seq} differs from this head "
            "(history rewritten after the head was taken)",
            seq=anchor.seq,
        )
