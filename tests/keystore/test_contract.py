"""One contract, four backends: memory, encrypted file, PKCS#12 and PKCS#11 (SoftHSM2)."""

from __future__ import annotations

import pytest
from keystore_fixtures import Case, SoftHSM

from ezhifu.crypto import SignatureAlgorithm
from ezhifu.errors import (
    BadPassword,
    ConfigurationError,
    InvalidSignature,
    KeyNotFound,
    KeyStoreError,
    WeakAlgorithm,
)
from ezhifu.keystore import KeyStore, open_keystore
from ezhifu.keystore.memory import MemoryKeyStore
from ezhifu.pki.signer import verify_signature
from ezhifu.testing.pki import TestPKI, make_pki

MESSAGE = "国库集中支付电子凭证 contract message".encode()


def test_aliases_and_kind(case: Case) -> None:
    assert case.alias in case.store.aliases()
    assert case.store.key_kind(case.alias) == case.kind
    assert case.store.entry(case.alias).kind == case.kind


def test_certificate_and_chain(case: Case) -> None:
    cert = case.store.certificate(case.alias)
    assert cert is not None
    assert cert.dump() == case.leaf.dump()
    chain = case.store.chain(case.alias)
    assert [c.dump() for c in chain] == [case.leaf.dump(), case.root.dump()]


def test_signer_signs_and_signature_verifies(case: Case) -> None:
    signer = case.store.signer(case.alias)
    assert signer.algorithm.key_kind == case.kind
    assert signer.certificate is not None and signer.certificate.dump() == case.leaf.dump()
    signature = signer.sign(MESSAGE)
    assert signature[0] == 0x30 or case.kind == "rsa"  # DER SEQUENCE for SM2 / ECDSA
    verify_signature(case.leaf, MESSAGE, signature, algorithm=signer.algorithm)
    with pytest.raises(InvalidSignature):  # negative control: another message
        verify_signature(case.leaf, MESSAGE + b"!", signature, algorithm=signer.algorithm)


def test_missing_alias_is_key_not_found(case: Case) -> None:
    for call in (case.store.signer, case.store.certificate, case.store.chain, case.store.key_kind):
        with pytest.raises(KeyNotFound, match="no-such-alias") as info:
            call("no-such-alias")
        assert isinstance(info.value, KeyStoreError)
    with pytest.raises(KeyNotFound, match="no-such-seal"):
        case.store.seal("no-such-seal")


def test_wrong_secret_is_bad_password(case: Case) -> None:
    if case.backend == "memory":  # nothing to unlock: a password is a configuration error
        with pytest.raises(ConfigurationError, match="'password'"):
            case.reopen("wrong-secret-000")
        return
    with pytest.raises(BadPassword) as info:
        case.reopen("wrong-secret-000")
    assert "wrong-secret-000" not in str(info.value)  # never echo a secret
    assert isinstance(info.value, KeyStoreError)


def test_context_manager_closes(case: Case) -> None:
    with case.store as store:
        assert store.aliases()
    assert case.store.closed
    with pytest.raises(KeyStoreError, match="closed"):
        case.store.aliases()
    with pytest.raises(KeyStoreError, match="closed"):
        case.store.signer(case.alias)
    case.store.close()  # idempotent


def test_open_keystore_from_config(case: Case) -> None:
    if case.backend == "pkcs11":
        case.store.close()  # one logged-in session per process and token
    opened = open_keystore(case.config)
    try:
        assert isinstance(opened, KeyStore)
        assert type(opened).type_name == case.backend
        if case.backend != "memory":  # a configured memory store starts empty
            assert case.alias in opened.aliases()
            signature = opened.signer(case.alias).sign(MESSAGE)
            verify_signature(case.leaf, MESSAGE, signature)
    finally:
        opened.close()


def test_unknown_config_key_is_named(case: Case) -> None:
    with pytest.raises(ConfigurationError, match="passwrod"):
        open_keystore({**case.config, "passwrod": "x"})


def test_unknown_type_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="'nosuch'"):
        open_keystore({"type": "nosuch"})
    with pytest.raises(ConfigurationError, match="type"):
        open_keystore({})


def test_legacy_profile_needs_allow_weak(pkis: dict[str, TestPKI]) -> None:
    """RSA-1024 with SHA-1 (the deployed 2024 profile, spec.md §5.3) only when opted in."""
    pki = make_pki("rsa1024")
    store = MemoryKeyStore.from_config({"type": "memory"})
    store.add_key("legacy", pki.leaf_key, pki.chain)
    with pytest.raises(WeakAlgorithm):
        store.signer("legacy")
    store.set_signing_policy(rsa_digest="sha1", allow_weak=True)
    signer = store.signer("legacy")
    assert signer.algorithm is SignatureAlgorithm.RSA_SHA1
    verify_signature(pki.leaf_cert, MESSAGE, signer.sign(MESSAGE), algorithm=SignatureAlgorithm.RSA_SHA1)
    with pytest.raises(ConfigurationError, match="rsa_digest"):
        MemoryKeyStore.from_config({"type": "memory", "rsa_digest": "md5"})


def test_pkcs11_rsa_digest_choice(softhsm: SoftHSM) -> None:
    with open_keystore(softhsm.config(rsa_digest="sha1")) as store, pytest.raises(WeakAlgorithm):
        store.signer("rsa-signer")
    with open_keystore(softhsm.config(rsa_digest="sha512")) as store:
        signer = store.signer("rsa-signer")
        assert signer.algorithm is SignatureAlgorithm.RSA_SHA512
        verify_signature(
            softhsm.certs["rsa-signer"], MESSAGE, signer.sign(MESSAGE), algorithm=signer.algorithm
        )
    with open_keystore(softhsm.config(rsa_digest="sha1", allow_weak=True)) as store:
        signature = store.signer("rsa-signer").sign(MESSAGE)
        verify_signature(
            softhsm.certs["rsa-signer"], MESSAGE, signature, algorithm=SignatureAlgorithm.RSA_SHA1
        )
