"""What recording every key use costs: an audited SM2 signature against the bare one, in one run.

Usage::

    python benchmarks/bench_audit.py [--rounds 9] [--entries 2000]

Prints medians (ms per signature, wall clock: the trail's cost is mostly fsync) of:

* the bare primitive: ``Signer.sign`` of a 4 KB message with an SM2 key (the reference);
* the same signer from a keystore with an audit trail attached: in memory; SQLite with
  ``synchronous=NORMAL`` and no head file; SQLite ``FULL`` (the default) with no head file;
  SQLite ``FULL`` with the head file (the default of ``open_audit`` and of the ``audit``
  configuration keys);
* each as a ratio to the bare signature;
* ``verify_audit`` of a trail of ``--entries`` entries against its head file, µs per entry.

The machine is shared and noisy, which is why the reference is timed in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ezhifu.keystore.audit import AuditLog, MemoryAuditStorage, SQLiteAuditStorage, verify_audit
from ezhifu.keystore.audit_head import read_head_file
from ezhifu.keystore.memory import MemoryKeyStore
from ezhifu.testing.pki import make_pki

__all__ = ["main"]

KEY = b"benchmark audit key, 32 bytes..."
MESSAGE = b"x" * 4096


def _median_ms(func: Callable[[], object], rounds: int, batch: int = 20) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batch):
            func()
        samples.append((time.perf_counter() - start) * 1000 / batch)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--entries", type=int, default=2000)
    args = parser.parse_args()
    pki = make_pki("sm2")
    workdir = Path(tempfile.mkdtemp(prefix="ezhifu-bench-audit-"))
    try:
        bare = pki.signer()
        reference = _median_ms(lambda: bare.sign(MESSAGE), args.rounds)
        print(f"{'SM2 sign, bare (reference)':<44} {reference:8.3f} ms   1.00x")
        logs = {
            "audited, memory trail": AuditLog(MemoryAuditStorage(), KEY),
            "audited, SQLite NORMAL, no head file": AuditLog(
                SQLiteAuditStorage(workdir / "normal.db", synchronous="NORMAL"), KEY
            ),
            "audited, SQLite FULL, no head file": AuditLog(SQLiteAuditStorage(workdir / "full.db"), KEY),
            "audited, SQLite FULL + head file (default)": AuditLog(
                SQLiteAuditStorage(workdir / "head.db"), KEY, head_file=True
            ),
        }
        for label, log in logs.items():
            store = MemoryKeyStore()
            store.add_key("k", pki.leaf_key, pki.chain)
            store.attach_audit(log)
            signer = store.signer("k")
            ms = _median_ms(lambda signer=signer: signer.sign(MESSAGE), args.rounds)  # type: ignore[misc]
            print(f"{label:<44} {ms:8.3f} ms {ms / reference:6.2f}x")
            store.close()
        trail = logs["audited, SQLite FULL + head file (default)"]
        while len(trail.entries()) < args.entries:
            trail.record("key-use", "ok", alias="k", reason="bench")
        anchor = read_head_file(workdir / "head.db.head", KEY)
        anchors = [anchor] if anchor is not None else []
        start = time.perf_counter()
        report = verify_audit(trail.storage, KEY, anchors=anchors)
        elapsed = time.perf_counter() - start
        per_entry = elapsed * 1e6 / report.count
        print(f"{'verify_audit with the head file':<44} {per_entry:8.1f} µs/entry ({report.count} entries)")
        for log in logs.values():
            log.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
