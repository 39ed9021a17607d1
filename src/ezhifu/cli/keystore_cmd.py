"""``ezhifu keystore``: create and inspect the safe box's keystores.

Every verb takes the keystore configuration file (TOML, see
:func:`ezhifu.keystore.load_config`), e.g.::

    # store.toml
    [keystore]
    type = "file"
    path = "keys"                 # relative to this file
    password_env = "EZHIFU_KEYSTORE_PASSWORD"

    ezhifu keystore init store.toml
    ezhifu keystore import store.toml --alias unit-head --key head.key.pem --cert head.pem
    ezhifu keystore import store.toml --seal-id 4201000000000001 --seal seal.der
    ezhifu keystore list store.toml --json
    ezhifu keystore export-cert store.toml --alias unit-head --chain -o head-chain.pem

``init`` and ``import`` need a writable backend (``type = "file"``); ``list`` and
``export-cert`` work on every backend. Secrets are never taken on the command line: use the
configuration's ``password_env`` / ``pin_env`` or ``--password-env VAR`` (it would otherwise
show in the process list and the shell history).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ezhifu.cli.common import (
    MAX_SMALL_FILE_BYTES,
    echo_json,
    handle_errors,
    load_keystore_config,
    read_input,
)
from ezhifu.cli.keyopts import KEY_FILE_HELP, open_configured, secret_from_env, unlocked
from ezhifu.cli.options import EXISTING_FILE, FILE_PATH, env_option, json_option
from ezhifu.cli.output import force_option, is_stdout, note, output_option, write_output
from ezhifu.errors import ConfigurationError, SealFormatError
from ezhifu.pki.certs import describe
from ezhifu.seal.containers import detect_container
from ezhifu.seal.detect import MAX_SEAL_BYTES, SealKind

__all__ = ["command"]

_PASSWORD_ENV = env_option("--password-env", "the keystore password or PIN (instead of the configuration)")


def _env_secret(var: str | None) -> str | None:
    return secret_from_env(var, "password")


def _file_store(config_path: Path, password_env: str | None) -> Any:
    # deferred: keeps `ezhifu --help` from loading the crypto stack
    from ezhifu.keystore.encrypted_file import EncryptedFileKeyStore

    config = load_keystore_config(config_path)
    if config.get("type") != "file":
        raise ConfigurationError(
            f"{config_path}: keystore type {config.get('type')!r} is read-only here; "
            'init and import need type = "file"'
        )
    return unlocked(EncryptedFileKeyStore.from_config(config), _env_secret(password_env))


@click.group("keystore")
def command() -> None:
    """Create, fill and list keystores (the safe box): keys, certificates and seals."""


@command.command("init")
@click.argument("config", type=FILE_PATH)
@_PASSWORD_ENV
@handle_errors
def init_cmd(config: Path, password_env: str | None) -> None:
    """Create an empty encrypted-file keystore as CONFIG describes."""
    # deferred: keeps `ezhifu --help` from loading the crypto stack
    from ezhifu.keystore.base import secret_from_config
    from ezhifu.keystore.encrypted_file import EncryptedFileKeyStore

    settings = load_keystore_config(config)
    if settings.get("type") != "file":
        raise ConfigurationError(f'{config}: init needs type = "file"')
    password = _env_secret(password_env) or secret_from_config(settings, "password")
    if password is None:
        raise ConfigurationError(f"{config}: no password (set password_env in the file or --password-env)")
    options = {k: settings[k] for k in ("kdf", "cipher", "scrypt_n", "pbkdf2_iterations") if k in settings}
    path = settings.get("path")
    if not isinstance(path, str):
        raise ConfigurationError(f"{config}: 'path' (the keystore directory) is required")
    with EncryptedFileKeyStore.init(path, password, **options) as store:
        click.echo(f"created {store.describe()}")


@command.command("import")
@click.argument("config", type=FILE_PATH)
@click.option("--alias", help="Alias for the key.")
@click.option("--key", "key_file", type=EXISTING_FILE, help=KEY_FILE_HELP)
@click.option(
    "--cert", "cert_file", type=EXISTING_FILE, help="Certificate chain (PEM), signer certificate first."
)
@env_option("--key-password-env", "the key file password")
@click.option("--seal-id", help="Id of a seal to import.")
@click.option(
    "--seal", "seal_file", type=EXISTING_FILE, help="Seal file (DER of a GM/T 0031 / GB/T 38540 seal)."
)
@click.option("--replace", is_flag=True, help="Replace an existing alias or seal id.")
@_PASSWORD_ENV
@handle_errors
def import_cmd(
    config: Path,
    alias: str | None,
    key_file: Path | None,
    cert_file: Path | None,
    key_password_env: str | None,
    seal_id: str | None,
    seal_file: Path | None,
    replace: bool,
    password_env: str | None,
) -> None:
    """Import a key with its certificate chain (--alias --key --cert) and/or a seal (--seal-id --seal)."""
    key_mode = alias is not None or key_file is not None or cert_file is not None
    seal_mode = seal_id is not None or seal_file is not None
    if not key_mode and not seal_mode:
        raise click.UsageError("nothing to import: give --alias/--key/--cert or --seal-id/--seal")
    if key_mode and (alias is None or key_file is None):
        raise click.UsageError("--alias and --key go together (--cert is recommended)")
    if seal_mode and (seal_id is None or seal_file is None):
        raise click.UsageError("--seal-id and --seal go together")
    with _file_store(config, password_env) as store:
        if key_mode:
            assert alias is not None and key_file is not None
            source_password = secret_from_env(key_password_env, "key-password")
            entry = store.import_pem(
                alias,
                read_input(key_file, max_bytes=MAX_SMALL_FILE_BYTES),
                read_input(cert_file, max_bytes=MAX_SMALL_FILE_BYTES) if cert_file else b"",
                source_password=source_password.encode("utf-8") if source_password else None,
                replace=replace,
            )
            click.echo(f"imported key {entry.alias!r} ({entry.kind}, {len(entry.chain)} certificate(s))")
        if seal_mode:
            assert seal_id is not None and seal_file is not None
            der = read_input(seal_file, max_bytes=MAX_SEAL_BYTES)
            _check_is_seal(der, seal_file)
            store.add_seal(seal_id, der, replace=replace)
            click.echo(f"imported seal {seal_id!r}")


def _check_is_seal(der: bytes, path: Path) -> None:
    """Refuse a file that is not a seal: not DER of a known seal, or a seal signature (stamp)."""
    where = f"--seal {path}"
    try:
        container = detect_container(der, what=where)
        if container.kind is SealKind.SIGNATURE:
            raise SealFormatError(f"{where}: a seal signature (a stamp), not a seal")
        container.parse(der, what=where)
    except SealFormatError as exc:
        raise SealFormatError(f"不是印章文件 / not a seal file: {exc}") from exc


@command.command("list")
@click.argument("config", type=FILE_PATH)
@json_option
@_PASSWORD_ENV
@handle_errors
def list_cmd(config: Path, as_json: bool, password_env: str | None) -> None:
    """List the keys (alias, kind, certificate) and seals of a keystore."""
    with open_configured(config, _env_secret(password_env)) as store:
        keys: list[dict[str, Any]] = []
        for alias in store.aliases():
            entry = store.entry(alias)
            info = describe(entry.certificate) if entry.certificate is not None else None
            keys.append(
                {
                    "alias": alias,
                    "kind": entry.kind,
                    "subject": info.subject if info else None,
                    "serial": info.serial_hex if info else None,
                    "not_after": info.not_after.isoformat() if info else None,
                    "chain_length": len(entry.chain),
                }
            )
        seals = store.seal_ids()
        if as_json:
            echo_json({"keystore": store.describe(), "keys": keys, "seals": seals})
            return
        click.echo(store.describe())
        for item in keys:
            subject = item["subject"] or "(no certificate)"
            click.echo(f"  key  {item['alias']}  {item['kind']}  {subject}  serial {item['serial']}")
        for seal in seals:
            click.echo(f"  seal {seal}")


@command.command("export-cert")
@click.argument("config", type=FILE_PATH)
@click.option("--alias", required=True, help="Alias of the key whose certificate to export.")
@click.option("--chain", "whole_chain", is_flag=True, help="Export the whole chain, leaf first.")
@output_option("Write to a file ('-': stdout).", required=False)
@force_option
@_PASSWORD_ENV
@handle_errors
def export_cert_cmd(
    config: Path, alias: str, whole_chain: bool, output: Path | None, password_env: str | None
) -> None:
    """Print (or write) the certificate of ALIAS as PEM."""
    # deferred: keeps `ezhifu --help` from loading the crypto stack
    from asn1crypto import pem

    from ezhifu.errors import KeyNotFound

    with open_configured(config, _env_secret(password_env)) as store:
        certs = store.chain(alias)
        if not certs:
            raise KeyNotFound(f"{store.describe()}: key {alias!r} has no certificate")
        data = b"".join(pem.armor("CERTIFICATE", c.dump()) for c in (certs if whole_chain else certs[:1]))
    if output is None or is_stdout(output):
        click.echo(data.decode("ascii"), nl=False)
    else:
        write_output(output, data, inputs=(config,))
        note(f"wrote {output}", output)
