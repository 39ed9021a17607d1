"""The vendor stamp of 2024 treasury messages (spec.md §5.4), built here with an RSA-1024 test PKI.

The layout and what its PKCS#7 signs (Base64 text || signTime || seal DER) are those recorded in
spec.md §5.4 from the public 2024 Hubei test messages; the keys are generated at test time.
"""

from __future__ import annotations

import base64
import dataclasses
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from seal_helpers import GIF_1X1

from ezhifu.crypto.base import SignatureAlgorithm
from ezhifu.document.envelope import SignStampElement, VoucherBody
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.results import ItemResult
from ezhifu.seal.detect import SealKind, SealVersion, detect
from ezhifu.seal.vendor import (
    CHINA_STANDARD_TIME,
    apply_vendor_stamp,
    build_vendor_seal,
    parse_vendor_stamp,
    stamp_signed_content,
)
from ezhifu.seal.verify import verify_seal, verify_stamp
from ezhifu.testing.pki import TestPKI, make_pki

BodyFactory = Callable[[str], VoucherBody]
SEAL_ID = "3f38e4aaee0c2acb3f38e4aaee0c2acb"
#: Signing time: within the test certificates' validity (they are made an hour before now).
WHEN = datetime.now(CHINA_STANDARD_TIME).replace(microsecond=0)
MAKER_REASON = "seal maker's signature not verifiable: vendor seal format unknown"


@pytest.fixture(scope="module")
def rsa_pki() -> TestPKI:
    return make_pki("rsa1024", subject_prefix="ezhifu vendor test")


def sha1_signer(pki: TestPKI) -> SoftwareSigner:
    return SoftwareSigner(pki.leaf_key, pki.leaf_cert, algorithm=SignatureAlgorithm.RSA_SHA1, allow_weak=True)


@pytest.fixture
def stamped(rsa_pki: TestPKI, body_factory: BodyFactory) -> tuple[VoucherBody, SignStampElement, bytes]:
    signer = sha1_signer(rsa_pki)
    seal = build_vendor_seal(signer, seal_id=SEAL_ID, name="支付测试印章", image=GIF_1X1)
    body = body_factory("5214")
    when = WHEN
    stamp = apply_vendor_stamp(body, seal, signer, "cz_dwgz", sign_time=when)
    return body, stamp, seal


def steps(result: ItemResult) -> dict[str, str]:
    return dict(result.checks)


def test_parse_shows_the_parts(stamped: tuple[VoucherBody, SignStampElement, bytes]) -> None:
    _body, stamp, seal = stamped
    der = base64.b64decode(stamp.value)
    assert detect(der) == (SealKind.SIGNATURE, SealVersion.VENDOR)
    assert detect(seal) == (SealKind.SEAL, SealVersion.VENDOR)
    info = parse_vendor_stamp(der)
    assert info.version == 2
    assert info.sign_time_text == WHEN.strftime("%Y-%m-%d %H:%M:%S")
    assert info.signing_time == WHEN
    assert info.signing_time.utcoffset() == timedelta(hours=8)  # Beijing time, as the vendor writes it
    assert info.seal.seal_id == SEAL_ID == stamp.sn
    assert info.seal.name == "支付测试印章"
    assert info.seal.seal_type == "7103"
    assert info.seal.image == GIF_1X1 and info.seal.image_type == "GIF"
    assert info.seal.picture_numbers == (2, 0, 0, 0, 0, 0, 0, 15, 0, 0xFF000000)
    assert info.seal.property.startswith("CN=支付测试印章 O=CTJ RG=420600")
    assert info.seal.raw == seal


def test_verifies_under_legacy_policy_but_is_never_valid(
    rsa_pki: TestPKI, stamped: tuple[VoucherBody, SignStampElement, bytes]
) -> None:
    body, stamp, _seal = stamped
    result = verify_stamp(body, stamp, trust=TrustStore([rsa_pki.root_cert]), policy=VerifyPolicy.legacy())
    assert result.intact and result.trusted
    assert not result.valid
    assert result.reason == MAKER_REASON
    assert steps(result)["stamp-signature"].startswith("PKCS#7 over Base64 || signTime || seal verifies")
    assert steps(result)["maker-signature"] == f"failed: {MAKER_REASON}"
    assert result.digest_algorithm == "sha1"
    assert result.seal_name == "支付测试印章"


def test_default_policy_refuses_sha1(
    rsa_pki: TestPKI, stamped: tuple[VoucherBody, SignStampElement, bytes]
) -> None:
    body, stamp, _seal = stamped
    result = verify_stamp(body, stamp, trust=TrustStore([rsa_pki.root_cert]))
    assert result.reason is not None and result.reason.startswith("stamp PKCS#7:")
    assert "sha1" in result.reason


def test_tampered_voucher_fails(
    rsa_pki: TestPKI, stamped: tuple[VoucherBody, SignStampElement, bytes]
) -> None:
    body, stamp, _seal = stamped
    body.voucher_b64 = VoucherBody.from_voucher(sample_voucher("5214", seed=3)).voucher_b64
    result = verify_stamp(body, stamp, trust=TrustStore([rsa_pki.root_cert]), policy=VerifyPolicy.legacy())
    assert not result.intact and not result.valid
    assert result.reason is not None and result.reason.startswith("stamp PKCS#7:")


def test_tampered_sign_time_fails(
    rsa_pki: TestPKI, stamped: tuple[VoucherBody, SignStampElement, bytes]
) -> None:
    body, stamp, _seal = stamped
    text = WHEN.strftime("%Y-%m-%d %H:%M:%S").encode()
    later = (WHEN + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S").encode()
    der = base64.b64decode(stamp.value).replace(text, later)
    forged = dataclasses.replace(stamp, value=base64.b64encode(der).decode())
    result = verify_stamp(body, forged, trust=TrustStore([rsa_pki.root_cert]), policy=VerifyPolicy.legacy())
    assert not result.intact
    assert result.reason is not None and result.reason.startswith("stamp PKCS#7:")


def test_sn_mismatch(rsa_pki: TestPKI, stamped: tuple[VoucherBody, SignStampElement, bytes]) -> None:
    body, stamp, _seal = stamped
    result = verify_stamp(
        body,
        dataclasses.replace(stamp, sn="0" * 32),
        trust=TrustStore([rsa_pki.root_cert]),
        policy=VerifyPolicy.legacy(),
    )
    assert result.reason is not None and "is not the seal id" in result.reason


def test_untrusted_root(stamped: tuple[VoucherBody, SignStampElement, bytes]) -> None:
    body, stamp, _seal = stamped
    other = make_pki("rsa1024", subject_prefix="ezhifu other")
    result = verify_stamp(body, stamp, trust=TrustStore([other.root_cert]), policy=VerifyPolicy.legacy())
    assert result.intact and not result.trusted and not result.valid


def test_vendor_seal_alone_is_not_verifiable(stamped: tuple[VoucherBody, SignStampElement, bytes]) -> None:
    _body, _stamp, seal = stamped
    result = verify_seal(seal)
    assert not result.valid and not result.maker_signature_ok
    assert result.reason is not None and "not verifiable" in result.reason


@pytest.mark.interop
def test_openssl_verifies_the_stamp_pkcs7(
    stamped: tuple[VoucherBody, SignStampElement, bytes], tmp_path: Path
) -> None:
    """Independent check with ``openssl cms -verify`` over Base64 || signTime || seal DER (spec.md §5.4)."""
    body, stamp, _seal = stamped
    info = parse_vendor_stamp(base64.b64decode(stamp.value))
    (tmp_path / "sig.der").write_bytes(info.signature)
    content = body.voucher_b64.encode("ascii") + info.sign_time_text.encode("ascii") + info.seal.raw
    assert stamp_signed_content(body.voucher_b64.encode("ascii"), info) == content
    (tmp_path / "content.bin").write_bytes(content)
    (tmp_path / "bad.bin").write_bytes(body.voucher_b64.encode("ascii"))
    base = [
        "openssl",
        "cms",
        "-verify",
        "-binary",
        "-noverify",
        "-inform",
        "DER",
        "-in",
        str(tmp_path / "sig.der"),
    ]
    good = subprocess.run(
        [*base, "-content", str(tmp_path / "content.bin")], capture_output=True, check=False
    )
    assert good.returncode == 0, good.stderr
    bad = subprocess.run([*base, "-content", str(tmp_path / "bad.bin")], capture_output=True, check=False)
    assert bad.returncode != 0


def test_cli_show_vendor_stamp(stamped: tuple[VoucherBody, SignStampElement, bytes], tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from ezhifu.cli.main import cli

    _body, stamp, _seal = stamped
    path = tmp_path / "stamp.b64"
    path.write_text(stamp.value)  # the Base64 text as found in <SignStamp>
    image = tmp_path / "seal.gif"
    result = CliRunner().invoke(cli, ["seal", "show", str(path), "--json", "--image-out", str(image)])
    assert result.exit_code == 1  # the maker's signature cannot be verified: never "holds"
    info = json.loads(result.output)
    assert info["kind"] == "vendor-stamp"
    assert info["seal"]["seal_id"] == SEAL_ID
    assert info["seal"]["name"] == "支付测试印章"
    assert info["seal"]["maker_signature"] == "not verifiable: vendor seal format unknown"
    assert image.read_bytes() == GIF_1X1
