"""Integrity helpers shared by the file keystore's manifest MAC and the audit trail's hash chain."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["canonical_json", "same_text"]


def canonical_json(data: Mapping[str, Any]) -> bytes:
    """The bytes a MAC or hash covers: UTF-8 JSON, keys sorted, no spaces, non-ASCII kept.

    One writer for the file keystore's manifest MAC and the audit trail's hash chain, so
    that what is authenticated never depends on how a file happens to be indented.
    """
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def same_text(expected: str, given: object) -> bool:
    """Constant-time equality of a computed hex string and a value read from disk or storage.

    Compares the UTF-8 bytes: :func:`hmac.compare_digest` raises ``TypeError`` for ``str``
    arguments with non-ASCII characters, and a tampered manifest or row may hold anything (or a
    non-string from SQLite); such a value is simply unequal, so the caller reports tampering
    (:class:`CorruptedKeyFile`, :class:`BadPassword`, an audit error) instead of letting an
    exception outside the ezhifu tree escape.
    """
    return isinstance(given, str) and hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
