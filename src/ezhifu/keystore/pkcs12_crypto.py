"""PKCS#12 cryptography: the RFC 7292 Appendix B.2 key derivation and the PBES1/PBES2
decryption of bags (RFC 7292 Appendix C, RFC 8018 §6.2, GB/T 33560 for SM4-CBC).

Split from :mod:`ezhifu.keystore.pkcs12` (which reads and writes the containers) so that each
module keeps one job; the iteration bound here is what keeps a hostile file from spinning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from asn1crypto import algos
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.ciphers.algorithms import AES, SM4
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ezhifu.crypto import oids
from ezhifu.errors import BadPassword, InvalidInput, MalformedDER, UnsupportedAlgorithm
from ezhifu.pki.pkcs8 import MAX_PBKDF2_ITERATIONS

__all__ = ["MAX_PKCS12_ITERATIONS", "OID_PBES2", "PKCS12_HASHES", "bmp_password", "decrypt", "pkcs12_kdf"]

#: Hostile files must not make us spin: bound the PKCS#12 KDF iteration count. The KDF of
#: RFC 7292 Appendix B.2 runs in Python here (about 0.7 s per million SHA-1 iterations), and the
#: MAC check may run it twice before the password is known to be right; writers use 1,024
#: (Bouncy Castle) to 10,000 (Java keytool), OpenSSL 3 uses 2,048.
MAX_PKCS12_ITERATIONS = 2_000_000

PKCS12_HASHES: dict[str, tuple[str, int]] = {  # asn1crypto name -> (hashlib name, block size v)
    "sha1": ("sha1", 64),
    "sha224": ("sha224", 64),
    "sha256": ("sha256", 64),
    "sha384": ("sha384", 128),
    "sha512": ("sha512", 128),
}

# RFC 7292 Appendix C: OID -> (asn1crypto name, cipher, key bytes)
_PKCS12_PBE = {
    oids.dotted(name): (oids.BY_NAME[name].means, cipher, size)
    for name, cipher, size in (
        ("pkcs12-sha-3des-3key", "3des", 24),
        ("pkcs12-sha-3des-2key", "3des", 16),
        ("pkcs12-sha-rc2-128", "rc2", 16),
        ("pkcs12-sha-rc2-40", "rc2", 5),
    )
}
OID_PBES2 = oids.OID_PBES2
_OID_PBKDF2 = oids.OID_PBKDF2
_PBES2_CIPHERS = {  # OID -> key bytes (AES per NIST, SM4-CBC per GB/T 33560)
    oids.dotted("aes-128-cbc"): ("aes", 16),
    oids.dotted("aes-192-cbc"): ("aes", 24),
    oids.dotted("aes-256-cbc"): ("aes", 32),
    oids.OID_SM4_CBC: ("sm4", 16),
}
_PBKDF2_PRFS = {
    oids.dotted(f"hmac-{digest}"): digest for digest in ("sha1", "sha256", "sha384", "sha512", "sm3")
}


# --- RFC 7292 Appendix B.2 key derivation ------------------------------------------------


def bmp_password(password: str) -> bytes:
    """RFC 7292 Appendix B.1: a BMPString (UTF-16BE) with a two-octet NUL terminator."""
    return password.encode("utf-16-be") + b"\x00\x00"


def pkcs12_kdf(
    hash_name: str, password: bytes, salt: bytes, purpose: int, iterations: int, size: int
) -> bytes:
    """The PKCS#12 key derivation of RFC 7292 Appendix B.2.

    ``purpose`` is the ID byte: 1 encryption key, 2 IV, 3 MAC key. ``password`` is the
    already formatted BMPString (see Appendix B.1).
    """
    if hash_name not in PKCS12_HASHES:
        raise UnsupportedAlgorithm(f"PKCS#12 KDF: digest {hash_name} is not supported")
    if not 1 <= iterations <= MAX_PKCS12_ITERATIONS:
        raise InvalidInput(f"PKCS#12 KDF: iteration count {iterations} outside 1..{MAX_PKCS12_ITERATIONS}")
    name, v = PKCS12_HASHES[hash_name]
    u = hashlib.new(name).digest_size

    def fill(data: bytes) -> bytes:
        if not data:
            return b""
        length = v * ((len(data) + v - 1) // v)
        return (data * (length // len(data) + 1))[:length]

    d = bytes([purpose]) * v
    i = bytearray(fill(salt) + fill(password))
    out = b""
    while len(out) < size:
        a = hashlib.new(name, d + bytes(i)).digest()
        for _ in range(iterations - 1):
            a = hashlib.new(name, a).digest()
        out += a
        if len(out) >= size:
            break
        b = int.from_bytes((a * (v // u + 1))[:v], "big")
        for j in range(0, len(i), v):
            block = (int.from_bytes(i[j : j + v], "big") + b + 1) % (1 << (8 * v))
            i[j : j + v] = block.to_bytes(v, "big")
    return out[:size]


# --- decryption --------------------------------------------------------------------------


def _cbc_decrypt(cipher: str, key: bytes, iv: bytes, data: bytes, *, block: int) -> bytes:
    if not data or len(data) % block:
        raise MalformedDER(f"encrypted content of {len(data)} bytes is not whole {cipher} blocks")
    if cipher == "rc2":
        # cryptography only offers 128-bit RC2; RFC 7292 40-bit RC2 needs RC2 with effective
        # key bits = 40 (RFC 2268), which pycryptodomex implements.
        try:
            # deferred: pycryptodomex is needed only for legacy 40-bit RC2 files
            from Cryptodome.Cipher import ARC2
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise UnsupportedAlgorithm(
                "PKCS#12 RC2 encryption needs the 'pycryptodomex' package (pip install pycryptodomex)"
            ) from exc
        effective: dict[str, Any] = {"effective_keylen": len(key) * 8}  # missing from the type stub
        rc2 = ARC2.new(key, ARC2.MODE_CBC, iv=iv, **effective)  # noqa: S304 - reading legacy files
        padded: bytes = rc2.decrypt(data)
    else:
        algorithm: Any
        if cipher == "3des":
            algorithm = TripleDES(key)
        elif cipher == "aes":
            algorithm = AES(key)
        elif cipher == "sm4":
            algorithm = SM4(key)
        else:  # pragma: no cover - table driven
            raise UnsupportedAlgorithm(f"cipher {cipher}")
        decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= block or padded[-pad:] != bytes([pad]) * pad:
        raise BadPassword("wrong password, or the PKCS#12 content is damaged (bad padding)")
    return padded[:-pad]


def decrypt(algorithm: algos.EncryptionAlgorithm, data: bytes, password: str) -> bytes:
    """Decrypt content encrypted under a PKCS#12 PBE (Appendix C) or PBES2 algorithm."""
    oid = algorithm["algorithm"].dotted
    if oid in _PKCS12_PBE:
        _, cipher, key_size = _PKCS12_PBE[oid]
        params = algorithm["parameters"]
        salt = params["salt"].native
        iterations = params["iterations"].native
        bmp = bmp_password(password)
        key = pkcs12_kdf("sha1", bmp, salt, 1, iterations, key_size)
        iv = pkcs12_kdf("sha1", bmp, salt, 2, iterations, 8)
        return _cbc_decrypt(cipher, key, iv, data, block=8)
    if oid == OID_PBES2:
        return _pbes2_decrypt(algorithm["parameters"], data, password.encode("utf-8"))
    raise UnsupportedAlgorithm(f"PKCS#12 encryption algorithm {oid} is not supported")


def _pbes2_decrypt(params: Any, data: bytes, password: bytes) -> bytes:
    """RFC 8018 clause 6.2.2 with PBKDF2 (clause 5.2) for PKCS#12 ``encryptedData``."""

    kdf = params["key_derivation_func"]
    if kdf["algorithm"].dotted != _OID_PBKDF2:
        raise UnsupportedAlgorithm(f"PBES2 key derivation {kdf['algorithm'].dotted} in encryptedData")
    kdf_params = kdf["parameters"]
    enc = params["encryption_scheme"]
    cipher_oid = enc["algorithm"].dotted
    if cipher_oid not in _PBES2_CIPHERS:
        raise UnsupportedAlgorithm(f"PBES2 cipher {cipher_oid} is not supported")
    cipher, key_size = _PBES2_CIPHERS[cipher_oid]
    iterations = kdf_params["iteration_count"].native
    if not 1 <= iterations <= MAX_PBKDF2_ITERATIONS:
        raise InvalidInput(f"PBKDF2 iteration count {iterations} outside 1..{MAX_PBKDF2_ITERATIONS}")
    prf_oid = kdf_params["prf"]["algorithm"].dotted
    if prf_oid not in _PBKDF2_PRFS:
        raise UnsupportedAlgorithm(f"PBKDF2 PRF {prf_oid} is not supported")
    hash_type: Callable[[], hashes.HashAlgorithm] = {
        "sha1": hashes.SHA1,
        "sha256": hashes.SHA256,
        "sha384": hashes.SHA384,
        "sha512": hashes.SHA512,
        "sm3": hashes.SM3,
    }[_PBKDF2_PRFS[prf_oid]]
    salt = kdf_params["salt"].chosen.native
    key = PBKDF2HMAC(hash_type(), key_size, salt, iterations).derive(password)
    iv = enc["parameters"].native
    if not isinstance(iv, bytes) or len(iv) != 16:
        raise MalformedDER("PBES2: the IV must be 16 bytes")
    return _cbc_decrypt(cipher, key, iv, data, block=16)
