"""Time and memory of every hostile-input case (issue 9: each answered in bounded time).

For each case of ``tests/hostile/corpus.py`` this prints the wall time of the call (payload
construction excluded), the peak traced Python memory, the error class and the first words of
the message, then the slowest case against the 2 s budget. Run::

    python benchmarks/bench_hostile.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "hostile"))

from corpus import build_corpus

from ezhifu.document.envelope import Envelope
from ezhifu.document.validation import validate
from ezhifu.errors import EzhifuError
from ezhifu.pki.keys import load_certificate, load_private_key
from ezhifu.seal.containers import parse_seal

TARGETS = {
    "envelope": Envelope.from_bytes,
    "validate": validate,
    "seal": parse_seal,
    "key": load_private_key,
    "certificate": load_certificate,
}
BUDGET_S = 2.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (the best is kept)")
    args = parser.parse_args()
    rows = []
    for case in build_corpus():
        data = case.make()
        best = float("inf")
        peak = 0
        outcome = "accepted (!)"
        for _ in range(args.repeat):
            tracemalloc.start()
            start = time.perf_counter()
            try:
                TARGETS[case.target](data)
            except EzhifuError as exc:
                outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0][:70]}"
            elapsed = time.perf_counter() - start
            peak = max(peak, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            best = min(best, elapsed)
        rows.append((case.name, len(data), best, peak, outcome))
    print(f"{'case':32s} {'input':>10s} {'time':>9s} {'peak mem':>10s}  outcome")
    for name, size, elapsed, peak, outcome in rows:
        print(f"{name:32s} {size:>10,d} {elapsed * 1000:>7.1f}ms {peak / 1e6:>8.1f}MB  {outcome}")
    slowest = max(rows, key=lambda r: r[2])
    ratio = slowest[2] / BUDGET_S
    print(f"\nslowest: {slowest[0]} {slowest[2]:.3f} s = {ratio:.2f} x the {BUDGET_S:.0f} s budget")
    accepted = [r[0] for r in rows if r[4].startswith("accepted")]
    if accepted:
        print(f"NOT REFUSED: {', '.join(accepted)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
