"""A new backend writes only what it holds: ``KeyStore.from_config`` checks and configures it,
``SoftwareKeyStore`` signs with the keys it loads (docs/architecture.md, where a keystore plugs in)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import pytest

from ezhifu.crypto import SignatureAlgorithm
from ezhifu.errors import ConfigurationError, KeyStoreError
from ezhifu.keystore.base import SIGNING_CONFIG_KEYS, KeyEntry, KeyStore, SoftwareKeyStore
from ezhifu.pki.certs import key_kind
from ezhifu.pki.signer import verify_signature
from ezhifu.testing.pki import TestPKI, make_pki

MESSAGE = "一个新的密钥库后端 / a new keystore backend".encode()


class OneKeyStore(SoftwareKeyStore):
    """One key under the configured alias; counts how often the key is loaded and with which pin."""

    type_name = "one-key"
    config_keys = SIGNING_CONFIG_KEYS | frozenset({"alias"})
    pki: ClassVar[TestPKI]
    key: ClassVar[Any]

    def __init__(self, alias: str) -> None:
        super().__init__()
        self._key_entries[alias] = KeyEntry(alias, key_kind(self.key), tuple(self.pki.chain))
        self.loads: list[str | None] = []

    @classmethod
    def _from_settings(cls, config: Mapping[str, Any]) -> Self:
        return cls(str(config.get("alias", "one")))

    def _load_key(self, alias: str, pin: str | None) -> Any:
        self.loads.append(pin)
        return self.key


@pytest.fixture
def rsa() -> TestPKI:
    pki = make_pki("rsa2048")
    OneKeyStore.pki, OneKeyStore.key = pki, pki.leaf_key
    return pki


def test_from_config_checks_the_keys_opens_the_backend_and_applies_the_signing_keys(rsa: TestPKI) -> None:
    store = OneKeyStore.from_config({"type": "one-key", "alias": "a", "rsa_digest": "sha384"})
    assert store.aliases() == ["a"]
    signer = store.signer("a")
    assert signer.algorithm is SignatureAlgorithm.RSA_SHA384  # the signing key applied after opening
    verify_signature(rsa.leaf_cert, MESSAGE, signer.sign(MESSAGE), algorithm=signer.algorithm)
    with pytest.raises(ConfigurationError, match=r"unknown configuration key.*'colour'"):
        OneKeyStore.from_config({"type": "one-key", "colour": "red"})
    with pytest.raises(ConfigurationError, match="expected 'one-key'"):
        OneKeyStore.from_config({"type": "memory"})
    with pytest.raises(ConfigurationError, match="allow_weak"):
        OneKeyStore.from_config({"allow_weak": "yes"})


def test_the_store_secret_signer_is_cached_a_per_key_pin_one_is_not(rsa: TestPKI) -> None:
    store = OneKeyStore("a")
    assert store.signer("a") is store.signer("a")
    assert store.loads == [None]  # loaded once, then answered from the cache
    store.signer("a", pin="key-password")
    store.signer("a", pin="key-password")
    assert store.loads == [None, "key-password", "key-password"]  # a pin is never answered from the cache


def test_a_loaded_key_that_is_not_its_certificates_is_refused(rsa: TestPKI) -> None:
    OneKeyStore.key = make_pki("rsa2048").leaf_key  # another key under this chain
    store = OneKeyStore("a")
    with pytest.raises(KeyStoreError, match=r"one-key keystore, key 'a'.*does not belong"):
        store.signer("a")


def test_a_backend_without_settings_says_how_it_is_built() -> None:
    class Bare(KeyStore):
        type_name = "bare"

        def _signer(self, entry: KeyEntry, pin: str | None) -> Any:
            raise AssertionError("never reached")

    with pytest.raises(NotImplementedError, match="Bare is built by its own from_config"):
        Bare.from_config({"type": "bare"})
