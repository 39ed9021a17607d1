"""The trust anchors: :class:`TrustStore` (roots, helper intermediates, pinned certificates).

A signature on a voucher is only worth something when its signer certificate chains to a
certificate the relying party trusts. The store holds those anchors (RFC 5280 clause 6.1.1
(d)); :func:`ezhifu.pki.path.validate_chain` builds and checks the path to them, following
:class:`ezhifu.pki.policy.VerifyPolicy`.

Partners' certificates often come from a private CA whose root is never handed out; a
:class:`TrustStore` may therefore also *pin* end-entity certificates, trusted directly when
the certificate presented is byte-for-byte the pinned one.

Trust files load through the one certificate loader (:func:`ezhifu.pki.certs.load_certificates`):
PEM with or without OpenSSL's text lines, DER, or PKCS#7 bundles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509

from ezhifu.errors import CertificateError, ConfigurationError
from ezhifu.pki.certs import MAX_BUNDLE_BYTES, load_certificates
from ezhifu.pki.policy import LEGACY_HINT, VerifyPolicy, as_utc

__all__ = ["LEGACY_HINT", "TrustStore", "VerifyPolicy", "as_utc", "same_certificate"]


@dataclass(frozen=True, slots=True)
class TrustStore:
    """Trusted roots, helper intermediates and pinned end-entity certificates.

    ``roots`` are trust anchors (RFC 5280 clause 6.1.1 (d)); ``intermediates`` are only
    candidates for chain building and are *not* trusted by themselves; ``pinned``
    end-entity certificates are trusted directly when presented byte-for-byte.
    """

    roots: tuple[x509.Certificate, ...] = ()
    intermediates: tuple[x509.Certificate, ...] = ()
    pinned: tuple[x509.Certificate, ...] = ()

    def __init__(
        self,
        roots: Iterable[x509.Certificate] = (),
        intermediates: Iterable[x509.Certificate] = (),
        pinned: Iterable[x509.Certificate] = (),
    ) -> None:
        for attr, value in (("roots", roots), ("intermediates", intermediates), ("pinned", pinned)):
            certs = tuple(value)
            for cert in certs:
                if not isinstance(cert, x509.Certificate):
                    raise ConfigurationError(
                        f"TrustStore {attr}: expected asn1crypto x509.Certificate, got {type(cert).__name__}"
                    )
            object.__setattr__(self, attr, certs)

    @classmethod
    def from_pem_bytes(cls, data: bytes, *, source: str = "PEM data") -> TrustStore:
        """Sort the certificates of a PEM (or single DER) blob: CA certificates become roots
        (self-signed) or intermediates, end-entity certificates are pinned."""
        roots: list[x509.Certificate] = []
        intermediates: list[x509.Certificate] = []
        pinned: list[x509.Certificate] = []
        for cert in load_certificates(data, what=source, skip_other_blocks=True):
            if cert.ca:
                (roots if cert.self_signed != "no" else intermediates).append(cert)
            elif cert.self_signed != "no" and cert.basic_constraints_value is None:
                # v1 / extension-less self-signed certificates (old private CAs) act as roots.
                roots.append(cert)
            else:
                pinned.append(cert)
        return cls(roots, intermediates, pinned)

    @classmethod
    def from_pem_files(cls, paths: Iterable[str | Path]) -> TrustStore:
        """Load trust from PEM files (``--trust`` options); see :meth:`from_pem_bytes`."""
        store = cls()
        for path in paths:
            p = Path(path)
            try:  # bounded: a special file such as /dev/zero has no size (issue 14 item 2)
                with p.open("rb") as handle:
                    data = handle.read(MAX_BUNDLE_BYTES + 1)
            except OSError as exc:
                raise ConfigurationError(f"cannot read trust file {p}: {exc.strerror or exc}") from exc
            if len(data) > MAX_BUNDLE_BYTES:
                raise ConfigurationError(
                    f"信任文件过大 / trust file {p}: more than the limit of {MAX_BUNDLE_BYTES} bytes"
                )
            try:
                store = store.merge(cls.from_pem_bytes(data, source=str(p)))
            except CertificateError as exc:
                raise ConfigurationError(f"trust file {exc}") from exc
        return store

    def merge(self, other: TrustStore) -> TrustStore:
        """The union of two stores."""
        return TrustStore(
            self.roots + other.roots, self.intermediates + other.intermediates, self.pinned + other.pinned
        )

    def is_root(self, cert: x509.Certificate) -> bool:
        return any(same_certificate(cert, r) for r in self.roots)

    def is_pinned(self, cert: x509.Certificate) -> bool:
        return any(same_certificate(cert, p) for p in self.pinned)

    @property
    def all_certificates(self) -> tuple[x509.Certificate, ...]:
        return self.roots + self.intermediates + self.pinned


def same_certificate(a: x509.Certificate, b: x509.Certificate) -> bool:
    # Identity first: shared certificate objects (ezhifu.pki.certs.shared_certificate)
    # are equal without serialising them again.
    # A different serial number means different DER (asn1crypto caches the serial), which
    # spares serialising both certificates in the common case.
    if a is b:
        return True
    try:
        different_serial = bool(a.serial_number != b.serial_number)
    except Exception:  # an unreadable serial: compare the bytes, as always
        different_serial = False
    return not different_serial and bool(a.dump() == b.dump())


