"""``ezhifu demo`` end to end: it writes a verified envelope, the root and the HTML view; ``ezhifu
verify`` accepts the result and rejects each tampering with exit 1 and the reason; ``--json``
lists every signature and seal."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from ezhifu.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ezhifu.cli.demo import DEMO_SEAL_ID, SEAL_POSITION, SIGNATURE_POSITION, run_demo, seal_picture_png
from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope

_VOUCHER = re.compile(rb"(<Voucher>)([A-Za-z0-9+/=\s]+)(</Voucher>)")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "ezhifu-demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == EXIT_OK, result.output
    return out


def flip_one_voucher_char(envelope: bytes) -> bytes:
    """Change one character of the ``<Voucher>`` Base64 so that it stays valid Base64 *and* the
    decoded voucher stays well-formed XML: the last character of a quartet carries only the low
    six bits of one byte, so a digit in a field value becomes another digit."""
    match = _VOUCHER.search(envelope)
    assert match is not None
    text = match.group(2).decode("ascii")
    xml = base64.b64decode(text)
    start = xml.index(b"<PayeeAcctNo>") + len(b"<PayeeAcctNo>")
    for pos in range(start, xml.index(b"</PayeeAcctNo>")):
        if pos % 3 == 2 and xml[pos : pos + 1].isdigit():
            break
    else:
        raise AssertionError("no digit at a quartet's last character in PayeeAcctNo")
    index = pos // 3 * 4 + 3
    old = text[index]
    new_digit = b"1" if xml[pos : pos + 1] != b"1" else b"2"
    new = _B64[new_digit[0] & 0x3F]
    assert old != new
    changed = text[:index] + new + text[index + 1 :]
    decoded = base64.b64decode(changed, validate=True)
    assert decoded[pos : pos + 1] == new_digit and sum(a != b for a, b in zip(decoded, xml, strict=True)) == 1
    return envelope[: match.start(2)] + changed.encode("ascii") + envelope[match.end(2) :]


def _demo_trust(demo_out: Path) -> list[str]:
    """The demo's anchors by purpose: the signer root and the seal maker's root."""
    return [
        "--trust",
        str(demo_out / "root.pem"),
        "--seal-maker-trust",
        str(demo_out / "seal-maker-root.pem"),
    ]


def test_verify_with_the_signer_root_alone_reports_the_maker_untrusted(demo_out: Path) -> None:
    """Issue 13 item 1: the signer root does not vouch for the seal maker."""
    code, output = _verify(str(demo_out / "envelope.xml"), "--trust", str(demo_out / "root.pem"), "--json")
    assert code == EXIT_FAILED
    data = json.loads(output)
    items = [(i["kind"], i["valid"], i["reason"]) for b in data["bodies"] for i in b["items"]]
    assert items == [("signature", True, None), ("seal", False, "maker not trusted: no seal-maker anchors")]


def _verify(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["verify", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_demo_writes_the_three_files(demo_out: Path) -> None:
    assert sorted(p.name for p in demo_out.iterdir()) == [
        "envelope.xml",
        "parties.toml",
        "root.pem",
        "seal-maker-root.pem",
        "signer.pem",
        "voucher.html",
    ]
    assert (demo_out / "root.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert (demo_out / "seal-maker-root.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert (demo_out / "root.pem").read_bytes() != (demo_out / "seal-maker-root.pem").read_bytes()
    assert b"PRIVATE KEY" not in b"".join(p.read_bytes() for p in demo_out.iterdir())
    envelope = Envelope.from_bytes((demo_out / "envelope.xml").read_bytes())
    (body,) = envelope.bodies
    assert body.vt_code == "5201"
    assert [s.no for s in body.signatures] == [SIGNATURE_POSITION]
    assert [(s.no, s.sn) for s in body.stamps] == [(SEAL_POSITION, DEMO_SEAL_ID)]


def test_demo_html_view_shows_labels_and_seal(demo_out: Path) -> None:
    page = lxml.html.fromstring((demo_out / "voucher.html").read_text(encoding="utf-8"))
    text = page.text_content()
    assert "财政直接支付凭证" in text and "收款人账号" in text
    statuses = [el.get("data-status") for el in page.xpath("//div[@data-position]//*[@data-status]")]
    assert statuses == ["valid", "valid"]
    (img,) = page.xpath("//img[@src]")
    assert img.get("src") == "data:image/png;base64," + base64.b64encode(seal_picture_png()).decode()


def test_demo_report_marks_every_step(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "d")])
    assert result.exit_code == EXIT_OK
    lines = result.output.splitlines()
    steps = [line for line in lines if line.startswith(("✓", "✗"))]
    assert len(steps) == 6 and all(line.startswith("✓") for line in steps)
    assert any("verified" in line for line in steps)
    assert (
        f"ezhifu verify {tmp_path / 'd' / 'envelope.xml'} --trust {tmp_path / 'd' / 'root.pem'}"
        f" --seal-maker-trust {tmp_path / 'd' / 'seal-maker-root.pem'}" in result.output
    )


def test_demo_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "d"), "--json"])
    assert result.exit_code == EXIT_OK
    data = json.loads(result.output)
    assert data["ok"] is True
    assert [s["ok"] for s in data["steps"]] == [True] * 6
    kinds = [
        (i["kind"], i["position"], i["valid"]) for b in data["verification"]["bodies"] for i in b["items"]
    ]
    assert kinds == [("signature", SIGNATURE_POSITION, True), ("seal", SEAL_POSITION, True)]


def test_verify_accepts_the_demo_envelope(demo_out: Path) -> None:
    code, output = _verify(str(demo_out / "envelope.xml"), *_demo_trust(demo_out))
    assert code == EXIT_OK, output


def test_verify_json_lists_every_signature_and_seal(demo_out: Path) -> None:
    code, output = _verify(str(demo_out / "envelope.xml"), *_demo_trust(demo_out), "--json")
    assert code == EXIT_OK
    data = json.loads(output)
    results = data if isinstance(data, list) else [data]
    items = [
        (i["kind"], i["position"], i["valid"], i["reason"])
        for r in results
        for b in (r.get("result", r))["bodies"]
        for i in b["items"]
    ]
    assert items == [("signature", SIGNATURE_POSITION, True, None), ("seal", SEAL_POSITION, True, None)]


def test_verify_rejects_a_flipped_voucher_character(demo_out: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(flip_one_voucher_char((demo_out / "envelope.xml").read_bytes()))
    code, output = _verify(str(tampered), *_demo_trust(demo_out))
    assert code == EXIT_FAILED
    assert SIGNATURE_POSITION in output and SEAL_POSITION in output
    assert re.search(r"digest|signature|hash", output, re.IGNORECASE)
    # the same through JSON: both items invalid, each with a reason
    code, output = _verify(str(tampered), *_demo_trust(demo_out), "--json")
    assert code == EXIT_FAILED
    data = json.loads(output)
    results = data if isinstance(data, list) else [data]
    items = [i for r in results for b in (r.get("result", r))["bodies"] for i in b["items"]]
    assert [i["valid"] for i in items] == [False, False]
    assert all(i["reason"] for i in items)


def test_verify_rejects_a_changed_signature(demo_out: Path, tmp_path: Path) -> None:
    data = (demo_out / "envelope.xml").read_bytes()
    envelope = Envelope.from_bytes(data)
    value = envelope.bodies[0].signatures[0].value
    der = bytearray(base64.b64decode(value))
    der[-5] ^= 0x01  # inside the signature value at the end of the SignerInfo
    changed = base64.b64encode(bytes(der)).decode()
    tampered = tmp_path / "sig.xml"
    tampered.write_bytes(data.replace(value.encode(), changed.encode()))
    code, output = _verify(str(tampered), *_demo_trust(demo_out))
    assert code == EXIT_FAILED
    assert SIGNATURE_POSITION in output


def test_verify_with_the_wrong_root_fails(demo_out: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert run_demo(other).ok
    code, output = _verify(str(demo_out / "envelope.xml"), "--trust", str(other / "root.pem"))
    assert code == EXIT_FAILED
    assert "trust" in output.lower() or "chain" in output.lower()


def test_view_writes_the_page_and_exits_by_verification(demo_out: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "v.html"
    result = runner.invoke(cli, ["view", str(demo_out / "envelope.xml"), "-o", str(out)])
    assert result.exit_code == EXIT_OK and "not verified" in result.output
    assert 'data-status="unverified"' in out.read_text(encoding="utf-8")
    # Replacing the page needs --force (docs/cli.md, "Outputs").
    args = ["view", str(demo_out / "envelope.xml"), *_demo_trust(demo_out), "-o", str(out)]
    result = runner.invoke(cli, [*args, "--force"])
    assert result.exit_code == EXIT_OK
    assert out.read_text(encoding="utf-8").count('data-status="valid"') == 2
    tampered = tmp_path / "t.xml"
    tampered.write_bytes(flip_one_voucher_char((demo_out / "envelope.xml").read_bytes()))
    result = runner.invoke(cli, ["view", str(tampered), *_demo_trust(demo_out), "-o", str(out), "--force"])
    assert result.exit_code == EXIT_FAILED
    assert out.read_text(encoding="utf-8").count('data-status="invalid"') == 2


def test_view_of_a_non_envelope_is_exit_1_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<MOF><VoucherCount>x</MOF>")
    result = CliRunner().invoke(cli, ["view", str(bad), "-o", str(tmp_path / "o.html")])
    assert result.exit_code == EXIT_FAILED
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_demo_out_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "f")])
    assert result.exit_code == EXIT_USAGE
    assert "Traceback" not in result.output


def test_real_console_script_demo_then_verify(tmp_path: Path) -> None:
    """The installed entry point, in a fresh process, exactly as the README runs it."""
    demo = subprocess.run(
        [sys.executable, "-m", "ezhifu", "demo"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert demo.returncode == EXIT_OK, demo.stdout + demo.stderr
    out = tmp_path / "ezhifu-demo"
    verify = subprocess.run(
        [
            sys.executable,
            "-m",
            "ezhifu",
            "verify",
            "ezhifu-demo/envelope.xml",
            "--trust",
            "ezhifu-demo/root.pem",
            "--seal-maker-trust",
            "ezhifu-demo/seal-maker-root.pem",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert verify.returncode == EXIT_OK, verify.stdout + verify.stderr
    assert (out / "voucher.html").is_file()


def test_a_failing_step_is_marked_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control for the report: a step that raises stops the run with ✗ and exit 1."""
    import ezhifu.sign.voucher
    from ezhifu.errors import SigningError

    def refuse(*args: object, **kwargs: object) -> None:
        raise SigningError("key unusable (test double)")

    monkeypatch.setattr(ezhifu.sign.voucher, "sign_envelope", refuse)
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "d")])
    assert result.exit_code == EXIT_FAILED
    assert "✗ stopped: SigningError: key unusable (test double)" in result.output
    assert not (tmp_path / "d" / "envelope.xml").exists()


def test_getting_started_walkthrough(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/getting-started.md step 5, command for command; then the root CA as a seal maker
    (key usage certificate/CRL signing only) fails verification naming the key usage."""
    from ezhifu.document.samples import sample_voucher
    from ezhifu.testing.pki import make_pki

    monkeypatch.chdir(tmp_path)
    make_pki("sm2").write_pem("pki")
    Path("envelope.xml").write_bytes(Envelope.build([sample_voucher("5201", details=2)]).to_bytes())
    Path("seal.png").write_bytes(seal_picture_png())

    def make(maker: str, out: str) -> list[str]:
        return [
            *("seal", "make", "--maker-key", f"pki/{maker}.key.pem", "--maker-cert", f"pki/{maker}.pem"),
            *(
                "--holder-cert",
                "pki/leaf.pem",
                "--id",
                "0123456789abcdef0123456789abcdef",
                "--name",
                "测试公章",
            ),
            *("--image", "seal.png", "--width-mm", "40", "--height-mm", "40"),
            *("--valid-from", "2026-01-01T00:00:00+00:00", "--valid-to", "2030-12-31T00:00:00+00:00"),
            *("-o", out),
        ]

    def apply(seal: str, out: str) -> list[str]:
        return [
            *("seal", "apply", "signed.xml", "--seal", seal, "--key", "pki/leaf.key.pem"),
            *("--cert", "pki/chain.pem", "--position", "cz_dwgz", "-o", out),
        ]

    steps = [
        ["validate", "envelope.xml"],
        [
            *("sign", "envelope.xml", "--key", "pki/leaf.key.pem", "--cert", "pki/chain.pem"),
            *("--position", "cz_dwfz", "-o", "signed.xml"),
        ],
        make("leaf", "seal.der"),
        apply("seal.der", "sealed.xml"),
        ["verify", "sealed.xml", "--trust", "pki/root.pem", "--seal-maker-trust", "pki/root.pem"],
        [
            "view",
            "sealed.xml",
            "--trust",
            "pki/root.pem",
            "--seal-maker-trust",
            "pki/root.pem",
            "-o",
            "sealed.html",
        ],
    ]
    runner = CliRunner()
    for args in steps:
        result = runner.invoke(cli, args)
        assert result.exit_code == EXIT_OK, (args, result.output)
    assert Path("sealed.html").read_text(encoding="utf-8").count('data-status="valid"') == 2

    refused = runner.invoke(cli, make("root", "root-seal.der"))  # issue 13 item 5: refused by default
    assert refused.exit_code == EXIT_FAILED and "KeyUsageError" in refused.output
    assert (
        runner.invoke(cli, [*make("root", "root-seal.der"), "--allow-non-signing-maker"]).exit_code == EXIT_OK
    )
    assert runner.invoke(cli, apply("root-seal.der", "root-sealed.xml")).exit_code == EXIT_OK
    verified = runner.invoke(
        cli, ["verify", "root-sealed.xml", "--trust", "pki/root.pem", "--seal-maker-trust", "pki/root.pem"]
    )
    assert verified.exit_code == EXIT_FAILED
    assert "seal maker" in verified.output and "key usage" in verified.output


def test_the_readme_command_verifies_the_demo_with_its_parties_file(demo_out: Path) -> None:
    """Issue 13 "must show": the demo's parties file binds its positions; parties_checked true."""
    args = [str(demo_out / "envelope.xml"), *_demo_trust(demo_out)]
    code, output = _verify(*args, "--parties", str(demo_out / "parties.toml"), "--json")
    assert code == EXIT_OK, output
    data = json.loads(output)
    assert data["parties_checked"] is True and data["valid"] is True
    assert all(i["valid"] for b in data["bodies"] for i in b["items"])
    code, output = _verify(*args, "--json")
    assert json.loads(output)["parties_checked"] is False
