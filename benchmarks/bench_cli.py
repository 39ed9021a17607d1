"""Start-up of the command line (issue 15 item 6, issue 17 item 2).

Times ``ezhifu --version``, ``ezhifu --help`` and ``ezhifu verify --help`` as whole processes, and
the reference in the same run: ``python -c pass`` (the interpreter's own start-up, which no CLI
can beat) and ``python -c "import click"``. Prints the median of N runs and the ratio to the
interpreter start-up.

    python benchmarks/bench_cli.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

EZHIFU = str(Path(sys.executable).with_name("ezhifu"))


def _median(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    cases = {
        "python -c pass (reference)": [sys.executable, "-c", "pass"],
        "python -c 'import click'": [sys.executable, "-c", "import click"],
        "ezhifu --version": [EZHIFU, "--version"],
        "ezhifu --help": [EZHIFU, "--help"],
        "ezhifu verify --help": [EZHIFU, "verify", "--help"],
    }
    # Interleave the cases so that load on this shared machine hits them alike.
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, cmd in cases.items():
            results[name].append(_median(cmd, 1))
    ref = statistics.median(results["python -c pass (reference)"])
    print(f"{'command':32} {'median s':>9} {'x python start-up':>18}")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"{name:32} {med:9.3f} {med / ref:18.2f}")


if __name__ == "__main__":
    main()
