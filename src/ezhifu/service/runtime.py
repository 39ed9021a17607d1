"""Everything one party's service runs on, built from its configuration (docs/service.md).

:class:`Runtime` opens the keystore (the party's SafeBox, spec.md §7), the trust store, the
voucher store (SQLite by default, PostgreSQL when configured), the HTTP transport to the peers
and the :class:`~ezhifu.flow.library.VoucherLibrary`; a background thread flushes the outbox
every ``flush_interval`` seconds, so messages to a peer that was down are delivered when it is
back without any call by the application (per-peer backoff in
:class:`~ezhifu.client.transport.HttpTransport`). All library calls go through :meth:`locked`
(one library, one writer at a time inside a process; several processes share a PostgreSQL
store through its row locks).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from asn1crypto import x509

from ezhifu.client.transport import HttpTransport
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.positions import PositionTable
from ezhifu.errors import ConfigurationError, EzhifuError
from ezhifu.flow.library import Party, VoucherLibrary
from ezhifu.flow.outbox import Outbox
from ezhifu.flow.safebox import SafeBox
from ezhifu.flow.store import SQLiteStore, VoucherStore
from ezhifu.keystore.base import KeyStore, open_keystore
from ezhifu.pki.keys import load_certificates
from ezhifu.pki.trust import TrustStore
from ezhifu.service.config import ServiceConfig
from ezhifu.service.oplog import OperationLog

if TYPE_CHECKING:
    import ssl

__all__ = ["Runtime"]

MAX_CERT_FILE_BYTES = 1024 * 1024


def _certs(path: Path, what: str) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()[: MAX_CERT_FILE_BYTES + 1]
    except OSError as exc:
        raise ConfigurationError(f"{what}: cannot read {path}: {exc.strerror}") from exc
    if len(data) > MAX_CERT_FILE_BYTES:
        raise ConfigurationError(f"{what}: {path} is larger than {MAX_CERT_FILE_BYTES} bytes")
    try:
        certs = load_certificates(data)
    except EzhifuError as exc:
        raise ConfigurationError(f"{what}: {path}: {exc}") from exc
    if not certs:
        raise ConfigurationError(f"{what}: {path} holds no certificate")
    return certs


def open_store(config: ServiceConfig) -> VoucherStore:
    """The configured store: SQLite (default) or PostgreSQL."""
    if config.store_kind == "postgresql":
        # reason: psycopg is an optional dependency, loaded only for a PostgreSQL store
        from ezhifu.flow.store_postgres import PostgresStore

        return PostgresStore(config.store_dsn or "")
    return SQLiteStore(config.store_path or ":memory:", durability="normal")


class QueuedOutbox(Outbox):
    """An outbox whose flush only wakes the flusher: delivery is the flusher thread's job.

    An operation never waits on the network while it holds the library (a peer answering
    with a notice to us would otherwise wait for us, and we for it); the flusher delivers
    outside the operation lock (:meth:`deliver`).
    """

    def __init__(self, owner: VoucherLibrary, wake: threading.Event) -> None:
        super().__init__(owner)
        self.wake = wake

    def flush(self) -> int:
        self.wake.set()
        return 0

    def deliver(self) -> int:
        """Hand what is queued to the transport (the outbox's own flush)."""
        return Outbox.flush(self)


class Runtime:
    """The live objects of one service (see the module docstring)."""

    def __init__(self, config: ServiceConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.keystore: KeyStore = open_keystore(config.keystore)
        self.positions = PositionTable.from_mapping(config.positions)
        self.safebox = SafeBox(self.keystore, self.positions, actor=f"ezhifu serve {config.party_id}")
        self.trust = TrustStore(
            roots=[c for p in config.trust_roots for c in _certs(p, "[trust].roots")],
            seal_makers=[c for p in config.trust_seal_makers for c in _certs(p, "[trust].seal_makers")],
            tsas=[c for p in config.trust_tsas for c in _certs(p, "[trust].tsas")],
        )
        peer_certs = {p: _certs(peer.cert, f"[peers.{p}].cert")[0] for p, peer in config.peers.items()}
        self.transport = HttpTransport(
            {p: peer.url for p, peer in config.peers.items()},
            ssl_context=ssl_context,
            backoff_max=config.backoff_max,
        )
        own = self.keystore.certificate(config.link_alias)
        party_certs = {p: [c] for p, c in peer_certs.items()}
        if own is not None:
            party_certs[config.party_id] = [own]
        names = {
            vt: {p: r.name for p, r in self.positions.positions(vt).items()}
            for vt in self.positions.vt_codes()
        }
        self.store = open_store(config)
        self.library = VoucherLibrary(
            Party(config.party_id, config.org_type, config.name),
            store=self.store,
            transport=self.transport,
            trust=self.trust,
            link_signer=self.keystore.signer(config.link_alias),
            peers=peer_certs,
            sealer=self.seal_body,
            positions=names,
            party_certs=party_certs,
            peer_vt_codes={p: peer.vt_codes for p, peer in config.peers.items() if peer.vt_codes},
        )
        self.oplog = OperationLog(config.oplog)
        self._lock = threading.RLock()
        self._deliver_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.outbox = QueuedOutbox(self.library, self._wake)
        self.library.outbox = self.outbox
        self._flusher: threading.Thread | None = None

    @contextmanager
    def locked(self) -> Iterator[VoucherLibrary]:
        with self._lock:
            yield self.library

    def sign_at(self, body: VoucherBody, positions: dict[str, str | None]) -> None:
        """Sign and stamp ``body`` at ``positions`` (position → seal id or None), signatures first."""
        envelope = Envelope(bodies=[body], declared_count="1")
        rules = self.positions.positions(body.vt_code)
        order = sorted(
            positions, key=lambda p: (rules[p].kind != "signature", p) if p in rules else (False, p)
        )
        for position in order:
            rule = rules.get(position)
            if rule is not None and rule.kind == "stamp":
                self.safebox.stamp(envelope, position, seal_id=positions[position] or None)
            else:
                self.safebox.sign(envelope, position)

    def seal_body(self, body: VoucherBody) -> None:
        """The library's sealer: the configured ``[signing].positions`` that the VtCode has."""
        table = self.positions.positions(body.vt_code)
        self.sign_at(body, {p: None for p in self.config.sign_positions if p in table})

    # --- the outbox flusher -------------------------------------------------------------

    def flush(self) -> int:
        """Deliver the outbox now (store access is serialised by the store itself)."""
        with self._deliver_lock:
            return self.outbox.deliver()

    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.config.flush_interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.flush()
            except EzhifuError as exc:  # a store hiccup must not kill the flusher
                self.oplog.event("flush-error", error=f"{type(exc).__name__}: {exc}")

    def start(self) -> None:
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_loop, name="ezhifu-outbox", daemon=True)
            self._flusher.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._flusher is not None:
            self._flusher.join(timeout=10)
            self._flusher = None
        with self._lock, self._deliver_lock:
            self.store.close()
            self.keystore.close()
        self.oplog.close()
