"""Cost of the safe box against a bare signer, and of each keystore backend, in one run.

Usage::

    python benchmarks/bench_keystore.py [--rounds 15]

Prints medians (ms per operation, CPU time of the process, ``time.process_time``) of:

* ``sign_body`` with a bare ``SoftwareSigner`` (the reference) and ``SafeBox.sign`` with the
  same key (position table lookup, checks, lock, audit entry in SQLite) and their ratio;
* ``AuditLog.record`` alone (SQLite, ``synchronous=NORMAL``) and ``verify_audit`` per entry;
* ``Signer.sign`` (P-256, 200-byte message) for a memory key (reference) and a key on a
  SoftHSM2 token through PKCS#11 (only when ``softhsm2-util`` is installed), and the ratio;
* opening ofdrw's ``USER.p12`` (102,400-iteration SHA-1 MAC, RFC 7292 KDF in Python).

The machine is shared and noisy, which is why each reference is timed in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.flow.safebox import PositionTable, SafeBox
from ezhifu.keystore.audit import AuditLog, SQLiteAuditStorage, verify_audit
from ezhifu.keystore.memory import MemoryKeyStore
from ezhifu.keystore.pkcs12 import PKCS12KeyStore
from ezhifu.sign.voucher import sign_body
from ezhifu.testing.pki import make_pki

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent


def _median_ms(func: Callable[[], object], rounds: int, batch: int = 20) -> float:
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(batch):
            func()
        samples.append((time.process_time() - start) * 1000 / batch)
    return statistics.median(samples)


def _envelopes(count: int) -> list[Envelope]:
    base = sample_voucher("5201")
    return [Envelope.build([base.replace(VoucherNo=f"{base.voucher_no[:-5]}{i:05d}")]) for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rounds = args.rounds
    pki = make_pki("p256")
    workdir = Path(tempfile.mkdtemp(prefix="ezhifu-bench-"))

    store = MemoryKeyStore()
    store.add_key("head", pki.leaf_key, pki.chain)
    audit = AuditLog(
        SQLiteAuditStorage(workdir / "audit.db", synchronous="NORMAL"), b"benchmark audit key 32 bytes..."
    )
    box = SafeBox(
        store,
        PositionTable.from_mapping({"5201": {"cz_dwfz": {"kind": "signature", "alias": "head"}}}),
        audit=audit,
    )
    signer = store.signer("head")
    pool = iter(_envelopes(rounds * 20 * 2 + 10))

    bare = _median_ms(lambda: sign_body(next(pool).bodies[0], signer, "cz_dwfz"), rounds)
    boxed = _median_ms(lambda: box.sign(next(pool), "cz_dwfz"), rounds)
    print(f"sign_body, bare SoftwareSigner (P-256):  {bare:8.3f} ms")
    print(f"SafeBox.sign (checks, lock, audit):       {boxed:8.3f} ms   ratio {boxed / bare:5.2f}")

    record = _median_ms(lambda: audit.record("sign", "ok", alias="head", voucher_no="V"), rounds)
    count = len(audit.entries())
    start = time.process_time()
    verify_audit(audit.storage, b"benchmark audit key 32 bytes...")
    per_entry = (time.process_time() - start) * 1000 / count
    print(f"AuditLog.record (SQLite, NORMAL):         {record:8.3f} ms")
    print(f"verify_audit per entry ({count} entries):    {per_entry:8.3f} ms")

    message = b"m" * 200
    software = _median_ms(lambda: signer.sign(message), rounds)
    print(f"Signer.sign P-256, memory key:            {software:8.3f} ms")
    if shutil.which("softhsm2-util"):
        conf = workdir / "softhsm2.conf"
        (workdir / "tokens").mkdir()
        conf.write_text(f"directories.tokendir = {workdir / 'tokens'}\nobjectstore.backend = file\n")
        os.environ["SOFTHSM2_CONF"] = str(conf)
        subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                "bench",
                "--pin",
                "1234",
                "--so-pin",
                "5678",
            ],
            check=True,
            capture_output=True,
        )
        import pkcs11
        from pkcs11 import Attribute, KeyType, Mechanism
        from pkcs11.util.ec import encode_named_curve_parameters

        from ezhifu.keystore.pkcs11 import PKCS11KeyStore

        token = pkcs11.lib("/usr/lib/softhsm/libsofthsm2.so").get_token(token_label="bench")
        with token.open(rw=True, user_pin="1234") as session:
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
            )
            params.generate_keypair(id=b"\x01", label="ec", store=True, mechanism=Mechanism.EC_KEY_PAIR_GEN)
        with PKCS11KeyStore("/usr/lib/softhsm/libsofthsm2.so", "bench", "1234") as tokenstore:
            token_signer = tokenstore.signer("ec")
            hsm = _median_ms(lambda: token_signer.sign(message), rounds)
        print(f"Signer.sign P-256, SoftHSM2 PKCS#11:      {hsm:8.3f} ms   ratio {hsm / software:5.2f}")
    else:
        print("Signer.sign P-256, SoftHSM2 PKCS#11:      (softhsm2 not installed)")

    p12 = ROOT / "tests" / "conformance" / "ofdrw" / "USER.p12"
    opened = _median_ms(lambda: PKCS12KeyStore(p12, "777777").signer("private"), max(3, rounds // 3), batch=1)
    print(f"open ofdrw USER.p12 + decrypt key:        {opened:8.3f} ms")
    audit.close()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
