"""The PostgreSQL voucher store (psycopg 3), beside the SQLite default (issue 16 item 3).

:class:`PostgresStore` has the same interface and the same SQL as
:class:`~ezhifu.flow.store.SQLiteStore` (the statements are portable; placeholders are
translated), so the same store test-suite runs against both. What PostgreSQL adds:

* **migrations**: ``schema_migrations`` records the applied versions; each runs once, in a
  transaction, under an advisory lock so that several processes starting together do not race;
  version 1 is the library schema (``schema_statements("postgresql")``), version 2 adds the
  outbox claim columns;
* **several processes on one database**: :meth:`outbox_items` *claims* what it returns
  (``UPDATE … WHERE item_id IN (SELECT … FOR UPDATE SKIP LOCKED)``) for this store instance
  for :data:`CLAIM_SECONDS`, so two flushers never hand the same message to the transport;
  a failed item's claim is released at once, and an item whose claimer died is claimed again
  once its lease has run out (at-least-once; the receiver drops copies by message id).

Within one process the store is shared by threads like the SQLite store: one transaction at
a time, nested transactions join the outer one.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg

from ezhifu.errors import StoreError
from ezhifu.flow.store import OutboxItem, SQLiteStore, schema_statements

__all__ = ["CLAIM_SECONDS", "MIGRATIONS", "PostgresStore"]

#: How long a claimed outbox item is reserved for the claiming process.
CLAIM_SECONDS = 60.0
MAX_OUTBOX_CLAIM = 10_000
_ADVISORY_KEY = 0x657A6869  # "ezhi"

#: version → statements; applied in order, each once.
MIGRATIONS: dict[int, list[str]] = {
    1: schema_statements("postgresql"),
    2: [
        "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_by TEXT",
        "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_until DOUBLE PRECISION",
        "CREATE INDEX IF NOT EXISTS outbox_by_claim ON outbox (claimed_until)",
    ],
}

_PLACEHOLDER = re.compile(r"\?")
_CLAIM = (
    "UPDATE outbox SET claimed_by = %s, claimed_until = %s WHERE item_id IN ("
    "SELECT item_id FROM outbox WHERE claimed_by = %s OR claimed_until IS NULL OR claimed_until < %s "
    "ORDER BY created_at, item_id LIMIT %s FOR UPDATE SKIP LOCKED)"
)
_CLAIMED = (
    "SELECT item_id, kind, recipient, data, created_at, attempts, last_error FROM outbox "
    "WHERE claimed_by = %s ORDER BY created_at, item_id"
)


class PostgresStore(SQLiteStore):
    """A voucher store in a PostgreSQL database given by ``dsn`` (libpq connection string)."""

    def __init__(self, dsn: str, *, connect_timeout: float = 10.0) -> None:
        self.path = re.sub(r"password=\S+", "password=***", dsn)  # for messages: never the secret
        self._lock = threading.RLock()
        self._depth = 0
        self.owner = f"{uuid.uuid4().hex}"
        try:
            self._pg = psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, int(connect_timeout)))
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL store {self.path}: cannot connect: {exc}") from exc
        self._migrate()

    def _migrate(self) -> None:
        with self.transaction():
            self._exec("SELECT pg_advisory_xact_lock(?)", (_ADVISORY_KEY,))
            self._exec(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, at TEXT NOT NULL)"
            )
            done = {int(r[0]) for r in self._exec("SELECT version FROM schema_migrations").fetchall()}
            for version in sorted(MIGRATIONS):
                if version in done:
                    continue
                for statement in MIGRATIONS[version]:
                    self._exec(statement)
                self._exec(
                    "INSERT INTO schema_migrations (version, at) VALUES (?, ?)", (version, time.time())
                )

    def migrations(self) -> list[int]:
        return [
            int(r[0]) for r in self._exec("SELECT version FROM schema_migrations ORDER BY version").fetchall()
        ]

    # SQLiteStore.transaction (nesting, rollback on error) runs these three.
    def _begin(self) -> None:
        self._run("BEGIN")

    def _rollback(self) -> None:
        self._run("ROLLBACK")

    def _commit(self) -> None:
        try:
            self._run("COMMIT")
        except StoreError:
            self._run("ROLLBACK")
            raise

    def _run(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        try:
            return self._pg.execute(sql, tuple(params))
        except psycopg.Error as exc:
            raise StoreError(
                f"PostgreSQL store {self.path}: {exc} (in: {sql.split('(')[0].strip()[:60]})"
            ) from exc

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._run(_PLACEHOLDER.sub("%s", sql), params)

    # --- the outbox: claimed, so that several processes never send one message twice -------

    def outbox_items(self) -> list[OutboxItem]:
        now = time.time()
        with self.transaction():
            self._run(_CLAIM, (self.owner, now + CLAIM_SECONDS, self.owner, now, MAX_OUTBOX_CLAIM))
            rows = self._run(_CLAIMED, (self.owner,)).fetchall()
        return [OutboxItem(r[0], r[1], r[2], bytes(r[3]), r[4], int(r[5]), r[6]) for r in rows]

    def integrity_check(self) -> str:
        """``"ok"`` when every migration is applied and the server answers."""
        applied = self.migrations()
        return "ok" if applied == sorted(MIGRATIONS) else f"migrations applied: {applied}"

    def close(self) -> None:
        with self._lock:
            with contextlib.suppress(StoreError):
                self._exec("UPDATE outbox SET claimed_by = NULL WHERE claimed_by = ?", (self.owner,))
            self._pg.close()
