"""The one exception tree of ezhifu.

Every failure ezhifu reports is an :class:`EzhifuError`. Each failure kind has its own
subclass, and input errors also mix in :class:`ValueError` so that callers who only
know the standard library still catch them. A message always names *what* is wrong and
*where* (file, element path, line, byte offset, alias, position ...); low-level errors from
dependencies are chained with ``raise ... from exc`` and never escape bare.

Secrets (passwords, PINs, private key bytes) never appear in a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import exceptions as _cryptography_exceptions

__all__ = [
    "AliasExists",
    "AmountOutOfRange",
    "ArchiveDuplicateMember",
    "ArchiveError",
    "ArchiveFormatError",
    "ArchivePathRefused",
    "ArchiveRegistryError",
    "ArchiveTooLarge",
    "AuditChainBroken",
    "AuditError",
    "AuditHeadInvalid",
    "AuditHeadUnsafe",
    "AuditRolledBack",
    "AuditTamperedError",
    "BadPassword",
    "BodyNotFound",
    "BusinessRuleViolated",
    "CaseLogError",
    "CertificateError",
    "CertificateExpired",
    "CertificateIdEmpty",
    "CertificateInputTooLarge",
    "CertificateNotYetValid",
    "ConfigFileRefused",
    "ConfigurationError",
    "ContextFileError",
    "ContingencyError",
    "CorruptedKeyFile",
    "DecodingError",
    "DuplicateBooking",
    "EmptyParameter",
    "EnvelopeGrammarError",
    "EzhifuError",
    "FlowError",
    "ForbiddenExpression",
    "HookRefused",
    "HostileDocumentError",
    "HostileInputError",
    "IllegalCaseTransition",
    "IllegalTransition",
    "InputLimitExceeded",
    "InvalidBusinessYear",
    "InvalidInput",
    "InvalidParameter",
    "InvalidSeal",
    "InvalidSignature",
    "KeyNotFound",
    "KeyStoreError",
    "KeyStoreRolledBack",
    "KeyUsageError",
    "MalformedCertificate",
    "MalformedDER",
    "MalformedSignature",
    "MetadataError",
    "MonitorError",
    "NotASealHolder",
    "NotAuthorised",
    "OcxRefusal",
    "OfflinePackageError",
    "OfflinePackageTampered",
    "OutputRefused",
    "PictureError",
    "PositionAlreadySigned",
    "PositionEmpty",
    "PositionNotConfigured",
    "PositionNotInTable",
    "PositionTaken",
    "ProviderUnavailable",
    "RegisterError",
    "RenderingError",
    "ReportError",
    "RequestRejected",
    "RuleFileError",
    "RuleLimitExceeded",
    "RuleSchemaError",
    "RuleSyntaxError",
    "RunLimitExceeded",
    "SchemaValidationError",
    "SealError",
    "SealFormatError",
    "SealFormatRefused",
    "ServiceFault",
    "SigningError",
    "SoapError",
    "StoreError",
    "TimeStampError",
    "TimeStampTooLarge",
    "TokenError",
    "TokenSigningError",
    "TransportError",
    "TsaResponseRefused",
    "TsaUnreachable",
    "UnknownPosition",
    "UnknownRuleField",
    "UnsafeArchive",
    "UnsupportedAlgorithm",
    "UnsupportedMechanism",
    "ValidationIssue",
    "VerificationStepFailed",
    "VoucherDataError",
    "VoucherNotInEnvelope",
    "WeakAlgorithm",
]


class EzhifuError(Exception):
    """Root of every error raised by ezhifu."""


# --- document layer -------------------------------------------------------------------


class InvalidInput(EzhifuError, ValueError):
    """Input that cannot be used: malformed XML or DER, a bad value, a wrong type."""


class DecodingError(InvalidInput):
    """Bytes that do not decode in the declared encoding (GBK, UTF-8, Base64).

    ``offset`` is the byte offset of the first bad byte when known.
    """

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class HostileInputError(InvalidInput):
    """Input refused for safety: a DTD, an entity, excessive size, depth or nesting."""


class InputLimitExceeded(HostileInputError):
    """A stated reading limit was reached (docs/security.md "Limits"): ``limit`` names it
    (``"max_attributes"``, ``"max_bytes"`` ...), ``value`` is what was found or read."""

    def __init__(self, message: str, *, limit: str, value: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value


class EnvelopeGrammarError(InvalidInput):
    """An envelope that is outside the one envelope grammar (:mod:`ezhifu.document.grammar`).

    ``code`` is the stable problem code (``"unknown-element"``, ``"duplicate-element"``,
    ``"text-not-allowed"``, ``"markup-not-allowed"``, ``"missing-element"``,
    ``"voucher-count"`` ...), ``path`` the element path, ``line`` its line and ``offset`` the
    byte offset when the problem was found in the raw bytes. Both readers (in memory and
    streamed) raise the same code, path and line for the same document.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        path: str,
        line: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.path = path
        self.line = line
        self.offset = offset


class MalformedDER(InvalidInput):
    """ASN.1 DER that is truncated, has trailing bytes, bad lengths or a wrong structure."""


class BodyNotFound(InvalidInput, KeyError):
    """No ``VoucherBody`` with the requested voucher number."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "voucher body not found"


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem found in a document, xmlschema style.

    ``path`` is an XPath-like location (``/MOF/VoucherBody[1]/Voucher/PayAmt``),
    ``line`` the source line (``None`` when not known), ``reason`` a human sentence and
    ``value`` the offending value when there is one. ``code`` is a short stable
    identifier (``"missing-element"``, ``"amount-format"``, ``"sum-mismatch"`` ...).
    """

    path: str
    line: int | None
    reason: str
    value: str | None = None
    code: str = "schema"
    source: str | None = None
    #: byte offset of the first bad byte, for a document refused for its bytes (``decoding``)
    offset: int | None = None

    def __str__(self) -> str:
        where = self.path
        if self.source:
            where = f"{self.source}:{self.line or '?'}: {where}"
        elif self.line is not None:
            where = f"line {self.line}: {where}"
        text = f"{where}: {self.reason}"
        if self.value is not None:
            text += f" (value {self.value!r})"
        return text


class SchemaValidationError(InvalidInput):
    """A document that does not conform; ``issues`` carries every problem found."""

    def __init__(
        self, issues: Sequence[ValidationIssue], *, source: str | None = None, level: str = "partner"
    ) -> None:
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        self.source = source
        #: the validation level used, ``"partner"`` or ``"strict"``
        self.level = level
        head = f"{source}: " if source else ""
        count = len(self.issues)
        lines = [f"{head}{count} validation issue{'s' if count != 1 else ''} (level {level})"]
        lines.extend(f"  - {issue}" for issue in self.issues)
        super().__init__("\n".join(lines))


class HostileDocumentError(SchemaValidationError, HostileInputError):
    """:func:`~ezhifu.document.validation.validate` of a document with a hostile part (an inner
    voucher with a DOCTYPE, a limit reached): both a validation error carrying the issues and
    a :class:`HostileInputError`."""


class VoucherDataError(InvalidInput):
    """Data for :func:`ezhifu.build_voucher` (JSON, TOML, CSV or a mapping) that cannot make a
    voucher; ``field`` and ``row`` (1-based detail row, ``None`` for the header) say where."""

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.row = row


class UnknownPosition(InvalidInput):
    """A signature or seal position that is not a known position name (spec.md §5.1)."""


class ConfigurationError(EzhifuError, ValueError):
    """A configuration file or option that is wrong; the message names the key."""


class RunLimitExceeded(InputLimitExceeded, ConfigurationError):
    """A per-run limit across many files was reached (docs/security.md "Limits"): more files
    (``limit="max_run_files"``) or more bytes in all (``limit="max_run_bytes"``) than one run
    reads. A usage error (exit 2): the command line checks it before verifying anything."""


class ConfigFileRefused(ConfigurationError):
    """A configuration file refused before it is parsed: not a regular file, larger than the
    limit, or writable by group or others (anyone who can write it could rewrite the rules)."""


# --- keys and primitives --------------------------------------------------------------


class OutputRefused(ConfigurationError):
    """An output the command line will not write: the input itself, a symbolic link, a missing
    folder, or an existing file without ``--force`` (exit 2)."""


class TimeStampError(EzhifuError):
    """An RFC 3161 time-stamp could not be obtained or read (ezhifu.pki.tsp)."""


class TsaUnreachable(TimeStampError):
    """The time-stamping authority did not answer (connection refused, timeout, HTTP error)."""


class TsaResponseRefused(TimeStampError):
    """The time-stamping authority's answer is not a granted, well-formed RFC 3161 response."""


class TimeStampTooLarge(TimeStampError, InputLimitExceeded):
    """A time-stamp response or token exceeds its size limit."""


class UnsupportedAlgorithm(EzhifuError):
    """An algorithm, curve or key type ezhifu does not implement or does not know."""


class ProviderUnavailable(UnsupportedAlgorithm):
    """The requested SM2 provider cannot be used here; the message says why."""


class WeakAlgorithm(UnsupportedAlgorithm):
    """An algorithm refused by the active policy (SHA-1, RSA < 2048) unless opted in."""


class CertificateError(EzhifuError):
    """A certificate that cannot be parsed, is expired, untrusted or misused."""


class MalformedCertificate(CertificateError, MalformedDER):
    """Bytes that are not one well-formed X.509 certificate."""


class CertificateInputTooLarge(MalformedCertificate, HostileInputError):
    """证书输入过大 / certificate input too large: a certificate, bundle or certificate count
    over its limit (``ezhifu.pki.certs.MAX_CERTIFICATE_BYTES``, ``MAX_BUNDLE_BYTES``,
    ``MAX_BUNDLE_CERTS``)."""


class MalformedCRL(CertificateError, MalformedDER):
    """吊销列表格式错误 / malformed CRL: a ``--crl`` file that is not one DER or PEM X.509 CRL
    (RFC 5280 clause 5), or one over ``ezhifu.pki.revocation.MAX_CRL_BYTES``."""


class CertificateExpired(CertificateError):
    """The time of use is after the certificate's notAfter."""


class CertificateNotYetValid(CertificateError):
    """The time of use is before the certificate's notBefore."""


class KeyUsageError(CertificateError):
    """The certificate's keyUsage / extendedKeyUsage does not allow the use."""


class KeyStoreError(EzhifuError):
    """A failure of the safe box (keystore)."""


class KeyNotFound(KeyStoreError, KeyError):
    """No key, certificate or seal under the requested alias or id."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "key not found"


class BadPassword(KeyStoreError):
    """A wrong password or PIN. The message never contains the secret."""


class AliasExists(KeyStoreError):
    """An alias is already taken in the keystore (add it under another alias, or replace it)."""


class CorruptedKeyFile(KeyStoreError):
    """A key file whose bytes are damaged or not what they claim to be."""


class UnsupportedMechanism(KeyStoreError, UnsupportedAlgorithm):
    """A token that does not offer the mechanism needed (e.g. no SM2 mechanism)."""


class TokenError(KeyStoreError):
    """A PKCS#11 token failure; the underlying error is chained."""


class KeyStoreRolledBack(KeyStoreError):
    """The keystore's generation is older than the one its audit head remembers (an old copy)."""


class PositionNotConfigured(KeyStoreError):
    """A stamp/signature position not in the position table (OCX 121/122)."""


class PositionAlreadySigned(KeyStoreError):
    """A position already signed or stamped (OCX 109/117)."""


class AuditError(EzhifuError):
    """The audit trail cannot be written or read."""


class AuditTamperedError(AuditError):
    """The audit chain was edited, reordered, truncated or has a deleted entry."""


class AuditChainBroken(AuditTamperedError):
    """The chain fails at entry ``seq`` (``None`` when the problem is the head or the count)."""

    def __init__(self, message: str, *, seq: int | None) -> None:
        super().__init__(message)
        self.seq = seq


class AuditRolledBack(AuditTamperedError):
    """The trail holds fewer entries than, or differs from, a head kept outside it."""


class AuditHeadInvalid(AuditTamperedError):
    """A head file or witness line that is malformed or does not authenticate."""


class AuditHeadUnsafe(AuditError, ConfigurationError):
    """A head file others can write, not a regular file, or too large: refused, not read."""


# --- signed artefacts -----------------------------------------------------------------


class SigningError(EzhifuError):
    """Signing could not be done (key unusable, provider failure, position refused)."""


class InvalidSignature(EzhifuError, _cryptography_exceptions.InvalidSignature):
    """A signature that does not verify; the message says why.

    It is also a :class:`cryptography.exceptions.InvalidSignature`, so code written against
    ``cryptography`` catches it unchanged.
    """


class VerificationStepFailed(InvalidSignature):
    """One named step of a verification failed (docs/verification.md).

    Raised and caught inside the verifiers only: the step and its reason become a failed
    :class:`~ezhifu.results.Step` of the result, never an exception of the caller. ``str()`` is the
    English reason; :attr:`step` names the step.
    """

    def __init__(self, reason: str, step: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.step = step


class MalformedSignature(InvalidSignature, MalformedDER):
    """An SM2 signature value that is not strict DER or has r or s outside [1, n-1].

    It is both an :class:`~ezhifu.errors.InvalidSignature` (a verifier rejects it) and a
    :class:`~ezhifu.errors.MalformedDER` (the bytes are wrong).
    """


class TokenSigningError(TokenError, SigningError):
    """The token failed while signing (the PKCS#11 error is chained)."""


class SealError(EzhifuError):
    """A failure making, applying or reading an electronic seal."""


class SealFormatError(SealError, InvalidInput):
    """Bytes that are not a seal / seal signature of a known version (OCX 114)."""


class InvalidSeal(InvalidSignature, SealError):
    """A seal or seal signature that does not verify."""


class NotASealHolder(SealError):
    """The signer's certificate is not one of the seal's holder certificates (certList)."""


class PictureError(SealError, InvalidInput):
    """A seal picture whose bytes are not an image of a supported type, or too large."""


# --- safe box: the control's refusals (spec.md §7) ------------------------------------


class OcxRefusal(KeyStoreError):
    """A refusal of the safe box; ``ocx_code`` is the control's error code (spec.md §7)."""

    def __init__(self, message: str, *, ocx_code: int) -> None:
        super().__init__(message)
        self.ocx_code = ocx_code


class PositionEmpty(OcxRefusal, PositionNotConfigured):
    """No position given (OCX 106)."""


class PositionNotInTable(OcxRefusal, PositionNotConfigured):
    """The position is not in the VtCode's table, or not for this alias/seal (OCX 121/122)."""


class PositionTaken(OcxRefusal, PositionAlreadySigned):
    """The position is already signed (OCX 109) or stamped (OCX 117)."""


class CertificateIdEmpty(OcxRefusal):
    """The configured key has no alias or no certificate (OCX 107)."""


class VoucherNotInEnvelope(OcxRefusal, InvalidInput):
    """No ``VoucherBody`` with the requested voucher number (OCX 108)."""


class SealFormatRefused(OcxRefusal, SealFormatError):
    """The configured seal is missing or not a seal of a known format (OCX 114)."""


# --- report: the voucher for people ---------------------------------------------------


class ReportError(EzhifuError):
    """A voucher cannot be shown or rendered for people (form, PDF)."""


class AmountOutOfRange(ReportError, InvalidInput):
    """An amount has more than two decimals or more integer digits than a voucher amount allows."""


class LayoutError(ReportError, InvalidInput):
    """A form layout (``report/layouts/*.toml``) is not valid TOML or breaks the layout schema."""


class RenderingError(ReportError):
    """The PDF renderer (headless Chromium) is missing, failed or produced no PDF."""


# --- flow -----------------------------------------------------------------------------


class FlowError(EzhifuError):
    """A failure in the exchange between parties."""


class IllegalTransition(FlowError):
    """A status change the voucher life cycle does not allow."""


class TransportError(FlowError):
    """A transport (link) failure; delivery may be retried."""


class StoreError(FlowError):
    """The library's store cannot be opened, read or written."""


class HookRefused(FlowError):
    """A flow hook (e.g. fund monitoring) refused a voucher before signing or on receipt."""


# --- monitor --------------------------------------------------------------------------


class MonitorError(EzhifuError):
    """A failure of fund monitoring (资金监控): rule files, context tables, the case log."""


class RuleFileError(MonitorError, InvalidInput):
    """A monitoring rule file that cannot be used; ``line`` (1-based, when known) and ``reason``."""

    def __init__(self, message: str, *, line: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.reason = reason or message


class RuleSyntaxError(RuleFileError):
    """The rule file is not valid TOML, or an expression does not parse."""


class RuleSchemaError(RuleFileError):
    """The rule file does not follow the rule-pack JSON Schema (missing key, wrong type ...)."""


class UnknownRuleField(RuleFileError):
    """An expression names a voucher field that no voucher type of the rule has."""


class ForbiddenExpression(RuleFileError):
    """An expression uses something outside the safe set (an unknown function, ``__`` names ...)."""


class RuleLimitExceeded(RuleFileError):
    """Too many rules, too long an expression, too wide a window, too deep a nesting."""


class ContextFileError(MonitorError, InvalidInput):
    """A monitoring context file (accounts, quotas, calendar, payees) that cannot be used."""


class CaseLogError(MonitorError):
    """The monitoring case log cannot be read or written."""


class IllegalCaseTransition(CaseLogError):
    """A case handling step the case life cycle does not allow (e.g. confirming a closed case)."""


# --- contingency ----------------------------------------------------------------------


class ContingencyError(EzhifuError):
    """A failure of the contingency (应急) machinery: offline packages, the outage register."""


class OfflinePackageError(ContingencyError, InvalidInput):
    """An offline exchange package that cannot be read (not a zip, no manifest, too large)."""


class OfflinePackageTampered(OfflinePackageError):
    """An offline package whose manifest signature or digests do not verify."""


class RegisterError(ContingencyError):
    """The outage / emergency-payment register refused an entry (unknown outage, bad link ...)."""


# --- network service and client (spec.md §6) ------------------------------------------
class SoapError(InvalidInput):
    """A SOAP 1.1 message that is not well-formed rpc/encoded (bad envelope, type, array, href)."""


class ServiceFault(EzhifuError):
    """A 凭证库 operation refused with a server code (spec.md §6: ``EVS100`` … ``EVS999``).
    ``code`` is the EVS code, ``zh`` its Chinese text as the published servers answer it, and
    the message is "中文 / English" with the detail. :meth:`fault_string` is the SOAP
    ``faultstring``: ``ezhifu.ServiceException:EVS103#业务年度不合法 / ...``, so that the clients'
    ``substring(indexOf("Exception:") + 10)`` yields ``EVS103#业务年度不合法 / ...``.
    """

    code = "EVS999"
    zh = "未定义异常信息"

    def __init_subclass__(cls, *, code: str | None = None, zh: str | None = None, **kwargs: Any) -> None:
        """A fault class names its code and text in its header, once:
        ``class EmptyParameter(ServiceFault, code="EVS111", zh="参数存在空值")``."""
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if zh is not None:
            cls.zh = zh

    def __init__(self, detail: str = "", *, code: str | None = None, zh: str | None = None) -> None:
        if code is not None:
            self.code = code
        if zh is not None:
            self.zh = zh
        self.detail = detail
        super().__init__(f"{self.code}#{self.zh}" + (f" / {detail}" if detail else ""))

    def fault_string(self) -> str:
        return f"ezhifu.ServiceException:{self}"


class InvalidParameter(ServiceFault, code="EVS100", zh="参数不合法"):
    """EVS100 参数不合法: a parameter has the wrong type, length or form."""


class InvalidBusinessYear(ServiceFault, code="EVS103", zh="业务年度不合法"):
    """EVS103 业务年度不合法: ``stYear`` is not a four-digit year in range."""


class EmptyParameter(ServiceFault, code="EVS111", zh="参数存在空值"):
    """EVS111 参数存在空值: a required parameter is missing or empty."""


class NotAuthorised(ServiceFault, code="EVS112", zh="凭证类型无对应证书id权限"):
    """EVS112 凭证类型无对应证书id权限: the certID may not call this operation for this VtCode."""


class BusinessRuleViolated(ServiceFault, code="EVS700", zh="业务逻辑不合法"):
    """EVS700 业务逻辑不合法: the life cycle refuses the operation (e.g. return before sign-in)."""


class RequestRejected(ServiceFault, code="EVS100", zh="参数不合法"):
    """EVS100 for a request the service will not read: too large, too slow, unknown operation."""


# --- archive --------------------------------------------------------------------------


class ArchiveError(EzhifuError):
    """A failure creating, reading or checking an archive package (DA/T 95—2022)."""


class ArchiveFormatError(ArchiveError, InvalidInput):
    """Bytes that are not a readable archive package (not a zip, no manifest, bad JSON)."""


class UnsafeArchive(ArchiveError, HostileInputError):
    """An archive package refused for safety before anything in it is used."""


class ArchiveTooLarge(UnsafeArchive):
    """Too many members, a member or the whole package too large, or a zip-bomb ratio."""


class ArchivePathRefused(UnsafeArchive):
    """A member name that is absolute, climbs out (``..``), or is not a plain relative path."""


class ArchiveDuplicateMember(UnsafeArchive):
    """Two members with the same name (exactly, or after case and separator folding)."""


class DuplicateBooking(ArchiveError):
    """A voucher already booked in the archive registry (财会〔2020〕6号: no duplicate booking)."""


class ArchiveRegistryError(ArchiveError):
    """The archive registry (SQLite) cannot be opened, read or written."""


class MetadataError(ArchiveError, InvalidInput):
    """DA/T 95 metadata that cannot be built or read (a mandatory element without a value)."""
