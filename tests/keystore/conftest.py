"""Fixtures for the keystore tests: test PKIs, a real SoftHSM2 token, one store per backend."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509
from keystore_fixtures import Case, SoftHSM

from ezhifu.keystore.base import KeyStore
from ezhifu.keystore.encrypted_file import EncryptedFileKeyStore
from ezhifu.keystore.memory import MemoryKeyStore
from ezhifu.keystore.pkcs12 import PKCS12KeyStore, write_pkcs12
from ezhifu.pki.builder import CertificateBuilder
from ezhifu.pki.keys import load_public_key
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.testing.pki import TestPKI, make_pki

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN_LABEL = "ezhifu-test"
USER_PIN = "246810"
SO_PIN = "13579135"
FAST_SCRYPT_N = 2**10  # tests only: keep each KDF run at a millisecond


@pytest.fixture(scope="session")
def pkis() -> dict[str, TestPKI]:
    """One test PKI per key kind (keys generated at test time)."""
    return {kind: make_pki(kind) for kind in ("sm2", "rsa2048", "p256")}


def _issue(pki: TestPKI, name: str, public_der: bytes) -> x509.Certificate:
    ca = SoftwareSigner(pki.root_key, pki.root_cert)
    return CertificateBuilder(
        {"common_name": name, "organization_name": "ezhifu test token"},
        load_public_key(public_der),
        key_usage=("digital_signature", "non_repudiation"),
    ).build(ca, issuer=pki.root_cert)


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory, pkis: dict[str, TestPKI]) -> SoftHSM:
    """A real SoftHSM2 token: RSA-2048, P-256 and SM2-curve keys generated on the token.

    The certificates are issued by the software test root (``pkis["p256"]``) and stored as
    CKO_CERTIFICATE objects with the same CKA_ID and label, plus the root itself.
    """
    import pkcs11
    from pkcs11 import Attribute, CertificateType, KeyType, Mechanism, ObjectClass
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
    from pkcs11.util.rsa import encode_rsa_public_key

    util = shutil.which("softhsm2-util")
    assert util is not None, "softhsm2-util must be installed (apt install softhsm2)"
    base = tmp_path_factory.mktemp("softhsm")
    tokens = base / "tokens"
    tokens.mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [util, "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", USER_PIN, "--so-pin", SO_PIN],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    lib = pkcs11.lib(SOFTHSM_MODULE)
    try:
        token = lib.get_token(token_label=TOKEN_LABEL)
    except pkcs11.exceptions.NoSuchToken:  # loaded earlier in this process under another conf
        lib.reinitialize()
        token = lib.get_token(token_label=TOKEN_LABEL)
    pki = pkis["p256"]
    hsm = SoftHSM(SOFTHSM_MODULE, TOKEN_LABEL, USER_PIN, conf, root=pki.root_cert)
    with token.open(rw=True, user_pin=USER_PIN) as session:

        def store_cert(label: str, key_id: bytes, cert: x509.Certificate) -> None:
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.LABEL: label,
                    Attribute.ID: key_id,
                    Attribute.SUBJECT: cert.subject.dump(),
                    Attribute.VALUE: cert.dump(),
                }
            )

        public, _ = session.generate_keypair(KeyType.RSA, 2048, id=b"\x01", label="rsa-signer", store=True)
        rsa_spki = asn1_keys.PublicKeyInfo.wrap(
            asn1_keys.RSAPublicKey.load(encode_rsa_public_key(public)), "rsa"
        ).dump()
        hsm.certs["rsa-signer"] = _issue(pki, "token RSA signer", rsa_spki)
        store_cert("rsa-signer", b"\x01", hsm.certs["rsa-signer"])

        for label, key_id, curve in (
            ("ec-signer", b"\x02", "secp256r1"),
            ("sm2-on-token", b"\x03", "1.2.156.10197.1.301"),
        ):
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve)}, local=True
            )
            public, _ = params.generate_keypair(
                id=key_id, label=label, store=True, mechanism=Mechanism.EC_KEY_PAIR_GEN
            )
            cert = _issue(pki, f"token {label}", encode_ec_public_key(public))
            hsm.certs[label] = cert
            store_cert(label, key_id, cert)
        store_cert("test root", b"\xff", pki.root_cert)
    return hsm


CASES = [
    ("memory", "sm2"),
    ("memory", "rsa2048"),
    ("file", "sm2"),
    ("file", "p256"),
    ("pkcs12", "sm2"),
    ("pkcs12", "rsa2048"),
    ("pkcs11", "rsa2048"),
    ("pkcs11", "p256"),
]
_KIND = {"sm2": "sm2", "rsa2048": "rsa", "p256": "ec"}


@pytest.fixture(params=CASES, ids=[f"{b}-{k}" for b, k in CASES])
def case(
    request: pytest.FixtureRequest, tmp_path: Path, pkis: dict[str, TestPKI], softhsm: SoftHSM
) -> Iterator[Case]:
    backend, kind = request.param
    pki = pkis[kind]
    alias = f"{backend}-{kind}"
    store: KeyStore
    if backend == "memory":
        memory = MemoryKeyStore()
        memory.add_key(alias, pki.leaf_key, pki.chain)

        def reopen_memory(secret: str) -> KeyStore:
            # A memory store has no secret: configuring one is refused by name.
            return MemoryKeyStore.from_config({"type": "memory", "password": secret})

        store, reopen, config = memory, reopen_memory, {"type": "memory"}
    elif backend == "file":
        path = tmp_path / "store"
        file_store = EncryptedFileKeyStore.init(path, "file-password", scrypt_n=FAST_SCRYPT_N)
        file_store.import_key(alias, pki.leaf_key, pki.chain)
        store = file_store
        config = {"type": "file", "path": str(path), "password": "file-password"}

        def reopen_file(secret: str) -> KeyStore:
            return EncryptedFileKeyStore(path, secret)

        reopen = reopen_file
    elif backend == "pkcs12":
        path = tmp_path / "store.p12"
        write_pkcs12(path, alias, pki.leaf_key, pki.chain, "p12-password", iterations=2048)
        store = PKCS12KeyStore(path, "p12-password")
        config = {"type": "pkcs12", "path": str(path), "password": "p12-password"}

        def reopen_p12(secret: str) -> KeyStore:
            return PKCS12KeyStore(path, secret)

        reopen = reopen_p12
    else:
        from ezhifu.keystore.pkcs11 import PKCS11KeyStore

        alias = "rsa-signer" if kind == "rsa2048" else "ec-signer"
        store = PKCS11KeyStore(softhsm.module, softhsm.label, softhsm.pin)
        config = softhsm.config()

        def reopen_p11(secret: str) -> KeyStore:
            store.close()  # one logged-in session per process and token
            return PKCS11KeyStore(softhsm.module, softhsm.label, secret)

        reopen = reopen_p11
        leaf = softhsm.certs[alias]
        assert softhsm.root is not None
        yield Case(backend, store, alias, _KIND[kind], leaf, softhsm.root, reopen, config)
        store.close()
        return
    yield Case(backend, store, alias, _KIND[kind], pki.leaf_cert, pki.root_cert, reopen, config)
    store.close()
