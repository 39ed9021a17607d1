"""ezhifu.testing: what test suites need: a test PKI, seal pictures and the pytest plugin.

* :mod:`~ezhifu.testing.pki`: :func:`make_pki` builds throw-away CA hierarchies (never for
  production keys);
* :mod:`~ezhifu.testing.pytest_plugin`: ``--ezhifu-trust`` and friends, fixtures,
  ``assert_valid_voucher``.

Names are loaded on first use: pytest imports the plugin in every run, so this package must
not pull in the crypto or document layers by itself.
"""

from __future__ import annotations

from ezhifu._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "PKI_KINDS": "ezhifu.testing.pki",
    "TestPKI": "ezhifu.testing.pki",
    "make_pki": "ezhifu.testing.pki",
    "partner_5214_inner": "ezhifu.testing.partner",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports("ezhifu.testing", _EXPORTS, globals(), __all__)
