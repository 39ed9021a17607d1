"""ezhifu.crypto: SM2/SM3 primitives, the Signer seam and the one OID registry.

Importing this package registers the GM object identifiers in asn1crypto
(:mod:`ezhifu.crypto.oids`). It imports nothing above it: certificates and key files are
:mod:`ezhifu.pki`'s. Modules:

* :mod:`~ezhifu.crypto.base`: :class:`SignatureAlgorithm`, the :class:`Signer` protocol;
* :mod:`~ezhifu.crypto.oids`: every object identifier ezhifu names, with its source standard;
* :mod:`~ezhifu.crypto.der`: the small DER and PEM framing helpers shared by the parsers;
* :mod:`~ezhifu.crypto.sm2`, :mod:`~ezhifu.crypto.sm3`: SM2 signatures and SM3;
* :mod:`~ezhifu.crypto.keytypes`: the key type aliases.

Software signing (:class:`~ezhifu.pki.signer.SoftwareSigner`) and
:func:`~ezhifu.pki.signer.verify_signature` read certificates and keys, so they live in
:mod:`ezhifu.pki.signer`.
"""

from __future__ import annotations

from ezhifu.crypto import oids as oids
from ezhifu.crypto.base import DEFAULT_SM2_ID, SignatureAlgorithm, Signer
from ezhifu.crypto.keytypes import KeyKind, PrivateKey, PublicKey

__all__ = [
    "DEFAULT_SM2_ID",
    "KeyKind",
    "PrivateKey",
    "PublicKey",
    "SignatureAlgorithm",
    "Signer",
]
