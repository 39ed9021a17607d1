"""Signatures on vouchers: detached CMS SignedData over the ``<Voucher>`` Base64 text.

* :mod:`ezhifu.sign.cms`: :func:`sign_detached` (RFC 5652, PKCS#7 and GB/T 35275 object
  identifiers, RSA, SM2 and ECDSA); :mod:`ezhifu.sign.cms_verify`: :func:`verify_detached`.
* :mod:`ezhifu.sign.voucher`: :func:`sign_body` / :func:`sign_envelope` (spec.md §5.3).

Verification of whole envelopes (signatures and seals) is :mod:`ezhifu.verify.envelope`.
"""

from __future__ import annotations

from ezhifu.sign.cms import sign_detached
from ezhifu.sign.cms_verify import CmsVerification, verify_detached
from ezhifu.sign.voucher import body_mismatches, sign_body, sign_envelope, signed_bytes

__all__ = [
    "CmsVerification",
    "body_mismatches",
    "sign_body",
    "sign_detached",
    "sign_envelope",
    "signed_bytes",
    "verify_detached",
]
