"""An in-memory keystore: keys and seals held by the process (tests, demos, embedding)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Self

from asn1crypto import x509

from ezhifu.errors import InvalidInput, KeyNotFound
from ezhifu.keystore.base import SIGNING_CONFIG_KEYS, KeyEntry, SoftwareKeyStore, check_key_matches
from ezhifu.pki.certs import key_kind

__all__ = ["MemoryKeyStore"]


class MemoryKeyStore(SoftwareKeyStore):
    """Keys and seals added at run time with :meth:`add_key` and :meth:`add_seal`.

    Nothing is persisted. Configuration: ``{"type": "memory"}`` (no other key).
    """

    type_name = "memory"
    config_keys = SIGNING_CONFIG_KEYS
    # add_key checks the key against its certificate; there are no per-key passwords
    checked_when_added = True
    key_passwords = False

    def __init__(self) -> None:
        super().__init__()
        self._keys: dict[str, Any] = {}
        self._seal_data: dict[str, bytes] = {}

    @classmethod
    def _from_settings(cls, config: Mapping[str, Any]) -> Self:
        return cls()

    def add_key(self, alias: str, key: Any, chain: Iterable[x509.Certificate] = ()) -> KeyEntry:
        """Hold ``key`` (SM2, RSA or EC private key) under ``alias`` with its chain, leaf first.

        The leaf certificate must carry the key's public half.
        """
        if not alias:
            raise InvalidInput("memory keystore: empty alias")
        certs = tuple(chain)
        if certs:
            check_key_matches(key, certs[0], where=f"memory keystore alias {alias!r}")
        entry = KeyEntry(alias=alias, kind=key_kind(key), chain=certs)
        with self._lock:
            self._check_open()
            self._keys[alias], self._key_entries[alias] = key, entry
            self._signers.pop(alias, None)
        return entry

    def remove_key(self, alias: str) -> None:
        """Forget the key under ``alias``."""
        with self._lock:
            if self._keys.pop(alias, None) is None:
                raise KeyNotFound(f"memory keystore: no key under alias {alias!r}")
            del self._key_entries[alias]
            self._signers.pop(alias, None)

    def add_seal(self, seal_id: str, der: bytes) -> None:
        """Hold the seal ``der`` (GM/T 0031 / GB/T 38540 or vendor seal) under ``seal_id``."""
        if not seal_id:
            raise InvalidInput("memory keystore: empty seal id")
        with self._lock:
            self._check_open()
            self._seal_data[seal_id] = bytes(der)

    def _seals(self) -> Mapping[str, bytes]:
        with self._lock:
            return dict(self._seal_data)

    def _load_key(self, alias: str, pin: str | None) -> Any:
        return self._keys[alias]

    def _close(self) -> None:
        with self._lock:
            self._keys.clear()
            self._key_entries.clear()
            self._signers.clear()
            self._seal_data.clear()
