"""Fixtures for the signature tests: test PKIs (generated per session, never checked in),
sample envelopes, and helpers to tamper with signed envelopes."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import x509

from ezhifu.crypto.base import SignatureAlgorithm
from ezhifu.document.envelope import Envelope
from ezhifu.document.samples import sample_voucher
from ezhifu.pki.trust import TrustStore
from ezhifu.testing.pki import TestPKI, make_pki


@pytest.fixture(scope="session")
def rsa_pki() -> TestPKI:
    return make_pki("rsa2048")


@pytest.fixture(scope="session")
def rsa_pki3() -> TestPKI:
    return make_pki("rsa2048", depth=3)


@pytest.fixture(scope="session")
def sm2_pki() -> TestPKI:
    return make_pki("sm2")


@pytest.fixture(scope="session")
def sm2_pki3() -> TestPKI:
    return make_pki("sm2", depth=3)


@pytest.fixture(scope="session")
def weak_pki() -> TestPKI:
    """RSA-1024 with SHA-256 certificates: the deployed key size (spec.md §5.3)."""
    return make_pki("rsa1024")


@pytest.fixture(scope="session")
def expired_pki() -> TestPKI:
    now = datetime.now(UTC)
    return make_pki("rsa2048", not_before=now - timedelta(days=400), not_after=now - timedelta(days=35))


@pytest.fixture(params=["python", "openssl"])
def sm2_provider(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test with each SM2 provider, restoring the default afterwards."""
    from ezhifu.crypto import sm2
    from ezhifu.crypto.sm2.python import NonConstantTimeWarning

    sm2.use_provider(request.param)
    try:
        with warnings.catch_warnings():
            # Expected here: the pure-Python provider warns that it is not constant-time.
            warnings.simplefilter("ignore", NonConstantTimeWarning)
            yield request.param
    finally:
        sm2.use_provider("auto")


def _make_envelope(count: int = 2, vt_code: str = "5201") -> Envelope:
    return Envelope.build([sample_voucher(vt_code, seed=f"sign-{i}") for i in range(count)])


@pytest.fixture
def envelope() -> Envelope:
    """Two unsigned 5201 vouchers."""
    return _make_envelope()


@pytest.fixture
def make_envelope() -> Callable[..., Envelope]:
    return _make_envelope


@pytest.fixture
def trust_of() -> Callable[[TestPKI], TrustStore]:
    """The trust store holding a PKI's root."""
    return lambda pki: TrustStore(roots=[pki.root_cert])


class _MismatchedSigner:
    """A test double: signs with one key but presents another certificate (swapped certs)."""

    def __init__(self, signing: TestPKI, presented: x509.Certificate) -> None:
        self._inner = signing.signer()
        self._cert = presented

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return self._inner.algorithm

    @property
    def certificate(self) -> x509.Certificate:
        return self._cert

    def sign(self, data: bytes) -> bytes:
        return self._inner.sign(data)


@pytest.fixture
def mismatched_signer() -> Callable[[TestPKI, x509.Certificate], _MismatchedSigner]:
    return _MismatchedSigner
