"""Validation levels and building from data (issue 15 items 1 and 4).

Times, on the same documents in the same run: ``is_valid`` and ``iter_errors`` of a 5201 envelope
(20 details) at the ``partner`` level (the reference: what every received voucher costs) and at
the ``strict`` level; the detailed report of the real-shaped 5214 at both levels (valid at
partner, three issues at strict); ``build_voucher`` of a 20-detail 5201 from data (which
includes its strict validation). Prints the median of N runs and the ratio to the reference.

    python benchmarks/bench_levels.py [--runs 30]
"""

from __future__ import annotations

import argparse
import base64
import statistics
import time
from collections.abc import Callable

from ezhifu.document.build import build_voucher
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.document.samples import sample_envelope_bytes
from ezhifu.document.validation import is_valid, iter_errors
from ezhifu.testing.partner import partner_5214_inner


def _median(func: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    envelope = sample_envelope_bytes("5201", details=20)
    b64 = base64.b64encode(partner_5214_inner()).decode("ascii")
    real = Envelope(
        bodies=[VoucherBody("420000", "2024", "5214", "W0024180000001", voucher_b64=b64)]
    ).to_bytes()
    data = {
        "AdmDivCode": "420100", "VouDate": "20240315", "VoucherNo": "V1", "AgencyCode": "205001",
        "PayeeAcctNo": "3202001109000012345", "PayeeAcctName": "武汉市第一中学",
        "DetailList": [{"PayAmt": f"{i}.50"} for i in range(20)],
    }  # fmt: skip
    cases: dict[str, Callable[[], object]] = {
        "is_valid 5201x20 partner (reference)": lambda: is_valid(envelope),
        "is_valid 5201x20 strict": lambda: is_valid(envelope, level="strict"),
        "iter_errors 5201x20 partner": lambda: list(iter_errors(envelope)),
        "iter_errors 5201x20 strict": lambda: list(iter_errors(envelope, level="strict")),
        "iter_errors real 5214 partner (0 issues)": lambda: list(iter_errors(real)),
        "iter_errors real 5214 strict (3 issues)": lambda: list(iter_errors(real, level="strict")),
        "build_voucher 5201x20 (+ strict check)": lambda: build_voucher("5201", data),
    }
    for func in cases.values():  # warm the schema caches
        func()
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):  # interleaved: load on the shared machine hits all alike
        for name, func in cases.items():
            results[name].append(_median(func, 1))
    ref = statistics.median(results["is_valid 5201x20 partner (reference)"])
    print(f"{'case':44} {'median ms':>10} {'x reference':>12}")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"{name:44} {med * 1000:10.2f} {med / ref:12.2f}")


if __name__ == "__main__":
    main()
