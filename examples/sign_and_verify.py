"""Sign a voucher envelope with an SM2 key and verify it against the root certificate.

Run: python examples/sign_and_verify.py
The test PKI is generated on the fly (test and development only).
"""

from __future__ import annotations

from pathlib import Path

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing import make_pki
from ezhifu.verify import verify_envelope

pki = make_pki("sm2")  # root -> leaf, SM2 with SM3
envelope = Envelope.build([sample_voucher("8202", details=3)])

# A detached CMS signature over the exact Base64 text of <Voucher>, at position cz_dwfz.
sign_envelope(envelope, pki.signer(), "cz_dwfz")
Path("signed.xml").write_bytes(envelope.to_bytes())

# The receiver: read the bytes, trust only the root, secure default policy.
trust = TrustStore(roots=[pki.root_cert])
result = verify_envelope(Path("signed.xml").read_bytes(), trust=trust, policy=VerifyPolicy())
for body in result.bodies:
    for item in body.items:
        print(
            f"{body.vt_code} {body.voucher_no}: {item.kind} at {item.position}: "
            f"{'valid' if item.valid else 'INVALID: ' + str(item.reason)}"
        )
assert result.valid

# Relabel the envelope (the VoucherBody attributes are not signed): verification catches it.
tampered = Path("signed.xml").read_bytes().replace(b'VtCode="8202"', b'VtCode="5201"', 1)
relabelled = verify_envelope(tampered, trust=trust)
print(
    "relabelled envelope:",
    "valid" if relabelled.valid else "rejected: " + "; ".join(relabelled.bodies[0].reasons),
)
assert not relabelled.valid
