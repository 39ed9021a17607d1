"""The newcomer path of docs/getting-started.md, run exactly as the page writes it (issue 15).

The test READS the page: every code block after ``<!-- file: NAME -->`` is written to ``NAME``
in an empty directory, and every ``bash`` block after ``<!-- newcomer-path -->`` (from data to a
built, validated, signed, sealed and verified voucher, CLI only) or ``<!-- legacy-path -->``
(the shipped legacy sample) is run there by ``bash -euo pipefail`` with this interpreter's
``ezhifu`` first on ``PATH``. A command that fails fails the test, so the page cannot drift.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "getting-started.md"
_BLOCK = re.compile(
    r"<!-- (file: (?P<name>[\w.-]+)|(?P<kind>newcomer-path|legacy-path)) -->\n```\w*\n(?P<body>.*?)```", re.S
)


def _blocks() -> tuple[dict[str, str], dict[str, list[str]]]:
    files: dict[str, str] = {}
    scripts: dict[str, list[str]] = {"newcomer-path": [], "legacy-path": []}
    for match in _BLOCK.finditer(PAGE.read_text(encoding="utf-8")):
        if match.group("name"):
            files[match.group("name")] = match.group("body")
        else:
            scripts[match.group("kind")].append(match.group("body"))
    return files, scripts


def _run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8")  # the assertions below read the English messages
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_page_has_the_blocks() -> None:
    files, scripts = _blocks()
    assert {"payment-5201.json", "payment-8202.toml"} <= set(files)
    newcomer = "\n".join(scripts["newcomer-path"])
    for verb in ("ezhifu build", "ezhifu validate", "ezhifu sign", "ezhifu seal apply", "ezhifu verify"):
        assert verb in newcomer, verb
    assert "--policy legacy" in "\n".join(scripts["legacy-path"])


@pytest.mark.slow
def test_newcomer_path_from_json_to_verified_voucher(tmp_path: Path) -> None:
    files, scripts = _blocks()
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    proc = _run("\n".join(scripts["newcomer-path"]), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sealed.xml: OK" in proc.stdout
    assert "built 5201 voucher 5201202403150001 (2 details, PayAmt 14250.50)" in proc.stderr
    assert "envelope-8202.xml: valid" in proc.stdout
    assert "level strict" in proc.stdout
    # the envelope carries both, in the order of the commands
    sealed = (tmp_path / "sealed.xml").read_bytes()
    assert b'<Signature No="cz_dwfz"' in sealed and b'<SignStamp No="cz_dwgz"' in sealed


@pytest.mark.slow
def test_legacy_sample_path(tmp_path: Path) -> None:
    _, scripts = _blocks()
    (tmp_path / "samples").symlink_to(REPO / "samples", target_is_directory=True)
    proc = _run("\n".join(scripts["legacy-path"]), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "samples/legacy/envelope.xml: valid" in out
    assert "invalid, 3 issues" in out and "strict: the 0 amounts are reported" in out
    assert "refused by the default policy" in out
    assert "digest sha1 refused by policy and RSA key of 1024 bits refused by policy" in out
    assert out.rstrip().splitlines()[-2:][0].endswith(": OK") or "envelope.xml: OK" in out


def test_legacy_sample_script_makes_what_is_shipped(tmp_path: Path) -> None:
    from ezhifu.document.envelope import Envelope
    from ezhifu.pki.trust import TrustStore, VerifyPolicy
    from ezhifu.verify.envelope import verify_envelope

    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_legacy_sample.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for folder in (tmp_path, REPO / "samples" / "legacy"):
        data = (folder / "envelope.xml").read_bytes()
        trust = TrustStore.from_pem_files([folder / "root.pem"])
        assert verify_envelope(data, trust=trust, policy=VerifyPolicy.legacy()).valid
        refused = verify_envelope(data, trust=trust)
        assert not refused.valid
        reason = refused.bodies[0].items[0].reason or ""
        assert "sha1" in reason and "1024 bits" in reason
        body = Envelope.from_bytes(data).bodies[0]
        assert body.voucher.vt_code == "5214" and body.voucher.get("ForeignAmt") == "0"
    shipped = Envelope.from_bytes((REPO / "samples" / "legacy" / "envelope.xml").read_bytes()).bodies[0]
    made = Envelope.from_bytes((tmp_path / "envelope.xml").read_bytes()).bodies[0]
    assert shipped.voucher_b64 == made.voucher_b64  # the same voucher; only the throwaway keys differ
