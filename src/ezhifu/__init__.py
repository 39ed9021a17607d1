"""ezhifu: treasury centralized payment electronic vouchers (国库集中支付电子化管理).

The curated public API is imported lazily so that ``import ezhifu`` stays cheap and each
layer loads only when used::

    import ezhifu
    env = ezhifu.Envelope.from_bytes(data)
    ezhifu.validate(data)
    result = ezhifu.verify_envelope(env, trust=ezhifu.TrustStore.from_pem_files(["root.pem"]))
"""

from __future__ import annotations

from ezhifu._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # document layer
    "Envelope": "ezhifu.document.envelope",
    "VoucherBody": "ezhifu.document.envelope",
    "SignatureElement": "ezhifu.document.envelope",
    "SignStampElement": "ezhifu.document.envelope",
    "Voucher": "ezhifu.document.models",
    "build_voucher": "ezhifu.document.build",
    "load_voucher_data": "ezhifu.document.build",
    "validate": "ezhifu.document.validation",
    "is_valid": "ezhifu.document.validation",
    "iter_errors": "ezhifu.document.validation",
    # keys and primitives
    "load_private_key": "ezhifu.pki.keys",
    "load_certificate": "ezhifu.pki.certs",
    "generate_private_key": "ezhifu.pki.keys",
    "SoftwareSigner": "ezhifu.pki.signer",
    "Signer": "ezhifu.crypto.base",
    "SignatureAlgorithm": "ezhifu.crypto.base",
    "TrustStore": "ezhifu.pki.trust",
    "VerifyPolicy": "ezhifu.pki.policy",
    "open_keystore": "ezhifu.keystore",
    # signed artefacts
    "sign_envelope": "ezhifu.sign.voucher",
    "make_seal": "ezhifu.seal.make",
    "apply_seal": "ezhifu.seal.apply",
    "stamp_envelope": "ezhifu.seal.apply",
    "verify_envelope": "ezhifu.verify.envelope",
    "EnvelopeResult": "ezhifu.results",
    "SafeBox": "ezhifu.flow.safebox",
    # flow
    "VoucherLibrary": "ezhifu.flow.library",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


__getattr__, __dir__ = lazy_exports("ezhifu", _EXPORTS, globals(), __all__)
