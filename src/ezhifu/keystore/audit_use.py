"""Recording every use of a private key: the keystore's ``audit`` settings and :func:`audited`.

A keystore with an audit trail attached (:meth:`ezhifu.keystore.base.KeyStore.attach_audit`,
or the ``audit`` keys of its configuration) hands out :class:`~ezhifu.keystore.audit.AuditedSigner`
objects: each ``sign()`` appends one ``key-use`` entry (alias, algorithm, SM3 of the signed bytes,
and the position / VtCode / voucher number of the surrounding :func:`audit_context`) after the
signature is made and before it is returned, so no signature leaves without its entry. The
same wrapper serves any other signer (:func:`audited`), e.g. a flow library's link signer.

Configuration keys (every backend accepts them, see :data:`AUDIT_CONFIG_KEYS`)::

    [keystore]
    type = "file"
    path = "keys"
    password_env = "KS_PW"
    audit = "audit.db"              # the trail (SQLite), relative to the configuration file
    audit_key_env = "AUDIT_KEY"     # or audit_key_file / audit_key: the HMAC-SM3 key (>= 16 bytes)
    audit_head = "audit.db.head"    # optional: default is the trail's name + ".head"
    audit_actor = "treasury-svc"    # optional: who operates the store
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ezhifu.errors import ConfigurationError
from ezhifu.keystore.audit import AuditedSigner, AuditLog, SQLiteAuditStorage, audit_context
from ezhifu.keystore.secret import secret_from_config

if TYPE_CHECKING:
    from ezhifu.crypto.base import Signer
    from ezhifu.keystore.base import KeyStore

__all__ = [
    "AUDIT_CONFIG_KEYS",
    "AuditedSigner",
    "attach_audit_from_config",
    "audit_context",
    "audited",
    "open_audit",
]

#: Keystore configuration keys that attach an audit trail.
AUDIT_CONFIG_KEYS = frozenset(
    {"audit", "audit_key", "audit_key_env", "audit_key_file", "audit_head", "audit_actor"}
)


def audited(signer: Signer, audit: AuditLog, *, alias: str = "", where: str = "") -> Signer:
    """``signer`` recording each use in ``audit`` (an already audited signer is returned as is)."""
    if isinstance(signer, AuditedSigner) and signer._audit is audit:
        return signer
    return AuditedSigner(signer, audit, alias=alias, where=where)


def open_audit(
    path: str, key: bytes, *, head: str | None = None, actor: str = "", synchronous: str = "FULL"
) -> AuditLog:
    """An SQLite trail at ``path`` with its head file (``head``, default ``<path>.head``)."""
    storage = SQLiteAuditStorage(path, synchronous=synchronous)
    return AuditLog(storage, key, actor=actor, head_file=head if head is not None else True)


def attach_audit_from_config(store: KeyStore, config: Mapping[str, Any]) -> None:
    """Attach the trail the ``audit`` keys of a keystore configuration name (none: no-op)."""
    given = sorted(k for k in AUDIT_CONFIG_KEYS if config.get(k) is not None)
    if not given:
        return
    path = config.get("audit")
    if not isinstance(path, str) or not path:
        raise ConfigurationError(
            f"keystore: {', '.join(given)} given but 'audit' (the trail's path) is missing"
        )
    secret = secret_from_config(config, "audit_key")
    if secret is None:
        raise ConfigurationError(
            "keystore: 'audit' needs its key: audit_key_env, audit_key_file or audit_key"
        )
    key = secret.encode("utf-8")
    head = config.get("audit_head")
    actor = config.get("audit_actor", "")
    if head is not None and not isinstance(head, str):
        raise ConfigurationError("keystore: 'audit_head' must be a path string")
    if not isinstance(actor, str):
        raise ConfigurationError("keystore: 'audit_actor' must be a string")
    log = open_audit(path, key, head=head, actor=actor)
    try:
        store.attach_audit(log, owns=True)
    except BaseException:  # e.g. KeyStoreRolledBack: nothing stays open behind the error
        log.close()
        store.close()
        raise
