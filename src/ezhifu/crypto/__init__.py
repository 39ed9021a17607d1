"""ezhifu.crypto: SM2/SM3, RSA and ECDSA primitives, the Signer seam and software signing.

Importing this package registers the GM object identifiers in asn1crypto
(:mod:`ezhifu.crypto.oids`). Modules:

* :mod:`~ezhifu.crypto.base`: :class:`SignatureAlgorithm`, the :class:`Signer` protocol, OIDs;
* :mod:`~ezhifu.crypto.sm2`, :mod:`~ezhifu.crypto.sm3`: SM2 signatures and SM3;
* :mod:`~ezhifu.crypto.signer`: :class:`SoftwareSigner`, :func:`verify_signature`;
* :mod:`~ezhifu.pki.certs`: certificate signatures, validity, key usage, CertificateBuilder;
* :mod:`~ezhifu.pki.pkcs8`: PBES2 encryption of PKCS#8 private keys.
"""

from __future__ import annotations

from ezhifu.crypto import oids as oids
from ezhifu.crypto.base import DEFAULT_SM2_ID, SignatureAlgorithm, Signer
from ezhifu.crypto.keytypes import KeyKind, PrivateKey, PublicKey
from ezhifu.crypto.signer import SoftwareSigner, default_algorithm, verify_signature

__all__ = [
    "DEFAULT_SM2_ID",
    "KeyKind",
    "PrivateKey",
    "PublicKey",
    "SignatureAlgorithm",
    "Signer",
    "SoftwareSigner",
    "default_algorithm",
    "verify_signature",
]
