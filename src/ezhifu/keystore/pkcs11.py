"""PKCS#11 keystore: keys that never leave a hardware token (USB key, HSM) or SoftHSM2.

Needs the optional dependency ``python-pkcs11`` (``pip install 'ezhifu[pkcs11]'``).

Mechanisms (PKCS#11 v2.40 / 3.0 Mechanisms):

* RSA: ``CKM_SHA256_RSA_PKCS`` (clause 2.1.15), the token hashes; the result is the
  PKCS#1 v1.5 signature octet string.
* EC (P-256 and other named curves): ``CKM_ECDSA`` (clause 2.3.6) over a SHA-256 digest
  computed here, because many tokens (SoftHSM2 among them) offer no hashing ECDSA. The
  token returns raw ``r || s``; it is converted to the X9.62 DER ``Ecdsa-Sig-Value`` at this
  boundary, so callers always see DER.
* SM2: PKCS#11 up to 3.1 defines no SM2 mechanism; Chinese tokens use vendor-defined ids
  (``CKM_VENDOR_DEFINED | n``). Configure it with ``sm2_mechanism`` (an integer). With
  ``sm2_prehash = false`` (default) the token is given the *message* and hashes
  ``Z_A || M`` itself (GB/T 32918.2 clause 6.1, default ID ``1234567812345678``); with
  ``sm2_prehash = true`` ezhifu computes ``e = SM3(Z_A || M)`` and gives the token the 32-byte
  digest (tokens with a raw SM2 sign mechanism). The result, raw ``r || s`` or DER, is
  returned as DER (GB/T 35276-2017 clause 7.3). Without ``sm2_mechanism``, or when the token
  does not list it, an SM2 key raises :class:`UnsupportedMechanism`: SoftHSM2 can hold a key on
  the SM2 curve but has only ``CKM_ECDSA``, which would produce ECDSA over the SM2 curve, not an
  SM2 signature, so ezhifu refuses rather than sign wrongly.

Aliases are the ``CKA_LABEL`` of private-key objects (``CKA_ID`` in hex when unlabelled).
The certificate is the ``CKO_CERTIFICATE`` object with the same ``CKA_ID`` (else the same
label); the rest of the chain is built from the other certificate objects on the token.

One PKCS#11 session is shared under a lock, so the store is thread-safe (python-pkcs11
sessions are not). The PIN is used to log in and then dropped; it is never logged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from asn1crypto import algos, core, x509

from ezhifu.crypto.base import DEFAULT_SM2_ID, SignatureAlgorithm, Signer, SignerBase
from ezhifu.crypto.oids import OID_SM2
from ezhifu.crypto.sm2 import SM2PublicKey, compute_z, der_to_rs, raw_to_der, rs_to_der
from ezhifu.crypto.sm3 import sm3
from ezhifu.errors import (
    BadPassword,
    ConfigurationError,
    EzhifuError,
    KeyStoreError,
    TokenError,
    TokenSigningError,
    UnsupportedMechanism,
    WeakAlgorithm,
)
from ezhifu.keystore.base import (
    SIGNING_CONFIG_KEYS,
    KeyEntry,
    KeyStore,
    order_chain,
    required_text,
    secret_from_config,
)
from ezhifu.pki.certs import key_kind, parse_certificate

try:
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
    from pkcs11 import exceptions as p11_errors
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError("the PKCS#11 keystore needs python-pkcs11: pip install 'ezhifu[pkcs11]'") from _exc

__all__ = ["CKM_VENDOR_DEFINED", "PKCS11KeyStore", "PKCS11Signer", "TokenSigningError"]

#: PKCS#11 base value for vendor-defined mechanisms (SM2 on Chinese tokens lives above it).
CKM_VENDOR_DEFINED = 0x80000000

_SM2_PARAMS_DER = core.ObjectIdentifier(OID_SM2).dump()


_RSA_MECHANISMS = {
    SignatureAlgorithm.RSA_SHA1: Mechanism.SHA1_RSA_PKCS,
    SignatureAlgorithm.RSA_SHA256: Mechanism.SHA256_RSA_PKCS,
    SignatureAlgorithm.RSA_SHA384: Mechanism.SHA384_RSA_PKCS,
    SignatureAlgorithm.RSA_SHA512: Mechanism.SHA512_RSA_PKCS,
}


@dataclass(frozen=True, slots=True)
class _KeyObject:
    alias: str
    key_id: bytes | None
    kind: str
    ec_point: bytes | None  # uncompressed point of an SM2 key (for Z_A with sm2_prehash)
    rsa_bits: int = 0


def _is_sm2(params: bytes | None) -> bool:
    return params is not None and bytes(params) == _SM2_PARAMS_DER


def _attr(obj: Any, attribute: Any) -> Any:
    try:
        return obj[attribute]
    except (p11_errors.AttributeTypeInvalid, p11_errors.AttributeSensitive, KeyError):
        return None


class PKCS11Signer(SignerBase):
    """A :class:`ezhifu.crypto.base.Signer` whose private key stays on the token."""

    def __init__(
        self,
        store: PKCS11KeyStore,
        key: _KeyObject,
        certificate: x509.Certificate | None,
        algorithm: SignatureAlgorithm,
    ) -> None:
        self._store = store
        self._key = key
        self._certificate = certificate
        self._algorithm = algorithm

    def sign(self, data: bytes) -> bytes:
        """Sign the message ``data``; the result is DER (see the module docstring)."""
        return self._store._sign(self._key, self._algorithm, bytes(data))

    def __repr__(self) -> str:
        return f"<PKCS11Signer {self._key.alias!r} {self._algorithm.value}>"


class PKCS11KeyStore(KeyStore):
    """Keys on a PKCS#11 token.

    Configuration (``type = "pkcs11"``): ``module`` (path of the PKCS#11 library, e.g.
    ``/usr/lib/softhsm/libsofthsm2.so``), ``token_label``, the user PIN as ``pin``, ``pin_env``
    or ``pin_file``, and optionally ``sm2_mechanism`` (vendor mechanism id, integer) and
    ``sm2_prehash`` (bool). A wrong PIN raises :class:`BadPassword` when the store logs in:
    at construction, or, when no PIN is configured, at :meth:`unlock` or the first
    ``signer(alias, pin=...)``. PKCS#11 login state is per process and token, so keep one
    store per token (a second login raises :class:`TokenError`).
    """

    type_name = "pkcs11"
    config_keys = SIGNING_CONFIG_KEYS | frozenset(
        {"module", "token_label", "pin", "pin_env", "pin_file", "sm2_mechanism", "sm2_prehash"}
    )

    def __init__(
        self,
        module: str,
        token_label: str,
        pin: str | None,
        *,
        sm2_mechanism: int | None = None,
        sm2_prehash: bool = False,
    ) -> None:
        super().__init__()
        self._where = f"PKCS#11 token {token_label!r}"
        self._sm2_mechanism = sm2_mechanism
        self._sm2_prehash = sm2_prehash
        try:
            library = pkcs11.lib(module)
        except p11_errors.PKCS11Error as exc:
            raise TokenError(f"PKCS#11 module {module}: cannot load ({exc})") from exc
        try:
            self._token = library.get_token(token_label=token_label)
        except p11_errors.NoSuchToken as exc:
            raise TokenError(f"{self._where}: no such token in {module}") from exc
        except p11_errors.PKCS11Error as exc:
            raise TokenError(f"{self._where}: cannot find the token ({type(exc).__name__})") from exc
        self._session: Any = None
        self._objects: dict[str, _KeyObject] = {}
        self._handles: dict[str, Any] = {}  # private key objects, valid for the session's life
        if pin is None:
            self._locked = True  # no PIN yet: unlock() or signer(pin=...) logs in
        else:
            self._login(pin)

    def _unlock(self, secret: str) -> None:
        self._login(secret)

    def _login(self, pin: str) -> None:
        try:
            session = self._token.open(user_pin=pin)
        except (p11_errors.PinIncorrect, p11_errors.PinLenRange, p11_errors.PinInvalid) as exc:
            raise BadPassword(f"{self._where}: wrong PIN") from exc
        except p11_errors.PinLocked as exc:
            raise BadPassword(f"{self._where}: the PIN is locked") from exc
        except p11_errors.UserAlreadyLoggedIn as exc:
            raise TokenError(
                f"{self._where}: another session of this process is already logged in; "
                "share one PKCS11KeyStore per token"
            ) from exc
        except p11_errors.PKCS11Error as exc:
            raise TokenError(f"{self._where}: cannot open a session ({type(exc).__name__})") from exc
        self._session = session
        try:
            self._mechanisms = {int(m) for m in self._token.slot.get_mechanisms()}
            self._objects, self._key_entries = self._scan()
        except p11_errors.PKCS11Error as exc:
            session.close()
            self._session = None
            raise TokenError(f"{self._where}: cannot list objects ({type(exc).__name__})") from exc

    @classmethod
    def _from_settings(cls, config: Mapping[str, Any]) -> Self:
        module = required_text(config, "module", backend=cls.type_name, hint="the PKCS#11 library path")
        label = required_text(config, "token_label", backend=cls.type_name)
        pin = secret_from_config(config, "pin")
        mechanism = config.get("sm2_mechanism")
        if mechanism is not None and (not isinstance(mechanism, int) or isinstance(mechanism, bool)):
            raise ConfigurationError(
                "keystore type 'pkcs11': 'sm2_mechanism' must be an integer mechanism id"
            )
        prehash = config.get("sm2_prehash", False)
        if not isinstance(prehash, bool):
            raise ConfigurationError("keystore type 'pkcs11': 'sm2_prehash' must be true or false")
        return cls(module, label, pin, sm2_mechanism=mechanism, sm2_prehash=prehash)

    def describe(self) -> str:
        return self._where

    # -- objects ---------------------------------------------------------------------------

    def _scan(self) -> tuple[dict[str, _KeyObject], dict[str, KeyEntry]]:
        certs: list[tuple[bytes | None, str | None, x509.Certificate]] = []
        for obj in list(self._session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})):
            value = _attr(obj, Attribute.VALUE)
            if not value:
                continue
            try:
                cert = parse_certificate(bytes(value), "PKCS#11 certificate object")
            except ValueError:  # MalformedCertificate: a damaged object is skipped here
                continue
            certs.append((_attr(obj, Attribute.ID), _attr(obj, Attribute.LABEL), cert))
        all_certs = [c for _, _, c in certs]
        objects: dict[str, _KeyObject] = {}
        entries: dict[str, KeyEntry] = {}
        for key in list(self._session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})):
            label = _attr(key, Attribute.LABEL)
            key_id = _attr(key, Attribute.ID)
            alias = label or (bytes(key_id).hex() if key_id else None)
            if not alias or alias in objects:
                continue
            key_type = _attr(key, Attribute.KEY_TYPE)
            ec_point = None
            if key_type == KeyType.RSA:
                kind = "rsa"
            elif key_type == KeyType.EC:
                params = _attr(key, Attribute.EC_PARAMS)
                kind = "sm2" if _is_sm2(params) else "ec"
                if kind == "sm2":
                    ec_point = self._public_point(key_id, label)
            else:
                continue  # not a signing key kind ezhifu uses
            leaf = next((c for i, _, c in certs if key_id and i == key_id), None)
            if leaf is None:
                leaf = next((c for _, lbl, c in certs if label and lbl == label), None)
            chain = order_chain(leaf, all_certs) if leaf is not None else ()
            if chain and key_kind(chain[0]) != kind:
                raise KeyStoreError(f"{self._where}: certificate of {alias!r} is not a {kind} certificate")
            modulus = _attr(key, Attribute.MODULUS) if kind == "rsa" else None
            rsa_bits = len(bytes(modulus).lstrip(b"\x00")) * 8 if modulus else 0
            objects[alias] = _KeyObject(alias, bytes(key_id) if key_id else None, kind, ec_point, rsa_bits)
            entries[alias] = KeyEntry(alias=alias, kind=kind, chain=chain)
        return objects, entries

    def _public_point(self, key_id: bytes | None, label: str | None) -> bytes | None:
        template: dict[Any, Any] = {Attribute.CLASS: ObjectClass.PUBLIC_KEY}
        if key_id:
            template[Attribute.ID] = key_id
        elif label:
            template[Attribute.LABEL] = label
        else:
            return None
        for obj in list(self._session.get_objects(template)):
            point = _attr(obj, Attribute.EC_POINT)
            if point:
                # CKA_EC_POINT is the DER OCTET STRING of the point (PKCS#11 v2.40 clause 2.3.3).
                return bytes(core.OctetString.load(bytes(point)).native)
        return None

    def _signer(self, entry: KeyEntry, pin: str | None) -> Signer:
        with self._lock:
            signer = self._signers.get(entry.alias)
            if signer is not None:
                return signer
            key = self._objects[entry.alias]
            if key.kind == "sm2":
                self._check_sm2(key)
                algorithm = SignatureAlgorithm.SM2_SM3
            else:
                algorithm = self._rsa_algorithm if key.kind == "rsa" else SignatureAlgorithm.ECDSA_SHA256
                if key.kind == "rsa" and not self._allow_weak and (algorithm.is_weak or key.rsa_bits < 2048):
                    raise WeakAlgorithm(
                        f"{self._where}: {key.alias!r} ({key.rsa_bits}-bit RSA, {algorithm.value}) is weak; "
                        "set allow_weak to use it"
                    )
                needed = _RSA_MECHANISMS[algorithm] if key.kind == "rsa" else Mechanism.ECDSA
                if int(needed) not in self._mechanisms:
                    raise UnsupportedMechanism(f"{self._where}: the token does not offer {needed.name}")
            signer = PKCS11Signer(self, key, entry.certificate, algorithm)
            self._signers[entry.alias] = signer
            return signer

    def _check_sm2(self, key: _KeyObject) -> None:
        if self._sm2_mechanism is None:
            raise UnsupportedMechanism(
                f"{self._where}: key {key.alias!r} is an SM2 key but no SM2 mechanism is configured; "
                "PKCS#11 defines none, so set 'sm2_mechanism' to the token vendor's mechanism id "
                "(SoftHSM2 has none: its CKM_ECDSA on the SM2 curve is not an SM2 signature)"
            )
        if self._sm2_mechanism not in self._mechanisms:
            raise UnsupportedMechanism(
                f"{self._where}: the token does not offer the configured SM2 mechanism "
                f"0x{self._sm2_mechanism:08x}"
            )
        if self._sm2_prehash and key.ec_point is None:
            raise KeyStoreError(
                f"{self._where}: no public key object for SM2 key {key.alias!r} (needed for Z_A)"
            )

    # -- signing ---------------------------------------------------------------------------

    def _sign(self, key: _KeyObject, algorithm: SignatureAlgorithm, data: bytes) -> bytes:
        if key.kind == "rsa":
            mechanism: Any = _RSA_MECHANISMS[algorithm]
            payload = data
        elif key.kind == "ec":
            mechanism = Mechanism.ECDSA
            payload = hashlib.sha256(data).digest()
        else:
            mechanism = self._sm2_mechanism
            payload = data
            if self._sm2_prehash:
                if key.ec_point is None:  # explicit: an assert vanishes under python -O
                    raise TokenSigningError(f"{self._where}: {key.alias!r} has no EC point to compute Z_A")
                z = compute_z(SM2PublicKey.from_encoded_point(key.ec_point), DEFAULT_SM2_ID)
                payload = sm3(z + data)
        with self._lock:
            if self._closed or self._session is None:
                raise TokenSigningError(f"{self._where}: the keystore is closed; {key.alias!r} cannot sign")
            try:
                handle = self._handles.get(key.alias)
                if handle is None:
                    handle = self._handles[key.alias] = self._find_private(key)
                raw = bytes(handle.sign(payload, mechanism=mechanism))
            except p11_errors.MechanismInvalid as exc:
                raise UnsupportedMechanism(
                    f"{self._where}: the token refused mechanism {mechanism!r}"
                ) from exc
            except p11_errors.PKCS11Error as exc:
                raise TokenSigningError(
                    f"{self._where}: signing with {key.alias!r} failed ({type(exc).__name__})"
                ) from exc
        if key.kind == "rsa":
            return raw
        if key.kind == "ec":
            # CKM_ECDSA returns r || s, each as long as the order (PKCS#11 v2.40 clause 2.3.1).
            signature: bytes = algos.DSASignature.from_p1363(raw).dump()
            return signature
        return _sm2_signature_der(raw, self._where)

    def _find_private(self, key: _KeyObject) -> Any:
        template: dict[Any, Any] = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
        if key.key_id is not None:
            template[Attribute.ID] = key.key_id
        else:
            template[Attribute.LABEL] = key.alias
        for obj in list(self._session.get_objects(template)):
            label = _attr(obj, Attribute.LABEL)
            if label is None or label == key.alias or key.key_id is None:
                return obj
        raise KeyStoreError(f"{self._where}: key {key.alias!r} is no longer on the token")

    def _close(self) -> None:
        with self._lock:
            self._signers.clear()
            self._handles.clear()
            if self._session is None:
                return
            try:
                self._session.close()
            except p11_errors.PKCS11Error as exc:
                raise TokenError(f"{self._where}: closing the session failed ({type(exc).__name__})") from exc


def _sm2_signature_der(raw: bytes, where: str) -> bytes:
    """SM2 vendor mechanisms return 64 bytes ``r || s`` (most) or the DER SEQUENCE (some)."""

    try:
        if len(raw) == 64:
            return raw_to_der(raw)
        r, s = der_to_rs(raw)
        return rs_to_der(r, s)
    except EzhifuError as exc:
        raise TokenSigningError(
            f"{where}: the SM2 mechanism returned an unreadable signature ({exc})"
        ) from exc
