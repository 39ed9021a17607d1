"""Encrypted-file keystore: encryption at rest, modes, integrity, atomic writes under a kill."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ezhifu.errors import BadPassword, CorruptedKeyFile, KeyNotFound, KeyStoreError
from ezhifu.keystore.encrypted_file import MANIFEST_NAME, EncryptedFileKeyStore
from ezhifu.pki.keys import dump_private_key, load_private_key
from ezhifu.pki.signer import verify_signature
from ezhifu.testing.pki import TestPKI

FAST = 2**10
OPENSSL = shutil.which("openssl") or "openssl"


def _new_store(path: Path, pki: TestPKI, **options: object) -> EncryptedFileKeyStore:
    store = EncryptedFileKeyStore.init(path, "correct horse", scrypt_n=FAST, **options)  # type: ignore[arg-type]
    store.import_key("signer", pki.leaf_key, pki.chain)
    return store


def _files(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def test_files_are_private_and_no_plaintext_key_on_disk(tmp_path: Path, pkis: dict[str, TestPKI]) -> None:
    pki = pkis["sm2"]
    store = _new_store(tmp_path / "ks", pki)
    store.add_seal("SEAL1", b"\x30\x00")
    plain_der = dump_private_key(pki.leaf_key, encoding="der")
    secret = pki.leaf_key.private_value.to_bytes(32, "big")  # type: ignore[union-attr]
    for file in _files(tmp_path / "ks"):
        data = file.read_bytes()
        assert file.stat().st_mode & 0o077 == 0, file
        assert secret not in data and plain_der not in data, file
        assert b"BEGIN PRIVATE KEY" not in data, file
    assert (tmp_path / "ks").stat().st_mode & 0o077 == 0
    (key_file,) = (tmp_path / "ks" / "keys").iterdir()
    assert key_file.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


@pytest.mark.parametrize(
    ("kdf", "cipher", "kind"),
    [("scrypt", "aes-256-cbc", "rsa2048"), ("pbkdf2", "aes-256-cbc", "p256"), ("scrypt", "sm4-cbc", "sm2")],
)
def test_key_files_are_pkcs8_pbes2_openssl_reads(
    tmp_path: Path, pkis: dict[str, TestPKI], kdf: str, cipher: str, kind: str
) -> None:
    """The key file is plain RFC 5958 EncryptedPrivateKeyInfo: OpenSSL decrypts it with the password."""
    pki = pkis[kind]
    store = _new_store(tmp_path / "ks", pki, kdf=kdf, cipher=cipher, pbkdf2_iterations=1000)
    (key_file,) = (tmp_path / "ks" / "keys").iterdir()
    out = subprocess.run(
        [OPENSSL, "pkey", "-in", str(key_file), "-passin", "pass:correct horse"],
        capture_output=True,
        check=True,
    ).stdout
    assert dump_private_key(load_private_key(out)) == dump_private_key(pki.leaf_key)
    info = subprocess.run(
        [OPENSSL, "asn1parse", "-in", str(key_file)], capture_output=True, check=True, text=True
    ).stdout
    assert ":PBES2" in info and (":scrypt" if kdf == "scrypt" else ":PBKDF2") in info
    assert (":aes-256-cbc" if cipher == "aes-256-cbc" else ":sm4-cbc") in info
    signature = store.signer("signer").sign(b"m")
    verify_signature(pki.leaf_cert, b"m", signature)


def test_persistence_seals_export_and_remove(tmp_path: Path, pkis: dict[str, TestPKI]) -> None:
    pki = pkis["p256"]
    _new_store(tmp_path / "ks", pki).add_seal("SEAL1", b"\x30\x03\x02\x01\x01")
    with EncryptedFileKeyStore(tmp_path / "ks", "correct horse") as again:
        assert again.aliases() == ["signer"]
        assert again.seal_ids() == ["SEAL1"] and again.seal("SEAL1") == b"\x30\x03\x02\x01\x01"
        assert again.export_certificate("signer").startswith(b"-----BEGIN CERTIFICATE-----")
        assert again.export_certificate("signer", chain=True).count(b"BEGIN CERTIFICATE") == 2
        with pytest.raises(KeyStoreError, match="exists"):
            again.import_key("signer", pki.leaf_key, pki.chain)
        again.remove_key("signer")
        assert again.aliases() == []
        with pytest.raises(KeyNotFound):
            again.remove_key("signer")
    assert list((tmp_path / "ks" / "keys").iterdir()) == []  # old key file swept after the commit


def test_wrong_password_and_locked_open(tmp_path: Path, pkis: dict[str, TestPKI]) -> None:
    _new_store(tmp_path / "ks", pkis["sm2"])
    with pytest.raises(BadPassword, match="wrong password"):
        EncryptedFileKeyStore(tmp_path / "ks", "Correct horse")
    locked = EncryptedFileKeyStore(tmp_path / "ks", None)
    with pytest.raises(BadPassword, match="locked"):
        locked.aliases()
    with pytest.raises(BadPassword):
        locked.unlock("nope")
    locked.signer("signer", pin="correct horse").sign(b"now unlocked")
    assert locked.aliases() == ["signer"]


def test_key_with_its_own_password(tmp_path: Path, pkis: dict[str, TestPKI]) -> None:
    pki = pkis["sm2"]
    store = EncryptedFileKeyStore.init(tmp_path / "ks", "store pw", scrypt_n=FAST)
    store.import_key("own", pki.leaf_key, pki.chain, key_password="key pw")
    with pytest.raises(BadPassword, match="'own'"):
        store.signer("own")
    verify_signature(pki.leaf_cert, b"m", store.signer("own", pin="key pw").sign(b"m"))


def test_tampering_is_corruption(tmp_path: Path, pkis: dict[str, TestPKI]) -> None:
    pki = pkis["sm2"]
    _new_store(tmp_path / "ks", pki)
    manifest_path = tmp_path / "ks" / MANIFEST_NAME
    original = manifest_path.read_bytes()
    manifest = json.loads(original)
    manifest["keys"]["signer"]["kind"] = "rsa"  # an edit without the password-derived key
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CorruptedKeyFile, match="altered"):
        EncryptedFileKeyStore(tmp_path / "ks", "correct horse")
    manifest_path.write_bytes(original)
    (key_file,) = (tmp_path / "ks" / "keys").iterdir()
    data = bytearray(key_file.read_bytes())
    data[100] ^= 0x04
    key_file.write_bytes(bytes(data))
    store = EncryptedFileKeyStore(tmp_path / "ks", "correct horse")  # certificates are intact
    with pytest.raises(CorruptedKeyFile, match="hash mismatch"):
        store.signer("signer")
    key_file.unlink()
    with pytest.raises(CorruptedKeyFile, match="missing"):
        store.signer("signer")
    manifest_path.write_bytes(b"{not json")
    with pytest.raises(CorruptedKeyFile, match="JSON"):
        EncryptedFileKeyStore(tmp_path / "ks", "correct horse")


def test_world_readable_manifest_refused(tmp_path: Path, pkis: dict[str, TestPKI]) -> None:
    _new_store(tmp_path / "ks", pkis["sm2"])
    (tmp_path / "ks" / MANIFEST_NAME).chmod(0o644)
    with pytest.raises(KeyStoreError, match="readable by others"):
        EncryptedFileKeyStore(tmp_path / "ks", "correct horse")


_CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from ezhifu.keystore import encrypted_file
    from ezhifu.pki.keys import generate_private_key

    target = sys.argv[2]

    def die(path):
        if path.name == target or path.parent.name == target:
            os.kill(os.getpid(), signal.SIGKILL)  # killed between the temp write and the rename

    encrypted_file.before_replace_hook = die
    store = encrypted_file.EncryptedFileKeyStore(sys.argv[1], "correct horse")
    store.import_key("second", generate_private_key("p256"), replace=False)
    print("not reached")
    """
)


@pytest.mark.parametrize("target", [MANIFEST_NAME, "keys"])
def test_killed_during_write_leaves_previous_state(
    tmp_path: Path, pkis: dict[str, TestPKI], target: str
) -> None:
    pki = pkis["sm2"]
    _new_store(tmp_path / "ks", pki).close()
    before = {p.relative_to(tmp_path): p.read_bytes() for p in _files(tmp_path / "ks") if p.name != ".lock"}
    run = subprocess.run(
        [sys.executable, "-c", _CRASH_SCRIPT, str(tmp_path / "ks"), target],
        capture_output=True,
        env={**os.environ},
        timeout=60,
    )
    assert run.returncode == -9, run.stderr.decode()  # SIGKILL, not a clean exit
    assert b"not reached" not in run.stdout
    leftovers = [p for p in _files(tmp_path / "ks") if p.name.startswith(".tmp-")]
    assert leftovers  # the temporary file the kill interrupted
    with EncryptedFileKeyStore(tmp_path / "ks", "correct horse") as store:
        assert store.aliases() == ["signer"]  # the previous state, readable
        verify_signature(pki.leaf_cert, b"m", store.signer("signer").sign(b"m"))
        store.add_seal("S", b"\x30\x00")  # the next write sweeps the debris
    after = {p.relative_to(tmp_path) for p in _files(tmp_path / "ks")}
    assert not any(p.name.startswith(".tmp-") for p in after)
    assert set(before) <= after
