"""Issue X.509 v3 certificates: :class:`CertificateBuilder` and :func:`build_name`.

:class:`CertificateBuilder` issues v3 certificates (RFC 5280 clause 4.1) with asn1crypto,
signed by any :class:`~ezhifu.crypto.base.Signer` (SM2, RSA, ECDSA), and checks each new
certificate's signature under the issuer's key (:func:`ezhifu.pki.path.verify_certificate_signature`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from asn1crypto import algos, core, keys, x509

from ezhifu.crypto.base import SignatureAlgorithm, Signer
from ezhifu.crypto.keytypes import PrivateKey, PublicKey
from ezhifu.errors import InvalidInput, InvalidSignature, SigningError
from ezhifu.pki.certs import CertLike, load_certificate
from ezhifu.pki.keys import public_key_der, public_key_of
from ezhifu.pki.path import verify_certificate_signature

__all__ = ["CertificateBuilder", "build_name"]


def build_name(value: str | Mapping[str, str] | x509.Name) -> x509.Name:
    """An X.501 Name from a common name, a mapping of asn1crypto attribute names
    (``{"country_name": "CN", "organization_name": "...", "common_name": "..."}``) or a Name.
    Strings are UTF8String (PrintableString for the country), as RFC 5280 clause 4.1.2.6 asks."""
    if isinstance(value, x509.Name):
        return value
    if isinstance(value, str):
        value = {"common_name": value}
    if not isinstance(value, Mapping) or not value:
        raise InvalidInput("a certificate name must be a non-empty str, mapping or asn1crypto Name")
    try:
        return x509.Name.build(dict(value))
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"cannot build a certificate name from {dict(value)!r}: {exc}") from exc


def _time(value: datetime) -> x509.Time:
    # RFC 5280 clause 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds.
    value = value.astimezone(UTC).replace(microsecond=0)
    if value.year < 2050:
        return x509.Time(name="utc_time", value=value)
    return x509.Time(name="general_time", value=value)


def _key_identifier(spki: keys.PublicKeyInfo) -> bytes:
    # RFC 5280 clause 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value.
    # SHA-1 here only names the key; it protects nothing.
    return hashlib.sha1(spki["public_key"].contents[1:], usedforsecurity=False).digest()


class CertificateBuilder:
    """Issue an X.509 v3 certificate (RFC 5280 clause 4.1) signed by any Signer.

    ``subject`` is a common name, a mapping of attribute names, or an asn1crypto Name;
    ``public_key`` any ezhifu key (private keys are reduced to their public key). Defaults:
    a random positive 159-bit serial (clause 4.1.2.2), ``not_before`` now minus five minutes,
    ``not_after`` one year later. ``is_ca`` adds a critical basicConstraints with ``cA`` and
    ``path_length``; ``key_usage`` (critical) and ``extended_key_usage`` take asn1crypto names; the latter is
    critical with ``extended_key_usage_critical`` (a TSA's id-kp-timeStamping, RFC 3161 clause 2.3).
    ``ocsp_url`` writes an Authority Information Access extension naming that OCSP responder
    (id-ad-ocsp, RFC 5280 clause 4.2.2.1).
    Subject and authority key identifiers are always written (clause 4.2.1.1-2).

    :meth:`build` signs with the signer's algorithm, then verifies the new certificate under
    the issuer's key (or its own for a self-signed one), so a signer that does not belong to
    the issuer is caught at once.
    """

    def __init__(
        self,
        subject: str | Mapping[str, str] | x509.Name,
        public_key: PublicKey | PrivateKey,
        *,
        serial_number: int | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        is_ca: bool = False,
        path_length: int | None = None,
        key_usage: Iterable[str] | None = None,
        extended_key_usage: Iterable[str] | None = None,
        extended_key_usage_critical: bool = False,
        ocsp_url: str | None = None,
    ) -> None:
        self.subject = build_name(subject)
        self.public_key: PublicKey = public_key_of(public_key)
        if serial_number is None:
            serial_number = secrets.randbelow(2**159 - 1) + 1
        if not isinstance(serial_number, int) or not 0 < serial_number < 2**159:
            raise InvalidInput("serial_number must be a positive integer of at most 20 octets")
        self.serial_number = serial_number
        now = datetime.now(UTC)
        self.not_before = not_before if not_before is not None else now - timedelta(minutes=5)
        self.not_after = not_after if not_after is not None else self.not_before + timedelta(days=365)
        if self.not_before.tzinfo is None or self.not_after.tzinfo is None:
            raise InvalidInput("not_before and not_after must be timezone-aware datetimes")
        if self.not_after <= self.not_before:
            raise InvalidInput("not_after must be later than not_before")
        if path_length is not None and (not is_ca or path_length < 0):
            raise InvalidInput("path_length needs is_ca=True and must be >= 0")
        self.is_ca = is_ca
        self.path_length = path_length
        self.key_usage = frozenset(key_usage) if key_usage is not None else None
        self.extended_key_usage = tuple(extended_key_usage) if extended_key_usage is not None else None
        self.extended_key_usage_critical = extended_key_usage_critical
        if ocsp_url is not None and not ocsp_url.startswith(("http://", "https://")):
            raise InvalidInput("ocsp_url must be an http:// or https:// URL")
        self.ocsp_url = ocsp_url

    def _extensions(self, spki: keys.PublicKeyInfo, issuer: x509.Certificate | None) -> list[x509.Extension]:
        ski = _key_identifier(spki)
        if issuer is None:
            aki = ski
        else:
            issuer_ski = issuer.key_identifier
            aki = issuer_ski if issuer_ski is not None else _key_identifier(issuer.public_key)
        extensions = []
        if self.is_ca:
            constraints: dict[str, object] = {"ca": True}
            if self.path_length is not None:
                constraints["path_len_constraint"] = self.path_length
            extensions.append(
                x509.Extension({"extn_id": "basic_constraints", "critical": True, "extn_value": constraints})
            )
        if self.key_usage is not None:
            extensions.append(
                x509.Extension(
                    {
                        "extn_id": "key_usage",
                        "critical": True,
                        "extn_value": x509.KeyUsage(set(self.key_usage)),
                    }
                )
            )
        if self.extended_key_usage is not None:
            extensions.append(
                x509.Extension(
                    {
                        "extn_id": "extended_key_usage",
                        "critical": self.extended_key_usage_critical,
                        "extn_value": list(self.extended_key_usage),
                    }
                )
            )
        if self.ocsp_url is not None:
            where = {"uniform_resource_identifier": self.ocsp_url}
            access = [{"access_method": "ocsp", "access_location": where}]
            aia = {"extn_id": "authority_information_access", "critical": False, "extn_value": access}
            extensions.append(x509.Extension(aia))
        extensions.append(x509.Extension({"extn_id": "key_identifier", "critical": False, "extn_value": ski}))
        extensions.append(
            x509.Extension(
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": aki},
                }
            )
        )
        return extensions

    def build(self, signer: Signer, *, issuer: CertLike | None = None) -> x509.Certificate:
        """Sign and return the certificate. ``issuer`` None means self-signed."""
        issuer_cert = load_certificate(issuer) if issuer is not None else None
        algorithm = signer.algorithm
        if not isinstance(algorithm, SignatureAlgorithm):
            raise InvalidInput(f"signer algorithm must be a SignatureAlgorithm, got {algorithm!r}")
        spki = keys.PublicKeyInfo.load(public_key_der(self.public_key))
        signature_algorithm = algos.SignedDigestAlgorithm({"algorithm": algorithm.signature_oid})
        if algorithm.key_kind == "rsa":
            # RFC 4055 clause 5 / RFC 8017 App. A.2.4: PKCS#1 v1.5 identifiers carry NULL.
            signature_algorithm["parameters"] = core.Null()
        tbs = x509.TbsCertificate(
            {
                "version": "v3",
                "serial_number": self.serial_number,
                "signature": signature_algorithm,
                "issuer": issuer_cert.subject if issuer_cert is not None else self.subject,
                "validity": {"not_before": _time(self.not_before), "not_after": _time(self.not_after)},
                "subject": self.subject,
                "subject_public_key_info": spki,
                "extensions": self._extensions(spki, issuer_cert),
            }
        )
        tbs_der = tbs.dump()
        signature = signer.sign(tbs_der)
        certificate = x509.Certificate(
            {
                "tbs_certificate": tbs,
                "signature_algorithm": signature_algorithm,
                "signature_value": signature,
            }
        )
        result = load_certificate(certificate.dump())
        try:
            verify_certificate_signature(
                result, issuer_cert if issuer_cert is not None else result, allow_weak=True
            )
        except InvalidSignature as exc:
            which = "the issuer certificate" if issuer_cert is not None else "the subject public key"
            raise SigningError(f"the signer's key does not match {which}: {exc}") from exc
        return result
