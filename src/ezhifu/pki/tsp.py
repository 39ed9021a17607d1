"""RFC 3161 time-stamps: request, bounded HTTP client, token verification, and the time basis.

A time written by a signer (a seal's ``timeInfo``, a CMS ``signingTime``) is a *claim*; it is
shown, never used to decide validity (issue 13 item 2, docs/security.md "Time"). Certificates and
seals are checked at one of three times, the *time basis* a result records:

* ``token``: the ``genTime`` of a verified RFC 3161 token (a v4 seal's ``timeStamp`` field over
  the signature value, GB/T 38540-2020 clause 7.1; a CMS unsigned attribute
  id-aa-timeStampToken over the SignerInfo signature value, RFC 3161 Appendix A) whose TSA
  chains to a ``tsa`` anchor (:class:`~ezhifu.pki.trust.TrustStore`);
* ``asserted``: a time the caller asserts (``at=``, ``ezhifu verify --at``), reported as such;
* ``verification``: the time of the verification (now).

:func:`verify_token` checks a token: the message imprint over the right bytes, the TSA's
signature over the signed attributes (RFC 5652 clause 5.4), the message digest of the TSTInfo,
the TSA certificate's single critical id-kp-timeStamping extended key usage (RFC 3161 clause
2.3), the TSA chain to a ``tsa`` anchor at ``genTime``, and the nonce when one was asked for.
:func:`fetch_token` obtains one over HTTP (RFC 3161 clause 3.4, ``application/timestamp-query``
/ ``-reply``), bounded in size and time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import cms, core, tsp, x509

from ezhifu.crypto import oids
from ezhifu.crypto.base import SignatureAlgorithm
from ezhifu.crypto.sm3 import hash_data
from ezhifu.errors import (
    EzhifuError,
    InvalidInput,
    TimeStampTooLarge,
    TsaResponseRefused,
    TsaUnreachable,
)
from ezhifu.pki.certs import certificate_label, key_kind, shared_certificate
from ezhifu.pki.path import same_name, validate_chain
from ezhifu.pki.signer import verify_signature
from ezhifu.pki.trust import NO_TSA_ANCHORS, TrustStore, VerifyPolicy, as_utc
from ezhifu.results import StepLog

__all__ = [
    "CLAIM_SKEW",
    "DEFAULT_TSA_TIMEOUT",
    "MAX_TOKEN_BYTES",
    "TimeBasis",
    "TokenCheck",
    "build_request",
    "claim_step",
    "fetch_token",
    "time_basis",
    "token_from_response",
    "verify_token",
]

#: Largest time-stamp token or response accepted (a token with its TSA chain is a few KiB).
MAX_TOKEN_BYTES = 64 * 1024
#: Seconds to wait for a TSA (connect and read).
DEFAULT_TSA_TIMEOUT = 10.0
#: How far a claimed time may lie after the verification (or proven) time: clocks drift.
CLAIM_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome of :func:`verify_token`: ``reason`` is ``None`` exactly when verified."""

    reason: str | None
    gen_time: datetime | None = None
    tsa: str = ""

    @property
    def verified(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class TimeBasis:
    """The time certificates and seals were checked at, and why (``token``, ``asserted``,
    ``verification``); ``tsa`` names the TSA of a token basis."""

    basis: str
    at: datetime
    tsa: str = ""

    @property
    def text(self) -> str:
        """``"the verification time"``, or the proven / asserted time itself. The verification
        time is not written out, so that the same input verifies to the same result."""
        if self.basis == "verification":
            return "the verification time"
        how = "proven by a verified time-stamp" if self.basis == "token" else "asserted by the caller"
        return f"{self.at.isoformat()} ({how})"

    def evidence(self) -> dict[str, str]:
        """``basis``, and ``at`` (a token's or the asserted time) and ``tsa`` when known."""
        out = {"basis": self.basis}
        if self.basis != "verification":
            out["at"] = self.at.isoformat()
        if self.tsa:
            out["tsa"] = self.tsa
        return out


def _sized(data: bytes, what: str) -> bytes:
    if len(data) > MAX_TOKEN_BYTES:
        raise TimeStampTooLarge(
            f"时间戳过大 / {what} of {len(data)} bytes exceeds the limit of {MAX_TOKEN_BYTES} bytes",
            limit="MAX_TOKEN_BYTES",
            value=len(data),
        )
    return data


def build_request(data: bytes, *, digest: str = "sha256", nonce: int | None = None) -> bytes:
    """The DER ``TimeStampReq`` (RFC 3161 clause 2.4.1) over ``data``, asking for the TSA certificate."""
    request: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": oids.DIGEST_OIDS[digest]},
            "hashed_message": hash_data(digest, data),
        },
        "cert_req": True,
    }
    if nonce is not None:
        request["nonce"] = nonce
    return bytes(tsp.TimeStampReq(request).dump())


def token_from_response(response: bytes) -> bytes:
    """The token DER of a granted ``TimeStampResp`` (RFC 3161 clause 2.4.2).

    Anything else raises :class:`TsaResponseRefused`."""
    try:
        resp = tsp.TimeStampResp.load(_sized(response, "time-stamp response"), strict=True)
        status = resp["status"]["status"].native
        token = resp["time_stamp_token"]
    except TimeStampTooLarge:
        raise
    except Exception as exc:
        raise TsaResponseRefused(
            f"时间戳应答无法解析 / TSA response is not an RFC 3161 TimeStampResp ({exc})"
        ) from None
    if status not in ("granted", "granted_with_mods"):
        text = resp["status"]["status_string"].native if resp["status"]["status_string"] else None
        raise TsaResponseRefused(
            f"时间戳服务拒绝 / TSA refused the request: status {status} {text or ''}".strip()
        )
    if isinstance(token, core.Void):
        raise TsaResponseRefused("时间戳应答无令牌 / TSA response is granted but carries no token")
    return bytes(token.dump())


def fetch_token(
    url: str,
    data: bytes,
    *,
    digest: str = "sha256",
    timeout: float = DEFAULT_TSA_TIMEOUT,
) -> bytes:
    """Obtain a token over ``data`` from the TSA at ``url`` (RFC 3161 clause 3.4, HTTP POST).

    Bounded: ``timeout`` seconds, :data:`MAX_TOKEN_BYTES`. Checks the answer is a granted response
    whose imprint and nonce are the ones asked for (its trust is the verifier's business).
    Raises :class:`TsaUnreachable`, :class:`TsaResponseRefused` or :class:`TimeStampTooLarge`.
    """
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"时间戳服务地址无效 / TSA URL {url!r}: only http:// and https:// are supported")
    # why: urllib (http.client, ssl, email: 15-20 ms) loads only when a TSA is asked, not to verify
    import urllib.error
    import urllib.request

    nonce = secrets.randbits(63)
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=build_request(data, digest=digest, nonce=nonce),
        headers={"Content-Type": "application/timestamp-query"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 (scheme checked above)
            kind = reply.headers.get("Content-Type", "")
            body = reply.read(MAX_TOKEN_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise TsaUnreachable(f"时间戳服务不可用 / TSA {url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        cause = getattr(exc, "reason", exc)
        raise TsaUnreachable(f"时间戳服务不可达 / TSA {url} unreachable: {cause}") from None
    if kind.split(";")[0].strip().lower() != "application/timestamp-reply":
        raise TsaResponseRefused(f"时间戳应答类型错误 / TSA {url} answered {kind or 'no content type'}")
    token = token_from_response(_sized(body, "time-stamp response"))
    check = _tst_info_check(token, data, nonce)
    if check is not None:
        raise TsaResponseRefused(f"时间戳应答不符 / TSA {url}: {check}")
    return token


def _tst_info(token: bytes) -> tuple[Any, Any, bytes]:
    """``(signed_data, TSTInfo, eContent bytes)`` of a token; raises on a malformed one."""
    info = cms.ContentInfo.load(_sized(token, "time-stamp token"), strict=True)
    if info["content_type"].native != "signed_data":
        raise ValueError("not a SignedData")
    signed = info["content"]
    encap = signed["encap_content_info"]
    if encap["content_type"].dotted != oids.OID_TST_INFO:
        raise ValueError(f"eContentType {encap['content_type'].dotted} is not id-ct-TSTInfo")
    content = encap["content"]
    raw = bytes(content.contents) if hasattr(content, "contents") else b""
    tst = tsp.TSTInfo.load(raw, strict=True)
    tst.native  # noqa: B018 (decode all now: defects are reported here)
    return signed, tst, raw


def _tst_info_check(token: bytes, data: bytes, nonce: int | None) -> str | None:
    """The imprint (and nonce) of a token against ``data``; ``None`` when they match."""
    try:
        _, tst, _ = _tst_info(token)
    except TimeStampTooLarge:
        raise
    except Exception as exc:
        return f"time-stamp token is malformed ({str(exc)[:160]})"
    imprint = tst["message_imprint"]
    digest = oids.DIGEST_NAMES.get(imprint["hash_algorithm"]["algorithm"].dotted)
    if digest is None:
        return f"time-stamp imprint digest {imprint['hash_algorithm']['algorithm'].dotted} is unknown"
    if not hmac.compare_digest(hash_data(digest, data), bytes(imprint["hashed_message"].native)):
        return "time-stamp imprint does not match the signature value (token is for other data)"
    if nonce is not None and tst["nonce"].native != nonce:
        return "time-stamp nonce differs from the one requested"
    return None


def _tsa_certificate(signer_info: Any, certs: tuple[x509.Certificate, ...]) -> x509.Certificate | None:
    sid = signer_info["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if cert.serial_number == ias["serial_number"].native and same_name(cert.issuer, ias["issuer"]):
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    return None


_EKU_RULE = "RFC 3161 clause 2.3"


def _eku_refusal(cert: x509.Certificate) -> str | None:
    """RFC 3161 clause 2.3: exactly one, critical, extended key usage: id-kp-timeStamping."""
    for ext in cert["tbs_certificate"]["extensions"] or ():
        if ext["extn_id"].native == "extended_key_usage":
            purposes = [p.dotted for p in ext["extn_value"].parsed]
            if purposes != [oids.OID_KP_TIME_STAMPING]:
                return f"TSA certificate's extended key usage is not id-kp-timeStamping alone ({_EKU_RULE})"
            if not ext["critical"].native:
                return (
                    f"TSA certificate's id-kp-timeStamping extended key usage is not critical ({_EKU_RULE})"
                )
            return None
    return f"TSA certificate has no id-kp-timeStamping extended key usage ({_EKU_RULE})"


def _signature_refusal(
    signed: Any, raw: bytes, certs: tuple[x509.Certificate, ...], policy: VerifyPolicy
) -> tuple[str | None, x509.Certificate | None]:
    infos = list(signed["signer_infos"])
    if len(infos) != 1:
        return f"time-stamp token has {len(infos)} SignerInfos, expected one", None
    si = infos[0]
    cert = _tsa_certificate(si, certs)
    if cert is None:
        return "time-stamp token does not carry the TSA certificate", None
    digest = oids.DIGEST_NAMES.get(si["digest_algorithm"]["algorithm"].dotted)
    if digest is None:
        return "time-stamp token digest algorithm is unknown", cert
    refusal = policy.digest_refusal(digest, what="time-stamp token digest")
    if refusal is not None:
        return refusal, cert
    attrs = si["signed_attrs"]
    if isinstance(attrs, core.Void) or not len(attrs):
        return "time-stamp token has no signed attributes (RFC 3161 clause 2.4.2)", cert
    found = {a["type"].dotted: a["values"] for a in attrs}
    md = found.get(oids.OID_MESSAGE_DIGEST)
    ct = found.get(oids.OID_CONTENT_TYPE)
    if ct is None or len(ct) != 1 or ct[0].dotted != oids.OID_TST_INFO:
        return "time-stamp token content-type attribute is not id-ct-TSTInfo", cert
    if md is None or len(md) != 1 or not hmac.compare_digest(bytes(md[0].native), hash_data(digest, raw)):
        return "time-stamp token message-digest does not match its TSTInfo (token altered)", cert
    kind = key_kind(cert)
    try:
        algorithm = SignatureAlgorithm(f"{'ecdsa' if kind == 'ec' else kind}-{digest}")
    except ValueError:
        return f"time-stamp token signature {kind} with {digest} is not supported", cert
    signed_bytes = b"\x31" + bytes(attrs.dump())[1:]  # RFC 5652 clause 5.4: the DER SET OF as received
    try:
        verify_signature(cert, signed_bytes, bytes(si["signature"].native), algorithm=algorithm)
    except EzhifuError:
        return "time-stamp token signature does not verify with the TSA certificate", cert
    return None, cert


def verify_token(
    token: bytes,
    data: bytes,
    *,
    trust: TrustStore,
    policy: VerifyPolicy | None = None,
    nonce: int | None = None,
) -> TokenCheck:
    """Verify an RFC 3161 token over ``data`` (module doc); never raises for a bad token."""
    policy = policy or VerifyPolicy()
    try:
        signed, tst, raw = _tst_info(token)
        certs = tuple(
            shared_certificate(bytes(c.chosen.dump()))
            for c in (signed["certificates"] or ())
            if c.name == "certificate"
        )
        gen_time = as_utc(tst["gen_time"].native)
    except Exception as exc:
        return TokenCheck(f"time-stamp token is malformed ({str(exc)[:160]})")
    mismatch = _tst_info_check(token, data, nonce)
    if mismatch is not None:
        return TokenCheck(mismatch, gen_time)
    try:
        refusal, cert = _signature_refusal(signed, raw, certs, policy)
    except Exception as exc:
        return TokenCheck(f"time-stamp token signature cannot be checked ({str(exc)[:160]})", gen_time)
    if refusal is not None or cert is None:
        return TokenCheck(refusal or "no TSA certificate", gen_time)
    label = certificate_label(cert)
    eku = _eku_refusal(cert)
    if eku is not None:
        return TokenCheck(eku, gen_time, label)
    if not trust.has_anchors("tsa"):
        return TokenCheck(NO_TSA_ANCHORS, gen_time, label)
    # purpose "tsa": the TSA certificate's EKU must allow time-stamping, not document signing
    chain = validate_chain(
        cert, trust=trust.for_purpose("tsa"), policy=policy, at=gen_time, extra_certs=certs, purpose="tsa"
    )
    if not chain.trusted:
        return TokenCheck(f"time-stamping authority not trusted: {chain.reason}", gen_time, label)
    return TokenCheck(None, gen_time, label)


def time_basis(
    log: StepLog,
    token: bytes | None,
    data: bytes,
    *,
    trust: TrustStore | None,
    policy: VerifyPolicy,
    at: datetime | None,
) -> TimeBasis:
    """Record the ``timestamp`` step (when a token is present) and the ``time-basis`` step.

    A verified token proves its ``genTime``; a token that does not verify fails ``timestamp``
    (except when there are no TSA anchors at all: not checked, :data:`NO_TSA_ANCHORS`); then an
    asserted ``at``; else now. Returns the basis the certificates and the seal are checked at.
    """
    basis: TimeBasis | None = None
    if token is not None:
        if trust is None:
            log.not_checked("timestamp", "time-stamp token present, not checked: no trust store given")
        else:
            check = (
                verify_token(token, data, trust=trust, policy=policy)
                if trust.has_anchors("tsa")
                else TokenCheck(NO_TSA_ANCHORS)
            )
            if check.verified and check.gen_time is not None:
                basis = TimeBasis("token", check.gen_time, check.tsa)
                log.ok("timestamp", f"verified: {check.gen_time.isoformat()} by {check.tsa}", tsa=check.tsa)
            elif check.reason == NO_TSA_ANCHORS:
                log.not_checked("timestamp", f"time-stamp not checked: {NO_TSA_ANCHORS}")
            else:
                log.fail("timestamp", check.reason or "time-stamp token not verified")
    if basis is None:
        if at is not None:
            basis = TimeBasis("asserted", as_utc(at))
        else:
            basis = TimeBasis("verification", datetime.now(UTC).replace(microsecond=0))
    log.ok("time-basis", f"checked at {basis.text}", **basis.evidence())
    return basis


def claim_step(
    log: StepLog,
    claimed: datetime | None,
    basis: TimeBasis,
    windows: tuple[tuple[str, datetime, datetime], ...],
    *,
    skew: timedelta = CLAIM_SKEW,
) -> None:
    """The ``signing-time`` step for a claimed time: a problem when it lies after the basis time
    (or the verification time) plus ``skew``, or outside one of ``windows`` (``(what, from, to)``)."""
    if claimed is None:
        return
    claimed = as_utc(claimed)
    latest = max(basis.at, datetime.now(UTC)) if basis.basis == "verification" else basis.at
    if claimed > latest + skew:
        log.fail(
            "signing-time",
            f"claimed time {claimed.isoformat()} is later than {basis.text} "
            f"(beyond {int(skew.total_seconds())} s of skew)",
        )
        return
    for what, start, end in windows:
        if not (as_utc(start) - skew <= claimed <= as_utc(end) + skew):
            log.fail(
                "signing-time",
                f"claimed time {claimed.isoformat()} is outside the {what} validity "
                f"({as_utc(start).isoformat()} .. {as_utc(end).isoformat()})",
            )
            return
    log.ok(
        "signing-time",
        f"claimed {claimed.isoformat()} (a claim, not used to decide validity)",
        claimed=claimed.isoformat(),
    )
