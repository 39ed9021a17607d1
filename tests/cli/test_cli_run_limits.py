"""Per-run limits across many files, and output streamed file by file (issue 14 item 2).

``ezhifu verify``/``validate`` over many paths check the number of files and the bytes in all
before anything is read (exit 2, ``RunLimitExceeded`` naming the limit, nothing printed on
stdout); the batch API (:func:`ezhifu.verify.stream.envelope_files`) raises when it reaches one.
The CLI prints each file's result when it is done and keeps only its summary row: shown with
tracemalloc, the peak memory of a run does not grow with the number of files.
"""

from __future__ import annotations

import contextlib
import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ezhifu._fileio import MAX_RUN_BYTES, MAX_RUN_FILES, RunBudget
from ezhifu.cli import verify_cmd
from ezhifu.cli.common import JsonListWriter
from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import ConfigurationError, RunLimitExceeded
from ezhifu.pki.trust import TrustStore
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.pki import TestPKI, make_pki
from ezhifu.verify.envelope import verify_envelope
from ezhifu.verify.stream import envelope_files

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


@pytest.fixture(scope="module")
def root_pem(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pki.write_pem(tmp_path_factory.mktemp("pki"))["root.pem"]


def _signed(pki: TestPKI, bodies: int, seed: int = 0) -> bytes:
    envelope = Envelope.build([sample_voucher("5201", seed=seed + i) for i in range(bodies)])
    sign_envelope(envelope, pki.signer(), "cz_dwfz")
    return envelope.to_bytes()


def _folder(path: Path, data: bytes, count: int) -> Path:
    path.mkdir()
    for i in range(count):
        (path / f"e{i:03d}.xml").write_bytes(data)
    return path


@pytest.fixture(scope="module")
def four(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory.mktemp("run") / "four", _signed(pki, 2), 4)


@pytest.mark.parametrize("verb", ["verify", "validate"])
def test_too_many_files_is_refused_before_anything_is_read(verb: str, four: Path, root_pem: Path) -> None:
    trust = ["--trust", str(root_pem)] if verb == "verify" else []
    result = CliRunner().invoke(cli, [verb, str(four), *trust, "--max-files", "3"])
    assert result.exit_code == 2, result.output
    assert "more than 3 files in one run" in result.stderr and "--max-files" in result.stderr
    assert result.stdout == ""  # nothing verified, nothing half-printed
    ok = CliRunner().invoke(cli, [verb, str(four), *trust, "--max-files", "4"])
    assert ok.exit_code == 0, ok.output  # control: at the limit is allowed


@pytest.mark.parametrize("verb", ["verify", "validate"])
def test_too_many_bytes_in_all_is_refused(verb: str, four: Path, root_pem: Path) -> None:
    trust = ["--trust", str(root_pem)] if verb == "verify" else []
    total = sum(p.stat().st_size for p in four.iterdir())
    result = CliRunner().invoke(cli, [verb, str(four), *trust, "--max-run-bytes", str(total - 1)])
    assert result.exit_code == 2, result.output
    assert f"more than {total - 1} bytes in one run" in result.stderr and result.stdout == ""
    ok = CliRunner().invoke(cli, [verb, str(four), *trust, "--max-run-bytes", str(total)])
    assert ok.exit_code == 0, ok.output


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_special_file_counts_its_read_bound(root_pem: Path) -> None:
    # /dev/zero has st_size 0: it counts the 64 MiB the in-memory reader would read at most
    result = CliRunner().invoke(
        cli, ["verify", "/dev/zero", "--trust", str(root_pem), "--max-run-bytes", str(1 << 20)]
    )
    assert result.exit_code == 2 and "bytes in one run at /dev/zero" in result.stderr


def test_the_batch_api_raises_the_named_limit(four: Path) -> None:
    assert len(list(envelope_files([four]))) == 4
    with pytest.raises(RunLimitExceeded) as caught:
        list(envelope_files([four], max_files=3))
    assert caught.value.limit == "max_run_files" and caught.value.value == 4
    assert isinstance(caught.value, ConfigurationError)  # a usage error: exit 2 on the command line
    files = sorted(four.iterdir())
    with pytest.raises(RunLimitExceeded) as caught:
        list(envelope_files(files, max_bytes=files[0].stat().st_size * 2))
    assert caught.value.limit == "max_run_bytes"
    with pytest.raises(ConfigurationError):
        RunBudget(max_files=0)


def test_the_limits_are_in_the_security_table() -> None:
    table = (DOCS / "security.md").read_text(encoding="utf-8")
    assert f"{MAX_RUN_FILES:,}" in table and "max_run_files" in table
    assert f"{MAX_RUN_BYTES // (1 << 30)} GiB" in table and "max_run_bytes" in table


def test_many_files_json_is_streamed_in_the_list_shape(four: Path, root_pem: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", str(four), "--trust", str(root_pem), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["valid"] is True and [Path(f["file"]).name for f in data["files"]] == [
        f"e{i:03d}.xml" for i in range(4)
    ]
    assert all(f["valid"] and len(f["bodies"]) == 2 for f in data["files"])
    checked = CliRunner().invoke(cli, ["validate", str(four), "--json"])
    report = json.loads(checked.stdout)
    assert checked.exit_code == 0 and report["level"] == "partner" and len(report["files"]) == 4


def _retained(folder: Path, root_pem: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """Memory held (tracemalloc, current) when the run prints its summary, all files done."""
    held: list[int] = []
    table, close = verify_cmd.print_table, JsonListWriter.close

    def spy_table(*a: Any, **k: Any) -> None:
        held.append(tracemalloc.get_traced_memory()[0])
        table(*a, **k)

    def spy_close(self: JsonListWriter, **k: Any) -> None:
        held.append(tracemalloc.get_traced_memory()[0])
        close(self, **k)

    monkeypatch.setattr(verify_cmd, "print_table", spy_table)
    monkeypatch.setattr(JsonListWriter, "close", spy_close)
    with open(os.devnull, "w", encoding="utf-8") as sink:  # the output is not kept either
        tracemalloc.start()
        try:
            with contextlib.redirect_stdout(sink), pytest.raises(SystemExit) as done:
                cli.main(["verify", str(folder), "--trust", str(root_pem), *args], standalone_mode=False)
            base = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    assert done.value.code == 0 and len(held) == 1
    return held[0] - base


@pytest.mark.parametrize("args", [(), ("--json",)])
def test_memory_of_a_run_does_not_grow_with_its_results(
    args: tuple[str, ...], pki: TestPKI, root_pem: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _signed(pki, 30)
    few, many = _folder(tmp_path / "few", data, 2), _folder(tmp_path / "many", data, 12)
    _retained(few, root_pem, monkeypatch, *args)  # warm-up: imports and caches
    small = _retained(few, root_pem, monkeypatch, *args)
    large = _retained(many, root_pem, monkeypatch, *args)
    # Negative control: what keeping the ten more results would hold (the old CLI kept them all).
    trust = TrustStore.from_pem_files([root_pem])
    tracemalloc.start()
    kept = [verify_envelope(data, trust=trust) for _ in range(10)]
    kept_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(kept) == 10 and kept_bytes > 100_000
    print(f"held at the summary: 2 files {small} B, 12 files {large} B; 10 results {kept_bytes} B")
    assert large - small < kept_bytes / 10, (small, large, kept_bytes)
