"""``ezhifu validate`` and ``ezhifu verify`` over many files and directories, and streamed
verification (``--stream``, ``--jobs N``) giving the same verdicts as the in-memory path.

Keys and PKI are generated at test time (``ezhifu.testing.pki.make_pki``); the invalid voucher is
``tests/document/invalid/sum_mismatch.xml`` (detail sum differing from the header PayAmt).
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ezhifu.cli import verify_cmd
from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.trust import TrustStore
from ezhifu.results import EnvelopeResult
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.pki import TestPKI, make_pki
from ezhifu.verify.envelope import verify_envelope

INVALID_VOUCHER = Path(__file__).resolve().parents[1] / "document" / "invalid" / "sum_mismatch.xml"
#: VtCodes with a sample voucher in both schema versions (spec.md §2.2).
VT_CODES = ("5201", "5214", "8202")
#: More bodies than one chunk of ezhifu.verify.stream.verify_stream (32), so --jobs 2 uses two workers.
N_BODIES = 34
TAMPERED = 2  # 1-based index of the body whose content is changed after signing
UNSIGNED = N_BODIES + 1  # a body appended after signing, without signature


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


@pytest.fixture(scope="module")
def root_pem(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pki.write_pem(tmp_path_factory.mktemp("pki"))["root.pem"]


def _tamper(body: VoucherBody) -> None:
    """Change the signed content: one more yuan in PayAmt, re-encoded as GBK then Base64."""
    xml = body.voucher_xml
    changed = re.sub(
        rb"<PayAmt>(\d+)", lambda m: b"<PayAmt>" + str(int(m.group(1)) + 1).encode(), xml, count=1
    )
    assert changed != xml
    body.voucher_b64 = base64.b64encode(changed).decode("ascii")


@pytest.fixture(scope="module")
def signed_envelope(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """34 SM2-signed bodies, body 2 tampered after signing, one unsigned body appended."""
    vouchers = [
        sample_voucher(VT_CODES[i % len(VT_CODES)], details=1 + i % 3, seed=i) for i in range(N_BODIES)
    ]
    envelope = Envelope.build(vouchers)
    sign_envelope(envelope, pki.signer(), "cz_dwfz")
    _tamper(envelope.bodies[TAMPERED - 1])
    envelope.bodies.append(VoucherBody.from_voucher(sample_voucher("5201", seed=99)))
    path = tmp_path_factory.mktemp("batch") / "batch.xml"
    path.write_bytes(envelope.to_bytes())
    return path


@pytest.fixture
def voucher_dir(tmp_path: Path) -> Path:
    """Three valid envelopes (one in a nested folder) and one invalid voucher; a .txt ignored."""
    folder = tmp_path / "in"
    (folder / "nested").mkdir(parents=True)
    for i, vt in enumerate(VT_CODES):
        target = folder / "nested" if i == 2 else folder
        (target / f"ok{i}.xml").write_bytes(Envelope.build([sample_voucher(vt, seed=i)]).to_bytes())
    (folder / "bad.xml").write_bytes(INVALID_VOUCHER.read_bytes())
    (folder / "notes.txt").write_text("not a voucher")
    return folder


def _table_rows(output: str) -> dict[str, list[str]]:
    """The summary table's rows, by file name (columns split on runs of 2+ spaces)."""
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("file "))
    rows: dict[str, list[str]] = {}
    for line in lines[header + 2 :]:
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) >= 2 and cells[0].endswith(".xml"):
            rows[Path(cells[0]).name] = cells[1:]
    return rows


def _verdicts(result: EnvelopeResult | dict[str, Any]) -> list[tuple[Any, ...]]:
    """Per body: VoucherNo, validity, problems, and each item's kind, position, validity, reason."""
    data = result.to_dict() if isinstance(result, EnvelopeResult) else result
    return [
        (
            b["voucher_no"],
            b["valid"],
            tuple(b["problems"]),
            tuple((i["kind"], i["position"], i["valid"], i["reason"]) for i in b["items"]),
        )
        for b in data["bodies"]
    ]


# --- validate -------------------------------------------------------------------------


def test_validate_directory_table_and_exit_1(voucher_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(voucher_dir)])
    assert result.exit_code == 1, result.output
    rows = _table_rows(result.stdout)
    assert set(rows) == {"ok0.xml", "ok1.xml", "ok2.xml", "bad.xml"}  # nested one included, .txt not
    assert rows["bad.xml"][0] == "✗" and int(rows["bad.xml"][1]) >= 1
    assert all(rows[f"ok{i}.xml"] == ["✓", "0"] for i in range(3))
    # details only for the failing file, with the code
    assert "bad.xml: invalid" in result.stdout and "[sum-mismatch]" in result.stdout
    assert "ok0.xml: valid" not in result.stdout
    assert "4 files: 3 valid, 1 not valid" in result.stdout
    assert "Traceback" not in result.output


def test_validate_directory_json_keeps_the_report_shape(voucher_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "--json", str(voucher_dir)])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["schema_version"] == "2024"
    files = {Path(f["file"]).name: f for f in report["files"]}
    # sorted by path: in/bad.xml < in/nested/ok2.xml < in/ok0.xml < in/ok1.xml
    assert [f["file"] for f in report["files"]] == [
        str(voucher_dir / "bad.xml"),
        str(voucher_dir / "nested" / "ok2.xml"),
        str(voucher_dir / "ok0.xml"),
        str(voucher_dir / "ok1.xml"),
    ]
    assert {n: f["valid"] for n, f in files.items()} == {
        "bad.xml": False,
        "ok0.xml": True,
        "ok1.xml": True,
        "ok2.xml": True,
    }
    assert files["bad.xml"]["issues"][0]["code"] == "sum-mismatch"
    assert all(set(f) == {"file", "valid", "issues", "error"} for f in report["files"])


def test_validate_nested_directory_only_and_all_valid(voucher_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(voucher_dir / "nested")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("ok2.xml: valid")  # one file: today's one-line report


def test_validate_files_and_directory_mixed_once_each(voucher_dir: Path) -> None:
    ok0 = voucher_dir / "ok0.xml"
    result = CliRunner().invoke(cli, ["validate", str(ok0), str(voucher_dir / "nested"), str(ok0)])
    assert result.exit_code == 0, result.output
    assert set(_table_rows(result.stdout)) == {"ok0.xml", "ok2.xml"}
    assert "2 files: 2 valid, 0 not valid" in result.stdout


def test_validate_empty_directory_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["validate", str(empty)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"ezhifu: error: {empty}: no files matching '*.xml' in this directory"
    assert "Traceback" not in result.output


# --- verify over many files -----------------------------------------------------------


@pytest.fixture
def envelope_dir(tmp_path: Path, pki: TestPKI) -> Path:
    """Three signed envelopes (one nested) and one whose signature was made by a stranger."""
    folder = tmp_path / "envelopes"
    (folder / "nested").mkdir(parents=True)
    for i, vt in enumerate(VT_CODES):
        envelope = Envelope.build([sample_voucher(vt, seed=i), sample_voucher(vt, seed=i + 10)])
        sign_envelope(envelope, pki.signer(), "cz_dwfz")
        target = folder / "nested" if i == 2 else folder
        (target / f"ok{i}.xml").write_bytes(envelope.to_bytes())
    stranger = make_pki("sm2", subject_prefix="stranger")
    envelope = Envelope.build([sample_voucher("5201", seed=7)])
    sign_envelope(envelope, stranger.signer(), "cz_dwfz")
    (folder / "bad.xml").write_bytes(envelope.to_bytes())
    return folder


def test_verify_directory_table_and_exit_1(envelope_dir: Path, root_pem: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", str(envelope_dir), "--trust", str(root_pem)])
    assert result.exit_code == 1, result.output
    rows = _table_rows(result.stdout)
    assert set(rows) == {"ok0.xml", "ok1.xml", "ok2.xml", "bad.xml"}
    assert all(rows[f"ok{i}.xml"] == ["✓", "2/2"] for i in range(3))
    mark, bodies, reason = rows["bad.xml"]
    assert (mark, bodies) == ("✗", "0/1")
    assert reason.startswith("VoucherBody 1 (VoucherNo ") and "signature at cz_dwfz: " in reason
    assert "bad.xml: FAILED" in result.stdout and "ok0.xml: OK" not in result.stdout
    assert "4 files: 3 verified, 1 failed" in result.stdout


def test_verify_directory_json_is_the_list_shape(envelope_dir: Path, root_pem: Path) -> None:
    nested = envelope_dir / "nested"
    result = CliRunner().invoke(cli, ["verify", str(nested), "--trust", str(root_pem), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # a directory always gives the list shape, even with one file in it
    assert data["valid"] is True
    assert [f["file"] for f in data["files"]] == [str(nested / "ok2.xml")]
    assert {"valid", "problems", "bodies"} <= set(data["files"][0])


def test_verify_empty_directory_exits_2(tmp_path: Path, root_pem: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", str(tmp_path), "--trust", str(root_pem)])
    assert result.exit_code == 2
    assert "no files matching '*.xml'" in result.stderr and "Traceback" not in result.output


def test_no_progress_bar_off_a_terminal(envelope_dir: Path, root_pem: Path) -> None:
    # CliRunner's streams are not terminals, as in a pipe or a CI log
    result = CliRunner().invoke(cli, ["verify", str(envelope_dir), "--trust", str(root_pem)])
    assert "verifying" not in result.output and "\r" not in result.output
    assert result.stderr == ""


def test_progress_bar_on_a_terminal(
    envelope_dir: Path, root_pem: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Positive control for the test above: with stderr a terminal, the bar is drawn there."""
    from ezhifu.cli.common import progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    drawn: list[str] = []

    def spy(items: Any, *, label: str = "") -> Any:
        monkeypatch.setattr(sys, "stderr", terminal)
        drawn.append(label)
        return progress(items, label=label)

    monkeypatch.setattr(verify_cmd, "progress", spy)
    result = CliRunner().invoke(cli, ["verify", str(envelope_dir), "--trust", str(root_pem)])
    assert result.exit_code == 1
    assert drawn == ["verifying"] and "verifying" in terminal.getvalue()
    assert "verifying" not in result.stdout  # the bar never mixes with the report


# --- streamed and parallel verification ------------------------------------------------


def test_stream_and_jobs_give_the_in_memory_verdicts(signed_envelope: Path, root_pem: Path) -> None:
    trust = TrustStore.from_pem_files([root_pem])
    reference = verify_envelope(signed_envelope.read_bytes(), trust=trust)
    expected = _verdicts(reference)
    # negative controls inside the reference: the tampered and the unsigned bodies fail
    assert [b.valid for b in reference.bodies].count(False) == 2
    assert not reference.bodies[TAMPERED - 1].valid and reference.bodies[TAMPERED - 1].items[0].reason
    assert reference.bodies[UNSIGNED - 1].reasons == ("no signature or seal on this voucher",)
    assert len(expected) == UNSIGNED

    runner = CliRunner()
    base = ["verify", str(signed_envelope), "--trust", str(root_pem), "--json"]
    outputs = {}
    for extra in ((), ("--stream",), ("--jobs", "2"), ("--stream", "--jobs", "2")):
        result = runner.invoke(cli, [*base, *extra])
        assert result.exit_code == 1, (extra, result.output)
        data = json.loads(result.stdout)
        assert data["file"] == str(signed_envelope)
        assert _verdicts(data) == expected, extra
        outputs[extra] = data
    # the whole JSON document is the same, not only the verdicts (checks, signer, algorithms)
    assert (
        outputs[("--stream",)]
        == outputs[()]
        == outputs[("--jobs", "2")]
        == outputs[("--stream", "--jobs", "2")]
    )


def test_stream_text_table_names_the_tampered_body(
    signed_envelope: Path, root_pem: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.xml"
    copy.write_bytes(signed_envelope.read_bytes())
    result = CliRunner().invoke(
        cli, ["verify", str(signed_envelope), str(copy), "--trust", str(root_pem), "--stream", "-j", "2"]
    )
    assert result.exit_code == 1
    rows = _table_rows(result.stdout)
    assert rows["batch.xml"][:2] == rows["copy.xml"][:2] == ["✗", f"{N_BODIES - 1}/{N_BODIES + 1}"]
    assert rows["batch.xml"][2].startswith(f"VoucherBody {TAMPERED} (VoucherNo ")


def test_large_files_are_streamed_automatically(
    signed_envelope: Path, root_pem: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ezhifu.verify import stream as batch

    calls: list[int] = []
    real = batch.verify_stream

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["workers"])
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "verify_stream", spy)
    size = signed_envelope.stat().st_size
    assert not verify_cmd.uses_stream(signed_envelope, stream=False, jobs=1)
    args = ["verify", str(signed_envelope), "--trust", str(root_pem), "--json"]
    in_memory = CliRunner().invoke(cli, args)
    assert calls == []
    monkeypatch.setattr(verify_cmd, "STREAM_THRESHOLD", size - 1)  # as if the file were > 64 MiB
    assert verify_cmd.uses_stream(signed_envelope, stream=False, jobs=1)
    streamed = CliRunner().invoke(cli, args)
    assert calls == [1]
    assert json.loads(streamed.stdout) == json.loads(in_memory.stdout)


def test_stream_of_an_unreadable_envelope_is_a_problem_not_a_crash(
    signed_envelope: Path, root_pem: Path, tmp_path: Path
) -> None:
    # VoucherCount says one body less than there are: found at the end of the stream
    data = signed_envelope.read_bytes()
    wrong = re.sub(
        rb"<VoucherCount>\d+</VoucherCount>", f"<VoucherCount>{N_BODIES}</VoucherCount>".encode(), data
    )
    assert wrong != data
    path = tmp_path / "count.xml"
    path.write_bytes(wrong)
    for extra in ((), ("--stream",)):
        result = CliRunner().invoke(cli, ["verify", str(path), "--trust", str(root_pem), "--json", *extra])
        assert result.exit_code == 1, result.output
        report = json.loads(result.stdout)
        assert report["valid"] is False
        (problem,) = report["problems"]
        assert problem.startswith("envelope cannot be read: ") and "VoucherCount" in problem


def test_jobs_must_be_positive(signed_envelope: Path, root_pem: Path) -> None:
    result = CliRunner().invoke(
        cli, ["verify", str(signed_envelope), "--trust", str(root_pem), "--jobs", "0"]
    )
    assert result.exit_code == 2
    assert "--jobs" in result.output


# --- the real console entry point ---------------------------------------------------------


def test_subprocess_many_files_and_stream(voucher_dir: Path, signed_envelope: Path, root_pem: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ezhifu", "validate", str(voucher_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert set(_table_rows(proc.stdout)) == {"ok0.xml", "ok1.xml", "ok2.xml", "bad.xml"}
    assert proc.stderr == ""  # no progress bar on a pipe, no traceback
    verify = ["verify", str(signed_envelope), "--trust", str(root_pem), "--stream", "--jobs", "2", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "ezhifu", *verify],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert [b["valid"] for b in data["bodies"]].count(False) == 2
    assert not data["bodies"][TAMPERED - 1]["valid"] and not data["bodies"][UNSIGNED - 1]["valid"]
