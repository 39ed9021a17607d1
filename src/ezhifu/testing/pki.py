"""A throw-away PKI for tests and development. NOT for production use.

:func:`make_pki` creates, in memory and in milliseconds, a root CA, optionally an intermediate
CA, and a signing leaf certificate with its private key, for SM2 (SM2-with-SM3, default ID),
RSA (SHA-256, PKCS#1 v1.5) or EC P-256 (ECDSA-SHA256)::

    pki = make_pki("sm2", depth=3)
    signer = pki.signer()                      # SoftwareSigner over the leaf key
    cert, key = pki.issue_leaf("second signer")
    paths = pki.write_pem(tmp_path)            # root.pem, intermediate.pem, leaf.pem, ...

Keys are generated fresh on every call and never cached globally; scope fixtures if a test
module needs the same PKI several times. ``"rsa1024"`` exists only to test weak-key policy:
its signer is created with ``allow_weak=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypedDict, Unpack

from asn1crypto import pem, x509

from ezhifu._fileio import atomic_write
from ezhifu.crypto.keytypes import PrivateKey
from ezhifu.errors import InvalidInput
from ezhifu.pki import keys as _keys
from ezhifu.pki.builder import CertificateBuilder
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.seal.make import make_seal

__all__ = ["PKI_KINDS", "TestPKI", "make_pki"]

#: Key kinds :func:`make_pki` accepts.
PKI_KINDS = ("sm2", "rsa2048", "rsa3072", "rsa1024", "p256")

_CA_USAGE = ("key_cert_sign", "crl_sign")
_DEFAULT_LEAF_USAGE = ("digital_signature", "non_repudiation")


def _name(prefix: str, common_name: str) -> dict[str, str]:
    return {"country_name": "CN", "organization_name": prefix, "common_name": common_name}


class _Profile(TypedDict, total=False):
    """What a test certificate says beyond its names: :class:`CertificateBuilder`'s options."""

    not_before: datetime | None
    not_after: datetime | None
    is_ca: bool
    path_length: int | None
    key_usage: tuple[str, ...] | None
    extended_key_usage: tuple[str, ...] | None
    extended_key_usage_critical: bool
    ocsp_url: str | None


def _issue(
    kind: str,
    subject: dict[str, str],
    issuer: tuple[PrivateKey, x509.Certificate] | None,
    *,
    weak: bool,
    **profile: Unpack[_Profile],
) -> tuple[x509.Certificate, PrivateKey]:
    """A fresh ``kind`` key and its certificate, signed by ``issuer`` (key, cert) or self-signed.

    The one certificate recipe of the test PKI: root, intermediate, leaf and extra leaves.
    """
    key = _keys.generate_private_key(kind)
    if issuer is None:
        signer, issuer_cert = SoftwareSigner(key, allow_weak=weak), None
    else:
        signer, issuer_cert = SoftwareSigner(issuer[0], issuer[1], allow_weak=weak), issuer[1]
    cert = CertificateBuilder(subject, key, **profile).build(signer, issuer=issuer_cert)
    return cert, key


def _check_kind(kind: str) -> None:
    if kind not in PKI_KINDS:
        raise InvalidInput(f"PKI kind {kind!r} is not one of {', '.join(PKI_KINDS)}")


@dataclass(frozen=True)
class TestPKI:
    """Certificates and keys from :func:`make_pki` (test and development only).

    ``chain`` is leaf first and ends with the root: ``[leaf, intermediate, root]`` or
    ``[leaf, root]``.
    """

    __test__ = False  # not a pytest test class despite the name

    kind: str
    root_cert: x509.Certificate
    root_key: PrivateKey
    intermediate_cert: x509.Certificate | None
    intermediate_key: PrivateKey | None
    leaf_cert: x509.Certificate
    leaf_key: PrivateKey
    subject_prefix: str = "ezhifu test"

    @property
    def chain(self) -> list[x509.Certificate]:
        certs = [self.leaf_cert]
        if self.intermediate_cert is not None:
            certs.append(self.intermediate_cert)
        certs.append(self.root_cert)
        return certs

    @property
    def issuing_cert(self) -> x509.Certificate:
        """The CA that issues leaves: the intermediate when there is one, else the root."""
        return self.intermediate_cert if self.intermediate_cert is not None else self.root_cert

    @property
    def issuing_key(self) -> PrivateKey:
        return self.intermediate_key if self.intermediate_key is not None else self.root_key

    @property
    def weak(self) -> bool:
        return self.kind == "rsa1024"

    def signer(self) -> SoftwareSigner:
        """A SoftwareSigner over the leaf key and certificate."""
        return SoftwareSigner(self.leaf_key, self.leaf_cert, allow_weak=self.weak)

    def issue_leaf(
        self,
        common_name: str,
        *,
        kind: str | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        key_usage: tuple[str, ...] | None = _DEFAULT_LEAF_USAGE,
        extended_key_usage: tuple[str, ...] | None = None,
        extended_key_usage_critical: bool = False,
        ocsp_url: str | None = None,
    ) -> tuple[x509.Certificate, PrivateKey]:
        """Issue one more end-entity certificate under the issuing CA; return (cert, key).

        ``kind`` defaults to the PKI's kind (an SM2 CA may also certify an RSA key and so on);
        ``ocsp_url`` names an OCSP responder in the certificate's AIA.
        """
        key_kind = kind or self.kind
        _check_kind(key_kind)
        return _issue(
            key_kind,
            _name(self.subject_prefix, common_name),
            (self.issuing_key, self.issuing_cert),
            weak=self.weak,
            not_before=not_before,
            not_after=not_after,
            key_usage=key_usage,
            extended_key_usage=extended_key_usage,
            extended_key_usage_critical=extended_key_usage_critical,
            ocsp_url=ocsp_url,
        )

    def write_pem(self, directory: str | Path) -> dict[str, Path]:
        """Write PEM files into ``directory`` and return ``{file name: path}``.

        Files: ``root.pem``, ``root.key.pem``, ``intermediate.pem`` and ``intermediate.key.pem``
        (depth 3 only), ``leaf.pem``, ``leaf.key.pem`` (unencrypted PKCS#8) and ``chain.pem``
        (leaf first, root last).
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        contents: dict[str, bytes] = {
            "root.pem": pem.armor("CERTIFICATE", self.root_cert.dump()),
            "root.key.pem": _keys.dump_private_key(self.root_key),
            "leaf.pem": pem.armor("CERTIFICATE", self.leaf_cert.dump()),
            "leaf.key.pem": _keys.dump_private_key(self.leaf_key),
            "chain.pem": _keys.dump_certificates(self.chain),
        }
        if self.intermediate_cert is not None and self.intermediate_key is not None:
            contents["intermediate.pem"] = pem.armor("CERTIFICATE", self.intermediate_cert.dump())
            contents["intermediate.key.pem"] = _keys.dump_private_key(self.intermediate_key)
        paths: dict[str, Path] = {}
        for name, data in contents.items():
            path = folder / name
            # A key file is created 0600 (never readable by others, not even for a moment).
            atomic_write(path, data, mode=0o600 if name.endswith(".key.pem") else 0o644)
            paths[name] = path
        return paths


def make_pki(
    kind: str = "sm2",
    *,
    depth: int = 2,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    leaf_key_usage: tuple[str, ...] | None = _DEFAULT_LEAF_USAGE,
    leaf_extended_key_usage: tuple[str, ...] | None = None,
    subject_prefix: str = "ezhifu test",
) -> TestPKI:
    """Make a test PKI: root -> leaf (``depth=2``) or root -> intermediate -> leaf (``depth=3``).

    ``not_before`` / ``not_after`` set the leaf's validity (default: an hour ago to a year
    ahead); the CAs' validity always spans the leaf's, from a day before to ten years after,
    so an expired or not-yet-valid leaf can be made under valid CAs. CAs carry a critical
    basicConstraints ``cA`` and keyUsage ``keyCertSign, cRLSign``; the leaf carries
    ``leaf_key_usage``. Test and development only.
    """
    _check_kind(kind)
    if depth not in (2, 3):
        raise InvalidInput(f"PKI depth must be 2 or 3, got {depth!r}")
    now = datetime.now(UTC).replace(microsecond=0)
    leaf_nb = not_before if not_before is not None else now - timedelta(hours=1)
    leaf_na = not_after if not_after is not None else now + timedelta(days=365)
    ca_nb = min(leaf_nb, now) - timedelta(days=1)
    ca_na = max(leaf_na, now) + timedelta(days=3650)
    weak = kind == "rsa1024"

    # the root and the intermediate: the same CA recipe, the intermediate signed by the root
    ca = partial(_issue, kind, weak=weak, not_before=ca_nb, not_after=ca_na, is_ca=True, key_usage=_CA_USAGE)
    root_cert, root_key = ca(_name(subject_prefix, f"{subject_prefix} root CA"), None)

    intermediate_cert: x509.Certificate | None = None
    intermediate_key: PrivateKey | None = None
    issuer_cert, issuer_key = root_cert, root_key
    if depth == 3:
        intermediate_cert, intermediate_key = ca(
            _name(subject_prefix, f"{subject_prefix} intermediate CA"), (root_key, root_cert), path_length=0
        )
        issuer_cert, issuer_key = intermediate_cert, intermediate_key

    leaf_cert, leaf_key = _issue(
        kind,
        _name(subject_prefix, f"{subject_prefix} signer"),
        (issuer_key, issuer_cert),
        weak=weak,
        not_before=leaf_nb,
        not_after=leaf_na,
        key_usage=leaf_key_usage,
        extended_key_usage=leaf_extended_key_usage,
    )

    return TestPKI(
        kind=kind,
        root_cert=root_cert,
        root_key=root_key,
        intermediate_cert=intermediate_cert,
        intermediate_key=intermediate_key,
        leaf_cert=leaf_cert,
        leaf_key=leaf_key,
        subject_prefix=subject_prefix,
    )


def make_test_seal(
    maker: SoftwareSigner,
    *,
    seal_id: str,
    name: str,
    holder: x509.Certificate,
    picture: bytes,
    now: datetime,
) -> bytes:
    """A v4 test seal (40 × 40 mm, valid from a day before *now* for a year) held by *holder*.

    One recipe for the demo network and the service demo set-up, so both sign alike.
    """
    return make_seal(
        maker,
        seal_id=seal_id,
        name=name,
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=365),
        holder_certs=[holder],
        picture=picture,
        width_mm=40,
        height_mm=40,
        version="v4",
    )
