"""X.509 certificates: the one loader, the one describer, the key kind, validity and key usage.

* Loading (:func:`load_certificate`, :func:`load_certificates`): X.509 v3 (RFC 5280), strictly
  (no trailing bytes, every field decoded once so that a malformed one fails here and not deep
  inside a verifier). A bundle is PEM ``CERTIFICATE`` blocks, with or without the text OpenSSL
  writes before each one (``Bag Attributes``, ``subject=``, ``issuer=``; RFC 7468 clause 2
  explanatory text), DER certificates concatenated, or a PKCS#7 / CMS ``SignedData`` that only
  carries certificates (RFC 5652 clause 5.1; PEM label ``PKCS7``, as ``openssl crl2pkcs7``
  writes). :class:`~ezhifu.pki.trust.TrustStore`, the keystores and the CLI load through it.
  Sizes are bounded: :data:`MAX_CERTIFICATE_BYTES`, :data:`MAX_BUNDLE_BYTES`,
  :data:`MAX_BUNDLE_CERTS`; larger input raises :class:`~ezhifu.errors.CertificateInputTooLarge`.
* Describing (:func:`describe`): subject, issuer, serial, validity, key kind and size, SHA-256
  fingerprint as one frozen :class:`CertificateDescription`, used by messages, the CLI, seals,
  CMS and keystores; :func:`cert_info` is its :class:`~ezhifu.results.SignerInfo` view.
* :func:`key_kind`: ``"sm2"``, ``"rsa"`` or ``"ec"`` of a key, a certificate or an SPKI.
* Validity and key usage (RFC 5280 clauses 4.1.2.5, 4.2.1.3, 4.2.1.12): :func:`validity_refusal`
  and :func:`key_usage_refusal` return the reason or ``None``; path validation
  (:mod:`ezhifu.pki.path`) uses them, and :func:`check_validity` / :func:`check_key_usage`
  raise the same reasons.
"""

from __future__ import annotations

import functools
import hashlib
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from asn1crypto import cms, keys, x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ezhifu.crypto.der import check_size, definite_tlv_end, der_children, is_pem, pem_blocks, split_tlvs
from ezhifu.crypto.keytypes import KeyKind
from ezhifu.crypto.oids import OID_EC_PUBLIC_KEY, OID_RSA, OID_SIGNED_DATA, OID_SM2, OID_SM2_SIGNED_DATA
from ezhifu.crypto.sm2 import SM2PrivateKey, SM2PublicKey
from ezhifu.errors import (
    CertificateExpired,
    CertificateInputTooLarge,
    CertificateNotYetValid,
    InvalidInput,
    KeyUsageError,
    MalformedCertificate,
    UnsupportedAlgorithm,
)
from ezhifu.results import JSON_NAME, JsonFields, SignerInfo

__all__ = [
    "MAX_BUNDLE_BYTES", "MAX_BUNDLE_CERTS", "MAX_CERTIFICATE_BYTES", "CertLike", "CertificateDescription",
    "CertificateExpired", "CertificateNotYetValid", "KeyUsageError", "MalformedCertificate", "cert_info",
    "certificate_label", "check_key_usage", "check_validity", "describe", "extended_key_usage",
    "fully_read", "is_ca", "key_kind", "key_usage", "key_usage_refusal", "load_certificate",
    "load_certificates", "parse_certificate", "read_certificate", "read_shared_certificate",
    "shared_certificate", "subject_text", "validity_refusal",
]  # fmt: skip

#: One certificate (or key) is a few KiB; more than this is refused before parsing.
MAX_CERTIFICATE_BYTES = 1024 * 1024
#: A certificate bundle may hold many certificates ...
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
#: ... but not more than this many (a public CA bundle holds about 150; each costs a full parse).
MAX_BUNDLE_CERTS = 1000
#: The top SEQUENCE of a key or certificate has at most 9 elements (PKCS#1 RSAPrivateKey,
#: RFC 8017 App. A.1.2); more is not a key or certificate and is refused early.
MAX_TOP_CHILDREN = 16
#: Distinct certificates kept by :func:`shared_certificate` (bounded LRU).
SHARED_CERTIFICATE_CACHE_SIZE = 256

#: A certificate as an asn1crypto object or PEM/DER bytes.
CertLike: TypeAlias = x509.Certificate | bytes

_PKCS7_LABELS = ("PKCS7", "CMS")


# --- loading ---------------------------------------------------------------------------------


#: What asn1crypto derives on first use and memoises on a certificate, and the steps read.
_MEMOISED = (
    "serial_number", "not_valid_before", "not_valid_after", "critical_extensions", "key_usage_value",
    "extended_key_usage_value", "basic_constraints_value", "key_identifier_value",
    "authority_key_identifier_value", "crl_distribution_points_value", "authority_information_access_value",
    "key_identifier", "authority_key_identifier", "issuer_serial", "ca", "max_path_length",
    "crl_distribution_points", "ocsp_urls", "sha1", "sha256",
)  # fmt: skip


def read_certificate(cert: x509.Certificate) -> None:
    """Decode now every field of ``cert`` the steps use (the tree, :data:`_MEMOISED`, key, then
    :data:`_DERIVED`). asn1crypto decodes lazily and memoises: a defect raises on first access and can
    leave a half-filled memo that answers a later access otherwise. Once this returned, every
    access answers from the memo; when it raises, ``cert`` is spoilt and must be dropped."""
    cert.native  # noqa: B018
    for name in _MEMOISED:
        getattr(cert, name)
    (cert.public_key.algorithm, cert.public_key.sha1, cert.signature)  # noqa: B018
    _derived(cert)  # the first try may leave a memo half-filled (self_signed); then it holds
    if _derived(cert) != _derived(cert):
        raise ValueError("the certificate reads differently each time")
    _FULLY_READ.add(cert)
    _LABELS[cert] = _label(cert)


#: Computed from decoded fields, and failing on odd but decodable names (an attribute value
#: nested in a name): each is tried once in :func:`read_certificate`, then answers alike each time.
_DERIVED: tuple[Callable[[x509.Certificate], object], ...] = (
    lambda c: (c.subject.human_friendly, c.issuer.human_friendly, c.subject.hashable, c.issuer.hashable),
    lambda c: c.self_issued,
    lambda c: c.self_signed,
    lambda c: describe(c),
)


def _derived(cert: x509.Certificate) -> list[object]:
    """Each of :data:`_DERIVED`, or the exception it raised (type and message)."""
    out: list[object] = []
    for get in _DERIVED:
        try:
            out.append(get(cert))
        except Exception as exc:  # asn1crypto: any defect
            out.append(f"{type(exc).__name__}: {exc}")
    return out


_FULLY_READ: weakref.WeakSet[x509.Certificate] = weakref.WeakSet()  # by identity
#: The :func:`certificate_label` and :func:`key_kind` of each completely read (so read-only,
#: answering alike) object.
_LABELS: weakref.WeakKeyDictionary[x509.Certificate, str] = weakref.WeakKeyDictionary()
_KINDS: weakref.WeakKeyDictionary[x509.Certificate, KeyKind] = weakref.WeakKeyDictionary()


def fully_read(cert: x509.Certificate) -> bool:
    """Whether :func:`read_certificate` read this object completely (then it may be shared)."""
    return cert in _FULLY_READ


@functools.lru_cache(maxsize=SHARED_CERTIFICATE_CACHE_SIZE)
def read_shared_certificate(der: bytes) -> x509.Certificate:
    """The shared certificate of exactly these DER bytes, completely read (:func:`read_certificate`);
    other bytes raise what the reading raised, each time (an exception is never cached). For what
    serves many inputs (a trust store) or refuses what does not read (a seal's certificates)."""
    cert = x509.Certificate.load(der, strict=True)
    read_certificate(cert)
    return cert


def shared_certificate(der: bytes) -> x509.Certificate:
    """The parsed certificate of exactly these DER bytes, shared between callers (bounded LRU).

    Every CMS and every seal signature of a batch embeds the same few partner certificates;
    sharing one parsed object per exact bytes also shares what asn1crypto derives and memoises
    (names, extensions, validity, key); every check still runs on each use. Read-only. Only a
    completely read certificate (:func:`read_certificate`) is shared, so one input cannot change
    what another sees (issue 17); other bytes give each caller its own fresh object, which fails
    where and how a first parse fails. Parse errors (``ValueError``, strict) are never cached.
    """
    if not isinstance(der, bytes):
        raise InvalidInput(f"shared_certificate: DER must be bytes, not {type(der).__name__}")
    try:
        return read_shared_certificate(der)
    except Exception:  # any defect: not shared (a fresh object fails again, the same way)
        return x509.Certificate.load(der, strict=True)


def parse_certificate(der: bytes, what: str) -> x509.Certificate:
    """Parse one DER certificate strictly, decoding every field once (:func:`read_certificate`);
    ``what`` names it in the :class:`~ezhifu.errors.MalformedCertificate` raised otherwise."""
    try:
        children = der_children(der, what, max_children=MAX_TOP_CHILDREN)
    except InvalidInput as exc:
        raise MalformedCertificate(str(exc)) from exc
    if len(children) != 3:
        raise MalformedCertificate(
            f"{what}: malformed certificate: a Certificate is a SEQUENCE of 3 elements, found {len(children)}"
        )
    try:
        cert = x509.Certificate.load(der, strict=True)
        read_certificate(cert)  # every field once: a malformed one fails here, not in a verifier
    except MalformedCertificate as exc:  # the description does not read
        raise MalformedCertificate(f"{what}: {exc}") from exc
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as e:
        # RecursionError: values nested thousands deep, which asn1crypto decodes recursively
        raise MalformedCertificate(f"{what}: malformed X.509 certificate ({e})") from e
    return cert


_TOO_LARGE = "证书输入过大 / certificate input too large"


def _sized(data: object, what: str, limit: int) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview) and len(data) > limit:
        raise CertificateInputTooLarge(
            f"{_TOO_LARGE}: {what}: input of {len(data)} bytes exceeds the {limit}-byte limit"
        )
    try:
        return check_size(data, what, limit)
    except InvalidInput as exc:
        raise MalformedCertificate(str(exc)) from exc


def load_certificate(data: bytes) -> x509.Certificate:
    """Load exactly one X.509 certificate from PEM (label ``CERTIFICATE``) or DER, strictly."""
    what = "certificate"
    if isinstance(data, x509.Certificate):
        return data
    data = _sized(data, what, MAX_CERTIFICATE_BYTES)
    if is_pem(data):
        try:
            blocks = pem_blocks(data, what)
        except (InvalidInput, UnsupportedAlgorithm) as exc:
            raise MalformedCertificate(str(exc)) from exc
        if len(blocks) != 1 or blocks[0][0] != "CERTIFICATE":
            labels = ", ".join(label for label, _ in blocks)
            raise MalformedCertificate(f"{what}: expected one PEM CERTIFICATE block, found: {labels}")
        data = blocks[0][1]
    return parse_certificate(data, what)


def load_certificates(
    data: bytes, *, what: str = "certificate bundle", skip_other_blocks: bool = False
) -> list[x509.Certificate]:
    """Load one or more certificates: PEM blocks (OpenSSL's text lines between them are
    skipped), DER certificates concatenated, or a PKCS#7 certificate bundle (DER or PEM).

    PEM blocks other than ``CERTIFICATE`` / ``PKCS7`` are refused, or skipped with
    ``skip_other_blocks`` (a trust file that also holds a key). At most
    :data:`MAX_BUNDLE_BYTES` and :data:`MAX_BUNDLE_CERTS`. Raises
    :class:`~ezhifu.errors.MalformedCertificate` naming the block or offset, or
    :class:`~ezhifu.errors.CertificateInputTooLarge`.
    """
    data = _sized(data, what, MAX_BUNDLE_BYTES)
    # DER starts with a SEQUENCE; only other input is searched for PEM after explanatory text.
    if data[:1] == b"\x30" or not is_pem(data, allow_text=True):
        if _is_pkcs7(data):
            return _pkcs7_certificates(data, what)
        return _der_bundle(data, what)
    try:
        blocks = pem_blocks(data, what, allow_text=True)
    except (InvalidInput, UnsupportedAlgorithm) as exc:
        raise MalformedCertificate(str(exc)) from exc
    if len(blocks) > MAX_BUNDLE_CERTS:  # refused before any certificate is parsed
        raise CertificateInputTooLarge(f"{_TOO_LARGE}: {what}: more than {MAX_BUNDLE_CERTS} certificates")
    certs: list[x509.Certificate] = []
    for index, (label, der) in enumerate(blocks, 1):
        if label in _PKCS7_LABELS:
            certs.extend(_pkcs7_certificates(der, f"{what}: PEM block {index}"))
        elif label == "CERTIFICATE":
            certs.append(parse_certificate(der, f"{what}: certificate {index}"))
        elif not skip_other_blocks:
            raise MalformedCertificate(f"{what}: PEM block {index} is {label!r}, not CERTIFICATE")
        if len(certs) > MAX_BUNDLE_CERTS:
            raise CertificateInputTooLarge(f"{_TOO_LARGE}: {what}: more than {MAX_BUNDLE_CERTS} certificates")
    if not certs:
        raise MalformedCertificate(f"{what}: no CERTIFICATE block found")
    return certs


def _der_bundle(data: bytes, what: str) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    pos = 0
    while pos < len(data):
        if len(certs) >= MAX_BUNDLE_CERTS:
            raise CertificateInputTooLarge(f"{_TOO_LARGE}: {what}: more than {MAX_BUNDLE_CERTS} certificates")
        # The end from the header, so that each step copies one certificate, not the rest of a
        # 16 MiB bundle (which made a bundle of one certificate repeated quadratic).
        end = definite_tlv_end(data, pos)
        if end is None or end > len(data):
            try:
                end = pos + len(split_tlvs(data[pos:], what=what, max_items=1, strict=False)[0].element)
            except InvalidInput as exc:
                raise MalformedCertificate(f"{what}: malformed DER at offset {pos} ({exc})") from exc
        certs.append(parse_certificate(data[pos:end], f"{what}: certificate at offset {pos}"))
        pos = end
    return certs


def _is_pkcs7(data: bytes) -> bool:
    """True when the first element is a ContentInfo (its first child an OBJECT IDENTIFIER),
    not a Certificate (whose first child is the tbsCertificate SEQUENCE)."""
    try:
        first = split_tlvs(data[: definite_tlv_end(data, 0) or len(data)], what="bundle", max_items=1)[0]
    except InvalidInput:
        return False
    return first.cls == 0 and first.tag == 16 and first.contents[:1] == b"\x06"


def _pkcs7_certificates(der: bytes, what: str) -> list[x509.Certificate]:
    """The certificates of a PKCS#7 / CMS SignedData bundle (RFC 5652 clause 5.1)."""
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].dotted not in (OID_SIGNED_DATA, OID_SM2_SIGNED_DATA):
            raise MalformedCertificate(f"{what}: PKCS#7 content is not signedData")
        choices = list(info["content"]["certificates"])
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedCertificate(f"{what}: malformed PKCS#7 certificate bundle ({exc})") from exc
    if len(choices) > MAX_BUNDLE_CERTS:
        raise CertificateInputTooLarge(f"{_TOO_LARGE}: {what}: more than {MAX_BUNDLE_CERTS} certificates")
    certs: list[x509.Certificate] = []
    for index, choice in enumerate(choices, 1):
        if choice.name != "certificate":
            raise MalformedCertificate(f"{what}: PKCS#7 entry {index} is a {choice.name}, not a certificate")
        certs.append(parse_certificate(choice.chosen.dump(), f"{what}: PKCS#7 certificate {index}"))
    if not certs:
        raise MalformedCertificate(f"{what}: the PKCS#7 bundle holds no certificate")
    return certs


# --- describing --------------------------------------------------------------------------------


def subject_text(cert: x509.Certificate) -> str:
    """The subject as readable text (``Common Name: x, Organization: y``), for messages.

    A subject that does not decode (damaged or nested thousands deep, which asn1crypto
    decodes recursively) gives ``"(unreadable subject)"`` instead of an exception.
    """
    return _name_text(cert, "subject")


def _name_text(cert: x509.Certificate, which: str) -> str:
    try:
        text: str = cert["tbs_certificate"][which].human_friendly
    except (ValueError, TypeError, KeyError, RecursionError, AttributeError):
        return f"(unreadable {which})"
    return text


def certificate_label(cert: x509.Certificate) -> str:
    """A short label for messages: quoted subject and serial (lower-case hex); kept for a
    completely read certificate (:func:`read_certificate`), which every step names again."""
    label = _LABELS.get(cert)
    return label if label is not None else _label(cert)


def _label(cert: x509.Certificate) -> str:
    try:
        serial = f"{cert.serial_number:x}"
    except (ValueError, TypeError, KeyError):
        serial = "?"
    return f"'{subject_text(cert)}' (serial {serial})"


@dataclass(frozen=True, slots=True)
class CertificateDescription(JsonFields):
    """What ezhifu says about a certificate: names, serial (lower-case hex), validity, key
    kind (``"sm2"``, ``"rsa"``, ``"ec"``, or the algorithm name of another key), key size in
    bits, SHA-256 fingerprint of the DER (lower-case hex) and whether it is a CA."""

    subject: str
    issuer: str
    serial_hex: str = field(metadata={JSON_NAME: "serial"})
    not_before: datetime
    not_after: datetime
    key_kind: str
    key_bits: int | None
    sha256: str
    is_ca: bool

    @property
    def label(self) -> str:
        """Quoted subject and serial, as in messages (:func:`certificate_label`)."""
        return f"'{self.subject}' (serial {self.serial_hex})"

    def signer_info(self) -> SignerInfo:
        """The :class:`~ezhifu.results.SignerInfo` view (subject, issuer, serial, validity)."""
        return SignerInfo(
            subject=self.subject,
            issuer=self.issuer,
            serial_hex=self.serial_hex,
            not_before=self.not_before,
            not_after=self.not_after,
        )


def describe(cert: CertLike) -> CertificateDescription:
    """Describe a certificate (asn1crypto object or PEM/DER bytes); the one describer."""
    certificate = load_certificate(cert)
    try:
        validity = certificate["tbs_certificate"]["validity"]
        spki = certificate["tbs_certificate"]["subject_public_key_info"]
        try:
            kind: str = key_kind(spki)
        except UnsupportedAlgorithm:
            kind = str(spki["algorithm"]["algorithm"].native)
        try:
            bits: int | None = int(spki.bit_size)
        except (ValueError, TypeError, KeyError):
            bits = None
        return CertificateDescription(
            subject=subject_text(certificate),
            issuer=_name_text(certificate, "issuer"),
            serial_hex=format(certificate.serial_number, "x"),
            not_before=validity["not_before"].native,
            not_after=validity["not_after"].native,
            key_kind=kind,
            key_bits=bits,
            sha256=hashlib.sha256(certificate.dump()).hexdigest(),
            is_ca=is_ca(certificate),
        )
    except (ValueError, TypeError, KeyError) as exc:
        label = certificate_label(certificate)
        raise MalformedCertificate(f"certificate {label}: unreadable ({exc})") from exc


#: Signer descriptions of parsed certificate objects, by identity: the parsed certificates are
#: shared by exact DER (:func:`shared_certificate`) and read-only, so the signer of every seal
#: signature of a batch is described once. Only successes are kept.
_INFOS: weakref.WeakKeyDictionary[x509.Certificate, SignerInfo] = weakref.WeakKeyDictionary()


def cert_info(cert: CertLike) -> SignerInfo:
    """Subject, issuer, serial (lower-case hex) and validity of a certificate."""
    if not isinstance(cert, x509.Certificate):
        return describe(cert).signer_info()
    info = _INFOS.get(cert)
    if info is None:
        info = _INFOS[cert] = describe(cert).signer_info()
    return info


# --- key kind ----------------------------------------------------------------------------------


def key_kind(obj: object) -> KeyKind:
    """``"sm2"``, ``"rsa"`` or ``"ec"`` (P-256 and other curves) of a private or public key, a
    certificate, a ``SubjectPublicKeyInfo`` or a PKCS#8 ``PrivateKeyInfo``; the one key-kind
    function.

    SM2 keys are ``id-ecPublicKey`` with the named curve ``1.2.156.10197.1.301``
    (GB/T 35276-2017 clause 6); some writers use the SM2 OID as the algorithm itself.
    Anything else raises :class:`~ezhifu.errors.UnsupportedAlgorithm` (an unknown key object:
    :class:`~ezhifu.errors.InvalidInput`).
    """
    if isinstance(obj, SM2PrivateKey | SM2PublicKey):
        return "sm2"
    if isinstance(obj, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "rsa"
    if isinstance(obj, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ec"
    if isinstance(obj, x509.Certificate):
        kind = _KINDS.get(obj)
        if kind is None:
            spki = obj["tbs_certificate"]["subject_public_key_info"]
            kind = _algorithm_kind(spki["algorithm"], f"certificate {subject_text(obj)!r}")
            if fully_read(obj):  # read-only and answering alike: asked once per signature
                _KINDS[obj] = kind
        return kind
    if isinstance(obj, keys.PublicKeyInfo):
        return _algorithm_kind(obj["algorithm"], "certificate 'public key'")
    if isinstance(obj, keys.PrivateKeyInfo):
        return _algorithm_kind(obj["private_key_algorithm"], "PKCS#8 private key")
    raise InvalidInput(f"not a key ezhifu knows: {type(obj).__name__}")


def _algorithm_kind(info: Any, where: str) -> KeyKind:
    """The kind named by a public or private key AlgorithmIdentifier."""
    algorithm = info["algorithm"].dotted
    if algorithm == OID_RSA:
        return "rsa"
    if algorithm == OID_SM2:
        return "sm2"
    if algorithm == OID_EC_PUBLIC_KEY:
        params = info["parameters"]
        if params.name == "named" and params.chosen.dotted == OID_SM2:
            return "sm2"
        return "ec"
    raise UnsupportedAlgorithm(f"{where}: unsupported public key {algorithm}")


# --- validity and key usage (RFC 5280 clauses 4.1.2.5, 4.2.1.3, 4.2.1.9, 4.2.1.12) -------------


def validity_refusal(
    cert: x509.Certificate, at: datetime, *, skew: timedelta = timedelta(0), role: str = ""
) -> str | None:
    """``None`` when ``notBefore - skew <= at <= notAfter + skew``, otherwise why not.

    ``role`` (``"signer"``, ``"issuer"`` ...) starts the message; ``at`` must be aware.
    """
    who = f"{role} certificate" if role else "certificate"
    try:
        nb: datetime = cert.not_valid_before
        na: datetime = cert.not_valid_after
    except (ValueError, TypeError, KeyError) as exc:
        return f"{who} {certificate_label(cert)} has an unreadable validity ({exc})"
    if at + skew < nb:
        return (
            f"{who} {certificate_label(cert)} is not yet valid at {at.isoformat()} "
            f"(not valid before {nb.isoformat()})"
        )
    if at - skew > na:
        return f"{who} {certificate_label(cert)} expired at {na.isoformat()} (checked at {at.isoformat()})"
    return None


def check_validity(cert: CertLike, at: datetime | None = None) -> None:
    """Check ``notBefore <= at <= notAfter`` (RFC 5280 clause 4.1.2.5); ``at`` defaults to now.

    ``at`` must be timezone-aware. Raises :class:`CertificateNotYetValid` or
    :class:`CertificateExpired` with the reason of :func:`validity_refusal`.
    """
    certificate = load_certificate(cert)
    when = datetime.now(UTC) if at is None else at
    if when.tzinfo is None:
        raise InvalidInput("check_validity: 'at' must be a timezone-aware datetime")
    reason = validity_refusal(certificate, when)
    if reason is None:
        return
    if when < certificate.not_valid_before:
        raise CertificateNotYetValid(reason)
    if when > certificate.not_valid_after:
        raise CertificateExpired(reason)
    raise MalformedCertificate(reason)


def key_usage(cert: CertLike) -> frozenset[str] | None:
    """The keyUsage bits set (asn1crypto names: ``digital_signature``, ``non_repudiation``,
    ``key_cert_sign`` ...), or None when the extension is absent (RFC 5280 clause 4.2.1.3)."""
    value = load_certificate(cert).key_usage_value
    if value is None:
        return None
    return frozenset(value.native)


def extended_key_usage(cert: CertLike) -> frozenset[str] | None:
    """extendedKeyUsage purposes (names or dotted OIDs), or None when absent (clause 4.2.1.12)."""
    value = load_certificate(cert).extended_key_usage_value
    if value is None:
        return None
    return frozenset(value.native)


def is_ca(cert: CertLike) -> bool:
    """True when basicConstraints says ``cA = TRUE`` (RFC 5280 clause 4.2.1.9)."""
    value = load_certificate(cert).basic_constraints_value
    return bool(value is not None and value["ca"].native)


#: keyUsage bit names as RFC 5280 clause 4.2.1.3 spells them, for messages.
_RFC_USAGE_NAMES = {
    "digital_signature": "digitalSignature",
    "non_repudiation": "nonRepudiation",
    "key_cert_sign": "keyCertSign",
    "crl_sign": "cRLSign",
}


def key_usage_refusal(
    cert: x509.Certificate,
    required: Iterable[str] = ("digital_signature",),
    *,
    any_of: bool = True,
    extended: Iterable[str] = (),
    role: str = "",
) -> str | None:
    """``None`` when the certificate may be used for ``required`` (keyUsage names), else why not.

    With ``any_of`` (default) one of the names suffices (a signing certificate may carry
    ``digital_signature`` or ``non_repudiation``); otherwise all are needed. An absent
    keyUsage extension does not restrict (RFC 5280 clause 4.2.1.3). ``extended`` purposes, if
    given, must each appear in an extendedKeyUsage extension when one is present
    (``any_extended_key_usage`` satisfies all).
    """
    who = f"{role} certificate" if role else "certificate"
    wanted = list(required)
    usage = key_usage(cert)
    if usage is not None and wanted:
        ok = any(u in usage for u in wanted) if any_of else all(u in usage for u in wanted)
        if not ok:
            names = [_RFC_USAGE_NAMES.get(u, u) for u in wanted]
            if any_of and len(names) > 1:
                need = "neither " + " nor ".join(names)
                verb = "allows"
            else:
                need, verb = " and ".join(names), "does not allow"
            present = ", ".join(sorted(usage)) or "none"
            return f"{who} {certificate_label(cert)} key usage ({present}) {verb} {need}"
    purposes = list(extended)
    eku = extended_key_usage(cert)
    if eku is not None and purposes and "any_extended_key_usage" not in eku:
        missing = [p for p in purposes if p not in eku]
        if missing:
            return f"{who} {certificate_label(cert)}: extendedKeyUsage {sorted(eku)} lacks {missing}"
    return None


def check_key_usage(
    cert: CertLike,
    required: Iterable[str] = ("digital_signature",),
    *,
    any_of: bool = True,
    extended: Iterable[str] = (),
) -> None:
    """Raise :class:`KeyUsageError` with the reason of :func:`key_usage_refusal`, if any."""
    reason = key_usage_refusal(load_certificate(cert), required, any_of=any_of, extended=extended)
    if reason is not None:
        raise KeyUsageError(reason)
