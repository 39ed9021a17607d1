"""Speed of ezhifu's seals against the bare SM2 primitive, in one run.

Usage::

    python benchmarks/bench_seal.py [--rounds 15]

For v1 (GM/T 0031-2014) and v4 (GB/T 38540-2020) SM2 seals with a 16 KB picture, over a 5201
voucher, prints medians (ms per operation) of:

* ``make_seal`` (build, maker signature, read-back) and ``verify_seal`` (parse, maker signature,
  chain to the root);
* ``apply_seal`` (maker-signature check, holder check, TBS_Sign, signature, read-back) and
  ``verify_stamp`` (every step of GB/T 38540-2020 clause 7.3 plus position and seal id);
* the bare primitive: ``Signer.sign`` and ``verify_signature`` over the same TBS_Sign bytes;
* the ratios apply/sign and verify_stamp/verify, i.e. what the seal layer costs on top (apply
  also verifies the maker's signature once; a stamp verification needs at least four SM2
  verifications: the signature, the maker's signature and one certificate link per chain).

Medians of per-batch CPU time (``time.process_time``); the machine is shared and noisy, which is
why the reference primitive is timed in the same run.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ezhifu.document.envelope import VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.signer import verify_signature
from ezhifu.pki.trust import TrustStore
from ezhifu.seal.apply import apply_seal
from ezhifu.seal.containers import parse_signature
from ezhifu.seal.make import make_seal
from ezhifu.seal.verify import verify_seal, verify_stamp
from ezhifu.testing.pki import make_pki

__all__ = ["main"]


def _median_ms(func: Callable[[], object], rounds: int, batch: int = 5) -> float:
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(batch):
            func()
        samples.append((time.process_time() - start) / batch * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    maker, holder = make_pki("sm2"), make_pki("sm2")
    trust = TrustStore([holder.root_cert], seal_makers=[maker.root_cert])  # anchors by purpose
    now = datetime.now(UTC)
    picture = b"GIF89a" + bytes(16 * 1024)
    body = VoucherBody.from_voucher(sample_voucher("5201", details=20))
    maker_signer, holder_signer = maker.signer(), holder.signer()
    print(f"{'version':8} {'operation':14} {'ms/op':>8}   reference")
    for version in ("v1", "v4"):

        def make(version: str = version) -> bytes:
            return make_seal(
                maker_signer,
                seal_id="BENCH0001",
                name="基准测试专用章",
                valid_from=now - timedelta(days=1),
                valid_to=now + timedelta(days=30),
                holder_certs=[holder.leaf_cert],
                picture=picture,
                picture_type="GIF",
                width_mm=42,
                height_mm=42,
                version=version,  # type: ignore[arg-type]
            )

        seal = make()

        def apply(seal: bytes = seal) -> None:
            body.stamps.clear()
            apply_seal(body, seal, holder_signer, "cz_dwgz")

        apply()
        stamp = body.stamps[0]
        tbs = parse_signature(base64.b64decode(stamp.value)).tbs_bytes
        signature = holder_signer.sign(tbs)

        t_make = _median_ms(make, args.rounds)
        t_vseal = _median_ms(lambda seal=seal: verify_seal(seal, trust=trust), args.rounds)
        t_apply = _median_ms(apply, args.rounds)
        t_vstamp = _median_ms(lambda stamp=stamp: verify_stamp(body, stamp, trust=trust), args.rounds)
        t_sign = _median_ms(lambda tbs=tbs: holder_signer.sign(tbs), args.rounds)
        t_verify = _median_ms(
            lambda tbs=tbs, sig=signature: verify_signature(holder.leaf_cert, tbs, sig), args.rounds
        )
        print(f"{version:8} {'make_seal':14} {t_make:8.2f}")
        print(f"{version:8} {'verify_seal':14} {t_vseal:8.2f}")
        print(
            f"{version:8} {'apply_seal':14} {t_apply:8.2f}   "
            f"x{t_apply / t_sign:.1f} of SM2 sign ({t_sign:.2f} ms)"
        )
        print(
            f"{version:8} {'verify_stamp':14} {t_vstamp:8.2f}   "
            f"x{t_vstamp / t_verify:.1f} of SM2 verify ({t_verify:.2f} ms)"
        )


if __name__ == "__main__":
    main()
