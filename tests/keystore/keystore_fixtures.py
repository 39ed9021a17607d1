"""Types shared by the keystore tests (imported by conftest and the test modules)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import x509

from ezhifu.keystore.base import KeyStore


@dataclass
class Case:
    """One backend holding one key, for the contract suite."""

    backend: str
    store: KeyStore
    alias: str
    kind: str
    leaf: x509.Certificate
    root: x509.Certificate
    reopen: Callable[[str], KeyStore]  # open the same store again with the given secret
    config: dict[str, Any]


@dataclass
class SoftHSM:
    """A SoftHSM2 token initialised in a temporary directory, with keys and certificates."""

    module: str
    label: str
    pin: str
    conf: Path
    certs: dict[str, x509.Certificate] = field(default_factory=dict)
    root: x509.Certificate | None = None

    def config(self, **extra: Any) -> dict[str, Any]:
        return {"type": "pkcs11", "module": self.module, "token_label": self.label, "pin": self.pin, **extra}
