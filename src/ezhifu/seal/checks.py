"""Low-level checks shared by applying and verifying seals: signatures over raw bytes, holders.

Every check here returns ``None`` when it passes and the reason (a sentence) when it does not;
none raises for a bad signature. Signatures are always checked over the exact bytes
cut from the input (``Seal.signed_bytes``, ``SealSignature.tbs_bytes``), never a re-encoding
(GB/T 38540-2020 clause 6.3 / 7.3 verify "the data as signed").
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac

from asn1crypto import x509

from ezhifu.crypto.base import SignatureAlgorithm
from ezhifu.crypto.sm2 import raw_to_der
from ezhifu.crypto.sm3 import hash_data
from ezhifu.document.envelope import SignStampElement
from ezhifu.errors import DecodingError, EzhifuError, PictureError, UnsupportedAlgorithm
from ezhifu.pki.certs import cert_info, read_shared_certificate
from ezhifu.pki.signer import verify_signature
from ezhifu.results import ItemResult, SealFacts, SignerInfo, StepLog
from ezhifu.seal.asn1 import v4 as asn1_v4
from ezhifu.seal.model import Seal, algorithm_for_oid
from ezhifu.seal.picture import export_picture

__all__ = [
    "KNOWN_SEAL_EXTENSIONS",
    "OK",
    "SEAL_ALGORITHMS",
    "Steps",
    "check_maker_signature",
    "check_seal_id",
    "critical_extension_refusal",
    "format_failure",
    "holder_matches",
    "load_certificate",
    "require_seal_algorithm",
    "seal_facts",
    "signer_info",
    "stamp_der",
    "verify_raw_signature",
]


#: Algorithms a seal or seal signature may use: GM/T 0031-2014 clause 6.2.1 allows SM2 (with SM3)
#: and RSA with SHA-1 or SHA-256 (the data hash must match the signature algorithm).
SEAL_ALGORITHMS = frozenset(
    {SignatureAlgorithm.SM2_SM3, SignatureAlgorithm.RSA_SHA256, SignatureAlgorithm.RSA_SHA1}
)


def require_seal_algorithm(algorithm: SignatureAlgorithm, *, who: str) -> None:
    """Refuse a signer whose algorithm the seal standards do not allow."""
    if algorithm not in SEAL_ALGORITHMS:
        raise UnsupportedAlgorithm(
            f"{who} signs with {algorithm.value}; GM/T 0031-2014 clause 6.2.1 allows SM2 with SM3 "
            "or RSA with SHA-1 or SHA-256"
        )


#: The outcome noted for a step that passed.
OK = "ok"

#: The step recorder of the seal verifiers is the one of every verifier (ezhifu.results.StepLog).
Steps = StepLog


def check_seal_id(steps: Steps, sn: str, seal_id: str) -> None:
    """The ``seal-id`` step of a ``<SignStamp>``: its ``SN`` attribute must be the seal's id."""
    if sn == seal_id:
        steps.ok("seal-id", "SignStamp SN equals the seal id")
    else:
        steps.fail("seal-id", f"SignStamp SN {sn!r} is not the seal id {seal_id!r}")


def stamp_der(stamp: SignStampElement) -> bytes:
    """The seal-signature DER in a ``<SignStamp>``: its text read as Base64 the lenient way.

    Characters outside the Base64 alphabet are skipped (``validate=False``), as both the standard
    and the vendor stamp verifiers have always read it; a wrong length or non-ASCII text raises
    :class:`DecodingError` with the decoder's message.
    """
    try:
        return base64.b64decode(stamp.value.strip().encode("ascii"), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise DecodingError(str(exc)) from exc


def format_failure(position: str, reason: str, sn: str | None) -> ItemResult:
    """The result for a ``<SignStamp>`` that cannot be read at all: only a failed ``format`` step.

    Shared by the standard and the vendor stamp verifiers so both report unreadable input alike.
    """
    steps = StepLog()
    steps.fail("format", reason)
    return ItemResult.from_steps("seal", position, steps, intact=False, trusted=False, seal_id=sn)


def load_certificate(der: bytes, what: str) -> tuple[x509.Certificate | None, str | None]:
    """Parse a DER certificate carried in a seal; ``(cert, None)`` or ``(None, reason)``."""
    try:
        # Shared by exact DER (one holder certificate signs every stamp of a batch), and read
        # completely first: one that does not read is refused here, the same way every time.
        cert = read_shared_certificate(bytes(der))
    except Exception as exc:  # asn1crypto decodes lazily: any defect of a hostile certificate
        return None, f"{what} is not a readable X.509 certificate ({exc})"
    return cert, None


def _normalise_sm2(signature: bytes) -> bytes:
    """Accept a bare 64-byte ``r || s`` as well as DER (seal_sm2.md §4.6); verify DER."""
    if len(signature) == 64 and signature[:1] != b"\x30":
        return raw_to_der(signature)
    return signature


def verify_raw_signature(
    cert: x509.Certificate, algorithm_oid: str, data: bytes, signature: bytes, *, what: str
) -> str | None:
    """Verify ``signature`` over ``data`` with the certificate's key and the named algorithm.

    SM2 uses SM3 with ``Z_A`` of the default ID ``1234567812345678`` (GM/T 0009-2012 clause 10),
    the ID every seal implementation examined uses; RSA is PKCS#1 v1.5.
    """
    try:
        algorithm = algorithm_for_oid(algorithm_oid)
    except EzhifuError as exc:
        return f"{what}: {exc}"
    key_kind = "ec" if algorithm.key_kind in ("sm2", "ec") else algorithm.key_kind
    try:
        cert_kind = cert.public_key.algorithm
    except (ValueError, TypeError, KeyError) as exc:
        return f"{what}: unreadable public key in the certificate ({exc})"
    if cert_kind != key_kind:
        return f"{what}: algorithm {algorithm.value} does not match the certificate's {cert_kind} key"
    value = _normalise_sm2(signature) if algorithm is SignatureAlgorithm.SM2_SM3 else signature
    try:
        verify_signature(cert, data, value, algorithm=algorithm)
    except EzhifuError as exc:
        return f"{what} does not verify ({exc})"
    return None


#: Seal extensions (``ExtData.extnID``) ezhifu understands; none yet (GB/T 38540-2020 6.1 leaves
#: them to the issuer), so every critical one is unknown and makes the seal invalid.
KNOWN_SEAL_EXTENSIONS: frozenset[str] = frozenset()


def critical_extension_refusal(seal: Seal) -> str | None:
    """Why ``seal`` is invalid because of an unknown critical extension (``None`` when it is
    not): a critical extension must be understood, as in X.509 (RFC 5280 §4.2), whichever
    container format (GM/T 0031 v1, GB/T 38540 v4) carries it."""
    unknown = sorted(e.oid for e in seal.extensions if e.critical and e.oid not in KNOWN_SEAL_EXTENSIONS)
    if not unknown:
        return None
    return f"seal {seal.seal_id} carries unknown critical extension(s) {', '.join(unknown)}"


def check_maker_signature(seal: Seal) -> str | None:
    """The seal maker's signature over the raw signed part of the seal (GM/T 0031-2014 6.1.2 step 2,
    GB/T 38540-2020 6.3 step 2)."""
    return _maker_signature_outcome(
        seal.maker_cert, seal.algorithm_oid, seal.signed_bytes, seal.maker_signature
    )


@functools.lru_cache(maxsize=256)
def _maker_signature_outcome(
    maker_cert: bytes, algorithm_oid: str, signed: bytes, signature: bytes
) -> str | None:
    """Cached by the exact bytes: the outcome depends on nothing else, and one seal stamps
    thousands of vouchers in a batch, so its maker's signature is checked once per process."""
    cert, reason = load_certificate(maker_cert, "seal maker certificate")
    if cert is None:
        return reason
    return verify_raw_signature(cert, algorithm_oid, signed, signature, what="seal maker's signature")


def holder_matches(seal: Seal, signer_cert_der: bytes) -> bool:
    """Whether a signer certificate is one of the seal's holders (GM/T 0031-2014 clause 6.2.2).

    With ``certListType`` 1 the DER must be byte-equal to a listed certificate; with 2 its digest
    (algorithm named by ``CertDigestObj.type``: SM3, SHA-1 or SHA-256) must equal a listed digest.
    """
    if seal.cert_list_type == asn1_v4.CERT_LIST_CERTS:
        return any(signer_cert_der == c for c in seal.holder_certs)
    for kind, digest in seal.holder_cert_digests:
        name = kind.strip().lower().replace("-", "")
        if name in ("sm3", "sha1", "sha256") and hmac.compare_digest(
            hash_data(name, signer_cert_der), bytes(digest)
        ):
            return True
    return False


def signer_info(cert: x509.Certificate) -> SignerInfo:
    """The :class:`SignerInfo` of a certificate (subject, issuer, lower-case hex serial, validity).

    The same description as for CMS signatures (:func:`ezhifu.pki.certs.cert_info`), so seals
    and signatures name their signers alike.
    """
    return cert_info(cert)


@functools.lru_cache(maxsize=256)
def seal_facts(seal: Seal) -> SealFacts:
    """What a display shows of a standard seal (identity, window, maker, picture), from the parse.

    Cached by the (frozen) seal: one seal stamps every voucher of a batch."""
    maker, _ = load_certificate(seal.maker_cert, "seal maker certificate")
    try:
        picture, error = export_picture(seal), None
    except PictureError as exc:
        picture, error = None, str(exc)
    return SealFacts(
        seal_id=seal.seal_id,
        name=seal.name,
        standard=seal.version.standard,
        valid_from=seal.valid_from,
        valid_to=seal.valid_to,
        maker=cert_info(maker) if maker is not None else None,
        picture=picture,
        picture_error=error,
        picture_data=seal.picture.data,
    )
