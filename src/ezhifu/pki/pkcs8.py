"""Password-based encryption of PKCS#8 private keys (PBES2, RFC 8018 clause 6.2).

``EncryptedPrivateKeyInfo`` (RFC 5958 clause 3) wraps a DER ``PrivateKeyInfo`` encrypted with
PBES2: a key derivation function (PBKDF2, RFC 8018 clause 5.2, or scrypt, RFC 7914 clause 7)
and a CBC block cipher with PKCS#7 padding (RFC 8018 clause 6.2.1 step 4, clause 6.1.1 note).

pyca/cryptography can do this for RSA and NIST-curve keys but refuses SM2 keys, so ezhifu
parses the structures with asn1crypto and uses only cryptography's primitives (KDFs, AES,
SM4). Supported on decryption:

* KDF: PBKDF2 with HMAC-SHA1 (the RFC 8018 default PRF), -SHA224/256/384/512 or -SM3
  (OID 1.2.156.10197.1.401.2), and scrypt;
* cipher: AES-128/192/256-CBC (RFC 8018 App. B.2.5, NIST OIDs) and SM4-CBC
  (1.2.156.10197.1.104.2, GB/T 32907 block cipher).

PBES1 (DES, RC2, PKCS#12 3DES/RC4 schemes) is refused: these ciphers are obsolete.

KDF parameters come from the file, so they are bounded before any work is done: a hostile
file cannot make ezhifu spin for hours or allocate gigabytes (:data:`MAX_PBKDF2_ITERATIONS`,
:data:`MAX_SCRYPT_MEMORY`, :data:`MAX_SCRYPT_WORK`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Unpack

from asn1crypto import algos, core, keys
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ezhifu.crypto import oids
from ezhifu.errors import BadPassword, InvalidInput, MalformedDER, UnsupportedAlgorithm

__all__ = [
    "DEFAULT_PBKDF2_ITERATIONS",
    "DEFAULT_SCRYPT_N",
    "MAX_PBKDF2_ITERATIONS",
    "MAX_SCRYPT_MEMORY",
    "MAX_SCRYPT_WORK",
    "CipherName",
    "KdfName",
    "PasswordRequired",
    "Pbes2Options",
    "decrypt_private_key_info",
    "encrypt_private_key_info",
    "is_encrypted_private_key_info",
    "pbes2_encrypt",
]

oids.register()

#: Upper bound accepted on decryption; about 1-2 s of PBKDF2-HMAC-SHA256 on a 2020s CPU.
MAX_PBKDF2_ITERATIONS = 5_000_000
#: scrypt memory bound on decryption (128 * r * N bytes, RFC 7914 clause 2).
MAX_SCRYPT_MEMORY = 512 * 1024 * 1024
#: scrypt work bound on decryption (N * r * p), i.e. N = 2**20 with r = 8, p = 1.
MAX_SCRYPT_WORK = 2**23
#: Defaults for new files: OWASP 2023 figure for PBKDF2-HMAC-SHA256; scrypt N = 2**14, r = 8, p = 1
#: (16 MiB: the largest power of two OpenSSL 3 reads under its default 32 MiB scrypt memory limit).
DEFAULT_PBKDF2_ITERATIONS = 600_000
DEFAULT_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_MAX_SALT = 1024

KdfName = Literal["scrypt", "pbkdf2"]
CipherName = Literal["aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "sm4-cbc"]


class PasswordRequired(BadPassword):
    """An encrypted private key was given without a password."""


@dataclass(frozen=True, slots=True)
class _CipherSpec:
    oid: str
    key_size: int
    algorithm: str  # the name of the cipher class in cryptography's ``algorithms``


_CIPHERS: dict[str, _CipherSpec] = {
    "aes-128-cbc": _CipherSpec(oids.dotted("aes-128-cbc"), 16, "AES"),
    "aes-192-cbc": _CipherSpec(oids.dotted("aes-192-cbc"), 24, "AES"),
    "aes-256-cbc": _CipherSpec(oids.dotted("aes-256-cbc"), 32, "AES"),
    "sm4-cbc": _CipherSpec(oids.OID_SM4_CBC, 16, "SM4"),
}
_CIPHER_BY_OID = {spec.oid: (name, spec) for name, spec in _CIPHERS.items()}

# PBKDF2 PRFs (RFC 8018 App. B.1; HMAC-SM3 per the OpenSSL object table).
_PRFS: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    oids.dotted("hmac-sha1"): ("hmacWithSHA1", hashes.SHA1),
    oids.dotted("hmac-sha224"): ("hmacWithSHA224", hashes.SHA224),
    oids.dotted("hmac-sha256"): ("hmacWithSHA256", hashes.SHA256),
    oids.dotted("hmac-sha384"): ("hmacWithSHA384", hashes.SHA384),
    oids.dotted("hmac-sha512"): ("hmacWithSHA512", hashes.SHA512),
    oids.OID_HMAC_SM3: ("hmacWithSM3", hashes.SM3),
}
_PRF_OID_BY_NAME = {digest: oids.dotted(f"hmac-{digest}") for digest in ("sha1", "sha256", "sm3")}

_OID_PBES2 = oids.OID_PBES2
_OID_PBKDF2 = oids.OID_PBKDF2


def _cbc(spec: _CipherSpec, key: bytes, iv: bytes) -> Any:
    """The CBC cipher of ``spec`` (AES per FIPS 197, SM4 per GB/T 32907) under ``key`` and ``iv``."""
    # why: cryptography's cipher modules (~3 ms a start-up) load only when a key is encrypted or decrypted
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    return Cipher(getattr(algorithms, spec.algorithm)(key), modes.CBC(iv))


def is_encrypted_private_key_info(der: bytes) -> bool:
    """True when ``der`` parses as an ``EncryptedPrivateKeyInfo`` (RFC 5958 clause 3)."""
    try:
        info = keys.EncryptedPrivateKeyInfo.load(der, strict=True)
        info["encryption_algorithm"]["algorithm"].dotted  # noqa: B018 - forces parsing
        return isinstance(info["encrypted_data"].native, bytes)
    except (ValueError, TypeError, KeyError):
        return False


def _derive_pbkdf2(params: Any, password: bytes, key_size: int) -> bytes:
    salt = params["salt"]
    if salt.name != "specified":
        raise UnsupportedAlgorithm("PBKDF2 'otherSource' salt (RFC 8018 App. A.2) is not supported")
    salt_bytes: bytes = salt.chosen.native
    iterations: int = params["iteration_count"].native
    key_length = params["key_length"].native
    prf_oid: str = params["prf"]["algorithm"].dotted
    if prf_oid not in _PRFS:
        raise UnsupportedAlgorithm(f"PBKDF2 PRF {prf_oid} is not supported")
    if not 1 <= iterations <= MAX_PBKDF2_ITERATIONS:
        raise InvalidInput(
            f"PBKDF2 iteration count {iterations} outside the accepted range 1..{MAX_PBKDF2_ITERATIONS}"
        )
    if len(salt_bytes) > _MAX_SALT:
        raise InvalidInput(f"PBKDF2 salt of {len(salt_bytes)} bytes is too long")
    if key_length is not None and key_length != key_size:
        raise InvalidInput(f"PBKDF2 keyLength {key_length} does not match the cipher key size {key_size}")
    kdf = PBKDF2HMAC(_PRFS[prf_oid][1](), key_size, salt_bytes, iterations)
    return kdf.derive(password)


def _derive_scrypt(params: Any, password: bytes, key_size: int) -> bytes:
    salt: bytes = params["salt"].native
    n: int = params["cost_parameter"].native
    r: int = params["block_size"].native
    p: int = params["parallelization_parameter"].native
    key_length = params["key_length"].native
    if n < 2 or n & (n - 1):
        raise InvalidInput(f"scrypt cost parameter N={n} is not a power of two > 1 (RFC 7914 clause 2)")
    if r < 1 or p < 1:
        raise InvalidInput(f"scrypt parameters r={r}, p={p} must be positive")
    if 128 * r * n > MAX_SCRYPT_MEMORY or n * r * p > MAX_SCRYPT_WORK:
        raise InvalidInput(f"scrypt parameters N={n}, r={r}, p={p} exceed the accepted cost bound")
    if len(salt) > _MAX_SALT:
        raise InvalidInput(f"scrypt salt of {len(salt)} bytes is too long")
    if key_length is not None and key_length != key_size:
        raise InvalidInput(f"scrypt keyLength {key_length} does not match the cipher key size {key_size}")
    return Scrypt(salt, key_size, n, r, p).derive(password)


def decrypt_private_key_info(der: bytes, password: bytes | None) -> bytes:
    """Decrypt a DER ``EncryptedPrivateKeyInfo`` and return the DER ``PrivateKeyInfo``.

    Raises :class:`PasswordRequired` when ``password`` is None, :class:`BadPassword` when the
    password is wrong (bad padding or garbage plaintext; the two cannot be told apart, RFC 8018
    clause 6.2.2 step 5), :class:`UnsupportedAlgorithm` for schemes other than PBES2 with the
    KDFs and ciphers listed in the module docstring, :class:`InvalidInput` (or
    :class:`MalformedDER`) for malformed or out-of-bounds parameters.
    """
    if password is None:
        raise PasswordRequired("the private key is encrypted (PKCS#8 PBES2); a password is required")
    if not isinstance(password, bytes | bytearray):
        raise InvalidInput("the password must be bytes")
    try:
        info = keys.EncryptedPrivateKeyInfo.load(der, strict=True)
        scheme = info["encryption_algorithm"]
        scheme_oid: str = scheme["algorithm"].dotted
        ciphertext: bytes = info["encrypted_data"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedDER(f"EncryptedPrivateKeyInfo: malformed DER ({exc})") from exc
    if scheme_oid != _OID_PBES2:
        name = algos.EncryptionAlgorithmId._map.get(scheme_oid, scheme_oid)
        raise UnsupportedAlgorithm(
            f"private key encryption scheme {name} ({scheme_oid}) is not supported; only PBES2 "
            "(RFC 8018 clause 6.2) is accepted"
        )
    try:
        params = scheme["parameters"]
        kdf = params["key_derivation_func"]
        kdf_oid: str = kdf["algorithm"].dotted
        kdf_params = kdf["parameters"]
        enc = params["encryption_scheme"]
        cipher_oid: str = enc["algorithm"].dotted
        if cipher_oid not in _CIPHER_BY_OID:
            raise UnsupportedAlgorithm(f"PBES2 encryption scheme {cipher_oid} is not supported")
        cipher_name, spec = _CIPHER_BY_OID[cipher_oid]
        iv = enc["parameters"].native
        if not isinstance(iv, bytes) or len(iv) != 16:
            raise InvalidInput(f"PBES2 {cipher_name}: the IV must be 16 bytes")
        if kdf_oid == _OID_PBKDF2:
            kdf_params.native  # noqa: B018 - forces parsing so DER errors surface here
            key = _derive_pbkdf2(kdf_params, bytes(password), spec.key_size)
        elif kdf_oid == oids.OID_SCRYPT:
            kdf_params.native  # noqa: B018
            key = _derive_scrypt(kdf_params, bytes(password), spec.key_size)
        else:
            raise UnsupportedAlgorithm(f"PBES2 key derivation function {kdf_oid} is not supported")
    except (UnsupportedAlgorithm, InvalidInput):
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise MalformedDER(f"PBES2 parameters: malformed DER ({exc})") from exc
    if not ciphertext or len(ciphertext) % 16:
        raise MalformedDER(
            f"encrypted private key data of {len(ciphertext)} bytes is not whole cipher blocks"
        )
    decryptor = _cbc(spec, key, iv).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        parsed = keys.PrivateKeyInfo.load(plain, strict=True)
        parsed["private_key_algorithm"]["algorithm"].dotted  # noqa: B018
        if not isinstance(parsed["private_key"].contents, bytes):
            raise ValueError("no private key")
    except (ValueError, TypeError, KeyError) as exc:
        raise BadPassword("wrong password, or the encrypted private key is damaged") from exc
    return plain


def pbes2_encrypt(
    data: bytes,
    password: bytes,
    *,
    kdf: KdfName = "scrypt",
    cipher: CipherName = "aes-256-cbc",
    prf: Literal["sha256", "sha1", "sm3"] = "sha256",
    iterations: int = DEFAULT_PBKDF2_ITERATIONS,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> tuple[algos.EncryptionAlgorithm, bytes]:
    """Encrypt ``data`` with PBES2 (RFC 8018 clause 6.2.1); return the algorithm and ciphertext.

    ``kdf="scrypt"`` (RFC 7914, N = ``scrypt_n``, r = 8, p = 1) or ``"pbkdf2"`` (RFC 8018
    clause 5.2 with HMAC-``prf`` and ``iterations``); a fresh 16-byte salt and IV come from
    :mod:`secrets`. ``cipher`` is AES-CBC or SM4-CBC, with PKCS#7 padding. The algorithm is the
    ``pbes2`` ``AlgorithmIdentifier`` of PKCS#8 ``EncryptedPrivateKeyInfo`` and of PKCS#12 /
    CMS ``encryptedData``.
    """
    if not isinstance(password, bytes | bytearray) or not password:
        raise InvalidInput("the password must be non-empty bytes")
    if cipher not in _CIPHERS:
        raise UnsupportedAlgorithm(f"cipher {cipher!r} is not supported; use one of {sorted(_CIPHERS)}")
    spec = _CIPHERS[cipher]
    salt = secrets.token_bytes(16)
    iv = secrets.token_bytes(16)
    if kdf == "scrypt":
        if scrypt_n < 2 or scrypt_n & (scrypt_n - 1) or 128 * _SCRYPT_R * scrypt_n > MAX_SCRYPT_MEMORY:
            raise InvalidInput(f"scrypt N={scrypt_n} must be a power of two within the accepted bound")
        key = Scrypt(salt, spec.key_size, scrypt_n, _SCRYPT_R, _SCRYPT_P).derive(bytes(password))
        kdf_alg = algos.KdfAlgorithm(
            {
                "algorithm": "scrypt",
                "parameters": oids.ScryptParams(
                    {
                        "salt": salt,
                        "cost_parameter": scrypt_n,
                        "block_size": _SCRYPT_R,
                        "parallelization_parameter": _SCRYPT_P,
                    }
                ),
            }
        )
    elif kdf == "pbkdf2":
        if prf not in _PRF_OID_BY_NAME:
            raise UnsupportedAlgorithm(f"PBKDF2 PRF {prf!r} is not supported")
        if not 1000 <= iterations <= MAX_PBKDF2_ITERATIONS:
            raise InvalidInput(f"PBKDF2 iterations {iterations} outside 1000..{MAX_PBKDF2_ITERATIONS}")
        prf_oid = _PRF_OID_BY_NAME[prf]
        key = PBKDF2HMAC(_PRFS[prf_oid][1](), spec.key_size, salt, iterations).derive(bytes(password))
        pbkdf2_params = algos.Pbkdf2Params(
            {"salt": algos.Pbkdf2Salt(name="specified", value=salt), "iteration_count": iterations}
        )
        if prf != "sha1":
            # hmacWithSHA1 is the DEFAULT of 'prf' and so must be absent in DER (X.690 clause 11.5).
            pbkdf2_params["prf"] = algos.HmacAlgorithm({"algorithm": prf_oid, "parameters": core.Null()})
        kdf_alg = algos.KdfAlgorithm({"algorithm": "pbkdf2", "parameters": pbkdf2_params})
    else:
        raise UnsupportedAlgorithm(f"key derivation function {kdf!r} is not supported; use scrypt or pbkdf2")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = _cbc(spec, key, iv).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    algorithm = algos.EncryptionAlgorithm(
        {
            "algorithm": "pbes2",
            "parameters": algos.Pbes2Params(
                {
                    "key_derivation_func": kdf_alg,
                    "encryption_scheme": algos.EncryptionAlgorithm(
                        {"algorithm": spec.oid, "parameters": core.OctetString(iv)}
                    ),
                }
            ),
        }
    )
    return algorithm, ciphertext


class Pbes2Options(TypedDict, total=False):
    """The keyword options of :func:`pbes2_encrypt`, which documents them."""

    kdf: KdfName
    cipher: CipherName
    prf: Literal["sha256", "sha1", "sm3"]
    iterations: int
    scrypt_n: int


def encrypt_private_key_info(
    private_key_info: bytes, password: bytes, **options: Unpack[Pbes2Options]
) -> bytes:
    """Encrypt a DER ``PrivateKeyInfo`` with PBES2 and return a DER ``EncryptedPrivateKeyInfo``.

    RFC 5958 clause 3 around :func:`pbes2_encrypt` (``options``: its keyword options).
    """
    algorithm, ciphertext = pbes2_encrypt(private_key_info, password, **options)
    info = keys.EncryptedPrivateKeyInfo({"encryption_algorithm": algorithm, "encrypted_data": ciphertext})
    der: bytes = info.dump()
    return der
