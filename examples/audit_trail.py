"""Record every use of a key, keep the trail's head outside it, and catch a rollback.

Run: python examples/audit_trail.py
In real use the keys come from the environment (EZHIFU_KEYSTORE_PASSWORD, EZHIFU_AUDIT_KEY);
this example sets them so that it runs on its own. See docs/security.md, "Audit trail".
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.errors import AuditRolledBack, KeyStoreRolledBack
from ezhifu.keystore import open_keystore
from ezhifu.keystore.audit_head import parse_witness_lines
from ezhifu.keystore.audit_use import open_audit
from ezhifu.keystore.encrypted_file import EncryptedFileKeyStore
from ezhifu.sign.voucher import sign_envelope
from ezhifu.testing import make_pki

os.environ.setdefault("EZHIFU_KEYSTORE_PASSWORD", "example password, use your own")
os.environ.setdefault("EZHIFU_AUDIT_KEY", "example audit key, at least 16 bytes")
pki = make_pki("sm2")
config = {
    "type": "file",
    "path": "keystore",
    "password_env": "EZHIFU_KEYSTORE_PASSWORD",
    "create": True,
    "audit": "audit.db",  # the trail; its head file is audit.db.head
    "audit_key_env": "EZHIFU_AUDIT_KEY",
}

# 1. Every signature made with a key of this store is recorded, and so is every write.
with open_keystore(config) as store:
    assert isinstance(store, EncryptedFileKeyStore)
    store.import_key("finance", pki.leaf_key, pki.chain)
    store.import_key("old-clerk", pki.issue_leaf("old clerk")[1])
    sign_envelope(Envelope.build([sample_voucher("5201")]), store.signer("finance"), "cz_dwfz")
shutil.copytree("keystore", "keystore-backup")  # someone keeps a copy of the store ...
source, target = sqlite3.connect("audit.db"), sqlite3.connect("audit-backup.db")
source.backup(target)  # ... and of the trail
source.close()
target.close()
with open_keystore(config) as store:
    assert isinstance(store, EncryptedFileKeyStore)
    store.remove_key("old-clerk")  # the clerk left
key = os.environ["EZHIFU_AUDIT_KEY"].encode()
with open_audit("audit.db", key) as log:
    print("entries:", [(e.operation, e.alias) for e in log.entries()])
    witness = log.witness_line()  # copy this line to another system (a ticket, a daily mail)
    print("witness:", witness[:60] + "...")

# 2. The store restored from the copy: the removed key would come back. Refused.
shutil.rmtree("keystore")
shutil.copytree("keystore-backup", "keystore")
try:
    open_keystore(config)
except KeyStoreRolledBack as exc:
    print("older keystore refused:", str(exc).split(":")[1].strip())

# 3. The trail restored from its copy: consistent on its own, caught by the head file and the witness.
shutil.copyfile("audit-backup.db", "audit.db")
for suffix in ("-wal", "-shm"):
    Path(f"audit.db{suffix}").unlink(missing_ok=True)
with open_audit("audit.db", key) as log:
    try:
        log.verify(anchors=parse_witness_lines(witness, None, "witness"))
    except AuditRolledBack as exc:
        print("older trail caught:", type(exc).__name__)
