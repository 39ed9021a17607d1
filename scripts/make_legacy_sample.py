#!/usr/bin/env python3
"""Make the shipped legacy sample: ``samples/legacy/envelope.xml`` and ``samples/legacy/root.pem``.

A 5214 envelope shaped like the public 2024 Hubei messages (spec.md §4.4: their element order,
``0`` amounts; the envelope as in spec.md §2.1, ``VoucherNo`` attribute first) signed the way
those messages are (spec.md §5.3/§5.4): RSA-1024 key, SHA-1 digest, detached CMS without signed
attributes, at position ``cz_dwfz``. The keys are a throwaway test PKI (ezhifu.testing.make_pki),
certificates valid until 2045, the private keys are not kept. Test material only: nothing here
has any legal effect.

    python scripts/make_legacy_sample.py [OUT_DIR]     # default samples/legacy

What it is for (docs/getting-started.md): ``ezhifu validate`` accepts it at the partner level and
``--strict`` reports its ``0`` amounts; ``ezhifu verify`` refuses it under the default policy
(SHA-1 and RSA-1024) and accepts it with ``--policy legacy``.
"""

from __future__ import annotations

import base64
import sys
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import pem

from ezhifu._fileio import atomic_write
from ezhifu.crypto.base import SignatureAlgorithm
from ezhifu.document.envelope import Envelope, VoucherBody
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.partner import PARTNER_5214_VALUES, partner_5214_inner
from ezhifu.testing.pki import make_pki

REPO = Path(__file__).resolve().parents[1]


def make(out_dir: Path) -> tuple[Path, Path]:
    pki = make_pki(
        "rsa1024",
        not_before=datetime(2024, 1, 1, tzinfo=UTC),
        not_after=datetime(2045, 12, 31, tzinfo=UTC),
        subject_prefix="ezhifu legacy sample",
    )
    values = PARTNER_5214_VALUES
    body = VoucherBody(
        adm_div_code=values["AdmDivCode"],
        st_year=values["StYear"],
        vt_code=values["VtCode"],
        voucher_no=values["VoucherNo"],
        voucher_flag="0",
        voucher_b64=base64.b64encode(partner_5214_inner()).decode("ascii"),
        attribute_order=("VoucherNo", "AdmDivCode", "StYear", "VtCode"),
    )
    envelope = Envelope(bodies=[body], declared_count="1")
    signer = SoftwareSigner(
        pki.leaf_key, pki.leaf_cert, algorithm=SignatureAlgorithm.RSA_SHA1, allow_weak=True
    )
    sign_envelope(envelope, signer, "cz_dwfz")
    out_dir.mkdir(parents=True, exist_ok=True)
    envelope_path, root_path = out_dir / "envelope.xml", out_dir / "root.pem"
    atomic_write(envelope_path, envelope.to_bytes(), mode=0o644)
    atomic_write(root_path, pem.armor("CERTIFICATE", pki.root_cert.dump()), mode=0o644)
    return envelope_path, root_path


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else REPO / "samples" / "legacy"
    for path in make(out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
