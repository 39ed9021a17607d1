"""Security review, keystores and the audit trail: tampered files stay inside the error tree,
KDF costs read from files are bounded, writes fail as KeyStoreError, key files are private.

Findings KS-1 .. KS-6 and AUD-1 in docs/security-review.md.
"""

from __future__ import annotations

import errno
import hmac
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import cms, core
from asn1crypto import pkcs12 as asn1_pkcs12

from ezhifu.errors import AuditTamperedError, BadPassword, CorruptedKeyFile, InvalidInput, KeyStoreError
from ezhifu.keystore import encrypted_file
from ezhifu.keystore.audit import AuditChainBroken, AuditLog, SQLiteAuditStorage
from ezhifu.keystore.encrypted_file import MANIFEST_NAME, EncryptedFileKeyStore
from ezhifu.keystore.pkcs12 import (
    MAX_PKCS12_BYTES,
    MAX_PKCS12_ITERATIONS,
    PKCS12KeyStore,
    _KeyBag,
    pkcs12_kdf,
    write_pkcs12,
)
from ezhifu.keystore.pkcs12_crypto import bmp_password
from ezhifu.testing.pki import TestPKI, make_pki

FAST = 2**10
PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


@pytest.fixture
def store_dir(tmp_path: Path, pki: TestPKI) -> Path:
    path = tmp_path / "ks"
    with EncryptedFileKeyStore.init(path, PASSWORD, scrypt_n=FAST) as store:
        store.import_key("signer", pki.leaf_key, pki.chain)
    return path


def _edit_manifest(path: Path, **changes: object) -> None:
    manifest_path = path / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_bytes())
    manifest.update(changes)
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


# --- encrypted-file keystore ---------------------------------------------------------------


def test_non_ascii_check_value_is_a_bad_password_not_type_error(store_dir: Path) -> None:
    """hmac.compare_digest raises TypeError on non-ASCII str; that must not escape (KS-1)."""
    _edit_manifest(store_dir, check="é" * 64)
    with pytest.raises(BadPassword):
        EncryptedFileKeyStore(store_dir, PASSWORD)


def test_non_ascii_or_non_string_mac_is_corruption(store_dir: Path) -> None:
    original = (store_dir / MANIFEST_NAME).read_bytes()
    for mac in ("ü" * 64, 12345, None):
        (store_dir / MANIFEST_NAME).write_bytes(original)
        _edit_manifest(store_dir, mac=mac)
        with pytest.raises(CorruptedKeyFile, match="MAC"):
            EncryptedFileKeyStore(store_dir, PASSWORD)
    (store_dir / MANIFEST_NAME).write_bytes(original)
    with EncryptedFileKeyStore(store_dir, PASSWORD) as store:  # positive control
        assert store.aliases() == ["signer"]


@pytest.mark.parametrize(("n", "r", "p"), [(2**20, 32, 1), (2**18, 32, 4), (2**20, 8, 4)])
def test_planted_scrypt_cost_is_refused_before_any_work(store_dir: Path, n: int, r: int, p: int) -> None:
    """A manifest asking for 4 GiB (N=2**20, r=32) or 4x the work must not run (KS-2)."""
    manifest = json.loads((store_dir / MANIFEST_NAME).read_bytes())
    kdf = dict(manifest["kdf"], n=n, r=r, p=p)
    _edit_manifest(store_dir, kdf=kdf)
    with pytest.raises(CorruptedKeyFile, match="out of bounds"):
        EncryptedFileKeyStore(store_dir, PASSWORD)


def test_deeply_nested_manifest_is_corruption(store_dir: Path) -> None:
    (store_dir / MANIFEST_NAME).write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(CorruptedKeyFile, match="JSON"):
        EncryptedFileKeyStore(store_dir, PASSWORD)


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def hook(target: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    monkeypatch.setattr(encrypted_file, "before_replace_hook", hook)
    yield


def test_write_failure_is_keystore_error_and_nothing_changes(
    store_dir: Path, pki: TestPKI, disk_full: None
) -> None:
    """An OSError (disk full) on a write surfaced as a bare OSError before the fix (KS-3)."""
    with EncryptedFileKeyStore(store_dir, PASSWORD) as store:
        with pytest.raises(KeyStoreError, match="cannot write"):
            store.add_seal("seal-1", b"\x30\x00")
        with pytest.raises(KeyStoreError, match="cannot write"):
            store.import_key("second", pki.leaf_key, pki.chain)
        store.reload()
        assert store.aliases() == ["signer"] and store.seal_ids() == []


def test_init_failure_is_keystore_error(tmp_path: Path, disk_full: None) -> None:
    with pytest.raises(KeyStoreError, match="cannot create"):
        EncryptedFileKeyStore.init(tmp_path / "new", PASSWORD, scrypt_n=FAST)


def test_store_files_are_private(store_dir: Path) -> None:
    for path in store_dir.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} has mode {mode:o}"


def test_alias_and_seal_id_never_become_paths(store_dir: Path, pki: TestPKI, tmp_path: Path) -> None:
    """Files are content-addressed; a hostile alias or seal id is only a JSON key."""
    with EncryptedFileKeyStore(store_dir, PASSWORD) as store:
        store.import_key("../../escaped", pki.leaf_key, pki.chain)
        store.add_seal("../../../seal", b"\x30\x00")
        assert "../../escaped" in store.aliases()
        assert store.seal("../../../seal") == b"\x30\x00"
        with pytest.raises(InvalidInput):
            store.import_key("bad\nalias", pki.leaf_key, pki.chain)
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "seal").exists()
    names = {p.name for p in store_dir.rglob("*")}
    assert not any("escaped" in n or n == "seal" for n in names)


def test_manifest_cannot_point_outside_the_store(store_dir: Path) -> None:
    with EncryptedFileKeyStore(store_dir, PASSWORD) as store:
        with pytest.raises(CorruptedKeyFile, match="unexpected file"):
            store._object_path("../../etc/passwd")
        with pytest.raises(CorruptedKeyFile, match="unexpected file"):
            store._object_path("keys/../../x")


# --- PKCS#12 ---------------------------------------------------------------------------------


def _p12(pki: TestPKI) -> bytes:
    return write_pkcs12(None, "mine", pki.leaf_key, pki.chain, "pw-123", iterations=2048)


def test_pkcs12_mac_iterations_are_bounded(pki: TestPKI) -> None:
    """10 million pure-Python KDF rounds (twice for an empty password) were accepted (KS-4)."""
    pfx = asn1_pkcs12.Pfx.load(_p12(pki))
    pfx["mac_data"]["iterations"] = MAX_PKCS12_ITERATIONS + 1
    hostile = pfx.dump(force=True)
    with pytest.raises(CorruptedKeyFile, match="iteration count"):
        PKCS12KeyStore(hostile, "pw-123")
    assert MAX_PKCS12_ITERATIONS <= 2_000_000  # about 1.5 s of Python hashing at most
    with pytest.raises(InvalidInput):
        pkcs12_kdf("sha1", b"\x00\x00", b"salt", 3, 10_000_000, 20)
    with PKCS12KeyStore(_p12(pki), "pw-123") as store:  # positive control
        assert store.aliases() == ["mine"]


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = (
        bytes([n])
        if n < 128
        else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    )
    return bytes([tag]) + length + body


@pytest.mark.parametrize("depth", [20, 3000])
def test_pkcs12_nested_safe_contents_is_corruption(depth: int) -> None:
    """safeContentsBag inside safeContentsBag (RFC 7292 clause 4.2.6), MAC valid for the given
    password: RecursionError escaped before the fix (KS-6)."""
    bag_oid = core.ObjectIdentifier("1.2.840.113549.1.12.10.1.6").dump()
    inner = _tlv(0x30, b"")
    for _ in range(depth):
        inner = _tlv(0x30, _tlv(0x30, bag_oid + _tlv(0xA0, inner)))
    data_oid = core.ObjectIdentifier("1.2.840.113549.1.7.1").dump()
    content = _tlv(0x30, _tlv(0x30, data_oid + _tlv(0xA0, _tlv(0x04, inner))))
    salt = b"12345678"
    mac = hmac.new(pkcs12_kdf("sha256", bmp_password("pw"), salt, 3, 2048, 32), content, "sha256").digest()
    pfx = asn1_pkcs12.Pfx(
        {
            "version": "v3",
            "auth_safe": cms.ContentInfo({"content_type": "data", "content": core.OctetString(content)}),
            "mac_data": asn1_pkcs12.MacData(
                {
                    "mac": {"digest_algorithm": {"algorithm": "sha256"}, "digest": mac},
                    "mac_salt": salt,
                    "iterations": 2048,
                }
            ),
        }
    )
    with pytest.raises(CorruptedKeyFile):
        PKCS12KeyStore(pfx.dump(), "pw")


def test_pkcs12_file_size_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "huge.p12"
    with open(path, "wb") as handle:
        handle.truncate(MAX_PKCS12_BYTES + 1)
    with pytest.raises(CorruptedKeyFile, match="larger than"):
        PKCS12KeyStore(path, "pw")


def test_pkcs12_write_failure_is_keystore_error(tmp_path: Path, pki: TestPKI) -> None:
    with pytest.raises(KeyStoreError, match="cannot write"):
        write_pkcs12(
            tmp_path / "missing-dir" / "x.p12", "mine", pki.leaf_key, pki.chain, "pw", iterations=2048
        )


def test_pkcs12_key_bag_repr_hides_key_bytes() -> None:
    secret = b"\x30\x82PRIVATE-KEY-INFO-BYTES"
    text = repr(_KeyBag("alias", b"\x01", None, secret)) + repr(_KeyBag("a", None, secret, None))
    assert "PRIVATE-KEY-INFO" not in text and "alias" in text


# --- audit trail ---------------------------------------------------------------------------------

KEY = b"audit-test-key-0123456789abcdef!"


def _audit(path: Path, count: int = 3) -> AuditLog:
    log = AuditLog(SQLiteAuditStorage(path), KEY, actor="tester")
    for i in range(count):
        log.record("sign", "ok", alias="unit-head", voucher_no=f"V{i}")
    return log


def _sql(path: Path, statement: str, *params: object) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute(statement, params)
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("statement", "params"),
    [
        ("UPDATE audit_entry SET mac = ? WHERE seq = 2", ("é" * 64,)),
        ("UPDATE audit_entry SET entry_hash = ? WHERE seq = 2", ("ü" * 64,)),
        ("UPDATE audit_entry SET prev_hash = ? WHERE seq = 2", ("中" * 64,)),
        ("UPDATE audit_entry SET reason = ? WHERE seq = 2", (b"\x00blob",)),
        ("UPDATE audit_head SET mac = ?", ("é" * 64,)),
        ("UPDATE audit_head SET last_hash = ?", ("not hex",)),
        ("UPDATE audit_head SET count = ?", (-1,)),
    ],
)
def test_tampered_audit_rows_are_chain_breaks_not_crashes(
    tmp_path: Path, statement: str, params: tuple[object]
) -> None:
    """Non-ASCII, non-hex and wrongly typed values raised TypeError/ValueError (AUD-1)."""
    path = tmp_path / "audit.db"
    log = _audit(path)
    log.verify()  # positive control
    _sql(path, statement, *params)
    with pytest.raises(AuditChainBroken):
        log.verify()
    log.close()


def test_append_after_head_tampering_refuses(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log = _audit(path)
    _sql(path, "UPDATE audit_head SET last_hash = ?", "zz")
    with pytest.raises(AuditTamperedError):
        log.record("sign", "ok")
    log.close()


# --- configuration files ------------------------------------------------------------------------


def test_config_with_inline_password_must_be_private(tmp_path: Path) -> None:
    from ezhifu.errors import ConfigurationError
    from ezhifu.keystore import load_config

    config = tmp_path / "ks.toml"
    config.write_text('[keystore]\ntype = "file"\npath = "ks"\npassword = "inline-secret-value"\n')
    config.chmod(0o644)
    with pytest.raises(ConfigurationError, match="readable by others") as info:
        load_config(config)
    assert "inline-secret-value" not in str(info.value)
    config.chmod(0o600)
    assert load_config(config)["password"] == "inline-secret-value"
    by_name = tmp_path / "env.toml"  # naming an environment variable is not a secret
    by_name.write_text('type = "file"\npath = "ks"\npassword_env = "KS_PASSWORD"\n')
    by_name.chmod(0o644)
    assert load_config(by_name)["password_env"] == "KS_PASSWORD"
