"""The keystore seam: one interface over memory, encrypted files, PKCS#12 and PKCS#11.

The notice on 国库集中支付电子化 calls the security support control the *safe box* (保险柜):
keys and seals live in it and are only ever *used* through it. :class:`KeyStore` is that
interface. Every backend answers the same questions (which aliases, which certificate chain,
what kind of key, which seals) and hands out :class:`ezhifu.crypto.base.Signer` objects; a
private key never leaves a backend as bytes.

Backends are found by ``type`` through the entry-point group ``ezhifu.keystores`` (the
built-in ones are registered there in ``pyproject.toml`` exactly like a third-party backend
would be), and each is built from a plain mapping by ``from_config``, which rejects unknown
keys by name so that a typo in a configuration file is an error, not a silent default.
"""

from __future__ import annotations

import abc
import os
import stat
import threading
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from asn1crypto import x509

from ezhifu._closing import Closing
from ezhifu.crypto.base import SignatureAlgorithm, Signer
from ezhifu.errors import BadPassword, ConfigurationError, EzhifuError, KeyNotFound, KeyStoreError
from ezhifu.keystore.audit_use import AUDIT_CONFIG_KEYS, attach_audit_from_config
from ezhifu.keystore.integrity import canonical_json, same_text
from ezhifu.keystore.secret import secret_from_config
from ezhifu.pki.certs import key_kind, subject_text
from ezhifu.pki.keys import public_key_of, same_public_key
from ezhifu.pki.path import same_name
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import same_certificate

if TYPE_CHECKING:
    from ezhifu.keystore.audit import AuditLog

__all__ = [
    "ENTRY_POINT_GROUP",
    "INLINE_SECRET_KEYS",
    "PATH_KEYS",
    "RSA_DIGESTS",
    "SIGNING_CONFIG_KEYS",
    "KeyEntry",
    "KeyStore",
    "SoftwareKeyStore",
    "StoreLocked",
    "apply_signing_config",
    "available_backends",
    "canonical_json",
    "check_config_keys",
    "check_key_matches",
    "load_config",
    "open_keystore",
    "order_chain",
    "read_toml",
    "required_text",
    "same_text",
    "secret_from_config",
    "software_signer",
]

_T = TypeVar("_T")

#: Entry-point group in which keystore backends register (``type = module:Class``).
ENTRY_POINT_GROUP = "ezhifu.keystores"

#: Configuration keys holding file system paths; ``load_config`` resolves them against the
#: directory of the TOML file when they are relative.
PATH_KEYS = frozenset(
    {"path", "password_file", "pin_file", "module", "audit", "audit_head", "audit_key_file"}
)

#: Configuration keys that hold a secret value inline (``load_config`` then requires mode 0600).
INLINE_SECRET_KEYS = frozenset({"password", "pin", "audit_key"})

#: Optional keys every backend accepts: signing (:meth:`KeyStore.set_signing_policy`), audit_use's.
SIGNING_CONFIG_KEYS = frozenset({"rsa_digest", "allow_weak", *AUDIT_CONFIG_KEYS})

#: ``rsa_digest`` values -> the RSA signature algorithm.
RSA_DIGESTS = {
    "sha256": SignatureAlgorithm.RSA_SHA256,
    "sha384": SignatureAlgorithm.RSA_SHA384,
    "sha512": SignatureAlgorithm.RSA_SHA512,
    "sha1": SignatureAlgorithm.RSA_SHA1,
}

#: Key kinds, as in :attr:`ezhifu.crypto.base.SignatureAlgorithm.key_kind`.
KEY_KINDS = ("sm2", "rsa", "ec")


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """What a keystore knows about one alias, without the private key.

    ``chain`` is the certificate chain leaf first (the leaf is ``chain[0]`` when there is a
    certificate at all); ``kind`` is ``"sm2"``, ``"rsa"`` or ``"ec"``.
    """

    alias: str
    kind: str
    chain: tuple[x509.Certificate, ...] = field(default=())

    @property
    def certificate(self) -> x509.Certificate | None:
        return self.chain[0] if self.chain else None


class StoreLocked(BadPassword):
    """The store was opened without its password or PIN and has not been unlocked."""


class KeyStore(Closing, abc.ABC):
    """A safe box of keys (by alias) and seals (by seal id).

    Implementations are thread-safe for reading and signing. ``close()`` releases files,
    sessions and cached key material; it is idempotent, and any use after it raises
    :class:`KeyStoreError`. Use a keystore as a context manager.
    """

    #: The ``type`` under which the backend is registered.
    type_name: ClassVar[str] = ""
    #: Configuration keys ``from_config`` accepts besides ``type``.
    config_keys: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self._closed = False
        self._locked = False
        self._state_lock = threading.RLock()
        self._signers: dict[str, Signer] = {}
        self._rsa_algorithm = SignatureAlgorithm.RSA_SHA256
        self._allow_weak = False
        self._audit: AuditLog | None = None
        self._owns_audit = False
        #: the backend's own lock, and its index of the keys it holds (by alias)
        self._lock = threading.RLock()
        self._key_entries: dict[str, KeyEntry] = {}

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """Build the backend from a configuration mapping (see each backend's docs): keys it
        does not know are refused by name (:attr:`config_keys`), the backend is opened from its
        own keys (:meth:`_from_settings`), then the optional keys of :data:`SIGNING_CONFIG_KEYS`
        (signing policy, audit trail) are applied."""
        check_config_keys(config, cls.config_keys, backend=cls.type_name)
        store = cls._from_settings(config)
        apply_signing_config(store, config)
        return store

    @classmethod
    def _from_settings(cls, config: Mapping[str, Any]) -> Self:
        """The backend opened from its own keys of ``config`` (already checked by name)."""
        raise NotImplementedError(f"{cls.__name__} is built by its own from_config")

    # -- what every backend answers ------------------------------------------------------

    def _entries(self) -> Mapping[str, KeyEntry]:
        """All key entries by alias (cheap: no private key is touched): the backend's index."""
        with self._lock:
            return dict(self._key_entries)

    @abc.abstractmethod
    def _signer(self, entry: KeyEntry, pin: str | None) -> Signer:
        """A signer for the entry's private key."""

    def _seals(self) -> Mapping[str, bytes]:
        """Seal DER by seal id; backends without seals hold none."""
        return {}

    def _close(self) -> None:
        """Release backend resources (called once)."""

    def _unlock(self, secret: str) -> None:
        """Open a store that was created without its secret; raise BadPassword when wrong."""
        raise KeyStoreError(f"{self.describe()} cannot be unlocked")

    # -- public API ----------------------------------------------------------------------

    def set_signing_policy(self, *, rsa_digest: str = "sha256", allow_weak: bool = False) -> None:
        """Choose the RSA digest (``sha256`` default, ``sha384``, ``sha512``, ``sha1``) and
        whether weak choices (SHA-1, RSA under 2048 bits: the deployed legacy profile,
        spec.md §5.3) are allowed. SM2 always signs with SM3 and ECDSA with SHA-256."""
        if rsa_digest not in RSA_DIGESTS:
            raise ConfigurationError(
                f"rsa_digest must be one of {', '.join(RSA_DIGESTS)}, not {rsa_digest!r}"
            )
        with self._state_lock:
            self._rsa_algorithm = RSA_DIGESTS[rsa_digest]
            self._allow_weak = bool(allow_weak)
            self._signers.clear()

    def attach_audit(self, audit: AuditLog, *, owns: bool = False) -> None:
        """Record every use of a key of this store in ``audit`` (signers are wrapped).

        With ``owns`` the trail is closed with the store. A store that keeps a generation
        counter binds it to the trail's head file here (an older copy is refused).
        """
        with self._state_lock:
            self._check_open()
            self._audit, self._owns_audit = audit, owns
            self._audit_attached()

    def _audit_attached(self) -> None:
        """Called when a trail is attached (the file store checks its generation)."""

    @property
    def audit(self) -> AuditLog | None:
        """The attached audit trail, if any."""
        return self._audit

    def unlock(self, secret: str) -> None:
        """Give the password or PIN of a store opened without it (no-op when unlocked)."""
        with self._state_lock:
            self._check_open()
            if self._locked:
                self._unlock(secret)
                self._locked = False

    @property
    def locked(self) -> bool:
        """True while a store opened without its secret waits for :meth:`unlock`."""
        return self._locked

    def aliases(self) -> list[str]:
        """The aliases of the keys held, sorted."""
        self._check_ready()
        return sorted(self._entries())

    def entry(self, alias: str) -> KeyEntry:
        """The :class:`KeyEntry` for ``alias``; :class:`KeyNotFound` when absent."""
        return self._held(self._entries, alias, "key under alias")

    def _held(self, held: Callable[[], Mapping[str, _T]], name: str, what: str) -> _T:
        """``held()[name]`` of a ready store; :class:`KeyNotFound` naming what it holds instead."""
        self._check_ready()
        items = held()
        if name not in items:
            have = ", ".join(sorted(items)) or "none"
            raise KeyNotFound(f"{self.describe()}: no {what} {name!r} (have: {have})")
        return items[name]

    def certificate(self, alias: str) -> x509.Certificate | None:
        """The certificate of ``alias`` (``None`` when the key has no certificate)."""
        return self.entry(alias).certificate

    def chain(self, alias: str) -> list[x509.Certificate]:
        """The certificate chain of ``alias``, leaf first (empty when there is none)."""
        return list(self.entry(alias).chain)

    def key_kind(self, alias: str) -> str:
        """``"sm2"``, ``"rsa"`` or ``"ec"``."""
        return self.entry(alias).kind

    def signer(self, alias: str, pin: str | None = None) -> Signer:
        """A :class:`Signer` for the key under ``alias``.

        When the store was opened without its secret, ``pin`` unlocks it (PKCS#11 user PIN,
        or the password of a file or PKCS#12 store). Otherwise a ``pin`` is the key's own
        password where a backend supports per-key passwords (file and PKCS#12 stores). A
        wrong one raises :class:`ezhifu.errors.BadPassword`.
        """
        with self._state_lock:
            self._check_open()
            if self._locked:
                if pin is None:
                    self._check_ready()
                self.unlock(str(pin))
                pin = None
        entry = self.entry(alias)
        with self._state_lock:
            self._check_open()
            signer = self._signer(entry, pin)
            if self._audit is not None:
                return self._audit.wrap_signer(signer, alias=alias, where=self.describe())
            return signer

    def seal_ids(self) -> list[str]:
        """The ids of the seals held, sorted."""
        self._check_ready()
        return sorted(self._seals())

    def seal(self, seal_id: str) -> bytes:
        """The DER of the seal ``seal_id``; :class:`KeyNotFound` when absent."""
        return self._held(self._seals, seal_id, "seal with id")

    def close(self) -> None:
        """Release resources; idempotent."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            self._close()
            if self._audit is not None and self._owns_audit:
                self._audit.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def describe(self) -> str:
        """A short human name for messages (type and location, never a secret)."""
        return f"{self.type_name or type(self).__name__} keystore"

    def __enter__(self) -> Self:
        self._check_open()
        return self

    def __repr__(self) -> str:
        state = "closed" if self._closed else "locked" if self._locked else "open"
        return f"<{type(self).__name__} {self.describe()} ({state})>"

    def _check_open(self) -> None:
        if self._closed:
            raise KeyStoreError(f"{self.describe()} is closed")

    def _check_ready(self) -> None:
        self._check_open()
        if self._locked:
            raise StoreLocked(
                f"{self.describe()} is locked: give its password or PIN (configuration, unlock() or pin)"
            )


class SoftwareKeyStore(KeyStore):
    """A backend whose private keys are objects in this process (memory, file, PKCS#12): it
    loads a key (:meth:`_load_key`) and signs with a :func:`software_signer` over it.

    Signers made with the store's own secret are cached per alias; one made with a per-key
    ``pin`` is not, so a wrong pin can never be answered from the cache. A loaded key that is
    not its leaf certificate's is refused, unless the backend checked that when the key was
    added (:attr:`checked_when_added`); a backend without per-key passwords
    (:attr:`key_passwords` false) ignores ``pin`` and always caches.
    """

    #: The backend refused a key that is not its certificate's when it was added.
    checked_when_added: ClassVar[bool] = False
    #: A key may have a password of its own (``pin`` of :meth:`KeyStore.signer`).
    key_passwords: ClassVar[bool] = True

    @abc.abstractmethod
    def _load_key(self, alias: str, pin: str | None) -> Any:
        """The private key object of ``alias`` (decrypted with ``pin`` or the store's secret);
        called under the store's lock, only when no signer is cached."""

    def _signer(self, entry: KeyEntry, pin: str | None) -> Signer:
        pin = pin if self.key_passwords else None
        with self._lock:
            cached = self._signers.get(entry.alias) if pin is None else None
            if cached is not None:
                return cached
            key = self._load_key(entry.alias, pin)
            if not self.checked_when_added and entry.chain:
                check_key_matches(key, entry.chain[0], where=f"{self.describe()}, key {entry.alias!r}")
            signer = software_signer(
                key, entry.chain, rsa_algorithm=self._rsa_algorithm, allow_weak=self._allow_weak
            )
            if pin is None:
                self._signers[entry.alias] = signer
            return signer


# --- configuration ------------------------------------------------------------------------


def check_config_keys(config: Mapping[str, Any], allowed: Iterable[str], *, backend: str) -> None:
    """Refuse configuration keys the backend does not know (by name), and a wrong ``type``."""
    known = set(allowed) | {"type"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ConfigurationError(
            f"keystore type {backend!r}: unknown configuration key(s) {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(sorted(known))})"
        )
    kind = config.get("type", backend)
    if kind != backend:
        raise ConfigurationError(f"keystore configuration has type {kind!r}, expected {backend!r}")


def required_text(config: Mapping[str, Any], key: str, *, backend: str, hint: str = "") -> str:
    """The non-empty string under ``key``; :class:`ConfigurationError` naming it when absent."""
    value = config.get(key)
    if not isinstance(value, str) or not value:
        explained = f" ({hint})" if hint else ""
        raise ConfigurationError(f"keystore type {backend!r}: {key!r}{explained} is required")
    return value


def available_backends() -> dict[str, metadata.EntryPoint]:
    """The registered backends by ``type``."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def open_keystore(config: Mapping[str, Any]) -> KeyStore:
    """Open the keystore described by ``config``, choosing the backend by ``config["type"]``.

    The backend class is looked up in the entry-point group ``ezhifu.keystores`` and built
    with its ``from_config`` classmethod.
    """
    kind = config.get("type")
    if not isinstance(kind, str) or not kind:
        raise ConfigurationError("keystore configuration: missing 'type' (e.g. 'file', 'pkcs12', 'pkcs11')")
    backends = available_backends()
    entry_point = backends.get(kind)
    if entry_point is None:
        raise ConfigurationError(
            f"keystore configuration: unknown type {kind!r} (registered: {', '.join(sorted(backends))})"
        )
    try:
        cls = entry_point.load()
    except ImportError as exc:
        raise ConfigurationError(f"keystore type {kind!r}: cannot load {entry_point.value}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, KeyStore)):
        raise ConfigurationError(f"keystore type {kind!r}: {entry_point.value} is not a KeyStore class")
    return cls.from_config(config)


def read_toml(file: Path, what: str) -> dict[str, Any]:
    """Parse the TOML file ``file``; :class:`ConfigurationError` naming ``what`` when it cannot."""
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(f"{file}: cannot read {what}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{file}: not valid TOML: {exc}") from exc


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a keystore configuration from TOML.

    The keystore table is either the whole file or its ``[keystore]`` table. Relative
    paths under the keys in :data:`PATH_KEYS` are resolved against the file's directory
    (``module`` only when it contains a path separator, so that a bare library name is
    left to the dynamic loader). A file holding a ``password`` or ``pin`` inline must not be
    readable by group or others (POSIX), else :class:`ConfigurationError`.
    """
    file = Path(path)
    data = read_toml(file, "keystore configuration")
    table = data.get("keystore", data)
    if not isinstance(table, dict):
        raise ConfigurationError(f"{file}: [keystore] must be a table")
    config = dict(table)
    inline = sorted(k for k in INLINE_SECRET_KEYS if config.get(k) is not None)
    if inline and os.name == "posix":
        # A password or PIN written into the file is only as safe as the file's mode.
        try:
            mode = file.stat().st_mode
        except OSError as exc:
            raise ConfigurationError(f"{file}: cannot stat: {exc.strerror}") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigurationError(
                f"{file}: holds an inline {' and '.join(inline)} but is readable by others "
                f"(mode {stat.S_IMODE(mode):o}); chmod 600 it or use {inline[0]}_env / {inline[0]}_file"
            )
    base = file.resolve().parent
    for key in PATH_KEYS:
        value = config.get(key)
        if not isinstance(value, str):
            continue
        if key == "module" and "/" not in value and os.sep not in value:
            continue
        candidate = Path(value).expanduser()
        if not candidate.is_absolute():
            candidate = base / candidate
        config[key] = os.path.normpath(candidate)
    return config


# --- software keys (memory, file and PKCS#12 backends) -----------------------------------


def software_signer(
    key: Any,
    chain: tuple[x509.Certificate, ...],
    *,
    rsa_algorithm: SignatureAlgorithm = SignatureAlgorithm.RSA_SHA256,
    allow_weak: bool = False,
) -> Signer:
    """A :class:`ezhifu.pki.signer.SoftwareSigner` over an in-memory key and its leaf certificate."""
    algorithm = rsa_algorithm if key_kind(key) == "rsa" else None
    signer: Signer = SoftwareSigner(
        key, chain[0] if chain else None, algorithm=algorithm, allow_weak=allow_weak
    )
    return signer


def apply_signing_config(store: KeyStore, config: Mapping[str, Any]) -> None:
    """Apply the optional ``rsa_digest`` and ``allow_weak`` keys (:data:`SIGNING_CONFIG_KEYS`)."""
    digest = config.get("rsa_digest", "sha256")
    allow_weak = config.get("allow_weak", False)
    if not isinstance(digest, str):
        raise ConfigurationError("keystore: 'rsa_digest' must be a string such as 'sha256'")
    if not isinstance(allow_weak, bool):
        raise ConfigurationError("keystore: 'allow_weak' must be true or false")
    store.set_signing_policy(rsa_digest=digest, allow_weak=allow_weak)
    attach_audit_from_config(store, config)


def check_key_matches(key: Any, cert: x509.Certificate, *, where: str) -> None:
    """Refuse a private key whose public half is not the certificate's public key."""
    try:
        same = same_public_key(key, public_key_of(cert))
    except EzhifuError as exc:
        raise KeyStoreError(f"{where}: {exc}") from exc
    if not same:
        raise KeyStoreError(f"{where}: the private key does not belong to certificate {subject_text(cert)!r}")


def order_chain(leaf: x509.Certificate, others: Iterable[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """The leaf followed by its issuers found among ``others`` (matched by name), up to a root."""
    chain = [leaf]
    pool = [c for c in others if not same_certificate(c, leaf)]
    current = leaf
    while True:  # bounded: every step takes one certificate out of the pool
        issuer = next((c for c in pool if same_name(c.subject, current.issuer) and c is not current), None)
        if issuer is None or current.self_signed in ("maybe", "yes"):
            break
        chain.append(issuer)
        pool.remove(issuer)
        current = issuer
    return tuple(chain)
