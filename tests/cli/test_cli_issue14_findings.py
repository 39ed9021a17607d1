"""Issue 14 findings 6 and 7 through the command line, with the exit codes of docs/cli.md
(0 ok, 1 invalid / does not verify, 2 usage or configuration), and "nothing half-written": a
refused input leaves every output and the keystore as they were.

Finding 6 elsewhere through the CLI: ``view``/``verify`` of ``/dev/zero`` (tests/hostile/
test_reader_cli.py); finding 7: outputs, ``--force``, symlinks, world-writable keystore config,
PKCS#11 module, key and trust files (tests/cli/test_cli_safety.py).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezhifu.cli.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.seal.make import make_seal
from ezhifu.testing.pki import TestPKI, make_pki

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><script>alert(1)</script></svg>'


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


def _seal(pki: TestPKI, path: Path, picture: bytes) -> Path:
    now = datetime.now(UTC)
    path.write_bytes(
        make_seal(
            pki.signer(),
            seal_id="SVG00002",
            name="svg seal",
            valid_from=now - timedelta(days=1),
            valid_to=now + timedelta(days=1),
            holder_certs=[pki.leaf_cert],
            picture=picture,
            picture_type="SVG",
            width_mm=40,
            height_mm=40,
        )
    )
    return path


@pytest.mark.parametrize(
    "prefix",
    [b"<!-- a comment -->", b'<?xml version="1.0"?>\n<!--' + b"x" * 8000 + b"-->", b"<!DOCTYPE svg>\n"],
    ids=["comment", "long-comment", "doctype"],
)
def test_seal_show_refuses_svg_behind_leading_markup(pki: TestPKI, tmp_path: Path, prefix: bytes) -> None:
    seal = _seal(pki, tmp_path / "seal.der", prefix + SVG)
    out = tmp_path / "picture.png"
    refused = CliRunner().invoke(cli, ["seal", "show", str(seal), "--image-out", str(out)])
    assert refused.exit_code == EXIT_USAGE, refused.output
    assert "--allow-svg" in refused.output and not out.exists()
    allowed = CliRunner().invoke(cli, ["seal", "show", str(seal), "--image-out", str(out), "--allow-svg"])
    assert allowed.exit_code == EXIT_OK, allowed.output  # control: asked for explicitly
    assert out.read_bytes() == prefix + SVG


def _validate(path: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["validate", str(path), "--json"])
    return result.exit_code, json.loads(result.stdout)["files"][0]


def _envelope_with_inner(inner: bytes) -> bytes:
    envelope = Envelope.build([sample_voucher("5201", seed="f6")])
    envelope.bodies[0].voucher_b64 = base64.b64encode(inner).decode("ascii")
    return envelope.to_bytes()


def test_validate_reports_a_hostile_inner_voucher(tmp_path: Path) -> None:
    path = tmp_path / "hostile-inner.xml"
    path.write_bytes(_envelope_with_inner(b'<!DOCTYPE Voucher [<!ENTITY a "b">]><Voucher>&a;</Voucher>'))
    code, report = _validate(path)
    assert code == EXIT_FAILED and report["error"] is None
    issues = report["issues"]
    assert isinstance(issues, list)
    assert [(i["code"], i["path"]) for i in issues] == [("hostile-input", "/MOF/VoucherBody[1]/Voucher")]


def test_validate_reports_non_canonical_base64_and_unknown_body_attributes(tmp_path: Path) -> None:
    valid = Envelope.build([sample_voucher("5201")]).to_bytes()
    text = base64.b64encode(sample_voucher("5201").to_xml()).decode("ascii")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twisted = text[:-2] + alphabet[alphabet.index(text[-2]) | 1] + "="
    assert twisted != text and base64.b64decode(twisted) == base64.b64decode(text)
    body = "/MOF/VoucherBody[1]"
    cases = {
        "base64.xml": (
            valid.replace(text.encode(), twisted.encode()),
            ("base64-noncanonical", f"{body}/Voucher"),
        ),
        "attr.xml": (
            valid.replace(b"<VoucherBody ", b'<VoucherBody Payee="x" ', 1),
            ("envelope-value", f"{body}/@Payee"),
        ),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        code, report = _validate(path)
        issues = report["issues"]
        assert isinstance(issues, list)
        assert code == EXIT_FAILED and [(i["code"], i["path"]) for i in issues] == [expected], name
    good = tmp_path / "good.xml"
    good.write_bytes(valid)
    assert _validate(good)[0] == EXIT_OK  # control


def test_validate_of_an_unreadable_document_is_the_refusal(tmp_path: Path) -> None:
    path = tmp_path / "doctype.xml"
    path.write_bytes(b'<!DOCTYPE MOF [<!ENTITY x SYSTEM "file:///etc/passwd">]><MOF>&x;</MOF>')
    code, report = _validate(path)
    error = report["error"]
    assert code == EXIT_FAILED and isinstance(error, dict)
    assert error["kind"] == "HostileInputError" and "DOCTYPE" in error["message"]


# --- nothing half-written or lost ------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


HOSTILE = b'<!DOCTYPE MOF [<!ENTITY x "y">]><MOF>&x;</MOF>'


@pytest.mark.parametrize("verb", ["sign", "view", "seal-apply"])
def test_a_refused_input_leaves_outputs_and_the_keystore_as_they_were(
    verb: str, pki: TestPKI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EZHIFU_TEST_F7_PW", "pw")
    keys = pki.write_pem(tmp_path / "pki")
    config = tmp_path / "store.toml"
    config.write_text('type = "file"\npath = "keys"\npassword_env = "EZHIFU_TEST_F7_PW"\nscrypt_n = 1024\n')
    runner = CliRunner()
    assert runner.invoke(cli, ["keystore", "init", str(config)]).exit_code == EXIT_OK
    key = ["--alias", "unit", "--key", str(keys["leaf.key.pem"]), "--cert", str(keys["leaf.pem"])]
    assert runner.invoke(cli, ["keystore", "import", str(config), *key]).exit_code == EXIT_OK
    seal = _seal(pki, tmp_path / "seal.der", SVG)
    hostile = tmp_path / "hostile.xml"
    hostile.write_bytes(HOSTILE)
    out = tmp_path / "out" / "result"
    out.parent.mkdir()
    out.write_bytes(b"the previous output")
    before = _snapshot(tmp_path)
    args = {
        "sign": ["sign", str(hostile), "--keystore", str(config), "--alias", "unit", "--position", "cz_dwfz"],
        "view": ["view", str(hostile)],
        "seal-apply": ["seal", "apply", str(hostile), "--seal", str(seal), "--keystore", str(config),
                       "--alias", "unit", "--position", "cz_dwgz"],
    }[verb]  # fmt: skip
    result = runner.invoke(cli, [*args, "-o", str(out), "--force"])
    assert result.exit_code == EXIT_FAILED, result.output
    assert "DOCTYPE" in result.output and "Traceback" not in result.output
    assert _snapshot(tmp_path) == before  # output, input, keystore: byte for byte, no temporary left
