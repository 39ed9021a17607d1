"""SM2 / SM3 speed of ezhifu's providers against `openssl speed` and gmssl, in one run.

Usage::

    python benchmarks/bench_sm2.py [--seconds 3] [--rounds 15]

Prints medians (ms per operation) for sign and verify with both ezhifu providers ("openssl"
over ctypes and "python"), with the gmssl package (sign_with_sm3 / verify_with_sm3, nonce from
`secrets`), and the `openssl speed -seconds N sm2` figures measured in the same run, plus the
ratios provider/openssl-speed and gmssl/provider. SM3 throughput for 1 MB is compared with
`openssl speed -evp sm3 -bytes 1048576`.

The message is 20 bytes, as in `openssl speed sm2`; a 2 KB message (the size used in
../shared/reference/backends.md) and the Base64 text of a real 5201 voucher (about 6 KB, what
ezhifu signs and verifies in practice) are also timed. All ezhifu times include Z_A and
e = SM3(Z_A || M). Timings are medians over batches of the process's CPU time, the same measure
`openssl speed` uses by default (CPU user time; `-elapsed` would switch it to wall time). The
machine is shared and noisy, so the `openssl speed sm2` runs are interleaved with the ezhifu
OpenSSL-provider timings and the reference is the median of those runs.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable

from ezhifu.crypto import sm2
from ezhifu.crypto.sm2.python import NonConstantTimeWarning
from ezhifu.crypto.sm3 import sm3, sm3_backend

__all__ = ["main"]


def samples_ms(func: Callable[[], object], *, batch: int, rounds: int) -> list[float]:
    """Per-call CPU time (ms) of *batch* calls, measured *rounds* times.

    CPU time of this process, like `openssl speed`, which divides by CPU user time unless
    given -elapsed: on a shared machine wall-clock figures mostly measure the other load.
    """
    func()  # warm caches (tables, EVP_PKEY)
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(batch):
            func()
        samples.append((time.process_time() - start) / batch * 1e3)
    return samples


def median_ms(func: Callable[[], object], *, batch: int, rounds: int) -> float:
    """Median over *rounds* of the per-call time (ms) of *batch* calls."""
    return statistics.median(samples_ms(func, batch=batch, rounds=rounds))


def openssl_speed_sm2(seconds: int) -> tuple[float, float]:
    """(sign ms, verify ms) parsed from `openssl speed -seconds N sm2`."""
    out = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), "sm2"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"SM2 \(CurveSM2\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", out)
    if not match:
        raise SystemExit(f"cannot parse `openssl speed sm2` output:\n{out}")
    return 1e3 / float(match.group(1)), 1e3 / float(match.group(2))


def openssl_speed_sm3(seconds: int) -> float:
    """MB/s (10^6 bytes) from `openssl speed -evp sm3 -bytes 1048576`."""
    out = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), "-evp", "sm3", "-bytes", "1048576"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"^sm3\s+([\d.]+)k", out, re.MULTILINE)
    if not match:
        raise SystemExit(f"cannot parse `openssl speed -evp sm3` output:\n{out}")
    return float(match.group(1)) / 1e3


def provider_samples(
    name: str, message: bytes, rounds: int, *, fresh_public: bool = False
) -> tuple[list[float], list[float]]:
    """Per-batch ms/op samples for sign and verify with ezhifu provider *name*.

    With *fresh_public* every verification uses a new SM2PublicKey object, so no per-key
    precomputation survives between calls (the cost of verifying a key seen once).
    """
    sm2.use_provider(name)
    key = sm2.SM2PrivateKey.generate()
    point = key.public_key().encoded_point
    public = sm2.SM2PublicKey.from_encoded_point(point)
    signature = key.sign(message)
    public.verify(signature, message)
    batch = 100 if name == "openssl" else 20

    def verify() -> None:
        target = sm2.SM2PublicKey.from_encoded_point(point) if fresh_public else public
        target.verify(signature, message)

    return (
        samples_ms(lambda: key.sign(message), batch=batch, rounds=rounds),
        samples_ms(verify, batch=batch, rounds=rounds),
    )


def bench_provider(
    name: str, message: bytes, rounds: int, *, fresh_public: bool = False
) -> tuple[float, float]:
    sign, verify = provider_samples(name, message, rounds, fresh_public=fresh_public)
    return statistics.median(sign), statistics.median(verify)


def bench_gmssl(message: bytes, rounds: int) -> tuple[float, float]:
    from gmssl import sm2 as gm  # the independent reference, never ezhifu's backend

    sm2.use_provider("openssl")
    key = sm2.SM2PrivateKey.generate()
    point = key.public_key().encoded_point
    crypt = gm.CryptSM2(private_key=f"{key.private_value:064x}", public_key=point[1:].hex())
    # gmssl lstrip("04")s any key starting with "04" (also an unprefixed X beginning with 04):
    # set the 128-hex X||Y directly.
    crypt.public_key = point[1:].hex()

    def sign() -> str:
        k = f"{secrets.randbelow(sm2.SM2_N - 1) + 1:064x}"  # gmssl's own default k uses `random`
        return str(crypt.sign_with_sm3(message, k))

    signature = sign()
    if not crypt.verify_with_sm3(signature, message):
        raise SystemExit("gmssl did not verify its own signature")
    return (
        median_ms(sign, batch=3, rounds=rounds),
        median_ms(lambda: crypt.verify_with_sm3(signature, message), batch=3, rounds=rounds),
    )


def bench_sm3(rounds: int) -> float:
    data = secrets.token_bytes(1 << 20)
    ms = median_ms(lambda: sm3(data), batch=5, rounds=rounds)
    return (1 << 20) / (ms / 1e3) / 1e6


def voucher_text() -> bytes:
    from ezhifu.document.envelope import Envelope
    from ezhifu.document.samples import sample_voucher

    body = Envelope.build([sample_voucher("5201", details=1)]).bodies[0]
    return body.voucher_b64.encode("ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=3, help="duration of each `openssl speed` run")
    parser.add_argument("--speed-runs", type=int, default=3, help="interleaved `openssl speed sm2` runs")
    parser.add_argument("--rounds", type=int, default=15, help="timed batches per median")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", NonConstantTimeWarning)

    reason = sm2.available_providers()["openssl"]
    if reason is not None:
        raise SystemExit(f"the openssl provider is unavailable: {reason}")
    print(f"python {sys.version.split()[0]}; SM3 from {sm3_backend()}; load {os.getloadavg()[0]:.2f}")

    # `openssl speed sm2` signs 20-byte messages. Its runs are interleaved with the ezhifu
    # OpenSSL provider (20 B and 2 KB messages) so that both see the same machine load.
    messages = {
        "20 B": secrets.token_bytes(20),
        "2 KB": secrets.token_bytes(2048),
        # What ezhifu really signs: the Base64 text of a 5201 voucher with one detail (~6 KB).
        "voucher": voucher_text(),
    }
    ref: list[tuple[float, float]] = []
    ours: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label in messages}
    for run in range(args.speed_runs):
        print(f"run {run + 1}/{args.speed_runs}: openssl speed -seconds {args.seconds} sm2 ...", flush=True)
        ref.append(openssl_speed_sm2(args.seconds))
        for label, message in messages.items():
            sign_samples, verify_samples = provider_samples("openssl", message, args.rounds)
            ours[label][0].extend(sign_samples)
            ours[label][1].extend(verify_samples)
    ref_sign = statistics.median(r[0] for r in ref)
    ref_verify = statistics.median(r[1] for r in ref)

    results: dict[str, dict[str, tuple[float, float]]] = {}
    for label, message in messages.items():
        print(f"{label}: python provider and gmssl ...", flush=True)
        sign_samples, verify_samples = ours[label]
        results[label] = {
            "ezhifu openssl": (statistics.median(sign_samples), statistics.median(verify_samples)),
            "ezhifu python": bench_provider("python", message, args.rounds),
            "python, new key": bench_provider("python", message, args.rounds, fresh_public=True),
            "gmssl 3.2": bench_gmssl(message, max(5, args.rounds // 3)),
        }
    sm2.use_provider("auto")

    print()
    print(f"openssl speed -seconds {args.seconds} sm2, ms/op per run (median):")
    print("  sign   " + " ".join(f"{r[0]:.3f}" for r in ref) + f"   ({ref_sign:.3f})")
    print("  verify " + " ".join(f"{r[1]:.3f}" for r in ref) + f"   ({ref_verify:.3f})")
    for label, rows in results.items():
        print()
        print(f"SM2 with SM3, {label} message, median CPU ms/op (Z_A and e included)")
        print(f"  {'implementation':<17}{'sign':>8}{'verify':>9}{'sign/openssl':>14}{'verify/openssl':>16}")
        for name, (sign, verify) in rows.items():
            ratios = f"{sign / ref_sign:>13.2f}x{verify / ref_verify:>15.2f}x"
            print(f"  {name:<17}{sign:>8.3f}{verify:>9.3f}{ratios}")
        gm_sign, gm_verify = rows["gmssl 3.2"]
        for name in ("ezhifu openssl", "ezhifu python"):
            sign, verify = rows[name]
            print(f"  gmssl / {name}: sign {gm_sign / sign:.1f}x, verify {gm_verify / verify:.1f}x")
    print()
    print("('ezhifu python' verifies with one key object, which builds a per-key table after 8 uses;")
    print(" 'python, new key' verifies with a new public key object each time.)")

    print()
    print(f"openssl speed -seconds {args.seconds} -evp sm3 -bytes 1048576 ...", flush=True)
    ref_sm3 = openssl_speed_sm3(args.seconds)
    ours_sm3 = bench_sm3(args.rounds)
    print(f"SM3, 1 MB: ezhifu sm3() {ours_sm3:.0f} MB/s; openssl speed {ref_sm3:.0f} MB/s", end="")
    print(f"; ratio openssl/ezhifu {ref_sm3 / ours_sm3:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
