"""Security review, secrets: never in a repr, a message or a world-readable file; checks that do
not vanish under ``python -O``; source-wide scans for shell commands and weak randomness.

Findings SEC-1 (a private SM2 value in the Python provider's handle repr), SEC-2 (test key
files written through an existing inode, then chmod-ed) and SEC-3 (``assert`` as a check in
the safe box) in docs/security-review.md.
"""

from __future__ import annotations

import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ezhifu.crypto.sm2 import SM2PrivateKey
from ezhifu.crypto.sm2.python import PythonProvider
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import BadPassword, EzhifuError
from ezhifu.flow.safebox import OCX_SEAL_FORMAT, PositionRule, PositionTable, SafeBox, SealFormatRefused
from ezhifu.keystore.audit import AuditLog, MemoryAuditStorage
from ezhifu.keystore.encrypted_file import EncryptedFileKeyStore
from ezhifu.keystore.memory import MemoryKeyStore
from ezhifu.pki.keys import dump_private_key, generate_private_key, load_private_key
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.testing.pki import make_pki

SRC = Path(__file__).resolve().parents[2] / "src" / "ezhifu"


def _forms(value: int) -> list[str]:
    """Ways a private scalar could show up in text."""
    return [str(value), f"{value:x}", f"{value:064x}", f"{value:X}"]


def test_sm2_private_values_never_appear_in_reprs() -> None:
    key = SM2PrivateKey.generate()
    d = key.private_value
    handle, _ = PythonProvider().private_handle(d)
    texts = [
        repr(key),
        str(key),
        repr(handle),
        str(handle),
        repr(SoftwareSigner(key)),
        repr(key.public_key()),
    ]
    for text in texts:
        for form in _forms(d):
            assert form not in text, text
    assert "x=" in repr(handle)  # positive control: the public half is still shown


def test_keystore_and_entry_reprs_hold_no_secret(tmp_path: Path) -> None:
    pki = make_pki("sm2")
    password = "s3cret-store-password"
    with EncryptedFileKeyStore.init(tmp_path / "ks", password, scrypt_n=2**10) as store:
        store.import_key("signer", pki.leaf_key, pki.chain)
        signer = store.signer("signer")
        texts = [repr(store), store.describe(), repr(store.entry("signer")), repr(signer)]
    d = pki.leaf_key.private_value  # type: ignore[union-attr]
    for text in texts:
        assert password not in text
        for form in _forms(d):
            assert form not in text


def test_wrong_password_messages_do_not_echo_the_password(tmp_path: Path) -> None:
    key = generate_private_key("sm2")
    encrypted = dump_private_key(key, b"right-password-123")
    with pytest.raises(BadPassword) as info:
        load_private_key(encrypted, b"WRONG-guess-456")
    assert "WRONG-guess-456" not in str(info.value) and "right-password" not in str(info.value)
    EncryptedFileKeyStore.init(tmp_path / "ks", "right-password-123", scrypt_n=2**10).close()
    with pytest.raises(BadPassword) as info2:
        EncryptedFileKeyStore(tmp_path / "ks", "WRONG-guess-456")
    assert "WRONG-guess-456" not in str(info2.value)


def test_write_pem_key_files_are_fresh_private_files(tmp_path: Path) -> None:
    """A pre-existing key file (e.g. a hard link someone else also holds) is replaced, not
    written through: before the fix the key went into the old inode before the chmod (SEC-2)."""
    pki = make_pki("sm2")
    folder = tmp_path / "pki"
    folder.mkdir()
    planted = folder / "leaf.key.pem"
    planted.write_bytes(b"placeholder")
    planted.chmod(0o644)
    other_link = tmp_path / "someone-elses-link"
    os.link(planted, other_link)
    paths = pki.write_pem(folder)
    assert other_link.read_bytes() == b"placeholder"  # the private key did not go there
    for name, path in paths.items():
        mode = stat.S_IMODE(path.stat().st_mode)
        if name.endswith(".key.pem"):
            assert mode == 0o600, f"{name}: {mode:o}"
    assert load_private_key(paths["leaf.key.pem"].read_bytes()) == pki.leaf_key


def test_hand_built_stamp_rule_without_seal_refuses_with_ocx_114() -> None:
    """An ``assert`` guarded this; under ``python -O`` it vanishes, so it is a real check now."""
    pki = make_pki("sm2")
    store = MemoryKeyStore()
    store.add_key("sealer", pki.leaf_key, pki.chain)
    rule = PositionRule("cz_dwgz", "stamp", "sealer", None)
    audit = AuditLog(MemoryAuditStorage(), b"k" * 32)
    box = SafeBox(store, PositionTable({"5201": [rule]}), audit=audit)
    envelope = Envelope.build([sample_voucher("5201")])
    with pytest.raises(SealFormatRefused) as info:
        box.stamp(envelope, "cz_dwgz", signing_time=datetime.now(UTC))
    assert info.value.ocx_code == OCX_SEAL_FORMAT
    assert [e.outcome for e in audit.entries()] == ["refused"]  # the refusal is audited
    assert envelope.bodies[0].stamps == []


def _source_lines() -> list[tuple[str, int, str]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            out.append((str(path.relative_to(SRC)), n, line))
    return out


def test_no_shell_commands_pickle_or_eval_in_the_library() -> None:
    pattern = re.compile(r"shell\s*=\s*True|os\.system\(|\bpickle\b|\beval\(|\bexec\(|yaml\.load\(")
    assert [f"{f}:{n}" for f, n, line in _source_lines() if pattern.search(line)] == []


def test_randomness_for_security_comes_from_secrets() -> None:
    """``random`` only builds sample voucher data (document/samples.py), never keys, nonces,
    salts, IVs or serial numbers."""
    pattern = re.compile(r"^\s*(import random\b|from random import)")
    users = {f for f, _, line in _source_lines() if pattern.search(line)}
    assert users <= {"document/samples.py"}
    assert "secrets.randbelow" in (SRC / "crypto" / "sm2" / "python.py").read_text(encoding="utf-8")


def test_python_provider_signing_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    from ezhifu.crypto.sm2 import active_provider, use_provider
    from ezhifu.crypto.sm2 import python as _sm2_python

    key = SM2PrivateKey.generate()
    monkeypatch.setattr(_sm2_python, "_warned", False)
    previous = active_provider()
    use_provider("python")
    try:
        with pytest.warns(_sm2_python.NonConstantTimeWarning, match="not constant"):
            signature = key.sign(b"data")
    finally:
        use_provider(previous)
    key.public_key().verify(signature, b"data")  # the warned-about signature is still valid


def test_every_public_error_is_an_ezhifu_error() -> None:
    """The exceptions the review added stay in the one tree."""
    assert issubclass(SealFormatRefused, EzhifuError)


def test_cli_takes_passwords_and_pins_only_by_environment_variable_name() -> None:
    """No command-line option carries a secret value (argv is visible in ``ps`` and shell
    history); every password or PIN option names an environment variable."""
    import click

    from ezhifu.cli.main import cli

    def walk(command: click.Command, path: str) -> list[tuple[str, click.Parameter]]:
        found = [(path, p) for p in command.params]
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                found.extend(walk(sub, f"{path} {name}"))
        return found

    params = walk(cli, "ezhifu")
    secret_like = [
        (path, p) for path, p in params if re.search(r"pass|pin|secret", p.name or "") and p.name != "pinned"
    ]
    assert secret_like, "the CLI has password options; the scan must see them"  # positive control
    offenders = [f"{path}: {p.name}" for path, p in secret_like if not (p.name or "").endswith("_env")]
    assert offenders == []
