"""Parallel verification under every multiprocessing start method, one pool per run.

Workers receive bytes and plain data only (ezhifu.verify.pool): under ``spawn`` and
``forkserver`` nothing is inherited, so a parsed asn1crypto object in what a worker receives
fails with ``TypeError`` (issue 17). These tests run real pools of real processes.
"""

from __future__ import annotations

import base64
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import ConfigurationError
from ezhifu.pki.policy import VerifyPolicy
from ezhifu.pki.trust import TrustStore
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.pki import TestPKI, make_pki
from ezhifu.verify import pool as pool_module
from ezhifu.verify.pool import VerifyPool, WorkerConfig
from ezhifu.verify.stream import iter_bodies, verify_stream

START_METHODS = ("spawn", "forkserver")
N_BODIES = 12
TAMPERED = 3  # 1-based index of the body changed after signing


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


@pytest.fixture(scope="module")
def root_pem(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pki.write_pem(tmp_path_factory.mktemp("pki"))["root.pem"]


@pytest.fixture(scope="module")
def trust(root_pem: Path) -> TrustStore:
    return TrustStore.from_pem_files([root_pem])


def _tamper(body: VoucherBody) -> None:
    xml = body.voucher_xml
    changed = re.sub(
        rb"<PayAmt>(\d+)", lambda m: b"<PayAmt>" + str(int(m.group(1)) + 1).encode(), xml, count=1
    )
    assert changed != xml
    body.voucher_b64 = base64.b64encode(changed).decode("ascii")


@pytest.fixture(scope="module")
def envelope_dir(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two signed envelopes (one with a tampered body) and one signed by a stranger."""
    folder = tmp_path_factory.mktemp("envelopes")
    batch = Envelope.build([sample_voucher("5201", details=1 + i % 3, seed=i) for i in range(N_BODIES)])
    sign_envelope(batch, pki.signer(), "cz_dwfz")
    _tamper(batch.bodies[TAMPERED - 1])
    (folder / "batch.xml").write_bytes(batch.to_bytes())
    ok = Envelope.build([sample_voucher("8202", seed=40), sample_voucher("5214", seed=41)])
    sign_envelope(ok, pki.signer(), "cz_dwfz")
    (folder / "ok.xml").write_bytes(ok.to_bytes())
    stranger = make_pki("sm2", subject_prefix="stranger")
    bad = Envelope.build([sample_voucher("5201", seed=7)])
    sign_envelope(bad, stranger.signer(), "cz_dwfz")
    (folder / "stranger.xml").write_bytes(bad.to_bytes())
    return folder


def _dicts(results: Any) -> list[dict[str, Any]]:
    return [r.to_dict() for r in results]


# --- the API --------------------------------------------------------------------------


@pytest.mark.parametrize("method", START_METHODS)
def test_verify_stream_under_start_method(method: str, envelope_dir: Path, trust: TrustStore) -> None:
    path = envelope_dir / "batch.xml"
    expected = _dicts(verify_stream(path, trust=trust))
    # negative control inside the reference: exactly the tampered body fails
    assert [d["valid"] for d in expected].count(False) == 1 and not expected[TAMPERED - 1]["valid"]
    got = _dicts(verify_stream(path, trust=trust, workers=2, chunk=3, start_method=method))
    assert got == expected


@pytest.mark.parametrize("method", START_METHODS)
def test_positions_and_policy_reach_spawned_workers(
    method: str, envelope_dir: Path, trust: TrustStore
) -> None:
    """The options travel as plain data: a position table without cz_dwfz fails every signature
    in the workers exactly as in this process."""
    path = envelope_dir / "ok.xml"
    options: dict[str, Any] = {
        "trust": trust,
        "policy": VerifyPolicy.legacy(),
        "positions": {"8202": ["cz_dwgz"], "5214": ["cz_dwgz"]},
    }
    expected = _dicts(verify_stream(path, **options))
    assert expected and not any(d["valid"] for d in expected)
    with VerifyPool(2, start_method=method, **options) as pool:
        assert _dicts(verify_stream(path, trust=trust, pool=pool, chunk=1)) == expected


def test_one_pool_serves_many_inputs(envelope_dir: Path, trust: TrustStore) -> None:
    with VerifyPool(2, trust=trust, start_method="spawn") as pool:
        for name in ("batch.xml", "ok.xml", "stranger.xml"):
            path = envelope_dir / name
            assert _dicts(pool.verify_bodies(iter_bodies(path), chunk=2)) == _dicts(
                verify_stream(path, trust=trust)
            )


def test_worker_config_is_bytes_and_plain_data(trust: TrustStore) -> None:
    config = WorkerConfig.of(trust=trust, policy=VerifyPolicy(), positions={"5201": {"b", "a"}})
    data = pickle.dumps(config)
    assert b"asn1crypto" not in data and b"lxml" not in data
    assert config.roots == tuple(c.dump() for c in trust.roots) and config.roots
    assert config.positions == (("5201", ("a", "b")),)
    rebuilt = pickle.loads(data).options()
    assert [c.dump() for c in rebuilt["trust"].roots] == list(config.roots)
    assert rebuilt["positions"] == {"5201": frozenset({"a", "b"})}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"workers": 0}, "workers must be"),
        ({"workers": 10_000}, "workers must be"),
        ({"workers": 2, "start_method": "threads"}, "start method 'threads'"),
    ],
)
def test_pool_refuses_bad_settings(kwargs: dict[str, Any], match: str, trust: TrustStore) -> None:
    with pytest.raises(ConfigurationError, match=match):
        VerifyPool(trust=trust, **kwargs)


def test_pool_refuses_a_trust_that_is_not_a_store_and_a_bad_chunk(trust: TrustStore) -> None:
    with pytest.raises(ConfigurationError, match="trust must be a TrustStore"):
        VerifyPool(1, trust="root.pem")  # type: ignore[arg-type]
    with VerifyPool(1, trust=trust) as pool, pytest.raises(ConfigurationError, match="chunk must be"):
        list(pool.verify_bodies([], chunk=0))


# --- the command line -----------------------------------------------------------------

_CLI = (
    "import multiprocessing, sys; multiprocessing.set_start_method(sys.argv.pop(1)); "
    "from ezhifu.cli.main import cli; cli(prog_name='ezhifu')"
)


@pytest.mark.parametrize("method", START_METHODS)
def test_cli_jobs_2_under_start_method(method: str, envelope_dir: Path, root_pem: Path) -> None:
    args = ["verify", str(envelope_dir), "--trust", str(root_pem), "--json"]
    local = CliRunner().invoke(cli, args)
    assert local.exit_code == 1, local.output
    run = subprocess.run(
        [sys.executable, "-c", _CLI, method, *args, "--jobs", "2"], capture_output=True, timeout=300
    )
    assert run.returncode == 1, run.stderr.decode()
    assert b"Traceback" not in run.stderr
    assert json.loads(run.stdout) == json.loads(local.stdout)
    files = {Path(f["file"]).name: f["valid"] for f in json.loads(run.stdout)["files"]}
    assert files == {"batch.xml": False, "ok.xml": True, "stranger.xml": False}


def test_cli_opens_one_pool_per_run(
    envelope_dir: Path, root_pem: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[int] = []

    class Counting(VerifyPool):
        def __init__(self, workers: int, **kwargs: Any) -> None:
            opened.append(workers)
            super().__init__(workers, **kwargs)

    monkeypatch.setattr(pool_module, "VerifyPool", Counting)
    result = CliRunner().invoke(cli, ["verify", str(envelope_dir), "--trust", str(root_pem), "-j", "2"])
    assert result.exit_code == 1, result.output
    assert "3 files: 1 verified, 2 failed" in result.stdout
    assert opened == [2]  # three files, one pool
