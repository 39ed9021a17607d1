"""Verifying a detached CMS ``SignedData`` (RFC 5652 clause 5.6): one signature, one ItemResult.

The signature side of :mod:`ezhifu.sign.cms` (which signs). :func:`verify_detached` runs the
named steps of the spine (docs/verification.md) over the CMS and the signed bytes, in order:
``parse`` (size, DER structure), ``content-type`` (PKCS#7 or GB/T 35275), ``detached``,
``algorithms``, ``signer-certificate`` (by ``sid`` among the embedded certificates and the trust
store), ``attributes`` (RFC 5652 clause 5.3, when present), ``signature`` (the value, over the
content or the signed attributes as received), ``policy`` (algorithms and key size),
``signing-time`` (inside the signer certificate's validity) and ``chain`` (the certificate path at
``at``). Each is a :class:`~ezhifu.results.Step`; the result is a :class:`CmsVerification`, the
:class:`~ezhifu.results.ItemResult` of a signature with the CMS evidence beside it.

It never raises for bad input: garbage, truncated, oversized or mis-structured DER yields
``intact=False`` with the reason. The outer structure may be BER (Bouncy Castle's ``getEncoded()``
writes indefinite lengths); trailing bytes are refused. Observed deployed profile (spec.md §5.3):
SHA-1 with RSA-1024, no signed attributes.
"""

from __future__ import annotations

import hmac
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asn1crypto import algos, core, x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ezhifu.crypto import oids
from ezhifu.crypto.base import SignatureAlgorithm
from ezhifu.crypto.sm2 import der_to_rs
from ezhifu.errors import EzhifuError, InvalidInput, UnsupportedAlgorithm, VerificationStepFailed
from ezhifu.pki.certs import cert_info, certificate_label, key_kind, shared_certificate
from ezhifu.pki.keys import public_key_of
from ezhifu.pki.path import ChainResult, same_name, validate_chain
from ezhifu.pki.signer import verify_signature
from ezhifu.pki.trust import TrustStore, VerifyPolicy
from ezhifu.pki.tsp import claim_step, time_basis
from ezhifu.results import Claim, ItemResult, SignerInfo, StepLog
from ezhifu.sign.cms import (
    ALGORITHMS_BY_KIND_DIGEST,
    DIGEST_OIDS,
    OID_DATA,
    OID_GBT_DATA,
    OID_GBT_SIGNED_DATA,
    OID_SIGNED_DATA,
    SIG_OIDS,
    SignedContentInfo,
    content_hash,
    signer_info_tokens,
)
from ezhifu.sign.cms_fast import CONSTANT_FIELDS, FastSignerInfo, decode_constant_field, read_signed_data

__all__ = ["DEFAULT_MAX_CMS_BYTES", "CmsVerification", "verify_detached"]

#: Largest CMS accepted by :func:`verify_detached` (a signature with a chain is a few KiB).
DEFAULT_MAX_CMS_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class CmsVerification(ItemResult):
    """The outcome of :func:`verify_detached`: the :class:`~ezhifu.results.ItemResult` of one
    detached CMS signature (``kind="signature"``, no position yet) with the CMS evidence.

    ``intact``: the signature value verifies over the content (and, with signed attributes,
    the message digest matches). ``allowed``: the algorithms and key size pass the policy.
    ``trusted``: the signer certificate chains to the trust store under the policy.
    ``reason`` is ``None`` exactly when ``valid``; otherwise the first failed step.
    (With ``VerifyPolicy(require_trusted=False)`` an untrusted signer is valid but
    ``trusted`` stays ``False``: its ``chain`` step is ``waived``.)
    """

    allowed: bool = False
    signer_certificate: x509.Certificate | None = None
    signed_attributes: bool = False
    oid_style: str | None = None
    certificates: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    chain: ChainResult | None = None


@dataclass(slots=True)
class _Ctx:
    """What the steps have learnt so far (the evidence of the result, failed or not)."""

    der: bytes
    data: bytes
    trust: TrustStore
    policy: VerifyPolicy
    at: datetime | None
    max_bytes: int
    log: StepLog = field(default_factory=StepLog)
    intact: bool = False
    allowed: bool = False
    cert: x509.Certificate | None = None
    digest: str | None = None
    algorithm: SignatureAlgorithm | None = None
    signing_time: datetime | None = None
    signed_attributes: bool = False
    oid_style: str | None = None
    certificates: tuple[x509.Certificate, ...] = ()
    chain: ChainResult | None = None
    anchor: str = ""
    signed_data: Any = None
    e_type: str = ""
    signer_info: Any = None
    signed_bytes: bytes = b""


# --------------------------------------------------------------------------- helpers


#: A failed step (internal: caught by verify_detached, recorded as a failed Step).
_Fail = VerificationStepFailed


def _decode_signer_infos(signer_infos: Any) -> None:
    """Decode every field of every SignerInfo now, as ``.native`` would, so that structural
    defects are reported at the parse step; the constant fields through
    :func:`_decode_constant_field`."""
    for si in signer_infos:
        for name in si:
            value = si[name]
            if name in CONSTANT_FIELDS:
                decode_constant_field(name, bytes(value.dump()))
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

    try:
        key = public_key_of(cert)  # the one key loader (no cryptography.x509 import: start-up)
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

    if algorithm.key_kind == "sm2":
        _check_sm2_der(signature)
    verify_signature(cert, signed, signature, algorithm=algorithm)


def _check_sm2_der(signature: bytes) -> None:
    """GB/T 35276-2017 clause 7.3: SM2Signature ::= SEQUENCE { R INTEGER, S INTEGER }, strict DER."""

    try:
        der_to_rs(signature)
    except EzhifuError as exc:
        raw = " (looks like raw 64-byte r||s, which is refused)" if len(signature) == 64 else ""
        raise _Fail(
            f"SM2 signature value is not DER SEQUENCE {{r, s}} (GB/T 35276-2017 clause 7.3){raw}: {exc}",
            "signature-format",
        ) from None


# --------------------------------------------------------------------------- the steps


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

    Runs :data:`CMS_STEPS` in order (see the module doc), each recorded as a step; the first
    failure stops the run and becomes the reason. ``at`` is the validation time of the
    certificate path (default now). Returns a :class:`CmsVerification`; raises only on misuse.
    """
    if not isinstance(trust, TrustStore):
        raise InvalidInput(f"verify_detached: trust must be a TrustStore, not {type(trust).__name__}")
    policy = policy or VerifyPolicy()
    if not isinstance(policy, VerifyPolicy):
        raise InvalidInput(f"verify_detached: policy must be a VerifyPolicy, not {type(policy).__name__}")
    for name, value in (("der", der), ("data", data)):
        if not isinstance(value, bytes | bytearray | memoryview):
            raise InvalidInput(f"verify_detached: {name} must be bytes, not {type(value).__name__}")
    ctx = _Ctx(bytes(der), bytes(data), trust, policy, at, max_bytes)
    try:
        for step in CMS_STEPS:
            step(ctx)
    except Exception as exc:
        if isinstance(exc, _Fail):
            fail = exc
        else:
            # asn1crypto parses lazily: a defect deep inside a certificate or an attribute
            # surfaces where it is first read. Any such error is malformed input, never a crash.
            last = ctx.log.steps[-1].name if ctx.log.steps else "parse"
            fail = _Fail(f"CMS is malformed after step {last!r} ({_short(exc)})", "structure")
        ctx.log.fail(fail.step, fail.reason)
    return _result(ctx)


def _result(ctx: _Ctx) -> CmsVerification:
    steps = ctx.log.frozen()
    reason = ctx.log.reason
    chain = ctx.chain
    trusted = reason is None and chain is not None and chain.trusted
    anchors = (ctx.anchor,) if trusted and ctx.anchor else ()
    return CmsVerification(
        "signature",
        "",
        reason is None and ctx.intact and ctx.allowed,
        reason,
        ctx.intact,
        trusted,
        signer=_signer_info(ctx.cert),
        digest_algorithm=ctx.digest,
        signature_algorithm=ctx.algorithm.value if ctx.algorithm is not None else None,
        signing_time=ctx.signing_time,
        steps=steps,
        claimed_time=(
            Claim(ctx.signing_time, "CMS signing-time signed attribute (the signer's claim)")
            if ctx.signing_time is not None
            else None
        ),
        anchors=anchors,
        allowed=ctx.allowed,
        signer_certificate=ctx.cert,
        signed_attributes=ctx.signed_attributes,
        oid_style=ctx.oid_style,
        certificates=ctx.certificates,
        chain=chain,
    )


#: Signer descriptions by certificate object (identity): the parsed certificates are shared by
#: exact DER (:func:`ezhifu.pki.certs.shared_certificate`), so one partner is described once.
_SIGNERS: weakref.WeakKeyDictionary[x509.Certificate, SignerInfo | None] = weakref.WeakKeyDictionary()


def _signer_info(cert: x509.Certificate | None) -> SignerInfo | None:
    """The signer's description, or ``None`` when the (possibly hostile) certificate is unreadable."""
    if cert is None:
        return None
    try:
        return _SIGNERS[cert]
    except KeyError:
        pass
    try:
        info: SignerInfo | None = cert_info(cert)
    except Exception:  # asn1crypto decodes lazily: any defect of a hostile certificate
        info = None
    _SIGNERS[cert] = info
    return info


def _step_parse(ctx: _Ctx) -> None:
    """Size and DER structure; the embedded certificates (shared by exact DER)."""
    der = ctx.der
    if len(der) > ctx.max_bytes:
        raise _Fail(f"CMS of {len(der)} bytes exceeds the limit of {ctx.max_bytes} bytes", "parse")
    if not der:
        raise _Fail("CMS is empty", "parse")
    fast = read_signed_data(der)
    try:
        if fast is not None:  # the fixed layout (sign/cms_fast.py), asn1crypto otherwise
            content_type, signed_data = fast.content_type, FastSignerInfo(fast)
            embedded = tuple(shared_certificate(cert) for cert in fast.certificates)
            ctx.e_type = fast.e_content_type
        else:
            content_type, signed_data, embedded = _parse_asn1crypto(der)
    except Exception as exc:
        raise _Fail(f"CMS is not a well-formed SignedData ContentInfo ({_short(exc)})", "parse") from None
    ctx.certificates = embedded
    ctx.signed_data = signed_data
    ctx.log.ok("parse", f"ok ({len(der)} bytes)", bytes=str(len(der)))
    if content_type == OID_SIGNED_DATA:
        ctx.oid_style = "pkcs7"
    elif content_type == OID_GBT_SIGNED_DATA:
        ctx.oid_style = "gbt35275"
    else:
        raise _Fail(f"CMS content type {content_type} is not SignedData", "content-type")


def _parse_asn1crypto(der: bytes) -> tuple[str, Any, tuple[x509.Certificate, ...]]:
    """The content type, the SignedData and the embedded certificates, through asn1crypto."""
    content_info = SignedContentInfo.load(der, strict=True)
    content_type = content_info["content_type"].dotted
    signed_data = content_info["content"]
    # Parse the parts every later step reads now, so that structural defects are
    # reported as such (the certificates are parsed when used).
    _decode_signer_infos(signed_data["signer_infos"])
    signed_data["encap_content_info"].native  # noqa: B018
    raw_certs = signed_data["certificates"]
    # Shared parsed objects by exact DER (ezhifu.pki.certs.shared_certificate): the
    # same partner certificate rides in every CMS of a batch.
    embedded = tuple(
        shared_certificate(bytes(choice.chosen.dump()))
        for choice in (raw_certs or ())
        if choice.name == "certificate"
    )
    return content_type, signed_data, embedded


def _step_content_type(ctx: _Ctx) -> None:
    """eContentType is data (PKCS#7 or GB/T 35275); the content is detached (or equal)."""
    if isinstance(ctx.signed_data, FastSignerInfo):  # read detached, with one signer
        ctx.log.ok("content-type", f"ok ({ctx.oid_style})")
        ctx.log.ok("detached", "ok")
        ctx.signer_info = ctx.signed_data
        return
    encap = ctx.signed_data["encap_content_info"]
    e_type = encap["content_type"].dotted
    if e_type not in (OID_DATA, OID_GBT_DATA):
        raise _Fail(f"encapsulated content type {e_type} is not data", "content-type")
    ctx.e_type = e_type
    ctx.log.ok("content-type", f"ok ({ctx.oid_style})")
    e_content = encap["content"]
    if e_content.native is not None:
        inner = e_content.native if isinstance(e_content.native, bytes) else e_content.contents
        if inner != ctx.data:
            raise _Fail("CMS carries embedded content that differs from the voucher text", "detached")
        ctx.log.ok("detached", "content embedded, equal to the voucher text")
    else:
        ctx.log.ok("detached", "ok")
    signer_infos = list(ctx.signed_data["signer_infos"])
    if len(signer_infos) != 1:
        raise _Fail(
            f"CMS has {len(signer_infos)} SignerInfos; exactly one is expected per <Signature>", "signer-info"
        )
    ctx.signer_info = signer_infos[0]


def _step_signer(ctx: _Ctx) -> None:
    """Digest and signature algorithms; the signer certificate by ``sid``; key kind agreement."""
    si = ctx.signer_info
    digest_oid = si["digest_algorithm"]["algorithm"].dotted
    digest = DIGEST_OIDS.get(digest_oid)
    if digest is None:
        raise _Fail(f"unknown digest algorithm {digest_oid}", "algorithms")
    ctx.digest = digest
    sig_oid = si["signature_algorithm"]["algorithm"].dotted
    sig_entry = SIG_OIDS.get(sig_oid)
    if sig_entry is None:
        raise _Fail(f"unknown signature algorithm {sig_oid}", "algorithms")
    sig_kind, implied_digest = sig_entry
    if implied_digest is not None and implied_digest != digest:
        raise _Fail(
            f"signature algorithm {sig_oid} implies {implied_digest} but the digest algorithm is {digest}",
            "algorithms",
        )
    cert = _find_signer_cert(si["sid"], ctx.certificates, ctx.trust)
    if cert is None:
        raise _Fail(
            f"signer certificate ({_sid_text(si['sid'])}) is neither embedded nor in the trust store",
            "signer-certificate",
        )
    ctx.cert = cert
    ctx.log.ok("signer-certificate", f"found {certificate_label(cert)}")
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
    algorithm = ALGORITHMS_BY_KIND_DIGEST.get((sig_kind, digest))
    if algorithm is None:
        raise _Fail(f"{sig_kind.upper()} with {digest} is not a supported combination", "algorithms")
    ctx.algorithm = algorithm
    ctx.log.ok("algorithms", f"{algorithm.value} ({sig_oid})")


def _step_attributes(ctx: _Ctx) -> None:
    """Signed attributes when present (RFC 5652 clause 5.3); what the signature covers."""
    attrs = ctx.signer_info["signed_attrs"]
    # The digest of the content is needed for the message-digest attribute or an RSA diagnosis
    # only; without signed attributes the signature check hashes the content itself (a second
    # hash of a voucher text of up to a megabyte would be wasted), so it is computed on demand.
    if isinstance(attrs, core.Void):
        ctx.signed_bytes = ctx.data
        return
    if len(attrs) == 0:
        raise _Fail(
            "signed attributes are present but empty (RFC 5652 clause 5.3: SIZE (1..MAX))", "attributes"
        )
    ctx.signed_attributes = True
    assert ctx.digest is not None  # set by _step_signer
    ctx.signed_bytes = _check_signed_attributes(attrs, ctx, content_hash(ctx.digest, ctx.data))


def _step_signature(ctx: _Ctx) -> None:
    """The signature value over the signed bytes as received (the *intact* phase)."""
    cert, algorithm, digest = ctx.cert, ctx.algorithm, ctx.digest
    assert cert is not None and algorithm is not None and digest is not None  # set by _step_signer
    signature = ctx.signer_info["signature"].native
    try:
        _verify_value(cert, algorithm, ctx.signed_bytes, signature)
    except _Fail:
        raise
    except EzhifuError as exc:
        if isinstance(exc, UnsupportedAlgorithm):
            raise _Fail(f"cannot verify {algorithm.value}: {exc}", "signature") from None
        if algorithm.key_kind == "rsa" and not ctx.signed_attributes:
            reason = _rsa_diagnosis(cert, signature, content_hash(digest, ctx.data))
        elif ctx.signed_attributes:
            reason = "signature over the signed attributes does not verify with the signer certificate's key"
        else:
            reason = "signature does not verify over the voucher text with the signer certificate's key"
        raise _Fail(reason, "signature") from None
    except Exception as exc:
        raise _Fail(f"signature check failed ({_short(exc)})", "signature") from None
    ctx.intact = True
    ctx.log.ok("signature", "ok")


def _step_policy(ctx: _Ctx) -> None:
    """Algorithms and key size allowed by the policy; the claimed signing time in the validity."""
    cert, digest, policy = ctx.cert, ctx.digest, ctx.policy
    assert cert is not None and digest is not None  # set by _step_signer
    refusal = policy.algorithm_refusal(digest, cert)
    if refusal is not None:
        raise _Fail(refusal, "policy")
    ctx.allowed = True
    ctx.log.ok("policy", f"ok ({policy.name})")
    signing_time = ctx.signing_time
    if signing_time is not None and policy.check_signing_time:
        skew = policy.clock_skew
        if not (cert.not_valid_before - skew <= signing_time <= cert.not_valid_after + skew):
            raise _Fail(
                f"signing time {signing_time.isoformat()} is outside the signer certificate's validity "
                f"({cert.not_valid_before.isoformat()} .. {cert.not_valid_after.isoformat()})",
                "signing-time",
            )


def _step_time(ctx: _Ctx) -> None:
    """The time basis (issue 13 item 2): a verified id-aa-timeStampToken over the signature
    value (RFC 3161 Appendix A), else an asserted ``at``, else now; the claimed signing time
    must not lie after it (plus the clock skew). The chain is then checked at that time."""
    tokens = signer_info_tokens(ctx.signer_info)
    if len(tokens) > 1:
        raise _Fail(f"{len(tokens)} time-stamp tokens; at most one is expected", "timestamp")
    value = bytes(ctx.signer_info["signature"].native)
    basis = time_basis(
        ctx.log, tokens[0] if tokens else None, value, trust=ctx.trust, policy=ctx.policy, at=ctx.at
    )
    ctx.at = basis.at
    if ctx.policy.check_signing_time:
        claim_step(ctx.log, ctx.signing_time, basis, (), skew=ctx.policy.clock_skew)


def _step_chain(ctx: _Ctx) -> None:
    """The certificate path to the trust store at ``at`` (the *trusted* phase)."""
    assert ctx.cert is not None  # set by _step_signer
    chain = validate_chain(
        ctx.cert, trust=ctx.trust, policy=ctx.policy, at=ctx.at, extra_certs=ctx.certificates
    )
    ctx.chain = chain
    if not chain.trusted:
        if ctx.policy.require_trusted:
            raise _Fail(chain.reason or "signer certificate is not trusted", "chain")
        ctx.log.waived("chain", f"not trusted (accepted: require_trusted=False): {chain.reason}")
    else:
        anchor = "pinned certificate" if chain.pinned else certificate_label(chain.path[-1])
        ctx.anchor = anchor
        if chain.revocation:  # the evidence of the revocation check (issue 13 item 6)
            ctx.log.ok(
                "chain", f"trusted via {anchor}", anchor=anchor, revocation="; ".join(chain.revocation)
            )
        else:
            ctx.log.ok("chain", f"trusted via {anchor}", anchor=anchor)


#: The steps of a detached CMS signature, in order (docs/verification.md).
CMS_STEPS = (
    _step_parse,
    _step_content_type,
    _step_signer,
    _step_attributes,
    _step_signature,
    _step_policy,
    _step_time,
    _step_chain,
)


def _check_signed_attributes(
    attrs: Any,
    ctx: _Ctx,
    expected_digest: bytes,
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
    if ct_oid != ctx.e_type:
        raise _Fail(
            f"content-type attribute {ct_oid} differs from the eContentType {ctx.e_type}", "attributes"
        )
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
                ctx.signing_time = when if when.tzinfo else when.replace(tzinfo=UTC)
        except Exception:
            raise _Fail("signing-time attribute is malformed", "attributes") from None
    ctx.log.ok("attributes", "content-type and message-digest ok")
    # RFC 5652 clause 5.4: the DER of the SET OF, i.e. the received [0] IMPLICIT bytes
    # with the tag replaced by 0x31. Never re-encode: the signer's exact bytes are signed.
    received = bytes(attrs.dump())
    return b"\x31" + received[1:]


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
