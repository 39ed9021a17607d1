"""Issue 13 finding 7: every use of a private key is recorded, through every path, and a
keystore restored from an older copy is refused.

Paths: ``KeyStore.signer()`` (memory and file stores, attached by API or by the configuration's
``audit`` keys), ``ezhifu sign`` / ``seal apply`` / ``seal make`` with ``--audit`` or with an
audited keystore, the SafeBox, and a flow library's sealer and link signer. On the old main none
of these but the SafeBox's own entries was recorded, and an older keystore copy opened.
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezhifu.cli.main import cli
from ezhifu.crypto.sm3 import sm3
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import AuditError, KeyStoreRolledBack
from ezhifu.flow.safebox import PositionTable, SafeBox
from ezhifu.keystore import load_config, open_keystore
from ezhifu.keystore.audit import AuditLog, SQLiteAuditStorage
from ezhifu.keystore.audit_use import AuditedSigner, audit_context, audited, open_audit
from ezhifu.keystore.encrypted_file import EncryptedFileKeyStore
from ezhifu.keystore.memory import MemoryKeyStore
from ezhifu.seal.make import make_seal
from ezhifu.testing.pki import TestPKI, make_pki

sys.path.insert(0, str(Path(__file__).parent / "flow"))
from flow_support import IDS, build_network, make_material

KEY = "audit key-use test key, >= 16 bytes"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


def _entries(path: Path) -> list[tuple[str, str, str]]:
    with AuditLog(SQLiteAuditStorage(path), KEY.encode(), head_file=True) as log:
        log.verify()
        return [(e.operation, e.outcome, e.alias) for e in log.entries()]


def _envelope(*seeds: int) -> Envelope:
    return Envelope.build([sample_voucher("5201", seed=s) for s in seeds])


def _seal(pki: TestPKI, holder: object) -> bytes:
    now = datetime.now(UTC)
    return make_seal(
        pki.signer(),
        seal_id="SEAL0001",
        name="测试单位公章",
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=30),
        holder_certs=[holder],  # type: ignore[list-item]
        picture=PNG,
        width_mm=40,
        height_mm=40,
    )


# --- the keystore's signer objects ---------------------------------------------------------------


def test_keystore_signer_records_every_signature(tmp_path: Path, pki: TestPKI) -> None:
    store = MemoryKeyStore()
    store.add_key("unit-head", pki.leaf_key, pki.chain)
    log = open_audit(str(tmp_path / "audit.db"), KEY.encode())
    store.attach_audit(log)
    signer = store.signer("unit-head")
    assert isinstance(signer, AuditedSigner) and signer.certificate is not None
    with audit_context("sign", position="cz_dwfz", vt_code="5201", voucher_no="V1"):
        signature = signer.sign(b"voucher text")
    assert signature
    (entry,) = log.entries()
    assert (entry.operation, entry.outcome, entry.alias, entry.position, entry.voucher_no) == (
        "sign",
        "ok",
        "unit-head",
        "cz_dwfz",
        "V1",
    )
    assert sm3(b"voucher text").hex() in entry.reason and "memory keystore" in entry.reason
    signer.sign(b"second")
    assert [e.operation for e in log.entries()] == ["sign", "key-use"]  # outside a context: key-use
    assert log.verify().count == 2
    store.close()
    log.close()


def test_no_signature_without_its_entry(tmp_path: Path, pki: TestPKI) -> None:
    store = MemoryKeyStore()
    store.add_key("unit-head", pki.leaf_key, pki.chain)
    log = open_audit(str(tmp_path / "audit.db"), KEY.encode())
    store.attach_audit(log)
    signer = store.signer("unit-head")
    (tmp_path / "audit.db.head").chmod(0o666)  # the trail cannot be appended to safely
    with pytest.raises(AuditError):
        signer.sign(b"voucher text")
    (tmp_path / "audit.db.head").chmod(0o600)
    assert log.entries() == []
    store.close()
    log.close()


def test_audited_wraps_any_signer_once(tmp_path: Path, pki: TestPKI) -> None:
    with open_audit(str(tmp_path / "a.db"), KEY.encode()) as log:
        once = audited(pki.signer(), log, alias="link")
        assert audited(once, log) is once
        once.sign(b"x")
        assert [e.alias for e in log.entries()] == ["link"]


def _file_store_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KS_PW", "keystore password")
    monkeypatch.setenv("AUDIT_KEY", KEY)
    config = tmp_path / "store.toml"
    config.write_text(
        '[keystore]\ntype = "file"\npath = "keys"\npassword_env = "KS_PW"\nscrypt_n = 1024\n'
        'create = true\naudit = "audit.db"\naudit_key_env = "AUDIT_KEY"\naudit_actor = "svc"\n'
    )
    return config


def test_file_store_from_configuration_records_writes_and_uses(
    tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _file_store_config(tmp_path, monkeypatch)
    store = open_keystore(load_config(config))
    assert isinstance(store, EncryptedFileKeyStore) and store.audit is not None
    store.import_key("unit-head", pki.leaf_key, pki.chain)
    store.signer("unit-head").sign(b"payload")
    store.close()
    ops = _entries(tmp_path / "audit.db")
    assert ("key-use", "ok", "unit-head") in ops
    assert [op for op, _, _ in ops].count("keystore-write") >= 2  # first seen, then the import
    with AuditLog(SQLiteAuditStorage(tmp_path / "audit.db"), KEY.encode(), head_file=True) as log:
        assert all(e.actor == "svc" for e in log.entries())
        head = log.outside_head()
        assert head is not None and list(head.keystores.values()) == [1]


# --- keystore rollback -----------------------------------------------------------------------------


def test_keystore_restored_from_an_older_copy_is_refused(
    tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _file_store_config(tmp_path, monkeypatch)
    store = open_keystore(load_config(config))
    assert isinstance(store, EncryptedFileKeyStore)
    store.import_key("unit-head", pki.leaf_key, pki.chain)
    store.import_key("old-clerk", pki.issue_leaf("old clerk")[1])
    store.close()
    shutil.copytree(tmp_path / "keys", tmp_path / "backup")  # an older copy, with old-clerk
    store = open_keystore(load_config(config))
    assert isinstance(store, EncryptedFileKeyStore)
    store.remove_key("old-clerk")  # the clerk left: the key is removed
    assert store.generation == 3
    store.close()
    shutil.rmtree(tmp_path / "keys")
    shutil.copytree(tmp_path / "backup", tmp_path / "keys")  # ... and the copy is restored
    plain = EncryptedFileKeyStore(tmp_path / "keys", "keystore password")
    assert "old-clerk" in plain.aliases()  # without its trail, the removed key is back (old main)
    plain.close()
    with pytest.raises(KeyStoreRolledBack, match="generation 2 is older than the 3"):
        open_keystore(load_config(config))
    ops = _entries(tmp_path / "audit.db")
    assert ("keystore-open", "refused", "") in ops
    result = CliRunner().invoke(cli, ["keystore", "list", str(config)])
    assert result.exit_code == 1 and "KeyStoreRolledBack" in result.output


def test_locked_store_is_checked_when_unlocked(tmp_path: Path, pki: TestPKI) -> None:
    EncryptedFileKeyStore.init(tmp_path / "ks", "pw-1", scrypt_n=1024).close()
    log = open_audit(str(tmp_path / "audit.db"), KEY.encode())
    store = EncryptedFileKeyStore(tmp_path / "ks", "pw-1")
    store.attach_audit(log)
    shutil.copytree(tmp_path / "ks", tmp_path / "old")
    store.import_key("a", pki.leaf_key, pki.chain)
    store.close()
    shutil.rmtree(tmp_path / "ks")
    shutil.copytree(tmp_path / "old", tmp_path / "ks")
    locked = EncryptedFileKeyStore(tmp_path / "ks", None)
    locked.attach_audit(log)
    with pytest.raises(KeyStoreRolledBack):
        locked.unlock("pw-1")
    locked.close()
    log.close()


# --- the command line ------------------------------------------------------------------------------


@pytest.fixture
def cli_files(tmp_path: Path, pki: TestPKI) -> dict[str, Path]:
    paths = pki.write_pem(tmp_path / "pki")
    envelope = tmp_path / "in.xml"
    envelope.write_bytes(_envelope(1, 2).to_bytes())
    return {**paths, "envelope": envelope}


def test_cli_sign_with_audit_records_each_voucher(
    tmp_path: Path, cli_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_KEY", KEY)
    trail = tmp_path / "cli.db"
    args = ["sign", str(cli_files["envelope"]), "--key", str(cli_files["leaf.key.pem"])]
    args += ["--cert", str(cli_files["leaf.pem"]), "--position", "cz_dwfz", "-o", str(tmp_path / "out.xml")]
    result = CliRunner().invoke(cli, [*args, "--audit", str(trail), "--audit-key-env", "AUDIT_KEY"])
    assert result.exit_code == 0, result.output
    assert _entries(trail) == [("cli sign", "ok", "file:leaf.key.pem")] * 2
    half = CliRunner().invoke(cli, [*args, "--audit", str(trail)])
    assert half.exit_code == 2 and "--audit-key-env" in half.output


def test_cli_sign_through_an_audited_keystore(
    tmp_path: Path, cli_files: dict[str, Path], pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _file_store_config(tmp_path, monkeypatch)
    with open_keystore(load_config(config)) as store:
        assert isinstance(store, EncryptedFileKeyStore)
        store.import_key("unit-head", pki.leaf_key, pki.chain)
    args = ["sign", str(cli_files["envelope"]), "--keystore", str(config), "--alias", "unit-head"]
    result = CliRunner().invoke(cli, [*args, "--position", "cz_dwfz", "-o", str(tmp_path / "out.xml")])
    assert result.exit_code == 0, result.output
    assert _entries(tmp_path / "audit.db").count(("cli sign", "ok", "unit-head")) == 2


def test_cli_seal_make_and_apply_with_audit(
    tmp_path: Path, cli_files: dict[str, Path], pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_KEY", KEY)
    trail = tmp_path / "seal.db"
    audit = ["--audit", str(trail), "--audit-key-env", "AUDIT_KEY"]
    image = tmp_path / "p.png"
    image.write_bytes(PNG)
    make = ["seal", "make", "--maker-key", str(cli_files["leaf.key.pem"]), "--maker-cert"]
    make += [str(cli_files["leaf.pem"]), "--holder-cert", str(cli_files["leaf.pem"]), "--id", "S1"]
    make += ["--name", "测试章", "--image", str(image), "--width-mm", "40", "--height-mm", "40"]
    make += ["--valid-from", "2020-01-01", "--valid-to", "2099-01-01", "-o", str(tmp_path / "s.der")]
    result = CliRunner().invoke(cli, [*make, *audit])
    assert result.exit_code == 0, result.output
    apply = ["seal", "apply", str(cli_files["envelope"]), "--seal", str(tmp_path / "s.der")]
    apply += ["--key", str(cli_files["leaf.key.pem"]), "--cert", str(cli_files["leaf.pem"])]
    result = CliRunner().invoke(cli, [*apply, "--position", "cz_dwgz", "-o", str(tmp_path / "o.xml"), *audit])
    assert result.exit_code == 0, result.output
    with AuditLog(SQLiteAuditStorage(trail), KEY.encode(), head_file=True) as log:
        rows = [(e.operation, e.alias, e.position, e.vt_code, e.voucher_no) for e in log.entries()]
    bodies = Envelope.from_bytes(cli_files["envelope"].read_bytes()).bodies
    assert rows == [("cli seal make", "file:leaf.key.pem", "", "", "S1")] + [
        ("cli seal apply", "file:leaf.key.pem", "cz_dwgz", "5201", b.voucher_no) for b in bodies
    ]


# --- the safe box and the flow ---------------------------------------------------------------------


def test_safebox_records_its_operation_and_the_key_use(tmp_path: Path, pki: TestPKI) -> None:
    store = MemoryKeyStore()
    store.add_key("unit-head", pki.leaf_key, pki.chain)
    sealer_cert, sealer_key = pki.issue_leaf("unit sealer")
    store.add_key("unit-sealer", sealer_key, [sealer_cert, pki.root_cert])
    store.add_seal("SEAL0001", _seal(pki, sealer_cert))
    log = open_audit(str(tmp_path / "audit.db"), KEY.encode())
    store.attach_audit(log)
    table = PositionTable.from_mapping(
        {
            "5201": {
                "cz_dwfz": {"kind": "signature", "alias": "unit-head"},
                "cz_dwgz": {"kind": "stamp", "alias": "unit-sealer", "seal": "SEAL0001"},
            }
        }
    )
    box = SafeBox(store, table, audit=log, actor="clerk-7")
    envelope = _envelope(1)
    box.sign(envelope, "cz_dwfz")
    box.stamp(envelope, "cz_dwgz")
    ops = [(e.operation, e.alias) for e in log.entries()]
    assert ops == [
        ("key-use", "unit-head"),
        ("sign", "unit-head"),
        ("key-use", "unit-sealer"),
        ("stamp", "unit-sealer"),
    ]
    assert log.verify().count == 4
    key_uses = [e for e in log.entries() if e.operation == "key-use"]
    assert [(e.position, e.vt_code, e.voucher_no) for e in key_uses] == [
        ("cz_dwfz", "5201", envelope.bodies[0].voucher_no),
        ("cz_dwgz", "5201", envelope.bodies[0].voucher_no),
    ]
    store.close()
    log.close()


def test_flow_sealer_and_link_signer_from_an_audited_keystore(tmp_path: Path) -> None:
    from ezhifu.seal.apply import apply_seal
    from ezhifu.sign.voucher import sign_body

    material = make_material()
    net = build_network(material, tmp_path)
    _, leaves, seals = material
    cert, key = leaves["finance"]
    store = MemoryKeyStore()
    store.add_key("finance", key, [cert])
    log = open_audit(str(tmp_path / "audit.db"), KEY.encode())
    store.attach_audit(log)
    fin = net["finance"]
    fin.link_signer = store.signer("finance")
    signer = store.signer("finance")

    def sealer(body: object) -> None:
        sign_body(body, signer, "cz_qm")  # type: ignore[arg-type]
        apply_seal(body, seals["finance"], signer, "cz_gz")  # type: ignore[arg-type]

    fin.sealer = sealer
    voucher = sample_voucher("5201", details=1, seed=3)
    fin.save(voucher, to="bank")
    fin.send("5201", [voucher.voucher_no], **IDS)
    net.pump()
    uses = [e.alias for e in log.entries() if e.operation == "key-use"]
    assert len(uses) >= 3 and set(uses) == {"finance"}  # signature, seal, and each link message
    assert log.verify().count == len(log.entries())
    for lib in net.libs.values():
        lib.store.close()
    store.close()
    log.close()
