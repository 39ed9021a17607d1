"""The operation log: one JSON line per operation (who, what, VtCode, how many, outcome, time).

Structured logging of every call (issue 16 item 1): written to the configured file (append,
mode 0600) and to the ``ezhifu.service`` logger. Only identifiers and outcomes are logged:
never voucher contents, keys, PINs or passwords; values are cut to 200 characters.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

__all__ = ["OperationLog"]

_LOG = logging.getLogger("ezhifu.service")
MAX_VALUE_CHARS = 200


class OperationLog:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None
        if path is not None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._handle = os.fdopen(fd, "a", encoding="utf-8")

    def event(self, kind: str, **fields: object) -> None:
        entry: dict[str, object] = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": kind}
        for key, value in fields.items():
            entry[key] = (
                value
                if isinstance(value, int | float | bool) or value is None
                else str(value)[:MAX_VALUE_CHARS]
            )
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        _LOG.info(line)
        if self._handle is not None:
            with self._lock:
                self._handle.write(line + "\n")
                self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
