"""ezhifu.testing: what test suites need: a test PKI, seal pictures and the pytest plugin.

* :mod:`~ezhifu.testing.pki`: :func:`make_pki` builds throw-away CA hierarchies (never for
  production keys);
* :mod:`~ezhifu.testing.pytest_plugin`: ``--ezhifu-trust`` and friends, fixtures,
  ``assert_valid_voucher``.

Names are loaded on first use: pytest imports the plugin in every run, so this package must
not pull in the crypto or document layers by itself.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "PKI_KINDS": "ezhifu.testing.pki",
    "TestPKI": "ezhifu.testing.pki",
    "make_pki": "ezhifu.testing.pki",
    "partner_5214_inner": "ezhifu.testing.partner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ezhifu.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
