"""Bounded work on any input (issue 14 item 2): streaming memory, failure cost, limit cases.

Prints three tables:

1. **Streaming verification** of generated signed envelopes of 10 MB and 100 MB (1 GB with
   ``--gigabyte``): time per body and the peak RSS of the process that verified it (a fresh
   child per size, ``ru_maxrss``), against the same figures for a 1 MB envelope in the same run:
   flat memory means the ratio stays near 1 (the target is < 200 MB at every size).
2. **Failing vs valid bodies**: in-memory ``verify_envelope`` of an envelope of N bodies whose
   signatures were all made over another body's text (each one a diagnosis), against the same
   envelope signed correctly. Target ratio <= 2 (the diagnosis budget is per envelope).
3. **Limit cases** (docs/security.md "Limits"): each document, the named error it gets and the
   time, against validating the valid sample in the same run. Target < 2 s each.
4. **Many files in one run** (``--run-files N``): ``ezhifu verify DIR --json`` over N/10 and N
   copies of a 30-body envelope (hard links), stdout to /dev/null: the child's peak RSS and time
   per file. Each file's result is printed when done and not kept, so the RSS stays flat.

Run::

    python benchmarks/bench_limits.py [--gigabyte] [--sizes 10,100,1024] [--bodies 200] [--run-files 500]

``--sizes`` (MB, comma-separated) replaces the default 10 and 100 MB (``--sizes 1024`` alone is
the 1 GB run); each generated envelope is deleted as soon as it has been verified.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.document.validation import validate
from ezhifu.errors import EzhifuError
from ezhifu.pki.trust import TrustStore
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.pki import TestPKI, make_pki
from ezhifu.verify.envelope import verify_envelope
from ezhifu.verify.stream import iter_bodies, summarize, verify_stream

MB = 1024 * 1024
RSS_TARGET_MB = 200
_CHILD = """
import resource, sys, time
from ezhifu.pki.trust import TrustStore
from ezhifu.pki.certs import load_certificates
from ezhifu.verify.stream import verify_stream
roots = load_certificates(open(sys.argv[2], "rb").read())
start = time.perf_counter()
total = valid = 0
for result in verify_stream(sys.argv[1], trust=TrustStore(roots=roots)):
    total += 1
    valid += result.valid
elapsed = time.perf_counter() - start
print(total, valid, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _signed_body_bytes(pki: TestPKI) -> bytes:
    envelope = Envelope.build([sample_voucher("5201", details=3, seed=7)])
    sign_envelope(envelope, pki.signer(), "cz_dwfz")
    data = envelope.to_bytes("UTF-8")
    start = data.index(b"<VoucherBody")
    end = data.rindex(b"</VoucherBody>") + len(b"</VoucherBody>")
    return data[start:end] + b"\n"


def write_envelope(path: Path, body: bytes, size: int) -> int:
    """Write an envelope of about ``size`` bytes repeating one signed body; returns the count."""
    count = max(1, size // len(body))
    with path.open("wb") as out:
        out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<MOF>\n')
        out.write(f"<VoucherCount>{count}</VoucherCount>\n".encode())
        block = body * 256
        written = 0
        while written + 256 <= count:
            out.write(block)
            written += 256
        out.write(body * (count - written))
        out.write(b"</MOF>\n")
    return count


def stream_table(pki: TestPKI, root_pem: Path, sizes: list[int], workdir: Path) -> None:
    body = _signed_body_bytes(pki)
    print(f"1. streaming verification (one signed body of {len(body)} bytes repeated)")
    print(f"{'envelope':>10s} {'bodies':>8s} {'ms/body':>8s} {'peak RSS':>9s} {'RSS ratio':>9s}")
    reference_rss = 0.0
    for size in [1 * MB, *sizes]:
        path = workdir / f"env_{size}.xml"
        count = write_envelope(path, body, size)
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), str(root_pem)],
            capture_output=True,
            text=True,
            check=True,
        )
        total, valid, elapsed, rss_kb = child.stdout.split()
        assert int(total) == count == int(valid), child.stdout
        rss_mb = int(rss_kb) / 1024
        reference_rss = reference_rss or rss_mb
        print(
            f"{path.stat().st_size / MB:9.0f}M {count:8d} {float(elapsed) / count * 1000:8.2f} "
            f"{rss_mb:8.0f}M {rss_mb / reference_rss:9.2f}"
            + ("" if rss_mb < RSS_TARGET_MB else "  OVER TARGET")
        )
        path.unlink()


def failing_table(pki: TestPKI, n: int) -> None:
    vouchers = [sample_voucher("5201", seed=i) for i in range(n)]
    good = Envelope.build(vouchers)
    sign_envelope(good, pki.signer(), "cz_dwfz")
    bad = Envelope.from_bytes(good.to_bytes())
    texts = [b.voucher_b64 for b in bad.bodies]
    for i, body in enumerate(bad.bodies):  # every body carries the next body's text
        body.voucher_b64 = texts[(i + 1) % n]
    trust = TrustStore(roots=[pki.root_cert])
    good_bytes, bad_bytes = good.to_bytes(), bad.to_bytes()

    def run(data: bytes) -> tuple[float, bool]:
        start = time.perf_counter()
        result = verify_envelope(data, trust=trust)
        return time.perf_counter() - start, result.valid

    t_good, ok_good = min(run(good_bytes) for _ in range(2))
    t_bad, ok_bad = min(run(bad_bytes) for _ in range(2))
    assert ok_good and not ok_bad
    print(f"\n2. failing vs valid bodies, in memory, {n} bodies")
    print(f"   valid   {t_good:7.3f} s  ({t_good / n * 1000:.2f} ms/body)")
    print(
        f"   failing {t_bad:7.3f} s  ({t_bad / n * 1000:.2f} ms/body)   "
        f"ratio {t_bad / t_good:.2f} (target <= 2)"
    )
    streamed = {}
    for label, data in (("valid", good_bytes), ("failing", bad_bytes)):
        start = time.perf_counter()
        summary = summarize(verify_stream(io.BytesIO(data), trust=trust))
        streamed[label] = time.perf_counter() - start
        print(f"   {label}, streamed {streamed[label]:7.3f} s ({summary.invalid} invalid)")
    print(f"   streamed ratio {streamed['failing'] / streamed['valid']:.2f} (target <= 2)")


def _attributes(n: int) -> bytes:
    base = Envelope.build([sample_voucher("5201")]).to_bytes()
    return base.replace(b"<MOF>", b"<MOF " + b" ".join(b"a%d='1'" % i for i in range(n)) + b">", 1)


def _limit_cases() -> list[tuple[str, Callable[[], object]]]:
    valid = Envelope.build([sample_voucher("5201")]).to_bytes()
    hidden = valid.replace(
        b"</VoucherBody>",
        b"<Ext><VoucherBody AdmDivCode='1' StYear='2' VtCode='3' VoucherNo='4'/></Ext></VoucherBody>",
    )
    attrs = _attributes(50_000)
    long_attr = valid.replace(b"<MOF>", b"<MOF a='" + b"x" * (1 << 20) + b"'>", 1)
    deep = valid.replace(b"<Voucher>", b"<a>" * 300 + b"</a>" * 300 + b"<Voucher>", 1)
    many = Envelope.build([sample_voucher("5201", seed=i) for i in range(1200)])
    for body in many.bodies:
        body.extra_attributes = (("X", "1"),)
    many_bytes = many.to_bytes()
    many_valid = Envelope.build([sample_voucher("5201", seed=i) for i in range(1200)]).to_bytes()

    def dev_zero() -> object:
        with open("/dev/zero", "rb") as handle:
            return list(iter_bodies(handle))

    return [
        ("reference: validate the valid sample", lambda: validate(valid)),
        ("validate 50,000 attributes on <MOF>", lambda: validate(attrs)),
        ("stream 50,000 attributes on <MOF>", lambda: list(iter_bodies(io.BytesIO(attrs)))),
        ("validate a 1 MiB attribute", lambda: validate(long_attr)),
        ("read nesting 300 deep", lambda: Envelope.from_bytes(deep)),
        ("stream nesting 300 deep", lambda: list(iter_bodies(io.BytesIO(deep)))),
        ("read the hidden body in <Ext>", lambda: Envelope.from_bytes(hidden)),
        ("stream the hidden body in <Ext>", lambda: list(iter_bodies(io.BytesIO(hidden)))),
        ("stream /dev/zero", dev_zero),
        ("reference: validate 1,200 valid bodies", lambda: validate(many_valid)),
        ("validate 1,200 bodies, 1,200 issues", lambda: validate(many_bytes)),
    ]


def limits_table() -> None:
    print("\n3. limit cases (target < 2 s each)")
    reference = 0.0
    for name, call in _limit_cases():
        start = time.perf_counter()
        try:
            call()
            outcome = "accepted"
        except EzhifuError as exc:
            outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0][:60]}"
        elapsed = time.perf_counter() - start
        reference = reference or elapsed
        print(f"   {name:38s} {elapsed:7.3f} s  x{elapsed / reference:6.1f}  {outcome}")


#: ``ezhifu`` in a child that reports its own peak RSS (VmHWM: this process image only; Linux
#: carries ``ru_maxrss`` across ``execve``, docs/performance.md) on stderr when it exits.
_CLI_CHILD = """
import atexit, sys
def _hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("HWM " + line.split()[1] + "\\n")
atexit.register(_hwm)
from ezhifu.cli.main import main
sys.argv[0] = "ezhifu"
main()
"""


def _child_run(args: list[str]) -> tuple[float, float]:
    """Run ``ezhifu ARGS``, stdout discarded: (seconds, peak RSS in MB) of that child alone."""
    start = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", _CLI_CHILD, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - start
    assert child.returncode == 0, child.stderr
    (hwm,) = [line.split()[1] for line in child.stderr.splitlines() if line.startswith("HWM ")]
    return elapsed, int(hwm) / 1024


def run_table(pki: TestPKI, root_pem: Path, files: int, workdir: Path) -> None:
    envelope = Envelope.build([sample_voucher("5201", seed=i) for i in range(30)])
    sign_envelope(envelope, pki.signer(), "cz_dwfz")
    first = workdir / "one.xml"
    first.write_bytes(envelope.to_bytes())
    print(f"\n4. ezhifu verify DIR --json over many files ({first.stat().st_size} bytes, 30 bodies each)")
    print(f"{'files':>8s} {'s/file':>8s} {'peak RSS':>9s} {'RSS ratio':>9s}")
    reference = 0.0
    for count in (max(1, files // 10), files):
        folder = workdir / f"run{count}"
        folder.mkdir()
        for i in range(count):
            os.link(first, folder / f"e{i:05d}.xml")
        elapsed, rss = _child_run(["verify", str(folder), "--trust", str(root_pem), "--json"])
        reference = reference or rss
        print(f"{count:8d} {elapsed / count:8.3f} {rss:8.0f}M {rss / reference:9.2f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gigabyte", action="store_true", help="also stream a 1 GB envelope")
    parser.add_argument("--bodies", type=int, default=200, help="bodies of the failing/valid envelope")
    parser.add_argument("--sizes", help="envelope sizes in MB, comma-separated (default 10,100)")
    parser.add_argument("--skip-stream", action="store_true", help="only tables 2 and 3")
    parser.add_argument("--only-stream", action="store_true", help="only table 1")
    parser.add_argument("--run-files", type=int, default=0, help="table 4 over N files (0: skip)")
    parser.add_argument("--only-run", action="store_true", help="only table 4")
    args = parser.parse_args()
    pki = make_pki("sm2")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        root_pem = pki.write_pem(workdir)["root.pem"]
        if args.run_files:
            run_table(pki, root_pem, args.run_files, workdir)
        if args.only_run:
            return 0
        if not args.skip_stream:
            sizes = [int(s) * MB for s in args.sizes.split(",")] if args.sizes else [10 * MB, 100 * MB]
            sizes += [1024 * MB] if args.gigabyte and 1024 * MB not in sizes else []
            stream_table(pki, root_pem, sizes, workdir)
    if args.only_stream:
        return 0
    failing_table(pki, args.bodies)
    limits_table()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(this process: peak RSS {rss:.0f} MB, pid {os.getpid()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
