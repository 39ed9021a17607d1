"""Keys and certificates from outside ezhifu: `cryptography` objects, PEM files, SM2 PEM.

Run: python examples/keys_and_types.py
What the API takes (docs/api.md, "Types the API takes and returns"):

* a private key is a `cryptography` RSA or P-256 key object, or ezhifu's `SM2PrivateKey`
  (`cryptography` has no SM2); `ezhifu.pki.keys.load_private_key(pem_or_der, password)` reads any
  of them from PEM or DER (PKCS#8, PKCS#1, SEC 1, encrypted or not);
* a certificate is an `asn1crypto.x509.Certificate`; `load_certificate(pem_or_der)` reads one,
  `load_certificates(...)` a chain; a `cryptography` certificate converts through its DER;
* a `Signer` is what signs: `SoftwareSigner(key, certificate)` over a key in memory (or a
  keystore's `signer(alias)`); results are frozen `EnvelopeResult` / `BodyResult` / `ItemResult`.

The RSA CA made here with `cryptography` is a throwaway test CA (test and development only).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.certs import load_certificate, load_certificates
from ezhifu.pki.keys import dump_private_key, generate_private_key, load_private_key
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.results import EnvelopeResult
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing import make_pki
from ezhifu.verify import verify_envelope


def _name(cn: str) -> cx509.Name:
    return cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str, key: rsa.RSAPrivateKey, issuer: str, issuer_key: rsa.RSAPrivateKey, *, ca: bool
) -> cx509.Certificate:
    now = dt.datetime.now(dt.UTC)
    usage = dict.fromkeys(
        [
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ],
        False,
    )
    return (
        cx509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(cx509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            cx509.KeyUsage(digital_signature=not ca, key_cert_sign=ca, crl_sign=ca, **usage), critical=True
        )
        .sign(issuer_key, hashes.SHA256())
    )


# 1. `cryptography` objects: an RSA CA and a signer certificate made with its x509 builder.
ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ca_cert = _cert("Example Test CA", ca_key, "Example Test CA", ca_key, ca=True)
leaf_cert = _cert("Example Test Signer", leaf_key, "Example Test CA", ca_key, ca=False)

# The key object is taken as it is; a certificate converts through its DER bytes.
root = load_certificate(ca_cert.public_bytes(serialization.Encoding.DER))
signer = SoftwareSigner(leaf_key, load_certificate(leaf_cert.public_bytes(serialization.Encoding.DER)))
envelope = Envelope.build([sample_voucher("5201", details=2)])
sign_envelope(envelope, signer, "cz_dwfz")  # validates the voucher first (validate=False skips)
result: EnvelopeResult = verify_envelope(envelope.to_bytes(), trust=TrustStore(roots=[root]))
print("cryptography RSA key and certificate:", "valid" if result.valid else result.bodies[0].reasons)
assert result.valid

# 2. PEM files, as a CA or an HSM export hands them over (here written from the objects above).
Path("signer.key.pem").write_bytes(
    leaf_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"example password"),
    )
)
Path("chain.pem").write_bytes(
    leaf_cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
)
key = load_private_key(Path("signer.key.pem").read_bytes(), password=b"example password")
chain = load_certificates(Path("chain.pem").read_bytes())
again = Envelope.build([sample_voucher("5201", details=1)])
sign_envelope(again, SoftwareSigner(key, chain[0]), "cz_dwfz", chain=chain[1:])
print(
    "PEM key and chain:",
    type(key).__name__,
    "+",
    len(chain),
    "certificates:",
    "valid" if verify_envelope(again.to_bytes(), trust=TrustStore(roots=[root])).valid else "INVALID",
)

# 3. SM2: `cryptography` cannot hold an SM2 key, so SM2 comes as PEM/DER (or from a keystore).
pki = make_pki("sm2")
Path("sm2.key.pem").write_bytes(dump_private_key(pki.leaf_key, None))
sm2_key = load_private_key(Path("sm2.key.pem").read_bytes())
sm2 = Envelope.build([sample_voucher("8202", details=1)])
sign_envelope(sm2, SoftwareSigner(sm2_key, pki.leaf_cert), "cz_dwfz")
body = verify_envelope(sm2.to_bytes(), trust=TrustStore(roots=[pki.root_cert])).bodies[0]
print(
    "SM2 PEM key:",
    type(sm2_key).__name__,
    body.items[0].signature_algorithm,
    "valid" if body.valid else "INVALID",
)
assert body.valid and type(generate_private_key("sm2")).__name__ == type(sm2_key).__name__
