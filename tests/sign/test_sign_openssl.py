"""Interop with OpenSSL 3.0 ``cms`` (RSA; OpenSSL cannot create or verify SM2 CMS, interop.md).

* what ezhifu signs verifies with ``openssl cms -verify -binary -content <Base64 text>``;
* what ``openssl cms -sign -binary [-noattr]`` writes verifies in ezhifu, SHA-256, and SHA-1 with
  a 1024-bit key under the legacy policy only (the deployed reality, spec.md §5.3).
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from ezhifu.document.envelope import Envelope
from ezhifu.pki.trust import LEGACY_HINT, TrustStore, VerifyPolicy
from ezhifu.sign import sign_envelope, verify_detached
from ezhifu.testing.pki import TestPKI
from ezhifu.verify.envelope import verify_envelope

_BOTH = (
    "digest sha1 refused by policy and RSA key of 1024 bits refused by policy (minimum 2048) "
    f"({LEGACY_HINT})"
)

pytestmark = pytest.mark.interop


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, timeout=60, check=False)


def _openssl_verify(sig: Path, content: Path, ca: Path) -> subprocess.CompletedProcess[bytes]:
    return _openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", content,
        "-CAfile", ca, "-out", "/dev/null",
    )  # fmt: skip


@pytest.mark.parametrize("attrs", [False, True])
def test_openssl_verifies_ezhifu_rsa_signatures(
    envelope: Envelope, rsa_pki3: TestPKI, tmp_path: Path, attrs: bool
) -> None:
    assert rsa_pki3.intermediate_cert is not None
    paths = rsa_pki3.write_pem(tmp_path)
    sign_envelope(
        envelope, rsa_pki3.signer(), "cz_dwfz", signed_attributes=attrs, chain=[rsa_pki3.intermediate_cert]
    )
    signed = Envelope.from_bytes(envelope.to_bytes())
    for index, body in enumerate(signed.bodies):
        sig = tmp_path / f"sig{index}.der"
        sig.write_bytes(base64.b64decode(body.signatures[0].value))
        text = tmp_path / f"voucher{index}.txt"
        text.write_bytes(body.voucher_b64.encode("ascii"))
        done = _openssl_verify(sig, text, paths["root.pem"])
        assert done.returncode == 0, done.stderr.decode()
        assert b"Verification successful" in done.stderr
        # the discriminating control: OpenSSL rejects the text with a trailing newline
        text.write_bytes(body.voucher_b64.encode("ascii") + b"\n")
        assert _openssl_verify(sig, text, paths["root.pem"]).returncode != 0


@pytest.mark.parametrize("noattr", [True, False])
def test_ezhifu_verifies_openssl_sha256(rsa_pki: TestPKI, tmp_path: Path, noattr: bool) -> None:
    paths = rsa_pki.write_pem(tmp_path)
    content = tmp_path / "voucher.txt"
    text = base64.b64encode(b'<?xml version="1.0" encoding="GBK"?><Voucher/>')
    content.write_bytes(text)
    sig = tmp_path / "sig.der"
    args: list[str | Path] = ["cms", "-sign", "-binary", "-md", "sha256", "-in", content,
                              "-signer", paths["leaf.pem"], "-inkey", paths["leaf.key.pem"],
                              "-outform", "DER", "-out", sig]  # fmt: skip
    if noattr:
        args.insert(3, "-noattr")
    done = _openssl(*args)
    assert done.returncode == 0, done.stderr.decode()
    result = verify_detached(sig.read_bytes(), text, trust=TrustStore(roots=[rsa_pki.root_cert]))
    assert result.valid, result.reason
    assert result.signed_attributes is (not noattr)
    assert result.signature_algorithm == "rsa-sha256"
    assert not verify_detached(
        sig.read_bytes(), text + b"\n", trust=TrustStore(roots=[rsa_pki.root_cert])
    ).intact


def test_openssl_sha1_rsa1024_is_legacy_only(weak_pki: TestPKI, tmp_path: Path, envelope: Envelope) -> None:
    """The deployed profile (spec.md §5.3): SHA-1, RSA-1024, no signed attributes."""
    paths = weak_pki.write_pem(tmp_path)
    body = envelope.bodies[0]
    content = tmp_path / "voucher.txt"
    content.write_bytes(body.voucher_b64.encode("ascii"))
    sig = tmp_path / "sig.der"
    done = _openssl(
        "cms", "-sign", "-binary", "-noattr", "-md", "sha1", "-in", content, "-signer", paths["leaf.pem"],
        "-inkey", paths["leaf.key.pem"], "-outform", "DER", "-out", sig,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    trust = TrustStore(roots=[weak_pki.root_cert])
    legacy = verify_detached(
        sig.read_bytes(), content.read_bytes(), trust=trust, policy=VerifyPolicy.legacy()
    )
    assert legacy.valid, legacy.reason
    assert (legacy.digest_algorithm, legacy.signature_algorithm, legacy.signed_attributes) == (
        "sha1",
        "rsa-sha1",
        False,
    )
    refused = verify_detached(sig.read_bytes(), content.read_bytes(), trust=trust)
    assert refused.intact and not refused.valid
    assert refused.reason == _BOTH  # issue 15 finding 2: SHA-1 and RSA-1024 both named

    # the same signature placed in an envelope, as a partner would send it
    from ezhifu.document.envelope import SignatureElement

    body.signatures.append(
        SignatureElement(
            no="cz_dwfz",
            sn=format(weak_pki.leaf_cert.serial_number, "x"),
            value=base64.b64encode(sig.read_bytes()).decode("ascii"),
        )
    )
    envelope.bodies[1:] = []
    assert verify_envelope(envelope.to_bytes(), trust=trust, policy=VerifyPolicy.legacy()).valid
    default = verify_envelope(envelope.to_bytes(), trust=trust)
    assert default.bodies[0].items[0].reason == _BOTH
