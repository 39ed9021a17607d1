"""ezhifu.pki.keys: keys written by the openssl CLI in every form, round trips, negative controls."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import pem
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezhifu.crypto import sm2
from ezhifu.crypto.sm2 import SM2PrivateKey, SM2PublicKey
from ezhifu.errors import (
    BadPassword,
    CertificateError,
    EzhifuError,
    InvalidInput,
    MalformedDER,
    UnsupportedAlgorithm,
)
from ezhifu.pki import keys
from ezhifu.pki.pkcs8 import CipherName, KdfName

RunOpenSSL = Callable[..., subprocess.CompletedProcess[bytes]]  # the 'openssl' fixture (conftest.py)

# (file name, password, kind) of every openssl-written private key form ezhifu reads.
READABLE = [
    ("sm2.pkcs8.pem", None, "sm2"),
    ("sm2.pkcs8.der", None, "sm2"),
    ("sm2.trad.der", None, "sm2"),  # SEC1 DER from 'openssl pkey -outform DER'
    ("sm2.sec1.pem", None, "sm2"),  # 'SM2 PRIVATE KEY' label from 'openssl ec'
    ("sm2.enc-aes256.pem", b"secret", "sm2"),
    ("sm2.enc-aes256.der", b"secret", "sm2"),
    ("sm2.enc-aes128-sha1.pem", b"secret", "sm2"),
    ("sm2.enc-aes192-sha512.pem", b"secret", "sm2"),
    ("sm2.enc-sm4.pem", b"secret", "sm2"),
    ("sm2.enc-scrypt.pem", b"secret", "sm2"),
    ("rsa.pkcs8.pem", None, "rsa"),
    ("rsa.pkcs8.der", None, "rsa"),
    ("rsa.trad.der", None, "rsa"),  # PKCS#1 DER
    ("rsa.pkcs1.pem", None, "rsa"),
    ("rsa.enc-aes256.pem", b"secret", "rsa"),
    ("p256.pkcs8.pem", None, "ec"),
    ("p256.pkcs8.der", None, "ec"),
    ("p256.trad.der", None, "ec"),
    ("p256.sec1.pem", None, "ec"),
    ("p256.enc-aes256.pem", b"secret", "ec"),
]


@pytest.mark.interop
@pytest.mark.parametrize(("name", "password", "kind"), READABLE)
def test_load_openssl_private_keys(
    openssl_keys: dict[str, Path], name: str, password: bytes | None, kind: str
) -> None:
    key = keys.load_private_key(openssl_keys[name].read_bytes(), password)
    assert keys.key_kind(key) == kind
    # The public key derived from what we loaded is the one openssl derives from its file.
    stem = name.split(".")[0]
    expected = keys.load_public_key(openssl_keys[f"{stem}.pub.pem"].read_bytes())
    assert keys.same_public_key(key, expected)


@pytest.mark.interop
def test_sm2_private_value_matches_openssl(openssl_keys: dict[str, Path], openssl: RunOpenSSL) -> None:
    text = openssl("pkey", "-in", openssl_keys["sm2.pkcs8.pem"], "-noout", "-text").stdout.decode()
    priv_hex = text.split("priv:")[1].split("pub:")[0]
    expected = int("".join(c for c in priv_hex if c in "0123456789abcdef"), 16)
    key = keys.load_private_key(openssl_keys["sm2.pkcs8.pem"].read_bytes())
    assert isinstance(key, SM2PrivateKey)
    assert key.private_value == expected


def test_ecparam_block_before_key_is_skipped(openssl_keys: dict[str, Path]) -> None:
    data = openssl_keys["p256.ecparam.pem"].read_bytes()
    assert b"EC PARAMETERS" in data
    key = keys.load_private_key(data)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    data = openssl_keys["sm2.ecparam.pem"].read_bytes()
    assert b"SM2 PARAMETERS" in data
    assert isinstance(keys.load_private_key(data), SM2PrivateKey)


@pytest.mark.interop
@pytest.mark.parametrize("kind", ["sm2", "rsa", "p256"])
def test_load_openssl_public_keys(openssl_keys: dict[str, Path], kind: str) -> None:
    pem_bytes = openssl_keys[f"{kind}.pub.pem"].read_bytes()
    public = keys.load_public_key(pem_bytes)
    der = keys.dump_public_key(public, encoding="der")
    assert pem.unarmor(pem_bytes)[2] == der  # byte-identical SPKI, also for SM2
    assert keys.dump_public_key(public) == pem_bytes
    assert keys.same_public_key(keys.load_public_key(der), public)


def test_raw_sm2_point() -> None:
    key = SM2PrivateKey.generate()
    public = key.public_key()
    assert keys.load_public_key(public.encoded_point) == public
    assert keys.load_public_key(public.compressed_point) == public


@pytest.mark.parametrize("kind", ["sm2", "rsa2048", "p256"])
@pytest.mark.parametrize("password", [None, b"pass phrase \xe5\xaf\x86"])
def test_dump_load_round_trip(kind: str, password: bytes | None) -> None:
    key = keys.generate_private_key(kind)
    data = keys.dump_private_key(key, password)
    assert data.startswith(
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----" if password else b"-----BEGIN PRIVATE KEY-----"
    )
    again = keys.load_private_key(data, password)
    assert keys.key_kind(again) == keys.key_kind(key)
    assert keys.dump_private_key(again) == keys.dump_private_key(key)
    der = keys.dump_private_key(key, password, encoding="der")
    assert keys.dump_private_key(keys.load_private_key(der, password)) == keys.dump_private_key(key)


@pytest.mark.interop
@pytest.mark.parametrize(
    ("kdf", "cipher"),
    [("scrypt", "aes-256-cbc"), ("pbkdf2", "aes-256-cbc"), ("pbkdf2", "sm4-cbc"), ("scrypt", "aes-128-cbc")],
)
def test_openssl_reads_our_encrypted_keys(
    tmp_path: Path, openssl: RunOpenSSL, kdf: KdfName, cipher: CipherName
) -> None:
    key = keys.generate_private_key("sm2")
    path = tmp_path / "k.pem"
    path.write_bytes(keys.dump_private_key(key, b"secret", kdf=kdf, cipher=cipher, iterations=10_000))
    out = openssl("pkey", "-in", path, "-passin", "pass:secret", "-pubout").stdout
    assert keys.same_public_key(keys.load_public_key(out), key)
    # and with a wrong password openssl fails too
    assert openssl("pkey", "-in", path, "-passin", "pass:wrong", "-pubout", check=False).returncode != 0


@pytest.mark.interop
@pytest.mark.parametrize("kind", ["sm2", "rsa2048", "p256"])
def test_openssl_reads_our_plain_keys(tmp_path: Path, openssl: RunOpenSSL, kind: str) -> None:
    key = keys.generate_private_key(kind)
    path = tmp_path / "k.pem"
    path.write_bytes(keys.dump_private_key(key))
    assert openssl("pkey", "-in", path, "-check", "-noout").returncode == 0
    out = openssl("pkey", "-in", path, "-pubout").stdout
    assert out == keys.dump_public_key(key)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=1, max_value=sm2.SM2_N - 2))
def test_hypothesis_sm2_dump_load(d: int) -> None:
    key = SM2PrivateKey.from_private_value(d)
    for data in (keys.dump_private_key(key), keys.dump_private_key(key, encoding="der")):
        again = keys.load_private_key(data)
        assert isinstance(again, SM2PrivateKey)
        assert again.private_value == d


@settings(max_examples=8, deadline=None)
@given(
    st.integers(min_value=1, max_value=sm2.SM2_N - 2),
    st.binary(min_size=1, max_size=40),
    st.sampled_from(["aes-256-cbc", "aes-128-cbc", "sm4-cbc"]),
)
def test_hypothesis_encrypted_round_trip(d: int, password: bytes, cipher: CipherName) -> None:
    key = SM2PrivateKey.from_private_value(d)
    data = keys.dump_private_key(key, password, kdf="pbkdf2", iterations=1000, cipher=cipher)
    again = keys.load_private_key(data, password)
    assert isinstance(again, SM2PrivateKey)
    assert again.private_value == d


# --- negative controls ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\x00" * 10,
        secrets.token_bytes(200),
        b"hello, I am not a key",
        b"0\x03\x02\x01\x00",
        b"-----BEGIN PRIVATE KEY-----\nnot base64!!\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        b"",
    ],
)
def test_garbage_private_key(data: bytes) -> None:
    with pytest.raises(InvalidInput) as info:
        keys.load_private_key(data)
    assert str(info.value).startswith("private key")


@pytest.mark.interop
@pytest.mark.parametrize(
    ("name", "curve"),
    [
        ("p384.pkcs8.pem", "secp384r1"),
        ("p384.pkcs8.der", "secp384r1"),
        ("p384.trad.der", "secp384r1"),
        ("p384.sec1.pem", "secp384r1"),
        ("brainpool.pkcs8.pem", "brainpool"),
        ("brainpool.trad.der", "brainpool"),
    ],
)
def test_wrong_curve_refused(openssl_keys: dict[str, Path], name: str, curve: str) -> None:
    with pytest.raises(UnsupportedAlgorithm) as info:
        keys.load_private_key(openssl_keys[name].read_bytes())
    assert curve in str(info.value).lower()
    assert "not supported" in str(info.value)


@pytest.mark.interop
@pytest.mark.parametrize("kind", ["p384", "brainpool"])
def test_wrong_curve_public_key_refused(openssl_keys: dict[str, Path], kind: str) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="elliptic curve"):
        keys.load_public_key(openssl_keys[f"{kind}.pub.pem"].read_bytes())


@pytest.mark.interop
@pytest.mark.parametrize(
    "name", ["sm2.pkcs8.der", "sm2.trad.der", "rsa.pkcs8.der", "p256.pkcs8.der", "sm2.enc-aes256.der"]
)
def test_truncated_der(openssl_keys: dict[str, Path], name: str) -> None:
    der = openssl_keys[name].read_bytes()
    for cut in (1, 2, len(der) // 2, len(der) - 1):
        with pytest.raises(MalformedDER) as info:
            keys.load_private_key(der[:cut], b"secret" if "enc" in name else None)
        assert "private key" in str(info.value)


@pytest.mark.interop
def test_trailing_bytes_after_der(openssl_keys: dict[str, Path]) -> None:
    der = openssl_keys["sm2.pkcs8.der"].read_bytes()
    with pytest.raises(MalformedDER, match="trailing"):
        keys.load_private_key(der + b"\x00")


@pytest.mark.interop
@pytest.mark.parametrize(
    "name", ["sm2.enc-aes256.pem", "sm2.enc-sm4.pem", "sm2.enc-scrypt.pem", "rsa.enc-aes256.pem"]
)
def test_wrong_password(openssl_keys: dict[str, Path], name: str) -> None:
    with pytest.raises(BadPassword) as info:
        keys.load_private_key(openssl_keys[name].read_bytes(), b"Secret")
    assert "wrong password" in str(info.value)
    assert "Secret" not in str(info.value)


@pytest.mark.interop
def test_missing_or_spurious_password(openssl_keys: dict[str, Path]) -> None:
    with pytest.raises(keys.PasswordRequired, match="password is required"):
        keys.load_private_key(openssl_keys["sm2.enc-aes256.pem"].read_bytes())
    with pytest.raises(InvalidInput, match="not encrypted"):
        keys.load_private_key(openssl_keys["sm2.pkcs8.pem"].read_bytes(), b"secret")


@pytest.mark.interop
def test_pbes1_refused(openssl_keys: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="only PBES2"):
        keys.load_private_key(openssl_keys["rsa.enc-pbes1.pem"].read_bytes(), b"secret")


@pytest.mark.interop
def test_legacy_pem_encryption_refused(openssl_keys: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="legacy"):
        keys.load_private_key(openssl_keys["p256.legacy-enc.pem"].read_bytes(), b"secret")


@pytest.mark.interop
def test_pem_label_must_match_contents(openssl_keys: dict[str, Path]) -> None:
    der = openssl_keys["sm2.pkcs8.der"].read_bytes()
    with pytest.raises(MalformedDER, match="label 'EC PRIVATE KEY'"):
        keys.load_private_key(pem.armor("EC PRIVATE KEY", der))
    with pytest.raises(InvalidInput, match="not a private key label"):
        keys.load_private_key(pem.armor("CERTIFICATE", der))


@pytest.mark.interop
def test_pem_trailing_garbage_refused(openssl_keys: dict[str, Path]) -> None:
    data = openssl_keys["sm2.pkcs8.pem"].read_bytes()
    with pytest.raises(InvalidInput, match="outside PEM blocks"):
        keys.load_private_key(data + b"garbage")
    with pytest.raises(InvalidInput, match="expected one PEM private key block"):
        keys.load_private_key(data + data)


def test_sm2_embedded_public_key_mismatch() -> None:
    from asn1crypto import keys as akeys

    a, b = SM2PrivateKey.generate(), SM2PrivateKey.generate()
    ec_key = akeys.ECPrivateKey(
        {
            "version": "ecPrivkeyVer1",
            "private_key": a.private_value,
            "parameters": akeys.ECDomainParameters(name="named", value="1.2.156.10197.1.301"),
            "public_key": b.public_key().encoded_point,
        }
    )
    with pytest.raises(InvalidInput, match="does not match"):
        keys.load_private_key(ec_key.dump())


def test_sm2_private_value_out_of_range() -> None:
    from asn1crypto import keys as akeys

    for d in (0, sm2.SM2_N - 1, sm2.SM2_N):
        ec_key = akeys.ECPrivateKey(
            {
                "version": "ecPrivkeyVer1",
                "private_key": d,
                "parameters": akeys.ECDomainParameters(name="named", value="1.2.156.10197.1.301"),
            }
        )
        with pytest.raises(InvalidInput, match="invalid SM2 private key"):
            keys.load_private_key(ec_key.dump())


def test_invalid_sm2_public_points() -> None:
    public = SM2PrivateKey.generate().public_key()
    off_curve = b"\x04" + public.x.to_bytes(32, "big") + ((public.y + 1) % sm2.SM2_P).to_bytes(32, "big")
    out_of_range = b"\x04" + (sm2.SM2_P + 1).to_bytes(32, "big") + public.y.to_bytes(32, "big")
    for point in (off_curve, out_of_range, b"\x00", b"\x04" + b"\x00" * 64):
        with pytest.raises(InvalidInput):
            keys.load_public_key(point)
    # the same points inside an SPKI
    good = keys.dump_public_key(public, encoding="der")
    bad = good[:-64] + off_curve[1:]
    with pytest.raises(InvalidInput, match="not on the SM2 curve"):
        keys.load_public_key(bad)


def test_generate_kinds() -> None:
    assert isinstance(keys.generate_private_key("sm2"), SM2PrivateKey)
    assert isinstance(keys.generate_private_key("p256"), ec.EllipticCurvePrivateKey)
    rsa_key = keys.generate_private_key("rsa1024")
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    assert rsa_key.key_size == 1024
    with pytest.raises(UnsupportedAlgorithm, match="'dsa'"):
        keys.generate_private_key("dsa")
    with pytest.raises(UnsupportedAlgorithm):
        keys.generate_private_key("rsa512")


def test_public_key_of_and_key_kind(sm2_pki: object) -> None:
    from ezhifu.testing.pki import TestPKI

    assert isinstance(sm2_pki, TestPKI)
    public = keys.public_key_of(sm2_pki.leaf_cert)
    assert isinstance(public, SM2PublicKey)
    assert keys.same_public_key(public, sm2_pki.leaf_key)
    assert keys.public_key_of(sm2_pki.leaf_cert.dump()) == public
    assert keys.key_kind(public) == "sm2"
    with pytest.raises(InvalidInput):
        keys.key_kind("not a key")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        keys.public_key_of(12)


# --- certificates --------------------------------------------------------------------------


def test_load_certificate_pem_der_and_bundle(rsa_pki3: object) -> None:
    from ezhifu.testing.pki import TestPKI

    assert isinstance(rsa_pki3, TestPKI)
    der = rsa_pki3.leaf_cert.dump()
    text = pem.armor("CERTIFICATE", der)
    assert keys.load_certificate(der).dump() == der
    assert keys.load_certificate(text).dump() == der
    bundle_pem = b"".join(pem.armor("CERTIFICATE", c.dump()) for c in rsa_pki3.chain)
    assert [c.dump() for c in keys.load_certificates(bundle_pem)] == [c.dump() for c in rsa_pki3.chain]
    bundle_der = b"".join(c.dump() for c in rsa_pki3.chain)
    assert [c.dump() for c in keys.load_certificates(bundle_der)] == [c.dump() for c in rsa_pki3.chain]


def test_load_certificate_strict(sm2_pki: object) -> None:
    from ezhifu.testing.pki import TestPKI

    assert isinstance(sm2_pki, TestPKI)
    der = sm2_pki.leaf_cert.dump()
    text = pem.armor("CERTIFICATE", der)
    cases = [
        der + b"\x00",  # trailing garbage after DER
        der[:-1],  # truncated
        text + b"trailing",  # garbage after PEM
        text + text,  # two certificates where one is expected
        pem.armor("PRIVATE KEY", der),  # wrong label
        secrets.token_bytes(64),
        b"",
    ]
    for data in cases:
        with pytest.raises(CertificateError) as info:
            keys.load_certificate(data)
        assert isinstance(info.value, MalformedDER)
        assert "certificate" in str(info.value)
    with pytest.raises(CertificateError, match="offset"):
        keys.load_certificates(der + der[:10])


def test_every_error_is_ezhifu_error(openssl_keys: dict[str, Path]) -> None:
    """Fuzz-ish: flipping bytes of real keys never lets a dependency exception escape."""
    rng = secrets.SystemRandom()
    for name in ("sm2.pkcs8.der", "sm2.trad.der", "p256.pkcs8.der", "rsa.pkcs8.der", "sm2.enc-aes256.der"):
        der = bytearray(openssl_keys[name].read_bytes())
        for _ in range(15):
            mutated = bytearray(der)
            pos = rng.randrange(len(mutated))
            mutated[pos] ^= 1 << rng.randrange(8)
            with contextlib.suppress(EzhifuError):
                keys.load_private_key(bytes(mutated), b"secret" if "enc" in name else None)


def test_public_key_of_bytes_forms() -> None:
    key = SM2PrivateKey.generate()
    public = key.public_key()
    assert keys.public_key_of(public.encoded_point) == public
    assert keys.public_key_of(keys.dump_public_key(key)) == public
    assert keys.public_key_of(keys.dump_public_key(key, encoding="der")) == public
    with pytest.raises(CertificateError, match="certificate"):
        keys.public_key_of(b"neither a certificate nor a key")


def test_pem_parsing_is_linear_on_hostile_input() -> None:
    """Many BEGIN lines and no END: refused at once, not after quadratic scanning."""
    data = b"-----BEGIN PRIVATE KEY-----\n" * 30_000
    with pytest.raises(InvalidInput, match=r"outside PEM blocks|no END line"):
        keys.load_private_key(data)
    with pytest.raises(InvalidInput, match="no END line"):
        keys.load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n")


@pytest.mark.interop
def test_explicit_curve_parameters_refused(openssl_keys: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="explicit elliptic-curve parameters"):
        keys.load_private_key(openssl_keys["p256.explicit.pem"].read_bytes())


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=sm2.SM2_N - 2))
def test_hypothesis_sm2_public_key_round_trip(d: int) -> None:
    public = SM2PrivateKey.from_private_value(d).public_key()
    for data in (
        keys.dump_public_key(public),
        keys.dump_public_key(public, encoding="der"),
        public.encoded_point,
    ):
        assert keys.load_public_key(data) == public


@pytest.mark.interop
def test_other_key_types_refused(openssl_keys: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="ed25519"):
        keys.load_private_key(openssl_keys["ed25519.pkcs8.pem"].read_bytes())
    with pytest.raises(UnsupportedAlgorithm, match="ed25519"):
        keys.load_public_key(openssl_keys["ed25519.pub.pem"].read_bytes())


def test_invalid_p256_point_refused() -> None:
    der = bytearray(keys.dump_public_key(keys.generate_private_key("p256"), encoding="der"))
    der[-1] ^= 0x01  # y no longer matches x: off the curve
    with pytest.raises(InvalidInput, match="public key"):
        keys.load_public_key(bytes(der))
