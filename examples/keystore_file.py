"""Keep keys and seals in an encrypted-file keystore and sign through it.

Run: python examples/keystore_file.py
The password comes from the environment in real use (EZHIFU_KEYSTORE_PASSWORD); this example
sets one so that it runs on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import BadPassword
from ezhifu.keystore import open_keystore
from ezhifu.keystore.encrypted_file import EncryptedFileKeyStore
from ezhifu.pki.trust import TrustStore
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing import make_pki
from ezhifu.verify import verify_envelope

os.environ.setdefault("EZHIFU_KEYSTORE_PASSWORD", "example password, use your own")
password = os.environ["EZHIFU_KEYSTORE_PASSWORD"]
pki = make_pki("sm2")

# Create the store (a directory, files mode 0600, keys as encrypted PKCS#8) and import a key.
with EncryptedFileKeyStore.init("keystore", password) as store:
    store.import_key("finance", pki.leaf_key, pki.chain)
print("files:", sorted(str(p.relative_to("keystore")) for p in Path("keystore").rglob("*") if p.is_file()))
assert not any(b"BEGIN PRIVATE KEY" in p.read_bytes() for p in Path("keystore").rglob("*") if p.is_file())

# Later, from a configuration (what `--keystore keystore.toml` reads): the password by env var.
config = {"type": "file", "path": "keystore", "password_env": "EZHIFU_KEYSTORE_PASSWORD"}
envelope = Envelope.build([sample_voucher("5201")])
with open_keystore(config) as store:
    print("aliases:", store.aliases(), "kind:", store.key_kind("finance"))
    sign_envelope(envelope, store.signer("finance"), "cz_dwfz")
result = verify_envelope(envelope.to_bytes(), trust=TrustStore(roots=[pki.root_cert]))
print("signed through the keystore:", "valid" if result.valid else result.bodies[0].reasons)
assert result.valid

# A wrong password is its own error, and the message never contains the secret.
try:
    EncryptedFileKeyStore("keystore", "Tr0ub4dor&3")
except BadPassword as exc:
    assert "Tr0ub4dor" not in str(exc)
    print("wrong password refused:", exc)
