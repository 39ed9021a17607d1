"""PKCS#12: ofdrw's legacy SM2 files, OpenSSL 3 files, files we write, damage and passwords."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezhifu.errors import BadPassword, CorruptedKeyFile
from ezhifu.keystore.pkcs12 import PKCS12KeyStore, pkcs12_kdf, write_pkcs12
from ezhifu.pki.keys import dump_private_key, load_private_key, public_key_of, same_public_key
from ezhifu.pki.signer import verify_signature
from ezhifu.testing.pki import TestPKI

OPENSSL = shutil.which("openssl") or "openssl"
OFDRW_PASSWORD = "777777"  # published with the ofdrw test files (tests/conformance/ofdrw/README.md)


@pytest.mark.parametrize("name", ["USER.p12", "SealBuilder.p12"])
def test_ofdrw_legacy_sm2_p12_opens_and_signs(conformance_dir: Path, name: str) -> None:
    """ofdrw's files: SHA-1 MAC, 3DES key bag, 40-bit RC2 certificate bag (RFC 7292 App. C)."""
    with PKCS12KeyStore(conformance_dir / "ofdrw" / name, OFDRW_PASSWORD) as store:
        assert store.aliases() == ["private"]
        assert store.key_kind("private") == "sm2"
        cert = store.certificate("private")
        assert cert is not None and "OFD R&W" in cert.subject.human_friendly
        signer = store.signer("private")
        signature = signer.sign(b"ofdrw interop")
        verify_signature(cert, b"ofdrw interop", signature)  # with the certificate's public key


def test_ofdrw_wrong_password(conformance_dir: Path) -> None:
    with pytest.raises(BadPassword, match="MAC"):
        PKCS12KeyStore(conformance_dir / "ofdrw" / "USER.p12", "777778")


def test_ofdrw_key_matches_openssl_reading(conformance_dir: Path, tmp_path: Path) -> None:
    """The key we decrypt is the key OpenSSL decrypts from the same file (independent reader)."""
    path = conformance_dir / "ofdrw" / "USER.p12"
    out = subprocess.run(
        [
            OPENSSL,
            "pkcs12",
            "-in",
            str(path),
            "-nocerts",
            "-nodes",
            "-legacy",
            "-passin",
            f"pass:{OFDRW_PASSWORD}",
        ],
        check=True,
        capture_output=True,
    ).stdout
    theirs = load_private_key(out[out.index(b"-----BEGIN") :])
    store = PKCS12KeyStore(path, OFDRW_PASSWORD)
    cert = store.certificate("private")
    assert cert is not None
    assert same_public_key(theirs, public_key_of(cert))  # OpenSSL's key is the certificate's key
    signature = store.signer("private").sign(b"x")
    verify_signature(public_key_of(theirs), b"x", signature)  # and ours signs as that key


@pytest.mark.parametrize("legacy", [False, True], ids=["pbes2-aes", "legacy-3des-rc2"])
def test_openssl_written_sm2_p12_opens(tmp_path: Path, pkis: dict[str, TestPKI], legacy: bool) -> None:
    pki = pkis["sm2"]
    files = pki.write_pem(tmp_path)
    p12 = tmp_path / "openssl.p12"
    command = [
        OPENSSL, "pkcs12", "-export", "-inkey", str(files["leaf.key.pem"]), "-in", str(files["leaf.pem"]),
        "-certfile", str(files["root.pem"]), "-name", "signer", "-passout", "pass:s3cret", "-out", str(p12),
    ]  # fmt: skip
    if legacy:
        command.append("-legacy")
    subprocess.run(command, check=True, capture_output=True)
    with PKCS12KeyStore(p12, "s3cret") as store:
        assert store.aliases() == ["signer"]
        assert [c.dump() for c in store.chain("signer")] == [pki.leaf_cert.dump(), pki.root_cert.dump()]
        signature = store.signer("signer").sign(b"openssl interop")
        verify_signature(pki.leaf_cert, b"openssl interop", signature)


@pytest.mark.parametrize("kind", ["sm2", "rsa2048", "p256"])
def test_written_p12_reads_back_and_openssl_reads_it(
    tmp_path: Path, pkis: dict[str, TestPKI], kind: str
) -> None:
    pki = pkis[kind]
    path = tmp_path / f"{kind}.p12"
    write_pkcs12(path, "mine", pki.leaf_key, pki.chain, "pw-123", iterations=2048)
    assert path.stat().st_mode & 0o777 == 0o600
    with PKCS12KeyStore(path, "pw-123") as store:
        signature = store.signer("mine").sign(b"round trip")
        verify_signature(pki.leaf_cert, b"round trip", signature)
    out = subprocess.run(
        [OPENSSL, "pkcs12", "-in", str(path), "-nodes", "-passin", "pass:pw-123"],
        check=True,
        capture_output=True,
    ).stdout
    assert b"friendlyName: mine" in out
    key_pem = out[out.index(b"-----BEGIN PRIVATE KEY") : out.index(b"-----END PRIVATE KEY-----") + 25]
    assert dump_private_key(load_private_key(key_pem)) == dump_private_key(pki.leaf_key)
    bad = subprocess.run(
        [OPENSSL, "pkcs12", "-in", str(path), "-nodes", "-passin", "pass:nope"], capture_output=True
    )
    assert bad.returncode != 0  # negative control: OpenSSL checks the MAC we wrote


def test_truncated_file_is_corrupted(tmp_path: Path, conformance_dir: Path) -> None:
    data = (conformance_dir / "ofdrw" / "USER.p12").read_bytes()
    for cut in (data[:700], data[:40], b"not a pkcs12 file"):
        with pytest.raises(CorruptedKeyFile):
            PKCS12KeyStore(cut, OFDRW_PASSWORD)


def test_altered_content_fails_the_mac(conformance_dir: Path) -> None:
    data = bytearray((conformance_dir / "ofdrw" / "USER.p12").read_bytes())
    data[600] ^= 0x01  # inside the MACed authSafe
    with pytest.raises(BadPassword, match="altered"):
        PKCS12KeyStore(bytes(data), OFDRW_PASSWORD)


def test_locked_store_unlocks_through_signer_pin(conformance_dir: Path) -> None:
    store = PKCS12KeyStore(conformance_dir / "ofdrw" / "USER.p12", None)
    assert store.locked
    with pytest.raises(BadPassword, match="locked"):
        store.aliases()
    with pytest.raises(BadPassword):
        store.signer("private", pin="000000")
    signer = store.signer("private", pin=OFDRW_PASSWORD)
    assert not store.locked and signer.certificate is not None


@settings(max_examples=25, deadline=None)
@given(
    password=st.binary(max_size=40),
    salt=st.binary(min_size=1, max_size=40),
    purpose=st.sampled_from([1, 2, 3]),
    size=st.integers(min_value=1, max_value=70),
)
def test_pkcs12_kdf_prefix_property(password: bytes, salt: bytes, purpose: int, size: int) -> None:
    """RFC 7292 App. B.2 output is a stream: a shorter request is a prefix of a longer one."""
    longer = pkcs12_kdf("sha256", password, salt, purpose, 3, size + 20)
    assert pkcs12_kdf("sha256", password, salt, purpose, 3, size) == longer[:size]
    assert pkcs12_kdf("sha256", password, salt, purpose % 3 + 1, 3, size) != longer[:size] or size < 4


@pytest.mark.parametrize(
    ("password", "salt", "expected"),
    [
        # golang.org/x/crypto pkcs12/pbkdf_test.go, TestThatPBKDFWorksCorrectlyForLongKeys
        (
            "sesame".encode("utf-16-be") + b"\x00\x00",
            b"\xff" * 8,
            "7cd9fd3e2b3be7691a44e3bef0f9ea0fb9b897d4e325d9d1",
        ),
        # same file, TestThatPBKDFHandlesLeadingZeros (an I_j block with a leading zero byte)
        (b"\x00\x00", bytes.fromhex("f37e05b518324b4b"), "00f759ff47d14dd03665d5943cb3c4a39a2555c02aed66e1"),
    ],
)
def test_pkcs12_kdf_vectors(password: bytes, salt: bytes, expected: str) -> None:
    """RFC 7292 App. B.2 with SHA-1, ID 1 (key), 2,048 iterations, 24 bytes (3DES key)."""
    assert pkcs12_kdf("sha1", password, salt, 1, 2048, 24).hex() == expected


@settings(max_examples=8, deadline=None)
@given(
    alias=st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0xFFFF, exclude_categories=("Cs",)),
        min_size=1,
        max_size=12,
    ),
    password=st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x9FFF, exclude_categories=("Cs",)),
        min_size=1,
        max_size=12,
    ),
)
def test_sm2_p12_round_trip_property(pkis: dict[str, TestPKI], alias: str, password: str) -> None:
    """Any BMP alias and password: what we write, we read back, and the key signs."""
    pki = pkis["sm2"]
    data = write_pkcs12(None, alias, pki.leaf_key, pki.chain, password, iterations=1000)
    with PKCS12KeyStore(data, password) as store:
        assert store.aliases() == [alias]
        assert [c.dump() for c in store.chain(alias)] == [c.dump() for c in pki.chain]
        verify_signature(pki.leaf_cert, b"p", store.signer(alias).sign(b"p"))
    with pytest.raises(BadPassword):
        PKCS12KeyStore(data, password + "x")
