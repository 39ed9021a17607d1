"""ezhifu: treasury centralized payment electronic vouchers (国库集中支付电子化管理).

The curated public API is imported lazily so that ``import ezhifu`` stays cheap and each
layer loads only when used::

    import ezhifu
    env = ezhifu.Envelope.from_bytes(data)
    ezhifu.validate(data)
    result = ezhifu.verify_envelope(env, trust=ezhifu.TrustStore.from_pem_files(["root.pem"]))
"""

from __future__ import annotations

from ezhifu._lazy import TYPE_CHECKING, lazy_exports
from ezhifu._version import __version__ as __version__

_EXPORTS = """
    ezhifu.crypto.base: SignatureAlgorithm Signer
    ezhifu.document.build: build_voucher load_voucher_data
    ezhifu.document.envelope: Envelope SignStampElement SignatureElement VoucherBody
    ezhifu.document.models: Voucher
    ezhifu.document.validation: is_valid iter_errors validate
    ezhifu.flow.library: VoucherLibrary
    ezhifu.flow.safebox: SafeBox
    ezhifu.keystore: open_keystore
    ezhifu.pki.certs: load_certificate
    ezhifu.pki.keys: generate_private_key load_private_key
    ezhifu.pki.policy: VerifyPolicy
    ezhifu.pki.signer: SoftwareSigner
    ezhifu.pki.trust: TrustStore
    ezhifu.results: EnvelopeResult
    ezhifu.seal.apply: apply_seal stamp_envelope
    ezhifu.seal.make: make_seal
    ezhifu.sign.voucher: sign_envelope
    ezhifu.verify.envelope: verify_envelope
"""

if TYPE_CHECKING:
    from ezhifu.crypto.base import SignatureAlgorithm as SignatureAlgorithm
    from ezhifu.crypto.base import Signer as Signer
    from ezhifu.document.build import build_voucher as build_voucher
    from ezhifu.document.build import load_voucher_data as load_voucher_data
    from ezhifu.document.envelope import Envelope as Envelope
    from ezhifu.document.envelope import SignatureElement as SignatureElement
    from ezhifu.document.envelope import SignStampElement as SignStampElement
    from ezhifu.document.envelope import VoucherBody as VoucherBody
    from ezhifu.document.models import Voucher as Voucher
    from ezhifu.document.validation import is_valid as is_valid
    from ezhifu.document.validation import iter_errors as iter_errors
    from ezhifu.document.validation import validate as validate
    from ezhifu.flow.library import VoucherLibrary as VoucherLibrary
    from ezhifu.flow.safebox import SafeBox as SafeBox
    from ezhifu.keystore import open_keystore as open_keystore
    from ezhifu.pki.certs import load_certificate as load_certificate
    from ezhifu.pki.keys import generate_private_key as generate_private_key
    from ezhifu.pki.keys import load_private_key as load_private_key
    from ezhifu.pki.policy import VerifyPolicy as VerifyPolicy
    from ezhifu.pki.signer import SoftwareSigner as SoftwareSigner
    from ezhifu.pki.trust import TrustStore as TrustStore
    from ezhifu.results import EnvelopeResult as EnvelopeResult
    from ezhifu.seal.apply import apply_seal as apply_seal
    from ezhifu.seal.apply import stamp_envelope as stamp_envelope
    from ezhifu.seal.make import make_seal as make_seal
    from ezhifu.sign.voucher import sign_envelope as sign_envelope
    from ezhifu.verify.envelope import verify_envelope as verify_envelope

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, also=("__version__",))
