"""``verify --parties`` with ``--jobs`` and ``--scheduler`` (issue 17 items 3-4 with issue 13).

The parties configuration reaches worker processes and Dask workers as plain data (the bytes of
the parties file and of its certificate files, ezhifu.verify.parties.PartiesSource), is rebuilt
there by the same code, and gives the verdicts of a single-process run: a signature by the wrong
party, a missing required position and a tampered body fail the same way. Real pools of real
processes (``spawn`` and ``forkserver`` too) and a real Dask ``LocalCluster``.
"""

from __future__ import annotations

import base64
import json
import pickle
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed  # a real Dask cluster: the test group installs it; never skipped
import pytest
from click.testing import CliRunner

from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import ConfigurationError
from ezhifu.pki.keys import dump_certificates
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.pki import TestPKI, make_pki
from ezhifu.verify.cluster import ClusterPool
from ezhifu.verify.envelope import verify_envelope
from ezhifu.verify.parties import Parties, PartiesSource
from ezhifu.verify.pool import VerifyPool, WorkerConfig
from ezhifu.verify.stream import verify_stream

PARTIES = """\
[parties.finance]
certs = ["finance.pem"]
[parties.pbc]
anchors = ["pbc-ca.pem"]
[positions.5201]
cz_dwfz = { party = "finance", kind = "signature", required = true }
rh_zqz  = { party = "pbc", kind = "signature" }
"""


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


@pytest.fixture(scope="module")
def world(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Files signed by finance (pinned leaf) and the PBC (a second leaf of the same CA, bound
    by its CA as anchor); ``wrong.xml`` has the PBC's signature at finance's position,
    ``missing.xml`` lacks the required position, ``batch.xml`` has a tampered body."""
    folder = tmp_path_factory.mktemp("parties")
    pbc_cert, pbc_key = pki.issue_leaf("pbc signer")
    pbc = SoftwareSigner(pbc_key, pbc_cert)
    (folder / "finance.pem").write_bytes(dump_certificates([pki.leaf_cert]))
    (folder / "pbc-ca.pem").write_bytes(dump_certificates([pki.issuing_cert]))
    (folder / "roots.pem").write_bytes(dump_certificates([pki.root_cert]))
    (folder / "parties.toml").write_text(PARTIES, encoding="utf-8")
    files = folder / "files"
    files.mkdir()

    def envelope(name: str, seeds: range, *signers: tuple[SoftwareSigner, str]) -> Envelope:
        env = Envelope.build([sample_voucher("5201", seed=s) for s in seeds])
        for signer, position in signers:
            sign_envelope(env, signer, position)
        (files / name).write_bytes(env.to_bytes())
        return env

    envelope("good.xml", range(0, 3), (pki.signer(), "cz_dwfz"), (pbc, "rh_zqz"))
    envelope("wrong.xml", range(10, 12), (pbc, "cz_dwfz"))
    envelope("missing.xml", range(20, 22), (pbc, "rh_zqz"))
    batch = Envelope.build([sample_voucher("5201", seed=30 + i) for i in range(8)])
    sign_envelope(batch, pki.signer(), "cz_dwfz")
    _tamper(batch.bodies[2])
    (files / "batch.xml").write_bytes(batch.to_bytes())
    return {
        "dir": folder,
        "files": files,
        "trust": TrustStore(roots=[pki.root_cert]),
        "parties": Parties.load(folder / "parties.toml"),
    }


def _tamper(body: VoucherBody) -> None:
    xml = body.voucher_xml
    changed = re.sub(
        rb"<PayAmt>(\d+)", lambda m: b"<PayAmt>" + str(int(m.group(1)) + 1).encode(), xml, count=1
    )
    assert changed != xml
    body.voucher_b64 = base64.b64encode(changed).decode("ascii")


def _dicts(results: Any) -> list[dict[str, Any]]:
    return [r.to_dict() for r in results]


def _args(world: dict[str, Any], *extra: str) -> list[str]:
    return [
        "verify",
        str(world["files"]),
        "--trust",
        str(world["dir"] / "roots.pem"),
        "--parties",
        str(world["dir"] / "parties.toml"),
        "--json",
        *extra,
    ]


def _verdicts(stdout: str) -> dict[str, bool]:
    return {Path(f["file"]).name: f["valid"] for f in json.loads(stdout)["files"]}



EXPECTED = {"batch.xml": False, "good.xml": True, "missing.xml": False, "wrong.xml": False}


def _local(world: dict[str, Any]) -> Any:
    local = CliRunner().invoke(cli, _args(world))
    assert local.exit_code == 1, local.output
    assert _verdicts(local.stdout) == EXPECTED  # the reference itself shows each failure kind
    report = json.loads(local.stdout)
    reasons = " ".join(
        str(i["reason"]) for f in report["files"] for b in f["bodies"] for i in b["items"] if i["reason"]
    )
    problems = " ".join(p for f in report["files"] for b in f["bodies"] for p in b["problems"])
    assert "is not of party 'finance'" in reasons
    assert "required position 'cz_dwfz'" in problems
    return local


# --- the API --------------------------------------------------------------------------


def test_parties_travel_as_bytes(world: dict[str, Any]) -> None:
    parties: Parties = world["parties"]
    assert isinstance(parties.source, PartiesSource)
    config = WorkerConfig.of(trust=world["trust"], parties=parties)
    data = pickle.dumps(config)
    assert b"asn1crypto" not in data and b"ezhifu.verify.parties\nParty" not in data
    assert config.parties is not None
    assert dict(config.parties.files).keys() == {"finance.pem", "pbc-ca.pem"}
    assert config.parties.data == (world["dir"] / "parties.toml").read_bytes()
    rebuilt = pickle.loads(data).options()["parties"]
    assert rebuilt == parties  # the same parties and positions, rebuilt from the bytes
    hash(config)  # the Dask workers cache options by the configuration's value


def test_parties_built_in_code_cannot_be_shipped(world: dict[str, Any]) -> None:
    parties: Parties = world["parties"]
    bare = Parties(parties.parties, parties.positions)
    with pytest.raises(ConfigurationError, match=r"Parties\.load"):
        WorkerConfig.of(trust=world["trust"], parties=bare)


def test_a_source_missing_a_certificate_file_is_refused(world: dict[str, Any]) -> None:
    source = world["parties"].source
    broken = PartiesSource(source.file, source.data, source.files[:1])
    with pytest.raises(ConfigurationError, match="not shipped"):
        broken.parse()


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_verify_stream_with_parties_under_start_method(method: str, world: dict[str, Any]) -> None:
    options = {"trust": world["trust"], "parties": world["parties"]}
    for name in sorted(EXPECTED):
        path = world["files"] / name
        expected = _dicts(verify_stream(path, **options))
        got = _dicts(verify_stream(path, workers=2, chunk=1, start_method=method, **options))
        assert got == expected, name
        assert all(b["valid"] for b in got) is EXPECTED[name]


def test_a_pool_opened_without_the_parties_is_refused(world: dict[str, Any]) -> None:
    with VerifyPool(1, trust=world["trust"]) as pool, pytest.raises(ConfigurationError, match="parties"):
        list(
            verify_stream(
                world["files"] / "good.xml", trust=world["trust"], pool=pool, parties=world["parties"]
            )
        )


def test_one_pool_with_parties_matches_verify_envelope(world: dict[str, Any]) -> None:
    options = {"trust": world["trust"], "parties": world["parties"]}
    with VerifyPool(2, start_method="spawn", **options) as pool:
        for name in sorted(EXPECTED):
            path = world["files"] / name
            in_memory = verify_envelope(path.read_bytes(), **options)
            streamed = _dicts(verify_stream(path, pool=pool, chunk=2, **options))
            assert streamed == _dicts(in_memory.bodies), name


# --- the command line -----------------------------------------------------------------

_CLI = (
    "import multiprocessing, sys; multiprocessing.set_start_method(sys.argv.pop(1)); "
    "from ezhifu.cli.main import cli; cli(prog_name='ezhifu')"
)


def test_cli_jobs_2_with_parties(world: dict[str, Any]) -> None:
    local = _local(world)
    pooled = CliRunner().invoke(cli, _args(world, "--jobs", "2"))
    assert pooled.exit_code == 1, pooled.output
    assert json.loads(pooled.stdout) == json.loads(local.stdout)


def test_cli_jobs_2_with_parties_under_spawn(world: dict[str, Any]) -> None:
    local = _local(world)
    run = subprocess.run(
        [sys.executable, "-c", _CLI, "spawn", *_args(world, "--jobs", "2")], capture_output=True, timeout=300
    )
    assert run.returncode == 1, run.stderr.decode()
    assert b"Traceback" not in run.stderr
    assert json.loads(run.stdout) == json.loads(local.stdout)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as local:
        yield local


@pytest.mark.parametrize("extra", [(), ("--stream",)])
def test_cli_scheduler_with_parties(extra: tuple[str, ...], cluster: Any, world: dict[str, Any]) -> None:
    local = _local(world)
    remote = CliRunner().invoke(cli, _args(world, *extra, "--scheduler", cluster.scheduler_address))
    assert remote.exit_code == 1, remote.output
    assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_cluster_pool_api_with_parties(cluster: Any, world: dict[str, Any]) -> None:
    options = {"trust": world["trust"], "parties": world["parties"]}
    names = sorted(EXPECTED)
    with ClusterPool(cluster.scheduler_address, **options) as pool:
        data = [(world["files"] / n).read_bytes() for n in names]
        remote = [r.to_dict() for r in pool.verify_envelopes(data)]
        assert remote == [verify_envelope(d, **options).to_dict() for d in data]
        assert [r["valid"] for r in remote] == [EXPECTED[n] for n in names]
        bodies = _dicts(verify_stream(world["files"] / "wrong.xml", pool=pool, chunk=1, **options))
        assert bodies == _dicts(verify_stream(world["files"] / "wrong.xml", **options))
