"""Every script in examples/ runs as a user would run it: a fresh interpreter in an empty
directory, exit status 0, and the files and lines it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# What each script must print (a line fragment) and write, beyond exiting 0.
EXPECTED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "validate_voucher.py": (
        ("envelope.xml: valid", "broken voucher: 2 issue(s)", "VouDate", "PayAmt"),
        ("envelope.xml",),
    ),
    "sign_and_verify.py": (("signature at cz_dwfz: valid", "relabelled envelope: rejected"), ("signed.xml",)),
    "seal_voucher.py": (
        ("seal at cz_dwgz: valid", "wrote sealed.html"),
        ("seal.der", "sealed.xml", "sealed.html"),
    ),
    "fund_monitoring.py": (
        (
            "单笔提现 30000.00 元超过 20000.00 元",
            "疑似拆分支付",
            "confirmed: 1",
            "exit code a CLI run would give: 20",
        ),
        ("rules.toml", "cases.db", "alerts.json"),
    ),
    "position_table.py": (
        ("stamp at 5201/cz_dwgz: seal 4201000000000001", "refused: OCX 122"),
        ("positions.toml",),
    ),
    "audit_trail.py": (
        ("('key-use', 'finance')", "older keystore refused", "older trail caught: AuditRolledBack"),
        ("audit.db", "audit.db.head"),
    ),
    "keys_and_types.py": (
        (
            "cryptography RSA key and certificate: valid",
            "PEM key and chain: RSAPrivateKey + 2 certificates: valid",
            "SM2 PEM key: SM2PrivateKey sm2-sm3 valid",
        ),
        ("signer.key.pem", "chain.pem", "sm2.key.pem"),
    ),
    "keystore_file.py": (
        ("signed through the keystore: valid", "wrong password refused"),
        ("keystore/keystore.json",),
    ),
}


def _scripts() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.py"))


def test_every_example_is_covered() -> None:
    assert set(EXPECTED) <= set(_scripts())


@pytest.mark.parametrize("name", _scripts())
def test_example_runs(name: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"{name}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    lines, files = EXPECTED.get(name, ((), ()))
    for fragment in lines:
        assert fragment in proc.stdout, (name, fragment)
    for file in files:
        assert (tmp_path / file).is_file(), (name, file)
