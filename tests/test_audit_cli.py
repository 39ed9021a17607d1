"""``ezhifu audit verify`` and ``ezhifu audit head``: exit codes 0/1/2, text (zh/en) and --json.

Issue 13 finding 7 through the command line: deletion of rows (all of them too), truncation,
reordering, edits and rollback to an older copy are each exit 1 against the head file or a
witness; unusable inputs are exit 2. (On the old main there was no ``audit`` verb at all.)
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ezhifu.cli.main import cli
from ezhifu.errors import AuditRolledBack
from ezhifu.keystore.audit_head import parse_witness_lines
from ezhifu.keystore.audit_use import open_audit
from ezhifu.keystore.encrypted_file import EncryptedFileKeyStore

KEY = "audit cli test key, 32 bytes...."
WITNESS_KEY = "witness key for the cli test 01"


@pytest.fixture
def trail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AUDIT_KEY", KEY)
    monkeypatch.setenv("WITNESS_KEY", WITNESS_KEY)
    path = tmp_path / "audit.db"
    with open_audit(str(path), KEY.encode()) as log:
        for i in range(5):
            log.record("sign", "ok", alias="unit-head", voucher_no=f"V{i}")
    return path


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["audit", *args])


def _verify(trail: Path, *extra: str) -> Result:
    return _run("verify", str(trail), "--key-env", "AUDIT_KEY", *extra)


def _sql(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            db.execute(statement)
    finally:
        db.close()


def test_intact_trail_exit_0_text_and_json(trail: Path) -> None:
    result = _verify(trail)
    assert result.exit_code == 0, result.output
    assert "审计记录完整 / audit trail intact" in result.output and "5 entries" in result.output
    assert "audit.db.head" in result.output
    data = json.loads(_verify(trail, "--json").stdout)
    assert data["valid"] is True and data["entries"] == 5 and data["macs_checked"] is True
    assert data["anchors"] == [str(trail) + ".head"]


@pytest.mark.parametrize(
    ("statements", "kind"),
    [
        (("DELETE FROM audit_entry", "DELETE FROM audit_head"), "AuditRolledBack"),
        (("DELETE FROM audit_entry WHERE seq = 2",), "AuditChainBroken"),
        (("DELETE FROM audit_entry WHERE seq >= 4",), "AuditChainBroken"),
        (("UPDATE audit_entry SET seq = 9 WHERE seq = 2",), "AuditChainBroken"),
        (("UPDATE audit_entry SET outcome = 'refused' WHERE seq = 3",), "AuditChainBroken"),
    ],
    ids=["all-rows", "one-row", "truncated", "reordered", "edited"],
)
def test_tampering_exit_1(trail: Path, statements: tuple[str, ...], kind: str) -> None:
    _sql(trail, *statements)
    result = _verify(trail)
    assert result.exit_code == 1, result.output
    assert "审计记录被篡改 / audit trail tampered" in result.output
    data = json.loads(_verify(trail, "--json").stdout)
    assert data["valid"] is False and data["problem"]["kind"] == kind


def test_rollback_to_an_older_copy_exit_1(trail: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    source, target = sqlite3.connect(trail), sqlite3.connect(old)
    source.backup(target)
    source.close()
    target.close()
    with open_audit(str(trail), KEY.encode()) as log:
        log.record("stamp", "ok")
    shutil.copyfile(old, trail)
    for suffix in ("-wal", "-shm"):
        Path(f"{trail}{suffix}").unlink(missing_ok=True)
    assert _verify(trail, "--no-head-file").exit_code == 0  # consistent on its own
    result = _verify(trail, "--json")
    assert result.exit_code == 1
    problem = json.loads(result.stdout)["problem"]
    assert problem["kind"] == "AuditRolledBack" and "fewer than the 6" in problem["message"]


def test_witness_export_and_check(trail: Path, tmp_path: Path) -> None:
    exported = _run("head", str(trail), "--key-env", "AUDIT_KEY", "--witness-key-env", "WITNESS_KEY")
    assert exported.exit_code == 0, exported.output
    line = exported.stdout.strip()
    assert line.startswith("ezhifu-audit-head v1 seq=5 ") and " hmac-sm3=" in line
    witness = tmp_path / "elsewhere" / "witness.txt"
    witness.parent.mkdir()
    witness.write_text(line + "\n")
    witness.chmod(0o600)
    ok = _verify(trail, "--head", str(witness), "--witness-key-env", "WITNESS_KEY")
    assert ok.exit_code == 0, ok.output
    # the trail AND its head file rolled back together: only the witness remembers
    _sql(trail, "DELETE FROM audit_entry", "DELETE FROM audit_head")
    (Path(str(trail) + ".head")).unlink()
    assert _verify(trail).exit_code == 0  # nothing local is left to compare with ...
    assert "no head outside the trail" in _verify(trail).output
    caught = _verify(trail, "--head", str(witness), "--witness-key-env", "WITNESS_KEY")
    assert caught.exit_code == 1 and "fewer than the 5" in caught.output  # ... the witness is
    forged = tmp_path / "forged.txt"
    forged.write_text(line.replace("seq=5", "seq=0") + "\n")
    forged.chmod(0o600)
    result = _verify(trail, "--head", str(forged), "--witness-key-env", "WITNESS_KEY", "--json")
    assert result.exit_code == 1 and json.loads(result.stdout)["problem"]["kind"] == "AuditHeadInvalid"


def test_without_the_key_macs_are_reported_unchecked(trail: Path) -> None:
    result = _run("verify", str(trail), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["macs_checked"] is False
    assert "MACs not checked" in _run("verify", str(trail)).output


def test_usage_errors_exit_2(trail: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _verify(tmp_path / "missing.db").exit_code == 2
    assert not (tmp_path / "missing.db").exists()  # verification never creates a trail
    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello")
    assert _verify(not_db).exit_code == 1  # not an audit trail: AuditError
    assert _run("verify", str(trail), "--key-env", "UNSET_VARIABLE_X").exit_code == 2
    monkeypatch.setenv("SHORT_KEY", "short")
    assert _run("verify", str(trail), "--key-env", "SHORT_KEY").exit_code == 2
    head = Path(str(trail) + ".head")
    head.chmod(0o646)
    result = _verify(trail)
    assert result.exit_code == 2 and "writable by others" in result.output
    head.chmod(0o600)
    assert _run("head", str(trail)).exit_code == 2  # the head is authenticated before export
    assert _verify(trail, "--head", str(tmp_path / "nope")).exit_code == 2


def test_verify_is_read_only(trail: Path) -> None:
    before = trail.read_bytes()
    head_before = Path(str(trail) + ".head").read_bytes()
    assert _verify(trail).exit_code == 0
    assert trail.read_bytes() == before and Path(str(trail) + ".head").read_bytes() == head_before


def test_head_file_restored_from_an_older_copy_is_caught_by_the_witness(
    trail: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trail stays intact, but the head file (and with it the keystore generation it remembers)
    is rolled back, e.g. to let an older keystore copy open: the witness shows it."""
    head = Path(str(trail) + ".head")
    shutil.copyfile(head, tmp_path / "old.head")
    EncryptedFileKeyStore.init(tmp_path / "ks", "pw", scrypt_n=1024).close()
    with open_audit(str(trail), KEY.encode()) as log:
        store = EncryptedFileKeyStore(tmp_path / "ks", "pw")
        store.attach_audit(log)
        store.close()
        witness_line = log.witness_line()
    witness = tmp_path / "witness.txt"
    witness.write_text(witness_line + "\n")
    witness.chmod(0o600)
    assert _verify(trail, "--head", str(witness)).exit_code == 0
    shutil.copyfile(tmp_path / "old.head", head)
    assert _verify(trail).exit_code == 0  # locally nothing looks wrong ...
    result = _verify(trail, "--head", str(witness), "--json")
    assert result.exit_code == 1  # ... the witness is newer than the head file
    problem = json.loads(result.stdout)["problem"]
    assert problem["kind"] == "AuditRolledBack" and "head file" in problem["message"]
    with open_audit(str(trail), KEY.encode()) as log, pytest.raises(AuditRolledBack, match="链头文件被回滚"):
        log.verify(anchors=parse_witness_lines(witness_line, None, "witness"))
