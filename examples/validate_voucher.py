"""Validate vouchers: a good 5201 envelope passes, a damaged voucher lists every issue.

Run: python examples/validate_voucher.py
"""

from __future__ import annotations

from pathlib import Path

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.document.validation import iter_errors, validate
from ezhifu.errors import SchemaValidationError

# A valid 5201 财政直接支付凭证 with two detail rows, wrapped in a <MOF> envelope.
voucher = sample_voucher("5201", details=2)
envelope = Envelope.build([voucher])
data = envelope.to_bytes()
Path("envelope.xml").write_bytes(data)
validate(data)  # raises SchemaValidationError with every issue when invalid
print(
    f"envelope.xml: valid ({voucher.vt_code} VoucherNo {voucher.voucher_no}, PayAmt {voucher.get('PayAmt')})"
)

# The same voucher with a bad date and an amount written with a comma.
broken = voucher.to_xml()
broken = broken.replace(
    f"<VouDate>{voucher.get('VouDate')}</VouDate>".encode(), b"<VouDate>20241345</VouDate>"
)
broken = broken.replace(f"<PayAmt>{voucher.get('PayAmt')}</PayAmt>".encode(), b"<PayAmt>1,00</PayAmt>", 1)
issues = list(iter_errors(broken))
print(f"broken voucher: {len(issues)} issue(s)")
for issue in issues:
    print(f"  - {issue}")
try:
    validate(broken)
except SchemaValidationError as exc:
    assert len(exc.issues) == len(issues) > 0
