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

from ezhifu._lazy import TYPE_CHECKING, lazy_exports

_EXPORTS = """
    ezhifu.errors: CertificateExpired CertificateNotYetValid KeyUsageError
    ezhifu.pki.builder: CertificateBuilder build_name
    ezhifu.pki.certs:
        CertificateDescription cert_info certificate_label check_key_usage check_validity describe
        extended_key_usage is_ca key_kind key_usage load_certificate load_certificates shared_certificate
        subject_text
    ezhifu.pki.keys:
        dump_certificates dump_private_key dump_public_key generate_private_key load_private_key
        load_public_key public_key_of
    ezhifu.pki.path: ChainResult certificate_signature_algorithm validate_chain verify_certificate_signature
    ezhifu.pki.policy: LEGACY_HINT VerifyPolicy
    ezhifu.pki.signer: SoftwareSigner verify_signature
    ezhifu.pki.trust: TrustStore
"""

if TYPE_CHECKING:
    from ezhifu.errors import CertificateExpired as CertificateExpired
    from ezhifu.errors import CertificateNotYetValid as CertificateNotYetValid
    from ezhifu.errors import KeyUsageError as KeyUsageError
    from ezhifu.pki.builder import CertificateBuilder as CertificateBuilder
    from ezhifu.pki.builder import build_name as build_name
    from ezhifu.pki.certs import CertificateDescription as CertificateDescription
    from ezhifu.pki.certs import cert_info as cert_info
    from ezhifu.pki.certs import certificate_label as certificate_label
    from ezhifu.pki.certs import check_key_usage as check_key_usage
    from ezhifu.pki.certs import check_validity as check_validity
    from ezhifu.pki.certs import describe as describe
    from ezhifu.pki.certs import extended_key_usage as extended_key_usage
    from ezhifu.pki.certs import is_ca as is_ca
    from ezhifu.pki.certs import key_kind as key_kind
    from ezhifu.pki.certs import key_usage as key_usage
    from ezhifu.pki.certs import load_certificate as load_certificate
    from ezhifu.pki.certs import load_certificates as load_certificates
    from ezhifu.pki.certs import shared_certificate as shared_certificate
    from ezhifu.pki.certs import subject_text as subject_text
    from ezhifu.pki.keys import dump_certificates as dump_certificates
    from ezhifu.pki.keys import dump_private_key as dump_private_key
    from ezhifu.pki.keys import dump_public_key as dump_public_key
    from ezhifu.pki.keys import generate_private_key as generate_private_key
    from ezhifu.pki.keys import load_private_key as load_private_key
    from ezhifu.pki.keys import load_public_key as load_public_key
    from ezhifu.pki.keys import public_key_of as public_key_of
    from ezhifu.pki.path import ChainResult as ChainResult
    from ezhifu.pki.path import certificate_signature_algorithm as certificate_signature_algorithm
    from ezhifu.pki.path import validate_chain as validate_chain
    from ezhifu.pki.path import verify_certificate_signature as verify_certificate_signature
    from ezhifu.pki.policy import LEGACY_HINT as LEGACY_HINT
    from ezhifu.pki.policy import VerifyPolicy as VerifyPolicy
    from ezhifu.pki.signer import SoftwareSigner as SoftwareSigner
    from ezhifu.pki.signer import verify_signature as verify_signature
    from ezhifu.pki.trust import TrustStore as TrustStore

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
