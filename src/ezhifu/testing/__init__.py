"""ezhifu.testing: what test suites need: a test PKI, seal pictures and the pytest plugin.

* :mod:`~ezhifu.testing.pki`: :func:`make_pki` builds throw-away CA hierarchies (never for
  production keys);
* :mod:`~ezhifu.testing.pytest_plugin`: ``--ezhifu-trust`` and friends, fixtures,
  ``assert_valid_voucher``.

Names are loaded on first use: pytest imports the plugin in every run, so this package must
not pull in the crypto or document layers by itself.
"""

from __future__ import annotations

from ezhifu._lazy import TYPE_CHECKING, lazy_exports

_EXPORTS = """
    ezhifu.testing.partner: partner_5214_inner
    ezhifu.testing.pki: PKI_KINDS TestPKI make_pki
"""

if TYPE_CHECKING:
    from ezhifu.testing.partner import partner_5214_inner as partner_5214_inner
    from ezhifu.testing.pki import PKI_KINDS as PKI_KINDS
    from ezhifu.testing.pki import TestPKI as TestPKI
    from ezhifu.testing.pki import make_pki as make_pki

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
