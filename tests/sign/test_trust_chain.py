"""Issue 13 finding 6: extended key usage and pinned end entities in the trust model.

Each case failed on main before (a TLS-server-only certificate signed vouchers; a self-signed
certificate without basicConstraints in a trust file became a root that could issue) and is
checked through the API and through ``ezhifu verify --json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ezhifu.cli.main import cli as main
from ezhifu.crypto import oids
from ezhifu.document.envelope import Envelope
from ezhifu.pki import keys as pki_keys
from ezhifu.pki.builder import CertificateBuilder
from ezhifu.pki.keys import dump_certificates
from ezhifu.pki.path import validate_chain
from ezhifu.pki.policy import eku_refusal
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.results import EnvelopeResult
from ezhifu.sign import sign_envelope
from ezhifu.testing.pki import TestPKI
from ezhifu.verify.envelope import verify_envelope

_NO_DOC_SIGNING = "does not allow document signing"


def _verify_both(
    tmp_path: Path, envelope: Envelope, trust_pem: bytes
) -> tuple[EnvelopeResult, dict[str, Any]]:
    """Verify through the API (trust file loaded like the CLI does) and ``ezhifu verify --json``."""
    data = envelope.to_bytes()
    (tmp_path / "env.xml").write_bytes(data)
    (tmp_path / "trust.pem").write_bytes(trust_pem)
    result = verify_envelope(data, trust=TrustStore.from_pem_files([tmp_path / "trust.pem"]))
    out = CliRunner().invoke(
        main, ["verify", str(tmp_path / "env.xml"), "--trust", str(tmp_path / "trust.pem"), "--json"]
    )
    report = json.loads(out.output)
    assert report["valid"] is result.valid and out.exit_code == (0 if result.valid else 1)
    return result, report


def _signed(envelope: Envelope, signer: SoftwareSigner) -> Envelope:
    sign_envelope(envelope, signer, "cz_dwfz")
    return Envelope.from_bytes(envelope.to_bytes())


def test_a_tls_server_only_certificate_cannot_sign_vouchers(
    tmp_path: Path, rsa_pki: TestPKI, envelope: Envelope
) -> None:
    cert, key = rsa_pki.issue_leaf("tls server", extended_key_usage=("server_auth",))
    assert eku_refusal(cert) is not None and "server-auth" in (eku_refusal(cert) or "")
    result, report = _verify_both(
        tmp_path, _signed(envelope, SoftwareSigner(key, cert)), dump_certificates([rsa_pki.root_cert])
    )
    assert not result.valid
    reason = result.bodies[0].items[0].reason or ""
    assert _NO_DOC_SIGNING in reason and "eku-server-auth" in reason
    assert _NO_DOC_SIGNING in report["bodies"][0]["items"][0]["reason"]


@pytest.mark.parametrize(
    "purposes",
    [
        ("email_protection",),
        ("any_extended_key_usage",),
        ("server_auth", oids.dotted("eku-document-signing")),
        ("microsoft_document_signing",),
        ("adobe_authentic_documents_trust",),
    ],
)
def test_document_signing_purposes_are_accepted(rsa_pki: TestPKI, purposes: tuple[str, ...]) -> None:
    cert, _ = rsa_pki.issue_leaf("document signer", extended_key_usage=purposes)
    assert eku_refusal(cert) is None
    assert validate_chain(cert, trust=TrustStore(roots=[rsa_pki.root_cert])).trusted


def test_a_tsa_needs_time_stamping_not_document_signing(rsa_pki: TestPKI) -> None:
    tsa, _ = rsa_pki.issue_leaf("tsa", extended_key_usage=("time_stamping",))
    trust = TrustStore(roots=[rsa_pki.root_cert])
    assert validate_chain(tsa, trust=trust, purpose="tsa").trusted
    refused = validate_chain(tsa, trust=trust)  # as a voucher signer
    assert not refused.trusted and _NO_DOC_SIGNING in (refused.reason or "")
    signer, _ = rsa_pki.issue_leaf("signer", extended_key_usage=("email_protection",))
    wrong = validate_chain(signer, trust=trust, purpose="tsa")
    assert not wrong.trusted and "does not allow time stamping" in (wrong.reason or "")


def _self_signed_without_basic_constraints() -> tuple[Any, Any]:
    key = pki_keys.generate_private_key("rsa2048")
    cert = CertificateBuilder("old private partner", key, key_usage=None).build(SoftwareSigner(key))
    assert cert.self_signed != "no" and cert.basic_constraints_value is None
    return cert, key


def test_a_self_signed_non_ca_in_a_trust_file_is_pinned_not_a_root(
    tmp_path: Path, envelope: Envelope
) -> None:
    cert, key = _self_signed_without_basic_constraints()
    store = TrustStore.from_pem_bytes(dump_certificates([cert]))
    assert store.roots == () and [c.dump() for c in store.pinned] == [cert.dump()]
    # It can sign: the pinned certificate itself verifies.
    result, report = _verify_both(
        tmp_path, _signed(envelope, SoftwareSigner(key, cert)), dump_certificates([cert])
    )
    assert result.valid and report["valid"] is True


def test_a_chain_through_a_pinned_end_entity_is_refused(tmp_path: Path, make_envelope: Any) -> None:
    issuer, issuer_key = _self_signed_without_basic_constraints()
    leaf_key = pki_keys.generate_private_key("rsa2048")
    leaf = CertificateBuilder(
        "issued by a pinned certificate", leaf_key, key_usage=("digital_signature",)
    ).build(SoftwareSigner(issuer_key, issuer), issuer=issuer)
    envelope = _signed(make_envelope(), SoftwareSigner(leaf_key, leaf))
    result, report = _verify_both(tmp_path, envelope, dump_certificates([issuer]))
    assert not result.valid
    reason = result.bodies[0].items[0].reason or ""
    assert "pinned end-entity certificate (not a CA): it can sign, it cannot issue" in reason
    assert "it cannot issue" in report["bodies"][0]["items"][0]["reason"]
    # An old private CA is still trusted as an issuer when passed as a root explicitly.
    assert validate_chain(leaf, trust=TrustStore(roots=[issuer])).trusted
