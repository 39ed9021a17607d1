"""Parse + validate throughput of a VtCode 5214 voucher with 100 details, in vouchers/s.

Measures, in the same run and on the same envelope bytes:

* parse: ``Envelope.from_bytes`` + the typed inner model (hardened lxml parser, strict Base64);
* fast path: ``ezhifu.is_valid`` (libxml2's C XSD validator + the rules beyond XSD);
* detailed path: ``iter_errors(engine="xmlschema")`` (xmlschema, every issue with path and line);
* auto: ``iter_errors()`` on a valid voucher (libxml2 says valid, xmlschema is skipped);

and prints the figures and the ratio of the xmlschema path to the libxml2 path. Timings are
printed, never asserted. Run: ``python benchmarks/bench_document.py [--seconds 2]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.document.validation import is_valid, iter_errors


def rate(func: Callable[[], object], seconds: float) -> float:
    func()  # warm up (schema build and caches)
    count = 0
    start = time.perf_counter()
    while True:
        func()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and count >= 3:
            return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--details", type=int, default=100)
    args = parser.parse_args()

    voucher = sample_voucher("5214", details=args.details)
    data = Envelope.build([voucher]).to_bytes()
    assert is_valid(data) and not list(iter_errors(data, engine="xmlschema"))

    def parse() -> None:
        Envelope.from_bytes(data).bodies[0].voucher  # noqa: B018

    def fast() -> None:
        assert is_valid(data)

    def detailed() -> None:
        assert not list(iter_errors(data, engine="xmlschema"))

    def auto() -> None:
        assert not list(iter_errors(data))

    print(f"5214 voucher, {args.details} details, envelope {len(data)} bytes")
    results = {}
    for name, func in (
        ("parse (Envelope + model)", parse),
        ("fast path is_valid (libxml2)", fast),
        ("detailed iter_errors (xmlschema)", detailed),
        ("iter_errors auto (libxml2 first)", auto),
    ):
        results[name] = rate(func, args.seconds)
        print(f"  {name:<34} {results[name]:9.1f} vouchers/s")
    ratio = results["fast path is_valid (libxml2)"] / results["detailed iter_errors (xmlschema)"]
    print(f"  libxml2 fast path is {ratio:.1f}x the xmlschema detailed path")


if __name__ == "__main__":
    main()
