"""Throughput of verification as Dask tasks (issue 17 item 4, ezhifu.verify.cluster).

Builds N signed envelopes of B vouchers each (SM2, one test PKI), then verifies them all:
in this process (the reference, measured in the same run), and through ``ClusterPool`` on a
``LocalCluster`` of 1 and of 2 worker processes (one thread each), files as one task each.
Prints envelopes/s, vouchers/s and the ratio to the in-process run. Cluster start-up (with the
workers' imports) is not timed (a real archive run pays it once); shipping the trust
configuration is.

    python benchmarks/bench_dask.py [--files 200] [--bodies 5]
"""

from __future__ import annotations

import argparse
import importlib
import time

from distributed import Client, LocalCluster

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.trust import TrustStore
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.pki import make_pki
from ezhifu.verify.cluster import ClusterPool
from ezhifu.verify.envelope import verify_envelope


def _envelopes(files: int, bodies: int) -> tuple[TrustStore, list[bytes]]:
    pki = make_pki("sm2")
    out = []
    for f in range(files):
        envelope = Envelope.build([sample_voucher("5201", seed=f * bodies + b) for b in range(bodies)])
        sign_envelope(envelope, pki.signer(), "cz_dwfz")
        out.append(envelope.to_bytes())
    return TrustStore(roots=[pki.root_cert]), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--bodies", type=int, default=5)
    args = parser.parse_args()
    trust, data = _envelopes(args.files, args.bodies)
    vouchers = args.files * args.bodies

    start = time.perf_counter()
    assert all(verify_envelope(d, trust=trust).valid for d in data)
    local = time.perf_counter() - start
    rows = [("in this process (reference)", local)]
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            ) as cluster,
            Client(cluster) as client,
        ):
            # Worker start-up (importing ezhifu) is part of the cluster's, not timed.
            client.run(importlib.import_module, "ezhifu.verify.cluster")
            start = time.perf_counter()
            with ClusterPool(client, trust=trust) as pool:
                assert all(r.valid for r in pool.verify_envelopes(data))
            rows.append((f"LocalCluster, {workers} worker(s)", time.perf_counter() - start))
    print(f"{args.files} envelopes x {args.bodies} vouchers, SM2")
    print(f"{'run':32} {'s':>7} {'envelopes/s':>12} {'vouchers/s':>11} {'x reference':>12}")
    for name, seconds in rows:
        rate = f"{args.files / seconds:12.1f} {vouchers / seconds:11.1f}"
        print(f"{name:32} {seconds:7.2f} {rate} {local / seconds:12.2f}")


if __name__ == "__main__":
    main()
