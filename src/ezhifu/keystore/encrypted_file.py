"""A keystore in a directory: encrypted PKCS#8 keys, certificates and seals.

Layout (every file mode 0600, directories 0700)::

    <dir>/keystore.json           the manifest: the commit point of every change
    <dir>/keys/<sha256>.p8        EncryptedPrivateKeyInfo, PEM (RFC 5958 clause 3)
    <dir>/certs/<sha256>.pem      certificate chain, leaf first (RFC 7468)
    <dir>/seals/<sha256>.seal     seal DER (GM/T 0031 / GB/T 38540 or vendor)
    <dir>/.lock                   advisory lock serialising writers (POSIX flock)

Private keys are only ever written encrypted: PKCS#8 ``EncryptedPrivateKeyInfo`` with PBES2
(RFC 8018 clause 6.2) using scrypt (RFC 7914) or PBKDF2-HMAC-SHA256 and AES-256-CBC, or
SM4-CBC (GB/T 32907) as an option, through :mod:`ezhifu.pki.pkcs8`.

Integrity: the manifest names every file with its SHA-256, and carries an HMAC-SHA256 over
its canonical JSON under a key derived from the store password with scrypt (salt and cost in
the manifest). A wrong password is told apart from tampering by a separate password check
value (HMAC of a fixed label under the same key): a wrong password raises
:class:`BadPassword`, a manifest that does not authenticate or a file whose hash differs
raises :class:`CorruptedKeyFile`.

Atomicity: data files are content-addressed and written before the manifest; each file is
written to a temporary file in the same directory, flushed with ``fsync``, renamed over the
target with ``os.replace`` and the directory is ``fsync``-ed. A process killed at any point
leaves either the previous manifest (with all the files it names, which are never modified)
or the new one. Files no manifest names are swept on the next write.

Rollback: the manifest's ``generation`` counter (MACed) grows on every write; with an audit trail
attached (``audit`` configuration keys) the trail's head file remembers it, so an older copy of
the store (a removed key coming back) is refused on open or unlock (:class:`KeyStoreRolledBack`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

from asn1crypto import x509
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ezhifu import _fileio
from ezhifu.errors import (
    AliasExists,
    BadPassword,
    ConfigurationError,
    CorruptedKeyFile,
    EzhifuError,
    InvalidInput,
    KeyNotFound,
    KeyStoreError,
)
from ezhifu.keystore.base import (
    SIGNING_CONFIG_KEYS,
    KeyEntry,
    SoftwareKeyStore,
    check_key_matches,
    required_text,
    secret_from_config,
)
from ezhifu.keystore.integrity import canonical_json, same_text
from ezhifu.pki.certs import key_kind
from ezhifu.pki.keys import dump_certificates, dump_private_key, load_certificates, load_private_key

__all__ = ["MANIFEST_NAME", "EncryptedFileKeyStore", "atomic_write"]

MANIFEST_NAME = "keystore.json"
_FORMAT = "ezhifu-keystore"
_VERSION = 1
_MAX_MANIFEST = 16 * 1024 * 1024
_CHECK_LABEL = b"ezhifu-keystore password check v1"
_MAX_SCRYPT_N = 2**20
#: scrypt memory (128 * r * N bytes, RFC 7914 clause 2) and work (N * r * p) accepted from a
#: manifest: N = 2**20 with r = 8 (what init allows) fits, a planted r = 32, p = 4 does not.
_MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024
_MAX_SCRYPT_WORK = 2**23

KdfName = Literal["scrypt", "pbkdf2"]
CipherName = Literal["aes-256-cbc", "sm4-cbc"]

#: Test seam: called with the target path after the temporary file is written and synced and
#: before it is renamed into place (crash tests make the process exit here).
before_replace_hook: Callable[[Path], None] | None = None


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, mode 0600 (:func:`ezhifu._fileio.atomic_write`)."""
    _fileio.atomic_write(path, data, mode=0o600, before_replace=before_replace_hook)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class _Kdf:
    salt: bytes
    n: int
    r: int
    p: int

    def derive(self, password: bytes) -> bytes:

        return Scrypt(self.salt, 32, self.n, self.r, self.p).derive(password)

    def to_json(self) -> dict[str, Any]:
        return {"name": "scrypt", "salt": _b64(self.salt), "n": self.n, "r": self.r, "p": self.p}

    @classmethod
    def from_json(cls, data: Any, where: str) -> _Kdf:
        try:
            if data["name"] != "scrypt":
                raise CorruptedKeyFile(f"{where}: unknown manifest KDF {data['name']!r}")
            kdf = cls(
                base64.b64decode(data["salt"], validate=True), int(data["n"]), int(data["r"]), int(data["p"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptedKeyFile(f"{where}: damaged manifest KDF parameters") from exc
        # Bound the cost read from disk: a planted manifest must not exhaust memory or time.
        if (
            kdf.n < 2
            or kdf.n & (kdf.n - 1)
            or kdf.n > _MAX_SCRYPT_N
            or not 1 <= kdf.r <= 32
            or not 1 <= kdf.p <= 4
            or 128 * kdf.r * kdf.n > _MAX_SCRYPT_MEMORY
            or kdf.n * kdf.r * kdf.p > _MAX_SCRYPT_WORK
        ):
            raise CorruptedKeyFile(f"{where}: manifest KDF parameters out of bounds")
        return kdf


class EncryptedFileKeyStore(SoftwareKeyStore):
    """A directory keystore (see the module docstring for the layout and guarantees).

    Configuration (``type = "file"``): ``path`` (the directory) and the store password as one
    of ``password``, ``password_env`` or ``password_file``; for :meth:`init` also ``kdf``
    (``"scrypt"`` or ``"pbkdf2"``), ``cipher`` (``"aes-256-cbc"`` or ``"sm4-cbc"``),
    ``scrypt_n`` and ``pbkdf2_iterations``. ``create = true`` initialises a missing store.
    Without a password the store opens *locked*: :meth:`unlock` or ``signer(alias, pin=...)``
    gives it. A wrong password raises :class:`BadPassword`. Signers handed out keep their key
    after :meth:`close`; drop them to release it.
    """

    type_name = "file"
    config_keys = SIGNING_CONFIG_KEYS | frozenset(
        {
            "path",
            "password",
            "password_env",
            "password_file",
            "kdf",
            "cipher",
            "scrypt_n",
            "pbkdf2_iterations",
            "create",
        }
    )

    def __init__(
        self,
        path: str | os.PathLike[str],
        password: str | bytes | None,
        *,
        kdf: KdfName = "scrypt",
        cipher: CipherName = "aes-256-cbc",
        scrypt_n: int = 2**15,
        pbkdf2_iterations: int = 600_000,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self._where = f"file keystore {self.path}"
        if password is None:
            self._password = b""
        else:
            self._password = password.encode("utf-8") if isinstance(password, str) else bytes(password)
            if not self._password:
                raise BadPassword(f"{self._where}: an empty password is not accepted")
        if kdf not in ("scrypt", "pbkdf2"):
            raise ConfigurationError(f"{self._where}: kdf must be 'scrypt' or 'pbkdf2', not {kdf!r}")
        if cipher not in ("aes-256-cbc", "sm4-cbc"):
            raise ConfigurationError(
                f"{self._where}: cipher must be 'aes-256-cbc' or 'sm4-cbc', not {cipher!r}"
            )
        self._kdf_name: KdfName = kdf
        self._cipher: CipherName = cipher
        self._scrypt_n = scrypt_n
        self._pbkdf2_iterations = pbkdf2_iterations
        self._manifest: dict[str, Any] = {}
        self._mac_key = b""
        self._seal_cache: dict[str, bytes] = {}
        if password is None:
            self._locked = True  # opened without the password: unlock() or signer(pin=...)
        else:
            self._load()

    # -- creation and configuration --------------------------------------------------------

    @classmethod
    def init(
        cls,
        path: str | os.PathLike[str],
        password: str | bytes,
        *,
        kdf: KdfName = "scrypt",
        cipher: CipherName = "aes-256-cbc",
        scrypt_n: int = 2**15,
        pbkdf2_iterations: int = 600_000,
    ) -> EncryptedFileKeyStore:
        """Create an empty store in ``path`` (created with mode 0700 if missing) and open it."""
        directory = Path(path)
        secret = password.encode("utf-8") if isinstance(password, str) else bytes(password)
        if not secret:
            raise BadPassword(f"file keystore {directory}: an empty password is not accepted")
        if (directory / MANIFEST_NAME).exists():
            raise KeyStoreError(f"file keystore {directory}: already initialised")
        kdf_params = _Kdf(secrets.token_bytes(16), scrypt_n, 8, 1)
        if kdf_params.n < 2 or kdf_params.n & (kdf_params.n - 1) or kdf_params.n > _MAX_SCRYPT_N:
            raise ConfigurationError(f"file keystore: scrypt_n={scrypt_n} must be a power of two <= 2**20")
        mac_key = kdf_params.derive(secret)
        manifest: dict[str, Any] = {
            "format": _FORMAT,
            "version": _VERSION,
            "kdf": kdf_params.to_json(),
            "check": hmac.new(mac_key, _CHECK_LABEL, "sha256").hexdigest(),
            "generation": 0,
            "keys": {},
            "seals": {},
        }
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            for sub in ("keys", "certs", "seals"):
                (directory / sub).mkdir(mode=0o700, exist_ok=True)
            with _fileio.exclusive_lock(directory / ".lock"):
                _write_manifest(directory, manifest, mac_key)
        except OSError as exc:
            raise KeyStoreError(f"file keystore {directory}: cannot create: {exc.strerror or exc}") from exc
        return cls(
            directory, secret, kdf=kdf, cipher=cipher, scrypt_n=scrypt_n, pbkdf2_iterations=pbkdf2_iterations
        )

    @classmethod
    def _from_settings(cls, config: Mapping[str, Any]) -> Self:
        path = required_text(config, "path", backend=cls.type_name, hint="the directory")
        password = secret_from_config(config, "password")
        options: dict[str, Any] = {}
        for key, kind in (("kdf", str), ("cipher", str), ("scrypt_n", int), ("pbkdf2_iterations", int)):
            if key in config:
                if not isinstance(config[key], kind) or isinstance(config[key], bool):
                    raise ConfigurationError(f"keystore type 'file': {key!r} must be {kind.__name__}")
                options[key] = config[key]
        create = config.get("create", False)
        if not isinstance(create, bool):
            raise ConfigurationError("keystore type 'file': 'create' must be true or false")
        if create and not (Path(path) / MANIFEST_NAME).exists():
            if password is None:
                raise ConfigurationError(
                    "keystore type 'file': 'create' needs the password in the configuration"
                )
            store = cls.init(path, password, **options)
            if not isinstance(store, cls):  # pragma: no cover - subclasses override init
                raise ConfigurationError(f"{cls.__name__}.init returned {type(store).__name__}")
        else:
            store = cls(path, password, **options)
        return store

    def describe(self) -> str:
        return self._where

    def _unlock(self, secret: str) -> None:
        if not secret:
            raise BadPassword(f"{self._where}: an empty password is not accepted")
        self._password = secret.encode("utf-8")
        try:
            self._load()
        except BaseException:
            self._password = b""
            raise

    # -- reading ---------------------------------------------------------------------------

    def _load(self) -> None:
        manifest, mac_key = _read_manifest(self.path, self._password, self._where)
        entries: dict[str, KeyEntry] = {}
        for alias, info in manifest["keys"].items():
            chain: tuple[x509.Certificate, ...] = ()
            if info.get("certs"):
                data = self._read_object(info["certs"], info["certs_sha256"], f"certificates of {alias!r}")
                try:
                    chain = tuple(load_certificates(data))
                except EzhifuError as exc:
                    raise CorruptedKeyFile(
                        f"{self._where}: certificates of {alias!r} do not load ({exc})"
                    ) from exc
            kind = info.get("kind")
            if kind not in ("sm2", "rsa", "ec"):
                raise CorruptedKeyFile(f"{self._where}: key {alias!r} has unknown kind {kind!r}")
            entries[alias] = KeyEntry(alias=alias, kind=kind, chain=chain)
        self._manifest, self._mac_key, self._key_entries = manifest, mac_key, entries
        self._seal_cache = {}
        self._audit_attached()

    @property
    def generation(self) -> int:
        """How many writes the store has seen (covered by the manifest MAC)."""
        return int(self._manifest["generation"]) if self._manifest else 0

    @property
    def store_id(self) -> str:
        """A stable, non-secret id of this store (from its KDF salt), as the audit head names it."""
        return hashlib.sha256(str(self._manifest.get("kdf", {}).get("salt")).encode()).hexdigest()[:16]

    def _audit_attached(self) -> None:
        if self._manifest and self._audit is not None:
            self._audit.bind_keystore(self.store_id, self.generation, where=self._where)

    def _read_object(self, name: str, sha256: str, what: str) -> bytes:
        path = self._object_path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise CorruptedKeyFile(f"{self._where}: {what}: file {name} is missing") from exc
        except OSError as exc:
            raise KeyStoreError(f"{self._where}: {what}: cannot read {name}: {exc.strerror}") from exc
        if not same_text(hashlib.sha256(data).hexdigest(), sha256):
            raise CorruptedKeyFile(
                f"{self._where}: {what}: file {name} is damaged or was altered (hash mismatch)"
            )
        return data

    def _object_path(self, name: str) -> Path:
        # Names come from an authenticated manifest, but stay defensive about traversal.
        parts = Path(name).parts
        if len(parts) != 2 or parts[0] not in ("keys", "certs", "seals") or parts[1].startswith("."):
            raise CorruptedKeyFile(f"{self._where}: manifest names an unexpected file {name!r}")
        return self.path / name

    def _seals(self) -> Mapping[str, bytes]:
        with self._lock:
            for seal_id, info in self._manifest["seals"].items():
                if seal_id not in self._seal_cache:
                    self._seal_cache[seal_id] = self._read_object(
                        info["file"], info["sha256"], f"seal {seal_id!r}"
                    )
            return dict(self._seal_cache)

    def _load_key(self, alias: str, pin: str | None) -> Any:

        info = self._manifest["keys"][alias]
        data = self._read_object(info["key"], info["key_sha256"], f"key {alias!r}")
        password = self._password if pin is None else pin.encode("utf-8")
        try:
            return load_private_key(data, password)
        except BadPassword as exc:
            raise BadPassword(f"{self._where}: wrong password for key {alias!r}") from exc
        except EzhifuError as exc:
            raise CorruptedKeyFile(f"{self._where}: key {alias!r} does not load ({exc})") from exc

    # -- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[dict[str, Any]]:
        """Lock, reload the newest manifest, let the caller change it, then commit."""
        with self._lock:
            self._check_ready()
            try:
                with _fileio.exclusive_lock(self.path / ".lock"):
                    manifest, mac_key = _read_manifest(self.path, self._password, self._where)
                    draft = json.loads(json.dumps(manifest))
                    yield draft
                    draft["generation"] = int(manifest["generation"]) + 1
                    _write_manifest(self.path, draft, mac_key)
                    if self._audit is not None:  # before _load binds the new generation
                        self._audit.keystore_written(self.store_id, draft["generation"])
                    self._load()
                    self._sweep()
            except OSError as exc:  # disk full, permissions, a vanished directory: nothing committed
                raise KeyStoreError(f"{self._where}: cannot write: {exc.strerror or exc}") from exc

    def _put_object(self, folder: str, suffix: str, data: bytes) -> tuple[str, str]:
        digest = hashlib.sha256(data).hexdigest()
        name = f"{folder}/{digest}{suffix}"
        target = self.path / name
        target.parent.mkdir(mode=0o700, exist_ok=True)
        if not target.exists() or hashlib.sha256(target.read_bytes()).hexdigest() != digest:
            atomic_write(target, data)
        return name, digest

    def _sweep(self) -> None:
        """Remove files that no manifest names (old versions, temporaries of a crash)."""
        used = set()
        for info in self._manifest["keys"].values():
            used.add(info["key"])
            if info.get("certs"):
                used.add(info["certs"])
        used.update(info["file"] for info in self._manifest["seals"].values())
        for folder in ("keys", "certs", "seals"):
            directory = self.path / folder
            if not directory.is_dir():
                continue
            for child in directory.iterdir():
                if f"{folder}/{child.name}" not in used:
                    with contextlib.suppress(OSError):
                        child.unlink()
        for child in self.path.glob(".tmp-*"):
            with contextlib.suppress(OSError):
                child.unlink()

    def import_key(
        self,
        alias: str,
        key: Any,
        chain: Iterable[x509.Certificate] = (),
        *,
        replace: bool = False,
        key_password: str | None = None,
    ) -> KeyEntry:
        """Store ``key`` (encrypted) under ``alias`` with its certificate chain, leaf first.

        The key is encrypted with the store password, or with ``key_password`` (then
        :meth:`signer` needs it as ``pin``). An existing alias is refused unless ``replace``.
        """

        if not alias or any(ord(ch) < 32 for ch in alias):
            raise InvalidInput(f"{self._where}: invalid alias {alias!r}")
        certs = tuple(chain)
        if certs:
            check_key_matches(key, certs[0], where=f"{self._where}, alias {alias!r}")
        kind = key_kind(key)
        password = self._password if key_password is None else key_password.encode("utf-8")
        encrypted = dump_private_key(
            key,
            password,
            kdf=self._kdf_name,
            cipher=self._cipher,
            iterations=self._pbkdf2_iterations,
            scrypt_n=self._scrypt_n,
        )
        with self._writing() as manifest:
            if alias in manifest["keys"] and not replace:
                raise AliasExists(f"{self._where}: alias {alias!r} exists (use replace)")
            key_name, key_hash = self._put_object("keys", ".p8", encrypted)
            info: dict[str, Any] = {"kind": kind, "key": key_name, "key_sha256": key_hash}
            if certs:
                text = dump_certificates(certs)
                info["certs"], info["certs_sha256"] = self._put_object("certs", ".pem", text)
            manifest["keys"][alias] = info
        self._signers.pop(alias, None)
        return self.entry(alias)

    def import_pem(
        self,
        alias: str,
        key_data: bytes,
        cert_data: bytes = b"",
        *,
        source_password: bytes | None = None,
        replace: bool = False,
    ) -> KeyEntry:
        """Import a PEM or DER private key (PKCS#8, SEC 1, PKCS#1) and PEM certificates."""

        key = load_private_key(key_data, source_password)
        certs = load_certificates(cert_data) if cert_data.strip() else []
        return self.import_key(alias, key, certs, replace=replace)

    def remove_key(self, alias: str) -> None:
        """Delete the key under ``alias`` (its files are swept after the commit)."""
        with self._writing() as manifest:
            if manifest["keys"].pop(alias, None) is None:
                raise KeyNotFound(f"{self._where}: no key under alias {alias!r}")
        self._signers.pop(alias, None)

    def add_seal(self, seal_id: str, der: bytes, *, replace: bool = False) -> None:
        """Store the seal ``der`` under ``seal_id``."""
        if not seal_id or any(ord(ch) < 32 for ch in seal_id):
            raise InvalidInput(f"{self._where}: invalid seal id {seal_id!r}")
        with self._writing() as manifest:
            if seal_id in manifest["seals"] and not replace:
                raise KeyStoreError(f"{self._where}: seal {seal_id!r} exists (use replace)")
            name, digest = self._put_object("seals", ".seal", bytes(der))
            manifest["seals"][seal_id] = {"file": name, "sha256": digest}

    def export_certificate(self, alias: str, *, chain: bool = False) -> bytes:
        """The certificate (or the whole chain) of ``alias`` as PEM."""
        certs = self.chain(alias)
        if not certs:
            raise KeyNotFound(f"{self._where}: key {alias!r} has no certificate")

        return dump_certificates(certs if chain else certs[:1])

    def reload(self) -> None:
        """Re-read the manifest (after another process changed the store)."""
        with self._lock:
            self._check_ready()
            self._load()
            self._signers.clear()

    def _close(self) -> None:
        with self._lock:
            self._signers.clear()
            self._password = b""
            self._mac_key = b""


# --- manifest -------------------------------------------------------------------------------


def _manifest_mac(manifest: Mapping[str, Any], mac_key: bytes) -> str:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return hmac.new(mac_key, canonical_json(body), "sha256").hexdigest()


def _write_manifest(directory: Path, manifest: dict[str, Any], mac_key: bytes) -> None:
    manifest["mac"] = _manifest_mac(manifest, mac_key)
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    atomic_write(directory / MANIFEST_NAME, text)


def _read_manifest(directory: Path, password: bytes, where: str) -> tuple[dict[str, Any], bytes]:
    path = directory / MANIFEST_NAME
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyStoreError(f"{where}: {MANIFEST_NAME} is readable by others (mode {mode & 0o777:o})")
        with path.open("rb") as handle:
            raw = handle.read(_MAX_MANIFEST + 1)
    except FileNotFoundError as exc:
        raise KeyStoreError(
            f"{where}: not a keystore (no {MANIFEST_NAME}; run 'ezhifu keystore init')"
        ) from exc
    except OSError as exc:
        raise KeyStoreError(f"{where}: cannot read {MANIFEST_NAME}: {exc.strerror}") from exc
    if len(raw) > _MAX_MANIFEST:
        raise CorruptedKeyFile(f"{where}: {MANIFEST_NAME} is larger than {_MAX_MANIFEST} bytes")
    try:
        manifest = json.loads(raw.decode("utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CorruptedKeyFile(f"{where}: {MANIFEST_NAME} is not valid JSON ({exc})") from exc
    if manifest.get("format") != _FORMAT or manifest.get("version") != _VERSION:
        raise CorruptedKeyFile(f"{where}: {MANIFEST_NAME} is not an {_FORMAT} v{_VERSION} manifest")
    mac_key = _Kdf.from_json(manifest.get("kdf"), where).derive(password)
    if not same_text(hmac.new(mac_key, _CHECK_LABEL, "sha256").hexdigest(), manifest.get("check")):
        raise BadPassword(f"{where}: wrong password")
    if not same_text(_manifest_mac(manifest, mac_key), manifest.get("mac")):
        raise CorruptedKeyFile(f"{where}: {MANIFEST_NAME} was altered (MAC check failed)")
    if not isinstance(manifest.get("keys"), dict) or not isinstance(manifest.get("seals"), dict):
        raise CorruptedKeyFile(f"{where}: {MANIFEST_NAME} lacks its keys or seals table")
    generation = manifest.get("generation")
    if not isinstance(generation, int) or isinstance(generation, bool) or not 0 <= generation < 2**63:
        raise CorruptedKeyFile(f"{where}: {MANIFEST_NAME} has no valid generation counter")
    return manifest, mac_key
