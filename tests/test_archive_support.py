"""Builders shared by the archive tests (no tests here): a signed 8202 voucher, its signed 回单,
and an archiving party's key, all from throw-away test PKIs (``ezhifu.testing.make_pki``)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ezhifu.archive.container import build_zip
from ezhifu.archive.reader import read_members
from ezhifu.document.envelope import Envelope
from ezhifu.document.fields import spec_for
from ezhifu.document.samples import sample_voucher
from ezhifu.flow.receipts import build_receipt
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing.pki import TestPKI, make_pki

FINANCE_POSITION = "cz_dwfz"
BANK_POSITION = "yh_fz"


@dataclass
class Parties:
    finance: TestPKI
    bank: TestPKI
    archive: TestPKI

    @property
    def trust(self) -> TrustStore:
        return TrustStore(roots=[self.finance.root_cert, self.bank.root_cert])

    @property
    def archive_trust(self) -> TrustStore:
        return TrustStore(roots=[self.archive.root_cert])

    def archive_signer(self) -> SoftwareSigner:
        return self.archive.signer()


def make_parties(*, finance_not_after: datetime | None = None) -> Parties:
    return Parties(
        finance=make_pki("sm2", not_after=finance_not_after, subject_prefix="测试财政"),
        bank=make_pki("sm2", subject_prefix="测试代理银行"),
        archive=make_pki("sm2", subject_prefix="测试档案"),
    )


def _x_values(vt_code: str, *, detail: bool, index: int = 0) -> dict[str, str]:
    spec = spec_for(vt_code)
    assert spec is not None
    fields = spec.detail if detail else spec.header
    today = datetime.now(UTC).strftime("%Y%m%d")
    values: dict[str, str] = {}
    for field in fields:
        if not field.x_field:
            continue
        name = field.name
        if name.endswith("Date"):
            values[name] = today
        elif name.endswith("Amt"):
            values[name] = "0.00"  # replaced below by the paid amount
        elif name == "XAddWord":
            continue
        else:
            values[name] = f"{name[1:]}-{index}"
    return values


def signed_pair(parties: Parties, *, details: int = 2, seed: int = 7) -> tuple[bytes, bytes]:
    """A signed 8202 envelope (by the finance bureau) and the signed 回单 answering it (by the bank)."""
    voucher = sample_voucher("8202", details=details, seed=seed)
    envelope = Envelope.build([voucher])
    sign_envelope(envelope, parties.finance.signer(), FINANCE_POSITION)
    original = envelope.bodies[0]
    header = _x_values("8202", detail=False)
    header["XPayAmt"] = voucher.get("PayAmt") or "0.00"
    rows = []
    for index, row in enumerate(voucher.details):
        values = _x_values("8202", detail=True, index=index)
        values["XPayAmt"] = row.get("PayAmt") or "0.00"
        rows.append(values)
    receipt_body = build_receipt(original, fields=header, details=rows)
    receipt = Envelope.build([receipt_body], voucher_flag="1")
    sign_envelope(receipt, parties.bank.signer(), BANK_POSITION)
    return envelope.to_bytes(), receipt.to_bytes()


def rezip(data: bytes, changes: dict[str, bytes | None]) -> bytes:
    """The package with members replaced (``None`` removes one), re-zipped as ezhifu writes it."""
    members = read_members(data)
    for name, value in changes.items():
        if value is None:
            members.pop(name, None)
        else:
            members[name] = value
    return build_zip(members)


def flip_byte(data: bytes, offset: int = -1) -> bytes:
    """``data`` with one byte changed (XOR 0x01)."""
    buf = bytearray(data)
    buf[offset] ^= 0x01
    return bytes(buf)


def raw_zip(entries: list[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip written without ezhifu's checks (for hostile inputs)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


LATER = timedelta(days=3650)


def sm2_crl(pki: TestPKI, revoked: list[int] | None = None, *, days: int = 7) -> bytes:
    """A DER CRL of ``pki``'s root (SM2-with-SM3), listing ``revoked`` serials."""
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509

    now = datetime.now(UTC).replace(microsecond=0)
    algorithm = {"algorithm": "1.2.156.10197.1.501"}
    tbs = asn1_crl.TbsCertList(
        {
            "version": "v2",
            "signature": algorithm,
            "issuer": pki.root_cert.subject,
            "this_update": x509.Time({"utc_time": now - timedelta(hours=1)}),
            "next_update": x509.Time({"utc_time": now + timedelta(days=days)}),
            "revoked_certificates": [
                {
                    "user_certificate": serial,
                    "revocation_date": x509.Time({"utc_time": now - timedelta(minutes=30)}),
                }
                for serial in (revoked or [])
            ],
        }
    )
    signature = SoftwareSigner(pki.root_key).sign(tbs.dump())
    return bytes(
        asn1_crl.CertificateList(
            {"tbs_cert_list": tbs, "signature_algorithm": algorithm, "signature": signature}
        ).dump()
    )
