"""The outbox table of the SQL stores: items queued, claimed, retried, removed.

:class:`SqlOutbox` is mixed into :class:`~ezhifu.flow.store.SQLiteStore` (and so into the
PostgreSQL store, which claims with ``FOR UPDATE SKIP LOCKED`` instead). Several processes
flushing one store never get the same item (issue 16: two flushers delivered every message
twice): :meth:`SqlOutbox.outbox_items` *claims* what it returns for the store instance
(``owner``) for :data:`OUTBOX_CLAIM_SECONDS`; a failed item's claim is released at once, and
the claims of a process that died on this host are taken over at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ezhifu.flow.status import OutboxItem

__all__ = ["OUTBOX_CLAIM_SECONDS", "SqlOutbox"]


#: How long an outbox item stays claimed by the store that took it (its sends in flight).
OUTBOX_CLAIM_SECONDS = 60.0


def _process_alive(owner: str) -> bool:
    """Whether the process of an outbox claim (``"<pid>-<hex>"``) still runs on this host."""
    pid_text = owner.split("-", 1)[0]
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # it exists (another user's) or cannot be checked: keep the claim
    return True


class SqlOutbox:
    """The outbox statements over ``_exec`` and ``transaction`` of the store it is mixed into."""

    owner: str

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:  # provided by the store
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[None]:  # provided by the store
        raise NotImplementedError

    # --- outbox ---------------------------------------------------------------------------

    def outbox_put(self, item: OutboxItem) -> None:
        self._exec(
            "INSERT INTO outbox (item_id, kind, recipient, data, created_at, attempts, last_error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                item.item_id,
                item.kind,
                item.recipient,
                item.data,
                item.created_at,
                item.attempts,
                item.last_error,
            ),
        )

    def outbox_items(self) -> list[OutboxItem]:
        """The queued items, *claimed* for this store for :data:`OUTBOX_CLAIM_SECONDS`.

        Several processes flushing one store never get the same item (issue 16: two flushers
        delivered 197 messages for 120): an item claimed by another live process is skipped
        until its claim is released (:meth:`outbox_failed`, :meth:`close`) or runs out; the
        claims of a process that died are taken over at once.
        """
        now = time.time()
        with self.transaction():
            others = self._exec(
                "SELECT DISTINCT claimed_by FROM outbox WHERE claimed_by IS NOT NULL AND claimed_by != ?",
                (self.owner,),
            ).fetchall()
            for (owner,) in others:
                if not _process_alive(str(owner)):
                    self._exec("UPDATE outbox SET claimed_by = NULL WHERE claimed_by = ?", (owner,))
            self._exec(
                "UPDATE outbox SET claimed_by = ?, claimed_until = ? "
                "WHERE claimed_by IS NULL OR claimed_by = ? OR claimed_until < ?",
                (self.owner, now + OUTBOX_CLAIM_SECONDS, self.owner, now),
            )
            rows = self._exec(
                "SELECT item_id, kind, recipient, data, created_at, attempts, last_error FROM outbox "
                "WHERE claimed_by = ? ORDER BY created_at, item_id",
                (self.owner,),
            ).fetchall()
        return [OutboxItem(r[0], r[1], r[2], bytes(r[3]), r[4], int(r[5]), r[6]) for r in rows]

    def outbox_remove(self, item_id: str) -> None:
        self._exec("DELETE FROM outbox WHERE item_id = ?", (item_id,))

    def outbox_failed(self, item_id: str, error: str) -> None:
        # the claim is released: any flusher may try the item again
        self._exec(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, claimed_by = NULL WHERE item_id = ?",
            (error, item_id),
        )
