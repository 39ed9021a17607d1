"""The cache of certification paths (:data:`PATHS`), by exact bytes (issue 17 item 1).

:func:`ezhifu.pki.path.validate_chain` keeps here each path it found at the first try, and asks
here first: :meth:`_PathCache.trusted` (a path whose every check passed for the purpose: only the
validity periods are compared with the time), then :meth:`_PathCache.replay` (every link check of
the kept path at the new time). What may be kept, and why one input cannot change another's
verdict, is in the doc of :class:`_PathCache`.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509

from ezhifu.pki.certs import fully_read
from ezhifu.pki.policy import VerifyPolicy
from ezhifu.pki.trust import TrustStore

__all__ = ["PATHS", "PATH_CACHE_SIZE", "Path", "PathKey", "certificate_der"]

#: A certification path, the signer first, its anchor last.
Path = tuple[x509.Certificate, ...]
#: ``(cert, issuer, path so far, time, policy, anchor=)`` -> the reason a link is refused, or ``None``.
LinkCheck = Callable[..., str | None]

PathKey = tuple[bytes, tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...], VerifyPolicy]

#: The DER of each certificate object met, by identity: the parsed certificates are shared and
#: read-only (:func:`ezhifu.pki.certs.shared_certificate`; :func:`same_certificate` already takes
#: one object as equal to itself), and asn1crypto re-checks its whole tree on every ``dump()``.
_DERS: weakref.WeakKeyDictionary[x509.Certificate, bytes] = weakref.WeakKeyDictionary()


def certificate_der(cert: x509.Certificate) -> bytes:
    """The DER of a (shared, read-only) certificate object, taken once per object."""
    der = _DERS.get(cert)
    if der is None:
        der = _DERS[cert] = bytes(cert.dump())
    return der


@dataclass(slots=True)
class _KeptPath:
    """One cached path: its certificates' DER (signer first), each one's validity period, and
    the purposes for which every check that does not depend on the time passed."""

    ders: tuple[bytes, ...]
    periods: tuple[tuple[datetime, datetime], ...]
    purposes: set[str]


class _PathCache:
    """Bounded LRU of certification paths found by :func:`validate_chain`, by exact bytes.

    The key is the exact DER of the signer certificate, of the untrusted candidates
    (``extra_certs``), of the trust store's roots and intermediates, and the policy: all that the
    path *search* depends on, but not the time. Only a path found at the first try (no dead end)
    is kept, so a later search with the same key would try exactly this path first; a hit
    re-runs every check of every link at the new time (algorithm policy, validity, critical
    extensions, CA constraints, key usage, CRLs; the links' signatures depend only on the bytes
    in the key and verified when the path was kept) and falls back to the full search when one
    fails. So a cached path gives the verdict, reason and path of an uncached
    run, and one input cannot change another's verdict: different bytes are a different key.

    Once the signer checks of a purpose (:func:`~ezhifu.pki.policy.signer_refusal`) and every
    link check passed for a key, all of them but the validity periods are known for that key:
    they read nothing but the bytes and the policy in the key and the purpose.
    :meth:`trusted` then checks only the periods at the new time (the comparison of
    :func:`~ezhifu.pki.certs.validity_refusal`, with the policy's clock skew) and leaves any
    failure to the full checks, which name it exactly as an uncached run does.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[PathKey, _KeptPath] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(
        cert: x509.Certificate, trust: TrustStore, policy: VerifyPolicy, extra: Sequence[x509.Certificate]
    ) -> PathKey | None:
        # Only completely read certificates (pki.certs.read_certificate) answer the same to every
        # input; a path through any other is searched afresh each time, never cached.
        if not all(fully_read(c) for c in (cert, *extra, *trust.roots, *trust.intermediates)):
            return None
        try:
            key = (
                certificate_der(cert),
                tuple(certificate_der(c) for c in extra),
                tuple(certificate_der(c) for c in trust.roots),
                tuple(certificate_der(c) for c in trust.intermediates),
                policy,
            )
            hash(key)
        except Exception:  # an unserialisable or unhashable input is never cached
            return None
        return key

    def put(self, key: PathKey | None, path: Path, purpose: str) -> None:
        """Keep ``path``, whose every check passed for ``purpose`` at one time."""
        if key is None:
            return
        kept = _KeptPath(
            tuple(certificate_der(c) for c in path),
            tuple((c.not_valid_before, c.not_valid_after) for c in path),
            {purpose},
        )
        with self._lock:
            old = self._items.get(key)
            if old is not None and old.ders == kept.ders:
                kept.purposes |= old.purposes
            self._items[key] = kept
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def passed(self, key: PathKey | None, purpose: str) -> None:
        """A replay of the path of ``key`` passed every check for ``purpose``."""
        if key is None:
            return
        with self._lock:
            kept = self._items.get(key)
            if kept is not None:
                kept.purposes.add(purpose)

    def trusted(
        self,
        key: PathKey | None,
        purpose: str,
        cert: x509.Certificate,
        trust: TrustStore,
        policy: VerifyPolicy,
        when: datetime,
        extra: Sequence[x509.Certificate],
    ) -> Path | None:
        """The cached path when every check passed for ``purpose`` before and every certificate
        of it is within its validity period at ``when``; ``None``: run the checks."""
        if key is None:
            return None
        with self._lock:
            kept = self._items.get(key)
            if kept is None or purpose not in kept.purposes:
                return None
            self._items.move_to_end(key)
        skew = policy.clock_skew
        for not_before, not_after in kept.periods:
            if when + skew < not_before or when - skew > not_after:
                return None
        return self._objects(key, kept.ders, cert, trust, extra)

    @staticmethod
    def _objects(
        key: PathKey,
        ders: tuple[bytes, ...],
        cert: x509.Certificate,
        trust: TrustStore,
        extra: Sequence[x509.Certificate],
    ) -> Path:
        """The path's certificates as this call's objects (the caller's, not the first input's)."""
        by_der = dict(
            zip(key[1] + key[2] + key[3], (*extra, *trust.roots, *trust.intermediates), strict=True)
        )
        return (cert, *(by_der[der] for der in ders[1:]))

    def replay(
        self,
        key: PathKey | None,
        cert: x509.Certificate,
        trust: TrustStore,
        policy: VerifyPolicy,
        when: datetime,
        extra: Sequence[x509.Certificate],
        link_refusal: LinkCheck,
    ) -> Path | None:
        """The cached path re-checked link by link at ``when`` by ``link_refusal`` (the link
        checks of :mod:`ezhifu.pki.path`); ``None``: search again."""
        if key is None:
            return None
        with self._lock:
            kept = self._items.get(key)
            if kept is not None:
                self._items.move_to_end(key)
        if kept is None:
            return None
        path: Path = (cert,)
        for issuer in self._objects(key, kept.ders, cert, trust, extra)[1:]:
            anchor = trust.is_root(issuer)
            new_path = (*path, issuer)
            # Each link's signature verified when the path was kept, and its outcome depends on
            # nothing but the two certificates' bytes, which are part of the key.
            if link_refusal(path[-1], issuer, new_path, when, policy, anchor=anchor):
                return None
            path = new_path
        return path if trust.is_root(path[-1]) and len(path) > 1 else None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


#: Certification paths kept (a province's partners use a few hundred signer certificates).
PATH_CACHE_SIZE = 256
#: The one cache of certification paths (:class:`_PathCache`).
PATHS = _PathCache(PATH_CACHE_SIZE)
