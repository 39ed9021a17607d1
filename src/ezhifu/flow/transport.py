"""Transports between voucher libraries: in memory and a drop folder, at-least-once.

The 电子凭证库 of each party exchanges messages with the others over the network (spec.md §1,
S15); the wire protocol between libraries is not public.  ezhifu therefore defines its own
small unit, :class:`Message`: a JSON document carrying an id, the kind (``"envelope"``: a
``<MOF>`` envelope; ``"notice"``: a status report such as 签收 or 退回), sender and recipient
party ids, the payload, optional attachments (the original signed voucher that a receipt
answers) and the sender library's link signature.

Delivery is *at least once*: a consumer takes deliveries with :meth:`Transport.receive` and
confirms each with :meth:`Transport.ack` only after it has durably processed it; anything taken
but not acknowledged (the consumer crashed) is handed out again after :meth:`Transport.recover`.
Duplicates are therefore possible and the receiving library drops them by message id.

A link that is down raises :class:`~ezhifu.errors.TransportError`; the library then queues the
message in its outbox (应急) and sends it on a later flush.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import json
import os
import re
import stat
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ezhifu._fileio import fsync_dir
from ezhifu.errors import InvalidInput, TransportError

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Delivery",
    "DropFolderTransport",
    "InMemoryTransport",
    "Message",
    "Transport",
    "new_message_id",
]

#: Upper bound of one serialised message (a 100-voucher envelope of large vouchers fits).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: A claimed drop-folder file not acknowledged within this many seconds is delivered again.
DEFAULT_CLAIM_TIMEOUT = 300.0
#: Stale claims put back per receive() call.
MAX_RECLAIM = 10_000

MessageKind = Literal["envelope", "notice"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# A drop-folder file name as written by DropFolderTransport.send (no separators, no leading dot).
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.msg$")
_FORMAT = "ezhifu-flow/1"


def new_message_id() -> str:
    """A fresh, file-name-safe message id."""
    return uuid.uuid4().hex


def _check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidInput(f"message {what} {value!r} is not a valid identifier ([A-Za-z0-9._-], ≤128)")
    return value


@dataclass(frozen=True, slots=True)
class Message:
    """One unit exchanged between libraries.

    ``signature`` is the sender library's signature (its link :class:`~ezhifu.crypto.base.Signer`)
    over :meth:`signed_bytes`, i.e. everything else in the message; the receiver checks it with
    the sender's registered certificate before it looks at the content.
    """

    message_id: str
    kind: MessageKind
    sender: str
    recipient: str
    payload: bytes
    attachments: tuple[bytes, ...] = ()
    created_at: str = ""
    signature: bytes | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_id(self.message_id, "id")
        _check_id(self.sender, "sender")
        _check_id(self.recipient, "recipient")
        if self.kind not in ("envelope", "notice"):
            raise InvalidInput(f"message {self.message_id}: unknown kind {self.kind!r}")

    def _fields(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "id": self.message_id,
            "kind": self.kind,
            "sender": self.sender,
            "recipient": self.recipient,
            "created_at": self.created_at,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "attachments": [base64.b64encode(a).decode("ascii") for a in self.attachments],
        }

    def signed_bytes(self) -> bytes:
        """The canonical bytes the link signature covers (sorted-key compact JSON, UTF-8)."""
        return json.dumps(self._fields(), sort_keys=True, separators=(",", ":")).encode("utf-8")

    def with_signature(self, signature: bytes) -> Message:
        return replace(self, signature=signature)

    def to_bytes(self) -> bytes:
        data = self._fields()
        if self.signature is not None:
            data["signature"] = base64.b64encode(self.signature).decode("ascii")
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> Message:
        """Parse a serialised message; :class:`InvalidInput` names what is wrong."""
        if len(data) > max_bytes:
            raise InvalidInput(f"message of {len(data)} bytes exceeds the limit of {max_bytes}")
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"message is not UTF-8 JSON: {exc}") from exc
        except RecursionError as exc:  # deeply nested arrays/objects: refuse, do not crash the poll loop
            raise InvalidInput("message JSON is nested too deeply") from exc
        if not isinstance(obj, dict) or obj.get("format") != _FORMAT:
            raise InvalidInput(f"message is not an {_FORMAT} document")

        def text(name: str) -> str:
            value = obj.get(name)
            if not isinstance(value, str):
                raise InvalidInput(f"message field {name!r} is missing or not a string")
            return value

        def b64(value: object, name: str) -> bytes:
            if not isinstance(value, str):
                raise InvalidInput(f"message field {name!r} is not Base64 text")
            try:
                return base64.b64decode(value.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError) as exc:
                raise InvalidInput(f"message field {name!r} is not valid Base64: {exc}") from exc

        attachments = obj.get("attachments", [])
        if not isinstance(attachments, list):
            raise InvalidInput("message field 'attachments' is not a list")
        signature = obj.get("signature")
        kind = text("kind")
        if kind not in ("envelope", "notice"):
            raise InvalidInput(f"message kind {kind!r} is unknown")
        return cls(
            message_id=text("id"),
            kind="envelope" if kind == "envelope" else "notice",
            sender=text("sender"),
            recipient=text("recipient"),
            created_at=text("created_at"),
            payload=b64(obj.get("payload"), "payload"),
            attachments=tuple(b64(a, f"attachments[{i}]") for i, a in enumerate(attachments)),
            signature=b64(signature, "signature") if signature is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message handed to a consumer: the raw bytes as they arrived and an ack token."""

    recipient: str
    data: bytes
    token: str


class Transport(ABC):
    """Moves serialised messages between parties, at least once."""

    @abstractmethod
    def send(self, message: Message) -> None:
        """Hand ``message`` over for delivery; :class:`TransportError` when the link is down."""

    @abstractmethod
    def receive(self, party: str, *, limit: int = 100) -> list[Delivery]:
        """Take up to ``limit`` pending deliveries for ``party``, oldest first."""

    @abstractmethod
    def ack(self, delivery: Delivery) -> None:
        """Confirm that ``delivery`` was processed; it will not be handed out again."""

    @abstractmethod
    def recover(self, party: str) -> int:
        """Return deliveries taken but never acknowledged to the queue; how many."""


class InMemoryTransport(Transport):
    """A transport inside one process (tests, the example, single-host deployments).

    ``link_up`` simulates the network: while ``False`` every :meth:`send` raises
    :class:`TransportError`.  :meth:`inject` puts raw bytes in a party's queue as if they had
    arrived from the network (used to replay or to simulate tampering in transit).
    """

    def __init__(self) -> None:
        self.link_up = True
        self._lock = threading.Lock()
        self._queues: dict[str, deque[tuple[str, bytes]]] = {}
        self._inflight: dict[str, tuple[str, bytes]] = {}

    def send(self, message: Message) -> None:
        if not self.link_up:
            raise TransportError(
                f"link down: cannot send message {message.message_id} to {message.recipient}"
            )
        self.inject(message.recipient, message.to_bytes())

    def inject(self, party: str, data: bytes) -> None:
        with self._lock:
            self._queues.setdefault(party, deque()).append((uuid.uuid4().hex, data))

    def pending(self, party: str) -> int:
        """How many deliveries wait for ``party``."""
        with self._lock:
            return len(self._queues.get(party, ()))

    def receive(self, party: str, *, limit: int = 100) -> list[Delivery]:
        out: list[Delivery] = []
        with self._lock:
            queue = self._queues.get(party)
            while queue and len(out) < limit:
                token, data = queue.popleft()
                self._inflight[token] = (party, data)
                out.append(Delivery(party, data, token))
        return out

    def ack(self, delivery: Delivery) -> None:
        with self._lock:
            self._inflight.pop(delivery.token, None)

    def recover(self, party: str) -> int:
        with self._lock:
            tokens = [t for t, (p, _) in self._inflight.items() if p == party]
            queue = self._queues.setdefault(party, deque())
            for token in reversed(tokens):
                queue.appendleft((token, self._inflight.pop(token)[1]))
        return len(tokens)


class DropFolderTransport(Transport):
    """Messages as files in per-party folders, moved atomically between stages.

    Layout under ``root``: ``<party>/tmp``, ``<party>/inbox``, ``<party>/processing`` and
    ``<party>/done``.  A sender writes the file in ``tmp``, fsyncs it, then ``os.replace``-s it
    into ``inbox`` (atomic within one file system), so a consumer never sees a partial file.
    A consumer claims a file by moving it to ``processing`` (if two consumers race, one move
    fails and that one skips it) and acknowledges by moving it to ``done``.  Files left in
    ``processing`` by a consumer that died are put back by :meth:`recover`, and by every
    :meth:`receive` once their claim is older than ``claim_timeout`` seconds (the claim time is
    the file's mtime, set when it is claimed), so nothing stays stuck without the
    application's help: at-least-once.

    The folder ``root`` must exist: a missing or unwritable root (an unmounted share) is a
    link failure, :class:`TransportError`.
    """

    _STAGES = ("tmp", "inbox", "processing", "done")

    def __init__(self, root: str | Path, *, claim_timeout: float = DEFAULT_CLAIM_TIMEOUT) -> None:
        if not claim_timeout > 0:
            raise InvalidInput(f"claim_timeout must be positive, not {claim_timeout!r}")
        self.root = Path(root)
        self.claim_timeout = claim_timeout

    @staticmethod
    def _check_token(delivery: Delivery) -> str:
        # The token names a file in <party>/processing: a plain name made by send(), never a path.
        token = delivery.token
        if not isinstance(token, str) or not _TOKEN.match(token):
            raise InvalidInput(f"delivery token {token!r} is not a drop-folder message name")
        return token

    def _dirs(self, party: str) -> dict[str, Path]:
        _check_id(party, "party")
        if not self.root.is_dir():
            raise TransportError(f"drop folder {self.root} is not available (link down?)")
        base = self.root / party
        dirs = {stage: base / stage for stage in self._STAGES}
        try:
            for path in dirs.values():
                path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(f"drop folder {base}: cannot prepare stages: {exc}") from exc
        return dirs

    def send(self, message: Message) -> None:
        dirs = self._dirs(message.recipient)
        # time-ordered, unique even when the same message is sent twice (at-least-once).
        name = f"{time.time_ns():020d}-{message.message_id}-{uuid.uuid4().hex[:8]}.msg"
        tmp = dirs["tmp"] / name
        try:
            with open(tmp, "wb") as handle:
                handle.write(message.to_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, dirs["inbox"] / name)
            fsync_dir(dirs["inbox"])
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise TransportError(f"drop folder {dirs['inbox']}: cannot deliver {name}: {exc}") from exc

    def _reclaim_stale(self, dirs: dict[str, Path]) -> int:
        """Put back claims older than :attr:`claim_timeout` (their consumer died)."""
        oldest = time.time() - self.claim_timeout
        count = 0
        try:
            stale = [p for p in dirs["processing"].glob("*.msg") if p.lstat().st_mtime < oldest]
        except OSError as exc:
            raise TransportError(f"drop folder {dirs['processing']}: cannot list: {exc}") from exc
        for path in sorted(stale)[:MAX_RECLAIM]:
            try:
                os.replace(path, dirs["inbox"] / path.name)
                count += 1
            except FileNotFoundError:
                continue  # acknowledged or reclaimed by another consumer meanwhile
            except OSError as exc:
                raise TransportError(f"drop folder {path}: cannot return to inbox: {exc}") from exc
        return count

    def receive(self, party: str, *, limit: int = 100) -> list[Delivery]:
        dirs = self._dirs(party)
        self._reclaim_stale(dirs)
        out: list[Delivery] = []
        try:
            # Only names send() makes: anything else planted in the shared folder is left alone.
            names = sorted(p.name for p in dirs["inbox"].iterdir() if _TOKEN.match(p.name))
        except OSError as exc:
            raise TransportError(f"drop folder {dirs['inbox']}: cannot list: {exc}") from exc
        for name in names:
            if len(out) >= limit:
                break
            claimed = dirs["processing"] / name
            try:
                os.replace(dirs["inbox"] / name, claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            except OSError as exc:
                raise TransportError(f"drop folder {dirs['inbox']}: cannot claim {name}: {exc}") from exc
            with contextlib.suppress(OSError):
                os.utime(claimed, follow_symlinks=False)  # the claim time, for _reclaim_stale
            data = self._read_claimed(claimed)
            out.append(Delivery(party, data, name))
        return out

    @staticmethod
    def _read_claimed(claimed: Path) -> bytes:
        """The bytes of a claimed file, read safely from a folder other parties can write.

        A symbolic link or other non-regular file planted in the shared folder is not followed:
        it is delivered as empty bytes, which the consumer rejects as unreadable and
        acknowledges, so it neither leaks a local file nor blocks the queue. At most
        :data:`MAX_MESSAGE_BYTES` + 1 bytes are read; :meth:`Message.from_bytes` refuses more.
        """
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            if not stat.S_ISREG(os.lstat(claimed).st_mode):
                return b""
            fd = os.open(claimed, flags)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # replaced by a link between lstat and open
                return b""
            raise TransportError(f"drop folder {claimed}: cannot read: {exc}") from exc
        try:
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    return b""
                return handle.read(MAX_MESSAGE_BYTES + 1)
        except OSError as exc:
            raise TransportError(f"drop folder {claimed}: cannot read: {exc}") from exc

    def ack(self, delivery: Delivery) -> None:
        token = self._check_token(delivery)
        dirs = self._dirs(delivery.recipient)
        try:
            os.replace(dirs["processing"] / token, dirs["done"] / token)
        except FileNotFoundError:
            return  # already acknowledged
        except OSError as exc:
            raise TransportError(f"drop folder {dirs['processing']}: cannot ack {token}: {exc}") from exc

    def recover(self, party: str) -> int:
        dirs = self._dirs(party)
        count = 0
        for path in sorted(dirs["processing"].glob("*.msg")):
            try:
                os.replace(path, dirs["inbox"] / path.name)
                count += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise TransportError(f"drop folder {path}: cannot return to inbox: {exc}") from exc
        return count

    def stage_files(self, party: str, stage: str) -> list[str]:
        """File names in one stage folder of ``party`` (for operators and tests)."""
        if stage not in self._STAGES:
            raise InvalidInput(f"unknown drop-folder stage {stage!r} (one of {', '.join(self._STAGES)})")
        return sorted(p.name for p in self._dirs(party)[stage].iterdir())
