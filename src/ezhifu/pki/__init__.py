"""ezhifu.pki: certificates, keys, trust anchors and certification-path validation.

Modules, each importing only those before it:

* :mod:`~ezhifu.pki.certs`: the one certificate loader (:func:`load_certificates`: PEM with or
  without OpenSSL's text, DER, PKCS#7), the one describer (:func:`describe`), the one
  :func:`key_kind`, the one validity and key-usage check;
* :mod:`~ezhifu.pki.pkcs8`: PBES2 encryption of PKCS#8 private keys;
* :mod:`~ezhifu.pki.keys`: private and public key loading and dumping (PEM, DER, PKCS#8, SEC1);
* :mod:`~ezhifu.pki.signer`: :class:`SoftwareSigner` and :func:`verify_signature`;
* :mod:`~ezhifu.pki.policy`: :class:`VerifyPolicy`, what a verification requires;
* :mod:`~ezhifu.pki.trust`: :class:`TrustStore`, the anchors;
* :mod:`~ezhifu.pki.path`: :func:`validate_chain` (RFC 5280 clause 6.1) and
  :func:`verify_certificate_signature`;
* :mod:`~ezhifu.pki.builder`: :class:`CertificateBuilder`.

The names below are re-exported here, so ``from ezhifu import pki`` gives the whole layer.
"""

from __future__ import annotations

from ezhifu.errors import CertificateExpired, CertificateNotYetValid, KeyUsageError
from ezhifu.pki.builder import CertificateBuilder, build_name
from ezhifu.pki.certs import (
    CertificateDescription,
    cert_info,
    certificate_label,
    check_key_usage,
    check_validity,
    describe,
    extended_key_usage,
    is_ca,
    key_kind,
    key_usage,
    load_certificate,
    load_certificates,
    shared_certificate,
    subject_text,
)
from ezhifu.pki.keys import (
    dump_certificates,
    dump_private_key,
    dump_public_key,
    generate_private_key,
    load_private_key,
    load_public_key,
    public_key_of,
)
from ezhifu.pki.path import (
    ChainResult,
    certificate_signature_algorithm,
    validate_chain,
    verify_certificate_signature,
)
from ezhifu.pki.policy import LEGACY_HINT, VerifyPolicy
from ezhifu.pki.signer import SoftwareSigner, verify_signature
from ezhifu.pki.trust import TrustStore

__all__ = [
    "LEGACY_HINT",
    "CertificateBuilder",
    "CertificateDescription",
    "CertificateExpired",
    "CertificateNotYetValid",
    "ChainResult",
    "KeyUsageError",
    "SoftwareSigner",
    "TrustStore",
    "VerifyPolicy",
    "build_name",
    "cert_info",
    "certificate_label",
    "certificate_signature_algorithm",
    "check_key_usage",
    "check_validity",
    "describe",
    "dump_certificates",
    "dump_private_key",
    "dump_public_key",
    "extended_key_usage",
    "generate_private_key",
    "is_ca",
    "key_kind",
    "key_usage",
    "load_certificate",
    "load_certificates",
    "load_private_key",
    "load_public_key",
    "public_key_of",
    "shared_certificate",
    "subject_text",
    "validate_chain",
    "verify_certificate_signature",
    "verify_signature",
]
