"""Issue 14 finding 1 through ``ezhifu verify``: the hidden-body forgery is refused in memory and
streamed (a file above the streaming threshold, lowered for the test), and special files are
read bounded (exit codes of docs/cli.md: 1 for a failed verification)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezhifu.cli import verify_cmd
from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.pki import make_pki


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pki = make_pki("sm2")
    out = tmp_path_factory.mktemp("forgery")
    envelope = Envelope.build([sample_voucher("5201", seed=1)])
    sign_envelope(envelope, pki.signer(), "cz_dwfz")
    good = envelope.to_bytes()
    forged_body = VoucherBody.from_voucher(sample_voucher("5201", seed=2))
    forged_body.voucher_no = envelope.bodies[0].voucher_no  # same VoucherNo, another payee
    hidden = b"<Ext>" + _body_bytes(forged_body) + b"</Ext>"
    forged = good.replace(b"</VoucherBody>", hidden + b"</VoucherBody>", 1)
    paths = {"good": out / "good.xml", "forged": out / "forged.xml"}
    paths["good"].write_bytes(good)
    paths["forged"].write_bytes(forged)
    paths["root"] = pki.write_pem(out)["root.pem"]
    return paths


def _body_bytes(body: VoucherBody) -> bytes:
    data = Envelope.build([body]).to_bytes("UTF-8")
    start = data.index(b"<VoucherBody")
    return data[start : data.rindex(b"</VoucherBody>") + len(b"</VoucherBody>")]


def _verify(path: Path, root: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["verify", str(path), "--trust", str(root), "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_good_envelope_verifies_both_ways(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    code, report = _verify(files["good"], files["root"])
    assert (code, report["valid"]) == (0, True)
    monkeypatch.setattr(verify_cmd, "STREAM_THRESHOLD", 10)
    assert verify_cmd.uses_stream(files["good"], stream=False, jobs=1)
    assert _verify(files["good"], files["root"])[0] == 0


@pytest.mark.parametrize("threshold", [None, 10])
def test_hidden_body_refused_in_memory_and_streamed(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, threshold: int | None
) -> None:
    if threshold is not None:  # as if the file were above 64 MiB
        monkeypatch.setattr(verify_cmd, "STREAM_THRESHOLD", threshold)
        assert verify_cmd.uses_stream(files["forged"], stream=False, jobs=1)
    code, report = _verify(files["forged"], files["root"])
    assert code == 1
    assert report["valid"] is False
    problems = report["problems"]
    assert isinstance(problems, list) and len(problems) == 1
    problem = str(problems[0])
    assert "envelope cannot be read" in problem and "/MOF/VoucherBody[1]/Ext" in problem


def test_dev_zero_is_read_bounded(files: dict[str, Path]) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this system")
    code, report = _verify(Path("/dev/zero"), files["root"])
    assert code == 1
    problems = report["problems"]
    assert isinstance(problems, list) and len(problems) == 1
    problem = str(problems[0])
    assert "limit" in problem or "NUL" in problem


def test_trust_file_dev_zero_is_refused_bounded(files: dict[str, Path]) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this system")
    result = CliRunner().invoke(cli, ["verify", str(files["good"]), "--trust", "/dev/zero"])
    assert result.exit_code == 2, result.output
    assert "trust file" in result.output


def test_view_of_dev_zero_is_read_bounded(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this system")
    out = tmp_path / "page.html"
    result = CliRunner().invoke(cli, ["view", "/dev/zero", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "limit" in result.output
    assert not out.exists()


def test_streamed_diagnosis_work_is_bounded_per_envelope(monkeypatch: pytest.MonkeyPatch) -> None:
    """40 bodies whose signatures cover another body's text: the diagnoses of the whole stream
    take at most MAX_DIAGNOSIS_VERIFICATIONS extra verifications (the real ones, counted)."""
    import io

    from ezhifu.pki.trust import TrustStore
    from ezhifu.verify import diagnose
    from ezhifu.verify.stream import verify_stream

    pki = make_pki("sm2")
    envelope = Envelope.build([sample_voucher("5201", seed=i) for i in range(40)])
    sign_envelope(envelope, pki.signer(), "cz_dwfz")
    texts = [body.voucher_b64 for body in envelope.bodies]
    for i, body in enumerate(envelope.bodies):
        body.voucher_b64 = texts[(i + 1) % len(texts)] + "\n"  # whitespace: one more attempt each
    calls = []
    real = vars(diagnose)["verify_detached"]

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(diagnose, "verify_detached", counting)
    results = list(verify_stream(io.BytesIO(envelope.to_bytes()), trust=TrustStore(roots=[pki.root_cert])))
    assert len(results) == 40 and not any(r.valid for r in results)
    assert 0 < len(calls) <= diagnose.MAX_DIAGNOSIS_VERIFICATIONS
