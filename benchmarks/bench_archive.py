"""Archive packages: the cost of create, check and revalidate (issue 19 items 3 and 4).

Prints, each measured in this run, the median CPU time of this process over ``--rounds`` for a
signed 8202 voucher with its signed 回单 (``--details`` rows each):

* the reference: ``verify_envelope`` of the voucher and of the receipt (what any archiving must
  at least do);
* ``create_package`` (verification, evidence, rendition, metadata, manifest, CMS signature, zip),
  ``check_package`` (all 四性 items, including re-verification) and ``revalidate_package``,
  each with its ratio to the reference;
* the package size against the two envelopes' size.

Usage: ``python benchmarks/bench_archive.py [--rounds N] [--details N]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from ezhifu.archive import check_package, create_package, revalidate_package
from ezhifu.verify import verify_envelope
from test_archive_support import make_parties, signed_pair


def _median_cpu(func: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.process_time()
        func()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--details", type=int, default=10)
    args = parser.parse_args()
    parties = make_parties()
    envelope, receipt = signed_pair(parties, details=args.details)
    trust, archive_trust, signer = parties.trust, parties.archive_trust, parties.archive_signer()
    package = create_package(envelope, receipt, trust=trust, signer=signer).data

    def reference() -> None:
        verify_envelope(envelope, trust=trust)
        verify_envelope(receipt, trust=trust)

    base = _median_cpu(reference, args.rounds)
    print(f"voucher 8202 with {args.details} details and its receipt; median CPU of {args.rounds} rounds")
    print(f"reference verify_envelope x2      {base * 1000:8.2f} ms")
    for name, func in (
        ("create_package", lambda: create_package(envelope, receipt, trust=trust, signer=signer)),
        ("check_package", lambda: check_package(package, archive_trust=archive_trust)),
        ("revalidate_package", lambda: revalidate_package(package, archive_trust=archive_trust)),
    ):
        cost = _median_cpu(func, args.rounds)
        print(f"{name:34} {cost * 1000:8.2f} ms   {cost / base:5.1f}x the reference")
    print(
        f"package size {len(package)} bytes for {len(envelope) + len(receipt)} bytes of envelopes "
        f"({len(package) / (len(envelope) + len(receipt)):.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
