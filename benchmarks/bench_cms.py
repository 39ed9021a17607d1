"""Speed of ezhifu's voucher signatures (detached CMS) against the bare primitive, in one run.

Usage::

    python benchmarks/bench_cms.py [--rounds 15] [--bodies 50]

For RSA-2048/SHA-256, RSA-1024/SHA-1 (the deployed profile, legacy policy) and SM2/SM3, over a
4 KB Base64 voucher text, prints medians (ms per operation) of:

* ``sign_detached`` and ``verify_detached`` (CMS parse, signature, policy, chain to the root);
* the bare primitive: ``Signer.sign`` and ``ezhifu.pki.signer.verify_signature`` on the same bytes;
* the ratio CMS/primitive, i.e. what the CMS layer and the chain check cost on top;
* ``verify_envelope`` per body for an envelope of ``--bodies`` signed vouchers.

Times are medians of per-batch CPU time (``time.process_time``); the machine is shared and
noisy, which is why the reference primitive is timed in the same run.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import time
from collections.abc import Callable

from ezhifu.crypto import SignatureAlgorithm
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.signer import SoftwareSigner, verify_signature
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.sign import sign_detached, sign_envelope, verify_detached
from ezhifu.testing.pki import make_pki
from ezhifu.verify.envelope import verify_envelope

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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--bodies", type=int, default=50)
    args = parser.parse_args()
    data = base64.b64encode(os.urandom(3072))  # 4 KB of Base64 text, like a voucher
    print(f"{'profile':<18}{'op':<8}{'cms ms':>10}{'bare ms':>10}{'ratio':>8}")
    for kind, algorithm, policy in (
        ("rsa2048", SignatureAlgorithm.RSA_SHA256, VerifyPolicy()),
        ("rsa1024", SignatureAlgorithm.RSA_SHA1, VerifyPolicy.legacy()),
        ("sm2", SignatureAlgorithm.SM2_SM3, VerifyPolicy()),
    ):
        pki = make_pki(kind)
        signer = SoftwareSigner(pki.leaf_key, pki.leaf_cert, algorithm=algorithm, allow_weak=True)
        trust = TrustStore(roots=[pki.root_cert])
        der = sign_detached(data, signer)
        raw = signer.sign(data)
        assert verify_detached(der, data, trust=trust, policy=policy).valid
        label = f"{kind}/{algorithm.digest_name}"
        sign_cms = _median_ms(lambda: sign_detached(data, signer), args.rounds)  # noqa: B023
        sign_raw = _median_ms(lambda: signer.sign(data), args.rounds)  # noqa: B023
        ver_cms = _median_ms(lambda: verify_detached(der, data, trust=trust, policy=policy), args.rounds)  # noqa: B023
        ver_raw = _median_ms(
            lambda: verify_signature(pki.leaf_cert, data, raw, algorithm=algorithm),  # noqa: B023
            args.rounds,
        )
        print(f"{label:<18}{'sign':<8}{sign_cms:>10.3f}{sign_raw:>10.3f}{sign_cms / sign_raw:>8.2f}")
        print(f"{label:<18}{'verify':<8}{ver_cms:>10.3f}{ver_raw:>10.3f}{ver_cms / ver_raw:>8.2f}")
        envelope = Envelope.build([sample_voucher("5201", seed=i) for i in range(args.bodies)])
        sign_envelope(envelope, signer, "cz_dwfz")
        blob = envelope.to_bytes()
        per_body = (
            _median_ms(
                lambda: verify_envelope(blob, trust=trust, policy=policy),  # noqa: B023
                max(3, args.rounds // 5),
                batch=1,
            )
            / args.bodies
        )
        print(f"{label:<18}{'env/body':<8}{per_body:>10.3f}")


if __name__ == "__main__":
    main()
