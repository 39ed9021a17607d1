"""Key type aliases shared by :mod:`ezhifu.pki.keys` and :mod:`ezhifu.crypto` (no other imports,
so that both can use them without an import cycle)."""

from __future__ import annotations

from typing import Literal, TypeAlias

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ezhifu.crypto.sm2 import SM2PrivateKey, SM2PublicKey

__all__ = ["KeyKind", "PrivateKey", "PublicKey"]

#: A private key ezhifu signs with: SM2 (ezhifu's own), RSA or EC P-256 (pyca/cryptography).
PrivateKey: TypeAlias = SM2PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
#: The matching public keys.
PublicKey: TypeAlias = SM2PublicKey | rsa.RSAPublicKey | ec.EllipticCurvePublicKey
#: ``"sm2"``, ``"rsa"`` or ``"ec"`` (P-256), as :attr:`SignatureAlgorithm.key_kind` spells them.
KeyKind = Literal["sm2", "rsa", "ec"]
