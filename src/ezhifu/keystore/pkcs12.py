"""PKCS#12 (``.p12`` / ``.pfx``) keystore for RSA, EC and SM2 keys (RFC 7292).

pyca/cryptography reads PKCS#12 but refuses SM2 keys, and Chinese tools write SM2 keys into
PKCS#12 routinely (OpenSSL 3, Bouncy Castle, ofdrw), often with the legacy PKCS#12 PBE
schemes. This module therefore parses the structure itself with asn1crypto and uses only
primitives from cryptography (and pycryptodomex for 40-bit RC2, which cryptography does not
offer):

* integrity: ``MacData`` HMAC with the key from the RFC 7292 Appendix B.2 KDF (ID 3) over
  the ``authSafe`` content octets, SHA-1 or the SHA-2 family (RFC 7292 clause 5.1);
* privacy: ``encryptedData`` and ``pkcs8ShroudedKeyBag`` with PBES2 (RFC 8018 clause 6.2:
  PBKDF2 + AES-CBC or SM4-CBC; scrypt for key bags) or the legacy PKCS#12 PBE schemes of
  RFC 7292 Appendix C (``pbeWithSHAAnd3-KeyTripleDES-CBC``, ``...2-KeyTripleDES-CBC``,
  ``...128BitRC2-CBC``, ``...40BitRC2-CBC``) with keys and IVs from the Appendix B.2 KDF;
* bags (RFC 7292 clause 4.2): ``keyBag``, ``pkcs8ShroudedKeyBag`` and ``certBag``
  (``x509Certificate``), matched by ``localKeyId`` (PKCS#9) or by public key; the alias is the
  ``friendlyName`` attribute.

The private key stays encrypted in memory until :meth:`PKCS12KeyStore.signer` is asked for
it. :func:`write_pkcs12` writes a file: RSA and EC through pyca/cryptography
(``serialize_key_and_certificates``), SM2 with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) and
an HMAC-SHA256 MAC, which OpenSSL 3 reads.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from asn1crypto import cms, core, keys, pkcs12, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption
from cryptography.hazmat.primitives.serialization import pkcs12 as cpkcs12

from ezhifu._fileio import atomic_write
from ezhifu.errors import (
    BadPassword,
    CorruptedKeyFile,
    EzhifuError,
    InvalidInput,
    KeyStoreError,
    UnsupportedAlgorithm,
)
from ezhifu.keystore.base import (
    SIGNING_CONFIG_KEYS,
    KeyEntry,
    SoftwareKeyStore,
    check_key_matches,
    order_chain,
    required_text,
    secret_from_config,
)
from ezhifu.keystore.pkcs12_crypto import (
    MAX_PKCS12_ITERATIONS,
    OID_PBES2,
    PKCS12_HASHES,
    bmp_password,
    pkcs12_kdf,
)
from ezhifu.keystore.pkcs12_crypto import decrypt as _decrypt
from ezhifu.pki.certs import key_kind, parse_certificate
from ezhifu.pki.keys import dump_private_key, load_private_key
from ezhifu.pki.pkcs8 import (
    decrypt_private_key_info,
    encrypt_private_key_info,
    pbes2_encrypt,
)

__all__ = ["MAX_PKCS12_BYTES", "MAX_PKCS12_ITERATIONS", "PKCS12KeyStore", "pkcs12_kdf", "write_pkcs12"]

#: Upper bound on a PKCS#12 file (a key and a certificate chain are a few kilobytes).
MAX_PKCS12_BYTES = 16 * 1024 * 1024
_MAX_SAFE_CONTENTS_NESTING = 8


# --- parsed contents -----------------------------------------------------------------------


@dataclass(slots=True)
class _KeyBag:
    alias: str | None
    local_key_id: bytes | None
    encrypted: bytes | None = field(repr=False)  # DER EncryptedPrivateKeyInfo (shrouded bag)
    plain: bytes | None = field(repr=False)  # DER PrivateKeyInfo (plain keyBag): never in a repr


@dataclass(slots=True)
class _CertBag:
    alias: str | None
    local_key_id: bytes | None
    cert: x509.Certificate


def _attributes(bag: Any) -> tuple[str | None, bytes | None]:
    alias: str | None = None
    local_id: bytes | None = None
    attrs = bag["bag_attributes"]
    if attrs.native is None:
        return None, None
    for attr in attrs:
        kind = attr["type"].native
        values = attr["values"]
        if not len(values):
            continue
        if kind == "friendly_name":
            alias = str(values[0].native)
        elif kind == "local_key_id":
            local_id = bytes(values[0].native)
    return alias, local_id


def _mac_ok(pfx: pkcs12.Pfx, content: bytes, password: str) -> bool:
    mac_data = pfx["mac_data"]
    digest_name = mac_data["mac"]["digest_algorithm"]["algorithm"].native
    if digest_name not in PKCS12_HASHES:
        raise UnsupportedAlgorithm(f"PKCS#12 MAC digest {digest_name} is not supported")
    salt = mac_data["mac_salt"].native
    iterations = mac_data["iterations"].native
    expected = mac_data["mac"]["digest"].native
    hash_name = PKCS12_HASHES[digest_name][0]
    size = hashlib.new(hash_name).digest_size
    # An empty password is written either as the two NUL octets of an empty BMPString or as
    # no octets at all (OpenSSL tries both, crypto/pkcs12/p12_mutl.c); accept either.
    candidates = [bmp_password(password)] + ([b""] if password == "" else [])
    for bmp in candidates:
        key = pkcs12_kdf(digest_name, bmp, salt, 3, iterations, size)
        if hmac.compare_digest(hmac.new(key, content, hash_name).digest(), expected):
            return True
    return False


def _parse(data: bytes, password: str, where: str) -> tuple[list[_KeyBag], list[_CertBag]]:
    try:
        pfx = pkcs12.Pfx.load(data)
        if pfx["version"].native != "v3":
            raise CorruptedKeyFile(f"{where}: PFX version {pfx['version'].native} is not 3")
        auth_safe = pfx["auth_safe"]
        if auth_safe["content_type"].native != "data":
            raise UnsupportedAlgorithm(
                f"{where}: public-key integrity mode (signed authSafe) is not supported"
            )
        content: bytes = auth_safe["content"].native
    except EzhifuError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptedKeyFile(f"{where}: not a PKCS#12 file or damaged ({exc})") from exc
    if pfx["mac_data"].native is None:
        raise CorruptedKeyFile(f"{where}: no MAC (integrity cannot be checked; refusing)")
    try:
        mac_ok = _mac_ok(pfx, content, password)
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptedKeyFile(f"{where}: damaged MAC data ({exc})") from exc
    if not mac_ok:
        raise BadPassword(f"{where}: wrong password, or the file was altered (MAC check failed)")
    key_bags: list[_KeyBag] = []
    cert_bags: list[_CertBag] = []
    try:
        safe = pkcs12.AuthenticatedSafe.load(content)
        for info in safe:
            kind = info["content_type"].native
            if kind == "data":
                contents = pkcs12.SafeContents.load(info["content"].native)
            elif kind == "encrypted_data":
                enc_info = info["content"]["encrypted_content_info"]
                plain = _decrypt(
                    enc_info["content_encryption_algorithm"], enc_info["encrypted_content"].native, password
                )
                contents = pkcs12.SafeContents.load(plain)
            else:
                raise UnsupportedAlgorithm(f"{where}: authSafe content type {kind} is not supported")
            _collect(contents, key_bags, cert_bags)
    except EzhifuError as exc:
        if isinstance(exc, (BadPassword, UnsupportedAlgorithm)):
            raise
        raise CorruptedKeyFile(f"{where}: {exc}") from exc
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise CorruptedKeyFile(f"{where}: damaged PKCS#12 contents ({exc})") from exc
    return key_bags, cert_bags


def _collect(
    contents: pkcs12.SafeContents, key_bags: list[_KeyBag], cert_bags: list[_CertBag], depth: int = 0
) -> None:
    if depth > _MAX_SAFE_CONTENTS_NESTING:
        # safeContentsBag nests SafeContents (RFC 7292 clause 4.2.6); writers use one level.
        raise CorruptedKeyFile(f"SafeContents nested deeper than {_MAX_SAFE_CONTENTS_NESTING} levels")
    for bag in contents:
        bag_id = bag["bag_id"].native
        alias, local_id = _attributes(bag)
        value = bag["bag_value"]
        if bag_id == "pkcs8_shrouded_key_bag":
            key_bags.append(_KeyBag(alias, local_id, value.untag().dump(), None))
        elif bag_id == "key_bag":
            key_bags.append(_KeyBag(alias, local_id, None, value.untag().dump()))
        elif bag_id == "cert_bag":
            if value["cert_id"].native != "x509":
                continue  # SDSI certificates are not used here
            cert = parse_certificate(value["cert_value"].parsed.dump(), "PKCS#12 certificate bag")
            cert_bags.append(_CertBag(alias, local_id, cert))
        elif bag_id == "safe_contents":
            _collect(value, key_bags, cert_bags, depth + 1)
        # crlBag and secretBag hold nothing a signer needs


def _spki_of_private_key_info(der: bytes) -> bytes | None:
    """The public key bits a PrivateKeyInfo carries, when it carries them (EC keys)."""
    try:
        info = keys.PrivateKeyInfo.load(der)
        if info["private_key_algorithm"]["algorithm"].native == "ec":
            public = info["private_key"].parsed["public_key"]
            if public.native is not None:
                return bytes(public.native)
    except (ValueError, TypeError, KeyError):
        return None
    return None


class PKCS12KeyStore(SoftwareKeyStore):
    """One PKCS#12 file, opened read-only.

    Configuration (``type = "pkcs12"``): ``path`` (the file) and the password as one of
    ``password``, ``password_env`` (environment variable name) or ``password_file``. A wrong
    password raises :class:`BadPassword` when the store is opened (the MAC check); without a
    password the store opens *locked* until :meth:`unlock` or ``signer(alias, pin=...)``. A
    ``pin`` given to an unlocked store decrypts that key bag (keys with their own password).
    """

    type_name = "pkcs12"
    config_keys = SIGNING_CONFIG_KEYS | frozenset({"path", "password", "password_env", "password_file"})

    def __init__(self, source: str | os.PathLike[str] | bytes, password: str | bytes | None) -> None:
        super().__init__()
        if isinstance(source, bytes):
            data, self._where = source, "PKCS#12 data"
        else:
            self._where = f"PKCS#12 file {os.fspath(source)}"
            try:
                with Path(source).open("rb") as handle:
                    data = handle.read(MAX_PKCS12_BYTES + 1)
            except OSError as exc:
                raise KeyStoreError(f"{self._where}: cannot read: {exc.strerror}") from exc
        if len(data) > MAX_PKCS12_BYTES:
            raise CorruptedKeyFile(f"{self._where}: larger than {MAX_PKCS12_BYTES} bytes; not a key file")
        self._data = data
        self._password = ""
        self._key_bags: dict[str, _KeyBag] = {}
        if password is None:
            self._locked = True  # opened without the password: unlock() or signer(pin=...)
        else:
            self._open(password.decode("utf-8") if isinstance(password, bytes) else password)

    def _unlock(self, secret: str) -> None:
        self._open(secret)

    def _open(self, password: str) -> None:
        key_bags, cert_bags = _parse(self._data, password, self._where)
        all_certs = [c.cert for c in cert_bags]
        bags: dict[str, _KeyBag] = {}
        entries: dict[str, KeyEntry] = {}
        for number, bag in enumerate(key_bags, start=1):
            leaf = self._leaf_for(bag, cert_bags)
            alias = (
                bag.alias
                or (leaf.alias if leaf else None)
                or (bag.local_key_id.hex() if bag.local_key_id else str(number))
            )
            if alias in bags:
                raise CorruptedKeyFile(f"{self._where}: two keys named {alias!r}")
            chain = order_chain(leaf.cert, all_certs) if leaf else ()
            kind = key_kind(chain[0]) if chain else self._kind_without_cert(bag, alias)
            bags[alias] = bag
            entries[alias] = KeyEntry(alias=alias, kind=kind, chain=chain)
        self._password, self._key_bags, self._key_entries = password, bags, entries

    @classmethod
    def _from_settings(cls, config: Mapping[str, Any]) -> Self:
        path = required_text(config, "path", backend=cls.type_name, hint="the .p12 file")
        return cls(path, secret_from_config(config, "password"))

    def describe(self) -> str:
        return self._where

    def _leaf_for(self, bag: _KeyBag, certs: Sequence[_CertBag]) -> _CertBag | None:
        if bag.local_key_id is not None:
            for cert in certs:
                if cert.local_key_id == bag.local_key_id:
                    return cert
        if bag.alias is not None:
            for cert in certs:
                if cert.alias == bag.alias:
                    return cert
        if len(certs) == 1:
            return certs[0]
        return None

    def _kind_without_cert(self, bag: _KeyBag, alias: str) -> str:
        if bag.plain is not None:
            return key_kind(keys.PrivateKeyInfo.load(bag.plain))
        raise CorruptedKeyFile(f"{self._where}: key {alias!r} has no certificate (cannot tell its kind)")

    def _load_key(self, alias: str, pin: str | None) -> Any:
        where = f"{self._where}, key {alias!r}"

        bag = self._key_bags[alias]
        secret = self._password if pin is None else pin
        if bag.encrypted is not None:
            der = _decrypt_key_bag(bag.encrypted, secret, where)
        else:
            assert bag.plain is not None
            der = bag.plain
        try:
            return load_private_key(der)
        except EzhifuError as exc:
            raise CorruptedKeyFile(f"{where}: the decrypted key does not load ({exc})") from exc

    def _close(self) -> None:
        with self._lock:
            self._signers.clear()
            self._key_bags.clear()
            self._password = ""
            self._data = b""


def _decrypt_key_bag(encrypted: bytes, password: str, where: str) -> bytes:
    try:
        info = keys.EncryptedPrivateKeyInfo.load(encrypted)
        algorithm = info["encryption_algorithm"]
        if algorithm["algorithm"].dotted == OID_PBES2:
            return decrypt_private_key_info(encrypted, password.encode("utf-8"))
        return _decrypt(algorithm, info["encrypted_data"].native, password)
    except BadPassword as exc:
        raise BadPassword(f"{where}: wrong password for the key bag") from exc
    except (UnsupportedAlgorithm, CorruptedKeyFile):
        raise
    except (EzhifuError, ValueError, TypeError, KeyError) as exc:
        raise CorruptedKeyFile(f"{where}: damaged key bag ({exc})") from exc


# --- writing -------------------------------------------------------------------------------


def _der_private_key_info(key: Any) -> bytes:

    return dump_private_key(key, encoding="der")


def write_pkcs12(
    path: str | os.PathLike[str] | None,
    alias: str,
    key: Any,
    chain: Iterable[x509.Certificate],
    password: str,
    *,
    iterations: int = 100_000,
) -> bytes:
    """Write ``key`` and its chain (leaf first) as PKCS#12 and return the bytes.

    RSA and EC keys go through pyca/cryptography (PBES2 AES-256-CBC, HMAC-SHA256 MAC).
    SM2 keys, which cryptography refuses, are written here the same way: the key as a
    ``pkcs8ShroudedKeyBag`` (PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC, RFC 8018), the
    certificates as ``certBag`` in an ``encryptedData`` (same scheme) and the MAC HMAC-SHA256
    with the RFC 7292 Appendix B.2 key. The file is written atomically with mode 0600.
    """
    certs = list(chain)
    if not password:
        raise InvalidInput("PKCS#12: a non-empty password is required")
    if certs:
        check_key_matches(key, certs[0], where=f"PKCS#12 alias {alias!r}")
    if key_kind(key) == "sm2":
        data = _write_sm2(alias, key, certs, password, iterations)
    else:
        crypto_certs = [cx509.load_der_x509_certificate(c.dump()) for c in certs]
        data = cpkcs12.serialize_key_and_certificates(
            alias.encode("utf-8"),
            key,
            crypto_certs[0] if crypto_certs else None,
            crypto_certs[1:] or None,
            BestAvailableEncryption(password.encode("utf-8")),
        )
    if path is not None:
        try:
            atomic_write(path, data, mode=0o600)
        except OSError as exc:
            raise KeyStoreError(
                f"PKCS#12 file {os.fspath(path)}: cannot write: {exc.strerror or exc}"
            ) from exc
    return data


def _write_sm2(
    alias: str, key: Any, certs: Sequence[x509.Certificate], password: str, iterations: int
) -> bytes:
    local_id = hashlib.sha1(certs[0].dump()).digest() if certs else secrets.token_bytes(20)  # noqa: S324 - an id
    attrs = pkcs12.Attributes(
        [
            {"type": "friendly_name", "values": [core.BMPString(alias)]},
            {"type": "local_key_id", "values": [core.OctetString(local_id)]},
        ]
    )
    shrouded = encrypt_private_key_info(
        _der_private_key_info(key), password.encode("utf-8"), kdf="pbkdf2", iterations=iterations
    )
    key_contents = pkcs12.SafeContents(
        [
            {
                "bag_id": "pkcs8_shrouded_key_bag",
                "bag_value": keys.EncryptedPrivateKeyInfo.load(shrouded),
                "bag_attributes": attrs,
            }
        ]
    )
    cert_bags = []
    for number, cert in enumerate(certs):
        bag: dict[str, Any] = {
            "bag_id": "cert_bag",
            "bag_value": pkcs12.CertBag(
                {"cert_id": "x509", "cert_value": core.ParsableOctetString(cert.dump())}
            ),
        }
        if number == 0:
            bag["bag_attributes"] = attrs
        cert_bags.append(bag)
    cert_plain = pkcs12.SafeContents(cert_bags).dump()
    algorithm, ciphertext = pbes2_encrypt(
        cert_plain, password.encode("utf-8"), kdf="pbkdf2", cipher="aes-256-cbc", iterations=iterations
    )
    auth_safe = pkcs12.AuthenticatedSafe(
        [
            cms.ContentInfo(
                {
                    "content_type": "encrypted_data",
                    "content": cms.EncryptedData(
                        {
                            "version": "v0",
                            "encrypted_content_info": {
                                "content_type": "data",
                                "content_encryption_algorithm": algorithm,
                                "encrypted_content": ciphertext,
                            },
                        }
                    ),
                }
            ),
            cms.ContentInfo({"content_type": "data", "content": key_contents.dump()}),
        ]
    ).dump()
    mac_salt = secrets.token_bytes(16)
    mac_key = pkcs12_kdf("sha256", bmp_password(password), mac_salt, 3, iterations, 32)
    pfx = pkcs12.Pfx(
        {
            "version": "v3",
            "auth_safe": {"content_type": "data", "content": auth_safe},
            "mac_data": {
                "mac": {
                    "digest_algorithm": {"algorithm": "sha256", "parameters": core.Null()},
                    "digest": hmac.new(mac_key, auth_safe, "sha256").digest(),
                },
                "mac_salt": mac_salt,
                "iterations": iterations,
            },
        }
    )
    der: bytes = pfx.dump()
    return der
