"""Detached CMS SignedData over a voucher's Base64 text (RFC 5652, PKCS#7 v1.5, GB/T 35275).

What the treasury deployments exchange (spec.md §5.3): ``<Signature>`` carries the Base64 of a
DER ``ContentInfo`` holding a **detached** ``SignedData`` (no ``eContent``) whose signed
content is the exact ASCII Base64 text of ``<Voucher>``; one ``SignerInfo``; the signer
certificate embedded; **no signed attributes** (the signature is computed over the content
itself, RFC 5652 clause 5.4 first paragraph). Observed: SHA-1 with RSA-1024.

Two object-identifier styles are written and both are read:

``"pkcs7"``
    ``id-signedData`` 1.2.840.113549.1.7.2 and ``id-data`` 1.2.840.113549.1.7.1, as OpenSSL
    and Bouncy Castle write (also for SM2, interop.md).
``"gbt35275"``
    GB/T 35275-2017 clause 5 (= GM/T 0010-2012): signedData 1.2.156.10197.6.1.4.2.2 and data
    1.2.156.10197.6.1.4.2.1 (seal_sm2.md §5.4-5.5). The default for SM2 signers.

For SM2 the ``digestEncryptionAlgorithm`` is either ``sm2-with-sm3`` 1.2.156.10197.1.501 (what
GmSSL requires and Bouncy Castle writes; the default here) or ``sm2-1`` 1.2.156.10197.1.301.1
(what ofdrw writes); both are accepted on input, as is the key OID 1.2.156.10197.1.301. The
SM2 signature value must be DER ``SEQUENCE { r INTEGER, s INTEGER }`` (GB/T 35276-2017 clause
7.3); a raw 64-byte ``r || s`` is refused, as OpenSSL and Bouncy Castle refuse it
(interop.md). SM2 uses the GM/T 0009-2012 clause 10 default signer ID.

Signed attributes (RFC 5652 clause 5.3) are optional: when present, ``content-type`` must equal
the ``eContentType``, ``message-digest`` must equal the digest of the content, and the
signature covers the DER ``SET OF`` attributes as *received*, re-tagged from ``[0]`` to
``0x31`` (clause 5.4); they are never re-encoded before verification.

:func:`verify_detached` never raises for bad input: garbage, truncated, oversized or
mis-structured DER yields ``intact=False`` with the reason. The outer structure may be BER
(Bouncy Castle's ``getEncoded()`` writes indefinite lengths); trailing bytes are refused.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from asn1crypto import algos, cms, core, x509

from ezhifu.crypto import oids
from ezhifu.crypto.base import SignatureAlgorithm, Signer
from ezhifu.crypto.der import split_tlvs, tlv
from ezhifu.crypto.oids import OID_DATA, OID_SIGNED_DATA, OID_SM2_SIGN, OID_SM2_WITH_SM3
from ezhifu.crypto.oids import OID_RSA as OID_RSA_ENCRYPTION
from ezhifu.crypto.oids import OID_SM2_DATA as OID_GBT_DATA  # GB/T 35275-2017 clause 5
from ezhifu.crypto.oids import OID_SM2_SIGNED_DATA as OID_GBT_SIGNED_DATA
from ezhifu.errors import EzhifuError, InvalidInput, SigningError, UnsupportedAlgorithm
from ezhifu.pki.certs import certificate_label, key_kind, shared_certificate
from ezhifu.pki.path import ChainResult, same_name, validate_chain
from ezhifu.pki.trust import TrustStore, VerifyPolicy

__all__ = [
    "DEFAULT_MAX_CMS_BYTES",
    "OID_DATA",
    "OID_GBT_DATA",
    "OID_GBT_SIGNED_DATA",
    "OID_SIGNED_DATA",
    "CmsVerification",
    "OidStyle",
    "Sm2SignatureOid",
    "sign_detached",
    "verify_detached",
]

OidStyle = Literal["gbt35275", "pkcs7"]
Sm2SignatureOid = Literal["sm2-with-sm3", "sm2-1"]


#: Largest CMS accepted by :func:`verify_detached` (a signature with a chain is a few KiB).
DEFAULT_MAX_CMS_BYTES = 1 << 20

_DIGEST_OIDS = oids.DIGEST_NAMES
_DIGEST_OID_BY_NAME = oids.DIGEST_OIDS

#: digestEncryptionAlgorithm OID -> (key kind, digest implied by the OID or None).
_SIG_OIDS = oids.SIGNATURE_KINDS

_ALGORITHMS: dict[tuple[str, str], SignatureAlgorithm] = {
    (alg.key_kind, alg.digest_name): alg for alg in SignatureAlgorithm
}



class _SignedContentInfo(core.Sequence):  # type: ignore[misc]
    """``ContentInfo`` (RFC 5652 clause 3; GB/T 35275 clause 6) read with SignedData content.

    A private class so that the GB/T 35275 content type needs no change to asn1crypto's
    global tables; the caller checks ``content_type`` itself.
    """

    _fields = [  # noqa: RUF012 - asn1crypto's declarative schema
        ("content_type", core.ObjectIdentifier),
        ("content", cms.SignedData, {"explicit": 0}),
    ]


@dataclass(frozen=True, slots=True)
class CmsVerification:
    """The outcome of :func:`verify_detached` (frozen).

    ``intact``: the signature value verifies over the content (and, with signed attributes,
    the message digest matches). ``allowed``: the algorithms and key size pass the policy.
    ``trusted``: the signer certificate chains to the trust store under the policy.
    ``reason`` is ``None`` exactly when :attr:`valid`; otherwise the first failed check.
    (With ``VerifyPolicy(require_trusted=False)`` an untrusted signer is valid but
    ``trusted`` stays ``False``.)
    """

    intact: bool
    trusted: bool
    reason: str | None
    allowed: bool = False
    signer_certificate: x509.Certificate | None = None
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None
    signing_time: datetime | None = None
    signed_attributes: bool = False
    oid_style: str | None = None
    certificates: tuple[x509.Certificate, ...] = ()
    chain: ChainResult | None = None
    checks: tuple[tuple[str, str], ...] = field(default=())

    @property
    def valid(self) -> bool:
        """Intact, allowed by the policy and (unless the policy waives it) trusted."""
        return self.reason is None and self.intact and self.allowed


# --------------------------------------------------------------------------- signing


def _hash(name: str, data: bytes) -> bytes:
    from ezhifu.crypto.sm3 import hash_data

    return hash_data(name, data)


def _time(when: datetime) -> cms.Time:
    """RFC 5652 clause 11.3: UTCTime for 1950..2049, GeneralizedTime otherwise."""
    if 1950 <= when.year < 2050:
        return cms.Time({"utc_time": when})
    return cms.Time({"generalized_time": when})


def sign_detached(
    data: bytes,
    signer: Signer,
    *,
    signed_attributes: bool = False,
    signing_time: datetime | None = None,
    oid_style: OidStyle | None = None,
    sm2_signature_oid: Sm2SignatureOid = "sm2-with-sm3",
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Sign ``data`` and return a DER detached CMS ``ContentInfo`` (RFC 5652 clause 5).

    * ``signed_attributes=False`` (default, what partners use, spec.md §5.3): the signature
      is over ``data`` itself. ``True`` adds content-type, message-digest and signing-time
      (``signing_time`` or now, UTC) and signs their DER ``SET OF`` (clause 5.4).
    * ``oid_style``: ``"gbt35275"`` (GB/T 35275 content types) or ``"pkcs7"``; the default
      is ``"gbt35275"`` for SM2 signers and ``"pkcs7"`` for RSA/ECDSA. GB/T 35275 OIDs are
      for SM2 only.
    * ``sm2_signature_oid``: ``"sm2-with-sm3"`` (1.2.156.10197.1.501, default) or
      ``"sm2-1"`` (1.2.156.10197.1.301.1) as the SM2 ``digestEncryptionAlgorithm``.
    * ``chain``: extra certificates (intermediates) embedded after the signer certificate.

    Raises :class:`SigningError` when the signer has no certificate or fails, and
    :class:`InvalidInput` for contradictory options.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidInput(f"sign_detached: data must be bytes, not {type(data).__name__}")
    data = bytes(data)
    cert = signer.certificate
    if cert is None:
        raise SigningError("sign_detached: the signer has no certificate; CMS needs one to embed")
    algorithm = signer.algorithm
    kind = algorithm.key_kind
    style: OidStyle = oid_style or ("gbt35275" if kind == "sm2" else "pkcs7")
    if style not in ("gbt35275", "pkcs7"):
        raise InvalidInput(f"sign_detached: unknown oid_style {style!r} (expected 'gbt35275' or 'pkcs7')")
    if style == "gbt35275" and kind != "sm2":
        raise InvalidInput(
            f"sign_detached: oid_style 'gbt35275' is defined for SM2 only, not {algorithm.value}"
        )
    if sm2_signature_oid not in ("sm2-with-sm3", "sm2-1"):
        raise InvalidInput(f"sign_detached: unknown sm2_signature_oid {sm2_signature_oid!r}")
    content_oid = OID_GBT_DATA if style == "gbt35275" else OID_DATA
    signed_data_oid = OID_GBT_SIGNED_DATA if style == "gbt35275" else OID_SIGNED_DATA
    digest_oid = _DIGEST_OID_BY_NAME[algorithm.digest_name]

    if kind == "rsa":
        # rsaEncryption with NULL parameters, as OpenSSL writes (RFC 3370 clause 3.2).
        sig_alg = {"algorithm": OID_RSA_ENCRYPTION, "parameters": core.Null()}
    elif kind == "sm2":
        sig_alg = {"algorithm": OID_SM2_WITH_SM3 if sm2_signature_oid == "sm2-with-sm3" else OID_SM2_SIGN}
    else:
        sig_alg = {"algorithm": algorithm.signature_oid}

    attrs: cms.CMSAttributes | None = None
    if signed_attributes:
        when = signing_time or datetime.now(UTC).replace(microsecond=0)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": [content_oid]},
                {"type": "signing_time", "values": [_time(when)]},
                {"type": "message_digest", "values": [_hash(algorithm.digest_name, data)]},
            ]
        )
        # RFC 5652 clause 5.4: the signature covers the DER SET OF (tag 0x31).
        to_sign = attrs.dump()
    elif signing_time is not None:
        raise InvalidInput(
            "sign_detached: signing_time needs signed_attributes=True (it is a signed attribute)"
        )
    else:
        to_sign = data

    try:
        signature = signer.sign(to_sign)
    except EzhifuError:
        raise
    except Exception as exc:
        raise SigningError(f"sign_detached: the signer failed ({type(exc).__name__}: {exc})") from exc

    certificates = [cert, *(c for c in chain if c.dump() != cert.dump())]
    if attrs is None:
        # The usual case (spec.md §5.3): everything but the signature value is the same for
        # every voucher a signer signs, so it is encoded once (see _template).
        template = _template(
            tuple(bytes(c.dump()) for c in certificates),
            digest_oid,
            sig_alg["algorithm"],
            "parameters" in sig_alg,
            content_oid,
            signed_data_oid,
        )
        return template.assemble(bytes(signature))
    return _assemble(certificates, digest_oid, sig_alg, content_oid, signed_data_oid, signature, attrs)


def _assemble(
    certificates: Sequence[x509.Certificate],
    digest_oid: str,
    sig_alg: dict[str, Any],
    content_oid: str,
    signed_data_oid: str,
    signature: bytes,
    attrs: cms.CMSAttributes | None,
) -> bytes:
    """The DER ``ContentInfo`` built field by field with asn1crypto (RFC 5652 clauses 3, 5.1, 5.3)."""
    cert = certificates[0]
    signer_info: dict[str, Any] = {
        "version": "v1",
        "sid": cms.SignerIdentifier(
            {"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}}
        ),
        "digest_algorithm": {"algorithm": digest_oid},
        "signature_algorithm": sig_alg,
        "signature": signature,
    }
    if attrs is not None:
        signer_info["signed_attrs"] = attrs
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": digest_oid}],
            "encap_content_info": {"content_type": content_oid},
            "certificates": [cms.CertificateChoices({"certificate": c}) for c in certificates],
            "signer_infos": [signer_info],
        }
    )
    content_info = _SignedContentInfo({"content_type": signed_data_oid, "content": signed_data})
    return bytes(content_info.dump())


def _tlvs(data: bytes) -> list[bytes]:
    """The complete TLVs of a concatenation of DER elements (a CMS has a handful)."""
    return [item.element for item in split_tlvs(data, what="CMS template", max_items=16)]


@dataclass(frozen=True, slots=True)
class _Template:
    """The constant DER of a detached CMS without signed attributes, around the signature.

    ``ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }`` with ``SignedData ::=
    SEQUENCE { version, digestAlgorithms, encapContentInfo, [0] certificates, SET OF SignerInfo }``
    and ``SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signatureAlgorithm,
    signature OCTET STRING }`` (RFC 5652 clauses 3, 5.1, 5.3): only the OCTET STRING and the
    lengths around it change from one voucher to the next.
    """

    content_type: bytes  # the contentType TLV
    signed_data_head: bytes  # version .. certificates TLVs
    signer_info_head: bytes  # version .. signatureAlgorithm TLVs

    def assemble(self, signature: bytes) -> bytes:
        signer_info = tlv(0x30, self.signer_info_head + tlv(0x04, signature))
        signed_data = tlv(0x30, self.signed_data_head + tlv(0x31, signer_info))
        return tlv(0x30, self.content_type + tlv(0xA0, signed_data))


@functools.lru_cache(maxsize=64)
def _template(
    cert_ders: tuple[bytes, ...],
    digest_oid: str,
    sig_oid: str,
    sig_null_parameters: bool,
    content_oid: str,
    signed_data_oid: str,
) -> _Template:
    """Encode once per signer (exact certificate bytes and algorithms) with asn1crypto and cut
    the constant parts out of that encoding, so they are byte for byte what asn1crypto writes."""
    sig_alg: dict[str, Any] = {"algorithm": sig_oid}
    if sig_null_parameters:
        sig_alg["parameters"] = core.Null()
    certificates = [x509.Certificate.load(der) for der in cert_ders]
    reference = _assemble(certificates, digest_oid, sig_alg, content_oid, signed_data_oid, b"\x00", None)
    content_type, explicit = _tlvs(_contents(reference))
    signed_data_fields = _tlvs(_contents(_contents(explicit)))
    signer_infos = signed_data_fields[-1]
    signer_info_fields = _tlvs(_contents(_contents(signer_infos)))
    template = _Template(
        content_type=content_type,
        signed_data_head=b"".join(signed_data_fields[:-1]),
        signer_info_head=b"".join(signer_info_fields[:-1]),
    )
    if template.assemble(b"\x00") != reference:  # pragma: no cover - a defect in this module
        raise SigningError("internal error: the CMS template does not reproduce the encoding")
    return template


def _contents(element: bytes) -> bytes:
    return split_tlvs(element, what="CMS template", max_items=1)[0].contents


# --------------------------------------------------------------------------- verifying


class _Fail(Exception):
    """Internal: stop verification with a reason (never escapes this module)."""

    def __init__(self, reason: str, step: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.step = step


#: SignerInfo fields that are the same on every CMS one signer makes (RFC 5652 clause 5.3),
#: with the class that decodes each of them.
_CONSTANT_FIELDS: dict[str, type[core.Asn1Value]] = {
    "sid": cms.SignerIdentifier,
    "digest_algorithm": cms.DigestAlgorithm,
    "signature_algorithm": cms.SignedDigestAlgorithm,
}


@functools.lru_cache(maxsize=1024)
def _decode_constant_field(name: str, der: bytes) -> None:
    """Decode one constant SignerInfo field fully (raises ``ValueError`` etc. when malformed).

    Cached by the field name and its exact DER: the identifier (issuer name and serial) and the
    algorithm identifiers repeat on every CMS of a signer, and decoding them (a Name above all)
    is most of the cost of decoding a SignerInfo. Only successful decodes are remembered, so a
    defect is reported every time.
    """
    _CONSTANT_FIELDS[name].load(der, strict=True).native  # noqa: B018


def _decode_signer_infos(signer_infos: Any) -> None:
    """Decode every field of every SignerInfo now, as ``.native`` would, so that structural
    defects are reported at the parse step; the constant fields through
    :func:`_decode_constant_field`."""
    for si in signer_infos:
        for name in si:
            value = si[name]
            if name in _CONSTANT_FIELDS:
                _decode_constant_field(name, bytes(value.dump()))
            else:
                value.native  # noqa: B018


def _find_signer_cert(
    sid: Any, embedded: Sequence[x509.Certificate], trust: TrustStore
) -> x509.Certificate | None:
    if sid.name == "issuer_and_serial_number":
        ias = sid.chosen
        issuer = ias["issuer"]
        serial = ias["serial_number"].native
        for cert in (*embedded, *trust.pinned, *trust.intermediates, *trust.roots):
            if cert.serial_number == serial and same_name(cert.issuer, issuer):
                return cert
        return None
    ski = sid.chosen.native
    for cert in (*embedded, *trust.pinned, *trust.intermediates, *trust.roots):
        if cert.key_identifier == ski:
            return cert
    return None


def _sid_text(sid: Any) -> str:
    try:
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            return f"issuer '{ias['issuer'].human_friendly}', serial {ias['serial_number'].native:x}"
        return f"subject key identifier {sid.chosen.native.hex()}"
    except Exception:
        return "unreadable signer identifier"


def _rsa_diagnosis(cert: x509.Certificate, signature: bytes, expected_digest: bytes) -> str:
    """Tell *content changed* from *wrong key or corrupted value* for RSA PKCS#1 v1.5.

    PKCS#1 v1.5 (RFC 8017 clause 8.2.2) lets the verifier recover the signed DigestInfo: if
    it opens with this key, the signature is genuine for some other content.
    """
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        key = cx509.load_der_x509_certificate(cert.dump()).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            return "signature does not verify"
        recovered = key.recover_data_from_signature(signature, padding.PKCS1v15(), None)
        info = algos.DigestInfo.load(recovered, strict=True)
        digest = info["digest"].native
    except Exception:
        return (
            "signature value does not verify with the signer certificate's public key "
            "(corrupted value, or the certificate does not belong to the signing key)"
        )
    if not hmac.compare_digest(digest, expected_digest):
        return "signed content differs from the voucher text (the signature is genuine for other content)"
    return "signature does not verify (digest algorithm mismatch)"


def _verify_value(
    cert: x509.Certificate, algorithm: SignatureAlgorithm, signed: bytes, signature: bytes
) -> None:
    from ezhifu.pki.signer import verify_signature

    if algorithm.key_kind == "sm2":
        _check_sm2_der(signature)
    verify_signature(cert, signed, signature, algorithm=algorithm)


def _check_sm2_der(signature: bytes) -> None:
    """GB/T 35276-2017 clause 7.3: SM2Signature ::= SEQUENCE { R INTEGER, S INTEGER }, strict DER."""
    from ezhifu.crypto.sm2 import der_to_rs

    try:
        der_to_rs(signature)
    except EzhifuError as exc:
        raw = " (looks like raw 64-byte r||s, which is refused)" if len(signature) == 64 else ""
        raise _Fail(
            f"SM2 signature value is not DER SEQUENCE {{r, s}} (GB/T 35276-2017 clause 7.3){raw}: {exc}",
            "signature-format",
        ) from None


def verify_detached(
    der: bytes,
    data: bytes,
    *,
    trust: TrustStore,
    policy: VerifyPolicy | None = None,
    at: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_CMS_BYTES,
) -> CmsVerification:
    """Verify a detached CMS ``SignedData`` over ``data`` (RFC 5652 clause 5.6).

    Steps, in order (each recorded in ``checks``): size and DER structure; content type
    (PKCS#7 or GB/T 35275); detached content; exactly one SignerInfo; digest and signature
    algorithms; signer certificate located by ``sid`` among the embedded certificates and
    the trust store; signed attributes (content-type, message-digest, signing-time) when
    present; the signature value; the algorithm policy; the signing time inside the signer
    certificate's validity; the certificate path (:func:`ezhifu.pki.path.validate_chain` at
    ``at``, default now). Returns a :class:`CmsVerification`; raises only on misuse.
    """
    if not isinstance(trust, TrustStore):
        raise InvalidInput(f"verify_detached: trust must be a TrustStore, not {type(trust).__name__}")
    policy = policy or VerifyPolicy()
    if not isinstance(policy, VerifyPolicy):
        raise InvalidInput(f"verify_detached: policy must be a VerifyPolicy, not {type(policy).__name__}")
    for name, value in (("der", der), ("data", data)):
        if not isinstance(value, bytes | bytearray | memoryview):
            raise InvalidInput(f"verify_detached: {name} must be bytes, not {type(value).__name__}")
    checks: list[tuple[str, str]] = []
    state: dict[str, Any] = {"intact": False}
    try:
        return _verify(bytes(der), bytes(data), trust, policy, at, max_bytes, checks, state)
    except Exception as exc:
        if isinstance(exc, _Fail):
            fail = exc
        else:
            # asn1crypto parses lazily: a defect deep inside a certificate or an attribute
            # surfaces where it is first read. Any such error is malformed input, never a crash.
            step = checks[-1][0] if checks else "parse"
            fail = _Fail(f"CMS is malformed after step {step!r} ({_short(exc)})", "structure")
        checks.append((fail.step, "failed: " + fail.reason))
        return CmsVerification(
            intact=state["intact"],
            trusted=False,
            reason=fail.reason,
            allowed=state.get("allowed", False),
            signer_certificate=state.get("cert"),
            digest_algorithm=state.get("digest"),
            signature_algorithm=state.get("algorithm"),
            signing_time=state.get("signing_time"),
            signed_attributes=state.get("signed_attributes", False),
            oid_style=state.get("oid_style"),
            certificates=state.get("certificates", ()),
            chain=state.get("chain"),
            checks=tuple(checks),
        )


def _verify(
    der: bytes,
    data: bytes,
    trust: TrustStore,
    policy: VerifyPolicy,
    at: datetime | None,
    max_bytes: int,
    checks: list[tuple[str, str]],
    state: dict[str, Any],
) -> CmsVerification:
    # 1. size and structure
    if len(der) > max_bytes:
        raise _Fail(f"CMS of {len(der)} bytes exceeds the limit of {max_bytes} bytes", "parse")
    if not der:
        raise _Fail("CMS is empty", "parse")
    try:
        content_info = _SignedContentInfo.load(der, strict=True)
        content_type = content_info["content_type"].dotted
        signed_data = content_info["content"]
        # Parse the parts every later step reads now, so that structural defects are
        # reported as such (the certificates are parsed when used, see verify_detached).
        _decode_signer_infos(signed_data["signer_infos"])
        signed_data["encap_content_info"].native  # noqa: B018
        signer_infos = list(signed_data["signer_infos"])
        raw_certs = signed_data["certificates"]
        # Shared parsed objects by exact DER (ezhifu.pki.certs.shared_certificate): the
        # same partner certificate rides in every CMS of a batch.
        embedded = tuple(
            shared_certificate(bytes(choice.chosen.dump()))
            for choice in (raw_certs or ())
            if choice.name == "certificate"
        )
    except _Fail:
        raise
    except Exception as exc:
        raise _Fail(f"CMS is not a well-formed SignedData ContentInfo ({_short(exc)})", "parse") from None
    state["certificates"] = embedded
    checks.append(("parse", f"ok ({len(der)} bytes)"))

    # 2. content types
    if content_type == OID_SIGNED_DATA:
        style = "pkcs7"
    elif content_type == OID_GBT_SIGNED_DATA:
        style = "gbt35275"
    else:
        raise _Fail(f"CMS content type {content_type} is not SignedData", "content-type")
    state["oid_style"] = style
    encap = signed_data["encap_content_info"]
    e_type = encap["content_type"].dotted
    if e_type not in (OID_DATA, OID_GBT_DATA):
        raise _Fail(f"encapsulated content type {e_type} is not data", "content-type")
    checks.append(("content-type", f"ok ({style})"))
    e_content = encap["content"]
    if e_content.native is not None:
        inner = e_content.native if isinstance(e_content.native, bytes) else e_content.contents
        if inner != data:
            raise _Fail("CMS carries embedded content that differs from the voucher text", "detached")
        checks.append(("detached", "content embedded, equal to the voucher text"))
    else:
        checks.append(("detached", "ok"))

    # 3. one signer
    if len(signer_infos) != 1:
        raise _Fail(
            f"CMS has {len(signer_infos)} SignerInfos; exactly one is expected per <Signature>", "signer-info"
        )
    si = signer_infos[0]

    # 4. algorithms
    digest_oid = si["digest_algorithm"]["algorithm"].dotted
    digest = _DIGEST_OIDS.get(digest_oid)
    if digest is None:
        raise _Fail(f"unknown digest algorithm {digest_oid}", "algorithms")
    state["digest"] = digest
    sig_oid = si["signature_algorithm"]["algorithm"].dotted
    sig_entry = _SIG_OIDS.get(sig_oid)
    if sig_entry is None:
        raise _Fail(f"unknown signature algorithm {sig_oid}", "algorithms")
    sig_kind, implied_digest = sig_entry
    if implied_digest is not None and implied_digest != digest:
        raise _Fail(
            f"signature algorithm {sig_oid} implies {implied_digest} but the digest algorithm is {digest}",
            "algorithms",
        )

    # 5. signer certificate
    cert = _find_signer_cert(si["sid"], embedded, trust)
    if cert is None:
        raise _Fail(
            f"signer certificate ({_sid_text(si['sid'])}) is neither embedded nor in the trust store",
            "signer-certificate",
        )
    state["cert"] = cert
    checks.append(("signer-certificate", f"found {certificate_label(cert)}"))
    try:
        cert_kind: str = key_kind(cert)
    except UnsupportedAlgorithm:
        cert_kind = str(cert.public_key.algorithm)  # a DSA or other key, named in the mismatch below
    except Exception as exc:
        raise _Fail(
            f"signer certificate public key is unreadable ({_short(exc)})", "signer-certificate"
        ) from None
    # An SM2 key is an EC key on the SM2 curve: id-ecPublicKey in CMS still means SM2 then.
    if sig_kind == "ec" and cert_kind == "sm2":
        sig_kind = "sm2"
    if sig_kind != cert_kind:
        raise _Fail(
            f"signature algorithm {sig_oid} ({sig_kind}) does not match the signer's {cert_kind} key",
            "algorithms",
        )
    algorithm = _ALGORITHMS.get((sig_kind, digest))
    if algorithm is None:
        raise _Fail(f"{sig_kind.upper()} with {digest} is not a supported combination", "algorithms")
    state["algorithm"] = algorithm.value
    checks.append(("algorithms", f"{algorithm.value} ({sig_oid})"))

    # 6. signed attributes
    signature = si["signature"].native
    attrs = si["signed_attrs"]
    # The digest of the content is needed for the message-digest attribute or an RSA diagnosis
    # only; without signed attributes the signature check hashes the content itself (a second
    # hash of a voucher text of up to a megabyte would be wasted), so it is computed on demand.
    if not isinstance(attrs, core.Void):
        if len(attrs) == 0:
            raise _Fail(
                "signed attributes are present but empty (RFC 5652 clause 5.3: SIZE (1..MAX))", "attributes"
            )
        state["signed_attributes"] = True
        signed_bytes = _check_signed_attributes(attrs, e_type, _hash(digest, data), state, checks)
    else:
        state["signed_attributes"] = False
        signed_bytes = data

    # 7. signature value
    try:
        _verify_value(cert, algorithm, signed_bytes, signature)
    except _Fail:
        raise
    except EzhifuError as exc:
        if isinstance(exc, UnsupportedAlgorithm):
            raise _Fail(f"cannot verify {algorithm.value}: {exc}", "signature") from None
        if algorithm.key_kind == "rsa" and not state["signed_attributes"]:
            reason = _rsa_diagnosis(cert, signature, _hash(digest, data))
        elif state["signed_attributes"]:
            reason = "signature over the signed attributes does not verify with the signer certificate's key"
        else:
            reason = "signature does not verify over the voucher text with the signer certificate's key"
        raise _Fail(reason, "signature") from None
    except Exception as exc:
        raise _Fail(f"signature check failed ({_short(exc)})", "signature") from None
    state["intact"] = True
    checks.append(("signature", "ok"))

    # 8. algorithm policy
    refusal = policy.digest_refusal(digest) or policy.key_refusal(cert)
    if refusal is not None:
        raise _Fail(refusal, "policy")
    state["allowed"] = True
    checks.append(("policy", f"ok ({policy.name})"))

    # 9. claimed signing time inside the signer certificate's validity
    signing_time = state.get("signing_time")
    if signing_time is not None and policy.check_signing_time:
        skew = policy.clock_skew
        if not (cert.not_valid_before - skew <= signing_time <= cert.not_valid_after + skew):
            raise _Fail(
                f"signing time {signing_time.isoformat()} is outside the signer certificate's validity "
                f"({cert.not_valid_before.isoformat()} .. {cert.not_valid_after.isoformat()})",
                "signing-time",
            )
        checks.append(("signing-time", "inside the certificate validity"))

    # 10. certificate path
    chain = validate_chain(cert, trust=trust, policy=policy, at=at, extra_certs=embedded)
    state["chain"] = chain
    if not chain.trusted:
        if policy.require_trusted:
            raise _Fail(chain.reason or "signer certificate is not trusted", "chain")
        checks.append(("chain", f"not trusted (accepted: require_trusted=False): {chain.reason}"))
    else:
        anchor = "pinned certificate" if chain.pinned else certificate_label(chain.path[-1])
        checks.append(("chain", f"trusted via {anchor}"))
    return CmsVerification(
        intact=True,
        trusted=chain.trusted,
        reason=None,
        allowed=True,
        signer_certificate=cert,
        digest_algorithm=digest,
        signature_algorithm=algorithm.value,
        signing_time=signing_time,
        signed_attributes=state["signed_attributes"],
        oid_style=style,
        certificates=embedded,
        chain=chain,
        checks=tuple(checks),
    )


def _check_signed_attributes(
    attrs: Any,
    e_type: str,
    expected_digest: bytes,
    state: dict[str, Any],
    checks: list[tuple[str, str]],
) -> bytes:
    """RFC 5652 clause 5.3 / 11.1-11.3 checks; returns the bytes the signature covers."""
    found: dict[str, list[Any]] = {}
    for attr in attrs:
        found.setdefault(attr["type"].dotted, []).append(attr["values"])
    ct = found.get(oids.OID_CONTENT_TYPE, [])
    md = found.get(oids.OID_MESSAGE_DIGEST, [])
    if len(ct) != 1 or len(ct[0]) != 1:
        raise _Fail(
            "signed attributes lack a single content-type attribute (RFC 5652 clause 11.1)", "attributes"
        )
    if len(md) != 1 or len(md[0]) != 1:
        raise _Fail(
            "signed attributes lack a single message-digest attribute (RFC 5652 clause 11.2)", "attributes"
        )
    ct_value = ct[0][0]
    ct_oid = ct_value.dotted if hasattr(ct_value, "dotted") else str(ct_value.native)
    if ct_oid != e_type:
        raise _Fail(f"content-type attribute {ct_oid} differs from the eContentType {e_type}", "attributes")
    md_value = md[0][0].native
    if not isinstance(md_value, bytes) or not hmac.compare_digest(md_value, expected_digest):
        raise _Fail(
            "message-digest attribute does not match the digest of the voucher text (content changed)",
            "attributes",
        )
    st = found.get(oids.OID_SIGNING_TIME, [])
    if st:
        try:
            when = st[0][0].native
            if isinstance(when, datetime):
                state["signing_time"] = when if when.tzinfo else when.replace(tzinfo=UTC)
        except Exception:
            raise _Fail("signing-time attribute is malformed", "attributes") from None
    checks.append(("attributes", "content-type and message-digest ok"))
    # RFC 5652 clause 5.4: the DER of the SET OF, i.e. the received [0] IMPLICIT bytes
    # with the tag replaced by 0x31. Never re-encode: the signer's exact bytes are signed.
    received = bytes(attrs.dump())
    return b"\x31" + received[1:]


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
