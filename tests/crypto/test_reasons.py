"""Reasons that say what really happened (issue 15 finding 2).

* A certificate signed by OpenSSL without ``-sigopt distid:…`` (the empty SM2 ID) by the right
  CA: the reason says so, and no longer ends by suggesting "a different CA with the same name".
* A chain link that is both SHA-1 and RSA-1024 names both refusals.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ezhifu.errors import WeakAlgorithm
from ezhifu.pki import keys
from ezhifu.pki.path import validate_chain, verify_certificate_signature
from ezhifu.pki.trust import LEGACY_HINT, TrustStore, VerifyPolicy
from ezhifu.testing import make_pki

RunOpenSSL = Callable[..., subprocess.CompletedProcess[bytes]]  # the 'openssl' fixture (conftest.py)


@pytest.mark.interop
def test_empty_id_chain_reason_does_not_contradict_itself(
    openssl_keys: dict[str, Path], openssl: RunOpenSSL, tmp_path: Path
) -> None:
    ca_key = openssl_keys["sm2.pkcs8.pem"]
    ca = tmp_path / "ca.pem"
    openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        ca_key,
        "-sm3",
        "-subj",
        "/CN=empty id CA",
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-sigopt",
        "distid:1234567812345678",
        "-out",
        ca,
    )
    leaf_key = tmp_path / "leaf.key"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", leaf_key)
    csr = tmp_path / "leaf.csr"
    openssl(
        "req",
        "-new",
        "-key",
        leaf_key,
        "-sm3",
        "-subj",
        "/CN=leaf",
        "-out",
        csr,
        "-sigopt",
        "distid:1234567812345678",
    )
    leaf = tmp_path / "leaf.pem"
    # signed WITHOUT distid: OpenSSL 3.0 then uses the empty ID (interop.md)
    openssl(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-vfyopt",
        "distid:1234567812345678",
        "-sm3",
        "-days",
        "10",
        "-out",
        leaf,
    )
    result = validate_chain(
        keys.load_certificate(leaf.read_bytes()),
        trust=TrustStore(roots=[keys.load_certificate(ca.read_bytes())]),
    )
    assert not result.trusted
    assert result.reason is not None
    assert "verifies under the empty ID" in result.reason
    assert "different CA" not in result.reason


@pytest.mark.interop
def test_sha1_rsa1024_certificate_names_digest_and_key(openssl: RunOpenSSL, tmp_path: Path) -> None:
    key, cert_path = tmp_path / "k.pem", tmp_path / "c.pem"
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", key)
    openssl(
        "req", "-x509", "-new", "-key", key, "-sha1", "-subj", "/CN=legacy", "-days", "5", "-out", cert_path
    )
    cert = keys.load_certificate(cert_path.read_bytes())
    with pytest.raises(WeakAlgorithm) as info:
        verify_certificate_signature(cert, cert)
    assert "sha1" in str(info.value).lower() and "1024 bits" in str(info.value)
    verify_certificate_signature(cert, cert, allow_weak=True)


def test_policy_names_both_refusals_once_with_one_hint() -> None:
    pki = make_pki("rsa1024")
    policy = VerifyPolicy()
    both = policy.algorithm_refusal("sha1", pki.leaf_cert)
    assert both is not None
    assert both.startswith("digest sha1 refused by policy and RSA key of 1024 bits refused by policy")
    assert both.count(LEGACY_HINT) == 1
    assert policy.algorithm_refusal("sha256", pki.leaf_cert) == policy.key_refusal(pki.leaf_cert)
    assert VerifyPolicy.legacy().algorithm_refusal("sha1", pki.leaf_cert) is None
