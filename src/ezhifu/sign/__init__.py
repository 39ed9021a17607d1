"""Signatures on vouchers: detached CMS SignedData over the ``<Voucher>`` Base64 text.

* :mod:`ezhifu.sign.cms`: :func:`sign_detached` (RFC 5652, PKCS#7 and GB/T 35275 object
  identifiers, RSA, SM2 and ECDSA); :mod:`ezhifu.sign.cms_verify`: :func:`verify_detached`.
* :mod:`ezhifu.sign.voucher`: :func:`sign_body` / :func:`sign_envelope` (spec.md §5.3).

Verification of whole envelopes (signatures and seals) is :mod:`ezhifu.verify.envelope`.
"""

from __future__ import annotations

from ezhifu._lazy import TYPE_CHECKING, lazy_exports

_EXPORTS = """
    ezhifu.sign.cms: sign_detached
    ezhifu.sign.cms_verify: CmsVerification verify_detached
    ezhifu.sign.voucher: body_mismatches sign_body sign_envelope signed_bytes
"""

if TYPE_CHECKING:
    from ezhifu.sign.cms import sign_detached as sign_detached
    from ezhifu.sign.cms_verify import CmsVerification as CmsVerification
    from ezhifu.sign.cms_verify import verify_detached as verify_detached
    from ezhifu.sign.voucher import body_mismatches as body_mismatches
    from ezhifu.sign.voucher import sign_body as sign_body
    from ezhifu.sign.voucher import sign_envelope as sign_envelope
    from ezhifu.sign.voucher import signed_bytes as signed_bytes

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
