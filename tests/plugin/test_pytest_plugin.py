"""The ``ezhifu`` pytest plugin as a partner suite uses it, run in pytester's inner pytest."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ezhifu.cli.demo import SEAL_POSITION, SIGNATURE_POSITION, run_demo
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.testing.pytest_plugin import voucher_problems

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert run_demo(out).ok
    return out


def _tampered(envelope: bytes) -> bytes:
    """Swap two characters at the start of the <Voucher> Base64 (still valid Base64)."""
    match = re.search(rb"<Voucher>([A-Za-z0-9+/=]+)</Voucher>", envelope)
    assert match is not None
    text = match.group(1)
    changed = text[:8] + text[9:10] + text[8:9] + text[10:]
    assert changed != text
    return envelope[: match.start(1)] + changed + envelope[match.end(1) :]


def _run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_partner=source)
    # -p ezhifu: the plugin as a partner gets it from the installed entry point
    return pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:xdist", *args
    )


def test_options_fill_the_fixtures(pytester: pytest.Pytester, demo: Path) -> None:
    source = """
from ezhifu.pki.trust import TrustStore, VerifyPolicy

def test_fixtures(ezhifu_trust_store, ezhifu_policy, ezhifu_schema_version):
    assert isinstance(ezhifu_trust_store, TrustStore)
    assert ezhifu_policy == VerifyPolicy.legacy()
    assert ezhifu_schema_version == "2014"
"""
    root = str(demo / "root.pem")
    result = _run(
        pytester,
        source,
        "--ezhifu-trust",
        root,
        "--ezhifu-policy",
        "legacy",
        "--ezhifu-schema-version",
        "2014",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["ezhifu: trust=*root.pem policy=legacy"])


def test_fixture_defaults(pytester: pytest.Pytester) -> None:
    source = """
from ezhifu.pki.trust import VerifyPolicy

def test_defaults(ezhifu_trust_store, ezhifu_policy, ezhifu_schema_version):
    assert ezhifu_trust_store is None
    assert ezhifu_policy == VerifyPolicy()
    assert ezhifu_schema_version is None
"""
    _run(pytester, source).assert_outcomes(passed=1)


def test_assert_valid_voucher_passes_on_a_verified_envelope(pytester: pytest.Pytester, demo: Path) -> None:
    source = f"""
from pathlib import Path
from ezhifu.testing.pytest_plugin import assert_valid_voucher

ENVELOPE = Path({str(demo / "envelope.xml")!r})

def test_with_fixture(ezhifu_trust_store):
    assert_valid_voucher(ENVELOPE, trust=ezhifu_trust_store)

def test_from_options_and_bytes():
    assert_valid_voucher(ENVELOPE.read_bytes())
"""
    maker = ("--ezhifu-seal-maker-trust", str(demo / "seal-maker-root.pem"))
    _run(pytester, source, "--ezhifu-trust", str(demo / "root.pem"), *maker).assert_outcomes(passed=2)


def test_assert_valid_voucher_fails_with_every_problem_one_per_line(
    pytester: pytest.Pytester, demo: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(_tampered((demo / "envelope.xml").read_bytes()))
    source = f"""
from ezhifu.testing.pytest_plugin import assert_valid_voucher

def test_bad():
    assert_valid_voucher({str(bad)!r})
"""
    maker = ("--ezhifu-seal-maker-trust", str(demo / "seal-maker-root.pem"))
    result = _run(pytester, source, "--ezhifu-trust", str(demo / "root.pem"), *maker)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*bad.xml: * problems",
            f"  - voucher 5201/*: signature at {SIGNATURE_POSITION}: *",
            f"  - voucher 5201/*: seal at {SEAL_POSITION}: *",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_schema_issues_are_all_listed(pytester: pytest.Pytester, tmp_path: Path) -> None:
    voucher = sample_voucher("5201", details=2).to_xml()
    broken = re.sub(rb"<VouDate>[^<]*</VouDate>", b"<VouDate>2024-13-45</VouDate>", voucher)
    broken = re.sub(rb"<PayAmt>([^<]*)</PayAmt>", b"<PayAmt>12,00</PayAmt>", broken, count=1)
    path = tmp_path / "voucher.xml"
    path.write_bytes(broken)
    source = f"""
from ezhifu.testing.pytest_plugin import assert_valid_voucher

def test_voucher():
    assert_valid_voucher({str(path)!r}, verify_signatures=False)
"""
    result = _run(pytester, source)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "VouDate" in output and "PayAmt" in output
    listed = [line for line in output.splitlines() if line.startswith("  - ")]
    assert len(listed) >= 2


def test_envelope_without_trust_is_a_problem(demo: Path) -> None:
    problems = voucher_problems(demo / "envelope.xml")
    assert len(problems) == 1 and "no trust store" in problems[0]
    assert voucher_problems(demo / "envelope.xml", verify_signatures=False) == []


def test_voucher_problems_direct(demo: Path) -> None:
    trust = TrustStore.from_purpose_files([demo / "root.pem"], [demo / "seal-maker-root.pem"])
    signer_only = TrustStore.from_pem_files([demo / "root.pem"])
    assert voucher_problems(demo / "envelope.xml", trust=signer_only, policy=VerifyPolicy()) == [
        f"voucher 5201/{_voucher_no(demo)}: seal at {SEAL_POSITION}: maker not trusted: no seal-maker anchors"
    ]
    assert voucher_problems(demo / "envelope.xml", trust=trust, policy=VerifyPolicy()) == []
    tampered = _tampered((demo / "envelope.xml").read_bytes())
    problems = voucher_problems(tampered, trust=trust)
    assert any(SIGNATURE_POSITION in p for p in problems) and any(SEAL_POSITION in p for p in problems)
    hostile = b'<?xml version="1.0"?><!DOCTYPE MOF [<!ENTITY x "y">]><MOF>&x;</MOF>'
    (problem,) = voucher_problems(hostile, trust=trust)
    assert "HostileInputError" in problem or "DTD" in problem


def test_bad_policy_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "def test_x():\n    pass\n", "--ezhifu-policy", "lax")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(["*--ezhifu-trust=PATH*", "*--ezhifu-policy*", "*--ezhifu-schema-version=V*"])


def test_plugin_import_is_cheap() -> None:
    """Loaded in every pytest run: importing it must not pull in the document or crypto layers."""
    code = (
        "import sys, ezhifu.testing.pytest_plugin\n"
        "heavy = [m for m in ('ezhifu.verify.envelope', 'ezhifu.document.validation', 'ezhifu.pki.trust',"
        " 'xmlschema', 'cryptography', 'lxml.etree') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_tamper_helper_keeps_base64_valid(demo: Path) -> None:
    data = _tampered((demo / "envelope.xml").read_bytes())
    match = re.search(rb"<Voucher>([A-Za-z0-9+/=]+)</Voucher>", data)
    assert match is not None
    base64.b64decode(match.group(1), validate=True)


def test_outer_run_options_survive_an_inner_run(
    pytester: pytest.Pytester, request: pytest.FixtureRequest
) -> None:
    from ezhifu.testing import pytest_plugin

    _run(pytester, "def test_x():\n    pass\n").assert_outcomes(passed=1)
    assert pytest_plugin._configs[-1] is request.config


def _voucher_no(demo: Path) -> str:
    # reason: only this helper needs the envelope reader
    from ezhifu.document.envelope import Envelope

    return Envelope.from_bytes((demo / "envelope.xml").read_bytes()).bodies[0].voucher_no
