"""Archive a voucher and its 回单 as a DA/T 95 package, check it (四性), refuse a second booking,
and re-validate it after the signer's certificate has expired.

Run: python examples/archive_voucher.py
The test PKIs are generated on the fly (test and development only). See docs/archive.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ezhifu.archive import Registry, check_package, revalidate_package, write_package
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import DuplicateBooking
from ezhifu.flow.receipts import build_receipt
from ezhifu.pki.trust import TrustStore
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing import make_pki

now = datetime.now(UTC).replace(microsecond=0)
finance = make_pki("sm2", not_after=now + timedelta(days=2), subject_prefix="财政")  # expires soon
bank, archive = make_pki("sm2", subject_prefix="代理银行"), make_pki("sm2", subject_prefix="档案室")

# The 8202 voucher signed by the finance bureau, and the bank's 回单 with the X-fields filled.
voucher = sample_voucher("8202", details=1)
envelope = Envelope.build([voucher])
sign_envelope(envelope, finance.signer(), "cz_dwfz")
paid = {
    "XPayDate": now.strftime("%Y%m%d"),
    "XAgentBusinessNo": "TX0001",
    "XPayAmt": voucher.get("PayAmt") or "",
}
payee = {
    "XPayeeAcctBankName": "中国工商银行武汉分行",
    "XPayeeAcctNo": "6222000011112222",
    "XPayeeAcctName": "武汉市第一中学",
}
header = {**paid, **payee, "XFundDealModeCode": "2", "XFundDealModeName": "自助柜面"}
detail = {**paid, **payee, "XPayAmt": voucher.details[0].get("PayAmt") or ""}
answer = Envelope.build(
    [build_receipt(envelope.bodies[0], fields=header, details=[detail])], voucher_flag="1"
)
sign_envelope(answer, bank.signer(), "yh_fz")

trust = TrustStore(roots=[finance.root_cert, bank.root_cert])
with Registry("bookings.sqlite") as registry:
    package = write_package(
        "package.zip",
        envelope.to_bytes(),
        answer.to_bytes(),
        registry=registry,
        trust=trust,
        signer=archive.signer(),
    )
    print(f"wrote package.zip: package {package.package_id}")
    try:
        write_package(
            "again.zip",
            envelope.to_bytes(),
            answer.to_bytes(),
            registry=registry,
            trust=trust,
            signer=archive.signer(),
        )
    except DuplicateBooking:
        print("second booking refused")

archive_root = TrustStore(roots=[archive.root_cert])
report = check_package(Path("package.zip").read_bytes(), archive_trust=archive_root)
for item in report.items:
    print(f"  {item.quality:9} {item.name:24} {item.outcome:4} {item.reason[:70]}")
print("check:", "all passed" if report.ok else "FAILED")

# Thirty days on, the finance certificate has expired: valid as of the evidence time, not today.
later = revalidate_package(
    Path("package.zip").read_bytes(), archive_trust=archive_root, now=now + timedelta(days=30)
)
first = later.envelopes[0]
print(
    f"revalidated: as of evidence time {'valid' if first.as_of.valid else 'INVALID'}, "
    f"today {'valid' if first.today.valid else 'invalid (expired)'}"
)
assert report.ok and later.valid and not first.today.valid
