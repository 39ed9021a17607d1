"""ezhifu.pki.pkcs8: PBES2 (RFC 8018) encryption of PKCS#8 keys and its bounds."""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import algos, core, keys
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ezhifu.crypto import oids
from ezhifu.errors import BadPassword, InvalidInput, MalformedDER, UnsupportedAlgorithm
from ezhifu.pki import keys as ekeys
from ezhifu.pki import pkcs8


@pytest.fixture(scope="module")
def plain() -> bytes:
    return ekeys.dump_private_key(ekeys.generate_private_key("sm2"), encoding="der")


@pytest.mark.parametrize("cipher", ["aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "sm4-cbc"])
@pytest.mark.parametrize("prf", ["sha1", "sha256", "sm3"])
def test_pbkdf2_round_trip(plain: bytes, cipher: pkcs8.CipherName, prf: str) -> None:
    enc = pkcs8.encrypt_private_key_info(plain, b"pw", kdf="pbkdf2", cipher=cipher, prf=prf, iterations=1000)  # type: ignore[arg-type]
    assert pkcs8.is_encrypted_private_key_info(enc)
    assert not pkcs8.is_encrypted_private_key_info(plain)
    assert pkcs8.decrypt_private_key_info(enc, b"pw") == plain


def test_scrypt_round_trip_and_structure(plain: bytes) -> None:
    enc = pkcs8.encrypt_private_key_info(plain, b"pw", scrypt_n=2**10)
    info = keys.EncryptedPrivateKeyInfo.load(enc)
    params = info["encryption_algorithm"]["parameters"]
    kdf = params["key_derivation_func"]
    assert kdf["algorithm"].dotted == oids.OID_SCRYPT  # RFC 7914 clause 7
    assert kdf["parameters"]["cost_parameter"].native == 2**10
    assert kdf["parameters"]["block_size"].native == 8
    assert params["encryption_scheme"]["algorithm"].dotted == "2.16.840.1.101.3.4.1.42"
    assert pkcs8.decrypt_private_key_info(enc, b"pw") == plain


def test_sm3_prf_matches_independent_pbkdf2(plain: bytes) -> None:
    """PBKDF2-HMAC-SM3 cross-checked with hashlib's (the system OpenSSL's) PBKDF2 over SM3."""
    enc = pkcs8.encrypt_private_key_info(
        plain, b"pw", kdf="pbkdf2", prf="sm3", cipher="sm4-cbc", iterations=1000
    )
    info = keys.EncryptedPrivateKeyInfo.load(enc)
    params = info["encryption_algorithm"]["parameters"]
    kdf_params = params["key_derivation_func"]["parameters"]
    assert kdf_params["prf"]["algorithm"].dotted == oids.OID_HMAC_SM3
    key = hashlib.pbkdf2_hmac("sm3", b"pw", kdf_params["salt"].native, 1000, 16)
    iv = params["encryption_scheme"]["parameters"].native
    decryptor = Cipher(algorithms.SM4(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(info["encrypted_data"].native) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    assert unpadder.update(padded) + unpadder.finalize() == plain


def test_fresh_salt_and_iv(plain: bytes) -> None:
    a = pkcs8.encrypt_private_key_info(plain, b"pw", kdf="pbkdf2", iterations=1000)
    b = pkcs8.encrypt_private_key_info(plain, b"pw", kdf="pbkdf2", iterations=1000)
    assert a != b


def test_wrong_and_missing_password(plain: bytes) -> None:
    enc = pkcs8.encrypt_private_key_info(plain, b"right", kdf="pbkdf2", iterations=1000)
    wrong = 0
    for attempt in range(20):
        with pytest.raises(BadPassword):
            pkcs8.decrypt_private_key_info(enc, f"wrong{attempt}".encode())
        wrong += 1
    assert wrong == 20
    with pytest.raises(pkcs8.PasswordRequired):
        pkcs8.decrypt_private_key_info(enc, None)


def _with_kdf(plain: bytes, kdf: algos.KdfAlgorithm, cipher_oid: str = "2.16.840.1.101.3.4.1.42") -> bytes:
    info = keys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": kdf,
                    "encryption_scheme": {
                        "algorithm": cipher_oid,
                        "parameters": core.OctetString(b"\x00" * 16),
                    },
                },
            },
            "encrypted_data": b"\x00" * 32,
        }
    )
    der: bytes = info.dump()
    return der


def _pbkdf2(
    iterations: int, prf: str = "1.2.840.113549.2.9", key_length: int | None = None
) -> algos.KdfAlgorithm:
    params = {
        "salt": algos.Pbkdf2Salt(name="specified", value=b"s" * 16),
        "iteration_count": iterations,
        "prf": {"algorithm": prf, "parameters": core.Null()},
    }
    if key_length is not None:
        params["key_length"] = key_length
    return algos.KdfAlgorithm({"algorithm": "pbkdf2", "parameters": params})


def _scrypt(n: int, r: int = 8, p: int = 1) -> algos.KdfAlgorithm:
    return algos.KdfAlgorithm(
        {
            "algorithm": "scrypt",
            "parameters": oids.ScryptParams(
                {"salt": b"s" * 16, "cost_parameter": n, "block_size": r, "parallelization_parameter": p}
            ),
        }
    )


def test_absurd_kdf_parameters_refused_before_work(plain: bytes) -> None:
    # Each would take minutes to hours or gigabytes if run; the bound check refuses them first.
    cases = [
        (_pbkdf2(10**9), "iteration count"),
        (_pbkdf2(0), "iteration count"),
        (_scrypt(2**30), "cost bound"),
        (_scrypt(2**16, r=8, p=2**10), "cost bound"),
        (_scrypt(1000), "power of two"),
        (_pbkdf2(1000, key_length=16), "keyLength"),
    ]
    for kdf, message in cases:
        with pytest.raises(InvalidInput, match=message):
            pkcs8.decrypt_private_key_info(_with_kdf(plain, kdf), b"pw")


def test_unsupported_schemes(plain: bytes) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="PRF"):
        pkcs8.decrypt_private_key_info(_with_kdf(plain, _pbkdf2(1000, prf="1.2.840.113549.2.5")), b"pw")
    with pytest.raises(UnsupportedAlgorithm, match="encryption scheme"):
        pkcs8.decrypt_private_key_info(
            _with_kdf(plain, _pbkdf2(1000), cipher_oid="2.16.840.1.101.3.4.1.46"), b"pw"
        )
    other_kdf = algos.KdfAlgorithm({"algorithm": "1.2.3.4", "parameters": core.Null()})
    with pytest.raises(UnsupportedAlgorithm, match="key derivation"):
        pkcs8.decrypt_private_key_info(_with_kdf(plain, other_kdf), b"pw")
    with pytest.raises(UnsupportedAlgorithm):
        pkcs8.encrypt_private_key_info(plain, b"pw", cipher="des-cbc")  # type: ignore[arg-type]
    with pytest.raises(UnsupportedAlgorithm):
        pkcs8.encrypt_private_key_info(plain, b"pw", kdf="argon2")  # type: ignore[arg-type]


def test_malformed(plain: bytes) -> None:
    enc = pkcs8.encrypt_private_key_info(plain, b"pw", kdf="pbkdf2", iterations=1000)
    for bad in (enc[:-1], enc + b"\x00", b"\x30\x00", b"garbage"):
        with pytest.raises(MalformedDER):
            pkcs8.decrypt_private_key_info(bad, b"pw")
    with pytest.raises(InvalidInput):
        pkcs8.encrypt_private_key_info(plain, b"")
    with pytest.raises(InvalidInput):
        pkcs8.encrypt_private_key_info(plain, b"pw", scrypt_n=3)


def test_default_prf_omitted_in_der(plain: bytes) -> None:
    """hmacWithSHA1 is the DEFAULT PRF (RFC 8018 App. A.2), so DER leaves it out (X.690 11.5)."""
    sha1 = pkcs8.encrypt_private_key_info(plain, b"pw", kdf="pbkdf2", prf="sha1", iterations=1000)
    sha256 = pkcs8.encrypt_private_key_info(plain, b"pw", kdf="pbkdf2", prf="sha256", iterations=1000)
    hmac_sha1_oid = bytes.fromhex("06082a864886f70d0207")
    hmac_sha256_oid = bytes.fromhex("06082a864886f70d0209")
    assert hmac_sha1_oid not in sha1
    assert hmac_sha256_oid in sha256
    params = keys.EncryptedPrivateKeyInfo.load(sha1)["encryption_algorithm"]["parameters"]
    assert params["key_derivation_func"]["parameters"]["prf"]["algorithm"].native == "sha1"
    assert pkcs8.decrypt_private_key_info(sha1, b"pw") == plain
