"""ezhifu.testing.pki.make_pki: shapes, validity, write_pem, issue_leaf."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import x509

from ezhifu import pki as ex509
from ezhifu.errors import InvalidInput
from ezhifu.pki import keys
from ezhifu.pki.signer import SoftwareSigner, verify_signature
from ezhifu.testing.pki import PKI_KINDS, TestPKI, make_pki


@pytest.mark.parametrize("kind", ["sm2", "rsa2048", "p256", "rsa1024"])
@pytest.mark.parametrize("depth", [2, 3])
def test_shapes(kind: str, depth: int) -> None:
    pki = make_pki(kind, depth=depth)
    assert isinstance(pki, TestPKI)
    assert len(pki.chain) == depth
    assert pki.chain[0] is pki.leaf_cert and pki.chain[-1] is pki.root_cert
    assert (pki.intermediate_cert is None) == (depth == 2)
    assert (pki.intermediate_key is None) == (depth == 2)
    for cert, issuer in itertools.pairwise(pki.chain):
        ex509.verify_certificate_signature(cert, issuer, allow_weak=kind == "rsa1024")
        assert ex509.is_ca(issuer)
    assert not ex509.is_ca(pki.leaf_cert)
    for cert in pki.chain:
        ex509.check_validity(cert)
    signer = pki.signer()
    assert isinstance(signer, SoftwareSigner)
    verify_signature(pki.leaf_cert, b"data", signer.sign(b"data"))
    assert keys.same_public_key(keys.public_key_of(pki.leaf_cert), pki.leaf_key)
    expected_kind = {"sm2": "sm2", "p256": "ec"}.get(kind, "rsa")
    assert keys.key_kind(pki.leaf_key) == expected_kind


def test_names_and_usage() -> None:
    pki = make_pki("sm2", depth=3, subject_prefix="unit", leaf_key_usage=("non_repudiation",))
    assert "unit root CA" in pki.root_cert.subject.human_friendly
    assert "unit intermediate CA" in pki.intermediate_cert.subject.human_friendly  # type: ignore[union-attr]
    assert "unit signer" in pki.leaf_cert.subject.human_friendly
    assert ex509.key_usage(pki.leaf_cert) == frozenset({"non_repudiation"})


def test_leaf_validity_window() -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    end = datetime(2021, 1, 1, tzinfo=UTC)
    pki = make_pki("p256", depth=3, not_before=start, not_after=end)
    validity = pki.leaf_cert["tbs_certificate"]["validity"]
    assert validity["not_before"].native == start
    assert validity["not_after"].native == end
    with pytest.raises(ex509.CertificateExpired):
        ex509.check_validity(pki.leaf_cert)
    ex509.check_validity(pki.leaf_cert, datetime(2020, 6, 1, tzinfo=UTC))
    # the CAs cover both the leaf's window and now
    for ca in (pki.root_cert, pki.intermediate_cert):
        assert ca is not None
        ex509.check_validity(ca)
        ex509.check_validity(ca, start)


def test_issue_leaf() -> None:
    pki = make_pki("sm2", depth=3)
    cert, key = pki.issue_leaf("second signer")
    assert isinstance(cert, x509.Certificate)
    ex509.verify_certificate_signature(cert, pki.intermediate_cert)
    assert keys.same_public_key(keys.public_key_of(cert), key)
    rsa_cert, rsa_key = pki.issue_leaf(
        "rsa under sm2", kind="rsa2048", not_after=datetime.now(UTC) + timedelta(days=2)
    )
    assert keys.key_kind(rsa_key) == "rsa"
    ex509.verify_certificate_signature(rsa_cert, pki.intermediate_cert)
    verify_signature(rsa_cert, b"m", SoftwareSigner(rsa_key, rsa_cert).sign(b"m"))
    assert cert.serial_number != pki.leaf_cert.serial_number


def test_write_pem(tmp_path: Path) -> None:
    pki = make_pki("sm2", depth=3)
    paths = pki.write_pem(tmp_path / "pki")
    assert set(paths) == {
        "root.pem",
        "root.key.pem",
        "intermediate.pem",
        "intermediate.key.pem",
        "leaf.pem",
        "leaf.key.pem",
        "chain.pem",
    }
    assert keys.load_certificate(paths["root.pem"].read_bytes()).dump() == pki.root_cert.dump()
    assert keys.load_certificate(paths["leaf.pem"].read_bytes()).dump() == pki.leaf_cert.dump()
    assert pki.intermediate_cert is not None
    intermediate = keys.load_certificate(paths["intermediate.pem"].read_bytes())
    assert intermediate.dump() == pki.intermediate_cert.dump()
    chain = keys.load_certificates(paths["chain.pem"].read_bytes())
    assert [c.dump() for c in chain] == [c.dump() for c in pki.chain]
    key = keys.load_private_key(paths["leaf.key.pem"].read_bytes())
    assert keys.same_public_key(key, pki.leaf_key)
    assert paths["leaf.key.pem"].stat().st_mode & 0o077 == 0
    two = make_pki("rsa2048").write_pem(tmp_path / "two")
    assert "intermediate.pem" not in two


def test_fresh_keys_every_call() -> None:
    a, b = make_pki("sm2"), make_pki("sm2")
    assert not keys.same_public_key(a.leaf_key, b.leaf_key)
    assert not keys.same_public_key(a.root_key, b.root_key)


def test_bad_arguments() -> None:
    assert "sm2" in PKI_KINDS
    with pytest.raises(InvalidInput, match="PKI kind"):
        make_pki("dsa")
    with pytest.raises(InvalidInput, match="depth"):
        make_pki("sm2", depth=4)
    with pytest.raises(InvalidInput, match="PKI kind"):
        make_pki("sm2").issue_leaf("x", kind="ed25519")
