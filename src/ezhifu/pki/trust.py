"""The trust anchors: :class:`TrustStore` (roots, helper intermediates, pinned certificates).

A signature on a voucher is only worth something when its signer certificate chains to a
certificate the relying party trusts. The store holds those anchors (RFC 5280 clause 6.1.1
(d)); :func:`ezhifu.pki.path.validate_chain` builds and checks the path to them, following
:class:`ezhifu.pki.policy.VerifyPolicy`.

Partners' certificates often come from a private CA whose root is never handed out; a
:class:`TrustStore` may therefore also *pin* end-entity certificates, trusted directly when
the certificate presented is byte-for-byte the pinned one.

Anchors are kept **by purpose** (issue 13 item 1): ``roots``/``pinned`` anchor voucher
*signers*; ``seal_makers`` anchor the seal makers (制章者) whose signature makes a seal; ``tsas``
anchor the time-stamping authorities. A seal is trusted only when its maker chains to a
seal-maker anchor (:meth:`TrustStore.for_purpose`); a store without them refuses every maker
with :data:`NO_SEAL_MAKER_ANCHORS`.

Trust files load through the one certificate loader (:func:`ezhifu.pki.certs.load_certificates`):
PEM with or without OpenSSL's text lines, DER, or PKCS#7 bundles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import x509

from ezhifu.errors import CertificateError, ConfigurationError
from ezhifu.pki.certs import MAX_BUNDLE_BYTES, fully_read, load_certificates, read_shared_certificate
from ezhifu.pki.policy import LEGACY_HINT, VerifyPolicy, as_utc

__all__ = [
    "LEGACY_HINT",
    "NO_SEAL_MAKER_ANCHORS",
    "NO_TSA_ANCHORS",
    "PURPOSES",
    "TrustStore",
    "VerifyPolicy",
    "as_utc",
    "same_certificate",
]

#: The anchor purposes: voucher signers, seal makers (制章者), time-stamping authorities.
PURPOSES = ("signer", "seal-maker", "tsa")
#: Why a seal maker is refused when the store holds no seal-maker anchor.
NO_SEAL_MAKER_ANCHORS = "maker not trusted: no seal-maker anchors"
#: Why a time-stamp token's TSA is refused when the store holds no TSA anchor.
NO_TSA_ANCHORS = "time-stamping authority not trusted: no TSA anchors"


@dataclass(frozen=True, slots=True)
class TrustStore:
    """Trusted anchors by purpose, helper intermediates and pinned end-entity certificates.

    ``roots`` are the signers' trust anchors (RFC 5280 clause 6.1.1 (d)); ``intermediates`` are
    only candidates for chain building and are *not* trusted by themselves; ``pinned``
    end-entity certificates are trusted directly as signers when presented byte-for-byte (they
    can sign, never issue). ``seal_makers`` and ``tsas`` are the anchors (CA or pinned) of the
    seal makers and of the time-stamping authorities.
    """

    roots: tuple[x509.Certificate, ...] = ()
    intermediates: tuple[x509.Certificate, ...] = ()
    pinned: tuple[x509.Certificate, ...] = ()
    seal_makers: tuple[x509.Certificate, ...] = ()
    tsas: tuple[x509.Certificate, ...] = ()
    #: The store of each purpose, made once (:meth:`for_purpose`; the store is read-only).
    _views: dict[str, TrustStore] = field(init=False, repr=False, compare=False, hash=False)

    def __init__(
        self,
        roots: Iterable[x509.Certificate] = (),
        intermediates: Iterable[x509.Certificate] = (),
        pinned: Iterable[x509.Certificate] = (),
        *,
        seal_makers: Iterable[x509.Certificate] = (),
        tsas: Iterable[x509.Certificate] = (),
    ) -> None:
        fields = (
            ("roots", roots),
            ("intermediates", intermediates),
            ("pinned", pinned),
            ("seal_makers", seal_makers),
            ("tsas", tsas),
        )
        for attr, value in fields:
            object.__setattr__(self, attr, tuple(_anchor(attr, cert) for cert in value))
        object.__setattr__(self, "_views", {})

    @classmethod
    def from_pem_bytes(cls, data: bytes, *, source: str = "PEM data", purpose: str = "signer") -> TrustStore:
        """Sort the certificates of a PEM (or single DER) blob: CA certificates become roots
        (self-signed) or intermediates, every other certificate (no basicConstraints cA, even
        self-signed) is pinned. For ``purpose``
        ``"seal-maker"`` or ``"tsa"`` the roots and pinned certificates become that purpose's
        anchors instead (intermediates still only help build chains)."""
        _check_purpose(purpose)
        roots: list[x509.Certificate] = []
        intermediates: list[x509.Certificate] = []
        pinned: list[x509.Certificate] = []
        for cert in load_certificates(data, what=source, skip_other_blocks=True):
            if cert.ca:
                (roots if cert.self_signed != "no" else intermediates).append(cert)
            else:
                # Not a CA (no basicConstraints cA, e.g. a v1 / extension-less self-signed
                # certificate): a pinned end entity that can sign, never issue (issue 13 item 1).
                # An old private CA without extensions is trusted as an issuer only when the
                # caller passes it as a root explicitly (TrustStore(roots=...)).
                pinned.append(cert)
        if purpose == "seal-maker":
            return cls((), intermediates, (), seal_makers=roots + pinned)
        if purpose == "tsa":
            return cls((), intermediates, (), tsas=roots + pinned)
        return cls(roots, intermediates, pinned)

    @classmethod
    def from_pem_files(cls, paths: Iterable[str | Path], *, purpose: str = "signer") -> TrustStore:
        """Load trust from PEM files (``--trust``, ``--seal-maker-trust``, ``--tsa-trust``
        options, by ``purpose``); see :meth:`from_pem_bytes`."""
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
                store = store.merge(cls.from_pem_bytes(data, source=str(p), purpose=purpose))
            except CertificateError as exc:
                raise ConfigurationError(f"trust file {exc}") from exc
        return store

    @classmethod
    def from_purpose_files(
        cls,
        signers: Iterable[str | Path] = (),
        seal_makers: Iterable[str | Path] = (),
        tsas: Iterable[str | Path] = (),
    ) -> TrustStore:
        """One store from the three option lists (``--trust``, ``--seal-maker-trust``, ``--tsa-trust``)."""
        return (
            cls.from_pem_files(signers)
            .merge(cls.from_pem_files(seal_makers, purpose="seal-maker"))
            .merge(cls.from_pem_files(tsas, purpose="tsa"))
        )

    def merge(self, other: TrustStore) -> TrustStore:
        """The union of two stores (purpose by purpose)."""
        return TrustStore(
            self.roots + other.roots,
            self.intermediates + other.intermediates,
            self.pinned + other.pinned,
            seal_makers=self.seal_makers + other.seal_makers,
            tsas=self.tsas + other.tsas,
        )

    def for_purpose(self, purpose: str) -> TrustStore:
        """The store chain validation uses for ``purpose``: that purpose's anchors as roots (CA
        certificates) or pinned certificates (end entities), with every intermediate as a helper."""
        view = self._views.get(purpose)
        if view is not None:
            return view
        _check_purpose(purpose)
        if purpose == "signer":
            view = TrustStore(self.roots, self.intermediates, self.pinned)
        else:
            anchors = self.seal_makers if purpose == "seal-maker" else self.tsas
            cas = [c for c in anchors if c.ca]
            ends = [c for c in anchors if not c.ca]
            view = TrustStore(cas, self.intermediates, ends)
        return self._views.setdefault(purpose, view)

    def has_anchors(self, purpose: str) -> bool:
        store = self.for_purpose(purpose)
        return bool(store.roots or store.pinned)

    def is_root(self, cert: x509.Certificate) -> bool:
        return any(same_certificate(cert, r) for r in self.roots)

    def is_pinned(self, cert: x509.Certificate) -> bool:
        return any(same_certificate(cert, p) for p in self.pinned)

    @property
    def all_certificates(self) -> tuple[x509.Certificate, ...]:
        return self.roots + self.intermediates + self.pinned + self.seal_makers + self.tsas


def _anchor(attr: str, cert: object) -> x509.Certificate:
    """The shared, completely read certificate of these bytes (:func:`.certs.read_shared_certificate`).

    A store serves every input, so an anchor is read completely once, here: one that does not
    read is refused, never kept half-read for one input's checks to spoil for the next. An
    object already read completely (loaded, or from another store) is kept as it is.
    """
    if not isinstance(cert, x509.Certificate):
        raise ConfigurationError(
            f"TrustStore {attr}: expected asn1crypto x509.Certificate, got {type(cert).__name__}"
        )
    if fully_read(cert):
        return cert
    try:
        shared = read_shared_certificate(bytes(cert.dump()))
    except Exception as exc:  # asn1crypto decodes lazily: any defect of the certificate
        why = f"{type(exc).__name__}: {exc}"
        raise ConfigurationError(f"TrustStore {attr}: unreadable certificate ({why})") from None
    return shared


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ConfigurationError(
            f"未知的信任用途 {purpose!r} / unknown trust purpose {purpose!r} (one of {', '.join(PURPOSES)})"
        )


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
