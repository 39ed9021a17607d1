"""SM2 digital signatures with SM3 (GB/T 32918.2-2016 / GM/T 0003.2-2012).

Public API
----------
* :class:`SM2PrivateKey` — ``generate()``, ``from_private_value(d)``, ``public_key()``,
  ``sign(data, *, uid=DEFAULT_SM2_ID) -> DER``, ``private_value``.
* :class:`SM2PublicKey` — ``from_encoded_point(b)`` (validated), ``encoded_point`` (65 bytes
  ``04 || X || Y``), ``x``, ``y``, ``verify(signature_der, data, *, uid=...)`` raising
  :class:`~ezhifu.errors.InvalidSignature` with the reason.
* :func:`compute_z`, :func:`rs_to_der`, :func:`der_to_rs` (strict DER), :func:`raw_to_der`,
  :func:`der_to_raw`, :func:`use_provider`, :func:`active_provider`.

Signing takes the *message*, never a digest: the signer computes
``e = SM3(Z_A || M)`` itself (GB/T 32918.2-2016 clause 6.1, steps A1–A2) where ``Z_A`` binds the
signer's identity and public key (clause 5.5). The default identity is
``1234567812345678`` (GM/T 0009-2012 clause 10); OpenSSL 3.0 would otherwise use an empty ID.
Signatures are DER ``SEQUENCE { r INTEGER, s INTEGER }`` (GB/T 35276-2017 clause 7.3).

Providers
---------
Two implementations sit behind one small internal interface:

* ``"openssl"`` (:mod:`ezhifu.crypto.sm2.openssl`) — ctypes over OpenSSL >= 3.0 libcrypto
  (the copy Python's own ``_hashlib`` links); constant-time signing, native speed. It always sets
  the distinguishing ID and runs a known-answer self-test before first use.
* ``"python"`` (:mod:`ezhifu.crypto.sm2.python`) — pure Python, always available, **not
  constant-time** (it warns once when it signs).

By default the OpenSSL provider is used when it loads and passes its self-test, otherwise the
Python one. ``EZHIFU_SM2_PROVIDER=openssl|python|auto`` or :func:`use_provider` forces a choice;
forcing ``"openssl"`` where it cannot work raises :class:`ProviderUnavailable`.

Nonces (and generated keys) come from OpenSSL's DRBG in the OpenSSL provider and from
:mod:`secrets` in the Python provider. ``sign(..., deterministic=True)`` derives the nonce
instead, as RFC 6979 clause 3.2 with HMAC-SM3 (see :meth:`SM2PrivateKey.sign`).
"""

from __future__ import annotations

from ezhifu.crypto.base import DEFAULT_SM2_ID
from ezhifu.crypto.sm2.curve import (
    SM2_A,
    SM2_B,
    SM2_CURVE,
    SM2_GX,
    SM2_GY,
    SM2_N,
    SM2_P,
    Curve,
    ProviderName,
    der_to_raw,
    der_to_rs,
    raw_to_der,
    rs_to_der,
)
from ezhifu.crypto.sm2.keys import MAX_UID_LENGTH, SM2PrivateKey, SM2PublicKey, compute_z
from ezhifu.crypto.sm2.provider import (
    ENV_PROVIDER,
    _reset_for_tests,
    active_provider,
    available_providers,
    use_provider,
)
from ezhifu.errors import MalformedSignature, ProviderUnavailable

__all__ = [
    "DEFAULT_SM2_ID",
    "ENV_PROVIDER",
    "MAX_UID_LENGTH",
    "SM2_A",
    "SM2_B",
    "SM2_CURVE",
    "SM2_GX",
    "SM2_GY",
    "SM2_N",
    "SM2_P",
    "Curve",
    "MalformedSignature",
    "ProviderName",
    "ProviderUnavailable",
    "SM2PrivateKey",
    "SM2PublicKey",
    "_reset_for_tests",
    "active_provider",
    "available_providers",
    "compute_z",
    "der_to_raw",
    "der_to_rs",
    "raw_to_der",
    "rs_to_der",
    "use_provider",
]
