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

Verifying is :mod:`ezhifu.sign.cms_verify` (:func:`~ezhifu.sign.cms_verify.verify_detached`);
the object identifiers and algorithm tables here are shared by both sides.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

from asn1crypto import cms, core, x509

from ezhifu.crypto import oids
from ezhifu.crypto.base import SignatureAlgorithm, Signer
from ezhifu.crypto.der import split_tlvs, tlv
from ezhifu.crypto.oids import OID_DATA, OID_SIGNED_DATA, OID_SM2_SIGN, OID_SM2_WITH_SM3
from ezhifu.crypto.oids import OID_RSA as OID_RSA_ENCRYPTION
from ezhifu.crypto.oids import OID_SM2_DATA as OID_GBT_DATA  # GB/T 35275-2017 clause 5
from ezhifu.crypto.oids import OID_SM2_SIGNED_DATA as OID_GBT_SIGNED_DATA
from ezhifu.crypto.sm3 import hash_data
from ezhifu.errors import EzhifuError, InvalidInput, SigningError
from ezhifu.pki.path import certificate_der

__all__ = [
    "OID_DATA",
    "OID_GBT_DATA",
    "OID_GBT_SIGNED_DATA",
    "OID_SIGNED_DATA",
    "CmsOptions",
    "OidStyle",
    "Sm2SignatureOid",
    "add_timestamp",
    "sign_detached",
    "signer_info_tokens",
    "timestamp_tokens",
]

OidStyle = Literal["gbt35275", "pkcs7"]
Sm2SignatureOid = Literal["sm2-with-sm3", "sm2-1"]


class CmsOptions(TypedDict, total=False):
    """The CMS options of :func:`sign_detached` (its defaults apply to any not given), taken as
    keywords and passed on unchanged by :func:`ezhifu.sign.voucher.sign_body` and
    :func:`ezhifu.sign.voucher.sign_envelope`."""

    signed_attributes: bool
    signing_time: datetime | None
    oid_style: OidStyle | None
    sm2_signature_oid: Sm2SignatureOid
    chain: Sequence[x509.Certificate]


#: Digest OID -> name, and name -> OID (the OID registry, :mod:`ezhifu.crypto.oids`).
DIGEST_OIDS = oids.DIGEST_NAMES
_DIGEST_OID_BY_NAME = oids.DIGEST_OIDS

#: digestEncryptionAlgorithm OID -> (key kind, digest implied by the OID or None).
SIG_OIDS = oids.SIGNATURE_KINDS

ALGORITHMS_BY_KIND_DIGEST: dict[tuple[str, str], SignatureAlgorithm] = {
    (alg.key_kind, alg.digest_name): alg for alg in SignatureAlgorithm
}


class SignedContentInfo(core.Sequence):  # type: ignore[misc]
    """``ContentInfo`` (RFC 5652 clause 3; GB/T 35275 clause 6) read with SignedData content.

    A private class so that the GB/T 35275 content type needs no change to asn1crypto's
    global tables; the caller checks ``content_type`` itself.
    """

    _fields = [  # noqa: RUF012 - asn1crypto's declarative schema
        ("content_type", core.ObjectIdentifier),
        ("content", cms.SignedData, {"explicit": 0}),
    ]


#: The private name tests/sign/test_cms_fast_paths.py reads (the class predates cms_verify).
_SignedContentInfo = SignedContentInfo


# --------------------------------------------------------------------------- signing


def content_hash(name: str, data: bytes) -> bytes:
    """The digest ``name`` of ``data`` (the message-digest attribute, RFC 5652 clause 11.2)."""
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
    digest_oid, sig_oid, sig_null_parameters = _algorithm_oids(algorithm, sm2_signature_oid)

    attrs = _signed_attributes(data, algorithm, content_oid, signing_time) if signed_attributes else None
    if attrs is not None:
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

    cert_der = certificate_der(cert)
    certificates = [cert, *(c for c in chain if certificate_der(c) != cert_der)] if chain else [cert]
    if attrs is None:
        # The usual case (spec.md §5.3): everything but the signature value is the same for
        # every voucher a signer signs, so it is encoded once (see _template).
        template = _template(
            tuple(certificate_der(c) for c in certificates),
            digest_oid,
            sig_oid,
            sig_null_parameters,
            content_oid,
            signed_data_oid,
        )
        return template.assemble(bytes(signature))
    sig_alg = _signature_algorithm(algorithm, sm2_signature_oid)
    return _assemble(certificates, digest_oid, sig_alg, content_oid, signed_data_oid, signature, attrs)


def add_timestamp(der: bytes, hook: Callable[[bytes], bytes]) -> bytes:
    """``der`` with an RFC 3161 token over its SignerInfo signature value as the unsigned
    attribute id-aa-timeStampToken (RFC 3161 Appendix A). ``hook`` gets the signature value and
    returns the token DER (e.g. :func:`ezhifu.pki.tsp.fetch_token` with the TSA's URL). Only the
    SignerInfo's unsigned attributes change; what the signature covers stays byte for byte."""
    info = SignedContentInfo.load(der)
    signed_data = info["content"]
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise InvalidInput(f"add_timestamp: the CMS has {len(signer_infos)} SignerInfos, expected one")
    signer_info = signer_infos[0]
    token = bytes(hook(bytes(signer_info["signature"].native)))
    try:
        token_info = cms.ContentInfo.load(token, strict=True)
    except ValueError as exc:
        raise SigningError(f"add_timestamp: the time-stamp token is not a ContentInfo ({exc})") from exc
    signer_info["unsigned_attrs"] = [{"type": oids.OID_TIME_STAMP_TOKEN, "values": [token_info]}]
    signer_infos[0] = signer_info
    signed_data["signer_infos"] = signer_infos
    info["content"] = signed_data
    return bytes(info.dump())


def signer_info_tokens(signer_info: Any) -> list[bytes]:
    """The DER of every id-aa-timeStampToken unsigned attribute value of a SignerInfo."""
    unsigned = signer_info["unsigned_attrs"]
    return [
        bytes(value.dump())
        for attr in (() if isinstance(unsigned, core.Void) else unsigned)
        if attr["type"].dotted == oids.OID_TIME_STAMP_TOKEN
        for value in attr["values"]
    ]


def timestamp_tokens(der: bytes) -> list[bytes]:
    """The RFC 3161 tokens a detached CMS carries (every SignerInfo), e.g. for archive evidence."""
    signed_data = SignedContentInfo.load(der)["content"]
    return [token for si in signed_data["signer_infos"] for token in signer_info_tokens(si)]


def _signature_algorithm(algorithm: SignatureAlgorithm, sm2_signature_oid: str) -> dict[str, Any]:
    """The ``signatureAlgorithm`` of the SignerInfo (RFC 5652 clause 5.3) for the signer's key."""
    kind = algorithm.key_kind
    if kind == "rsa":
        # rsaEncryption with NULL parameters, as OpenSSL writes (RFC 3370 clause 3.2).
        return {"algorithm": OID_RSA_ENCRYPTION, "parameters": core.Null()}
    if kind == "sm2":
        return {"algorithm": OID_SM2_WITH_SM3 if sm2_signature_oid == "sm2-with-sm3" else OID_SM2_SIGN}
    return {"algorithm": algorithm.signature_oid}


@functools.cache
def _algorithm_oids(algorithm: SignatureAlgorithm, sm2_signature_oid: str) -> tuple[str, str, bool]:
    """``(digestAlgorithm OID, signatureAlgorithm OID, whether it has NULL parameters)`` of the
    SignerInfo (:func:`_signature_algorithm`), once per algorithm (a dozen combinations)."""
    sig_alg = _signature_algorithm(algorithm, sm2_signature_oid)
    return _DIGEST_OID_BY_NAME[algorithm.digest_name], sig_alg["algorithm"], "parameters" in sig_alg


def _signed_attributes(
    data: bytes, algorithm: SignatureAlgorithm, content_oid: str, signing_time: datetime | None
) -> cms.CMSAttributes:
    """content-type, signing-time (given or now, UTC) and message-digest (RFC 5652 clause 11)."""
    when = signing_time or datetime.now(UTC).replace(microsecond=0)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return cms.CMSAttributes(
        [
            {"type": "content_type", "values": [content_oid]},
            {"type": "signing_time", "values": [_time(when)]},
            {"type": "message_digest", "values": [content_hash(algorithm.digest_name, data)]},
        ]
    )


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
    content_info = SignedContentInfo({"content_type": signed_data_oid, "content": signed_data})
    return bytes(content_info.dump())


def _tlvs(data: bytes) -> list[bytes]:
    """The complete TLVs of a concatenation of DER elements (a CMS has a handful)."""
    return [item.element for item in split_tlvs(data, what="CMS template", max_items=16)]


#: Signature lengths whose DER prefix a template keeps (an SM2 DER signature has 70 to 72 octets,
#: an RSA one the modulus length): more distinct lengths are assembled without being kept.
_PREFIXES_KEPT = 8


@dataclass(frozen=True, slots=True)
class _Template:
    """The constant DER of a detached CMS without signed attributes, around the signature.

    ``ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }`` with ``SignedData ::=
    SEQUENCE { version, digestAlgorithms, encapContentInfo, [0] certificates, SET OF SignerInfo }``
    and ``SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signatureAlgorithm,
    signature OCTET STRING }`` (RFC 5652 clauses 3, 5.1, 5.3): only the OCTET STRING and the
    lengths around it change from one voucher to the next. The signature value's octets are the
    last of the encoding, so everything before them depends only on their number: that prefix
    is kept per length (:data:`_PREFIXES_KEPT` of them).
    """

    content_type: bytes  # the contentType TLV
    signed_data_head: bytes  # version .. certificates TLVs
    signer_info_head: bytes  # version .. signatureAlgorithm TLVs
    prefixes: dict[int, bytes] = field(default_factory=dict)  # signature length -> DER before it

    def assemble(self, signature: bytes) -> bytes:
        size = len(signature)
        prefix = self.prefixes.get(size)
        if prefix is None:
            whole = self.encode(bytes(size))
            prefix = whole[: len(whole) - size]
            if len(self.prefixes) < _PREFIXES_KEPT:
                self.prefixes[size] = prefix
        return prefix + signature

    def encode(self, signature: bytes) -> bytes:
        """The DER around ``signature``, every length computed (what :meth:`assemble` keeps)."""
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
    if template.encode(b"\x00") != reference:  # pragma: no cover - a defect in this module
        raise SigningError("internal error: the CMS template does not reproduce the encoding")
    return template


def _contents(element: bytes) -> bytes:
    return split_tlvs(element, what="CMS template", max_items=1)[0].contents
