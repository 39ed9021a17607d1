"""Make a GB/T 38540 (v4) seal, apply it to a voucher, verify it and write the HTML view.

Run: python examples/seal_voucher.py   (then open sealed.html in a browser)
A seal made with a software key is for testing and development only: not legally effective.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ezhifu import SoftwareSigner
from ezhifu.cli.demo import seal_picture_png
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.trust import TrustStore
from ezhifu.report.html import write_envelope_html
from ezhifu.seal.apply import apply_seal
from ezhifu.seal.make import make_seal
from ezhifu.testing import make_pki
from ezhifu.verify import verify_envelope

pki = make_pki("sm2")
maker_cert, maker_key = pki.issue_leaf("example seal maker")
now = datetime.now(UTC)

# The seal maker (制章) makes a seal for the holder, with a picture of 42 x 42 mm.
seal = make_seal(
    SoftwareSigner(maker_key, maker_cert),
    seal_id="0123456789abcdef0123456789abcdef",
    name="示例单位公章（测试）",
    valid_from=now - timedelta(days=1),
    valid_to=now + timedelta(days=30),
    holder_certs=[pki.leaf_cert],
    picture=seal_picture_png(),
    width_mm=42,
    height_mm=42,
    version="v4",
)
Path("seal.der").write_bytes(seal)

# The holder applies it (签章) at position cz_dwgz of a 5214 voucher.
envelope = Envelope.build([sample_voucher("5214", details=2)])
stamp = apply_seal(envelope.bodies[0], seal, pki.signer(), "cz_dwgz")
print(f"stamped at {stamp.no} with seal {stamp.sn}")
data = envelope.to_bytes()
Path("sealed.xml").write_bytes(data)

# Anchors by purpose: the signers' root, and the seal maker's (here the same test root).
result = verify_envelope(data, trust=TrustStore(roots=[pki.root_cert], seal_makers=[pki.root_cert]))
item = result.bodies[0].items[0]
print(f"{item.kind} at {item.position}: {'valid' if item.valid else item.reason} ({item.seal_name})")
assert result.valid
write_envelope_html("sealed.html", data, result=result, source_name="sealed.xml")
print("wrote sealed.html")
