"""``ezhifu verify DIR --scheduler ADDRESS`` on a real Dask ``LocalCluster`` of two worker
processes: the same output and exit code as a local run (ezhifu.verify.cluster)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed  # a real Dask cluster: the test group installs it; never skipped
import pytest
from click.testing import CliRunner

from ezhifu.cli.main import cli
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import ConfigurationError
from ezhifu.pki.trust import TrustStore
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.pki import TestPKI, make_pki
from ezhifu.verify.cluster import ClusterPool
from ezhifu.verify.stream import verify_stream

VT_CODES = ("5201", "5214", "8202")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as local:
        yield local


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return make_pki("sm2")


@pytest.fixture(scope="module")
def root_pem(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pki.write_pem(tmp_path_factory.mktemp("pki"))["root.pem"]


@pytest.fixture(scope="module")
def envelope_dir(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five signed envelopes (one nested) and one signed by a stranger (invalid)."""
    folder = tmp_path_factory.mktemp("envelopes")
    (folder / "nested").mkdir()
    for i in range(5):
        vt = VT_CODES[i % 3]
        envelope = Envelope.build([sample_voucher(vt, seed=i), sample_voucher(vt, seed=i + 10)])
        sign_envelope(envelope, pki.signer(), "cz_dwfz")
        (folder / ("nested" if i == 4 else ".") / f"ok{i}.xml").write_bytes(envelope.to_bytes())
    stranger = make_pki("sm2", subject_prefix="stranger")
    bad = Envelope.build([sample_voucher("5201", seed=7)])
    sign_envelope(bad, stranger.signer(), "cz_dwfz")
    (folder / "bad.xml").write_bytes(bad.to_bytes())
    return folder


@pytest.mark.parametrize("extra", [(), ("--json",), ("--stream", "--json")])
def test_scheduler_gives_the_local_output_and_exit_code(
    extra: tuple[str, ...], cluster: Any, envelope_dir: Path, root_pem: Path
) -> None:
    args = ["verify", str(envelope_dir), "--trust", str(root_pem), *extra]
    local = CliRunner().invoke(cli, args)
    assert local.exit_code == 1, local.output
    remote = CliRunner().invoke(cli, [*args, "--scheduler", cluster.scheduler_address])
    assert remote.exit_code == local.exit_code, remote.output
    assert remote.stdout == local.stdout
    if "--json" in extra:
        files = {Path(f["file"]).name: f["valid"] for f in json.loads(remote.stdout)["files"]}
        assert files == {**{f"ok{i}.xml": True for i in range(5)}, "bad.xml": False}
    else:
        assert "6 files: 5 verified, 1 failed" in remote.stdout


def test_trust_is_shipped_once_per_worker(cluster: Any, root_pem: Path, envelope_dir: Path) -> None:
    trust = TrustStore.from_pem_files([root_pem])
    with distributed.Client(cluster.scheduler_address) as client, ClusterPool(client, trust=trust) as pool:
        who_has = client.who_has(pool._config)
        assert len(next(iter(who_has.values()))) == 2  # on both workers, before any task
        data = [(envelope_dir / f"ok{i}.xml").read_bytes() for i in range(4)]
        results = list(pool.verify_envelopes(data))
        assert [r.valid for r in results] == [True] * 4
        bodies = list(verify_stream(envelope_dir / "bad.xml", trust=trust, pool=pool, chunk=1))
        assert [b.valid for b in bodies] == [False]


def test_an_unreachable_scheduler_is_a_configuration_error(root_pem: Path) -> None:
    trust = TrustStore.from_pem_files([root_pem])
    with pytest.raises(ConfigurationError, match="cannot reach the Dask scheduler"):
        ClusterPool("tcp://127.0.0.1:9", trust=trust, connect_timeout=2)
