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

__all__ = [
    "AuditError",
    "AuditTamperedError",
    "BadPassword",
    "CertificateError",
    "ConfigurationError",
    "CorruptedKeyFile",
    "DecodingError",
    "EzhifuError",
    "FlowError",
    "HostileInputError",
    "IllegalTransition",
    "InvalidInput",
    "InvalidSeal",
    "InvalidSignature",
    "KeyNotFound",
    "KeyStoreError",
    "MalformedDER",
    "PositionAlreadySigned",
    "PositionNotConfigured",
    "SchemaValidationError",
    "SealError",
    "SealFormatError",
    "SigningError",
    "TokenError",
    "TransportError",
    "UnsupportedAlgorithm",
    "UnsupportedMechanism",
    "ValidationIssue",
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


class MalformedDER(InvalidInput):
    """ASN.1 DER that is truncated, has trailing bytes, bad lengths or a wrong structure."""


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

    def __init__(self, issues: Sequence[ValidationIssue], *, source: str | None = None) -> None:
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        self.source = source
        head = f"{source}: " if source else ""
        count = len(self.issues)
        lines = [f"{head}{count} validation issue{'s' if count != 1 else ''}"]
        lines.extend(f"  - {issue}" for issue in self.issues)
        super().__init__("\n".join(lines))


class ConfigurationError(EzhifuError, ValueError):
    """A configuration file or option that is wrong; the message names the key."""


# --- keys and primitives --------------------------------------------------------------


class UnsupportedAlgorithm(EzhifuError):
    """An algorithm, curve or key type ezhifu does not implement or does not know."""


class WeakAlgorithm(UnsupportedAlgorithm):
    """An algorithm refused by the active policy (SHA-1, RSA < 2048) unless opted in."""


class CertificateError(EzhifuError):
    """A certificate that cannot be parsed, is expired, untrusted or misused."""


class KeyStoreError(EzhifuError):
    """A failure of the safe box (keystore)."""


class KeyNotFound(KeyStoreError, KeyError):
    """No key, certificate or seal under the requested alias or id."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "key not found"


class BadPassword(KeyStoreError):
    """A wrong password or PIN. The message never contains the secret."""


class CorruptedKeyFile(KeyStoreError):
    """A key file whose bytes are damaged or not what they claim to be."""


class UnsupportedMechanism(KeyStoreError, UnsupportedAlgorithm):
    """A token that does not offer the mechanism needed (e.g. no SM2 mechanism)."""


class TokenError(KeyStoreError):
    """A PKCS#11 token failure; the underlying error is chained."""


class PositionNotConfigured(KeyStoreError):
    """A stamp/signature position not in the position table (OCX 121/122)."""


class PositionAlreadySigned(KeyStoreError):
    """A position already signed or stamped (OCX 109/117)."""


class AuditError(EzhifuError):
    """The audit trail cannot be written or read."""


class AuditTamperedError(AuditError):
    """The audit chain was edited, reordered, truncated or has a deleted entry."""


# --- signed artefacts -----------------------------------------------------------------


class SigningError(EzhifuError):
    """Signing could not be done (key unusable, provider failure, position refused)."""


class InvalidSignature(EzhifuError):
    """A signature that does not verify; the message says why."""


class SealError(EzhifuError):
    """A failure making, applying or reading an electronic seal."""


class SealFormatError(SealError, InvalidInput):
    """Bytes that are not a seal / seal signature of a known version (OCX 114)."""


class InvalidSeal(InvalidSignature, SealError):
    """A seal or seal signature that does not verify."""


# --- flow -----------------------------------------------------------------------------


class FlowError(EzhifuError):
    """A failure in the exchange between parties."""


class IllegalTransition(FlowError):
    """A status change the voucher life cycle does not allow."""


class TransportError(FlowError):
    """A transport (link) failure; delivery may be retried."""
