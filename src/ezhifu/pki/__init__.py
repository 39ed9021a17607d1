"""ezhifu.pki: certificates, keys, trust anchors and certification-path validation.

* :mod:`~ezhifu.pki.certs`: the one certificate loader and describer, certificate signatures,
  validity and key usage, :class:`~ezhifu.pki.certs.CertificateBuilder`;
* :mod:`~ezhifu.pki.keys`: private and public key loading and dumping (PEM, DER, PKCS#8, SEC1);
* :mod:`~ezhifu.pki.pkcs8`: PBES2 encryption of PKCS#8 private keys;
* :mod:`~ezhifu.pki.trust`: :class:`~ezhifu.pki.trust.TrustStore`,
  :class:`~ezhifu.pki.trust.VerifyPolicy` and ``validate_chain`` (RFC 5280 §6).
"""

from __future__ import annotations

__all__: list[str] = []
