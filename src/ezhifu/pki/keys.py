"""Keys and certificates: load, generate, dump (SM2, RSA, EC P-256).

Formats read (PEM, RFC 7468, or DER; the format is found from the bytes):

* private keys: PKCS#8 ``PrivateKeyInfo`` (RFC 5208 / RFC 5958), PKCS#8
  ``EncryptedPrivateKeyInfo`` with PBES2 (RFC 8018 clause 6.2; see :mod:`ezhifu.pki.pkcs8`),
  SEC1 ``ECPrivateKey`` (SEC 1 v2 clause C.4; PEM labels ``EC PRIVATE KEY`` and the
  ``SM2 PRIVATE KEY`` label ``openssl ec`` writes for SM2 keys), PKCS#1 ``RSAPrivateKey``;
* public keys: ``SubjectPublicKeyInfo`` (RFC 5280 clause 4.1.2.7; SM2 keys are
  id-ecPublicKey with the named curve 1.2.156.10197.1.301, GB/T 35276-2017 clause 6), and a
  raw SM2 point ``04 || X || Y`` (GB/T 32918.1-2016 clause 4.2.9);
* certificates: X.509 v3 (RFC 5280), strictly (no trailing bytes, one PEM block per
  certificate, nothing but whitespace between blocks).

SM2 keys become :class:`ezhifu.crypto.sm2.SM2PrivateKey` / ``SM2PublicKey``; RSA and P-256 keys
become pyca/cryptography key objects. Other curves (secp384r1, brainpool ...) are refused.
Public points are validated (on the curve, not the point at infinity, coordinates in range;
GB/T 32918.1-2016 clause 6.2) by ``SM2PublicKey`` for SM2 and by OpenSSL for P-256.

Every failure is an :class:`ezhifu.errors.EzhifuError` subclass whose message names the
problem: :class:`~ezhifu.errors.MalformedDER` for bytes that are not what they claim,
:class:`~ezhifu.errors.UnsupportedAlgorithm` for key types, curves and encryption schemes
ezhifu does not support, :class:`~ezhifu.errors.BadPassword` for a wrong or missing password.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, cast

from asn1crypto import core, keys, parser, pem, x509
from cryptography.exceptions import UnsupportedAlgorithm as _CryptoUnsupported
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ezhifu.crypto import oids
from ezhifu.crypto.der import check_size, der_children, is_pem, pem_blocks
from ezhifu.crypto.keytypes import KeyKind, PrivateKey, PublicKey
from ezhifu.crypto.oids import OID_SM2
from ezhifu.crypto.sm2 import SM2PrivateKey, SM2PublicKey
from ezhifu.errors import (
    EzhifuError,
    InvalidInput,
    MalformedCertificate,
    MalformedDER,
    UnsupportedAlgorithm,
)
from ezhifu.pki.certs import (
    MAX_BUNDLE_BYTES,
    MAX_BUNDLE_CERTS,
    MAX_CERTIFICATE_BYTES,
    MAX_TOP_CHILDREN,
    key_kind,
    load_certificate,
    load_certificates,
    subject_text,
)
from ezhifu.pki.pkcs8 import (
    DEFAULT_PBKDF2_ITERATIONS,
    DEFAULT_SCRYPT_N,
    CipherName,
    KdfName,
    PasswordRequired,
    decrypt_private_key_info,
    encrypt_private_key_info,
)

__all__ = [
    "MAX_BUNDLE",
    "MAX_BUNDLE_CERTS",
    "MAX_INPUT",
    "KeyKind",
    "MalformedCertificate",
    "PasswordRequired",
    "PrivateKey",
    "PublicKey",
    "dump_certificates",
    "dump_private_key",
    "dump_public_key",
    "generate_private_key",
    "key_kind",
    "load_certificate",
    "load_certificates",
    "load_private_key",
    "load_public_key",
    "public_key_der",
    "public_key_of",
    "same_public_key",
    "subject_text",
]

oids.register()


#: Inputs larger than this are refused before parsing (a key or certificate is a few KiB).
MAX_INPUT = MAX_CERTIFICATE_BYTES
#: A certificate bundle may hold many certificates (:data:`ezhifu.pki.certs.MAX_BUNDLE_BYTES`).
MAX_BUNDLE = MAX_BUNDLE_BYTES


_OID_EC_PUBLIC_KEY = oids.OID_EC_PUBLIC_KEY
_OID_RSA = oids.OID_RSA
_OID_P256 = oids.OID_P256

_GENERATE_KINDS = ("sm2", "rsa2048", "rsa3072", "rsa4096", "rsa1024", "p256")


_INTEGER = (0, 0, 2)
_OCTET_STRING = (0, 0, 4)
_SEQUENCE = (0, 1, 16)


def _private_der_kind(der: bytes) -> str:
    """Classify a private key DER by shape: pkcs8, encrypted, sec1 or pkcs1."""
    children = der_children(der, "private key", max_children=MAX_TOP_CHILDREN)
    if len(children) == 2 and children[0] == _SEQUENCE and children[1] == _OCTET_STRING:
        return "encrypted"
    if len(children) >= 3 and children[0] == _INTEGER:
        top_contents = parser.parse(der, strict=True)[4]
        first_value = parser.parse(top_contents)[4]
        if children[1] == _SEQUENCE and children[2] == _OCTET_STRING and first_value in (b"\x00", b"\x01"):
            return "pkcs8"
        if children[1] == _OCTET_STRING and first_value == b"\x01":
            return "sec1"
        if children[1] == _INTEGER and first_value == b"\x00" and len(children) == 9:
            return "pkcs1"
    raise MalformedDER(
        "private key: DER is not PKCS#8, encrypted PKCS#8, SEC1 ECPrivateKey or PKCS#1 RSAPrivateKey"
    )


_LABEL_KINDS = {
    "PRIVATE KEY": "pkcs8",
    "ENCRYPTED PRIVATE KEY": "encrypted",
    "EC PRIVATE KEY": "sec1",
    "SM2 PRIVATE KEY": "sec1",
    "RSA PRIVATE KEY": "pkcs1",
}


# --- private keys ---------------------------------------------------------------------------


def _curve_description(params: Any) -> tuple[str, str]:
    """Return ``(dotted OID, display name)`` of an ECParameters value; refuse explicit curves."""
    if params.name != "named":
        raise UnsupportedAlgorithm(
            "explicit elliptic-curve parameters are not supported; use the named SM2 or P-256 curve"
        )
    dotted: str = params.chosen.dotted
    return dotted, keys.NamedCurve._map.get(dotted, dotted)


def _refuse_curve(dotted: str, name: str, what: str) -> UnsupportedAlgorithm:
    return UnsupportedAlgorithm(
        f"{what}: elliptic curve {name} ({dotted}) is not supported; ezhifu accepts SM2 "
        f"({OID_SM2}) and P-256 (secp256r1)"
    )


def _sm2_from_ec_private_key(ec_key: keys.ECPrivateKey, what: str) -> SM2PrivateKey:
    """Build an SM2 key from a parsed SEC1 ECPrivateKey and check its optional public key."""
    try:
        d = ec_key["private_key"].native
        public = ec_key["public_key"]
        public_bytes = None if isinstance(public, core.Void) else public.native
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedDER(f"{what}: malformed SM2 ECPrivateKey ({exc})") from exc
    if not isinstance(d, int):
        raise MalformedDER(f"{what}: SM2 private value is not an integer")
    try:
        key = SM2PrivateKey.from_private_value(d)
    except EzhifuError as exc:
        raise InvalidInput(f"{what}: invalid SM2 private key: {exc}") from exc
    if public_bytes is not None:
        try:
            embedded = SM2PublicKey.from_encoded_point(bytes(public_bytes))
        except EzhifuError as exc:
            raise InvalidInput(f"{what}: the embedded SM2 public key is invalid: {exc}") from exc
        if embedded.encoded_point != key.public_key().encoded_point:
            raise InvalidInput(f"{what}: the embedded SM2 public key does not match the private key")
    return key


def _via_cryptography(der: bytes, what: str, *, private: bool) -> PrivateKey | PublicKey:
    """Load an RSA / P-256 key DER through cryptography (which checks consistency)."""
    # why: cryptography's serialization package loads its SSH key support (~5 ms a start-up)
    # and only RSA / P-256 keys need it
    from cryptography.hazmat.primitives import serialization

    try:
        if private:
            key: Any = serialization.load_der_private_key(der, password=None)
        else:
            key = serialization.load_der_public_key(der)
    except _CryptoUnsupported as exc:
        raise UnsupportedAlgorithm(f"{what}: key type not supported ({exc})") from exc
    except (ValueError, TypeError) as exc:
        error, noun = (MalformedDER, "key") if private else (InvalidInput, "public key")
        raise error(f"{what}: the {noun} does not load ({exc})") from exc
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return key
        if private:
            raise _refuse_curve("?", key.curve.name, what)
    raise UnsupportedAlgorithm(f"{what}: key type {type(key).__name__} is not supported")


def _crypto_private_der(der: bytes, what: str) -> PrivateKey:
    return cast(PrivateKey, _via_cryptography(der, what, private=True))


def _algorithm_kind(algorithm: Any, what: str, *, role: str, names: Any, where: str = "") -> str:
    """``"rsa"``, ``"sm2"`` or ``"p256"`` of a key AlgorithmIdentifier (PKCS#8 or SPKI);
    other algorithms and curves are refused. ``names`` is asn1crypto's OID name table."""
    alg_oid: str = algorithm["algorithm"].dotted
    if alg_oid == _OID_RSA:
        return "rsa"
    if alg_oid == OID_SM2:
        # Some GM tools name the key algorithm by the SM2 OID itself instead of id-ecPublicKey.
        return "sm2"
    if alg_oid != _OID_EC_PUBLIC_KEY:
        name = names._map.get(alg_oid, alg_oid)
        raise UnsupportedAlgorithm(f"{what}: {role} algorithm {name} ({alg_oid}) is not supported")
    try:
        dotted, name = _curve_description(algorithm["parameters"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise MalformedDER(f"{what}: malformed EC parameters{where} ({exc})") from exc
    if dotted == OID_SM2:
        return "sm2"
    if dotted == _OID_P256:
        return "p256"
    raise _refuse_curve(dotted, name, what)


def _with_algorithm(spec: Any, der: bytes, field: str, what: str, label: str) -> tuple[Any, Any]:
    """``(structure, its AlgorithmIdentifier)`` of a strict DER PKCS#8 or SPKI."""
    try:
        parsed = spec.load(der, strict=True)
        algorithm = parsed[field]
        algorithm["algorithm"].dotted  # noqa: B018 - decode it here, inside the try
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedDER(f"{what}: malformed {label} ({exc})") from exc
    return parsed, algorithm


def _load_pkcs8(der: bytes, what: str) -> PrivateKey:
    info, algorithm = _with_algorithm(
        keys.PrivateKeyInfo, der, "private_key_algorithm", what, "PKCS#8 PrivateKeyInfo"
    )
    kind = _algorithm_kind(algorithm, what, role="key", names=keys.PrivateKeyAlgorithmId, where=" in PKCS#8")
    if kind != "sm2":
        return _crypto_private_der(der, what)
    try:
        ec_key = keys.ECPrivateKey.load(info["private_key"].contents, strict=True)
    except (ValueError, TypeError) as exc:
        raise MalformedDER(f"{what}: malformed SM2 ECPrivateKey ({exc})") from exc
    return _sm2_from_ec_private_key(ec_key, what)


def _load_sec1(der: bytes, what: str) -> PrivateKey:
    try:
        ec_key = keys.ECPrivateKey.load(der, strict=True)
        params = ec_key["parameters"]
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedDER(f"{what}: malformed SEC1 ECPrivateKey ({exc})") from exc
    if isinstance(params, core.Void):
        raise InvalidInput(f"{what}: SEC1 ECPrivateKey names no curve (parameters [0] absent)")
    try:
        dotted, name = _curve_description(params)
    except (ValueError, TypeError, AttributeError) as exc:
        raise MalformedDER(f"{what}: malformed SEC1 curve parameters ({exc})") from exc
    if dotted == OID_SM2:
        return _sm2_from_ec_private_key(ec_key, what)
    if dotted == _OID_P256:
        return _crypto_private_der(der, what)
    raise _refuse_curve(dotted, name, what)


def _load_private_der(der: bytes, password: bytes | None, kind: str, what: str) -> PrivateKey:
    if kind == "encrypted":
        plain = decrypt_private_key_info(der, password)
        return _load_pkcs8(plain, what)
    if password is not None:
        raise InvalidInput(f"{what}: a password was given but the private key is not encrypted")
    if kind == "pkcs8":
        return _load_pkcs8(der, what)
    if kind == "sec1":
        return _load_sec1(der, what)
    return _crypto_private_der(der, what)


def load_private_key(data: bytes, password: bytes | None = None) -> PrivateKey:
    """Load an SM2, RSA or P-256 private key from PEM or DER (formats: module docstring).

    ``password`` is required for an encrypted PKCS#8 key and refused for a plain one.
    PEM ``EC PARAMETERS`` blocks (``openssl ecparam -genkey``) before the key are skipped.
    """
    what = "private key"
    data = check_size(data, what, MAX_INPUT)
    if password is not None and not isinstance(password, bytes | bytearray):
        raise InvalidInput(f"{what}: the password must be bytes")
    pw = bytes(password) if password is not None else None
    if is_pem(data):
        blocks = [
            (label, der)
            for label, der in pem_blocks(data, what)
            if label not in ("EC PARAMETERS", "SM2 PARAMETERS")
        ]
        if len(blocks) != 1:
            raise InvalidInput(f"{what}: expected one PEM private key block, found {len(blocks)}")
        label, der = blocks[0]
        if label not in _LABEL_KINDS:
            raise InvalidInput(f"{what}: PEM label {label!r} is not a private key label")
        kind = _private_der_kind(der)
        if kind != _LABEL_KINDS[label]:
            raise MalformedDER(f"{what}: PEM label {label!r} but the contents are {kind} DER")
        return _load_private_der(der, pw, kind, what)
    return _load_private_der(data, pw, _private_der_kind(data), what)


# --- public keys ------------------------------------------------------------------------------


def _load_spki(der: bytes, what: str) -> PublicKey:
    spki, algorithm = _with_algorithm(keys.PublicKeyInfo, der, "algorithm", what, "SubjectPublicKeyInfo")
    if _algorithm_kind(algorithm, what, role="public key", names=keys.PublicKeyAlgorithmId) != "sm2":
        return _crypto_public_der(der, what)
    try:
        raw = spki["public_key"].contents
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedDER(f"{what}: malformed SM2 public key bits ({exc})") from exc
    if not raw or raw[0] != 0:
        raise MalformedDER(f"{what}: SM2 public key BIT STRING has unused bits")
    point = bytes(raw[1:])
    return _sm2_point(point, what)


def _sm2_point(point: bytes, what: str) -> SM2PublicKey:
    try:
        return SM2PublicKey.from_encoded_point(point)
    except EzhifuError as exc:
        raise InvalidInput(f"{what}: invalid SM2 public key: {exc}") from exc


def _crypto_public_der(der: bytes, what: str) -> PublicKey:
    return cast(PublicKey, _via_cryptography(der, what, private=False))


def load_public_key(data: bytes) -> PublicKey:
    """Load a public key: SPKI (PEM ``PUBLIC KEY`` or DER), PKCS#1 ``RSA PUBLIC KEY``, or a raw
    SM2 point (65 bytes ``04 || X || Y``, or 33 bytes compressed, GB/T 32918.1 clause 4.2.9)."""
    what = "public key"
    data = check_size(data, what, MAX_INPUT)
    if is_pem(data):
        blocks = pem_blocks(data, what)
        if len(blocks) != 1:
            raise InvalidInput(f"{what}: expected one PEM block, found {len(blocks)}")
        label, der = blocks[0]
        if label == "PUBLIC KEY":
            return _load_spki(der, what)
        if label == "RSA PUBLIC KEY":
            # why: see _via_cryptography (the serialization package costs every start-up ~5 ms)
            from cryptography.hazmat.primitives import serialization

            try:
                key = serialization.load_der_public_key(
                    keys.PublicKeyInfo.wrap(keys.RSAPublicKey.load(der, strict=True), "rsa").dump()
                )
            except (ValueError, TypeError) as exc:
                raise MalformedDER(f"{what}: malformed PKCS#1 RSAPublicKey ({exc})") from exc
            if not isinstance(key, rsa.RSAPublicKey):  # pragma: no cover - wrap() made it RSA
                raise UnsupportedAlgorithm(f"{what}: not an RSA key")
            return key
        raise InvalidInput(f"{what}: PEM label {label!r} is not a public key label")
    if len(data) in (33, 65) and data[0] in (2, 3, 4):
        return _sm2_point(data, what)
    return _load_spki(data, what)


# --- generation, conversion ----------------------------------------------------------------


def generate_private_key(kind: str) -> PrivateKey:
    """Generate a key: ``"sm2"``, ``"rsa2048"``, ``"rsa3072"``, ``"rsa4096"``, ``"rsa1024"``
    (tests of the weak-key policy only) or ``"p256"``."""
    if kind == "sm2":
        return SM2PrivateKey.generate()
    if kind.startswith("rsa") and kind in _GENERATE_KINDS:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise UnsupportedAlgorithm(f"key kind {kind!r} is not supported; use one of {', '.join(_GENERATE_KINDS)}")


def public_key_of(obj: x509.Certificate | keys.PublicKeyInfo | PrivateKey | PublicKey | bytes) -> PublicKey:
    """The public key of a certificate (asn1crypto or PEM/DER bytes), an SPKI (asn1crypto or
    bytes), a raw SM2 point, or a private or public key."""
    if isinstance(obj, SM2PrivateKey):
        return obj.public_key()
    if isinstance(obj, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        public = obj.public_key()
        return public
    if isinstance(obj, SM2PublicKey | rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return obj
    if isinstance(obj, bytes | bytearray):
        try:
            obj = load_certificate(bytes(obj))
        except MalformedCertificate as cert_error:
            # Not a certificate: SPKI (PEM/DER) or a raw SM2 point, as seals carry them.
            try:
                return load_public_key(bytes(obj))
            except EzhifuError:
                raise cert_error from None
    if isinstance(obj, x509.Certificate):
        subject = repr(subject_text(obj))
        try:
            return _load_spki(
                obj["tbs_certificate"]["subject_public_key_info"].dump(), f"certificate {subject}"
            )
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise MalformedCertificate(f"certificate {subject}: unreadable public key ({exc})") from exc
    if isinstance(obj, keys.PublicKeyInfo):
        return _load_spki(obj.dump(), "public key")
    raise InvalidInput(f"cannot take a public key from a {type(obj).__name__}")


def public_key_der(key: PrivateKey | PublicKey) -> bytes:
    """DER ``SubjectPublicKeyInfo`` of a key (RFC 5280 clause 4.1.2.7; SM2 per GB/T 35276 clause 6)."""
    public = public_key_of(key)
    if isinstance(public, SM2PublicKey):
        spki = keys.PublicKeyInfo(
            {
                "algorithm": {
                    "algorithm": "ec",
                    "parameters": keys.ECDomainParameters(name="named", value=oids.SM2_CURVE_NAME),
                },
                "public_key": public.encoded_point,
            }
        )
        der: bytes = spki.dump()
        return der
    # why: see _via_cryptography (the serialization package costs every start-up ~5 ms)
    from cryptography.hazmat.primitives import serialization

    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def same_public_key(a: PrivateKey | PublicKey, b: PrivateKey | PublicKey) -> bool:
    """True when two keys (private or public) have the same public key."""
    return public_key_der(a) == public_key_der(b)


def dump_public_key(key: PrivateKey | PublicKey, *, encoding: Literal["pem", "der"] = "pem") -> bytes:
    """The public key as SPKI, PEM ``PUBLIC KEY`` (default) or DER."""
    der = public_key_der(key)
    if encoding == "der":
        return der
    armored: bytes = pem.armor("PUBLIC KEY", der)
    return armored


def dump_certificates(certs: Iterable[x509.Certificate]) -> bytes:
    """The certificates as concatenated PEM ``CERTIFICATE`` blocks (RFC 7468 clause 5), in order.

    :func:`load_certificates` reads the result back.
    """
    return b"".join(pem.armor("CERTIFICATE", cert.dump()) for cert in certs)


def _private_key_info(key: PrivateKey) -> bytes:
    if isinstance(key, SM2PrivateKey):
        ec_key = keys.ECPrivateKey(
            {
                "version": "ecPrivkeyVer1",
                "private_key": key.private_value,
                "public_key": key.public_key().encoded_point,
            }
        )
        ec_key["private_key"].set_encoded_width(32)
        info = keys.PrivateKeyInfo(
            {
                "version": 0,
                "private_key_algorithm": {
                    "algorithm": "ec",
                    "parameters": keys.ECDomainParameters(name="named", value=oids.SM2_CURVE_NAME),
                },
                "private_key": ec_key,
            }
        )
        der: bytes = info.dump()
        return der
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        # why: see _via_cryptography (the serialization package costs every start-up ~5 ms)
        from cryptography.hazmat.primitives import serialization

        return key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    raise InvalidInput(f"not a private key ezhifu knows: {type(key).__name__}")


def dump_private_key(
    key: PrivateKey,
    password: bytes | None = None,
    *,
    encoding: Literal["pem", "der"] = "pem",
    kdf: KdfName = "scrypt",
    cipher: CipherName = "aes-256-cbc",
    iterations: int = DEFAULT_PBKDF2_ITERATIONS,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> bytes:
    """The private key as PKCS#8 (RFC 5958), PEM by default.

    With a ``password`` it is ``EncryptedPrivateKeyInfo`` with PBES2 (RFC 8018 clause 6.2):
    scrypt (default; N = ``scrypt_n`` = 2**14, r = 8, p = 1) or PBKDF2-HMAC-SHA256 (``iterations``),
    and AES-256-CBC (default) or another cipher of :data:`ezhifu.pki.CipherName`
    such as ``"sm4-cbc"``. OpenSSL 3 reads every combination.
    """
    der = _private_key_info(key)
    label = "PRIVATE KEY"
    if password is not None:
        if not isinstance(password, bytes | bytearray):
            raise InvalidInput("private key: the password must be bytes")
        der = encrypt_private_key_info(
            der, bytes(password), kdf=kdf, cipher=cipher, iterations=iterations, scrypt_n=scrypt_n
        )
        label = "ENCRYPTED PRIVATE KEY"
    if encoding == "der":
        return der
    armored: bytes = pem.armor(label, der)
    return armored
