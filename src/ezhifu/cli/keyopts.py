"""Reusable command-line options that select a signing key (used by ``sign`` and ``seal``).

Two ways to name a key, exactly one of which must be used:

* a key file: ``--key KEY.pem --cert CERT.pem [--password-env VAR]``; the certificate file
  may hold the chain after the signer certificate (leaf first); the key password is read
  from the environment variable ``VAR``, never from the command line (it would show in the
  process list and the shell history);
* a keystore (the safe box): ``--keystore CONFIG.toml --alias A [--pin-env VAR]``, opened
  with :func:`ezhifu.keystore.open_keystore` from the TOML configuration.

Either way, ``--audit TRAIL --audit-key-env VAR`` records every use of the key in an audit
trail (:mod:`ezhifu.keystore.audit`, with its head file ``TRAIL.head``); a keystore whose
configuration names an ``audit`` trail records there as well. The signing certificate must be
valid now: an expired or not-yet-valid one is refused (``CertificateExpired`` /
``CertificateNotYetValid``, exit 1) before anything is signed.

Usage::

    @click.command()
    @key_options
    def command(key_source: KeySource, ...) -> None:
        with open_signer(key_source) as (signer, chain):
            ...
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from asn1crypto import x509

from ezhifu.cli.common import MAX_SMALL_FILE_BYTES, check_config, load_keystore_config, read_input
from ezhifu.cli.options import EXISTING_FILE, FILE_PATH, env_option, gathered, stacked
from ezhifu.crypto.base import SignatureAlgorithm, Signer
from ezhifu.errors import CertificateExpired, CertificateNotYetValid, ConfigurationError
from ezhifu.keystore.audit_use import audited, open_audit
from ezhifu.pki.certs import check_validity

if TYPE_CHECKING:
    from ezhifu.keystore.base import KeyStore

__all__ = [
    "AUDIT_OPTIONS",
    "KEY_FILE_HELP",
    "KeySource",
    "hmac_key_from_env",
    "key_options",
    "keystore_seal",
    "maker_key_options",
    "open_configured",
    "open_signer",
    "read_certificates",
    "secret_from_env",
    "unlocked",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The parameters of :func:`maker_key_options` -> the :class:`KeySource` field each fills.
_MAKER_FIELDS = {
    "maker_key": "key",
    "maker_cert": "cert",
    "maker_password_env": "password_env",
    "audit": "audit",
    "audit_key_env": "audit_key_env",
}

#: ``--digest`` choices -> the RSA signature algorithm (SM2 always uses SM3).
_RSA_DIGESTS = {
    "sha256": SignatureAlgorithm.RSA_SHA256,
    "sha384": SignatureAlgorithm.RSA_SHA384,
    "sha512": SignatureAlgorithm.RSA_SHA512,
    "sha1": SignatureAlgorithm.RSA_SHA1,
}


@dataclasses.dataclass(frozen=True, slots=True)
class KeySource:
    """The key-selection options as given on the command line (no secrets, only names): a key
    file (with its digest choice), or a keystore alias; and the audit trail either way."""

    key: Path | None = None
    password_env: str | None = None
    cert: Path | None = None
    digest: str | None = None
    allow_weak: bool = False

    keystore: Path | None = None
    alias: str | None = None
    pin_env: str | None = None
    audit: Path | None = None
    audit_key_env: str | None = None

    def check(self) -> None:
        """Raise :class:`click.UsageError` (exit 2) unless exactly one key source is complete."""
        file_mode = self.key is not None or self.cert is not None or self.password_env is not None
        store_mode = self.keystore is not None or self.alias is not None or self.pin_env is not None
        if file_mode and store_mode:
            raise click.UsageError(
                "use either --key/--cert/--password-env or --keystore/--alias/--pin-env, not both"
            )
        if store_mode:
            if self.keystore is None or self.alias is None:
                raise click.UsageError("--keystore and --alias must be given together")
            if self.digest is not None or self.allow_weak:
                raise click.UsageError("--digest and --allow-weak apply to --key files only")
            return
        if self.key is None or self.cert is None:
            raise click.UsageError(
                "a signing key is needed: --key KEY --cert CERT, or --keystore CONFIG --alias A"
            )

    def check_audit(self) -> None:
        """``--audit`` and ``--audit-key-env`` go together."""
        if (self.audit is None) != (self.audit_key_env is None):
            raise click.UsageError("--audit TRAIL and --audit-key-env VAR must be given together")


#: The parameters of :func:`key_options`: named as the :class:`KeySource` fields they fill.
_KEY_FIELDS = {field.name: field.name for field in dataclasses.fields(KeySource)}


def secret_from_env(var: str | None, what: str) -> str | None:
    """The value of environment variable ``var`` (named by option ``--<what>-env``); ``None`` without one.

    Raises :class:`ConfigurationError` (exit 2) when the variable is named but not set.
    """
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None:
        raise ConfigurationError(f"environment variable {var} (named by --{what}-env) is not set")
    return value


def hmac_key_from_env(var: str | None, what: str) -> bytes | None:
    """The HMAC-SM3 key of an audit trail held in environment variable ``var`` (named by option
    ``--<what>-env``; :mod:`ezhifu.keystore.audit`), UTF-8; ``None`` without one. A key under 16
    bytes is a configuration error (exit 2), like an unset variable."""
    value = secret_from_env(var, what)
    if value is None:
        return None
    key = value.encode("utf-8")
    if len(key) < 16:
        raise ConfigurationError(f"--{what}-env {var}: 密钥太短 / the key must be at least 16 bytes")
    return key


#: ``--audit TRAIL`` and ``--audit-key-env VAR`` (also used alone by ``seal make``).
AUDIT_OPTIONS = (
    click.option(
        "--audit",
        type=FILE_PATH,
        help="Record every use of the key in this audit trail (SQLite; its head file is TRAIL.head).",
    ),
    env_option("--audit-key-env", "the audit trail's HMAC key (at least 16 bytes)"),
)

#: ``--key FILE``: a private key file (``ezhifu sign``, ``seal apply``, ``archive``, ``keystore import``).
KEY_FILE_HELP = "Private key file (PEM or DER, PKCS#8/PKCS#1/SEC1; may be encrypted)."


def _checked(**fields: Any) -> KeySource:
    """The :class:`KeySource` of the options, refused (exit 2) unless it names one key."""
    source = KeySource(**fields)
    source.check()
    source.check_audit()
    return source


def key_options(func: F) -> F:
    """Add ``--key/--password-env/--cert`` and ``--keystore/--alias/--pin-env`` to a command.

    The decorated function receives one keyword argument ``key_source`` (a :class:`KeySource`)
    instead of the options.
    """
    options = stacked(
        click.option("--key", type=EXISTING_FILE, help=KEY_FILE_HELP),
        env_option("--password-env", "the key file password"),
        click.option(
            "--cert",
            type=EXISTING_FILE,
            help="Signer certificate (PEM/DER); further certificates in the file are embedded as the chain.",
        ),
        click.option(
            "--keystore",
            type=EXISTING_FILE,
            help="Keystore configuration (TOML) to sign with instead of a key file.",
        ),
        click.option("--alias", metavar="A", help="Key alias inside the keystore."),
        env_option("--pin-env", "the keystore PIN or password"),
        click.option(
            "--digest",
            type=click.Choice(sorted(_RSA_DIGESTS)),
            help="Digest for an RSA --key (default sha256; sha1 needs --allow-weak). SM2 always uses SM3.",
        ),
        click.option(
            "--allow-weak",
            is_flag=True,
            help="Allow SHA-1 and RSA keys under 2048 bits (legacy partners, spec.md §5.3).",
        ),
        *AUDIT_OPTIONS,
        gathered("key_source", _checked, _KEY_FIELDS),
    )
    return options(func)


def maker_key_options(func: F) -> F:
    """Add ``--maker-key``, ``--maker-cert`` (both required) and ``--maker-password-env``: the seal
    maker's key file (``seal make``). The function receives them, with ``--audit`` and
    ``--audit-key-env`` (:data:`AUDIT_OPTIONS`, placed by the command), as one keyword argument
    ``maker`` (a :class:`KeySource`)."""
    options = stacked(
        click.option(
            "--maker-key", type=EXISTING_FILE, required=True, help="Seal maker's private key file (PEM/DER)."
        ),
        click.option(
            "--maker-cert", type=EXISTING_FILE, required=True, help="Seal maker's certificate (PEM/DER)."
        ),
        env_option("--maker-password-env", "the key password"),
        gathered("maker", _checked, _MAKER_FIELDS),
    )
    return options(func)


def read_certificates(path: Path) -> list[x509.Certificate]:
    """The certificates of a ``--cert``-like file (PEM or DER, leaf first; at most
    :data:`~ezhifu.cli.common.MAX_SMALL_FILE_BYTES`); none is a configuration error (exit 2)."""
    # deferred: keeps `ezhifu --help` from loading the crypto stack
    from ezhifu.pki.keys import load_certificates

    certs = load_certificates(read_input(path, max_bytes=MAX_SMALL_FILE_BYTES))
    if not certs:
        raise ConfigurationError(f"{path}: no certificate found")
    return certs


def unlocked(store: KeyStore, secret: str | None) -> KeyStore:
    """``store``, unlocked with ``secret`` when one is given and the store waits for it."""
    if secret is not None and getattr(store, "locked", False):
        store.unlock(secret)
    return store


def open_configured(config: Path, secret: str | None = None) -> KeyStore:
    """The keystore a configuration file describes (:func:`ezhifu.keystore.open_keystore` after
    :func:`~ezhifu.cli.common.load_keystore_config`'s checks), unlocked with ``secret`` when given."""
    # deferred: keeps `ezhifu --help` from loading the crypto stack
    from ezhifu.keystore import open_keystore

    return unlocked(open_keystore(load_keystore_config(config)), secret)


def _check_signing_certificate(cert: x509.Certificate | None, where: str) -> None:
    """Refuse a signing certificate outside its validity now (issue 13, item 5)."""
    if cert is None:
        return
    try:
        check_validity(cert)
    except CertificateExpired as exc:
        raise CertificateExpired(f"{where}: 签名证书已过期 / signing certificate expired: {exc}") from exc
    except CertificateNotYetValid as exc:
        raise CertificateNotYetValid(
            f"{where}: 签名证书尚未生效 / signing certificate not yet valid: {exc}"
        ) from exc


@contextmanager
def _audited(source: KeySource, signer: Signer, alias: str) -> Iterator[Signer]:
    """``signer`` recording into ``--audit`` when given (the trail is closed afterwards)."""
    if source.audit is None:
        yield signer
        return
    key = hmac_key_from_env(source.audit_key_env, "audit-key")
    if key is None:  # pragma: no cover - check_audit() guarantees both
        raise click.UsageError("--audit needs --audit-key-env")
    with open_audit(str(source.audit), key, actor="ezhifu-cli") as log:
        yield audited(signer, log, alias=alias, where="ezhifu cli")


def keystore_seal(source: KeySource, seal_id: str) -> bytes:
    """The DER of seal ``seal_id`` held in the ``--keystore`` (unlocked with ``--pin-env``).

    :class:`~ezhifu.errors.KeyNotFound` (exit 2) when the keystore holds no such seal.
    """
    if source.keystore is None:
        raise click.UsageError("--seal-alias needs --keystore CONFIG (the keystore holding the seal)")
    with open_configured(source.keystore, secret_from_env(source.pin_env, "pin")) as store:
        return store.seal(seal_id)


@contextmanager
def open_signer(source: KeySource) -> Iterator[tuple[Signer, tuple[x509.Certificate, ...]]]:
    """Resolve the options to ``(signer, chain)``; ``chain`` holds the certificates after the
    signer certificate (intermediates to embed). A keystore is closed on exit. The signing
    certificate must be valid now; with ``--audit`` every use of the key is recorded."""
    source.check()
    source.check_audit()
    if source.keystore is not None and source.alias is not None:
        pin = secret_from_env(source.pin_env, "pin")
        with open_configured(source.keystore) as store:
            signer = store.signer(source.alias, pin=pin)
            _check_signing_certificate(signer.certificate, f"{source.keystore}, alias {source.alias!r}")
            chain = tuple(store.chain(source.alias)[1:])
            with _audited(source, signer, source.alias) as recorded:
                yield recorded, chain
        return

    # deferred: keeps `ezhifu --help` from loading the crypto stack
    from ezhifu.pki.keys import key_kind, load_private_key
    from ezhifu.pki.signer import SoftwareSigner

    if source.key is None or source.cert is None:  # pragma: no cover - check() guarantees both
        raise click.UsageError("--key and --cert are required")
    password = secret_from_env(source.password_env, "password")
    check_config(source.key, "the key file (--key)")
    check_config(source.cert, "the certificate file (--cert)")
    key = load_private_key(
        read_input(source.key, max_bytes=MAX_SMALL_FILE_BYTES),
        password=password.encode("utf-8") if password else None,
    )
    certs = read_certificates(source.cert)
    _check_signing_certificate(certs[0], f"--cert {source.cert}")
    algorithm = None
    if source.digest is not None:
        if key_kind(key) != "rsa":
            raise click.UsageError("--digest applies to RSA keys only (SM2 signs with SM3)")
        algorithm = _RSA_DIGESTS[source.digest]
    signer = SoftwareSigner(key, certs[0], algorithm=algorithm, allow_weak=source.allow_weak)
    with _audited(source, signer, f"file:{source.key.name}") as recorded:
        yield recorded, tuple(certs[1:])
